"""Scoring a run's tracks against its truth: GOSPA over time, breaks, swaps and RMSE.

At each truth sample time, every confirmed track whose latest update is at most
``max_age_s`` old is predicted to that time with the tracker's own motion model; these
estimates are scored against the positions of every object in flight with
:func:`opencram.analysis.metrics.score_tracks`. Cut-off ``c`` = 100 m and ``p`` = 2 by
default: a track within 100 m of its object counts as localised.
"""

from __future__ import annotations

import numpy as np

from opencram.analysis.metrics import TrackScore, score_tracks
from opencram.c2.world import World
from opencram.track.manager import Tracker

GOSPA_C_M = 100.0
GOSPA_P = 2.0


def truth_samples(world: World, times_s: np.ndarray):
    """Flat (time, object index, position) rows of every object in flight at each time."""
    tt, ii, pp = [], [], []
    for t in times_s:
        pos, _, act = world.object_state_at(t)
        idx = np.flatnonzero(act)
        tt.append(np.full(idx.size, t))
        ii.append(idx)
        pp.append(pos[idx])
    return np.concatenate(tt), np.concatenate(ii), np.vstack(pp) if pp else np.zeros((0, 3))


def track_samples(tracker: Tracker, times_s: np.ndarray, max_age_s: float):
    """Flat (time, track id, position) rows: confirmed tracks predicted to each time."""
    ups = [u for u in tracker.updates if u.confirmed]
    if not ups:
        return np.zeros(0), np.zeros(0, dtype=np.int64), np.zeros((0, 3))
    ut = np.array([u.t_s for u in ups])
    uid = np.array([u.track_id for u in ups])
    ux = np.array([u.x for u in ups])
    tt, ii, pp = [], [], []
    for t in times_s:
        ok = np.flatnonzero((ut <= t) & (ut > t - max_age_s))
        if not ok.size:
            continue
        # latest update per track: the last row of each id in time order
        order = ok[np.argsort(ut[ok], kind="stable")]
        _, last = np.unique(uid[order][::-1], return_index=True)
        rows = order[::-1][last]
        x = tracker.model.propagate_state(ux[rows], t - ut[rows])
        above = x[:, 2] >= 0.0  # a prediction below ground is a track of a landed round
        tt.append(np.full(int(above.sum()), t))
        ii.append(uid[rows][above])
        pp.append(x[above, :3])
    if not tt:
        return np.zeros(0), np.zeros(0, dtype=np.int64), np.zeros((0, 3))
    return np.concatenate(tt), np.concatenate(ii), np.vstack(pp)


def score_run(
    world: World, tracker: Tracker, end_s: float, *, step_s: float = 1.0, c: float = GOSPA_C_M
) -> TrackScore:
    times = np.arange(0.0, end_s + 1e-9, step_s)
    max_age = 1.5 * max((s.scan_s for s in tracker.sensors), default=1.0) + 0.5
    t_t, t_i, t_p = truth_samples(world, times)
    k_t, k_i, k_p = track_samples(tracker, times, max_age)
    return score_tracks(t_t, t_i, t_p, k_t, k_i, k_p, c=c, p=GOSPA_P, match_dt_s=1e-6)
