"""Rich progress for the core's long work: a spinner per stage, a bar per transfer."""

from __future__ import annotations

from collections.abc import Callable
from types import TracebackType

from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    SpinnerColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)

from shipway.cli.common import err


class RichProgress:
    def __init__(self, enabled: bool = True):
        self._progress = Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            BarColumn(),
            DownloadColumn(),
            TimeElapsedColumn(),
            console=err,
            disable=not enabled,
            transient=False,
        )
        self._step: TaskID | None = None

    def __enter__(self) -> RichProgress:
        self._progress.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._finish_step()
        self._progress.stop()

    def step(self, text: str) -> None:
        self._finish_step()
        self._step = self._progress.add_task(text, total=None)

    def transfer(self, label: str, total: int) -> Callable[[int], None]:
        task = self._progress.add_task(f"  {label}", total=total)
        return lambda n: self._progress.advance(task, n)

    def _finish_step(self) -> None:
        if self._step is not None:
            self._progress.update(self._step, total=1, completed=1)
            self._step = None
