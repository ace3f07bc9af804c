"""The real processes integration tests run against, through the scripts in hack/infra.

The scripts do the work (CI and a developer at a shell use the same ones); this module
runs them, turns their failures into one clear test failure with the tail of the
relevant log, and describes what they started.
"""

from __future__ import annotations

import os
import socket
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

import pytest

from hack import scripts

INFRA = Path(__file__).resolve().parents[2] / "hack" / "infra"
DOCKER = "/usr/bin/docker"  # Debian's CLI, the same version as the dockerd install.sh puts in


@dataclass(frozen=True)
class Registry:
    """A running registry: ``host`` goes in image references, ``url`` in HTTP requests.

    ``username`` and ``password`` are None for an anonymous registry.
    """

    host: str
    username: str | None
    password: str | None
    url: str
    state_dir: Path


def run_script(name: str, *args: str | Path, timeout: float = 120, log: Path | None = None) -> str:
    """Run ``hack/infra/<name>``; returns its stdout, fails the test with its stderr."""
    result = _run(name, args, timeout, log)
    if result.returncode != 0:
        _fail(name, args, result, log)
    return result.stdout


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def start_registry(state_dir: Path, username: str | None, password: str | None) -> Registry:
    """Start a registry on a free 127.0.0.1 port (retried: another process may take it)."""
    auth: list[str] = [username, password] if username and password else ["-"]
    for _ in range(3):
        port = free_port()
        args: tuple[str | Path, ...] = ("start", state_dir, str(port), *auth)
        result = _run("registry.sh", args, 60, None)
        if result.returncode == 0:
            host = f"127.0.0.1:{port}"
            return Registry(host, username, password, f"http://{host}", state_dir)
        if "address already in use" not in result.stderr:
            break
    _fail("registry.sh", args[:4], result, None)  # not the password


def stop_registry(registry: Registry) -> None:
    run_script("registry.sh", "stop", registry.state_dir)


def cache_dir() -> Path:
    """Where the scripts keep heavy artefacts between runs (the base tar, Docker's images)."""
    default = Path.home() / ".cache" / "shipway-ci"
    return Path(os.environ.get("SHIPWAY_CACHE") or default)


def _run(
    name: str, args: tuple[str | Path, ...], timeout: float, log: Path | None
) -> subprocess.CompletedProcess[str]:
    try:
        return scripts.run(INFRA / name, *args, timeout=timeout)
    except scripts.ScriptFailed as err:
        pytest.fail(f"{err}{_tail(log)}", pytrace=False)


def _fail(
    name: str,
    args: tuple[str | Path, ...],
    result: subprocess.CompletedProcess[str],
    log: Path | None,
) -> NoReturn:
    pytest.fail(f"{scripts.failure(INFRA / name, args, result)}{_tail(log)}", pytrace=False)


def _tail(log: Path | None) -> str:
    if log is None or not log.is_file():
        return ""
    return f"\nlast lines of {log}:\n" + scripts.last_lines(log.read_text(errors="replace"))
