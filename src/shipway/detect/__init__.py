"""From an ``AppSpec`` and the app's files, the ``BuildPlan``: how to build and start it
(``detector``). The names below are re-exported lazily (``shipway.lazy``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from shipway.lazy import exports

if TYPE_CHECKING:
    from shipway.detect.detector import allowed_minors, detect
    from shipway.detect.plan import BuildPlan, Dependencies, ProcessPlan

__all__ = ["BuildPlan", "Dependencies", "ProcessPlan", "allowed_minors", "detect"]
__getattr__ = exports(
    __name__,
    {
        "BuildPlan": "plan",
        "Dependencies": "plan",
        "ProcessPlan": "plan",
        "allowed_minors": "detector",
        "detect": "detector",
    },
)
