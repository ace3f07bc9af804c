"""Benchmark: `shipway build` against `docker build` + `docker push`, same app, same run.

Measures, for an app with ~100 MB of dependencies (bench/apps/data-api):
  * a cold build (empty caches on both sides) including the push,
  * a rebuild after a one-line code change (median of --runs),
  * the bytes each rebuild uploads, and the peak memory of `shipway build`.
Both push to the same local registry and start from the same Debian base image.

Run from the repository root after `make setup`:  .venv/bin/python bench/build_bench.py
It starts what it needs (a registry, a Docker engine) with the scripts in hack/infra.
`--smoke` (what CI runs): one rebuild, outputs checked, bench/results/build.json untouched.

`shipway build` runs this checkout's code as an installed package runs: from a copy of
src/ with its bytecode compiled (bench.common.installed_source). `--source` runs src/
itself, where a cold process may compile every Shipway module again on each start (as
it does when PYTHONDONTWRITEBYTECODE is set, or the checkout is read-only).
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import (  # noqa: E402
    arguments,
    expect,
    free_port,
    installed_source,
    save,
    sh,
    timed,
)

from hack.platform_images import push_rootfs  # noqa: E402
from shipway import project  # noqa: E402
from shipway.image import oci  # noqa: E402
from shipway.image.blobs import BlobStore  # noqa: E402
from shipway.image.docker_builder import DOCKERFILE, prepare_context  # noqa: E402
from shipway.image.reference import parse  # noqa: E402
from shipway.image.registry import RegistryClient  # noqa: E402

APP = ROOT / "bench" / "apps" / "data-api"
RESULTS = ROOT / "bench" / "results" / "build.json"


def new_layer_bytes(client: RegistryClient, repo: str, before: str, after: str) -> int:
    def layers(ref: str) -> dict[str, int]:
        body, _ = client.get_manifest(repo, ref, oci.MANIFEST_TYPES)
        return {d["digest"]: d["size"] for d in json.loads(body)["layers"]}

    old = layers(before)
    return sum(size for digest, size in layers(after).items() if digest not in old)


class Bench:
    def __init__(self, work: Path, runs: int, source: bool = False):
        self.work, self.runs = work, runs
        self.port = free_port()
        self.host = f"127.0.0.1:{self.port}"
        self.client = RegistryClient(self.host, self.host, None)
        self.app = work / "data-api"
        shutil.copytree(APP, self.app)
        code = ROOT / "src" if source else installed_source(work)
        path = os.pathsep.join(p for p in (str(code), os.environ.get("PYTHONPATH")) if p)
        self.env = {
            **os.environ,
            "SHIPWAY_CACHE_DIR": str(work / "shipway-cache"),
            "UV_CACHE_DIR": str(work / "uv-cache"),
            "PYTHONPATH": path,
        }
        self.source = source

    def start(self) -> None:
        sh(ROOT / "hack/infra/install.sh")
        sh(ROOT / "hack/infra/registry.sh", "start", self.work / "registry", str(self.port), "-")
        sh(ROOT / "hack/infra/dockerd.sh", "start")
        rootfs = Path(
            sh(ROOT / "hack/infra/base-rootfs.sh", self.work / "rootfs.tar")
            .strip()
            .splitlines()[-1]
        )
        version = Path(f"{rootfs}.python-version").read_text().strip()
        self.base = push_rootfs(
            rootfs, version, self.host, None, BlobStore(self.work / "base-blobs"), "3.11"
        )
        sh("docker", "pull", "-q", self.base)

    def stop(self) -> None:
        sh(ROOT / "hack/infra/registry.sh", "stop", self.work / "registry")

    def shipway(self, tag: str) -> tuple[float, dict[str, Any], int]:
        seconds, stdout, rss = timed(
            sys.executable,
            "-m",
            "shipway",
            "build",
            self.app,
            "--tag",
            f"{self.host}/bench/shipway:{tag}",
            "--base-image",
            self.base,
            "--json",
            env=self.env,
        )
        result = json.loads(stdout)
        expect(str(result.get("digest", "")).startswith("sha256:"), f"shipway build: {stdout}")
        return seconds, result, rss

    def docker(self, tag: str, cold: bool) -> float:
        """What a Docker user runs: docker build (the generated Dockerfile) + docker push."""
        context = self.work / "context"
        shutil.rmtree(context, ignore_errors=True)
        context.mkdir()
        ca_bundle = Path(os.environ.get("PIP_CERT", "/etc/ssl/certs/ca-certificates.crt"))
        prepare_context(project.load(self.app), parse(self.base), ca_bundle, context)
        image = f"{self.host}/bench/docker:{tag}"
        build = ["docker", "build", "-q", "-f", DOCKERFILE, "-t", image, "."]
        start = time.perf_counter()
        subprocess.run(
            [*build, *(["--no-cache"] if cold else [])],
            cwd=context,
            check=True,
            capture_output=True,
        )
        sh("docker", "push", "-q", image)
        return time.perf_counter() - start

    def edit(self, n: int) -> None:
        source = self.app / "app.py"
        source.write_text(source.read_text() + f"# edit {n}\n")

    def run(self) -> dict[str, Any]:
        sh("docker", "builder", "prune", "-af")
        cold_shipway, cold_result, cold_rss = self.shipway("cold")
        cold_docker = self.docker("cold", cold=True)
        rebuilds: dict[str, list[float]] = {"shipway": [], "docker": []}
        uploaded: dict[str, list[int]] = {"shipway": [], "docker": []}
        rss = [cold_rss]
        for n in range(1, self.runs + 1):
            self.edit(n)
            seconds, result, peak = self.shipway(f"r{n}")
            rebuilds["shipway"].append(seconds)
            uploaded["shipway"].append(result["uploaded_bytes"])
            rss.append(peak)
            rebuilds["docker"].append(self.docker(f"r{n}", cold=False))
            previous = "cold" if n == 1 else f"r{n - 1}"
            uploaded["docker"].append(
                new_layer_bytes(self.client, "bench/docker", previous, f"r{n}")
            )
        deps = [layer for layer in cold_result["layers"] if layer["role"] == "dependencies"]
        expect(len(deps) == 1, f"one dependencies layer: {cold_result['layers']}")
        med = {k: statistics.median(v) for k, v in rebuilds.items()}
        return {
            "app": "bench/apps/data-api",
            "dependencies_layer_bytes": deps[0]["size"],
            "cold_seconds": {"shipway": cold_shipway, "docker": cold_docker},
            "cold_speedup": cold_docker / cold_shipway,
            "rebuild_seconds_median": med,
            "rebuild_speedup": med["docker"] / med["shipway"],
            "rebuild_uploaded_bytes_median": {k: statistics.median(v) for k, v in uploaded.items()},
            "shipway_peak_rss_mib": max(rss) / 1024,
            "runs": self.runs,
            "shipway_code": "src/ (no bytecode)" if self.source else "installed (bytecode)",
        }


def main() -> None:
    parser = arguments(__doc__ or "", 5, "rebuilds")
    parser.add_argument(
        "--source",
        action="store_true",
        help="run src/ as it is, not an installed copy with bytecode (see above)",
    )
    args = parser.parse_args()
    runs = 1 if args.smoke else args.runs
    with tempfile.TemporaryDirectory(prefix="shipway-bench-") as tmp:
        bench = Bench(Path(tmp), runs, args.source)
        bench.start()
        try:
            results = bench.run()
        finally:
            bench.stop()
    save(results, RESULTS, args.smoke)
    cold, reb = results["cold_seconds"], results["rebuild_seconds_median"]
    up = results["rebuild_uploaded_bytes_median"]
    print(
        f"cold build + push:     shipway {cold['shipway']:6.1f} s   docker {cold['docker']:6.1f} s"
        f"   → {results['cold_speedup']:.1f}x faster"
    )
    print(
        f"rebuild (1-line edit): shipway {reb['shipway']:6.2f} s   docker {reb['docker']:6.2f} s"
        f"   → {results['rebuild_speedup']:.1f}x faster  (median of {runs})"
    )
    print(f"uploaded on rebuild:   shipway {up['shipway']:,.0f} B   docker {up['docker']:,.0f} B")
    print(
        f"peak memory of shipway build: {results['shipway_peak_rss_mib']:.0f} MiB "
        f"(dependencies layer {results['dependencies_layer_bytes'] / 1e6:.0f} MB compressed)"
    )


if __name__ == "__main__":
    main()
