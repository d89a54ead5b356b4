"""A rich progress bar that appears only once work has run longer than a second, so quick
commands stay quiet and long ones show progress with an ETA.

It is the command line's :class:`opencram.progress.ProgressReporter`: a command makes one,
enters it, and passes it as ``on_progress`` to the library call it runs.
"""

from __future__ import annotations

import sys
import time
from typing import TYPE_CHECKING

from rich.console import Console

if TYPE_CHECKING:
    from rich.progress import Progress, TaskID

SHOW_AFTER_S = 1.0


class DelayedProgress:
    """A progress bar on standard error. Use as a context manager around the library call
    (leaving it stops a bar the job left running, e.g. on Ctrl-C); the library calls
    :meth:`start`, :meth:`update` and :meth:`finish`."""

    def __init__(self, *, show_after_s: float = SHOW_AFTER_S) -> None:
        """``show_after_s``: seconds of work before the bar appears (0 shows it at once)."""
        self.show_after_s = show_after_s
        self.description = ""
        self.total = 0.0
        self.done = 0.0
        self._start = time.monotonic()
        self._progress: Progress | None = None
        self._task: TaskID | None = None

    def __enter__(self) -> DelayedProgress:
        return self

    def start(self, description: str, total: float, done: float = 0.0) -> None:
        """``done``: work finished before this started (a resumed campaign); it fills the
        bar without counting towards the speed behind the ETA. A second call (the job's
        next stage) starts the bar afresh with the new description and total."""
        self.description = description
        self.total = total
        self.done = done
        if self._progress is not None:
            self._progress.reset(self._task, total=total, completed=done, description=description)
            return
        self._start = time.monotonic()
        if self.show_after_s <= 0:
            self.update(done)

    def update(self, done: float) -> None:
        """Show ``done`` of ``total``; the bar appears once ``show_after_s`` has passed."""
        if self._progress is None:
            if time.monotonic() - self._start < self.show_after_s:
                return
            self._show()
        self._progress.update(self._task, completed=done)

    def _show(self) -> None:
        """Put the bar on screen, filled to the work done before :meth:`start`."""
        from rich.progress import (  # deferred: 15 ms at every start; most runs never draw it
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

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
        # nothing half made for stop() (which stops the bar either way)
        self._task = progress.add_task(self.description, total=self.total, completed=self.done)
        self._progress = progress

    def finish(self) -> None:
        """The job completed: a bar on screen is filled and stopped."""
        if self._progress is not None:
            self._progress.update(self._task, completed=self.total)
        self.stop()

    def stop(self) -> None:
        """Take the bar off screen as it stands (nothing if it never appeared)."""
        if self._progress is not None:
            self._progress.stop()
            self._progress = None

    def __exit__(self, *exc) -> None:
        self.stop()
