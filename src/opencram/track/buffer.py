"""The tracker's input queue: plots in any order within the sensors' latency, handed out
in whole windows of measurement time on an absolute grid, so the result does not depend on
how plots were chunked on arrival. Plots older than what was already handed out are
dropped and counted."""

from __future__ import annotations

import numpy as np

from opencram.sense.plots import Plots


class PlotBuffer:
    """Queued plots, and the windows of ``window_s`` that have closed."""

    def __init__(self, window_s: float) -> None:
        self.window_s = window_s
        self.n_late_dropped = 0
        """Plots dropped because they arrived after their window was processed."""
        self._queue: list[Plots] = []
        self._min_s = np.inf  # earliest measurement time queued
        self._done_to_s = -np.inf  # windows before this were handed out

    def add(self, plots: Plots) -> None:
        """Queue a batch of plots."""
        if len(plots):
            self._queue.append(plots)
            self._min_s = min(self._min_s, float(plots.time_s.min()))

    def __len__(self) -> int:
        return sum(len(p) for p in self._queue)

    def closed_windows(self, until_s: float) -> list[Plots]:
        """Take out the plots of every whole window that ends by ``until_s`` (every plot
        when it is infinite), one time-sorted batch per window, oldest first."""
        if not self._queue:
            return []
        w = self.window_s
        cut = np.floor(until_s / w) * w if np.isfinite(until_s) else np.inf
        if self._min_s >= cut and self._min_s >= self._done_to_s:
            return []  # no window has closed on a queued plot (and none is late)
        allp = Plots.concat(self._queue).sorted_by("time_s")
        late = allp.time_s < self._done_to_s
        if late.any():  # older than what was already processed: beyond the latency
            self.n_late_dropped += int(late.sum())
            allp = allp.take(np.flatnonzero(~late))
        ready = allp.time_s < cut
        rest = allp.take(np.flatnonzero(~ready))
        self._queue = [rest] if len(rest) else []
        self._min_s = float(rest.time_s.min()) if len(rest) else np.inf
        todo = allp.take(np.flatnonzero(ready))
        if not len(todo):
            return []
        k = np.floor(todo.time_s / w).astype(np.int64)
        bounds = np.flatnonzero(np.diff(k)) + 1
        self._done_to_s = float((k[-1] + 1) * w) if np.isfinite(cut) else float(todo.time_s[-1])
        return [todo.take(sel) for sel in np.split(np.arange(len(todo)), bounds)]
