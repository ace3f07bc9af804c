"""git's ``proc-receive`` hook for the server's repositories (issue 13), run by
``git receive-pack`` for every ref a push updates: it hands the updates to the server
through the server's hook socket, prints what the server says (git shows it as
``remote:`` lines), and reports each ref accepted or rejected with the server's reason.
The server, not this hook, deploys and moves the branch.

This file is copied into the server's hooks directory and run by the server's own
Python in isolated mode (``-I``), so it imports nothing but the standard library. The
socket and the push's one-time token come from the environment the server gave
``git http-backend``."""

from __future__ import annotations

import json
import os
import socket
import sys
from typing import BinaryIO

#: The longest line the server may send (a ``remote:`` line, a result).
MAX_LINE = 64 * 1024


def read_packet(stream: BinaryIO) -> bytes | None:
    """One pkt-line's payload; None for a flush packet (or the end of input)."""
    size = stream.read(4)
    if len(size) < 4 or size == b"0000":
        return None
    return stream.read(int(size, 16) - 4)


def write_packet(stream: BinaryIO, payload: bytes | None) -> None:
    stream.write(b"0000" if payload is None else b"%04x%s" % (len(payload) + 4, payload))


def negotiate(given: BinaryIO, out: BinaryIO) -> None:
    """Version 1, no features (no push options, no atomic pushes)."""
    while read_packet(given) is not None:
        pass
    write_packet(out, b"version=1\0")
    write_packet(out, None)
    out.flush()


def commands(given: BinaryIO) -> list[list[str]]:
    found = []
    while (packet := read_packet(given)) is not None:
        found.append(packet.decode("utf-8", "replace").rstrip("\n").split(" ", 2))
    return found


def ask_server(updates: list[list[str]]) -> list[list[str | None]]:
    """Send the updates; print what the server says; its result per ref."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
        conn.connect(os.environ["SHIPWAY_HOOK_SOCKET"])
        asked = {"token": os.environ["SHIPWAY_HOOK_TOKEN"], "commands": updates}
        conn.sendall(json.dumps(asked).encode() + b"\n")
        for line in conn.makefile("rb"):
            said = json.loads(line[:MAX_LINE])
            if "say" in said:
                sys.stderr.write(f"{said['say']}\n")
                sys.stderr.flush()
            elif "results" in said:
                return list(said["results"])
    return [[ref, "the server stopped answering"] for _old, _new, ref in updates]


def main() -> int:
    given, out = sys.stdin.buffer, sys.stdout.buffer
    negotiate(given, out)
    updates = commands(given)
    try:
        results = ask_server(updates)
    except (OSError, ValueError, KeyError) as exc:
        reason = f"the server's hook socket failed ({type(exc).__name__})"
        results = [[ref, reason] for _old, _new, ref in updates]
    return report(out, results)


def report(out: BinaryIO, results: list[list[str | None]]) -> int:
    for ref, reason in results:
        said = f"ok {ref}" if reason is None else f"ng {ref} {reason}"
        write_packet(out, said.encode())
    write_packet(out, None)
    out.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
