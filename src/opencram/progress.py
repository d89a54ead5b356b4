"""How a long job reports its progress, without knowing who listens.

Libraries (``analysis.runfolder.execute``, ``campaign.runner.run_campaign``) take an
``on_progress`` argument that follows :class:`ProgressReporter`; the command line passes a
progress bar (``opencram.cli.progress.DelayedProgress``), tests pass ``None``. Nothing here
draws anything.
"""

from __future__ import annotations

from typing import Protocol


class ProgressReporter(Protocol):
    """Receives one job's progress: :meth:`start`, :meth:`update` as work is done,
    :meth:`finish` only if the job completed (a failed or interrupted job just stops
    calling; whoever made the reporter cleans it up). A job in stages (read a file, then
    track it) calls :meth:`start` again for each stage."""

    def start(self, description: str, total: float, done: float = 0.0) -> None:
        """The job begins: ``total`` units of work (the unit is named in ``description``,
        e.g. "simulating green-zone (s)"), ``done`` of them finished before this call
        (a resumed campaign)."""

    def update(self, done: float) -> None:
        """``done`` units finished so far (including those given to :meth:`start`)."""

    def finish(self) -> None:
        """The job completed: all ``total`` units are done."""


class NoProgress:
    """A :class:`ProgressReporter` that ignores everything (``on_progress=None``)."""

    def start(self, description: str, total: float, done: float = 0.0) -> None:
        """Ignored."""

    def update(self, done: float) -> None:
        """Ignored."""

    def finish(self) -> None:
        """Ignored."""


def reporter(on_progress: ProgressReporter | None) -> ProgressReporter:
    """``on_progress`` itself, or a :class:`NoProgress` for ``None``."""
    return NoProgress() if on_progress is None else on_progress
