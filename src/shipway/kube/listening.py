"""Where a web process says it listens, read from its log, to explain a pod that never
answers on its port.

Kubernetes probes and the Service reach a pod on its own address and the port Shipway
set (``$PORT``). A server bound to 127.0.0.1, or to a port of its own choosing, never
answers there, and the only symptom is a probe timing out minutes later. Servers print
where they listen when they start (gunicorn's "Listening at", uvicorn's "running on",
Flask's and Django's development servers, daphne, hypercorn, waitress, granian), so the
log says what went wrong, and the fix can be named at once.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

#: A line announcing a listening socket, and the address in it.
ANNOUNCE = re.compile(
    r"(listening|running on|serving on|serving at|development server at|listen on|"
    r"started server on|bound to|uvicorn running|address)",
    re.IGNORECASE,
)
ADDRESS = re.compile(
    r"(?:https?://|tcp:|\b)(?P<host>\[[0-9a-fA-F:]*\]|localhost|\d{1,3}(?:\.\d{1,3}){3}|"
    r"[0-9a-fA-F]*::[0-9a-fA-F:]*)(?::|\s+port\s+)(?P<port>\d{2,5})\b",
)
WILDCARDS = {"0.0.0.0", "::", "[::]", "*", ""}
LOOPBACK = {"127.0.0.1", "localhost", "::1", "[::1]"}


@dataclass(frozen=True)
class Bound:
    host: str
    port: int

    def __str__(self) -> str:
        return f"{self.host}:{self.port}"


def announced(log: str) -> list[Bound]:
    """The addresses the log's start-up lines say the server listens on, in order."""
    found = []
    for line in log.splitlines()[:400]:
        if not ANNOUNCE.search(line):
            continue
        for match in ADDRESS.finditer(line[:500]):
            port = int(match.group("port"))
            if 0 < port < 65536:
                found.append(Bound(match.group("host"), port))
    return found


def misbound(log: str, port: int) -> str | None:
    """Why the pod cannot answer on ``port`` from outside, when its log shows it listens
    elsewhere; None when it listens where it should, or says nothing."""
    bound = announced(log)
    if not bound or any(b.port == port and b.host.strip("[]") not in LOOPBACK for b in bound):
        return None
    where = ", ".join(dict.fromkeys(str(b) for b in bound))
    if all(b.port == port for b in bound):
        fix = (
            "make it listen on every address: bind 0.0.0.0:$PORT (e.g. gunicorn --bind "
            "0.0.0.0:$PORT, uvicorn --host 0.0.0.0, flask run --host 0.0.0.0)"
        )
    elif all(b.host.strip("[]") not in LOOPBACK for b in bound):
        fix = f"make it listen on $PORT ({port}), or set 'port: {bound[0].port}' in shipway.yaml"
    else:
        fix = "make it listen on 0.0.0.0:$PORT (e.g. gunicorn --bind 0.0.0.0:$PORT)"
    return (
        f"the web process listens on {where} (its log says so), but Kubernetes reaches it "
        f"on port {port} of the pod's address; {fix}"
    )
