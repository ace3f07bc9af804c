"""Running the repo's shell scripts from Python (tests, benchmarks, hack/): one call, one
error that names the command and ends with the last lines it printed."""

from __future__ import annotations

import subprocess
from pathlib import Path


class ScriptFailed(RuntimeError):
    """The script failed or did not finish in time; the message says which and how."""


def run(script: Path, *args: str | Path, timeout: float) -> subprocess.CompletedProcess[str]:
    """Run ``script`` with no stdin; its exit code is the caller's to judge."""
    command = [str(script), *map(str, args)]
    try:
        return subprocess.run(
            command,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            stdin=subprocess.DEVNULL,
        )
    except subprocess.TimeoutExpired as err:
        raise ScriptFailed(f"{' '.join(command)}: no result after {timeout:.0f} s") from err


def output(script: Path, *args: str | Path, timeout: float) -> str:
    """The script's stdout; ScriptFailed when it exits non-zero."""
    result = run(script, *args, timeout=timeout)
    if result.returncode != 0:
        raise ScriptFailed(failure(script, args, result))
    return result.stdout


def failure(
    script: Path, args: tuple[str | Path, ...], result: subprocess.CompletedProcess[str]
) -> str:
    what = " ".join([script.name, *map(str, args)])
    return f"{what} failed (exit {result.returncode}):\n{last_lines(result.stderr + result.stdout)}"


def last_lines(text: str, count: int = 30) -> str:
    return "\n".join(text.rstrip().splitlines()[-count:])
