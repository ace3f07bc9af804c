"""Where each Python web server listens, given its options (defaults from its own source).

| server | options read | default when not given |
|---|---|---|
| uvicorn | ``--host``, ``--port``, ``--uds``/``--fd`` (error) | 127.0.0.1:8000 |
| hypercorn | ``-b``/``--bind``, ``-c`` (TOML or Python) | 127.0.0.1:8000 |
| daphne | ``-b`` host, ``-p`` port, ``-e tcp:port=…``, ``-u`` (error) | 127.0.0.1:8000 |
| granian | ``--host``, ``--port``, ``--uds`` (error) | 127.0.0.1:8000 |
| waitress-serve | ``--host``, ``--port``, ``--listen`` | 0.0.0.0:8080 |
| flask run | ``--host``/``-h``, ``--port``/``-p``, ``FLASK_RUN_*`` | 127.0.0.1:5000 |
| fastapi run/dev | ``--host``, ``--port`` (or ``$PORT``) | 0.0.0.0 (dev: 127.0.0.1):8000 |
| streamlit run | ``--server.address``, ``--server.port`` | all addresses:8501 |
| python -m http.server | port argument, ``-b`` | all addresses:8000 |
| manage.py runserver | ``addr:port`` argument | 127.0.0.1:8000 |
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import replace

from shipway.detect import files, gunicorn, hypercorn
from shipway.detect.gunicorn import IMAGE_APP_DIR
from shipway.detect.listen import (
    Context,
    Listen,
    every,
    int_value,
    is_loopback,
    last,
    not_tcp,
    options,
    port_listen,
    port_number,
    split_address,
)
from shipway.detect.shell import SHELLS, Simple, simple_commands

HOST_PORT_FIX = "--host 0.0.0.0 --port $PORT"
MAX_SCRIPT_DEPTH = 2
EXEC_FORM = (
    "{}: the web command is an exec-form list, so no shell expands $PORT; "
    "write it as one string, or use $(PORT)"
)
Parser = Callable[[Simple, Context], Listen | None]


def analyse(command: str | list[str], ctx: Context) -> Listen | None:
    """The last server the command starts (the web one: ``migrate && gunicorn``)."""
    found: list[Listen] = []
    for simple in simple_commands(command):
        listen = listen_of(simple, ctx) or _script(simple, ctx)
        inline_port = port_number(simple.env.get("PORT", ""))
        if listen is not None and listen.reads_port and inline_port:  # PORT=8081 gunicorn …
            listen = replace(listen, port=inline_port, reads_port=False)
        if listen is not None:
            found.append(
                replace(listen, notes=(EXEC_FORM.format(ctx.origin),))
                if simple.literal_port
                else listen
            )
    servers_found = [listen for listen in found if listen.server != "python"]
    chosen = servers_found or found
    return chosen[-1] if chosen else None


def _script(simple: Simple, ctx: Context) -> Listen | None:
    """A shell script of the app (``bin/start-web``, ``sh start.sh``), read for its server."""
    shell = simple.program in SHELLS and simple.args
    path = simple.args[0] if shell else (simple.path if "/" in simple.path else None)
    if path is None or ctx.depth >= MAX_SCRIPT_DEPTH:
        return None
    text = files.source(ctx.app_dir, path.removeprefix(IMAGE_APP_DIR).removeprefix("./"))
    if not text or not _is_shell(text):
        return None
    return analyse(text, replace(ctx, depth=ctx.depth + 1, origin=path))


def _is_shell(text: str) -> bool:
    first = text.split("\n", 1)[0]
    return not first.startswith("#!") or bool(re.search(r"\b(sh|bash|dash)\b", first))


def listen_of(simple: Simple, ctx: Context) -> Listen | None:
    """What the server ``simple`` runs does, or ``None`` if it is no server Shipway knows."""
    parser = PARSERS.get(simple.program.removeprefix("-m "))
    if parser is not None:
        return parser(simple, ctx)
    if simple.program.startswith("-m "):
        return _module(simple.program.removeprefix("-m "), ctx)
    if simple.program == "python":
        return _python(simple, ctx)
    return None


def _env(simple: Simple, ctx: Context, name: str) -> str | None:
    return simple.env.get(name) or ctx.env.get(name)


def _host_port(
    simple: Simple, ctx: Context, spec: tuple[str, str, str, str], valued: frozenset[str]
) -> Listen:
    """Servers with ``--host``/``--port``: ``spec`` is (name, env prefix, host, port)."""
    name, prefix, host, port = spec
    pairs, _ = options(simple.args, valued)
    socket = last(pairs, "--uds", "--fd", "--unix-socket")
    if socket is not None:
        raise not_tcp(ctx, name, socket)
    host = last(pairs, "--host") or _env(simple, ctx, f"{prefix}_HOST") or host
    given = last(pairs, "--port") or _env(simple, ctx, f"{prefix}_PORT")
    workers = int_value(last(pairs, "--workers"))
    return port_listen(name, host, given, HOST_PORT_FIX, port, workers)


def _uvicorn(simple: Simple, ctx: Context) -> Listen:
    valued = frozenset({"--host", "--port", "--uds", "--fd", "--workers", "--app-dir"})
    return _host_port(simple, ctx, ("uvicorn", "UVICORN", "127.0.0.1", "8000"), valued)


def _granian(simple: Simple, ctx: Context) -> Listen:
    valued = frozenset({"--host", "--port", "--uds", "--workers", "--interface"})
    return _host_port(simple, ctx, ("granian", "GRANIAN", "127.0.0.1", "8000"), valued)


def _daphne(simple: Simple, ctx: Context) -> Listen:
    valued = frozenset({"-b", "--bind", "-p", "--port", "-u", "--unix-socket", "--fd", "-e",
                        "--endpoint", "-v", "--verbosity"})  # fmt: skip
    pairs, _ = options(simple.args, valued)
    socket = last(pairs, "-u", "--unix-socket", "--fd")
    host, port = last(pairs, "-b", "--bind"), last(pairs, "-p", "--port")
    endpoints = [_endpoint(e) for e in every(pairs, "-e", "--endpoint")]
    tcp = [e for e in endpoints if e is not None]
    if host is None and port is None and (tcp or socket or endpoints):
        if not tcp:
            raise not_tcp(ctx, "daphne", socket or "an endpoint")
        host, port = tcp[0]
    return port_listen("daphne", host or "127.0.0.1", port, "-b 0.0.0.0 -p $PORT", "8000")


def _endpoint(text: str) -> tuple[str, str] | None:
    """Twisted's ``tcp:port=8000:interface=0.0.0.0`` (or ``tcp:8000``) → (host, port)."""
    kind, _, rest = text.partition(":")
    if kind != "tcp":
        return None
    fields = dict(part.partition("=")[::2] for part in rest.split(":") if "=" in part)
    bare = [part for part in rest.split(":") if "=" not in part]
    return fields.get("interface", "0.0.0.0"), fields.get("port") or (bare[0] if bare else "")


