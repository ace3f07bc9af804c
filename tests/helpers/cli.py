"""Run the ``shipway`` command line as a user does: a new process."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def shipway(
    *args: str | Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """``shipway ARGS`` with this environment plus ``env``; never raises on exit codes."""
    return subprocess.run(
        [sys.executable, "-m", "shipway", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**os.environ, **(env or {})},
    )
