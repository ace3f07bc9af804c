"""Issue 10, class 9: what pods, registries and build steps print reaches the terminal
without control characters. The core hands text on as it came; the CLI sanitises
everything it shows with one function (``cli.common.literal``): escape sequences are
dropped whole, any other control or invisible formatting character becomes a space;
tabs and (where lines are kept) newlines stay. ``--json`` escapes them instead."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx2
import pytest
from typer.testing import CliRunner

from shipway import buildsteps, operate
from shipway.cli import main as cli_main
from shipway.cli.common import app, literal
from shipway.cli.progress import RichProgress
from shipway.errors import DeployFailed, ShipwayError
from shipway.image.blobs import BlobStore
from shipway.kube import client as kube_client
from shipway.kube import logs, pods, rollout
from shipway.kube.client import Target

#: What a hostile app prints, and what the terminal must get instead.
HOSTILE = [
    ("\x1b[31mred\x1b[0m text", "red text"),
    ("clear \x1b[2J\x1b[H screen", "clear  screen"),
    ("\x1b[?1049halt screen", "alt screen"),
    ("safe\rEVIL overwrites", "safe EVIL overwrites"),
    ("bell\x07 title\x1b]0;pwned\x07 end", "bell  title end"),
    ("\x1b]8;;https://evil.example/\x1b\\click here\x1b]8;;\x1b\\", "click here"),
    ("c1 \x9b2Jcsi, \x9d0;t\x9c osc, \x85nel", "c1 csi,  osc,  nel"),
    ("bidi \u202egnp.exe\u202c and \u2066iso\u2069", "bidi  gnp.exe  and  iso "),
    ("tab\tkept, DEL\x7f, NUL\x00", "tab\tkept, DEL , NUL "),
    ("keypad \x1b=and charset \x1b(0 x", "keypad and charset  x"),
    ("cut short \x1b[3", "cut short 3"),
]
CONTROLS = {chr(c) for c in [*range(0x20), *range(0x7F, 0xA0)]} - {"\t", "\n"}


def clean(text: str) -> bool:
    """No control or format character but tabs and newlines."""
    return not any(c in CONTROLS or (not c.isprintable() and c not in "\t\n ") for c in text)


@pytest.mark.parametrize(("hostile", "shown"), HOSTILE)
def test_the_sanitiser(hostile: str, shown: str) -> None:
    assert literal(hostile) == shown
    assert literal(hostile + "\nnext", keep_newlines=True) == shown + "\nnext"
    assert literal(hostile + "\nnext") == shown + " next"


def test_the_sanitiser_is_linear_on_unterminated_sequences() -> None:
    """A log line of half-sequences cannot make the regular expression backtrack."""
    text = ("\x1b[" + "1;" * 2000 + "\x1b]" + "x" * 2000) * 50
    assert clean(literal(text))


# -- a fake cluster: answers logs, events and pods ----------------------------------------


class _Generic:
    """lightkube's generic client, as ``read_log`` uses it: the log is ``body``."""

    def __init__(self, body: bytes):
        self.body = body

    def prepare_request(self, *_args: Any, **_kwargs: Any) -> SimpleNamespace:
        return SimpleNamespace(timeout=None)

    def build_adapter_request(self, request: Any) -> Any:
        return request

    def send(self, _request: Any, stream: bool) -> httpx2.Response:
        headers = {"Content-Type": "text/plain; charset=utf-8"}
        return httpx2.Response(200, content=self.body, headers=headers)

    def raise_for_status(self, _response: Any) -> None:
        return None


class Cluster:
    def __init__(self, log: str, events: list[Any] | None = None):
        self._client = _Generic(log.encode())
        self.events = events or []
        self.exit_code = 0

    def list(self, *_args: Any, **_kwargs: Any) -> list[Any]:
        return self.events

    def create(self, _obj: Any) -> None:
        return None

    def get(self, *_args: Any, **_kwargs: Any) -> Any:
        terminated = SimpleNamespace(exitCode=self.exit_code)
        state = SimpleNamespace(waiting=None, terminated=terminated)
        status = SimpleNamespace(phase="Running", containerStatuses=[SimpleNamespace(state=state)])
        return SimpleNamespace(status=status)

    def delete(self, *_args: Any, **_kwargs: Any) -> None:
        return None


LOG = "".join(f"{hostile}\n" for hostile, _ in HOSTILE) + "windows line\r\n"
SHOWN = [shown for _, shown in HOSTILE] + ["windows line"]


def pod(name: str) -> pods.ProcessPod:
    return pods.ProcessPod(name, "web", "Running", True, 0, "img", "", "v1")


def test_logs_reach_the_terminal_sanitised(monkeypatch: pytest.MonkeyPatch) -> None:
    cluster = Cluster(LOG)
    monkeypatch.setattr(kube_client, "connect", lambda *_a: cluster)
    monkeypatch.setattr(pods, "app_pods", lambda *_a: [pod("demo-web-1")])
    result = CliRunner().invoke(app, ["logs", "demo"])
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [f"demo-web-1 | {line}" for line in SHOWN]


def test_run_output_reaches_the_terminal_sanitised(monkeypatch: pytest.MonkeyPatch) -> None:
    """``shipway run``: the one-off pod's log, followed, and its exit code."""
    cluster = Cluster(LOG)
    cluster.exit_code = 3
    manifest = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "x", "namespace": "ns"}}

    def run(
        _target: Target, _command: list[str], emit: Callable[[str], None], timeout: float
    ) -> int:
        return pods.OneOff(cluster, manifest).run(emit, timeout)  # type: ignore[arg-type]

    monkeypatch.setattr(kube_client, "connect", lambda *_a: None)
    monkeypatch.setattr(operate, "run", run)
    result = CliRunner().invoke(app, ["run", "demo", "--", "sh", "-c", "evil"])
    assert result.exit_code == 3
    assert result.stdout.splitlines() == SHOWN


