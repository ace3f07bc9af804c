"""Benchmark: push-to-live with `shipway deploy` against what the seed does by hand.

On the repo's cluster (`make cluster-up`), with the tasks example (Flask + a mongodb addon):
  * by hand: `docker build` (the generated Dockerfile) + `docker push` + `kubectl apply`
    (the same objects Shipway renders, written to files once) + `kubectl rollout status`;
  * `shipway deploy`, in its own namespace, from the same source;
  * `shipway deploy` through a warm `shipway server` on 127.0.0.1 (remote mode: the
    source uploaded, the build run in the server's workers), in a third namespace; its
    build step alone (build + push, from the deploy record's step times) is compared with
    `docker build` + `docker push` alone.
Each run changes one line of the app, then times the commands and how long from a
command's start until the new code answers on 127.0.0.1 (its NodePort, asked every 20 ms
while the command runs and after it). The floor, in the same runs:
`kubectl rollout restart` of Shipway's own Deployment until the new pod answers (the app's
/healthz names its pod) — Kubernetes replacing a pod of an image it already has, which no
deploy can beat. Also timed: a deploy with no change at all (CLI wall time, and the call inside a
warm process). Medians of --runs.

Run from the repository root after `make setup`:  .venv/bin/python bench/deploy_bench.py
It starts what it needs (the cluster, a Docker engine) with the scripts in hack/.
`--smoke` (what CI runs): one run of each step, outputs checked, bench/results untouched.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Callable
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import (  # noqa: E402
    arguments,
    cluster,
    compile_shipway,
    expect,
    kubectl_for,
    save,
    sh,
)

from shipway import project  # noqa: E402
from shipway.credentials import CredentialStore  # noqa: E402
from shipway.deploy import deploy  # noqa: E402
from shipway.image.docker_builder import DOCKERFILE, prepare_context  # noqa: E402
from shipway.image.reference import parse  # noqa: E402
from shipway.kube.client import connect  # noqa: E402
from shipway.platform import load as load_platform  # noqa: E402
from shipway.render import RenderOptions  # noqa: E402
from shipway.render.output import write  # noqa: E402
from tests.helpers.server import RunningServer, running_server  # noqa: E402

EXAMPLE = ROOT / "examples" / "tasks"
RESULTS = ROOT / "bench" / "results" / "deploy.json"
HEALTH = 'jsonify(status="ok")'
T = TypeVar("T")


def seconds(action: Callable[[], object]) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def health(url: str) -> dict[str, Any] | None:
    """What ``url``/healthz says (the edit it runs, the pod that answers), or None."""
    try:
        with urllib.request.urlopen(f"{url.rstrip('/')}/healthz", timeout=2) as response:
            found: dict[str, Any] = json.loads(response.read())
            return found
    except (OSError, ValueError):
        return None


def answers(
    url: str,
    edit: int,
    timeout: float = 120,
    not_pod: str | None = None,
    gave_up: Callable[[], bool] = lambda: False,
) -> float:
    """Seconds until ``url``/healthz serves the code of ``edit`` (and, given ``not_pod``,
    from another pod than that one), asking every 20 ms, bounded (and until ``gave_up``)."""
    start = time.perf_counter()
    while time.perf_counter() - start < timeout and not gave_up():
        said = health(url) or {}
        if said.get("edit") == edit and (not_pod is None or said.get("pod") != not_pod):
            return time.perf_counter() - start
        time.sleep(0.02)
    sys.exit(f"{url} did not serve edit {edit} (not from {not_pod}) within {timeout:.0f} s")


def until_live(url: str, edit: int, action: Callable[[], T]) -> tuple[float, float, T]:
    """Run ``action`` while asking ``url`` for the code of ``edit``: the seconds the
    action took, the seconds from its start until the new code answered (measured as the
    floor is: by asking, not by the command's end), and its result."""
    box: dict[str, Any] = {}

    def run() -> None:
        began = time.perf_counter()
        try:
            box["result"] = action()
        except BaseException as exc:  # sys.exit too: raised again below
            box["error"] = exc
        box["took"] = time.perf_counter() - began

    worker = threading.Thread(target=run)
    worker.start()
    try:
        live = answers(url, edit, gave_up=lambda: "error" in box)
    finally:
        worker.join()
    if "error" in box:
        raise box["error"]
    return box["took"], live, box["result"]


class App:
    """A copy of the tasks example under its own name; ``edit`` changes one line."""

    def __init__(self, work: Path, name: str):
        self.name, self.dir = name, work / name
        shutil.copytree(EXAMPLE, self.dir)
        spec = self.dir / "shipway.yaml"
        spec.write_text(re.sub(r"(?m)^name: .*$", f"name: {name}", spec.read_text()))
        # /healthz names the pod that answers (its hostname): the floor waits for a new one.
        source = self.dir / "app.py"
        text = source.read_text().replace(
            "\nimport os\n", "\nimport os\n\nPOD = os.uname().nodename\n", 1
        )
        source.write_text(text)

    def edit(self, n: int) -> None:
        source = self.dir / "app.py"
        text = re.sub(r"jsonify\(status=\"ok\"[^)]*\)", HEALTH, source.read_text())
        source.write_text(text.replace(HEALTH, f'jsonify(status="ok", edit={n}, pod=POD)'))


class ByHand:
    """The seed's workflow: docker build + docker push + kubectl apply + rollout status."""

    def __init__(self, work: Path, kubeconfig: Path, kubectl: Path, platform: Any):
        self.app = App(work, "bench-by-hand")
        self.work, self.platform = work, platform
        self.kubectl = [str(kubectl), "--kubeconfig", str(kubeconfig)]
        self.manifests = work / "manifests"

    def image(self, n: int) -> str:
        return f"{self.platform.registry}/{self.app.name}:run{n}"

    def render(self, n: int) -> None:
        """The YAML files a by-hand user keeps; each run only changes the image tag."""
        options = RenderOptions(
            image=self.image(n),
            expose="nodeport",
            addon_repositories=self.platform.addon_images,
        )
        rendered = project.render_project(
            project.load(self.app.dir), options, CredentialStore(self.work / "state")
        )
        shutil.rmtree(self.manifests, ignore_errors=True)
        write(rendered.objects, self.manifests)

    def build_push(self, n: int, cold: bool = False) -> None:
        self.last_build = seconds(lambda: self._build_push(n, cold))

    def _build_push(self, n: int, cold: bool) -> None:
        context = self.work / "context"
        shutil.rmtree(context, ignore_errors=True)
        context.mkdir()
        ca_bundle = Path(os.environ.get("PIP_CERT", "/etc/ssl/certs/ca-certificates.crt"))
        base = parse(self.platform.base_image)
        prepare_context(project.load(self.app.dir), base, ca_bundle, context)
        build = ["docker", "build", "-q", "-f", DOCKERFILE, "-t", self.image(n), "."]
        subprocess.run(
            [*build, *(["--no-cache"] if cold else [])],
            cwd=context,
            check=True,
            capture_output=True,
        )
        sh("docker", "push", "-q", self.image(n))

    def deploy(self, n: int, cold: bool = False) -> float:
        self.render(n)  # not timed: the user edits a tag in a file they already have

        def steps() -> None:
            self.build_push(n, cold)
            sh(*self.kubectl, "apply", "-f", self.manifests)
            sh(
                *self.kubectl,
                "rollout",
                "status",
                "-n",
                self.app.name,
                "--timeout=300s",
                f"deployment/{self.app.name}-web",
            )

        return seconds(steps)

    def url(self) -> str:
        port = sh(
            *self.kubectl,
            "get",
            "service",
            "-n",
            self.app.name,
            self.app.name,
            "-o",
            "jsonpath={.spec.ports[0].nodePort}",
        )
        return f"http://127.0.0.1:{port.strip()}/"

    def remove(self) -> None:
        sh(*self.kubectl, "delete", "namespace", self.app.name, "--wait=false")


class WithShipway:
    def __init__(self, work: Path, env: dict[str, str], name: str = "bench-shipway"):
        self.app, self.env = App(work, name), env

    def deploy(self, *extra: str) -> tuple[float, dict[str, Any]]:
        start = time.perf_counter()
        result = subprocess.run(
            [sys.executable, "-m", "shipway", "deploy", self.app.dir, "--json", *extra],
            env=self.env,
            capture_output=True,
            text=True,
            check=False,
        )
        elapsed = time.perf_counter() - start
        if result.returncode != 0:
            sys.exit(f"shipway deploy failed:\n{result.stderr[-2000:]}")
        return elapsed, json.loads(result.stdout)

    def restart(self, kubectl: list[str], url: str, edit: int) -> float:
        """The floor: ``kubectl rollout restart`` of this Deployment (a new pod of an image
        the node has) until the new pod answers."""
        answers(url, edit)
        said: dict[str, Any] = {}
        while said.get("edit") != edit:  # the pod that runs ``edit``, not an old one draining
            said = health(url) or {}
        before = said.get("pod")
        expect(bool(before), f"{url}healthz does not name its pod")
        start = time.perf_counter()
        sh(*kubectl, "rollout", "restart", "-n", self.app.name, f"deployment/{self.app.name}-web")
        return time.perf_counter() - start + answers(url, edit, not_pod=before)

    def remove(self) -> None:
        subprocess.run(
            [sys.executable, "-m", "shipway", "destroy", self.app.name, "--yes", "--delete-data"],
            env=self.env,
            capture_output=True,
            check=False,
        )


class ThroughServer(WithShipway):
    """``shipway deploy`` in remote mode, through a warm server."""

    def __init__(self, work: Path, env: dict[str, str], server: RunningServer):
        remote = {"SHIPWAY_URL": server.url, "SHIPWAY_TOKEN": server.admin_token}
        super().__init__(work, env | remote, "bench-server")
        self.server = server
        # A namespace a run cut short left behind would make the name unavailable.
        subprocess.run(
            [sys.executable, "-m", "shipway", "--direct", "destroy", self.app.name, "--yes",
             "--delete-data"],
            env=self.env, capture_output=True, check=False,
        )  # fmt: skip
        created = subprocess.run(
            [sys.executable, "-m", "shipway", "create", self.app.name, "--no-git-remote"],
            env=self.env,
            capture_output=True,
            text=True,
            check=False,
        )
        expect(created.returncode == 0, f"create through the server:\n{created.stderr[-2000:]}")

    def build_seconds(self, deploy_id: int) -> float:
        """Build + push of a deploy, from its steps' times on the server."""
        steps = {
            s["name"]: s for s in self.server.api("GET", f"/deploys/{deploy_id}").json()["steps"]
        }
        start, end = steps["build"]["started_at"], steps["push"]["finished_at"]
        expect(bool(start and end), f"deploy {deploy_id} has no build/push times: {steps}")
        return (_instant(end) - _instant(start)).total_seconds()


class GitPush:
    """``git push shipway main`` of the server app's work tree (the push is the deploy);
    git's password is the token, given by a credential helper reading the environment."""

    def __init__(self, remote: ThroughServer):
        self.dir = remote.app.dir
        self.env = {
            **remote.env,
            "GIT_AUTHOR_NAME": "Bench",
            "GIT_AUTHOR_EMAIL": "bench@example.com",
            "GIT_COMMITTER_NAME": "Bench",
            "GIT_COMMITTER_EMAIL": "bench@example.com",
            "GIT_TERMINAL_PROMPT": "0",
            "GIT_CONFIG_COUNT": "1",
            "GIT_CONFIG_KEY_0": "credential.helper",
            "GIT_CONFIG_VALUE_0": "!f() { echo username=bench; echo password=$SHIPWAY_TOKEN; }; f",
        }
        self._git("init", "--quiet", "--initial-branch=main")
        added = subprocess.run(
            [sys.executable, "-m", "shipway", "git:remote", remote.app.name],
            cwd=self.dir, env=self.env, capture_output=True, text=True, check=False,
        )  # fmt: skip
        expect(added.returncode == 0, f"git:remote:\n{added.stderr[-2000:]}")

    def _git(self, *args: str) -> str:
        done = subprocess.run(
            ["git", *args], cwd=self.dir, env=self.env, capture_output=True, text=True, check=False
        )
        expect(done.returncode == 0, f"git {args[0]}:\n{done.stderr[-2000:]}")
        return done.stderr

    def push(self) -> str:
        """Commit the work tree's change and push it (what the user times)."""
        self._git("add", "-A")
        self._git("commit", "--quiet", "-m", "a one-line change")
        return self._git("push", "shipway", "main")


def _instant(text: str) -> datetime:
    return datetime.fromisoformat(text.removesuffix("Z"))


def measure(runs: int, work: Path, kubeconfig: Path, kubectl: Path) -> dict[str, Any]:
    compile_shipway()
    sh(ROOT / "hack" / "infra" / "dockerd.sh", "start")
    env = {
        **os.environ,
        "KUBECONFIG": str(kubeconfig),
        "SHIPWAY_CACHE_DIR": str(work / "cache"),
        "SHIPWAY_STATE_DIR": str(work / "state"),
    }
    os.environ.update({k: env[k] for k in ("KUBECONFIG", "SHIPWAY_CACHE_DIR", "SHIPWAY_STATE_DIR")})
    platform = load_platform(connect()).with_env()
    expect(platform.base_image is not None, "the platform has no base image: make cluster-up")
    sh("docker", "pull", "-q", str(platform.base_image), env=env)
    hand, ours = ByHand(work, kubeconfig, kubectl, platform), WithShipway(work, env)
    with running_server(work / "server", None, env) as server:
        remote = ThroughServer(work, env, server)
        try:
            return (
                _runs(runs, hand, ours)
                | _server_runs(runs, hand, remote)
                | _git_runs(runs, hand, remote)
            )
        finally:
            hand.remove()
            ours.remove()
            remote.remove()


def _server_runs(runs: int, hand: ByHand, remote: ThroughServer) -> dict[str, Any]:
    """Deploys of a one-line change through the server, each beside docker build + push of
    the same change and the rollout-restart floor of its own Deployment."""
    remote.app.edit(0)
    _, first = remote.deploy()
    expect(first["status"] == "succeeded" and bool(first["url"]), f"first deploy: {first}")
    url = first["url"]
    answers(url, 0, timeout=300)
    build: dict[str, list[float]] = {"docker": [], "server": []}
    live: list[float] = []
    floor: list[float] = []
    base = 1000  # edits of its own, so docker's tags do not collide with _runs'
    for n in range(base + 1, base + runs + 1):
        hand.app.edit(n)
        hand.build_push(n)
        build["docker"].append(hand.last_build)
        remote.app.edit(n)
        _, to_live, (_, result) = until_live(url, n, remote.deploy)
        expect(result["status"] == "succeeded", f"a deploy through the server: {result}")
        live.append(to_live)
        build["server"].append(remote.build_seconds(int(result["deploy"])))
        floor.append(remote.restart(hand.kubectl, url, n))
    med = {k: statistics.median(v) for k, v in build.items()}
    med_live, med_floor = statistics.median(live), statistics.median(floor)
    return {
        "server": {
            "build_seconds_median": med,
            "build_speedup": med["docker"] / med["server"],
            "change_to_live_seconds_median": med_live,
            "floor_seconds_median": med_floor,
            "change_to_live_above_floor_seconds": med_live - med_floor,
            "build_seconds": build,
            "change_to_live_seconds": live,
            "floor_seconds": floor,
        }
    }


def _git_runs(runs: int, hand: ByHand, remote: ThroughServer) -> dict[str, Any]:
    """``git push`` of a one-line change to the server until the new code answers, beside
    the seed's manual flow (docker build + push, kubectl apply + rollout status) of the
    same change until it answers, and the rollout-restart floor."""
    pushing = GitPush(remote)
    url = remote.deploy()[1]["url"]
    live: dict[str, list[float]] = {"by_hand": [], "git_push": []}
    floor: list[float] = []
    base = 2000  # edits of its own, as in _server_runs
    for n in range(base + 1, base + runs + 1):
        hand.app.edit(n)
        _, to_live, _ = until_live(hand.url(), n, partial(hand.deploy, n))
        live["by_hand"].append(to_live)
        remote.app.edit(n)
        _, to_live, said = until_live(url, n, pushing.push)
        expect("released v" in said, f"git push said:\n{said[-2000:]}")
        live["git_push"].append(to_live)
        floor.append(remote.restart(hand.kubectl, url, n))
    med = {k: statistics.median(v) for k, v in live.items()}
    med_floor = statistics.median(floor)
    return {
        "git_push": {
            "change_to_live_seconds_median": med,
            "speedup": med["by_hand"] / med["git_push"],
            "floor_seconds_median": med_floor,
            "above_floor_seconds": med["git_push"] - med_floor,
            "change_to_live_seconds": live,
            "floor_seconds": floor,
        }
    }


def _runs(runs: int, hand: ByHand, ours: WithShipway) -> dict[str, Any]:
    hand.app.edit(0)
    ours.app.edit(0)
    ours_first, deployed = ours.deploy()
    expect(deployed["status"] == "succeeded" and bool(deployed["url"]), f"first deploy: {deployed}")
    first = {"by_hand": hand.deploy(0, cold=True), "shipway": ours_first}
    urls = {"by_hand": hand.url(), "shipway": deployed["url"]}
    for url in urls.values():
        answers(url, 0, timeout=300)
    timed: dict[str, list[float]] = {"by_hand": [], "shipway": []}
    live: dict[str, list[float]] = {"by_hand": [], "shipway": []}
    floor: list[float] = []
    for n in range(1, runs + 1):
        hand.app.edit(n)
        ours.app.edit(n)
        took, to_live, _ = until_live(urls["by_hand"], n, partial(hand.deploy, n))
        timed["by_hand"].append(took)
        live["by_hand"].append(to_live)
        _, to_live, (elapsed, result) = until_live(urls["shipway"], n, ours.deploy)
        expect(result["status"] == "succeeded", f"a deploy of a change: {result}")
        timed["shipway"].append(elapsed)
        live["shipway"].append(to_live)
        floor.append(ours.restart(hand.kubectl, urls["shipway"], n))
    unchanged = [ours.deploy() for _ in range(runs)]
    expect(all(r["status"] == "unchanged" for _, r in unchanged), f"no change: {unchanged}")
    in_process = [seconds(lambda: deploy(ours.app.dir, None, {}, None, 300)) for _ in range(runs)]
    hand_unchanged = [hand.deploy(runs) for _ in range(runs)]
    med = {k: statistics.median(v) for k, v in timed.items()}
    med_live = {k: statistics.median(v) for k, v in live.items()}
    med_floor = statistics.median(floor)
    return {
        "app": "examples/tasks (Flask + mongodb addon)",
        "first_deploy_seconds": first,
        "change_seconds_median": med,
        "change_speedup": med["by_hand"] / med["shipway"],
        "change_to_live_seconds_median": med_live,
        "change_to_live_speedup": med_live["by_hand"] / med_live["shipway"],
        "floor_seconds_median": med_floor,
        "change_to_live_above_floor_seconds": med_live["shipway"] - med_floor,
        "no_change_seconds_median": {
            "shipway_cli": statistics.median(t for t, _ in unchanged),
            "shipway_in_process": statistics.median(in_process),
            "by_hand": statistics.median(hand_unchanged),
        },
        "runs": runs,
        "change_seconds": timed,
        "change_to_live_seconds": live,
        "floor_seconds": floor,
    }


def main() -> None:
    args = arguments(__doc__ or "", 9, "deploys", cluster=True).parse_args()
    kubeconfig = cluster(args.kubeconfig)
    kubectl = kubectl_for(kubeconfig, args.kubectl)
    with tempfile.TemporaryDirectory(prefix="shipway-deploy-bench-") as tmp:
        results = measure(1 if args.smoke else args.runs, Path(tmp), kubeconfig, kubectl)
    save(results, RESULTS, args.smoke)
    first, med, live = (
        results["first_deploy_seconds"],
        results["change_seconds_median"],
        results["change_to_live_seconds_median"],
    )
    print(_row("first deploy", first))
    print(_row("1-line change, command", med, results["change_speedup"]))
    print(_row("1-line change, to live", live, results["change_to_live_speedup"]))
    print(
        f"{'floor (rollout restart)':24} {results['floor_seconds_median']:6.1f} s   shipway to "
        f"live {results['change_to_live_above_floor_seconds']:+.1f} s above it"
    )
    still = results["no_change_seconds_median"]
    print(
        f"{'no change':24} shipway {still['shipway_cli']:6.2f} s (CLI), "
        f"{still['shipway_in_process']:.2f} s (in process)   by hand {still['by_hand']:6.1f} s"
    )
    server = results["server"]
    print(
        f"{'server: build + push':24} {server['build_seconds_median']['server']:6.2f} s   docker "
        f"{server['build_seconds_median']['docker']:6.2f} s   → {server['build_speedup']:.1f}x"
    )
    print(
        f"{'server: change to live':24} {server['change_to_live_seconds_median']:6.2f} s   "
        f"{server['change_to_live_above_floor_seconds']:+.2f} s above the floor "
        f"({server['floor_seconds_median']:.2f} s)"
    )

    pushed = results["git_push"]
    pushed_live = pushed["change_to_live_seconds_median"]
    print(
        f"{'git push: change to live':24} {pushed_live['git_push']:6.2f}"
        f" s   by hand {pushed_live['by_hand']:6.2f} s   → "
        f"{pushed['speedup']:.1f}x, {pushed['above_floor_seconds']:+.2f} s above the floor"
    )


def _row(label: str, pair: dict[str, float], speedup: float | None = None) -> str:
    text = f"{label:24} shipway {pair['shipway']:6.1f} s   by hand {pair['by_hand']:6.1f} s"
    return text + (f"   → {speedup:.1f}x" if speedup else "")


if __name__ == "__main__":
    main()
