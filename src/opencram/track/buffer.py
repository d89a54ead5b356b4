"""The tracker's input queue: plots in any order within the sensors' latency, handed out
in whole windows of measurement time on an absolute grid, so the result does not depend on
how plots were chunked on arrival. Plots older than what was already handed out are
dropped and counted. :class:`RepeatFilter` drops plots sent again."""

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


class RepeatFilter:
    """Drops re-sent plots: a plot whose sensor and every measured value (range, azimuth,
    elevation, range rate, SNR) equal those of a plot seen (kept or sent again) in the last
    ``memory_s``, or of an earlier plot of the same batch, is a datagram sent again,
    whatever its time stamp
    (issue 17: one radar re-sent the same datagrams at the current data time for 20 s). A
    radar's noise makes two real detections differ in some digit, even of an object that
    stands still."""

    def __init__(self, memory_s: float) -> None:
        self.memory_s = memory_s
        self.n_dropped = 0
        """Plots dropped as re-sent."""
        self._keys = np.zeros((0, 6))
        self._t_s = np.zeros(0)

    @staticmethod
    def _key(plots: Plots) -> np.ndarray:
        cols = (plots.range_m, plots.az_rad, plots.el_rad, plots.range_rate_mps, plots.snr_db)
        key = np.stack([plots.sensor.astype(float), *cols], axis=1)
        return np.nan_to_num(key, nan=np.inf)  # NaN (no value) equals NaN here

    def drop(self, plots: Plots) -> Plots:
        """``plots`` (time-sorted) without the re-sent ones; remembers the rest."""
        if not len(plots):
            return plots
        keep = self._t_s > float(plots.time_s.max()) - self.memory_s
        old = self._keys[keep]
        new = self._key(plots)
        # a new plot is kept when it is the first of its values and no remembered plot has them
        n_old = old.shape[0]
        match = first_equal_row(np.concatenate([old, new]))[n_old:]
        fresh = match == n_old + np.arange(new.shape[0])
        self.n_dropped += int((~fresh).sum())
        kept = plots if fresh.all() else plots.take(np.flatnonzero(fresh))
        old_t = self._t_s[keep]
        seen = match < n_old  # a repeat refreshes its remembered plot's time
        np.maximum.at(old_t, match[seen], plots.time_s[seen])
        self._keys = np.concatenate([old, new[fresh]])
        self._t_s = np.concatenate([old_t, kept.time_s])
        return kept


def first_equal_row(keys: np.ndarray) -> np.ndarray:
    """For each row of ``keys`` (n, k), the index of the first row with the same values
    (compared as numbers). Rows are sorted lexicographically with a stable sort, so each
    run of equal rows starts at its lowest index; ``np.unique(keys, axis=0,
    return_index=True, return_inverse=True)`` gives the same indices, some 3 times slower
    (it sorts the rows as structured records)."""
    order = np.lexsort(keys.T[::-1])
    ranked = keys[order]
    starts = np.ones(order.size, dtype=bool)
    starts[1:] = (ranked[1:] != ranked[:-1]).any(axis=1)
    out = np.empty(order.size, dtype=np.intp)
    out[order] = order[starts][np.cumsum(starts) - 1]
    return out
