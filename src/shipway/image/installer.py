"""uv, run for the image's Python: installs, the retry that compiles, and their errors.

The first install forbids building from source (``--no-build``): a wheel built here
with this machine's Python would not fit another target, and ``uv`` would not notice.
When a package has no wheel for the target, it is compiled only with a Python of the
target's version found on this machine (this one, or ``python3.X`` on the ``PATH``)
that has its C headers, with a C compiler, on the target's architecture. Otherwise the
build stops with one line naming the file that asks for the package and the fix: its
binary alternative when there is a well-known one (``psycopg2`` → ``psycopg2-binary``),
else ``--builder docker``.

Where packages come from is the app's choice alone (``reqfiles``): uv runs with
``--index-strategy first-index`` whatever the environment says, and reads no uv
configuration from the directories above its working directory (a ``uv.toml`` planted in
``/tmp`` would otherwise choose the index of every build); the operator's own
``~/.config/uv/uv.toml`` and ``UV_*`` variables still apply. Its messages are shown with
URL credentials hidden.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from shipway.errors import ShipwayError
from shipway.image.reqfiles import Requirements, normalise, redact
from shipway.image.target import Target

#: The marks uv draws around its error messages.
UV_DECORATION = " \u00d7\u2570\u2500\u25b6\u2502"
NO_WHEEL = (
    re.compile(r"Wheels are required for `([A-Za-z0-9._-]+)`"),
    re.compile(r"([A-Za-z0-9._-]+)(?:[=<>!~]=?[^\s]*)? has no usable wheels"),
    re.compile(r"Building source distributions for `?([A-Za-z0-9._-]+)`? is disabled"),
)
#: Packages people install from source without meaning to, and what ships wheels instead.
BINARY_ALTERNATIVES = {
    "psycopg2": "use psycopg2-binary instead",
    "psycopg": "ask for psycopg[binary] instead",
    "mysqlclient": "use PyMySQL instead (pymysql.install_as_MySQLdb() keeps Django working)",
    "mysql-python": "use PyMySQL instead (pymysql.install_as_MySQLdb())",
    "uwsgi": "run gunicorn instead (uWSGI publishes no wheels)",
    "pycrypto": "use pycryptodome instead",
    "pylibmc": "use pymemcache instead",
}
#: An installed uv's metadata directory, as wheel installers name it.
_DIST_INFO = re.compile(r"uv-[0-9][0-9A-Za-z.+!]*\.dist-info")
PROBE = "import sys, sysconfig; print('%d.%d' % sys.version_info[:2]); print(sysconfig.get_paths()['include'])"  # noqa: E501


def uv() -> str:
    from uv import find_uv_bin  # noqa: PLC0415  (a dependency; imported only when building)

    return str(find_uv_bin())


def uv_version() -> str:
    """uv's version, part of cache keys, with no subprocess: from the name of the one
    ``uv-VERSION.dist-info`` beside the package (a directory listing), else from its
    metadata (which importlib.metadata finds by scanning the path and parsing, ~8 ms)."""
    spec = importlib.util.find_spec("uv")
    if spec is not None and spec.origin:
        site = Path(spec.origin).parent.parent
        found = [p.name for p in site.glob("uv-*.dist-info") if _DIST_INFO.fullmatch(p.name)]
        if len(found) == 1:
            return f"uv {found[0][3:-10]}"
    try:
        return f"uv {importlib.metadata.version('uv')}"
    except importlib.metadata.PackageNotFoundError:
        return uv()


def run(command: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run uv in ``cwd``, a directory of Shipway's own making."""
    # uv must never fetch a Python interpreter: only package indexes are reachable.
    env = {**os.environ, "UV_PYTHON_DOWNLOADS": "never", "UV_NO_PROGRESS": "1"}
    # uv takes the nearest uv.toml or pyproject.toml above its working directory as the
    # project's configuration: an empty one here ends that search.
    (cwd / "uv.toml").touch()
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, check=False)


def base_command(target: Target, root: Path) -> list[str]:
    return [
        uv(), "pip", "install", "--quiet", "--target", str(root),
        "--python-version", target.python_version, "--python-platform", target.platform,
        "--index-strategy", "first-index",
    ]  # fmt: skip


def install(args: list[str], req: Requirements, target: Target, root: Path, cwd: Path) -> None:
    """``uv pip install`` of ``args`` (``-r file`` …) into ``root``, for ``target``."""
    command = [*base_command(target, root), *args]
    first = run([*command, "--python", sys.executable, "--no-build"], cwd)
    if first.returncode == 0:
        return
    package = no_wheel(first.stderr)
    if package is None:
        raise failed(req.source, first.stderr)
    python = builder_python(target)
    if python is None:
        raise _cannot_compile(req, package, target)
    second = run([*command, "--python", python], cwd)
    if second.returncode != 0:
        raise failed(req.source, second.stderr)


def no_wheel(stderr: str) -> str | None:
    """The package uv needs a wheel of and found none, if that is why it failed."""
    for pattern in NO_WHEEL:
        match = pattern.search(stderr)
        if match:
            return normalise(match.group(1))
    return None


def builder_python(target: Target) -> str | None:
    """A Python of the target's version with its headers, if this machine can compile."""
    if os.uname().machine != target.machine or not _compiler():
        return None
    host = f"{sys.version_info.major}.{sys.version_info.minor}"
    candidates = [sys.executable] if host == target.python_version else []
    found = shutil.which(f"python{target.python_version}")
    candidates += [found] if found else []
    return next((c for c in candidates if _has_headers(c, target.python_version)), None)


def _compiler() -> str | None:
    return shutil.which(os.environ.get("CC") or "cc") or shutil.which("gcc")


def _has_headers(python: str, version: str) -> bool:
    try:
        probe = subprocess.run(
            [python, "-c", PROBE], capture_output=True, text=True, timeout=20, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    lines = probe.stdout.split()
    return (
        probe.returncode == 0
        and len(lines) == 2
        and lines[0] == version
        and (Path(lines[1]) / "Python.h").is_file()
    )


def _cannot_compile(req: Requirements, package: str, target: Target) -> ShipwayError:
    where = req.origins.get(package, req.source)
    fix = BINARY_ALTERNATIVES.get(package)
    fix = f"{fix}, or build with --builder docker" if fix else (
        "build with --builder docker, or pick a version of it that has wheels"
    )  # fmt: skip
    return ShipwayError(
        f"{where}: {package} has no wheel for Python {target.python_version} on "
        f"{target.platform} and this machine has no Python {target.python_version} with "
        f"headers and a C compiler to build it; {fix}"
    )


def failed(source: str, stderr: str) -> ShipwayError:
    return ShipwayError(f"{source}: installing the dependencies failed: {last_line(stderr)}")


def last_line(text: str) -> str:
    """uv's reason on one line: its sentence from "Because", else the last line."""
    lines = [redact(line).strip(UV_DECORATION) for line in text.splitlines()]
    lines = [line for line in lines if line and not line.startswith("hint")]
    joined = " ".join(lines)
    if "Because" in joined:
        return joined[joined.index("Because") :][:300]
    return (lines or ["no output"])[-1][:300]
