"""The production start command of a web app, chosen from its framework.

Flask and Django apps get gunicorn (WSGI), FastAPI/Starlette/Quart/Litestar apps get
uvicorn (ASGI), bound to ``$PORT``; a Django project with only an ASGI entry point gets
the ASGI server it depends on (daphne or uvicorn); other apps run ``python app.py``
(or ``main.py``, ``server.py``), else their package's ``python -m pkg``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from shipway.detect import appobject, files
from shipway.detect.plan import Dependencies

GUNICORN = "gunicorn --bind 0.0.0.0:$PORT --workers ${WEB_CONCURRENCY:-2} --access-logfile - "
UVICORN = "uvicorn --host 0.0.0.0 --port $PORT --proxy-headers "
DAPHNE = "daphne --bind 0.0.0.0 --port $PORT --proxy-headers "
#: Versions of the servers Shipway adds, pinned so builds are reproducible.
GUNICORN_REQ = "gunicorn==23.0.0"
UVICORN_REQ = "uvicorn==0.32.1"
ASGI_FRAMEWORKS = {
    "fastapi": "FastAPI",
    "starlette": "Starlette",
    "quart": "Quart",
    "litestar": "Litestar",
}
SCRIPTS = ("app.py", "main.py", "server.py")
SETTINGS = re.compile(r"""DJANGO_SETTINGS_MODULE["']\s*,\s*f?["']([A-Za-z_][\w.]*)["']""")


@dataclass(frozen=True)
class WebCommand:
    framework: str | None
    command: str
    #: Requirements the command needs beyond the app's own dependencies.
    packages: tuple[str, ...] = ()


def framework_of(deps: Dependencies) -> str | None:
    """The web framework the app depends on, the most specific first."""
    names = set(deps.names)
    for name in ("django", *ASGI_FRAMEWORKS, "flask"):
        if name in names:
            return name
    return None


def web_command(app_dir: Path, deps: Dependencies) -> WebCommand | None:
    names = set(deps.names)
    if "django" in names:
        django = _django(app_dir, names)
        if django:
            return django
    for package, cls in ASGI_FRAMEWORKS.items():
        if package in names:
            found = appobject.find(app_dir, cls)
            if found:
                return WebCommand(package, _uvicorn(found), (UVICORN_REQ,))
    if "flask" in names:
        found = appobject.find(app_dir, "Flask")
        if found:
            return WebCommand("flask", _gunicorn(found), (GUNICORN_REQ,))
    for script in SCRIPTS:
        if files.inside(app_dir, app_dir / script):
            return WebCommand(None, f"python {script}")
    main = _main_package(app_dir)
    return WebCommand(None, f"python -m {main}") if main else None


def _main_package(app_dir: Path) -> str | None:
    """A package run as ``python -m pkg`` (its ``__main__.py``), at the top or in ``src/``
    (installed, as a pyproject project is)."""
    for base in ("", "src/"):
        for main in sorted((app_dir / base).glob("*/__main__.py")):
            package = main.parent.name
            if appobject.package_dir(main.parent) and files.inside(app_dir, main):
                return package
    return None


def _gunicorn(found: appobject.AppObject) -> str:
    path = f"--pythonpath {found.path} " if found.path else ""
    return f"{GUNICORN}{path}{found.target}"


def _uvicorn(found: appobject.AppObject) -> str:
    path = f"--app-dir {found.path} " if found.path else ""
    return f"{UVICORN}{path}{found.target}"


def _django(app_dir: Path, names: set[str]) -> WebCommand | None:
    wsgi = _django_entry(app_dir, "wsgi", "get_wsgi_application")
    if wsgi:
        return WebCommand("django", GUNICORN + f"{wsgi}:application", (GUNICORN_REQ,))
    asgi = _django_entry(app_dir, "asgi", "application")
    if asgi and "daphne" in names:
        return WebCommand("django", DAPHNE + f"{asgi}:application")
    if asgi:
        return WebCommand("django", UVICORN + f"{asgi}:application", (UVICORN_REQ,))
    return None


def _django_entry(app_dir: Path, kind: str, marker: str) -> str | None:
    """``mysite.wsgi`` for ``mysite/wsgi.py`` defining the application."""
    for entry in sorted(app_dir.glob(f"*/{kind}.py")):
        if marker in files.source(app_dir, f"{entry.parent.name}/{kind}.py"):
            return f"{entry.parent.name}.{kind}"
    return None


def django_settings(app_dir: Path) -> str | None:
    """The settings module ``manage.py`` (or the WSGI/ASGI module) defaults to."""
    sources = ["manage.py"] + [
        f"{p.parent.name}/{p.name}" for p in sorted(app_dir.glob("*/[wa]sgi.py"))
    ]
    for rel in sources:
        match = SETTINGS.search(files.source(app_dir, rel))
        if match:
            return match.group(1)
    return None
