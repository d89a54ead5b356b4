"""A rich progress bar that appears only once work has run longer than a second, so quick
commands stay quiet and long ones show progress with an ETA."""

from __future__ import annotations

import sys
import time

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

SHOW_AFTER_S = 1.0


class DelayedProgress:
    """Use as a context manager; call :meth:`update` with the amount done so far."""

    def __init__(self, description: str, total: float, *, enabled: bool = True) -> None:
        self.description = description
        self.total = total
        self.enabled = enabled
        self._start = time.monotonic()
        self._progress: Progress | None = None
        self._task = None

    def __enter__(self) -> DelayedProgress:
        self._start = time.monotonic()
        return self

    def update(self, completed: float) -> None:
        if not self.enabled:
            return
        if self._progress is None:
            if time.monotonic() - self._start < SHOW_AFTER_S:
                return
            progress = Progress(
                TextColumn("[bold]{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                TextColumn("ETA"),
                TimeRemainingColumn(),
                console=Console(file=sys.stderr),
                transient=False,
            )
            progress.start()
            # set both only once the task exists, so an interrupt in between leaves
            # nothing half made for __exit__ (which stops the bar either way)
            self._task = progress.add_task(self.description, total=self.total)
            self._progress = progress
        self._progress.update(self._task, completed=completed)

    def __exit__(self, exc_type, *exc) -> None:
        if self._progress is not None:
            if exc_type is None:
                self._progress.update(self._task, completed=self.total)
            self._progress.stop()