def _waitress(simple: Simple, ctx: Context) -> Listen:
    valued = frozenset({"--host", "--port", "--listen", "--unix-socket", "--threads"})
    pairs, _ = options(simple.args, valued)
    socket = last(pairs, "--unix-socket")
    if socket is not None:
        raise not_tcp(ctx, "waitress", socket)
    fix = "--listen=*:$PORT"
    listens = [split_address(item, "8080") for item in every(pairs, "--listen")]
    if listens:
        reachable = [item for item in listens if not is_loopback(item[0])] or listens
        host, port = reachable[0]
        return port_listen("waitress", "0.0.0.0" if host == "*" else host, port, fix)
    host = last(pairs, "--host") or "0.0.0.0"
    return port_listen("waitress", host, last(pairs, "--port"), fix, "8080")


def _flask(simple: Simple, ctx: Context) -> Listen | None:
    valued = frozenset({"--app", "-A", "--env-file", "-e", "--host", "-h", "--port", "-p",
                        "--cert", "--key", "--extra-files", "--exclude-patterns"})  # fmt: skip
    pairs, positional = options(simple.args, valued)
    if positional[:1] != ["run"]:
        return None
    host = last(pairs, "--host", "-h") or _env(simple, ctx, "FLASK_RUN_HOST") or "127.0.0.1"
    port = last(pairs, "--port", "-p") or _env(simple, ctx, "FLASK_RUN_PORT")
    return port_listen("flask run", host, port, HOST_PORT_FIX, "5000")


