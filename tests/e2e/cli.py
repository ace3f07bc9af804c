"""Helpers of the e2e tests that drive the ``shipway`` command and the apps it deploys.

The command runs as a user runs it (a new process, its exit code, stdout and stderr); the
apps are reached by plain HTTP on the URL ``deploy`` printed.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

#: The ``new_app`` fixture: ``new_app(example, extra_yaml="")`` → (app directory, name).
NewApp = Callable[..., tuple[Path, str]]


#: Where the CLI runs: outside any git work tree, so ``shipway create`` in remote mode
#: never adds a remote to the checkout the tests run from.
NEUTRAL_CWD = Path(tempfile.mkdtemp(prefix="shipway-cli-"))


def run_shipway(
    env: dict[str, str], *args: str | Path, timeout: float = 600, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "shipway", *map(str, args)],
        cwd=NEUTRAL_CWD,
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def deploy(env: dict[str, str], app: Path, *extra: str, timeout: int = 240) -> dict[str, Any]:
    """``shipway deploy --json``: its JSON, with ``stderr`` and ``exit`` added."""
    result = run_shipway(env, "deploy", app, "--json", "--timeout", str(timeout), *extra)
    assert result.stdout, result.stderr
    data: dict[str, Any] = json.loads(result.stdout)
    data["stderr"], data["exit"] = result.stderr, result.returncode
    return data


def http(method: str, url: str, body: dict[str, Any] | None = None) -> tuple[int, Any]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, None


def tasks_at(url: str) -> list[str] | None:
    """The tasks the tasks example lists, or None while it does not answer 200."""
    try:
        status, body = http("GET", url)
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return None
    return [t["task"] for t in body["data"]] if status == 200 else None


def message_at(url: str) -> str | None:
    """The greeting of the hello example, or None while it does not answer."""
    try:
        return str(http("GET", url)[1]["message"])
    except (urllib.error.URLError, ConnectionError, TimeoutError, TypeError):
        return None


class RequestLoop(threading.Thread):
    """GETs ``url`` every 50 ms until stopped (at most 4000 requests or 10 minutes)."""

    def __init__(self, url: str):
        super().__init__(daemon=True)
        self.url, self.ok, self.failures = url, 0, []  # type: ignore[var-annotated]
        self._stop_event = threading.Event()

    def run(self) -> None:
        deadline = time.monotonic() + 600
        for _ in range(4000):
            if self._stop_event.is_set() or time.monotonic() > deadline:
                return
            try:
                status = http("GET", self.url)[0]
                if status == 200:
                    self.ok += 1
                else:
                    self.failures.append(status)
            except Exception as exc:
                self.failures.append(repr(exc))
            time.sleep(0.05)

    def stop(self) -> None:
        self._stop_event.set()
        self.join(15)
