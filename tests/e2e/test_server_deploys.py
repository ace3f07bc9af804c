"""Deploys through a real ``shipway server`` process on 127.0.0.1 and the real cluster:
an upload followed over server-sent events to a URL that answers, resumed with
``Last-Event-ID``; the queue's rules under 8 deploys at once; a full queue's 429; and a
server killed (SIGKILL) in the middle of a rollout, whose deploy ends aborted with the app
rolled back and still serving, and whose next deploy works."""

from __future__ import annotations

import gzip
import io
import itertools
import tarfile
import threading
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx2
import pytest
from sqlalchemy import select

from shipway import sources
from shipway.cli.remote import Login, Remote
from shipway.cli.remote_deploy import deploy_remote, parse
from shipway.db.engine import open_engine, sessions, url_for
from shipway.db.models import AuditEntry
from shipway.errors import DeployFailed
from tests.e2e.cli import NewApp, message_at
from tests.e2e.kube import wait_for
from tests.helpers.server import RunningServer, running_server, start, stop

pytestmark = pytest.mark.e2e


def own(server: RunningServer, app: str) -> None:
    """The app is created through the API (``POST /apps``): it joins the admin's team."""
    created = server.api("POST", "/apps", json={"name": app})
    assert created.status_code == 201, created.text


def upload(
    server: RunningServer, app_dir: Path, app: str, force: bool = False, token: str | None = None
) -> httpx2.Response:
    return server.api(
        "POST",
        f"/apps/{app}/sources",
        token,
        content=sources.make(app_dir, 50 * 1024 * 1024),
        headers={"Content-Type": "application/gzip"},
        params={"force": "true" if force else "false"},
    )


def events(
    server: RunningServer, deploy_id: int, after: int = 0, token: str | None = None
) -> list[tuple[int, str, dict[str, Any]]]:
    """The deploy's events after ``after``, read to the end of the stream."""
    headers = {"Authorization": f"Bearer {token or server.admin_token}"}
    if after:
        headers["Last-Event-ID"] = str(after)
    with httpx2.stream(
        "GET", f"{server.url}/api/v1/deploys/{deploy_id}/events", headers=headers, timeout=600
    ) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        lines = (line.encode() for line in response.iter_lines())
        return list(parse(lines))


def _time(text: str) -> datetime:
    return datetime.fromisoformat(text.removesuffix("Z"))


@pytest.fixture(scope="module")
def server(
    platform: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningServer]:
    env = {**platform, "SHIPWAY_STATE_DIR": str(tmp_path_factory.mktemp("server-cli"))}
    with running_server(tmp_path_factory.mktemp("server"), None, env, "--max-builds", "2") as srv:
        yield srv


def test_an_upload_deploys_and_its_stream_resumes(
    server: RunningServer, new_app: NewApp, capsys: pytest.CaptureFixture[str]
) -> None:
    app_dir, name = new_app("hello")
    own(server, name)
    remote = Remote(Login(server.url, server.admin_token))
    result = deploy_remote(remote, app_dir, name, force=False, as_json=True)
    assert result["status"] == "succeeded" and result["release"] == 1, result
    assert wait_for("the app", lambda: message_at(result["url"])) == "Hello from Shipway!"
    # The caller prints the result (shipway deploy prints both modes' the same way).
    assert capsys.readouterr().out == ""

    deploy_id = result["deploy"]
    everything = events(server, deploy_id)
    assert [seq for seq, _, _ in everything] == list(range(1, len(everything) + 1))
    assert everything[-1][1] == "end" and everything[-1][2]["url"] == result["url"]
    half = len(everything) // 2
    assert events(server, deploy_id, after=half) == everything[half:]

    record = server.api("GET", f"/deploys/{deploy_id}").json()
    assert record["status"] == "finished" and record["by"] == "admin@example.com"
    assert [s["name"] for s in record["steps"]] == [
        "receive", "detect", "build", "push", "addons", "apply", "rollout", "release",
    ]  # fmt: skip
    assert {s["status"] for s in record["steps"]} == {"finished"}
    listed = server.api("GET", f"/apps/{name}/deploys").json()
    assert [d["id"] for d in listed] == [deploy_id]
    # Audited (read from the server's database: the audit route is the accounts part's).
    engine = open_engine(url_for(server.database, server.state_dir))
    try:
        with sessions(engine).begin() as session:
            entries = session.scalars(
                select(AuditEntry).where(AuditEntry.app == name, AuditEntry.action == "deploy")
            ).all()
            assert [(e.actor, e.detail) for e in entries] == [
                ("admin@example.com", {"deploy": deploy_id, "force": False})
            ]
    finally:
        engine.dispose()

    # A deploy that fails (nothing deployable in the upload) says why in one line.
    empty = app_dir.parent / "empty"
    empty.mkdir()
    (empty / "README.txt").write_text("no app here\n")
    with pytest.raises(DeployFailed) as failed:
        deploy_remote(remote, empty, name, force=False, as_json=False)
    assert failed.value.rolled_back_to is None
    assert str(failed.value) and "\n" not in str(failed.value)
    assert "Traceback" not in str(failed.value)
    assert message_at(result["url"]) == "Hello from Shipway!"  # still serving

    # Bad input: not gzip, a hostile archive, an unknown app: one-line JSON errors.
    wrong = server.api(
        "POST", f"/apps/{name}/sources", content=b"x", headers={"Content-Type": "text/plain"}
    )
    assert wrong.status_code == 400 and "tar.gz" in wrong.json()["error"]
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as tar:
        tar.addfile(tarfile.TarInfo("../escape"), io.BytesIO(b""))
    hostile = server.api(
        "POST", f"/apps/{name}/sources", content=gzip.compress(raw.getvalue()),
        headers={"Content-Type": "application/gzip"},
    )  # fmt: skip
    assert hostile.status_code == 400
    assert hostile.json()["error"].startswith("source archive: '../escape'")
    assert server.api("GET", "/deploys/999999").status_code == 404
    assert upload(server, app_dir, "nobody-owns-this").status_code == 404


