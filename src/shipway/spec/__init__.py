"""Load an app's description, from whichever files it has, into one ``AppSpec``
(``loader``). The names below are re-exported lazily (``shipway.lazy``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from shipway.lazy import exports

if TYPE_CHECKING:
    from shipway.spec.loader import load_sourced, load_spec
    from shipway.spec.model import AppSpec

__all__ = ["AppSpec", "load_sourced", "load_spec"]
__getattr__ = exports(
    __name__, {"AppSpec": "model", "load_sourced": "loader", "load_spec": "loader"}
)
