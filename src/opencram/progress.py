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

    def __init__(
        self,
        description: str,
        total: float,
        *,
        enabled: bool = True,
        done: float = 0.0,
        show_after_s: float = SHOW_AFTER_S,
    ) -> None:
        """``done``: work finished before this started (a resumed campaign); it fills the
        bar without counting towards the speed behind the ETA. ``show_after_s``: 0 shows
        the bar at once."""
        self.description = description
        self.total = total
        self.enabled = enabled
        self.done = done
        self.show_after_s = show_after_s
        self._start = time.monotonic()
        self._progress: Progress | None = None
        self._task = None

    def __enter__(self) -> DelayedProgress:
        self._start = time.monotonic()
        if self.show_after_s <= 0:
            self.update(self.done)
        return self

    def update(self, completed: float) -> None:
        if not self.enabled:
            return
        if self._progress is None:
            if time.monotonic() - self._start < self.show_after_s:
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
            self._task = progress.add_task(self.description, total=self.total, completed=self.done)
            self._progress = progress
        self._progress.update(self._task, completed=completed)

    def __exit__(self, exc_type, *exc) -> None:
        if self._progress is not None:
            if exc_type is None:
                self._progress.update(self._task, completed=self.total)
            self._progress.stop()
