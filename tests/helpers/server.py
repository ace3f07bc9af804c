"""A real ``shipway server`` process on 127.0.0.1, as users run it: started with the
CLI, set up with ``shipway server init``, reached over HTTP."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx2

ADMIN = "admin@example.com"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class RunningServer:
    url: str
    state_dir: Path
    database: str | None
    admin_token: str
    process: subprocess.Popen[bytes]
    log: Path
    env: dict[str, str] = field(default_factory=dict)

    def api(
        self, method: str, path: str, token: str | None = None, **kwargs: Any
    ) -> httpx2.Response:
        """One request to ``/api/v1{path}`` with ``token`` (default: the admin's)."""
        headers = dict(kwargs.pop("headers", {}))
        if token is None:
            token = self.admin_token
        if token:
            headers["Authorization"] = f"Bearer {token}"
        return httpx2.request(
            method, f"{self.url}/api/v1{path}", headers=headers, timeout=600, **kwargs
        )

    def logs(self) -> str:
        return self.log.read_text(errors="replace")


def _args(state_dir: Path, database: str | None) -> list[str]:
    return ["--state-dir", str(state_dir), *(["--database", database] if database else [])]


@contextmanager
def running_server(
    state_dir: Path, database: str | None = None, env: dict[str, str] | None = None, *extra: str
) -> Iterator[RunningServer]:
    """Initialise (first admin ``ADMIN``) and start a server; stop it at the end."""
    environ = {**os.environ, **(env or {})}
    init = subprocess.run(
        [
            sys.executable,
            "-m",
            "shipway",
            "server",
            "init",
            "--email",
            ADMIN,
            "--json",
            *_args(state_dir, database),
        ],
        capture_output=True,
        text=True,
        env=environ,
        timeout=120,
        check=True,
    )
    token = json.loads(init.stdout)["token"]
    with start(state_dir, database, environ, *extra) as server:
        server.admin_token = token
        yield server


@contextmanager
def start(
    state_dir: Path, database: str | None, environ: dict[str, str], *extra: str
) -> Iterator[RunningServer]:
    """Start a server on an initialised state (again, after a stop: a restart)."""
    port = free_port()
    log = state_dir / f"server-{port}.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "shipway",
                "server",
                "--port",
                str(port),
                *_args(state_dir, database),
                *list(extra),
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=environ,
        )
    server = RunningServer(f"http://127.0.0.1:{port}", state_dir, database, "", process, log)
    try:
        _wait_healthy(server)
        yield server
    finally:
        stop(server)


def stop(server: RunningServer, hard: bool = False) -> None:
    if server.process.poll() is None:
        server.process.send_signal(signal.SIGKILL if hard else signal.SIGTERM)
        try:
            server.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.process.kill()
            server.process.wait()


def _wait_healthy(server: RunningServer, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"the server exited ({server.process.returncode}):\n{server.logs()}")
        try:
            if httpx2.get(f"{server.url}/api/v1/health", timeout=2).status_code == 200:
                return
        except httpx2.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"the server did not answer in {timeout} s:\n{server.logs()}")
