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
