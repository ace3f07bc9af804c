"""Packages whose ``__init__`` re-exports names without importing them until used.

A package's ``__init__`` runs whenever any module inside it is imported: importing
``shipway.spec.model`` must not load every description-file parser, nor
``shipway.detect.plan`` every detector. The day-2 verbs read those models only."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any


def exports(package: str, names: dict[str, str]) -> Callable[[str], Any]:
    """A module ``__getattr__`` giving each of ``names`` from its module (relative to
    ``package``), imported on first use."""

    def __getattr__(name: str) -> Any:
        if name not in names:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        return getattr(importlib.import_module(f"{package}.{names[name]}"), name)

    return __getattr__
