"""The dependencies layer: the app's requirements installed for the base image's Python.

uv installs wheels for the target Python version and platform into a directory that
becomes ``/opt/shipway/deps`` in the image (pip is the fallback). The layer is cached,
keyed by the dependency files' content and the target, so unchanged dependencies are
never installed again. A package with no wheel for the target is built on this machine
only when this machine's Python is the target's; otherwise the build stops and says so.
"""

from __future__ import annotations

import compileall
import hashlib
import importlib.metadata
import json
import os
import py_compile
import re
import shutil
import subprocess
import sys
import tempfile
import tomllib
from dataclasses import asdict, dataclass
from pathlib import Path

from shipway.detect.plan import BuildPlan, Dependencies
from shipway.errors import ShipwayError
from shipway.image.blobs import BlobStore
from shipway.image.layer import Entry, Layer, cached_layer, with_parents, write_layer

DEPS_DIR = "opt/shipway/deps"
#: Bump when the layer's layout changes, so old cached layers are not reused.
LAYOUT = 2
KEY_FILES = (
    "requirements.txt",
    "pyproject.toml",
    "uv.lock",
    "Pipfile",
    "Pipfile.lock",
    "setup.py",
    "setup.cfg",
)
#: The marks uv draws around its error messages.
UV_DECORATION = " \u00d7\u2570\u2500\u25b6\u2502"
NO_WHEEL = re.compile(r"(?:Because |Wheels are required for `)([A-Za-z0-9._-]+)")


@dataclass(frozen=True)
class Target:
    python_version: str  # major.minor
    platform: str  # uv's --python-platform, e.g. x86_64-manylinux_2_28


ARCH_PLATFORMS = {"amd64": "x86_64-manylinux_2_28", "arm64": "aarch64-manylinux_2_28"}


def target_for(base_env: dict[str, str], architecture: str, plan: BuildPlan) -> Target:
    """The base image's own Python (its PYTHON_VERSION), else the plan's version."""
    version = base_env.get("PYTHON_VERSION") or plan.python_version
    minor = ".".join(version.split(".")[:2])
    platform = ARCH_PLATFORMS.get(architecture)
    if platform is None:
        raise ShipwayError(
            f"base image architecture '{architecture}' is not supported; "
            "use an amd64 or arm64 base image"
        )
    return Target(minor, platform)


def dependencies_layer(
    app_dir: Path, plan: BuildPlan, target: Target, store: BlobStore
) -> tuple[Layer, bool]:
    """The layer and whether it came from the cache."""
    deps = plan.dependencies
    if deps is None or deps.kind is None:
        raise ShipwayError(
            f"{app_dir}: no requirements.txt, pyproject.toml, Pipfile or "
            "setup.py; add a requirements.txt (it may be empty)"
        )
    key = _cache_key(app_dir, plan.extra_packages, target)
    return cached_layer(
        f"deps-{key}", lambda: _build(app_dir, deps, plan.extra_packages, target, store), store
    )


def _build(
    app_dir: Path, deps: Dependencies, extras: list[str], target: Target, store: BlobStore
) -> Layer:
    with tempfile.TemporaryDirectory(prefix="shipway-deps-") as tmp:
        root = Path(tmp) / "deps"
        _install(app_dir, deps, extras, target, root, Path(tmp))
        _fix_scripts(root / "bin")
        _compile_bytecode(root, target)
        return write_layer(_entries(root), store)


def _compile_bytecode(root: Path, target: Target) -> None:
    """Byte-compile the packages, as pip does: an image's root file system is read-only,
    so without .pyc files every pod start compiles every module it imports again (seconds
    for a Flask app on a small node). The .pyc files are hash-based, not stamped with
    times (the layer's are all 0), and name the files by their path in the image, so the
    layer stays reproducible. Only this machine's Python can compile for its own version:
    for another target version the layer goes without."""
    if f"{sys.version_info.major}.{sys.version_info.minor}" != target.python_version:
        return
    compileall.compile_dir(
        root,
        quiet=2,
        ddir=f"/{DEPS_DIR}",
        invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH,
        workers=0,
    )


def _cache_key(app_dir: Path, extras: list[str], target: Target) -> str:
    digest = hashlib.sha256()
    for name in KEY_FILES:
        file = app_dir / name
        if file.is_file():
            digest.update(name.encode() + b"\0" + file.read_bytes() + b"\0")
    meta = [extras, asdict(target), LAYOUT, _uv_version()]
    digest.update(json.dumps(meta, sort_keys=True).encode())
    return digest.hexdigest()[:32]


def _uv() -> str | None:
    try:
        from uv import find_uv_bin  # noqa: PLC0415  (optional: pip is the fallback)
    except ImportError:
        return shutil.which("uv")
    return find_uv_bin()


def _uv_version() -> str:
    """The installer's version, part of the cache key (read from metadata: no subprocess)."""
    try:
        return f"uv {importlib.metadata.version('uv')}"
    except importlib.metadata.PackageNotFoundError:
        uv = _uv()
        if uv is None:
            return "pip"
        result = subprocess.run([uv, "--version"], capture_output=True, text=True, check=False)
        return result.stdout.strip()


