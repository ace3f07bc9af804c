"""The benchmarks keep working: each bench script's ``--smoke`` mode runs every measure once
and checks what each command printed. No timing is asserted (the numbers of a CI machine
under test load mean nothing) and no results file is written.

The four scripts start together, when the first of these tests runs, and each test waits
for its own: they spend most of their time waiting on rollouts and image pulls, so side by
side they take little more than the longest alone (the suite's time matters; each
bench's apps, images and server have names of their own)."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import ROOT
from tests.e2e.cli import run_shipway
from tests.e2e.kube import Cluster

pytestmark = pytest.mark.e2e

#: The app the CLI bench reads (it leaves it behind; the test destroys it).
CLI_APP = f"cli-bench-{secrets.token_hex(3)}"


@dataclass
class Smoke:
    script: str
    process: subprocess.Popen[bytes]
    output: Path

    def check(self) -> None:
        returncode = self.process.wait(timeout=1800)
        said = self.output.read_text(errors="replace")
        assert returncode == 0, f"{self.script}:\n{said[-8000:]}"
        assert "smoke: ok" in said, said[-3000:]


def on(cluster: Cluster) -> tuple[str, ...]:
    return ("--kubeconfig", str(cluster.kubeconfig), "--kubectl", str(cluster.kubectl))


@pytest.fixture(scope="module")
def smokes(
    cluster: Cluster, platform: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, Smoke]]:
    folder = tmp_path_factory.mktemp("bench-smoke")
    runs = {
        "cli_bench.py": (platform, [*on(cluster), "--app", CLI_APP]),
        "deploy_bench.py": (platform, list(on(cluster))),
        # Needs no cluster, but a Docker engine, a registry and minutes.
        "build_bench.py": (dict(os.environ), []),
        # 5 apps of its own, ps of 3 pods, 3 deploys at once; it destroys its apps itself.
        "scale_bench.py": (platform, list(on(cluster))),
    }
    started = {}
    for script, (env, args) in runs.items():
        output = folder / f"{script}.log"
        with output.open("wb") as sink:
            process = subprocess.Popen(
                [sys.executable, str(ROOT / "bench" / script), "--smoke", *args],
                env=env,
                stdout=sink,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
        started[script] = Smoke(script, process, output)
    yield started
    for smoke in started.values():
        if smoke.process.poll() is None:
            smoke.process.kill()
            smoke.process.wait()


def test_cli_bench(smokes: dict[str, Smoke], platform: dict[str, str]) -> None:
    try:
        smokes["cli_bench.py"].check()
    finally:
        run_shipway(platform, "destroy", CLI_APP, "--yes", "--delete-data", timeout=120)


def test_deploy_bench(smokes: dict[str, Smoke]) -> None:
    smokes["deploy_bench.py"].check()


def test_build_bench(smokes: dict[str, Smoke]) -> None:
    smokes["build_bench.py"].check()


def test_scale_bench(smokes: dict[str, Smoke]) -> None:
    smokes["scale_bench.py"].check()
