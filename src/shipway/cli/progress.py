"""Rich progress for the core's long work: a line per stage, a bar per transfer."""

from __future__ import annotations

from collections.abc import Callable
from types import TracebackType

from shipway.cli.common import err, literal, styled


class RichProgress:
    def __init__(self, enabled: bool = True):
        # rich.progress is imported when work starts, not with the command line.
        from rich.progress import (
            BarColumn,
            DownloadColumn,
            Progress,
            SpinnerColumn,
            TextColumn,
            TimeElapsedColumn,
        )

        self.enabled = enabled
        self._progress = Progress(
            SpinnerColumn(),
            TextColumn("{task.description}", markup=False),
            BarColumn(),
            DownloadColumn(),
            TimeElapsedColumn(),
            console=err,
            disable=not enabled,
        )

    def __enter__(self) -> RichProgress:
        self._progress.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._progress.stop()

    def step(self, text: str) -> None:
        """One line, printed literally: steps carry app output (build steps, warnings)
        that must not be read as markup nor reach the terminal as control sequences."""
        if self.enabled:
            self._progress.console.print(styled("dim", "• ", text))

    def transfer(self, label: str, total: int) -> Callable[[int], None]:
        task = self._progress.add_task(f"  {literal(label)}", total=total)
        return lambda n: self._progress.advance(task, n)
