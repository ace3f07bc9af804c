"""Where a web command listens: its port (fixed, or ``$PORT``) and the address it binds.

The probe and the Service must use the port the app really listens on, and a server
bound to 127.0.0.1 cannot be reached through a Service at all. ``Listen`` is what a
server's parser (``servers``, ``gunicorn``, ``hypercorn``) finds; the helpers here are
what those parsers share: options, addresses, ports.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field
from pathlib import Path

from shipway.detect.shell import PORT_REF, UNKNOWN
from shipway.errors import SpecError, excerpt


@dataclass(frozen=True)
class Context:
    """What a server parser may consult: the app's files and its declared env vars."""

    app_dir: Path
    env: dict[str, str]
    #: Where the command was written, for errors (``Procfile``, ``railway.json``…).
    origin: str
    depth: int = 0


@dataclass(frozen=True)
class Listen:
    server: str
    #: A fixed port: written in the command or config, or the server's default.
    port: int | None = None
    #: ``port`` is the server's default, not written anywhere.
    default_port: bool = False
    #: Listens on ``$PORT``, which Shipway sets to the plan's port.
    reads_port: bool = False
    #: The address bound (``0.0.0.0``, ``::``, ``127.0.0.1``); ``None`` when unknown.
    host: str | None = None
    workers: int | None = None
    #: The file whose source may name the port (``python app.py``).
    script: str | None = None
    #: How to make this server listen on every interface, for warnings.
    fix: str = "--host 0.0.0.0 --port $PORT"
    notes: tuple[str, ...] = field(default=())

    @property
    def loopback(self) -> bool:
        return self.host is not None and is_loopback(self.host)


def is_loopback(host: str) -> bool:
    if host.lower() in ("localhost", "ip6-localhost"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def options(args: list[str], valued: frozenset[str]) -> tuple[list[tuple[str, str]], list[str]]:
    """``(option, value)`` pairs and positional args; ``valued`` options take a value
    (``-b X``, ``-bX``, ``--bind X``, ``--bind=X``); other options are flags."""
    pairs: list[tuple[str, str]] = []
    positional: list[str] = []
    index = 0
    while index < len(args):
        arg = args[index]
        index += 1
        if arg == "--":
            positional += args[index:]
            break
        name, eq, value = arg.partition("=")
        if arg.startswith("--") and eq:
            pairs.append((name, value))
        elif arg in valued and index < len(args):
            pairs.append((arg, args[index]))
            index += 1
        elif len(arg) > 2 and arg[0] == "-" and arg[1] != "-" and arg[:2] in valued:
            pairs.append((arg[:2], arg[2:]))
        elif arg.startswith("-") and len(arg) > 1:
            pairs.append((arg, ""))
        else:
            positional.append(arg)
    return pairs, positional


def last(pairs: list[tuple[str, str]], *names: str) -> str | None:
    values = [value for name, value in pairs if name in names]
    return values[-1] if values else None


def every(pairs: list[tuple[str, str]], *names: str) -> list[str]:
    return [value for name, value in pairs if name in names]


def split_address(address: str, default_port: str) -> tuple[str, str]:
    """``host:port`` → (host, port): ``[::]:80``, ``:80``, ``0.0.0.0``, ``$PORT`` forms."""
    if address.startswith("tcp://"):
        address = address[len("tcp://") :]
    if address.startswith("["):
        host, _, rest = address[1:].partition("]")
        return host, rest.removeprefix(":") or default_port
    if address.count(":") > 1:  # a bare IPv6 address
        return address, default_port
    host, colon, port = address.rpartition(":")
    if not colon:
        return address, default_port
    return host, port or default_port


def not_tcp(ctx: Context, server: str, address: str, field: str = "processes.web") -> SpecError:
    return SpecError(
        ctx.origin,
        field,
        f"{server} listens on '{excerpt(address, 60)}', not a TCP port, "
        "which a Service cannot reach",
        "listen on 0.0.0.0:$PORT instead",
    )


@dataclass(frozen=True)
class Bound:
    """How a server with ``bind`` addresses reads them."""

    default_port: str
    fix: str
    workers: int | None = None
    #: The field errors name: the command's, or a config file's ``bind``.
    field: str = "processes.web"


def bound(server: str, binds: list[str], ctx: Context, how: Bound) -> Listen:
    """A server listening on every ``host:port`` of ``binds``; the probe needs one a
    Service can reach, so the first that is not loopback (else the first)."""
    addresses = []
    for bind in binds:
        if bind.startswith(("unix:", "fd://")):
            raise not_tcp(ctx, server, bind, how.field)
        addresses.append(split_address(bind, how.default_port))
    reachable = [a for a in addresses if not is_loopback(a[0])] or addresses
    host, port = reachable[0]
    return port_listen(server, host or "0.0.0.0", port, how.fix, workers=how.workers)


def port_listen(
    server: str,
    host: str | None,
    port: str | None,
    fix: str,
    default: str = "",
    workers: int | None = None,
) -> Listen:
    """A ``Listen`` from a host and port as written (digits, ``$PORT`` or unknowable);
    ``port`` ``None``: the server's ``default``."""
    host = None if host is None or UNKNOWN in host else host
    if port == PORT_REF:
        return Listen(server, reads_port=True, host=host, workers=workers, fix=fix)
    number = port_number(port if port is not None else default)
    return Listen(server, number, port is None, host=host, workers=workers, fix=fix)


def int_value(text: str | None) -> int | None:
    """A small decimal count (workers), or ``None``."""
    return int(text) if text is not None and re.fullmatch(r"[0-9]{1,4}", text) else None


def port_number(text: str) -> int | None:
    """A TCP port written in decimal, or ``None``."""
    number = int(text) if re.fullmatch(r"[0-9]{1,5}", text) else 0
    return number if 0 < number < 65536 else None
