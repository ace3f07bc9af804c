"""The deploy queue's rules on a real SQLite database, with a runner the test drives:
one deploy at a time per app, the global build limit, a bounded queue (Busy), webhook
deploys superseded, watched ones never; steps and the event stream; recovery after a
restart."""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from shipway.db.engine import migrate, open_engine, sessions
from shipway.db.models import Deploy, DeployEvent
from shipway.errors import Busy, DeployFailed
from shipway.queue import Queue, Recorder, Request, records

pytestmark = pytest.mark.unit


@pytest.fixture
def db(tmp_path: Path) -> sessionmaker[Session]:
    engine = open_engine(f"sqlite:///{tmp_path / 'q.db'}")
    migrate(engine)
    return sessions(engine)


class Gates:
    """A runner whose deploys each wait for the test to open their gate; it records who
    ran at once."""

    def __init__(self, script: Callable[[Recorder], dict[str, Any]] | None = None):
        self.gates: dict[str, threading.Event] = {}
        self.running: set[str] = set()
        self.most = 0
        self.order: list[str] = []
        self.lock = threading.Lock()
        self.script = script or (lambda _r: {"release": 1})

    def __call__(self, request: Request, recorder: Recorder) -> dict[str, Any]:
        tag = request.commit or ""
        with self.lock:
            assert request.app not in {t.split(":")[0] for t in self.running}, "two at once"
            self.running.add(tag)
            self.most = max(self.most, len(self.running))
            self.order.append(tag)
            gate = self.gates.setdefault(tag, threading.Event())
        try:
            assert gate.wait(30)
            return self.script(recorder)
        finally:
            with self.lock:
                self.running.discard(tag)

    def open(self, tag: str) -> None:
        with self.lock:
            self.gates.setdefault(tag, threading.Event()).set()


def _request(tmp_path: Path, app: str, tag: str, source: str = "upload") -> Request:
    work = tmp_path / "work" / tag.replace(":", "-")
    work.mkdir(parents=True)
    return Request(app, source, "dev@example.com", work, commit=tag)


