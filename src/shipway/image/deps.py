"""The dependencies layer: the app's requirements installed for the base image's Python.

uv installs wheels for the target Python version and platform into a directory that
becomes ``/opt/shipway/deps`` in the image. What to install comes from ``lockfiles``
(requirement files with their includes, ``poetry.lock``, ``uv.lock``, ``Pipfile.lock``,
declared dependencies); the app itself, and any local project it requires, is installed
editable by ``editable``: its metadata, console scripts and a ``.pth`` to its code under
``/app`` are in this layer, its code stays in the app layer (see ``editable`` for why and
what it costs). When the layer has ``.pth`` files, a ``sitecustomize.py`` makes this
directory a site directory, since Python ignores ``.pth`` files on ``PYTHONPATH``; being
first on the path, it hides a base image's own ``sitecustomize`` (Debian's only hooks
Ubuntu's crash reporter, which these images do not have).

The layer is cached by a key of everything it is made from: each requirement file read
(includes and constraints too, however deep), lock, local wheel and ``--find-links``
directory, the projects' metadata inputs (``appproject``: their ``pyproject.toml``,
``setup.py``, ``setup.cfg`` and the files those read the version or requirements from),
the target and uv's version. A code change therefore reuses it.
A package with no wheel for the target is compiled only where ``installer`` finds a
Python of the target's version with headers and a compiler; otherwise the build stops
and says which package, where it is asked for, and what to use instead.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

from shipway.detect.plan import BuildPlan
from shipway.errors import ShipwayError
from shipway.image import appproject, editable, installer, lockfiles, pycompile
from shipway.image.appfiles import copy_app_files
from shipway.image.appread import digest_path
from shipway.image.blobs import BlobStore
from shipway.image.layer import Entry, Layer, cached_layer, with_parents, write_layer
from shipway.image.reqfiles import Requirements
from shipway.image.target import ARCH_PLATFORMS, Target, target_for

__all__ = [
    "ARCH_PLATFORMS", "DEPS_DIR", "Target", "dependencies_layer", "package_indexes", "target_for",
]  # fmt: skip

DEPS_DIR = "opt/shipway/deps"
#: Bump when the layer's layout changes, so old cached layers are not reused.
LAYOUT = 3
#: Files uv leaves that belong to no image: its lock, and build notes with timestamps.
UV_LEFTOVERS = (".lock", "uv_cache.json", "uv_build.json")
SITECUSTOMIZE = (
    '"""Written by Shipway: this directory is on PYTHONPATH, where Python ignores .pth\n'
    "files; making it a site directory applies them (the app's import roots, namespace\n"
    'packages), as a virtualenv\'s site-packages would."""\n'
    "import os\nimport site\n\nsite.addsitedir(os.path.dirname(os.path.abspath(__file__)))\n"
)


@dataclass(frozen=True)
class _Work:
    """What the layer is made of, read from the app's files before anything is built."""

    root: Path
    #: The directory requirement files may include files from (the app's, or the
    #: repository's when the app is a subdirectory of it).
    context: Path
    requirements: Requirements
    projects: list[str]
    extras: list[str]
    target: Target

    @classmethod
    def read(cls, app_dir: Path, plan: BuildPlan, target: Target, context: Path | None) -> _Work:
        root = app_dir.resolve()
        assert plan.dependencies is not None
        package = appproject.is_package(root)
        req = lockfiles.select(root, plan.dependencies, target, package, context)
        projects = list(req.projects)
        if package and "." not in projects:
            projects.insert(0, ".")
        for rel in [] if req.complete else projects:  # their metadata adds requirements
            appproject.check_sources(root, rel, set(req.origins), bool(req.indexes))
        limit = context.resolve() if context else root
        return cls(root, limit, req, projects, list(plan.extra_packages), target)

    def key(self) -> str:
        digest = hashlib.sha256()
        for rel in self.requirements.files:
            digest_path(digest, self.root, rel, self.context)
        for rel in self.projects:
            for label, data in appproject.key_inputs(self.root, rel):
                digest.update(label.encode() + b"\0" + data + b"\0")
        meta = [
            self.extras, asdict(self.target), LAYOUT, installer.uv_version(), self.projects,
            self.requirements.source, self.requirements.complete,
        ]  # fmt: skip
        digest.update(json.dumps(meta, sort_keys=True).encode())
        return digest.hexdigest()[:32]

    @property
    def needs_copy(self) -> bool:
        """Projects are built, and local files read, from a copy of the app's files."""
        return bool(self.projects) or any(line.path for line in self.requirements.lines)


