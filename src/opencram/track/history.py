"""A tracker's update history read back: which tracks were confirmed, with every update
each received (including those before confirmation), the class probabilities of each
update and each track's class.

A track's class probabilities are the mean of its updates' (over the updates with at least
``classify.MIN_UPDATES`` updates behind them; a track with none: its last update's), so
one late update (a round near the ground, or a noise dip of the IMM's mode probability)
does not decide the class of the whole track. The mean, not the product: successive
updates share most of their plots, so their evidence is far from independent."""

from __future__ import annotations

from collections import defaultdict

import numpy as np

from opencram.track.classify import CLASSES, MIN_UPDATES, ClassProbabilities, class_probabilities
from opencram.track.manager import Tracker, TrackUpdate


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
