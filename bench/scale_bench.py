"""Benchmark: Shipway on a cluster with many apps (issue 11's scale target).

Deploys small apps `scale-01` … `scale-60` to the repo's cluster through `shipway deploy`:
all from one tiny source (tests/apps/stdlib-server: the standard library's HTTP server, no
dependencies, so every app's image is the same base and dependency layers in the registry)
with tiny requests (10m CPU, 48Mi), no addons. At each size (10, 30, 60 apps) it times,
as a new process each (median of --runs):
  * `shipway apps`;
  * `shipway ps` of `scale-01`, scaled to 20 pods (`shipway scale scale-01 web=20`);
  * `shipway deploy` of a one-line change to `scale-02` (until the command returns; the
    new code is then checked to answer), and a deploy of `scale-03` with nothing changed;
and counts the HTTP calls each of those verbs makes, by API call (method and path with
names elided), with the bytes each answer carried: the verb runs once more in a process
whose httpx2 (lightkube's transport) and requests (the registry client's) are wrapped.
At the largest size, 10 deploys of a change to 10 different apps run at once (threads,
each running the CLI): all must succeed, and each app must then serve the new code.
The targets are issue 11's: `apps` with 60 apps and `ps` of 20 pods within 1 s each, and
API calls per verb that do not grow with the number of apps.

Run from the repository root after `make setup`:
    .venv/bin/python bench/scale_bench.py --kubeconfig /var/lib/shipway-cluster/admin.conf
The 60 apps are kept for the next run (`--cleanup` destroys them at the end). A run
walks the sizes from the number of apps it finds: up, deploying 4 at a time, when it
finds fewer than the largest size; down, destroying the extra ones, when it finds that
many, and then back up to 60. A rerun with the default sizes thus costs 50 destroys and
50 deploys (about 6 minutes here); `--sizes 60` reuses every app. `scale-01` is scaled
back to one pod at the end. An API call's bytes are the answer's body.
`--smoke` (what CI runs): 5 apps of its own (`scale-smoke-XXXX-NN`), `ps` of 3 pods, 3
deploys at once, every output checked, no timing asserted, nothing written, and the apps
destroyed at the end.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx2
from lightkube import KubeConfig

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import (  # noqa: E402
    arguments,
    cluster,
    compile_shipway,
    expect,
    kubectl_for,
    save,
    timed,
)

from shipway.cli.main import main as shipway_main  # noqa: E402  (light: imports no core)

SOURCE = ROOT / "tests" / "apps" / "stdlib-server"
RESULTS = ROOT / "bench" / "results" / "scale.json"
SPEC = "name: {name}\nresources:\n  cpu: 10m\n  memory: 48Mi\n"
TARGET_SECONDS = 1.0  # `apps` with 60 apps, `ps` of 20 pods: issue 11
MANAGED_BY = "app.kubernetes.io/managed-by"
INSTANCE = "app.kubernetes.io/instance"  # on an app's Namespace: the app
LATEST = "shipway.dev/latest-release"  # on an app's Namespace: its newest release
SETUP_WORKERS = 4  # deploys (or destroys) at once while setting up: the node has 2 cores
DEPLOY_TIMEOUT = 600
#: Runs the CLI in this process, every HTTP request it sends recorded (see ``counted``).
COUNTER = (
    f"import sys; sys.path.insert(0, {str(ROOT)!r}); "
    "from bench.scale_bench import counted; counted(sys.argv[1:])"
)


# --- the counting process -------------------------------------------------------------


def counted(args: list[str]) -> None:
    """``shipway ARGS`` in this process, each HTTP request it sends (lightkube's httpx2,
    the registry's requests) written as JSON to $SCALE_BENCH_CALLS when it ends, with the
    seconds the verb took once imported and the seconds it waited on HTTP."""
    calls: list[dict[str, Any]] = []

    def record(
        method: str, url: str, host: str, watch: bool, size: int | None, began: float
    ) -> None:
        seconds = time.perf_counter() - began
        calls.append(
            {
                "method": method,
                "url": url,
                "host": host,
                "watch": watch,
                "bytes": size,
                "seconds": seconds,
            }
        )

    httpx_send = httpx2.Client.send

    def httpx_counting(self: Any, request: Any, **kwargs: Any) -> Any:
        url, began, size = request.url, time.perf_counter(), None
        try:
            response = httpx_send(self, request, **kwargs)
            size = None if kwargs.get("stream") else len(response.content)
            return response
        finally:
            watch = url.params.get("watch") in ("true", "1")
            record(request.method, url.path, f"{url.host}:{url.port}", watch, size, began)

    # The cluster client and the registry client both send through httpx2.
    httpx2.Client.send = httpx_counting  # type: ignore[method-assign]
    sys.argv = ["shipway", *args]
    began = time.perf_counter()
    try:
        shipway_main()
    finally:
        done = {"calls": calls, "seconds": time.perf_counter() - began}
        Path(os.environ["SCALE_BENCH_CALLS"]).write_text(json.dumps(done))


def shape(path: str) -> str:
    """A Kubernetes API path with its names elided (``/api/v1/namespaces/*/pods``), or a
    registry's (``/v2/*/blobs/*``): what stays the same from one app to the next."""
    parts = path.strip("/").split("/")
    if parts[0] == "v2":  # /v2/REPO/blobs/DIGEST, /v2/REPO/blobs/uploads/ID …
        for i, part in enumerate(parts[1:], start=1):
            if part in ("blobs", "manifests", "tags"):
                kept = [part, *(["uploads"] if parts[i + 1 : i + 2] == ["uploads"] else [])]
                rest = parts[i + len(kept) :]
                return "/v2/*/" + "/".join(kept) + ("/*" if rest and rest != ["list"] else "")
        return path
    head = 2 if parts[0] == "api" else 3
    rest = [p if i % 2 == 0 else "*" for i, p in enumerate(parts[head:])]
    return "/" + "/".join(parts[:head] + rest)


@dataclass
class Calls:
    """The HTTP calls of one run of a verb, to the API server and to the registry."""

    api: Counter[str] = field(default_factory=Counter)
    api_bytes: Counter[str] = field(default_factory=Counter)
    registry: Counter[str] = field(default_factory=Counter)
    #: The verb once imported (in process), and of that the time spent waiting on HTTP.
    seconds: float = 0.0
    http_seconds: float = 0.0

    def summary(self) -> dict[str, Any]:
        return {
            "api_calls": sum(self.api.values()),
            "api_bytes": sum(self.api_bytes.values()),
            "registry_calls": sum(self.registry.values()),
            "in_process_seconds": self.seconds,
            "http_seconds": self.http_seconds,
            "api": dict(sorted(self.api.items())),
            "api_bytes_by_call": dict(sorted(self.api_bytes.items())),
            "registry": dict(sorted(self.registry.items())),
        }


# --- the apps -------------------------------------------------------------------------


class Bench:
    """Runs the CLI against the cluster, with one environment and one scratch directory."""

    def __init__(self, env: dict[str, str], work: Path, kubeconfig: Path, kubectl: Path):
        self.env, self.work, self.kubectl = (
            env,
            work,
            [str(kubectl), "--kubeconfig", str(kubeconfig)],
        )
        self.api_server = _api_server(kubeconfig)
        self.shared = self.source("shared", "shared")

    def source(self, directory: str, mark: str) -> Path:
        """The tiny app, answering ``"mark": mark`` (one line differs between marks)."""
        app = self.work / directory
        if not app.exists():
            app.mkdir()
            for name in ("main.py", "requirements.txt"):
                shutil.copy(SOURCE / name, app / name)
            (app / "shipway.yaml").write_text(SPEC.format(name="scale-source"))
        self.mark(app, mark)
        return app

    @staticmethod
    def mark(app: Path, mark: str) -> None:
        text = (SOURCE / "main.py").read_text()
        marked = text.replace('"ok": True', f'"ok": True, "mark": {mark!r}')
        expect(marked != text, f"{SOURCE}/main.py no longer answers '\"ok\": True'")
        (app / "main.py").write_text(marked)

    def shipway(self, *args: str | Path, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "shipway", *map(str, args)],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def deploy(self, app: str, source: Path) -> tuple[float, dict[str, Any]]:
        """``shipway deploy SOURCE --app APP --json``: seconds and its JSON (checked)."""
        start = time.perf_counter()
        result = self.shipway(
            "deploy",
            source,
            "--app",
            app,
            "--json",
            "--timeout",
            str(DEPLOY_TIMEOUT),
            timeout=DEPLOY_TIMEOUT + 60,
        )
        elapsed = time.perf_counter() - start
        expect(result.returncode == 0, f"shipway deploy --app {app}:\n{result.stderr[-3000:]}")
        data: dict[str, Any] = json.loads(result.stdout)
        expect(data.get("status") in ("succeeded", "unchanged"), f"deploy {app}: {data}")
        return elapsed, data

    def destroy(self, app: str) -> None:
        result = self.shipway("destroy", app, "--yes", "--delete-data", timeout=300)
        expect(result.returncode == 0, f"shipway destroy {app}:\n{result.stderr[-2000:]}")

    def apps(self) -> list[dict[str, str]]:
        result = self.shipway("apps", "--json")
        expect(result.returncode == 0, f"shipway apps:\n{result.stderr[-2000:]}")
        listed: list[dict[str, str]] = json.loads(result.stdout)
        return listed

    def url(self, app: str) -> str:
        result = self.shipway("info", app, "--json")
        expect(result.returncode == 0, f"shipway info {app}:\n{result.stderr[-2000:]}")
        url = json.loads(result.stdout).get("url")
        expect(bool(url), f"{app} has no URL (the platform should expose it on a NodePort)")
        return str(url)

    def unmarked(self) -> int:
        """Shipway's namespaces without the newest-release mark, each of which costs
        ``shipway apps`` one more call (apps never released, or released before the mark)."""
        result = subprocess.run(
            [*self.kubectl, "get", "namespaces", "-l", f"{MANAGED_BY}=shipway", "-o", "json"],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        expect(result.returncode == 0, f"kubectl get namespaces:\n{result.stderr[-2000:]}")
        items = json.loads(result.stdout)["items"]
        apps = [i["metadata"] for i in items if INSTANCE in (i["metadata"].get("labels") or {})]
        return sum(LATEST not in (meta.get("annotations") or {}) for meta in apps)

    def ready_pods(self, app: str) -> int:
        result = subprocess.run(
            [
                *self.kubectl,
                "get",
                "deployment",
                "-n",
                app,
                f"{app}-web",
                "-o",
                "jsonpath={.status.readyReplicas}/{.status.replicas}/{.status.updatedReplicas}",
            ],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        ready, total, updated = [*result.stdout.strip().split("/"), "", ""][:3]
        same = ready == total == updated and ready.isdigit()
        return int(ready) if same else -1

    def count(self, *args: str | Path) -> Calls:
        """The HTTP calls of one ``shipway ARGS`` (run in a counting process)."""
        with tempfile.NamedTemporaryFile(dir=self.work, suffix=".json") as file:
            result = subprocess.run(
                [sys.executable, "-c", COUNTER, *map(str, args)],
                env={**self.env, "SCALE_BENCH_CALLS": file.name},
                capture_output=True,
                text=True,
                timeout=DEPLOY_TIMEOUT + 60,
                check=False,
            )
            expect(result.returncode == 0, f"counting shipway {args[0]}:\n{result.stderr[-2000:]}")
            recorded = json.loads(Path(file.name).read_text())
        calls = Calls(seconds=recorded["seconds"])
        for call in recorded["calls"]:
            key = f"{call['method']} {shape(call['url'])}" + (" (watch)" if call["watch"] else "")
            if not call["watch"]:
                calls.http_seconds += call["seconds"]
            if call["host"] == self.api_server:
                calls.api[key] += 1
                calls.api_bytes[key] += call["bytes"] or 0
            else:
                calls.registry[key] += 1
        expect(bool(calls.api), f"shipway {args[0]} made no API call that was counted")
        return calls


def _api_server(kubeconfig: Path) -> str:
    server = urlsplit(KubeConfig.from_file(kubeconfig).get().cluster.server)
    return f"{server.hostname}:{server.port or 443}"


def answers(url: str, mark: str, timeout: float = 120) -> float:
    """Seconds until ``url`` serves the code marked ``mark`` (every 200 ms, bounded)."""
    start = time.perf_counter()
    while time.perf_counter() - start < timeout:
        try:
            with urllib.request.urlopen(url, timeout=3) as response:
                if json.loads(response.read()).get("mark") == mark:
                    return time.perf_counter() - start
        except (OSError, ValueError):
            pass
        time.sleep(0.2)
    sys.exit(f"check failed: {url} did not serve {mark!r} within {timeout:.0f} s")


def parallel(action: Callable[[str], Any], apps: Iterable[str], workers: int) -> list[Any]:
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(action, apps))


# --- the measures ---------------------------------------------------------------------


@dataclass
class Plan:
    prefix: str
    sizes: list[int]
    runs: int
    pods: int  # of the app `ps` lists
    concurrent: int
    smoke: bool
    #: Leave the largest size's apps in the cluster for the next run (not in smoke mode).
    keep: bool = True

    def name(self, n: int) -> str:
        return f"{self.prefix}-{n:02d}"

    @property
    def ps_app(self) -> str:
        return self.name(1)

    @property
    def deploy_app(self) -> str:
        return self.name(2)

    @property
    def unchanged_app(self) -> str:
        return self.name(3)


def existing(bench: Bench, plan: Plan) -> dict[int, str]:
    """The numbers of this prefix's apps in the cluster, with their status."""
    found = {}
    for row in bench.apps():
        matched = re.fullmatch(rf"{re.escape(plan.prefix)}-(\d\d)", row["app"])
        if matched:
            found[int(matched.group(1))] = row["status"]
    return found


def resize(bench: Bench, plan: Plan, size: int) -> dict[str, int]:
    """Exactly ``size`` of the apps, running: the missing (or broken) ones deployed from
    the shared source, the extra ones destroyed."""
    found = existing(bench, plan)
    extra = [plan.name(n) for n in sorted(found) if n > size]
    missing = [plan.name(n) for n in range(1, size + 1) if found.get(n) != "succeeded"]
    parallel(bench.destroy, extra, SETUP_WORKERS)
    parallel(lambda app: bench.deploy(app, bench.shared), missing, SETUP_WORKERS)
    return {"deployed": len(missing), "destroyed": len(extra)}


def scale_ps_app(bench: Bench, plan: Plan, pods: int) -> None:
    """``shipway scale`` the ps app to ``pods``, and wait (bounded) until all are ready."""
    result = bench.shipway("scale", plan.ps_app, f"web={pods}")
    expect(result.returncode == 0, f"shipway scale {plan.ps_app}:\n{result.stderr[-2000:]}")
    deadline = time.monotonic() + 300
    while bench.ready_pods(plan.ps_app) != pods:
        expect(time.monotonic() < deadline, f"{plan.ps_app}: {pods} pods not ready in 300 s")
        time.sleep(2)


def median_of(
    runs: int, once: Callable[[], float], anchor: Callable[[], float] | None = None
) -> dict[str, Any]:
    """Median seconds of ``once``; with an ``anchor``, run between them, its median too
    (the same load for both: what the machine's other work costs a command)."""
    seconds, anchored = [], []
    for _ in range(runs):
        seconds.append(once())
        if anchor is not None:
            anchored.append(anchor())
    found: dict[str, Any] = {"median": statistics.median(seconds), "seconds": seconds}
    if anchored:
        found["anchor_median"] = statistics.median(anchored)
    return found


def measure(bench: Bench, plan: Plan, size: int) -> dict[str, Any]:
    """At ``size`` apps: wall times of apps, ps and deploys, and their HTTP calls."""
    apps_in_cluster = len(bench.apps())
    mine = [plan.name(n) for n in range(1, size + 1)]

    def apps_once() -> float:
        seconds, out, _rss = timed(sys.executable, "-m", "shipway", "apps", env=bench.env)
        expect(all(app in out for app in mine), f"shipway apps misses some of {mine}:\n{out}")
        return seconds

    def ps_once() -> float:
        seconds, out, _rss = timed(
            sys.executable, "-m", "shipway", "ps", plan.ps_app, env=bench.env
        )
        listed = out.count(f"{plan.ps_app}-web-")
        expect(listed == plan.pods and "Running" in out, f"ps lists {listed} pods:\n{out}")
        return seconds

    def kubectl(*args: str) -> Callable[[], float]:
        def once() -> float:
            seconds, out, _rss = timed(*bench.kubectl, *args, env=bench.env)
            expect(plan.ps_app in out, f"kubectl {' '.join(args)} printed:\n{out[-2000:]}")
            return seconds

        return once

    edits = iter(range(1_000_000))
    changed = bench.source("changed", "changed")

    def deploy_change_once() -> float:
        mark = f"edit-{size}-{next(edits)}-{secrets.token_hex(2)}"
        bench.mark(changed, mark)
        seconds, data = bench.deploy(plan.deploy_app, changed)
        expect(data["status"] == "succeeded", f"a deploy of a change did not release: {data}")
        answers(data["url"], mark)
        return seconds

    def deploy_unchanged_once() -> float:
        seconds, data = bench.deploy(plan.unchanged_app, bench.shared)
        expect(data["status"] == "unchanged", f"a deploy with no change released: {data}")
        return seconds

    bench.deploy(plan.unchanged_app, bench.shared)  # runs the shared source from here on
    runs = plan.runs
    wall = {
        "apps": median_of(
            runs, apps_once, kubectl("get", "deployments", "-A", "-l", f"{MANAGED_BY}=shipway")
        ),
        "ps": median_of(runs, ps_once, kubectl("get", "pods", "-n", plan.ps_app)),
        "deploy_change": median_of(runs, deploy_change_once),
        "deploy_unchanged": median_of(runs, deploy_unchanged_once),
    }
    bench.mark(changed, mark := f"edit-{size}-counted-{secrets.token_hex(2)}")
    calls = {
        "apps": bench.count("apps"),
        "ps": bench.count("ps", plan.ps_app),
        "deploy_change": bench.count("deploy", changed, "--app", plan.deploy_app, "--json"),
        "deploy_unchanged": bench.count(
            "deploy", bench.shared, "--app", plan.unchanged_app, "--json"
        ),
    }
    answers(bench.url(plan.deploy_app), mark)
    return {
        "apps": size,
        "apps_in_cluster": apps_in_cluster,
        "unmarked_namespaces": bench.unmarked(),
        "seconds_median": {verb: w["median"] for verb, w in wall.items()},
        "anchors": {
            "apps": "kubectl get deployments -A -l app.kubernetes.io/managed-by=shipway",
            "ps": f"kubectl get pods -n {plan.ps_app}",
        },
        "anchor_seconds_median": {
            verb: w["anchor_median"] for verb, w in wall.items() if "anchor_median" in w
        },
        "seconds": {verb: w["seconds"] for verb, w in wall.items()},
        "calls": {verb: c.summary() for verb, c in calls.items()},
    }


def concurrent(bench: Bench, plan: Plan, size: int) -> dict[str, Any]:
    """``plan.concurrent`` deploys of a change, each to another app, at once: all succeed
    and each app then serves the new code."""
    apps = [plan.name(n) for n in range(size - plan.concurrent + 1, size + 1)]
    mark = f"together-{secrets.token_hex(3)}"
    source = bench.source("together", mark)
    start = threading.Barrier(len(apps))
    failures: list[str] = []

    def one(app: str) -> dict[str, Any]:
        start.wait(60)
        began = time.perf_counter()
        result = bench.shipway(
            "deploy",
            source,
            "--app",
            app,
            "--json",
            "--timeout",
            str(DEPLOY_TIMEOUT),
            timeout=DEPLOY_TIMEOUT + 60,
        )
        elapsed = time.perf_counter() - began
        try:
            data = json.loads(result.stdout)
        except ValueError:
            data = {}
        if result.returncode != 0 or data.get("status") != "succeeded":
            failures.append(f"{app} (exit {result.returncode}): {result.stderr[-1500:]}")
        return {
            "app": app,
            "seconds": elapsed,
            "status": data.get("status"),
            "url": data.get("url"),
        }

    began = time.perf_counter()
    done = parallel(one, apps, len(apps))
    wall = time.perf_counter() - began
    expect(
        not failures,
        f"{len(failures)} of {len(apps)} deploys at once failed:\n" + "\n".join(failures),
    )
    for row in done:
        answers(row["url"], mark)
    return {
        "deploys": len(apps),
        "all_succeeded": True,
        "wall_seconds": wall,
        "seconds_median": statistics.median(r["seconds"] for r in done),
        "seconds_max": max(r["seconds"] for r in done),
        "each": {r["app"]: r["seconds"] for r in done},
    }


def run(bench: Bench, plan: Plan) -> dict[str, Any]:
    found = len(existing(bench, plan))
    sizes = sorted(plan.sizes, reverse=found >= max(plan.sizes))
    stages, together, setup = [], None, []
    scaled = False
    try:
        for size in sizes:
            setup.append({"to": size, **resize(bench, plan, size)})
            if not scaled:
                scale_ps_app(bench, plan, plan.pods)
                scaled = True
            stages.append(measure(bench, plan, size))
            if size == max(sizes):
                together = concurrent(bench, plan, size)
            _show_stage(stages[-1])
        if plan.keep and not plan.smoke and sizes[-1] < max(sizes):  # walked down
            setup.append({"to": max(sizes), **resize(bench, plan, max(sizes))})
    finally:
        if scaled and not plan.smoke:
            scale_ps_app(bench, plan, 1)  # 19 pods fewer on a node of 110
    return {
        "runs": plan.runs,
        "python": sys.version.split()[0],
        "app": "tests/apps/stdlib-server, resources 10m CPU / 48Mi, no addons",
        "found_apps": found,
        "setup": setup,
        "ps_pods": plan.pods,
        "target_seconds": TARGET_SECONDS,
        "sizes": stages,
        "concurrent_deploys": together,
        "growth": growth(stages),
    }


def growth(stages: list[dict[str, Any]]) -> dict[str, Any]:
    """Per verb, API calls and bytes at each size: what grows with the number of apps."""
    ordered = sorted(stages, key=lambda s: s["apps"])
    verbs = ordered[0]["calls"] if ordered else {}
    return {
        verb: {
            "api_calls": {s["apps"]: s["calls"][verb]["api_calls"] for s in ordered},
            "api_bytes": {s["apps"]: s["calls"][verb]["api_bytes"] for s in ordered},
            "in_process_seconds": {
                s["apps"]: round(s["calls"][verb]["in_process_seconds"], 3) for s in ordered
            },
            **_slope(ordered, verb),
        }
        for verb in verbs
    }


def _slope(ordered: list[dict[str, Any]], verb: str) -> dict[str, Any]:
    """API calls per app added, from the smallest size to the largest: about 0 when the
    calls do not grow with the apps (the rollout's polls and the apps that other users
    left without a release mark move it a little), 1 or more when each app costs a call."""
    if len(ordered) < 2:
        return {}
    first, last = ordered[0], ordered[-1]
    calls = last["calls"][verb]["api_calls"] - first["calls"][verb]["api_calls"]
    per_app = calls / (last["apps"] - first["apps"])
    size = last["calls"][verb]["api_bytes"] - first["calls"][verb]["api_bytes"]
    return {
        "calls_per_app": round(per_app, 3),
        "bytes_per_app": round(size / (last["apps"] - first["apps"])),
        "calls_grow_with_apps": per_app >= 0.5,
    }


def _show_stage(stage: dict[str, Any]) -> None:
    wall, calls = stage["seconds_median"], stage["calls"]
    cells = "  ".join(
        f"{verb} {wall[verb]:.2f} s/{calls[verb]['api_calls']} calls" for verb in wall
    )
    anchors = "  ".join(f"{k} {v:.2f} s" for k, v in stage["anchor_seconds_median"].items())
    print(
        f"{stage['apps']:3d} apps ({stage['apps_in_cluster']} in the cluster, "
        f"{stage['unmarked_namespaces']} unmarked): {cells}  (kubectl: {anchors})",
        flush=True,
    )


def main() -> None:
    parser = arguments(__doc__ or "", 5, "runs of each command", cluster=True)
    parser.add_argument("--sizes", default="10,30,60", help="numbers of apps to measure at")
    parser.add_argument("--prefix", default="scale", help="the apps are PREFIX-01, PREFIX-02 …")
    parser.add_argument("--pods", type=int, default=20, help="pods of the app ps lists")
    parser.add_argument("--concurrent", type=int, default=10, help="deploys at once")
    parser.add_argument("--cleanup", action="store_true", help="destroy the apps at the end")
    args = parser.parse_args()
    compile_shipway()
    if args.smoke:
        plan = Plan(f"scale-smoke-{secrets.token_hex(2)}", [5], 1, 3, 3, smoke=True)
    else:
        sizes = sorted({int(s) for s in args.sizes.split(",")})
        plan = Plan(
            args.prefix, sizes, args.runs, args.pods, args.concurrent, False, not args.cleanup
        )
    expect(min(plan.sizes) >= 3, "the smallest size is 3 apps (ps, deploy, no-change deploy)")
    expect(max(plan.sizes) >= plan.concurrent, "fewer apps than deploys at once")
    kubeconfig = cluster(args.kubeconfig)
    kubectl = kubectl_for(kubeconfig, args.kubectl)
    with tempfile.TemporaryDirectory(prefix="shipway-scale-bench-") as tmp:
        work = Path(tmp)
        env = {**os.environ, "KUBECONFIG": str(kubeconfig), "COLUMNS": "200"}
        env.setdefault("SHIPWAY_STATE_DIR", str(work / "state"))
        env.setdefault("SHIPWAY_CACHE_DIR", str(work / "cache"))
        bench = Bench(env, work, kubeconfig, kubectl)
        try:
            results = run(bench, plan)
        finally:
            if plan.smoke or args.cleanup:
                names = [plan.name(n) for n in sorted(existing(bench, plan))]
                parallel(bench.destroy, names, SETUP_WORKERS)
    save(results, RESULTS, args.smoke)
    if not args.smoke:
        for stage in results["sizes"]:
            wall = stage["seconds_median"]
            for verb in ("apps", "ps"):
                met = "met" if wall[verb] <= TARGET_SECONDS else "NOT met"
                print(f"{verb} at {stage['apps']} apps: {wall[verb]:.2f} s (≤ 1 s: {met})")
        print(json.dumps(results["growth"], indent=1))


if __name__ == "__main__":
    main()
