"""A tracker's update history read back: which tracks were confirmed, with every update
each received (including those before confirmation), the class probabilities of each
update and each track's class.

A track's class probabilities are the mean of its updates' (over the updates with at least
``classify.MIN_UPDATES`` updates behind them; a track with none: its last update's), so
one late update (a round near the ground, or a noise dip of the IMM's mode probability)
does not decide the class of the whole track. The mean, not the product: successive
updates share most of their plots, so their evidence is far from independent."""

from __future__ import annotations

import os
import tempfile
from collections import defaultdict
from collections.abc import Iterator

import numpy as np

from opencram.track.classify import CLASSES, MIN_UPDATES, ClassProbabilities, class_probabilities
from opencram.track.manager import Tracker, TrackUpdate, UpdateLog


def confirmed_updates(tracker: Tracker) -> dict[int, list[TrackUpdate]]:
    """Track id -> its updates in time order, for the tracks that were ever confirmed."""
    by_track: dict[int, list[TrackUpdate]] = defaultdict(list)
    for u in tracker.updates:
        by_track[u.track_id].append(u)
    return {k: v for k, v in by_track.items() if any(u.confirmed for u in v)}


def update_class_probabilities(tracker: Tracker, ups: list[TrackUpdate]) -> ClassProbabilities:
    """Class probabilities of each of the updates ``ups``, batched."""
    if not ups:
        return class_probabilities(np.zeros((0, 7)), np.zeros(0, dtype=int))
    x = np.array([u.x for u in ups])
    mu = None if ups[0].mode_prob is None else np.array([u.mode_prob for u in ups])
    rcs = np.array([u.rcs_dbsm for u in ups])
    return class_probabilities(x, np.array([u.n_updates for u in ups]), mu, rcs, tracker.model)


def track_class_probabilities(
    tracker: Tracker, by_track: dict[int, list[TrackUpdate]]
) -> dict[int, np.ndarray]:
    """Class probabilities (len(CLASSES),) of each track of ``by_track`` (see the module
    notes), from one batch over all their updates."""
    ids = sorted(by_track)
    ups = [u for i in ids for u in by_track[i]]
    prob = update_class_probabilities(tracker, ups).prob
    out, start = {}, 0
    for i in ids:
        n = len(by_track[i])
        rows = prob[start : start + n]
        mature = np.array([u.n_updates >= MIN_UPDATES for u in by_track[i]])
        out[i] = rows[mature].mean(axis=0) if mature.any() else rows[-1]
        start += n
    return out


def track_classes(tracker: Tracker, by_track: dict[int, list[TrackUpdate]]) -> dict[int, str]:
    """Most probable class of each track (:func:`track_class_probabilities`)."""
    prob = track_class_probabilities(tracker, by_track)
    return {i: CLASSES[int(np.argmax(p))] for i, p in prob.items()}


# --- the update log as records ------------------------------------------------------------
#
# One row per filter update, full precision (the output is rounded from these values, so
# nothing here may be narrower than what the tracker computed): 521 bytes a row.


# The record of one update (the fields of TrackUpdate); mode_prob is NaN without an IMM.
UPDATE_DTYPE = np.dtype(
    [
        ("track_id", np.int64),
        ("t_s", np.float64),
        ("x", np.float64, (7,)),
        ("p", np.float64, (7, 7)),
        ("confirmed", np.bool_),
        ("sensor", np.int64),
        ("truth_id", np.int64),
        ("mode_prob", np.float64, (3,)),
        ("n_updates", np.int64),
        ("rcs_dbsm", np.float64),
        ("mode3a", np.int64),
        ("lock_lost", np.bool_),
    ]
)
# fields a batch may leave out, and what they are then (TrackUpdate's defaults)
_DEFAULTS = {"mode3a": -1, "lock_lost": False}


