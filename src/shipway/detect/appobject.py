"""Where an app defines its application object: ``module:variable`` for a WSGI/ASGI server.

Read with ``ast`` (a regular expression when the file does not parse here): a module-level
``app = Flask(__name__)`` (or ``FastAPI()``…), else a ``create_app``/``make_app`` factory
every parameter of which has a default (gunicorn calls ``'module:create_app()'``).
Searched in the usual places, including a package at the top (``notes/app.py``) or under
``src/`` (``src/notes/__init__.py`` → module ``notes``, with ``src`` on the path).
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from pathlib import Path

from shipway.detect import files

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
    "app/app.py",
)
PACKAGE_FILES = ("app.py", "main.py", "__init__.py", "wsgi.py", "asgi.py", "api.py", "server.py")
FACTORIES = ("create_app", "make_app")
NOT_APP_DIRS = frozenset({"tests", "test", "docs", "venv", ".venv", "env", "node_modules"})


@dataclass(frozen=True)
class AppObject:
    #: ``module:variable`` or ``'module:factory()'`` as gunicorn and uvicorn take it.
    target: str
    #: The directory to put on the import path (``src``), or ``None`` for the app's root.
    path: str | None = None


def find(app_dir: Path, cls: str) -> AppObject | None:
    """The first candidate file that defines an app object of class ``cls``."""
    for rel in candidates(app_dir):
        source = files.source(app_dir, rel)
        if cls not in source:
            continue
        name = _defined(source, cls)
        if name is not None:
            root, module = _module(rel)
            return AppObject(
                f"'{module}:{name}'" if name.endswith(")") else f"{module}:{name}", root
            )
    return None


def candidates(app_dir: Path) -> list[str]:
    """The usual files first, then packages at the top, then packages under ``src/``."""
    found = [rel for rel in CANDIDATES if (app_dir / rel).is_file()]
    for base in ("", "src/"):
        packages = sorted(p for p in (app_dir / base).glob("*/") if package_dir(p))
        for package in packages:
            for name in PACKAGE_FILES:
                rel = f"{base}{package.name}/{name}"
                if rel not in found and (app_dir / rel).is_file():
                    found.append(rel)
    return found


def package_dir(path: Path) -> bool:
    return path.is_dir() and path.name.isidentifier() and path.name not in NOT_APP_DIRS


def _module(rel: str) -> tuple[str | None, str]:
    root = "src" if rel.startswith("src/") else None
    dotted = rel.removeprefix("src/").removesuffix(".py").removesuffix("/__init__")
    return root, dotted.replace("/", ".")


def _defined(source: str, cls: str) -> str | None:
    """``app`` for ``app = Cls(…)``, ``create_app()`` for a factory, else ``None``."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return _by_pattern(source, cls)
    for statement in tree.body:
        target = _assigned(statement, cls)
        if target:
            return target
    for statement in tree.body:
        if (
            isinstance(statement, ast.FunctionDef)
            and statement.name in FACTORIES
            and _all_defaulted(statement.args)
        ):
            return f"{statement.name}()"
    return None


def _assigned(statement: ast.stmt, cls: str) -> str | None:
    if isinstance(statement, ast.Assign) and len(statement.targets) == 1:
        target, value = statement.targets[0], statement.value
    elif isinstance(statement, ast.AnnAssign) and statement.value is not None:
        target, value = statement.target, statement.value
    else:
        return None
    if not (isinstance(target, ast.Name) and isinstance(value, ast.Call)):
        return None
    func = value.func
    called = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
    return target.id if called == cls else None


def _all_defaulted(args: ast.arguments) -> bool:
    positional = [*args.posonlyargs, *args.args]
    keyword_ok = all(default is not None for default in args.kw_defaults)
    return len(args.defaults) == len(positional) and keyword_ok


def _by_pattern(source: str, cls: str) -> str | None:
    assignment = re.compile(rf"^(\w+)\s*(?::[^=]+)?=\s*(?:\w+\.)*{cls}\(", re.MULTILINE)
    match = assignment.search(source)
    if match:
        return match.group(1)
    factory = re.search(r"^def (create_app|make_app)\(\s*\)", source, re.MULTILINE)
    return f"{factory.group(1)}()" if factory else None
