"""A tracker's update history read back: which tracks were confirmed, with every update
each received (including those before confirmation), and each track's class."""

from __future__ import annotations

from collections import defaultdict

import numpy as np

from opencram.track.classify import classify
from opencram.track.manager import Tracker, TrackUpdate


def confirmed_updates(tracker: Tracker) -> dict[int, list[TrackUpdate]]:
    """Track id -> its updates in time order, for the tracks that were ever confirmed."""
    by_track: dict[int, list[TrackUpdate]] = defaultdict(list)
    for u in tracker.updates:
        by_track[u.track_id].append(u)
    return {k: v for k, v in by_track.items() if any(u.confirmed for u in v)}


def track_classes(tracker: Tracker, by_track: dict[int, list[TrackUpdate]]) -> dict[int, str]:
    """Class of each track from its last update."""
    ids = sorted(by_track)
    if not ids:
        return {}
    last = [by_track[i][-1] for i in ids]
    x = np.array([u.x for u in last])
    mu = None if last[0].mode_prob is None else np.array([u.mode_prob for u in last])
    cls = classify(
        x,
        np.array([u.n_updates for u in last]),
        mu,
        np.array([u.rcs_dbsm for u in last]),
        tracker.model,
    )
    return {i: str(c) for i, c in zip(ids, cls, strict=True)}