def package_indexes(app_dir: Path, plan: BuildPlan, context: Path | None = None) -> list[str]:
    """Where the app's files say its dependencies come from, in the order uv looks (a
    package comes from the first that has it); empty when they name no index. Read
    for the plan's Python on amd64: which indexes a file names does not depend on it."""
    if plan.dependencies is None or plan.dependencies.kind is None:
        return []
    target = target_for({}, "amd64", plan)
    return _Work.read(app_dir, plan, target, context).requirements.lookup_order()


def dependencies_layer(
    app_dir: Path, plan: BuildPlan, target: Target, store: BlobStore, context: Path | None = None
) -> tuple[Layer, bool]:
    """The layer and whether it came from the cache. ``context``: the repository that
    holds the app, when its requirement files include files from there (a monorepo's
    ``-r ../../requirements/common.txt``); by default only the app's files are read."""
    deps = plan.dependencies
    if deps is None or deps.kind is None:
        raise ShipwayError(
            f"{app_dir}: no requirements.txt, pyproject.toml, Pipfile or "
            "setup.py; add a requirements.txt (it may be empty)"
        )
    work = _Work.read(app_dir, plan, target, context)
    return cached_layer(f"deps-{work.key()}", lambda: _build(work, store), store)


def _build(work: _Work, store: BlobStore) -> Layer:
    with tempfile.TemporaryDirectory(prefix="shipway-deps-") as tmp:
        scratch = Path(tmp)
        out = scratch / "deps"
        out.mkdir()
        copy = copy_app_files(work.root, scratch / "app") if work.needs_copy else work.root
        req, requires = _install_projects(work, copy, out, scratch)
        _install_requirements(work, req, requires, copy, out, scratch)
        _tidy(out, copy)
        _fix_scripts(out / "bin")
        _compile_bytecode(out, work.target)
        return write_layer(_entries(out), store)


def _install_projects(
    work: _Work, copy: Path, out: Path, scratch: Path
) -> tuple[Requirements, list[str]]:
    """Install the projects editable; the requirements their metadata adds when the
    requirements are not a lock (and the app's declared ones if it is no package)."""
    req, requires = work.requirements, []
    for rel in work.projects:
        installed = editable.install(copy, rel, work.target, out, scratch)
        if installed is None and rel != ".":
            raise ShipwayError(f"{rel}: has nothing to install as a package; fix its packaging")
        if installed is None:
            if req.source == "pyproject.toml" and not req.lines:
                req = lockfiles.declared(work.root, work.target)
        elif not req.complete:
            requires += installed.requires
    return req, requires


def _install_requirements(
    work: _Work, req: Requirements, requires: list[str], copy: Path, out: Path, scratch: Path
) -> None:
    lines = req.render(copy) + "".join(f"{line}\n" for line in requires)
    has_any = work.extras or any(line and not line.startswith("-") for line in lines.splitlines())
    if not has_any:
        return
    (scratch / "requirements.txt").write_text(lines)
    args = ["-r", str(scratch / "requirements.txt")]
    if req.constraints:
        (scratch / "constraints.txt").write_text(req.render(copy, constraints=True))
        args += ["-c", str(scratch / "constraints.txt")]
    installer.install([*args, *work.extras], req, work.target, out, scratch)


def _tidy(out: Path, copy: Path) -> None:
    """Drop uv's leftovers; local installs record the image's path, not the build's."""
    for name in UV_LEFTOVERS:
        for leftover in [out / name, *out.glob(f"*.dist-info/{name}")]:
            leftover.unlink(missing_ok=True)
    for direct_url in out.glob("*.dist-info/direct_url.json"):
        text = direct_url.read_text("utf-8")
        direct_url.write_text(text.replace(f"file://{copy}", f"file://{editable.APP_DIR}"))
    if any(out.glob("*.pth")):
        custom = out / "sitecustomize.py"
        theirs = custom.read_text("utf-8") if custom.is_file() else ""
        custom.write_text(SITECUSTOMIZE + theirs, encoding="utf-8")


