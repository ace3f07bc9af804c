"""The app name a directory's files give, for remote mode: there the CLI needs only the
name (the server reads and checks the files), and loading the spec to learn it costs
more than the rest of the CLI's work before the upload. A name found once is kept,
keyed by the directory's path and the ``lstat`` of each description file (present or
not), so any change to those files, or another directory, loads the spec again."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
from pathlib import Path

from shipway.image.blobs import cache_dir

#: Every file an app's name can come from (``spec.loader``'s, a test keeps them equal).
DESCRIPTION_FILES = (
    "shipway.yaml",
    "shipway.yml",
    "Procfile",
    "app.json",
    ".cupaas.yml",
    ".cupaas.yaml",
)
#: Names kept; past this the file starts again.
MAX_NAMES = 256
#: A DNS label, as every app name is (anything else in the file is ignored).
LABEL = re.compile(r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?")


def app_name(app_dir: Path) -> str:
    """The name ``project.load(app_dir)`` gives, from the cache when the files are as
    they were."""
    key = _key(app_dir)
    path = cache_dir() / "app-names.json"
    names = _read(path)
    found = names.get(key)
    if isinstance(found, str) and LABEL.fullmatch(found):
        return found
    # pydantic and detection: only on a miss.
    from shipway import project

    name = project.load(app_dir).spec.name
    names = {} if len(names) >= MAX_NAMES else names
    names[key] = name
    with contextlib.suppress(OSError):  # a cache: without it the next deploy loads again
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}")
        tmp.write_text(json.dumps(names, sort_keys=True))
        os.replace(tmp, path)
    return name


def _key(app_dir: Path) -> str:
    where = app_dir.resolve()
    stats: list[object] = [str(where)]
    for name in DESCRIPTION_FILES:
        try:
            st = os.lstat(where / name)
            stats.append([name, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns])
        except OSError:
            stats.append([name, None])
    return hashlib.sha256(json.dumps(stats).encode()).hexdigest()


def _read(path: Path) -> dict[str, object]:
    try:
        if path.stat().st_size > 64 * 1024:
            return {}
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}