def batch_rows(batches: list[dict]) -> np.ndarray:
    """The updates of ``batches`` (dicts of arrays named as :class:`TrackUpdate`'s fields,
    as :meth:`UpdateLog.append_batch` takes them) as one record array, in order."""
    n = sum(len(b["track_id"]) for b in batches)
    rows = np.empty(n, dtype=UPDATE_DTYPE)
    for name in UPDATE_DTYPE.names:
        if name == "mode_prob" and batches and batches[0]["mode_prob"] is None:
            rows[name] = np.nan
            continue
        if name in _DEFAULTS and any(name not in b for b in batches):
            rows[name] = np.concatenate(
                [
                    b[name] if name in b else np.full(len(b["track_id"]), _DEFAULTS[name])
                    for b in batches
                ]
            )
            continue
        rows[name] = np.concatenate([b[name] for b in batches]) if batches else []
    return rows


def log_rows(log: UpdateLog) -> tuple[np.ndarray, bool]:
    """Every update of an in-memory :class:`UpdateLog` as one record array, and whether
    it has IMM mode probabilities."""
    n = len(log)
    rows = np.empty(n, dtype=UPDATE_DTYPE)
    if not n:
        return rows, False
    mu = log.arrays("mode_prob")
    has_modes = mu.shape[0] == n
    for name in UPDATE_DTYPE.names:
        rows[name] = (mu if has_modes else np.nan) if name == "mode_prob" else log.arrays(name)
    return rows, has_modes


def record_update(row: np.void, has_modes: bool) -> TrackUpdate:
    """One record back as a :class:`TrackUpdate`."""
    return TrackUpdate(
        int(row["track_id"]),
        float(row["t_s"]),
        np.array(row["x"]),
        np.array(row["p"]),
        bool(row["confirmed"]),
        int(row["sensor"]),
        int(row["truth_id"]),
        tuple(float(v) for v in row["mode_prob"]) if has_modes else None,
        int(row["n_updates"]),
        float(row["rcs_dbsm"]),
        int(row["mode3a"]),
        bool(row["lock_lost"]),
    )


class SpilledUpdateLog:
    """An update log for long recordings (``opencram track``): the tracker appends to it as
    to :class:`UpdateLog`, but every :data:`CHUNK_ROWS` updates are written to an unnamed
    temporary file (gone when closed or when the process ends) as records of
    :data:`UPDATE_DTYPE`, so memory holds one chunk whatever the recording's length; the
    disk holds 530 bytes per update. :meth:`chunks` reads them back in order."""

    CHUNK_ROWS = 16_384

    def __init__(self, folder: str | None = None) -> None:
        # open for the log's life (closed by close(), or with the process)
        self._fh = tempfile.TemporaryFile(prefix="opencram-updates-", dir=folder)  # noqa: SIM115
        self._pending: list[dict] = []
        self._n_pending = 0
        self._n = 0
        self.has_modes = False

    def append_batch(self, **arrays) -> None:
        """Add one frame's updates (see :meth:`UpdateLog.append_batch`)."""
        k = len(arrays["track_id"])
        if not k:
            return
        self.has_modes = arrays["mode_prob"] is not None
        # copies: the tracker may reuse its arrays after this call
        self._pending.append({n: None if v is None else np.array(v) for n, v in arrays.items()})
        self._n_pending += k
        self._n += k
        if self._n_pending >= self.CHUNK_ROWS:
            self._spill()

    def _spill(self) -> None:
        if self._pending:
            self._fh.seek(0, os.SEEK_END)
            self._fh.write(batch_rows(self._pending).tobytes())
        self._pending, self._n_pending = [], 0

    def __len__(self) -> int:
        return self._n

    def chunks(self, rows: int | None = None) -> Iterator[np.ndarray]:
        """Every update in order, as record arrays of at most ``rows`` (default
        :data:`CHUNK_ROWS`) rows."""
        rows = self.CHUNK_ROWS if rows is None else rows
        self._spill()
        self._fh.seek(0)
        size = UPDATE_DTYPE.itemsize
        while data := self._fh.read(rows * size):
            yield np.frombuffer(data, dtype=UPDATE_DTYPE)

    def __iter__(self) -> Iterator[TrackUpdate]:
        for chunk in self.chunks():
            for row in chunk:
                yield record_update(row, self.has_modes)

    def close(self) -> None:
        """Remove the temporary file."""
        self._fh.close()