def _compile_bytecode(root: Path, target: Target) -> None:
    """Byte-compile the packages, as pip does: an image's root file system is read-only,
    so without .pyc files every pod start compiles every module it imports again (seconds
    for a Flask app on a small node). The .pyc files are hash-based, not stamped with
    times (the layer's are all 0), name the files by their path in the image, go in each
    directory's ``__pycache__`` whatever ``PYTHONPYCACHEPREFIX`` says, and are made by
    fresh processes (``pycompile``), so the layer stays reproducible. Only this machine's
    Python can compile for its own version: for another target version the layer goes
    without.

    A process a core compiles (compiling holds the interpreter), each a batch of about
    the same total size (largest files first, each to the lightest batch)."""
    if f"{sys.version_info.major}.{sys.version_info.minor}" != target.python_version:
        return
    jobs = sorted(_compile_jobs(root), key=lambda job: -job[0])
    if not jobs:
        return
    workers = min(os.cpu_count() or 1, max(1, len(jobs) // 64))
    batches: list[list[tuple[str, str, str]]] = [[] for _ in range(workers)]
    loads = [0] * workers
    for size, source, cache, name in jobs:
        lightest = loads.index(min(loads))
        batches[lightest].append((source, cache, name))
        loads[lightest] += size + 4096  # a file's own cost beside its size
    pycompile.compile_batches(batches)


def _compile_jobs(root: Path) -> Iterator[tuple[int, str, str, str]]:
    """(size, source, .pyc, name in the image) of each module under ``root``, as
    compileall finds them: directories are walked, not links to them."""
    tag = sys.implementation.cache_tag
    for folder, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if d != "__pycache__"]
        for name in files:
            source = os.path.join(folder, name)
            if not name.endswith(".py") or not os.path.isfile(source):
                continue
            rel = os.path.relpath(source, root)
            cache = os.path.join(folder, "__pycache__", f"{name[:-3]}.{tag}.pyc")
            yield os.path.getsize(source), source, cache, f"/{DEPS_DIR}/{rel}"


def _fix_scripts(bin_dir: Path) -> None:
    """Console scripts point at this machine's Python; in the image, ``python3`` runs them."""
    if not bin_dir.is_dir():
        return
    for script in bin_dir.iterdir():
        if not script.is_file():
            continue
        try:
            text = script.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue
        script.write_text(_portable_shebang(text), encoding="utf-8")


def _portable_shebang(text: str) -> str:
    lines = text.split("\n")
    if lines[0].startswith("#!") and "python" in lines[0]:
        return "\n".join(["#!/usr/bin/env python3", *lines[1:]])
    # Long interpreter paths get a sh trampoline: #!/bin/sh + '''exec' python "$0" ... '''
    if lines[0] == "#!/bin/sh" and len(lines) > 2 and lines[1].startswith("'''exec'"):
        return "\n".join(["#!/usr/bin/env python3", *lines[3:]])
    return text


def _entries(root: Path) -> list[Entry]:
    """The layer's entries for what is under ``root``: links as links, directories walked
    (not links to them), a file executable when it is in a ``bin`` or has an x bit."""
    entries = [Entry(DEPS_DIR)]
    pending = [(str(root), DEPS_DIR)]
    while pending:
        folder, prefix = pending.pop()
        executable_dir = os.path.basename(folder) == "bin"
        with os.scandir(folder) as listing:
            for item in listing:
                name = f"{prefix}/{item.name}"
                if item.is_symlink():
                    entries.append(Entry(name, link=os.readlink(item.path)))
                elif item.is_dir():
                    entries.append(Entry(name))
                    pending.append((item.path, name))
                elif item.is_file():
                    executable = executable_dir or bool(item.stat().st_mode & 0o111)
                    entries.append(Entry(name, source=Path(item.path), executable=executable))
    return with_parents(entries)
