"""Bounded, contained reads of an app's files for detection.

Detection reads files the app's author wrote (and, once the server exists, anyone who
pushes): every read stays inside the app directory after symlinks are resolved and is
capped in size, and a file that cannot be parsed is a one-line ``SpecError``.
"""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Any

from shipway.errors import SpecError
from shipway.spec import yamlfile

MAX_BYTES = 256 * 1024
#: Requirement files pinned with hashes (``pip-compile --generate-hashes``) run long.
MAX_REQUIREMENTS_BYTES = 4 * 1024 * 1024


def inside(app_dir: Path, file: Path) -> bool:
    """Whether ``file``, symlinks resolved, is a regular file within ``app_dir``."""
    try:
        real = file.resolve()
        return real.is_relative_to(app_dir.resolve()) and real.is_file()
    except (OSError, RuntimeError, ValueError):  # a symlink loop, a NUL in the name
        return False


def app_file(app_dir: Path, rel: str) -> Path | None:
    """``app_dir/rel`` if it is a file; one that links outside the app is an error."""
    file = app_dir / rel
    if not file.is_file():
        return None
    if not inside(app_dir, file):
        raise SpecError(
            rel, None, "links outside the app directory", "copy the file into the app instead"
        )
    return file


def text(app_dir: Path, rel: str, limit: int = MAX_BYTES) -> str | None:
    """The UTF-8 text of ``rel``, or ``None`` when the app has no such file."""
    file = app_file(app_dir, rel)
    return None if file is None else read(file, rel, limit)


def read(file: Path, label: str, limit: int = MAX_BYTES) -> str:
    try:
        with file.open("rb") as stream:
            raw = stream.read(limit + 1)
    except OSError:
        raise SpecError(label, None, "cannot be read", "check the file's permissions") from None
    if len(raw) > limit:
        raise SpecError(label, None, f"is larger than {limit // 1024} KiB", "make it smaller")
    try:
        return raw.decode("utf-8-sig")  # Windows editors start files with a BOM
    except UnicodeDecodeError:
        raise SpecError(label, None, "cannot be read as UTF-8 text", "save it as UTF-8") from None


def source(app_dir: Path, rel: str) -> str:
    """Python source to scan for hints: ``""`` when absent, outside, too big or unreadable."""
    file = app_dir / rel
    if not inside(app_dir, file):
        return ""
    try:
        with file.open("rb") as stream:
            raw = stream.read(MAX_BYTES + 1)
    except OSError:
        return ""
    return "" if len(raw) > MAX_BYTES else raw.decode("utf-8", errors="replace")


def toml(app_dir: Path, rel: str) -> dict[str, Any] | None:
    content = text(app_dir, rel)
    if content is None:
        return None
    try:
        return tomllib.loads(content)
    except tomllib.TOMLDecodeError as exc:
        raise SpecError(rel, None, f"invalid TOML ({exc})", "fix its syntax") from None


def json_file(app_dir: Path, rel: str) -> Any:
    content = text(app_dir, rel)
    if content is None:
        return None
    try:
        return json.loads(content)
    except (json.JSONDecodeError, RecursionError) as exc:
        problem = exc.msg if isinstance(exc, json.JSONDecodeError) else "nested too deeply"
        raise SpecError(rel, None, f"invalid JSON ({problem})", "fix its syntax") from None


def yaml_file(app_dir: Path, rel: str) -> Any:
    file = app_file(app_dir, rel)
    if file is None:
        return None
    read(file, rel)  # the size cap of detection, tighter than the spec loader's
    return yamlfile.load(file).data


def table(data: Any, *keys: str) -> dict[str, Any]:
    """``data[k1][k2]…`` when every level is a mapping, else ``{}``."""
    for key in keys:
        data = data.get(key) if isinstance(data, dict) else None
    return data if isinstance(data, dict) else {}
