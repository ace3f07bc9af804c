"""Render: a pure function from an app's spec, plan and credentials to the Kubernetes
objects that run it. No cluster access, no randomness, a fixed order: the same input
always gives the same objects.

The names below are re-exported lazily, so that the command line can read ``Expose``
(its ``--expose`` choices) without importing pydantic, the addons and detection."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from shipway.lazy import exports

if TYPE_CHECKING:
    from shipway.render.compose import generated_env_key, render, secrets_needed
    from shipway.render.options import RenderOptions

Expose = Literal["clusterip", "nodeport", "ingress"]

__getattr__ = exports(
    __name__,
    {
        "RenderOptions": "options",
        "generated_env_key": "compose",
        "render": "compose",
        "secrets_needed": "compose",
    },
)

__all__ = ["Expose", "RenderOptions", "generated_env_key", "render", "secrets_needed"]
