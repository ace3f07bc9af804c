"""How long work reports progress without the core knowing about any terminal."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol


class Progress(Protocol):
    def step(self, text: str) -> None:
        """A new stage of the work has started."""

    def transfer(self, label: str, total: int) -> Callable[[int], None]:
        """A transfer of ``total`` bytes; call the result with each chunk's size."""


class Silent:
    def step(self, text: str) -> None:
        return None

    def transfer(self, label: str, total: int) -> Callable[[int], None]:
        return lambda _n: None


def stage(progress: Progress, name: str) -> None:
    """Mark the start of one of a deploy's steps (receive, detect, build, push, addons,
    apply, rollout, release) for progress that records them, as the server's deploy queue
    does; progress without a ``stage`` method (a terminal's) ignores it."""
    mark = getattr(progress, "stage", None)
    if mark is not None:
        mark(name)
