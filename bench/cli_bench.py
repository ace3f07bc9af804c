"""Benchmark: how long the `shipway` command takes to answer, beside kubectl in the same run.

Measures the median wall time of a new `shipway` process (what a user types) for
  * `shipway --help` and `shipway version`, beside `kubectl version --client`;
  * the read verbs `ps`, `releases`, `config`, `info` and `apps`, against the repo's
    cluster in direct mode (a kubeconfig, no server), beside `kubectl get pods -n NS`;
  * the same verbs in remote mode: through a `shipway server` on 127.0.0.1 (SQLite, a
    fresh state directory, the app imported into its first team), same anchor.
Each command and its anchor alternate, run after run, so both see the same load; the
ratio is shipway's median over the anchor's. Every output is checked, every run.
The targets are issue 11's: 0.2 s for help and version, 0.5 s for the read verbs; and
issue 12's: 0.25 s for a read verb in remote mode.

Run from the repository root after `make setup`:  .venv/bin/python bench/cli_bench.py
The read verbs need an app: the first run deploys bench/apps/data-api as `bench-cli`
(with one config var) and leaves it there for the next (`shipway destroy bench-cli --yes`
removes it). `--no-cluster` measures help and version only.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

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
from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402

from tests.helpers.server import running_server  # noqa: E402

APP = ROOT / "bench" / "apps" / "data-api"
RESULTS = ROOT / "bench" / "results" / "cli.json"
CONFIG_VAR = "BENCH_CONFIG"
START_TARGET, READ_TARGET = 0.2, 0.5  # seconds, issue 11
REMOTE_TARGET = 0.25  # seconds, issue 12


@dataclass(frozen=True)
class Measure:
    """A shipway command, its anchor, and what each must print to count as having worked."""

    args: tuple[str, ...]
    anchor: tuple[str, ...]
    target: float
    prints: Callable[[str], bool]
    anchor_prints: Callable[[str], bool]
    #: Added to the environment of the shipway command (remote mode's server and token).
    env: tuple[tuple[str, str], ...] = ()

    @property
    def label(self) -> str:
        mode = " (remote)" if self.env else ""
        return " ".join(("shipway", *self.args)) + mode

    @property
    def anchor_label(self) -> str:
        """The anchor as a reader would type it: no paths, no kubeconfig."""
        args = list(self.anchor[1:])
        if "--kubeconfig" in args:
            del args[args.index("--kubeconfig") : args.index("--kubeconfig") + 2]
        return " ".join(("kubectl", *args))


def startup(kubectl: Path) -> list[Measure]:
    client = (str(kubectl), "version", "--client")
    client_ok = lambda out: "Client Version" in out  # noqa: E731
    return [
        Measure(
            ("--help",), client, START_TARGET, lambda o: "Usage" in o and "deploy" in o, client_ok
        ),
        Measure(
            ("version",),
            client,
            START_TARGET,
            lambda o: re.fullmatch(r"\d+(\.\d+)+\S*\n?", o) is not None,
            client_ok,
        ),
    ]


def reads(
    kubectl: Path, kubeconfig: Path, app: str, remote: dict[str, str] | None = None
) -> list[Measure]:
    pods = (str(kubectl), "--kubeconfig", str(kubeconfig), "get", "pods", "-n", app)
    pods_ok = lambda out: f"{app}-web-" in out and "Running" in out  # noqa: E731
    target = REMOTE_TARGET if remote else READ_TARGET
    extra = tuple(sorted((remote or {}).items()))

    def verb(*args: str, prints: Callable[[str], bool]) -> Measure:
        return Measure(args, pods, target, prints, pods_ok, extra)

    return [
        verb("ps", app, prints=lambda o: f"{app}-web-" in o and "Running" in o),
        verb("releases", app, prints=lambda o: "succeeded" in o),
        verb("config", app, prints=lambda o: f"{CONFIG_VAR}=(hidden)" in o),
        verb("info", app, prints=lambda o: f"app: {app}\n" in o),
        verb("apps", prints=lambda o: app in o),
    ]


def shipway(env: dict[str, str], *args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "shipway", *map(str, args)],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )


def ensure_app(env: dict[str, str], name: str, work: Path) -> str:
    """``name`` deployed and running: reused if it is (a read verb does not care which
    code it runs), else deployed from bench/apps/data-api."""
    if shipway(env, "info", name).returncode == 0:
        return "reused"
    source = work / name
    shutil.copytree(APP, source)
    (source / "shipway.yaml").write_text(f"name: {name}\n")
    # A config var, not shipway.yaml's env: `shipway config` lists the former.
    created = shipway(env, "create", name, "--no-git-remote")
    expect(created.returncode == 0, f"shipway create {name}:\n{created.stderr[-2000:]}")
    configured = shipway(env, "config:set", name, f"{CONFIG_VAR}=cli-bench")
    expect(configured.returncode == 0, f"shipway config:set {name}:\n{configured.stderr[-2000:]}")
    deployed = shipway(env, "deploy", source, "--timeout", "600")
    expect(deployed.returncode == 0, f"shipway deploy {name}:\n{deployed.stderr[-2000:]}")
    return "deployed"


def run(measure: Measure, runs: int, env: dict[str, str]) -> dict[str, Any]:
    mine: list[float] = []
    anchor: list[float] = []
    for _ in range(runs):
        mine_env = env | dict(measure.env)
        seconds, out, _rss = timed(sys.executable, "-m", "shipway", *measure.args, env=mine_env)
        expect(measure.prints(out), f"{measure.label} printed:\n{out[-2000:]}")
        mine.append(seconds)
        seconds, out, _rss = timed(*measure.anchor, env=env)
        expect(measure.anchor_prints(out), f"{measure.anchor_label} printed:\n{out[-2000:]}")
        anchor.append(seconds)
    median, anchor_median = statistics.median(mine), statistics.median(anchor)
    return {
        "measure": measure.label,
        "seconds_median": median,
        "anchor": measure.anchor_label,
        "anchor_seconds_median": anchor_median,
        "ratio": median / anchor_median,
        "target_seconds": measure.target,
        "met": median <= measure.target,
        "seconds": mine,
        "anchor_seconds": anchor,
    }


def show(results: dict[str, Any], smoke: bool) -> None:
    table = Table(title=f"shipway CLI latency (median of {results['runs']})")
    for column in ("command", "shipway", "anchor", "anchor s", "ratio"):
        table.add_column(column, justify="left" if column in ("command", "anchor") else "right")
    if not smoke:  # one run under test load says nothing about a target
        table.add_column("target", justify="right")
        table.add_column("met")
    for row in results["measures"]:
        cells = [
            row["measure"],
            f"{row['seconds_median']:.2f} s",
            row["anchor"],
            f"{row['anchor_seconds_median']:.2f} s",
            f"{row['ratio']:.1f}x",
        ]
        if not smoke:
            cells += [f"≤ {row['target_seconds']} s", "yes" if row["met"] else "[red]no[/red]"]
        table.add_row(*cells)
    Console().print(table)


def main() -> None:
    parser = arguments(__doc__ or "", 7, "runs of each command", cluster=True)
    parser.add_argument("--app", default="bench-cli", help="the app the read verbs read")
    parser.add_argument(
        "--no-cluster", action="store_true", help="only help and version (they need no cluster)"
    )
    args = parser.parse_args()
    compile_shipway()
    runs = 1 if args.smoke else args.runs
    with tempfile.TemporaryDirectory(prefix="shipway-cli-bench-") as tmp:
        work = Path(tmp)
        # Wide enough that no table folds a name the checks look for.
        env = {**os.environ, "COLUMNS": "200"}
        env.setdefault("SHIPWAY_STATE_DIR", str(work / "state"))
        env.setdefault("SHIPWAY_CACHE_DIR", str(work / "cache"))
        if args.no_cluster:
            kubectl = args.kubectl or _built_kubectl()
            measures, app = startup(kubectl), None
        else:
            kubeconfig = cluster(args.kubeconfig)
            env["KUBECONFIG"] = str(kubeconfig)
            kubectl = kubectl_for(kubeconfig, args.kubectl)
            app = {"name": args.app, "how": ensure_app(env, args.app, work)}
            measures = startup(kubectl) + reads(kubectl, kubeconfig, args.app)
        with _server(env, work, app) as remote:
            if remote:
                measures += reads(kubectl, kubeconfig, args.app, remote)
            results = {
                "runs": runs,
                "app": app,
                "python": sys.version.split()[0],
                "measures": [run(m, runs, env) for m in measures],
            }
    save(results, RESULTS, args.smoke)
    show(results, args.smoke)


@contextlib.contextmanager
def _server(
    env: dict[str, str], work: Path, app: dict[str, str] | None
) -> Iterator[dict[str, str] | None]:
    """A team server with ``app`` imported into its first team: remote mode's settings."""
    if app is None:
        yield None
        return
    with running_server(work / "server", None, env) as server:
        remote = {"SHIPWAY_URL": server.url, "SHIPWAY_TOKEN": server.admin_token}
        imported = shipway(env | remote, "apps:import", app["name"], "--team", "main")
        expect(imported.returncode == 0, f"apps:import:\n{imported.stderr[-2000:]}")
        yield remote


def _built_kubectl() -> Path:
    """Without a cluster, the kubectl its build left in the cache (hack/cluster/lib.sh)."""
    cache = Path(os.environ.get("SHIPWAY_CACHE", Path.home() / ".cache" / "shipway-ci"))
    built = sorted((cache / "k8s").glob("*/bin/kubectl"), key=lambda p: p.stat().st_mtime)
    expect(bool(built), f"no kubectl built under {cache}/k8s (name one with --kubectl)")
    return built[-1]


if __name__ == "__main__":
    main()
