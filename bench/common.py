"""What the benchmarks share: running and timing commands, their arguments (the CI smoke
mode among them), the cluster they run against, and where results go."""

from __future__ import annotations

import argparse
import compileall
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent

SMOKE_HELP = (
    "one run of each measure, every output checked, no results written and no targets: "
    "what CI runs so the benchmark keeps working"
)


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


def compile_shipway() -> None:
    """The shipway under test gets its bytecode, as an installed package has it: with
    PYTHONDONTWRITEBYTECODE set, each CLI run would otherwise compile its ~200 modules
    again (~0.4 s), a cost no user pays. (__pycache__ is git-ignored.)"""
    compileall.compile_dir(ROOT / "src" / "shipway", quiet=1)


def installed_source(work: Path) -> Path:
    """A copy of this checkout's ``src`` with its bytecode compiled, as ``pip install``
    leaves a package: a CLI started from it reads .pyc files instead of compiling
    Shipway's modules on every start (which PYTHONDONTWRITEBYTECODE, or a read-only
    checkout, would otherwise cause). Put it first on ``PYTHONPATH``."""
    target = work / "installed-src"
    shutil.copytree(ROOT / "src", target, ignore=shutil.ignore_patterns("__pycache__"))
    subprocess.run(
        [sys.executable, "-m", "compileall", "-q", "-j", "0", str(target)],
        check=True,
        capture_output=True,
    )
    return target


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def expect(ok: bool, what: str) -> None:
    """A check of the smoke mode (and of every run): unlike ``assert``, it survives ``-O``."""
    if not ok:
        sys.exit(f"check failed: {what}")


def arguments(doc: str, runs: int, what: str, cluster: bool = False) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=doc.split("\n", maxsplit=1)[0])
    parser.add_argument("--runs", type=int, default=runs, help=f"{what} to take the median of")
    parser.add_argument("--smoke", action="store_true", help=SMOKE_HELP)
    if cluster:
        parser.add_argument(
            "--kubeconfig",
            type=Path,
            help="a running cluster's kubeconfig [default: the repo's cluster, started if down]",
        )
        parser.add_argument(
            "--kubectl", type=Path, help="[default: the one beside the kubeconfig, in bin/]"
        )
    return parser


def cluster(kubeconfig: Path | None) -> Path:
    """The kubeconfig given, or the repo's cluster's (``make cluster-up``: started if down,
    its platform prepared)."""
    if kubeconfig is not None:
        return kubeconfig
    return Path(sh(ROOT / "hack" / "cluster-up.sh").strip().splitlines()[-1])


def kubectl_for(kubeconfig: Path, given: Path | None) -> Path:
    """The repo's cluster keeps the kubectl it was built with beside its kubeconfig; a
    kubectl from PATH may be another version, which would skew an anchor."""
    found = given or kubeconfig.parent / "bin" / "kubectl"
    expect(found.exists(), f"no kubectl at {found} (name one with --kubectl)")
    return found


def save(results: dict[str, Any], path: Path, smoke: bool) -> None:
    """A smoke run's numbers (one run, under test load) would mislead: they are not kept."""
    if smoke:
        print("smoke: ok (one run, outputs checked, results not written)")
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(results, indent=2) + "\n")
