"""Reading where a web server listens from its start-up log, and the fix to name."""

from __future__ import annotations

import pytest

from shipway.kube.listening import Bound, announced, misbound

GUNICORN = "[2026-12-01 09:53:38 +0000] [1] [INFO] Listening at: http://{}:{} (1)"
LOGS = {
    "gunicorn": GUNICORN,
    "uvicorn": "INFO:     Uvicorn running on http://{}:{} (Press CTRL+C to quit)",
    "flask": " * Running on http://{}:{}",
    "django": "Starting development server at http://{}:{}/",
    "daphne": "2026-12-01 INFO     Listening on TCP address {}:{}",
    "hypercorn": "[2026-12-01 09:00:00 +0000] [7] [INFO] Running on http://{}:{} (CTRL + C to quit)",
    "waitress": "INFO:waitress:Serving on http://{}:{}",
}


@pytest.mark.parametrize("server", sorted(LOGS))
def test_servers_announce_their_address(server: str) -> None:
    log = "starting\n" + LOGS[server].format("127.0.0.1", 8000) + "\nready\n"
    assert announced(log) == [Bound("127.0.0.1", 8000)]


@pytest.mark.parametrize(
    ("host", "port", "problem"),
    [
        ("0.0.0.0", 5000, None),
        ("[::]", 5000, None),
        ("10.244.0.7", 5000, None),
        ("127.0.0.1", 5000, "listens on 127.0.0.1:5000"),
        ("localhost", 5000, "bind 0.0.0.0:$PORT"),
        ("0.0.0.0", 8000, "make it listen on $PORT (5000), or set 'port: 8000'"),
        ("127.0.0.1", 8000, "make it listen on 0.0.0.0:$PORT"),
    ],
)
def test_a_server_bound_elsewhere_is_named_with_its_fix(
    host: str, port: int, problem: str | None
) -> None:
    found = misbound(GUNICORN.format(host, port), 5000)
    if problem is None:
        assert found is None
    else:
        assert found is not None and problem in found and "\n" not in found


def test_a_silent_log_says_nothing() -> None:
    assert misbound("booting\nconnected to the database on 10.0.0.3:5432\n", 5000) is None
    assert announced("") == []