def _fastapi(simple: Simple, ctx: Context) -> Listen | None:
    """``fastapi run`` reads ``PORT`` itself (fastapi-cli ≥ 0.0.6; older ones use 8000)."""
    pairs, positional = options(simple.args, frozenset({"--host", "--port", "--app", "--workers"}))
    if positional[:1] not in (["run"], ["dev"]):
        return None
    default_host = "0.0.0.0" if positional[0] == "run" else "127.0.0.1"
    host = last(pairs, "--host") or default_host
    port = last(pairs, "--port")
    if port is None:
        return Listen("fastapi", 8000, True, reads_port=True, host=host, fix=HOST_PORT_FIX)
    return port_listen("fastapi", host, port, HOST_PORT_FIX)


def _streamlit(simple: Simple, ctx: Context) -> Listen | None:
    pairs, positional = options(simple.args, frozenset({"--server.port", "--server.address"}))
    if positional[:1] != ["run"]:
        return None
    host = last(pairs, "--server.address") or _env(simple, ctx, "STREAMLIT_SERVER_ADDRESS")
    port = last(pairs, "--server.port") or _env(simple, ctx, "STREAMLIT_SERVER_PORT")
    fix = "--server.address 0.0.0.0 --server.port $PORT"
    return port_listen("streamlit", host or "0.0.0.0", port, fix, "8501")


def _http_server(simple: Simple, ctx: Context) -> Listen:
    valued = frozenset({"-b", "--bind", "-d", "--directory", "-p", "--protocol"})
    pairs, positional = options(simple.args, valued)
    host = last(pairs, "-b", "--bind") or "0.0.0.0"
    port = positional[0] if positional else None
    return port_listen("http.server", host, port, "--bind 0.0.0.0", "8000")


def _runserver(args: list[str]) -> Listen:
    valued = frozenset({"--settings", "--pythonpath", "-v", "--verbosity"})
    pairs, positional = options(args, valued)
    ipv6 = any(name in ("-6", "--ipv6") for name, _ in pairs)
    default_host = "::1" if ipv6 else "127.0.0.1"
    address = positional[1] if len(positional) > 1 else ""
    host, port = split_address(address, "8000") if ":" in address else ("", address or None)
    host = "0.0.0.0" if host == "0" else host or default_host
    return port_listen("runserver", host, port, "runserver 0.0.0.0:$PORT", "8000")


def _python(simple: Simple, ctx: Context) -> Listen | None:
    """``python app.py`` (its source may name a port) or ``python manage.py runserver``."""
    script = simple.args[0] if simple.args else None
    if script is None or not script.endswith(".py"):
        return None
    if script.endswith("manage.py") and simple.args[1:2] == ["runserver"]:
        return _runserver(simple.args[1:])
    return Listen("python", script=script.removeprefix("./"))


def _module(module: str, ctx: Context) -> Listen:
    """``python -m pkg``: the file that runs, whose source may name the port."""
    path = module.replace(".", "/")
    candidates = (f"{path}/__main__.py", f"{path}.py", f"src/{path}/__main__.py", f"src/{path}.py")
    found = [rel for rel in candidates if files.inside(ctx.app_dir, ctx.app_dir / rel)]
    return Listen("python", script=found[0] if found else None)


def _django_admin(simple: Simple, ctx: Context) -> Listen | None:
    return _runserver(simple.args) if simple.args[:1] == ["runserver"] else None


PARSERS: dict[str, Parser] = {
    "gunicorn": gunicorn.listen,
    "uvicorn": _uvicorn,
    "hypercorn": hypercorn.listen,
    "daphne": _daphne,
    "granian": _granian,
    "waitress-serve": _waitress,
    "waitress": _waitress,
    "flask": _flask,
    "fastapi": _fastapi,
    "streamlit": _streamlit,
    "http.server": _http_server,
    "django-admin": _django_admin,
}