def _wait(what: Callable[[], bool], timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while not what():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def _status(db: sessionmaker[Session], deploy_id: int) -> str:
    with db.begin() as session:
        return records.get(session, deploy_id).status


@pytest.fixture
def make_queue(db: sessionmaker[Session]) -> Iterator[Callable[..., Queue]]:
    made: list[Queue] = []

    def make(run: Gates, **kwargs: Any) -> Queue:
        queue = Queue(db, run, **kwargs)
        made.append(queue)
        return queue

    yield make
    for queue in made:
        queue.shutdown()


def test_one_deploy_per_app_and_the_global_limit(
    tmp_path: Path, db: sessionmaker[Session], make_queue: Callable[..., Queue]
) -> None:
    run = Gates()
    queue = make_queue(run, max_builds=2, queue_size=10)
    tags = ["a:1", "a:2", "a:3", "b:1", "b:2", "c:1"]
    ids = {t: queue.enqueue(_request(tmp_path, t.split(":")[0], t)).id for t in tags}
    _wait(lambda: len(run.running) == 2)
    assert run.running == {"a:1", "b:1"}  # the first of two apps; c waits for a slot
    for tag in tags:
        run.open(tag)
    _wait(lambda: all(_status(db, i) == "finished" for i in ids.values()))
    assert run.most == 2
    # Each app's deploys ran in the order they came.
    for app in "abc":
        mine = [t for t in run.order if t.startswith(app)]
        assert mine == sorted(mine)
    # Sources are removed once each deploy has ended (just after its status is written).
    _wait(lambda: not list((tmp_path / "work").iterdir()))


def test_a_full_queue_refuses(
    tmp_path: Path, db: sessionmaker[Session], make_queue: Callable[..., Queue]
) -> None:
    run = Gates()
    queue = make_queue(run, max_builds=1, queue_size=2)
    first = queue.enqueue(_request(tmp_path, "a", "a:1"))
    _wait(lambda: run.running == {"a:1"})
    queue.enqueue(_request(tmp_path, "a", "a:2"))
    queue.enqueue(_request(tmp_path, "b", "b:1"))
    with pytest.raises(Busy, match=r"the deploy queue is full \(2 waiting\); try again later"):
        queue.enqueue(_request(tmp_path, "c", "c:1"))
    run.open("a:1")
    _wait(lambda: _status(db, first.id) == "finished")
    _wait(lambda: run.running == {"a:2"})
    queue.enqueue(_request(tmp_path, "c", "c:2"))  # room again
    for tag in ("a:2", "b:1", "c:2"):
        run.open(tag)


def test_webhook_deploys_are_superseded_watched_ones_never(
    tmp_path: Path, db: sessionmaker[Session], make_queue: Callable[..., Queue]
) -> None:
    run = Gates()
    queue = make_queue(run, max_builds=1, queue_size=10)
    queue.enqueue(_request(tmp_path, "a", "a:0"))
    _wait(lambda: run.running == {"a:0"})
    hook1 = queue.enqueue(_request(tmp_path, "a", "a:h1", "webhook"))
    upload = queue.enqueue(_request(tmp_path, "a", "a:u", "upload"))
    other = queue.enqueue(_request(tmp_path, "b", "b:h", "webhook"))
    hook2 = queue.enqueue(_request(tmp_path, "a", "a:h2", "webhook"))
    with db.begin() as session:
        old = records.get(session, hook1.id)
        assert (old.status, old.reason) == ("aborted", f"superseded by deploy {hook2.id}")
        end = records.events_after(session, hook1.id, 0)[-1]
        assert (end.kind, end.data["status"]) == ("end", "aborted")
        assert records.get(session, upload.id).status == "queued"
        assert records.get(session, other.id).status == "queued"  # another app's
    assert not (tmp_path / "work" / "a-h1").exists()
    for tag in ("a:0", "a:u", "b:h", "a:h2", "a:h1"):
        run.open(tag)
    _wait(lambda: all(_status(db, d.id) == "finished" for d in (upload, other, hook2)))
    assert "a:h1" not in run.order


def _script(recorder: Recorder) -> dict[str, Any]:
    recorder.stage("detect")
    recorder.step("reading the app")
    recorder.stage("build")
    recorder.transfer("layer", 2048)(2048)
    recorder.stage("push")
    recorder.stage("addons")
    recorder.stage("apply")
    recorder.stage("rollout")
    recorder.stage("addons")  # an automatic rollback goes through them again: ignored
    recorder.stage("release")
    return {"release": 4, "url": "http://x/", "changed": True}


def test_steps_timings_and_the_event_stream(
    tmp_path: Path, db: sessionmaker[Session], make_queue: Callable[..., Queue]
) -> None:
    woken: list[int] = []
    run = Gates(_script)
    queue = make_queue(run, notify=woken.append)
    deploy = queue.enqueue(_request(tmp_path, "a", "a:1"))
    run.open("a:1")
    _wait(lambda: _status(db, deploy.id) == "finished")
    with db.begin() as session:
        done = records.get(session, deploy.id)
        assert (done.release, done.url, done.applied, done.by) == (
            4,
            "http://x/",
            True,
            "dev@example.com",
        )
        steps = records.steps(session, deploy.id)
        assert [s.name for s in steps] == list(records.STEPS)
        assert {s.status for s in steps} == {"finished"}
        for earlier, later in itertools.pairwise(steps):
            assert earlier.started_at and earlier.finished_at and later.started_at
            assert earlier.finished_at <= later.started_at
        events = records.events_after(session, deploy.id, 0)
        assert [e.seq for e in events] == list(range(1, len(events) + 1))
        logs = [e.data["text"] for e in events if e.kind == "log"]
        assert logs == ["reading the app", "layer (2 KiB)"]
        started = [
            e.data["step"] for e in events if e.kind == "step" and e.data["status"] == "started"
        ]
        assert started == list(records.STEPS[1:])
        assert (events[-1].kind, events[-1].data["status"], events[-1].data["url"]) == (
            "end",
            "finished",
            "http://x/",
        )
        assert records.events_after(session, deploy.id, 3)[0].seq == 4
    assert deploy.id in woken


def test_a_failed_deploy(
    tmp_path: Path, db: sessionmaker[Session], make_queue: Callable[..., Queue]
) -> None:
    def fail(recorder: Recorder) -> dict[str, Any]:
        recorder.stage("detect")
        recorder.stage("rollout")
        raise DeployFailed("release v5 failed: crashed; rolled back to v4", 4)

    run = Gates(fail)
    queue = make_queue(run)
    deploy = queue.enqueue(_request(tmp_path, "a", "a:1"))
    run.open("a:1")
    _wait(lambda: _status(db, deploy.id) == "failed")
    with db.begin() as session:
        steps = {s.name: s.status for s in records.steps(session, deploy.id)}
        assert steps["rollout"] == "failed" and steps["release"] == "aborted"
        end = records.events_after(session, deploy.id, 0)[-1].data
        assert end["rolled_back_to"] == 4
        assert end["reason"] == "release v5 failed: crashed; rolled back to v4"


def test_an_unexpected_error_says_nothing_of_itself(
    tmp_path: Path, db: sessionmaker[Session], make_queue: Callable[..., Queue]
) -> None:
    def crash(_recorder: Recorder) -> dict[str, Any]:
        raise KeyError("password=hunter2")

    run = Gates(crash)
    queue = make_queue(run)
    deploy = queue.enqueue(_request(tmp_path, "a", "a:1"))
    run.open("a:1")
    _wait(lambda: _status(db, deploy.id) == "failed")
    with db.begin() as session:
        assert records.get(session, deploy.id).reason == (
            "internal error (the server's log has the details)"
        )


def test_recovery_after_a_restart(
    db: sessionmaker[Session], make_queue: Callable[..., Queue]
) -> None:
    with db.begin() as session:
        applied = records.create(session, "a", "upload", "dev@example.com")
        records.advance(session, applied.id, "addons")
        applied.status = "started"
        building = records.create(session, "b", "upload", "dev@example.com")
        records.advance(session, building.id, "build")
        building.status = "started"
        waiting = records.create(session, "c", "upload", "dev@example.com")
        ids = applied.id, building.id, waiting.id
    rolled: list[str] = []

    def roll_back(app: str, recorder: Recorder) -> int | None:
        recorder.step("rolling back to v2")
        rolled.append(app)
        return 2

    queue = make_queue(Gates())
    assert sorted(queue.recover(roll_back)) == sorted(ids)
    _wait(lambda: bool(rolled) and _ended(db, ids[0]))
    assert rolled == ["a"]
    with db.begin() as session:
        reasons = {d.app: (d.status, d.reason) for d in session.scalars(select(Deploy))}
        assert reasons == {
            "a": ("aborted", "the server restarted; rolled back to v2"),
            "b": ("aborted", "the server restarted"),
            "c": ("aborted", "the server restarted"),
        }
        steps = {s.name: s.status for s in records.steps(session, ids[1])}
        assert steps["build"] == "aborted" and steps["release"] == "aborted"


def _ended(db: sessionmaker[Session], deploy_id: int) -> bool:
    with db.begin() as session:
        kinds = session.scalars(select(DeployEvent.kind).where(DeployEvent.deploy_id == deploy_id))
        return "end" in list(kinds)


def test_a_recorder_used_from_many_threads_numbers_every_event(
    db: sessionmaker[Session],
) -> None:
    """The core reports from a push's threads at once: no event lost, none numbered twice."""
    with db.begin() as session:
        deploy_id = records.create(session, "a", "upload", "dev@example.com").id
    recorder = Recorder(db, deploy_id, lambda _id: None)
    threads = [
        threading.Thread(target=lambda n=n: [recorder.step(f"{n}-{i}") for i in range(20)])
        for n in range(6)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    recorder.end("finished", None, {})
    with db.begin() as session:
        events = records.events_after(session, deploy_id, 0)
        assert [e.seq for e in events] == list(range(1, len(events) + 1))
        logs = [e.data["text"] for e in events if e.kind == "log"]
        assert len(set(logs)) == 120
        for n in range(6):  # each thread's lines in the order it reported them
            assert [t for t in logs if t.startswith(f"{n}-")] == [f"{n}-{i}" for i in range(20)]
        assert events[-1].kind == "end"


def test_a_recorder_times_steps_when_reported_and_stores_all_before_the_end(
    db: sessionmaker[Session],
) -> None:
    """Reports are stored by a writer thread: a step's times are when the core reported
    it, and ``end`` comes after every report made before it."""
    with db.begin() as session:
        deploy_id = records.create(session, "a", "upload", "dev@example.com").id
    recorder = Recorder(db, deploy_id, lambda _id: None)
    recorder.stage("detect")
    time.sleep(0.3)
    recorder.stage("build")
    recorder.step("last line")
    recorder.end("finished", None, {"release": 2})
    with db.begin() as session:
        steps = {s.name: s for s in records.steps(session, deploy_id)}
        detect = steps["detect"]
        assert detect.finished_at and detect.started_at
        assert 0.3 <= (detect.finished_at - detect.started_at).total_seconds() < 2
        kinds = [(e.kind, e.data.get("text")) for e in records.events_after(session, deploy_id, 0)]
    assert kinds.index(("log", "last line")) < kinds.index(("end", None)) == len(kinds) - 1
