"""The proc-receive hook speaks git's pkt-line protocol to receive-pack and JSON lines to
the server's socket: run as git runs it (a process, pkt-lines in and out), against a
real Unix socket."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
from pathlib import Path

from shipway import githook

OLD, NEW = "0" * 40, "a" * 40


def packet(text: str) -> bytes:
    return b"%04x%s" % (len(text) + 4, text.encode())


def receive_pack_says(*refs: str) -> bytes:
    """What receive-pack sends the hook: version and features, then the updates."""
    updates = b"".join(packet(f"{OLD} {NEW} {ref}") for ref in refs)
    return packet("version=1\0push-options atomic") + b"0000" + updates + b"0000"


def run_hook(sock: Path, refs: tuple[str, ...]) -> tuple[list[str], str]:
    done = subprocess.run(
        [sys.executable, "-I", githook.__file__],
        input=receive_pack_says(*refs),
        env={"SHIPWAY_HOOK_SOCKET": str(sock), "SHIPWAY_HOOK_TOKEN": "t0ken"},
        capture_output=True,
        timeout=30,
        check=True,
    )
    out, answers = done.stdout, []
    while out:
        size = int(out[:4], 16)
        answers.append("" if size == 0 else out[4:size].decode())
        out = out[max(size, 4) :]
    return answers, done.stderr.decode()


def test_the_hook_relays_the_servers_words_and_results(tmp_path: Path) -> None:
    sock = tmp_path / "hook.sock"
    asked: list[dict[str, object]] = []
    with socket.socket(socket.AF_UNIX) as server:
        server.bind(str(sock))
        server.listen()

        def answer() -> None:
            conn, _ = server.accept()
            with conn, conn.makefile("rwb") as stream:
                asked.append(json.loads(stream.readline()))
                for said in (
                    {"say": "deploying"},
                    {"results": [["refs/heads/main", None], ["refs/tags/v1", "only main"]]},
                ):
                    stream.write(json.dumps(said).encode() + b"\n")
                    stream.flush()

        thread = threading.Thread(target=answer)
        thread.start()
        answers, said = run_hook(sock, ("refs/heads/main", "refs/tags/v1"))
        thread.join()
    assert asked == [
        {
            "token": "t0ken",
            "commands": [[OLD, NEW, "refs/heads/main"], [OLD, NEW, "refs/tags/v1"]],
        }
    ]
    assert answers == ["version=1\0", "", "ok refs/heads/main", "ng refs/tags/v1 only main", ""]
    assert said == "deploying\n"


def test_without_the_server_every_ref_is_refused_with_why(tmp_path: Path) -> None:
    answers, _ = run_hook(tmp_path / "nobody.sock", ("refs/heads/main",))
    assert answers[2] == "ng refs/heads/main the server's hook socket failed (FileNotFoundError)"
