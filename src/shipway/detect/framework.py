"""The production start command of a web app, chosen from its framework.

Flask and Django apps get gunicorn (WSGI), FastAPI/Starlette/Quart/Litestar apps get
uvicorn (ASGI), bound to ``$PORT``; other apps run ``python app.py`` (or ``main.py``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from shipway.detect.plan import Dependencies

GUNICORN = "gunicorn --bind 0.0.0.0:$PORT --workers ${WEB_CONCURRENCY:-2} --access-logfile - "
UVICORN = "uvicorn --host 0.0.0.0 --port $PORT --proxy-headers "
#: Versions of the servers Shipway adds, pinned so builds are reproducible.
GUNICORN_REQ = "gunicorn==23.0.0"
UVICORN_REQ = "uvicorn==0.32.1"
ASGI_FRAMEWORKS = {
    "fastapi": "FastAPI",
    "starlette": "Starlette",
    "quart": "Quart",
    "litestar": "Litestar",
}
#: Where apps usually define their application object, most likely first.
CANDIDATES = (
    "app.py",
    "main.py",
    "wsgi.py",
    "asgi.py",
    "application.py",
    "server.py",
    "api.py",
    "app/__init__.py",
    "app/main.py",
)
SCRIPTS = ("app.py", "main.py", "server.py")


@dataclass(frozen=True)
class WebCommand:
    framework: str | None
    command: str
    #: Requirements the command needs beyond the app's own dependencies.
    packages: tuple[str, ...] = ()


def web_command(app_dir: Path, deps: Dependencies) -> WebCommand | None:
    names = set(deps.names)
    if "django" in names:
        target = _django_wsgi(app_dir)
        if target:
            return WebCommand("django", GUNICORN + target, (GUNICORN_REQ,))
    for package, cls in ASGI_FRAMEWORKS.items():
        if package in names:
            target = _app_object(app_dir, cls)
            if target:
                return WebCommand(package, UVICORN + target, (UVICORN_REQ,))
    if "flask" in names:
        target = _app_object(app_dir, "Flask")
        if target:
            return WebCommand("flask", GUNICORN + target, (GUNICORN_REQ,))
    for script in SCRIPTS:
        if (app_dir / script).is_file():
            return WebCommand(None, f"python {script}")
    return None


def _django_wsgi(app_dir: Path) -> str | None:
    for wsgi in sorted(app_dir.glob("*/wsgi.py")):
        if "get_wsgi_application" in _source(wsgi):
            return f"{wsgi.parent.name}.wsgi:application"
    return None


def _app_object(app_dir: Path, cls: str) -> str | None:
    """``module:variable`` for ``variable = Cls(...)``, or a ``create_app()`` factory."""
    assignment = re.compile(rf"^(\w+)\s*(?::[^=]+)?=\s*(?:\w+\.)*{cls}\(", re.MULTILINE)
    for name in CANDIDATES:
        file = app_dir / name
        if not file.is_file():
            continue
        source = _source(file)
        module = _module(name)
        match = assignment.search(source)
        if match:
            return f"{module}:{match.group(1)}"
        if cls in source and re.search(r"^def create_app\(\s*\)", source, re.MULTILINE):
            return f"'{module}:create_app()'"
    return None


def _module(relative: str) -> str:
    return relative.removesuffix(".py").removesuffix("/__init__").replace("/", ".")


def _source(file: Path) -> str:
    try:
        return file.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
