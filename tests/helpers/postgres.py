"""A real PostgreSQL from Debian's binaries, for the tests that run against both databases.

``initdb`` into a temporary directory, ``postgres`` listening on 127.0.0.1 on a free port
with its Unix socket in that directory, a superuser with a random password (scram).
PostgreSQL refuses to run as root: as root it runs as the ``postgres`` user (Debian's
package makes it), or as a system user ``shipway-pg`` made once when there is none.
Each server under test gets a database of its own (``create_database``).
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import psycopg

USER = "shipway"
FALLBACK_OS_USER = "shipway-pg"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def binaries() -> Path:
    """The newest ``/usr/lib/postgresql/*/bin`` (hack/test.sh installs ``postgresql``)."""
    found = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/postgres"),
        key=lambda p: int(Path(p).parent.parent.name),
    )
    if not found:
        raise RuntimeError(
            "PostgreSQL is not installed: run hack/test.sh (it installs Debian's "
            "postgresql), or apt-get install postgresql"
        )
    return Path(found[-1]).parent


def _os_user() -> pwd.struct_passwd | None:
    """Whom PostgreSQL runs as: None (ourselves) unless we are root."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", FALLBACK_OS_USER):
        with contextlib.suppress(KeyError):
            return pwd.getpwnam(name)
    subprocess.run(
        [
            "useradd",
            "--system",
            "--no-create-home",
            "--shell",
            "/usr/sbin/nologin",
            FALLBACK_OS_USER,
        ],
        check=True,
        capture_output=True,
    )
    return pwd.getpwnam(FALLBACK_OS_USER)


@dataclass
class Postgres:
    directory: Path
    port: int
    password: str
    process: subprocess.Popen[bytes]
    _count: int = field(default=0)

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://{USER}:{self.password}@127.0.0.1:{self.port}/{database}"

    def create_database(self, prefix: str = "shipway") -> str:
        """A new, empty database; its ``postgresql://`` URL."""
        self._count += 1
        name = f"{prefix}_{self._count}_{secrets.token_hex(3)}"
        with psycopg.connect(self.url(), autocommit=True) as connection:
            connection.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def log(self) -> str:
        return (self.directory / "postgres.log").read_text(errors="replace")


def _run_as(user: pwd.struct_passwd | None) -> dict[str, object]:
    if user is None:
        return {}
    return {"user": user.pw_uid, "group": user.pw_gid, "extra_groups": []}


@contextlib.contextmanager
def running_postgres() -> Iterator[Postgres]:
    bin_dir = binaries()
    user = _os_user()
    directory = Path(tempfile.mkdtemp(prefix="shipway-pg-"))
    password = secrets.token_urlsafe(16)
    try:
        if user is not None:
            os.chown(directory, user.pw_uid, user.pw_gid)
        (directory / "pwfile").write_text(password + "\n")
        if user is not None:
            os.chown(directory / "pwfile", user.pw_uid, user.pw_gid)
        subprocess.run(
            [
                str(bin_dir / "initdb"),
                "-D",
                str(directory / "data"),
                "-U",
                USER,
                "--pwfile",
                str(directory / "pwfile"),
                "--auth-host=scram-sha-256",
                "--auth-local=scram-sha-256",
                "-E",
                "UTF8",
                "--locale=C",
                "--no-sync",
            ],
            check=True,
            capture_output=True,
            timeout=120,
            cwd=directory,
            **_run_as(user),  # type: ignore[arg-type]
        )
        port = free_port()
        with (directory / "postgres.log").open("wb") as log:
            if user is not None:
                os.chown(directory / "postgres.log", user.pw_uid, user.pw_gid)
            process = subprocess.Popen(
                [
                    str(bin_dir / "postgres"),
                    "-D",
                    str(directory / "data"),
                    "-h",
                    "127.0.0.1",
                    "-p",
                    str(port),
                    "-k",
                    str(directory),
                    # A test database: speed over durability.
                    "-c",
                    "fsync=off",
                    "-c",
                    "synchronous_commit=off",
                    "-c",
                    "full_page_writes=off",
                    "-c",
                    "max_connections=200",
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=directory,
                **_run_as(user),  # type: ignore[arg-type]
            )
        server = Postgres(directory, port, password, process)
        try:
            _wait_ready(server)
            yield server
        finally:
            _stop(process)
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def _wait_ready(server: Postgres, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"postgres exited ({server.process.returncode}):\n{server.log()}")
        try:
            with psycopg.connect(server.url(), connect_timeout=2):
                return
        except psycopg.OperationalError:
            time.sleep(0.1)
    raise RuntimeError(f"postgres did not answer in {timeout} s:\n{server.log()}")


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGINT)  # fast shutdown: disconnects clients
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
