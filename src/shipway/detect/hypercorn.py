"""hypercorn: ``-b``/``--bind`` options, or the ``bind`` of its ``-c`` config file.

The config is TOML (``-c hypercorn.toml``) or Python (``-c python:module`` or
``file:conf.py``, read statically); with no bind anywhere hypercorn listens on
127.0.0.1:8000, which a Service cannot reach.
"""

from __future__ import annotations

from typing import Any

from shipway.detect import files, pyconfig
from shipway.detect.listen import Bound, Context, Listen, bound, int_value, last, options
from shipway.detect.shell import Simple
from shipway.errors import SpecError

DEFAULT_BIND = "127.0.0.1:8000"
FIX = "--bind 0.0.0.0:$PORT"
VALUED = frozenset({"-b", "--bind", "-c", "--config", "-w", "--workers", "-k", "--worker-class",
                    "--insecure-bind", "--quic-bind", "--root-path", "--log-level"})  # fmt: skip


def listen(simple: Simple, ctx: Context) -> Listen:
    pairs, _ = options(simple.args, VALUED)
    binds = [value for name, value in pairs if name in ("-b", "--bind")]
    config = last(pairs, "-c", "--config")
    if not binds and config is not None:
        binds = _config_binds(ctx, config)
        if binds is pyconfig.UNKNOWN:
            return Listen("hypercorn", fix=FIX)
    workers = int_value(last(pairs, "-w", "--workers"))
    return bound("hypercorn", binds or [DEFAULT_BIND], ctx, Bound("8000", FIX, workers))


def _config_binds(ctx: Context, reference: str) -> list[str] | Any:
    if reference.startswith("python:"):
        rel = reference.removeprefix("python:").replace(".", "/") + ".py"
    else:
        rel = reference.removeprefix("file:").removeprefix("./")
    source = files.source(ctx.app_dir, rel)
    if not source:
        return pyconfig.UNKNOWN
    if rel.endswith(".toml"):
        try:
            value = files.parse_toml(source, rel).get("bind")
        except SpecError:
            return pyconfig.UNKNOWN
    else:
        value = pyconfig.settings(source).get("bind")
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return value
    return [] if value is None else pyconfig.UNKNOWN
