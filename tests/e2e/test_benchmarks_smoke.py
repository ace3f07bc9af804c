"""The benchmarks keep working: each bench script's ``--smoke`` mode runs every measure once
and checks what each command printed. No timing is asserted (the numbers of a CI machine
under test load mean nothing) and no results file is written."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys

import pytest

from tests.conftest import ROOT
from tests.e2e.cli import run_shipway
from tests.e2e.kube import Cluster

pytestmark = pytest.mark.e2e


def smoke(script: str, env: dict[str, str], *args: str) -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "bench" / script), "--smoke", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=1800,
        check=False,
    )
    assert result.returncode == 0, f"{script}:\n{result.stdout[-3000:]}\n{result.stderr[-6000:]}"
    assert "smoke: ok" in result.stdout, result.stdout


def on(cluster: Cluster) -> tuple[str, ...]:
    return ("--kubeconfig", str(cluster.kubeconfig), "--kubectl", str(cluster.kubectl))


def test_cli_bench(cluster: Cluster, platform: dict[str, str]) -> None:
    app = f"cli-bench-{secrets.token_hex(3)}"
    try:
        smoke("cli_bench.py", platform, *on(cluster), "--app", app)
    finally:
        run_shipway(platform, "destroy", app, "--yes", "--delete-data", timeout=120)


def test_deploy_bench(cluster: Cluster, platform: dict[str, str]) -> None:
    smoke("deploy_bench.py", platform, *on(cluster))


def test_build_bench() -> None:
    """Needs no cluster, but a Docker engine, a registry and minutes: an e2e-sized test."""
    smoke("build_bench.py", dict(os.environ))


def test_scale_bench(cluster: Cluster, platform: dict[str, str]) -> None:
    """5 apps of its own, ps of 3 pods, 3 deploys at once; it destroys its apps itself."""
    smoke("scale_bench.py", platform, *on(cluster))
