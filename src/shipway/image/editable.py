"""The app's own project in the dependencies layer: its metadata, not its code.

``gunicorn notes:app`` must find ``notes`` in a src layout, console scripts must exist,
``importlib.metadata.version("notes")`` must answer. Installing the project as a wheel
would put a copy of its code in the dependencies layer, so every one-line change would
rebuild, re-compress and re-upload all the third-party packages with it: measured here
(2 cores), writing a layer of 299 MB of packages (67 MB compressed) takes 13.6 s, and
the README's benchmark app would upload its 46 MB dependencies layer again. So the
project is installed *editable*, as ``pip install -e`` does, pointing at its code in the
app layer: the dependencies layer holds only its ``.dist-info`` (name, version,
requirements, entry points), its console scripts and a ``.pth`` naming its import roots
in the image (``/app/src`` or ``/app``). That metadata depends only on the files
``appproject`` lists for the cache key, so a code change finds the layer in the cache
(3 ms to compute the key, measured on a hatchling src-layout app) and uploads only the
app layer; a change to the project's metadata rebuilds the layer (0.8 s for that app
with warm package caches).

The build backend (setuptools, hatchling, poetry-core, flit, pdm…) builds the editable
wheel from a copy of the app; its path tricks (a ``.pth`` to the copy, or an import
hook mapping package names to it) are read for the roots they point to, then replaced
by a plain ``.pth`` of those roots under ``/app``, so nothing of the build machine
remains. Only the metadata headers runs use are kept: the long description, licence
text or summary come from files the key does not cover and would make the same key
give different layers.
"""

from __future__ import annotations

import email.message
import email.parser
import json
import re
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from shipway.errors import ShipwayError
from shipway.image import installer
from shipway.image.reqfiles import normalise
from shipway.image.target import Target

#: Where the app's files are in the image (``config.WORKDIR``; a test keeps them equal).
APP_DIR = "/app"
KEPT_HEADERS = (
    "Metadata-Version", "Name", "Version", "Requires-Python", "Requires-Dist", "Provides-Extra",
)  # fmt: skip
#: What build backends say when a project has nothing to package (then only its
#: dependencies are installed, as ``poetry install --no-root`` would).
NO_PACKAGES = re.compile(
    r"Unable to determine which files to ship|Multiple top-level (?:packages|modules) discovered"
    r"|No file/folder found for (?:package|module)|does not contain any element",
    re.I,
)
QUOTED_PATH = re.compile(r"""['"](/[^'"\n]+)['"]""")


@dataclass(frozen=True)
class Installed:
    name: str
    requires: list[str]


def install(copy: Path, rel: str, target: Target, root: Path, scratch: Path) -> Installed | None:
    """Install the project at ``copy/rel`` into ``root`` as one whose code is at
    ``/app/rel``; None when its build backend finds nothing to package."""
    out = scratch / f"project-{len(list(scratch.glob('project-*')))}"
    command = [*installer.base_command(target, out), "--python", sys.executable]
    done = installer.run([*command, "--no-deps", "--no-sources", "-e", str(copy / rel)], scratch)
    if done.returncode != 0:
        if NO_PACKAGES.search(done.stderr):
            return None
        label = str(PurePosixPath(rel) / "pyproject.toml") if rel != "." else "pyproject.toml"
        raise ShipwayError(
            f"{label}: building the project's metadata failed: {installer.last_line(done.stderr)}"
        )
    dist_info = next(out.glob("*.dist-info"))
    metadata = email.parser.Parser().parsestr((dist_info / "METADATA").read_text("utf-8"))
    name = normalise(str(metadata["Name"]))
    written = [*_dist_info(dist_info, metadata, root, rel), *_scripts(out, root)]
    roots = _import_roots(out, copy)
    if roots:
        pth = root / f"__shipway_{name.replace('-', '_')}.pth"
        pth.write_text("".join(f"{line}\n" for line in roots))
        written.append(pth)
    _record(root, root / dist_info.name, written)
    return Installed(name, [str(r) for r in metadata.get_all("Requires-Dist") or []])


def _dist_info(built: Path, metadata: email.message.Message, root: Path, rel: str) -> list[Path]:
    target = root / built.name
    target.mkdir()
    headers = [f"{key}: {value}\n" for key, value in metadata.items() if key in KEPT_HEADERS]
    url = f"file://{PurePosixPath(APP_DIR) / rel}" if rel != "." else f"file://{APP_DIR}"
    files = {
        "METADATA": "".join(headers),
        "INSTALLER": "uv\n",
        "direct_url.json": json.dumps({"dir_info": {"editable": True}, "url": url}) + "\n",
    }
    if (built / "entry_points.txt").is_file():
        files["entry_points.txt"] = (built / "entry_points.txt").read_text("utf-8")
    for name, text in files.items():
        (target / name).write_text(text, encoding="utf-8")
    return [target / name for name in files]


def _scripts(out: Path, root: Path) -> list[Path]:
    if not (out / "bin").is_dir():
        return []
    (root / "bin").mkdir(exist_ok=True)
    copied = []
    for script in sorted((out / "bin").iterdir()):
        copied.append(Path(shutil.copy2(script, root / "bin" / script.name)))
    return copied


def _import_roots(out: Path, copy: Path) -> list[str]:
    """The image paths the backend's editable hooks point at, in order, each once."""
    found: list[str] = []
    for file in sorted(out.iterdir()):
        if not file.is_file() or file.suffix not in (".pth", ".py"):
            continue
        text = file.read_text("utf-8", errors="replace")
        if file.suffix == ".pth":
            found += [line.strip() for line in text.splitlines() if line.startswith("/")]
        else:  # an import hook: it maps names to packages, whose parents are the roots
            found += [str(Path(m.group(1)).parent) for m in QUOTED_PATH.finditer(text)]
    prefix = str(copy)
    mapped = [
        APP_DIR + path[len(prefix) :]
        for path in found
        if path == prefix or path.startswith(prefix + "/")
    ]
    return list(dict.fromkeys(mapped))


def _record(root: Path, dist_info: Path, files: list[Path]) -> None:
    """RECORD lists what uninstalling removes; hashes are left out, as the spec allows,
    since the scripts' first lines are rewritten for the image afterwards."""
    names = sorted(f.relative_to(root).as_posix() for f in [*files, dist_info / "RECORD"])
    (dist_info / "RECORD").write_text("".join(f"{name},,\n" for name in names))
