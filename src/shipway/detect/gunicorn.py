"""gunicorn: its options, its config file, and where that makes it listen.

gunicorn reads ``./gunicorn.conf.py`` by default, or the file ``-c``/``--config`` names
(``PATH``, ``file:PATH`` or ``python:MODULE``); options on the command line win over the
file. With no ``bind`` anywhere it binds ``0.0.0.0:$PORT`` when ``PORT`` is set (its
``Bind`` setting's default), which Shipway always does.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from shipway.detect import files, pyconfig
from shipway.detect.listen import Bound, Context, Listen, bound, int_value, last, options
from shipway.detect.shell import Simple
from shipway.errors import SpecError, excerpt

DEFAULT_CONFIG = "gunicorn.conf.py"
DEFAULT_PORT = "8000"
#: Where the app's files are in the image: ``-c /app/x.py`` is the app's ``x.py``.
IMAGE_APP_DIR = "/app/"
FIX = "--bind 0.0.0.0:$PORT"
NO_APP = "name it as module:variable (e.g. gunicorn app:app) or set wsgi_app in gunicorn.conf.py"
VALUED = frozenset(
    {"-b", "--bind", "-w", "--workers", "-c", "--config", "-k", "--worker-class", "-t",
     "--timeout", "--threads", "--chdir", "--pythonpath", "-e", "--env", "-n", "--name",
     "-u", "--user", "-g", "--group", "-m", "--umask", "-p", "--pid", "--log-level",
     "--access-logfile", "--error-logfile", "--log-file", "--log-config", "--paste"}
)  # fmt: skip


@dataclass(frozen=True)
class ConfigFile:
    """What a gunicorn config file sets; ``None`` for a setting it does not set."""

    name: str | None = None
    bind: list[str] | Any = None
    workers: int | None = None
    wsgi_app: str | None = None


def listen(simple: Simple, ctx: Context) -> Listen:
    pairs, apps = options(simple.args, VALUED)
    config = read_config(ctx, last(pairs, "-c", "--config"))
    binds = [value for name, value in pairs if name in ("-b", "--bind")]
    workers = int_value(last(pairs, "-w", "--workers")) or config.workers
    if binds:
        found = bound("gunicorn", binds, ctx, Bound(DEFAULT_PORT, FIX, workers))
    elif config.bind is pyconfig.UNKNOWN:
        found = Listen("gunicorn", workers=workers, fix=FIX)
    elif config.bind:
        in_file = replace(ctx, origin=config.name or ctx.origin)
        found = bound("gunicorn", config.bind, in_file, Bound(DEFAULT_PORT, FIX, workers, "bind"))
    else:  # gunicorn's default when PORT is set
        found = Listen("gunicorn", reads_port=True, host="0.0.0.0", workers=workers, fix=FIX)
    if apps or config.wsgi_app or last(pairs, "--paste") is not None:
        return found
    return replace(found, notes=(f"{ctx.origin}: gunicorn is given no app; {NO_APP}",))


def read_config(ctx: Context, reference: str | None) -> ConfigFile:
    """The config file ``-c`` names, else ``gunicorn.conf.py`` if the app has one."""
    rel = _config_path(reference) if reference else DEFAULT_CONFIG
    if rel is None:
        return ConfigFile(bind=pyconfig.UNKNOWN)
    source = files.source(ctx.app_dir, rel)
    if not source:
        if reference and files.app_file(ctx.app_dir, rel) is None:
            raise SpecError(
                ctx.origin,
                "processes.web",
                f"gunicorn's config file '{excerpt(rel)}' is not in the app",
                "add it, or remove -c from the command",
            )
        return ConfigFile()
    values = pyconfig.settings(source)
    return ConfigFile(
        name=rel,
        bind=_binds(values.get("bind")),
        workers=values.get("workers") if isinstance(values.get("workers"), int) else None,
        wsgi_app=values.get("wsgi_app") if isinstance(values.get("wsgi_app"), str) else None,
    )


def _config_path(reference: str) -> str | None:
    """``python:pkg.conf`` → ``pkg/conf.py``; ``file:x.py`` or ``x.py`` → itself."""
    if reference.startswith("python:"):
        module = reference.removeprefix("python:")
        return module.replace(".", "/") + ".py" if module.replace(".", "").isidentifier() else None
    path = reference.removeprefix("file:").removeprefix("./").removeprefix(IMAGE_APP_DIR)
    return None if path.startswith("/") or ".." in path.split("/") else path


def _binds(value: Any) -> list[str] | Any:
    if value is None or value is pyconfig.UNKNOWN:
        return value
    if isinstance(value, str):
        value = [value]
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return [item.strip() for item in value]
    return pyconfig.UNKNOWN