def test_a_log_line_that_never_ends_comes_in_bounded_pieces() -> None:
    def chunks() -> Iterator[bytes]:
        yield b"start\n"
        for _ in range(40):
            yield b"x" * 10_000  # 400 kB without a newline
        yield b"\nend"

    lines = list(logs.lines_of(httpx2.Response(200, content=chunks())))
    assert lines[0] == "start\n" and lines[-1] == "end\n"
    assert all(len(line) <= logs.MAX_LINE + 1 for line in lines)
    assert "".join(line[:-1] for line in lines[1:-1]) == "x" * 400_000


# -- rollout failures, build steps, progress: through the CLI's error path ---------------


def run_main(monkeypatch: pytest.MonkeyPatch, *args: str) -> int:
    monkeypatch.setattr(sys, "argv", ["shipway", *args])
    with pytest.raises(SystemExit) as exited:
        cli_main.main()
    return int(exited.value.code or 0)


def failed_rollout() -> str:
    """What the rollout says of a crashing pod: its newest warning event and log tail, as
    the cluster gave them (the core keeps them raw)."""
    event = SimpleNamespace(
        type="Warning",
        reason="BackOff\x1b[2J",
        message="Back-off \x1b]8;;https://evil.example/\x1b\\restarting\x1b]8;;\x1b\\ \u202eppa",
        lastTimestamp="2024-01-01T00:00:00Z",
        eventTime=None,
    )
    cluster = Cluster("boot\nTraceback\r\x1b[31mKeyError: 'SECRET_KEY'\x1b[0m\x07\n", [event])
    crashing = SimpleNamespace(
        metadata=SimpleNamespace(name="web-1"),
        spec=SimpleNamespace(containers=[SimpleNamespace(name="web")]),
    )
    workload = rollout.Workload("Deployment", "web")
    return rollout._diagnose(cluster, "ns", workload, "CrashLoopBackOff", crashing)  # type: ignore[arg-type]


def test_a_failed_rollouts_events_and_log_are_shown_sanitised(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    reason = failed_rollout()
    assert "\x1b" in reason  # raw from the core: the front end sanitises

    def deploy(*_args: Any) -> None:
        raise DeployFailed(reason, 4)

    monkeypatch.setattr("shipway.deploy.deploy", deploy)
    assert run_main(monkeypatch, "deploy", str(tmp_path)) == 1
    stderr = capsys.readouterr().err.lstrip("\n")  # the progress display's end
    assert stderr == (
        "error: Deployment web: CrashLoopBackOff; event: BackOff: Back-off restarting  ppa; "
        "log: boot | Traceback | KeyError: 'SECRET_KEY' \n"
    )


def test_json_output_escapes_control_characters(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    reason = failed_rollout()

    def deploy(*_args: Any) -> None:
        raise DeployFailed(reason, None)

    monkeypatch.setattr("shipway.deploy.deploy", deploy)
    assert run_main(monkeypatch, "deploy", str(tmp_path), "--json") == 1
    stdout = capsys.readouterr().out
    assert clean(stdout) and stdout.isascii()
    assert json.loads(stdout) == {"status": "failed", "reason": reason, "rolled_back_to": None}


def test_build_step_output_is_shown_sanitised(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """Build steps print as they run (progress lines) and their tail ends the error."""

    def run_pod(_command: list[str], emit: Callable[[str], None]) -> int:
        for hostile, _ in HOSTILE:
            emit(hostile)
        return 1

    def deploy(*args: Any) -> None:
        progress = args[5]  # deploy wires the build steps' output to progress.step
        buildsteps.build_layer(
            "sha256:" + "a" * 64, ["evil"], {}, run_pod, BlobStore(tmp_path), progress.step
        )

    monkeypatch.setenv("SHIPWAY_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr("shipway.deploy.deploy", deploy)
    assert run_main(monkeypatch, "deploy", str(tmp_path)) == 2
    lines = [line for line in capsys.readouterr().err.splitlines() if line]
    assert lines[: len(HOSTILE)] == [f"• {shown}".expandtabs() for _, shown in HOSTILE]
    assert lines[-1].startswith("error: a build step failed (exit code 1): clear  screen | ")
    # The tail's last escape is cut short: it takes nothing of the message after it.
    assert lines[-1].endswith(
        "| cut short 3; fix it and deploy again (the running release keeps serving)"
    )
    assert len(lines) == len(HOSTILE) + 1 and all(clean(line) for line in lines)


def test_a_transfer_label_is_not_markup(capsys: pytest.CaptureFixture[str]) -> None:
    with RichProgress() as progress:
        progress.transfer("base [/x] \x1b[2J", 10)(10)
    err = capsys.readouterr().err
    assert "base [/x]" in err and clean(err)


def test_errors_from_outside_are_printed_on_one_clean_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    def deploy(*_args: Any) -> None:
        raise ShipwayError("registry said: \x1b[1mdenied\x1b[0m\ninjected line\r\x1b[1A")

    monkeypatch.setattr("shipway.deploy.deploy", deploy)
    assert run_main(monkeypatch, "deploy", str(tmp_path)) == 2
    assert capsys.readouterr().err.lstrip("\n") == "error: registry said: denied injected line \n"
