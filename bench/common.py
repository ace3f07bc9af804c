"""What the benchmarks share: running a command, timing it, a free local port."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def sh(*args: str | Path, env: dict[str, str] | None = None) -> str:
    result = subprocess.run(
        [str(a) for a in args], capture_output=True, text=True, env=env, check=False
    )
    if result.returncode != 0:
        sys.exit(f"{' '.join(map(str, args[:3]))} failed:\n{result.stderr[-2000:]}")
    return result.stdout


def timed(*args: str | Path, env: dict[str, str] | None = None) -> tuple[float, str, int]:
    """Seconds, stdout and the peak RSS (KiB) of the largest process of the command."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as errors:
        start = time.perf_counter()
        proc = subprocess.Popen([str(a) for a in args], stdout=out, stderr=errors, env=env)
        _pid, status, usage = os.wait4(proc.pid, 0)  # reaps it, with its resource usage
        elapsed = time.perf_counter() - start
        out.seek(0)
        errors.seek(0)
        if os.waitstatus_to_exitcode(status):
            sys.exit(f"{' '.join(map(str, args[:3]))} failed:\n{errors.read()[-2000:]}")
        return elapsed, out.read(), usage.ru_maxrss


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
