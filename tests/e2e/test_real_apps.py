"""Every fixture app of tests/apps deployed unedited, as a Heroku user would: when the app
needs addons or config vars its files do not declare, `shipway create` and the lifecycle
verbs of its EXPECT.json first (other apps are deployed straight away), then `shipway
deploy`, then the requests of its EXPECT.json to the URL the deploy printed.

Deploys run a few at a time in the background (a session fixture starts them all at once,
each test waits for its own app), so the corpus costs minutes, not an hour. Each app is a
copy in a fresh git repository (as a user's checkout is); apps named by their directory get
a fresh name, and every app is destroyed with its data afterwards. A failure reports what
the app answered and the dump of its namespace.
"""

from __future__ import annotations

import json
import secrets
import shlex
import shutil
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from lightkube import Client

from tests.apps import corpus
from tests.e2e.cli import deploy, run_shipway
from tests.e2e.kube import dump_namespace

CORPUS = corpus.names()
#: Deploys at a time: builds and rollouts overlap without starving a 2-core machine.
WORKERS = 3
DEPLOY_TIMEOUT = 300
#: A fresh NodePort may take a moment to route: the first request is retried this long.
FIRST_ANSWER_WITHIN = 60.0


@pytest.fixture(scope="session")
def corpus_runs(
    request: pytest.FixtureRequest,
    platform: dict[str, str],
    kube: Client,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[dict[str, Future[list[str]]]]:
    """Starts the deploy of every selected app; each maps to its list of problems."""
    params = [
        getattr(getattr(item, "callspec", None), "params", {}) for item in request.session.items
    ]
    wanted = [p["app_name"] for p in params if "app_name" in p]
    workdir = tmp_path_factory.mktemp("real-apps")
    pool = ThreadPoolExecutor(WORKERS, thread_name_prefix="real-app")
    yield {
        name: pool.submit(_try_app, corpus.load(name), platform, kube, workdir)
        for name in dict.fromkeys(wanted)
    }
    pool.shutdown(wait=True, cancel_futures=True)


@pytest.mark.parametrize("app_name", CORPUS)
def test_real_app_deploys_unedited_and_answers(
    app_name: str, corpus_runs: dict[str, Future[list[str]]]
) -> None:
    problems = corpus_runs[app_name].result(timeout=3600)
    assert not problems, f"{app_name}:\n" + "\n".join(problems)


def _try_app(app: corpus.App, env: dict[str, str], kube: Client, workdir: Path) -> list[str]:
    """Copy, deploy, ask and destroy one app; what went wrong (nothing when all is well)."""
    token = secrets.token_hex(3)
    copy = workdir / f"{app.name}-{token}"
    # EXPECT.json is the test's, not the app's: it stays out of the copy.
    shutil.copytree(app.root, copy, symlinks=True, ignore=shutil.ignore_patterns(corpus.EXPECT))
    corpus.lock(copy)
    _git_init(copy)
    app_dir = copy / app.subdir if app.subdir else copy
    name, problems = _app_name(env, app_dir)
    if name is None:
        return problems
    if token not in name:  # named by its files (app.json): clear a crashed run's leftovers
        _destroy(env, name)
    try:
        problems = _deploy_and_ask(app, env, app_dir, name)
    except Exception as exc:  # a bug in the test or a hung command: report it as the app's
        problems = [f"{type(exc).__name__}: {exc}"]
    if problems:
        problems.append(dump_namespace(kube, name))
    destroyed = _destroy(env, name)
    if not problems and destroyed.returncode != 0:
        problems.append(f"destroy {name} failed: {destroyed.stderr.strip()[-500:]}")
    return problems


def _git_init(root: Path) -> None:
    """The copy becomes a repository of its own, as the author's checkout would be."""
    identity = ["-c", "user.name=shipway-e2e", "-c", "user.email=e2e@shipway.invalid"]
    for args in (["init", "-q"], ["add", "-A"], [*identity, "commit", "-q", "-m", "the app"]):
        subprocess.run(["git", *args], cwd=root, check=True, capture_output=True, timeout=60)


def _app_name(env: dict[str, str], app_dir: Path) -> tuple[str | None, list[str]]:
    """The name Shipway gives the app (its directory's, or the one its files declare)."""
    shown = run_shipway(env, "inspect", app_dir, "--json", timeout=60)
    if shown.returncode != 0:
        return None, [f"inspect failed: {shown.stderr.strip()[-800:]}"]
    return str(json.loads(shown.stdout)["spec"]["name"]), []


def _destroy(env: dict[str, str], name: str) -> subprocess.CompletedProcess[str]:
    return run_shipway(env, "destroy", name, "--yes", "--delete-data", timeout=180)


def _deploy_and_ask(app: corpus.App, env: dict[str, str], app_dir: Path, name: str) -> list[str]:
    if app.lifecycle:
        for verb, *args in [["create"], *(shlex.split(entry) for entry in app.lifecycle)]:
            done = run_shipway(env, verb, name, *args, timeout=300)
            if done.returncode != 0:
                command = " ".join(["shipway", verb, name, *args])
                return [f"{command}: exit {done.returncode}: {done.stderr.strip()[-800:]}"]
    result = deploy(env, app_dir, timeout=DEPLOY_TIMEOUT)
    if result.get("status") != "succeeded":
        return [
            f"deploy {result.get('status')}: {result.get('reason')}\n{result['stderr'][-3000:]}"
        ]
    url = str(result["url"])
    if not url.startswith("http://127.0.0.1:"):
        return [f"deploy printed {url!r}, not a URL on 127.0.0.1"]
    return [*_addon_problems(app, env, name), *_config_problems(app, env, name), *_ask(app, url)]


def _addon_problems(app: corpus.App, env: dict[str, str], name: str) -> list[str]:
    shown = run_shipway(env, "addons", name, "--json", timeout=60)
    if shown.returncode != 0:
        return [f"shipway addons {name}: {shown.stderr.strip()[-500:]}"]
    addons = json.loads(shown.stdout)
    problems = []
    if sorted(a["kind"] for a in addons) != sorted(app.addons):
        problems.append(
            f"addons {sorted(a['kind'] for a in addons)}, expected {sorted(app.addons)}"
        )
    problems += [
        f"addon {a['kind']} not ready ({a['ready']})" for a in addons if a["ready"] != "1/1"
    ]
    return problems


def _config_problems(app: corpus.App, env: dict[str, str], name: str) -> list[str]:
    if not app.config:
        return []
    shown = run_shipway(env, "config", name, "--reveal", "--json", timeout=60)
    if shown.returncode != 0:
        return [f"shipway config {name}: {shown.stderr.strip()[-500:]}"]
    config = json.loads(shown.stdout)
    # Only the keys are named: a wrong value stays out of the report.
    return [
        f"config var {key} missing or not the value EXPECT.json gives"
        for key, value in app.config.items()
        if config.get(key) != value
    ]


def _ask(app: corpus.App, url: str) -> list[str]:
    """Each request of EXPECT.json in order; what each answer got wrong."""
    problems = []
    for index, wanted in enumerate(app.requests):
        target = url.rstrip("/") + wanted.path
        within = FIRST_ANSWER_WITHIN if index == 0 else 0.0
        try:
            status, text = _http(wanted.method, target, wanted.body, within)
        except OSError as exc:
            problems.append(f"{wanted.method} {wanted.path}: no answer ({exc})")
            break
        problems += [
            f"{wanted.method} {wanted.path}: {problem}"
            for problem in corpus.answer_problems(wanted, status, text)
        ]
    return problems


def _http(method: str, url: str, body: Any, retry_for: float) -> tuple[int, str]:
    """Status and text of one request; connection errors are retried for ``retry_for`` s."""
    data = json.dumps(body).encode() if body is not None else None
    headers = {"Content-Type": "application/json"} if data is not None else {}
    deadline = time.monotonic() + retry_for
    while True:
        request = urllib.request.Request(url, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=15) as response:
                return response.status, response.read().decode(errors="replace")
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode(errors="replace")
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(1)