def test_eight_deploys_at_once_follow_the_rules(server: RunningServer, new_app: NewApp) -> None:
    apps = [new_app("hello") for _ in range(3)]
    for _, name in apps:
        own(server, name)
    plan = [apps[0]] * 5 + [apps[1]] * 2 + [apps[2]]
    answers: list[httpx2.Response] = []
    lock = threading.Lock()

    def send(app_dir: Path, name: str) -> None:
        response = upload(server, app_dir, name)
        with lock:
            answers.append(response)

    threads = [threading.Thread(target=send, args=pair) for pair in plan]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert [a.status_code for a in answers] == [202] * 8, [a.text for a in answers]
    ids = [a.json()["deploy"] for a in answers]
    ends = {i: events(server, i)[-1] for i in ids}  # each stream runs to its end
    assert {e[2]["status"] for e in ends.values()} == {"finished"}, ends
    records = [server.api("GET", f"/deploys/{i}").json() for i in ids]
    spans: dict[str, list[tuple[datetime, datetime]]] = {}
    for record in records:
        spans.setdefault(record["app"], []).append(
            (_time(record["started_at"]), _time(record["finished_at"]))
        )
    assert sorted(len(s) for s in spans.values()) == [1, 2, 5]
    for app_spans in spans.values():  # one at a time per app
        app_spans.sort()
        for (_, end), (begin, _) in itertools.pairwise(app_spans):
            assert end <= begin
    every = sorted(s for app_spans in spans.values() for s in app_spans)
    for begin, _ in every:  # never more than --max-builds at once
        assert sum(1 for b, e in every if b <= begin < e) <= 2


def test_a_full_queue_answers_429(
    platform: dict[str, str], new_app: NewApp, tmp_path: Path
) -> None:
    app_dir, name = new_app("hello")
    env = {**platform, "SHIPWAY_STATE_DIR": str(tmp_path / "cli")}
    extra = ("--max-builds", "1", "--queue-size", "1")
    with running_server(tmp_path / "server", None, env, *extra) as small:
        own(small, name)
        answers = [upload(small, app_dir, name) for _ in range(4)]
        codes = [a.status_code for a in answers]
        assert codes[:2] == [202, 202] and 429 in codes[2:], codes
        busy = next(a for a in answers if a.status_code == 429).json()
        assert busy == {
            "error": "the deploy queue is full (1 waiting); try again later",
            "kind": "busy",
        }
        for answer in answers:
            if answer.status_code == 202:
                assert events(small, answer.json()["deploy"])[-1][1] == "end"


def test_a_server_killed_mid_deploy_rolls_the_app_back(
    platform: dict[str, str], new_app: NewApp, tmp_path: Path
) -> None:
    app_dir, name = new_app("hello")
    env = {**platform, "SHIPWAY_STATE_DIR": str(tmp_path / "cli")}
    state = tmp_path / "server"
    with running_server(state, None, env) as first:
        token = first.admin_token
        own(first, name)
        v1 = first.api("GET", f"/deploys/{upload(first, app_dir, name).json()['deploy']}")
        v1_end = events(first, v1.json()["id"])[-1][2]
        assert v1_end["status"] == "finished", v1_end
        url = v1_end["url"]
        code = app_dir / "app.py"
        code.write_text(code.read_text().replace("Hello from Shipway!", "Hello v2"))
        cut = upload(first, app_dir, name).json()["deploy"]
        # Follow the stream until the rollout starts, then kill the server outright.
        headers = {"Authorization": f"Bearer {token}"}
        with httpx2.stream(
            "GET", f"{first.url}/api/v1/deploys/{cut}/events", headers=headers, timeout=600
        ) as response:
            for _, kind, data in parse(line.encode() for line in response.iter_lines()):
                assert kind != "end", data
                if kind == "step" and (data["step"], data["status"]) == ("rollout", "started"):
                    stop(first, hard=True)
                    break
    with start(state, None, {**env}) as second:
        second.admin_token = token
        record = second.api("GET", f"/deploys/{cut}").json()
        assert record["status"] == "aborted"
        assert record["reason"].startswith("the server restarted")
        end = events(second, cut)[-1][2]
        assert (end["status"], end["rolled_back_to"]) == ("aborted", 1), end
        assert end["reason"] == "the server restarted; rolled back to v1"
        assert wait_for("v1 serving", lambda: message_at(url) == "Hello from Shipway!" or None)
        again = upload(second, app_dir, name).json()["deploy"]
        final = events(second, again)[-1][2]
        assert final["status"] == "finished", final
        assert wait_for("v2 serving", lambda: message_at(final["url"]) == "Hello v2" or None)
