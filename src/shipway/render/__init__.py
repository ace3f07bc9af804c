"""Render: a pure function from an app's spec, plan and credentials to the Kubernetes
objects that run it. No cluster access, no randomness, a fixed order: the same input
always gives the same objects.

The names below are re-exported lazily, so that the command line can read ``Expose``
(its ``--expose`` choices) without importing pydantic, the addons and detection."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from shipway.render.compose import generated_env_key, render, secrets_needed
    from shipway.render.options import RenderOptions

Expose = Literal["clusterip", "nodeport", "ingress"]

_LAZY = {
    "RenderOptions": "shipway.render.options",
    "generated_env_key": "shipway.render.compose",
    "render": "shipway.render.compose",
    "secrets_needed": "shipway.render.compose",
}

__all__ = ["Expose", "RenderOptions", "generated_env_key", "render", "secrets_needed"]


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(_LAZY[name]), name)