def _install(
    app_dir: Path, deps: Dependencies, extras: list[str], target: Target, root: Path, tmp: Path
) -> None:
    source = _requirements_source(app_dir, deps, tmp)
    uv = _uv()
    if uv is None:
        _pip_install(source, extras, target, root, app_dir)
        return
    base = [
        uv,
        "pip",
        "install",
        "--quiet",
        "--target",
        str(root),
        "--python-version",
        target.python_version,
        "--python-platform",
        target.platform,
        "-r",
        str(source),
        *extras,
    ]
    first = _run([*base, "--no-build"], app_dir)
    if first.returncode == 0:
        return
    package = _no_wheel(first.stderr)
    if package is None:
        raise _install_failed(deps, first.stderr)
    host = f"{sys.version_info.major}.{sys.version_info.minor}"
    if host != target.python_version or not target.platform.startswith(os.uname().machine):
        raise ShipwayError(
            f"{deps.file}: {package} has no wheel for Python {target.python_version} on "
            f"{target.platform} and must be compiled; ship a Dockerfile and build with "
            "--builder docker, or pick a version of it that has wheels"
        )
    second = _run([*base, "--python", sys.executable], app_dir)
    if second.returncode != 0:
        raise _install_failed(deps, second.stderr)


def _requirements_source(app_dir: Path, deps: Dependencies, tmp: Path) -> Path:
    """A file uv reads requirements from: the app's own, or one derived from it."""
    assert deps.file is not None
    if deps.kind == "pipfile":
        return _write(tmp, _pipfile_requirements(app_dir / deps.file))
    if deps.kind == "pyproject" and (app_dir / "uv.lock").is_file() and _uv():
        exported = _run(
            [
                str(_uv()),
                "export",
                "--quiet",
                "--frozen",
                "--no-dev",
                "--no-emit-project",
                "--no-hashes",
                "--format",
                "requirements-txt",
            ],
            app_dir,
        )
        if exported.returncode == 0:
            return _write(tmp, exported.stdout)
    if deps.kind == "setup" and _uv():
        compiled = _run([str(_uv()), "pip", "compile", "--quiet", "setup.py"], app_dir)
        if compiled.returncode != 0:
            raise _install_failed(deps, compiled.stderr)
        return _write(tmp, compiled.stdout)
    return app_dir.resolve() / deps.file


def _pipfile_requirements(pipfile: Path) -> str:
    packages = tomllib.loads(pipfile.read_text()).get("packages", {})
    lines = []
    for name, spec in packages.items():
        version = spec if isinstance(spec, str) else spec.get("version", "*")
        lines.append(name if version in ("*", "") else f"{name}{version}")
    return "\n".join(lines) + "\n"


def _write(tmp: Path, text: str) -> Path:
    path = tmp / "requirements.txt"
    path.write_text(text)
    return path


def _pip_install(
    source: Path, extras: list[str], target: Target, root: Path, app_dir: Path
) -> None:
    arch = target.platform.split("-", 1)[0]
    command = [
        sys.executable,
        "-m",
        "pip",
        "install",
        "--quiet",
        "--target",
        str(root),
        "--only-binary=:all:",
        "--implementation",
        "cp",
        "--python-version",
        target.python_version,
        "--platform",
        f"manylinux_2_28_{arch}",
        "--platform",
        f"manylinux2014_{arch}",
        "-r",
        str(source),
        *extras,
    ]
    result = _run(command, app_dir)
    if result.returncode != 0:
        raise ShipwayError(f"installing the dependencies failed: {_last_line(result.stderr)}")


def _run(command: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, cwd=cwd, capture_output=True, text=True, check=False)


def _no_wheel(stderr: str) -> str | None:
    if "no usable wheels" not in stderr and "Wheels are required" not in stderr:
        return None
    match = NO_WHEEL.search(stderr)
    return match.group(1).split("==")[0] if match else "a dependency"


def _install_failed(deps: Dependencies, stderr: str) -> ShipwayError:
    return ShipwayError(f"{deps.file}: installing the dependencies failed: {_last_line(stderr)}")


def _last_line(text: str) -> str:
    """uv's reason on one line: its sentence from "Because", else the last line."""
    lines = [line.strip(UV_DECORATION) for line in text.splitlines()]
    lines = [line for line in lines if line and not line.startswith("hint")]
    joined = " ".join(lines)
    if "Because" in joined:
        return joined[joined.index("Because") :][:300]
    return (lines or ["no output"])[-1][:300]


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
    entries = []
    for path in sorted(root.rglob("*")):
        name = f"{DEPS_DIR}/{path.relative_to(root).as_posix()}"
        if path.is_symlink():
            entries.append(Entry(name, link=os.readlink(path)))
        elif path.is_dir():
            entries.append(Entry(name))
        elif path.is_file():
            executable = path.parent.name == "bin" or bool(path.stat().st_mode & 0o111)
            entries.append(Entry(name, source=path, executable=executable))
    return with_parents([Entry(DEPS_DIR), *entries])
