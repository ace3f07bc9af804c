"""The module-level settings of a Python config file, read with ``ast``, never run.

``gunicorn.conf.py`` is Python: ``bind = f"0.0.0.0:{os.environ.get('PORT', '8000')}"``.
Running it would run the app author's code inside Shipway, so this evaluates only what
is plainly a value: literals, names assigned earlier, f-strings, ``+``, ``%`` and
``str.format`` on those, ``int()``/``str()``, and environment lookups — ``PORT`` is
``$PORT`` (Shipway sets it), any other variable its default. Anything else is unknown.
"""

from __future__ import annotations

import ast
import re
from typing import Any

from shipway.detect.shell import PORT_REF

#: The value of an expression that cannot be known without running the file.
UNKNOWN: Any = type("Unknown", (), {"__repr__": lambda _self: "UNKNOWN"})()
ENV_GETTERS = frozenset({"get", "getenv"})
FORMAT_FIELDS = re.compile(r"\{\d*\}")
PERCENT_TEMPLATE = re.compile(r"(?:[^%]|%[sd%])*")
#: Values longer than this are not settings anyone writes (and ``a = a + a`` must stop).
MAX_TEXT = 1000
#: What ``from os import environ as env`` binds ``env`` to.
ENVIRON: Any = type("Environ", (), {})()


def settings(source: str) -> dict[str, Any]:
    """Each module-level name and its value (``UNKNOWN`` when not plainly a value)."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return {}
    names: dict[str, Any] = {}
    for statement in tree.body:
        if isinstance(statement, ast.ImportFrom) and statement.module == "os":
            for alias in statement.names:
                names[alias.asname or alias.name] = ENVIRON if alias.name == "environ" else UNKNOWN
        elif isinstance(statement, ast.Assign | ast.AnnAssign) and statement.value is not None:
            targets = statement.targets if isinstance(statement, ast.Assign) else [statement.target]
            value = _value(statement.value, names)
            for target in targets:
                _bind(target, value, names)
        else:  # anything assigned by other statements may hold any value
            for node in ast.walk(statement):
                if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                    names[node.id] = UNKNOWN
    return names


def _bind(target: ast.expr, value: Any, names: dict[str, Any]) -> None:
    if isinstance(target, ast.Name):
        names[target.id] = value
        return
    for node in ast.walk(target):
        if isinstance(node, ast.Name):
            names[node.id] = UNKNOWN


def _value(node: ast.expr, names: dict[str, Any]) -> Any:
    try:
        value = _evaluate(node, names)
    except (TypeError, ValueError, IndexError, KeyError, RecursionError, OverflowError):
        return UNKNOWN
    return UNKNOWN if isinstance(value, str) and len(value) > MAX_TEXT else value


def _evaluate(node: ast.expr, names: dict[str, Any]) -> Any:  # noqa: PLR0911 - one case per node type
    if isinstance(node, ast.Constant) and isinstance(node.value, str | int | float | bool):
        return node.value
    if isinstance(node, ast.Name):
        return names.get(node.id, UNKNOWN)
    if isinstance(node, ast.List | ast.Tuple):
        return _known([_evaluate(item, names) for item in node.elts])
    if isinstance(node, ast.JoinedStr):
        return _known_text([_evaluate(part, names) for part in node.values])
    if isinstance(node, ast.FormattedValue):
        return _evaluate(node.value, names)
    if isinstance(node, ast.BinOp):
        return _operation(node, names)
    if isinstance(node, ast.Subscript):
        return _environ_item(node, names)
    if isinstance(node, ast.Call):
        return _call(node, names)
    return UNKNOWN


def _known(values: list[Any]) -> Any:
    return UNKNOWN if any(value is UNKNOWN for value in values) else values


def _known_text(values: list[Any]) -> Any:
    return UNKNOWN if any(v is UNKNOWN for v in values) else "".join(str(v) for v in values)


def _operation(node: ast.BinOp, names: dict[str, Any]) -> Any:
    left, right = _evaluate(node.left, names), _evaluate(node.right, names)
    if left is UNKNOWN or right is UNKNOWN:
        return UNKNOWN
    if isinstance(left, str) and len(left) + len(str(right)) > MAX_TEXT:
        return UNKNOWN
    if isinstance(node.op, ast.Add) and isinstance(left, str) and isinstance(right, str):
        return left + right
    if isinstance(node.op, ast.Mod) and isinstance(left, str) and PERCENT_TEMPLATE.fullmatch(left):
        return left % (tuple(right) if isinstance(right, list) else right)
    return UNKNOWN


def _environ_item(node: ast.Subscript, names: dict[str, Any]) -> Any:
    """``os.environ["PORT"]``: ``$PORT``; any other variable cannot be known."""
    key = _evaluate(node.slice, names)
    return PORT_REF if _is_environ(node.value, names) and key == "PORT" else UNKNOWN


def _call(node: ast.Call, names: dict[str, Any]) -> Any:
    func = node.func
    args = [_evaluate(arg, names) for arg in node.args]
    if node.keywords or any(arg is UNKNOWN for arg in args):
        return UNKNOWN
    name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
    if name in ENV_GETTERS and _is_env_getter(func, names) and args:
        return PORT_REF if args[0] == "PORT" else (args[1] if len(args) > 1 else UNKNOWN)
    if name in ("int", "str") and isinstance(func, ast.Name) and len(args) == 1:
        return _convert(name, args[0])
    if name == "format" and isinstance(func, ast.Attribute):
        template = _evaluate(func.value, names)
        if isinstance(template, str) and not FORMAT_FIELDS.sub("", template).count("{"):
            return template.format(*args)
    return UNKNOWN


def _convert(name: str, value: Any) -> Any:
    if name == "str" or value == PORT_REF:
        return str(value)
    return int(value)


def _is_env_getter(func: ast.expr, names: dict[str, Any]) -> bool:
    """``os.getenv``, ``getenv``, ``os.environ.get``, ``environ.get`` (or an alias's)."""
    if isinstance(func, ast.Name):
        return func.id == "getenv"
    if isinstance(func, ast.Attribute) and func.attr == "get":
        return _is_environ(func.value, names)
    return isinstance(func, ast.Attribute) and getattr(func.value, "id", None) == "os"


def _is_environ(node: ast.expr, names: dict[str, Any]) -> bool:
    if isinstance(node, ast.Attribute):
        return node.attr == "environ" and getattr(node.value, "id", None) == "os"
    return isinstance(node, ast.Name) and (names.get(node.id) is ENVIRON or node.id == "environ")
