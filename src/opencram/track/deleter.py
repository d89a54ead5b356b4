"""Track deletion, batched over tracks: a tentative track not confirmed in time, a
confirmed track that coasted (no plot for ``coast_s``; one whose radar lost lock is
held until it lands, at most ``LOST_LOCK_HOLD_S``), a track that landed (predicted
below ``ground_margin_m``), and the weaker of two duplicate tracks ("merged")."""

from __future__ import annotations

import weakref
from dataclasses import dataclass

import numpy as np

from opencram.physics.atmosphere import G0_MPS2
from opencram.track.config import TrackerConfig
from opencram.track.linalg import max_eig_cov, solve_cov_vec
from opencram.track.models import KAPPA_SCALE, BallisticModel
from opencram.track.tracks import CONFIRMED, TENTATIVE, TrackTable

# Slack of the landing bound (_may_reach_height): 1 % on gravity and on the speed gained,
# and 1 m of height for the integrator's error.
BOUND_G_SLACK = 1.01
BOUND_HEIGHT_SLACK_M = 1.0
# Duplicate ranking: confirmed beats tentative whatever the plot counts (1e6 > any count);
# among equals the older row wins (1e-9 per row is far below one plot).
RANK_CONFIRMED = 1e6
RANK_ROW_TIE = 1e-9
# Two tracks' velocities are the same object's within this many times merge_chi2.
VELOCITY_CHI2_FACTOR = 3.0
# A track whose radar lost the round (opencram.track.lock) is not coasted out: it is flown
# on from its last good state until it lands, or at most this long after that state (a
# round lost 1-1.5 km up lands within about 15 s; a minute covers one lost near its apex).
LOST_LOCK_HOLD_S = 60.0


@dataclass(frozen=True)
class Deletion:
    """Tracks to delete: a mask over the table's rows (n,), and the confirmed ones as
    (track id, time s, reason) with reason ``"landed"``, ``"coasted"`` or ``"merged"``."""

    gone: np.ndarray
    ended: list[tuple[int, float, str]]


class Deleter:
    """Decides which tracks end at a given time (module docstring)."""

    def __init__(self, config: TrackerConfig, model: BallisticModel) -> None:
        self.config = config
        self.model = model

    def select(self, tracks: TrackTable, now_s: float) -> Deletion:
        """Tracks of ``tracks`` that end by ``now_s``."""
        cfg = self.config
        tr = tracks
        stale_tent = (tr.status == TENTATIVE) & (now_s - tr.born_s > cfg.confirm_window_s)
        coasted = (tr.status == CONFIRMED) & ~tr.lock_lost & (now_s - tr.t_s > cfg.coast_s)
        lost_out = tr.lock_lost & (now_s - tr.t_s > LOST_LOCK_HOLD_S)
        landed = self._landed(tr, now_s)
        gone = stale_tent | coasted | lost_out | landed | self._duplicates(tr, now_s)
        ended = []
        for i in np.flatnonzero(gone & (tr.status == CONFIRMED)):
            ended.append((int(tr.id[i]), now_s, _reason(landed[i], coasted[i], lost_out[i])))
        return Deletion(gone, ended)

    def gap_limit_s(self, tracks: TrackTable) -> np.ndarray:
        """The longest time (n,) s each track may go without a plot and live: ``coast_s``
        when confirmed, ``confirm_window_s`` when tentative (it is dropped that long after
        its start, and its last plot is no older than its start), :data:`LOST_LOCK_HOLD_S`
        when its radar lost the round."""
        cfg = self.config
        limit = np.where(tracks.status == CONFIRMED, cfg.coast_s, cfg.confirm_window_s)
        return np.where(tracks.lock_lost, LOST_LOCK_HOLD_S, limit)

    def predictable(self, tracks: TrackTable, t_s: np.ndarray | float) -> np.ndarray:
        """Tracks (n,) that may be predicted to ``t_s``: those whose gap to it is within
        their :meth:`gap_limit_s`. The others end at the next deletion anyway; predicting
        them over a long gap (a plot stamped far from the others) would cost a substep per
        0.5 s of it, and their prediction would mean nothing."""
        return np.abs(np.asarray(t_s) - tracks.t_s) <= self.gap_limit_s(tracks)

    def _landed(self, tr: TrackTable, now_s: float) -> np.ndarray:
        """Tracks below the ground margin now, or at ``now_s`` when flown on (at most
        their gap limit plus one window beyond their last plot: the longest gap a track
        still alive at a window's end can have, so the flight over any gap is bounded)."""
        margin = self.config.ground_margin_m
        landed = tr.x[:, 2] < margin
        # fly on to now only the tracks that could be below the margin by now
        dt = np.minimum(now_s - tr.t_s, self.gap_limit_s(tr) + self.config.window_s)
        near = _may_reach_height(self.model, tr.x, dt, margin)
        if near.any():
            x_now = self.model.propagate_state(tr.x[near], dt[near])
            landed[near] |= x_now[:, 2] < margin
        return landed

    def _duplicates(self, tr: TrackTable, now_s: float) -> np.ndarray:
        """Duplicate tracks, compared at ``now_s`` (positions moved on linearly: tracks
        updated within the same window are at most a scan apart)."""
        x = tr.x.copy()
        x[:, :3] += x[:, 3:6] * (now_s - tr.t_s)[:, None]
        return duplicate_mask(x, tr.p, tr.hits, tr.status, self.config.merge_chi2)


def _reason(landed: bool, coasted: bool, lost_out: bool) -> str:
    """Why a confirmed track ended."""
    if landed:
        return "landed"
    if coasted:
        return "coasted"
    return "lost_lock" if lost_out else "merged"


_DENSEST: dict[int, float] = {}


def _densest_air(env) -> float:
    """The largest air density of the environment's table (at its lowest altitude)."""
    key = id(env)
    if key not in _DENSEST:
        _DENSEST[key] = float(env.density_and_gradient(np.array([-1e9]))[0][0])
        weakref.finalize(env, _DENSEST.pop, key, None)
    return _DENSEST[key]


def _may_reach_height(model, x: np.ndarray, dt_s: np.ndarray, height_m: float) -> np.ndarray:
    """Tracks (n,) that could be below ``height_m`` after ``dt_s`` of ballistic flight.

    A conservative bound, so skipping the others changes no result: with drag (kappa >= 0)
    the speed grows by at most g dt, so the vertical acceleration is at most
    A = g + rho_max kappa |v|max^2 / 2 and the height at dt at least
    u + v_u dt - A dt^2 / 2 (with the slack of :data:`BOUND_G_SLACK` and
    :data:`BOUND_HEIGHT_SLACK_M`). Tracks with a negative kappa or a negative dt are always
    flown."""
    dt = np.asarray(dt_s, dtype=float)
    rho_max = _densest_air(model.env)
    kap = x[:, 6] * KAPPA_SCALE
    v_max = np.sqrt(np.einsum("ij,ij->i", x[:, 3:6], x[:, 3:6])) + BOUND_G_SLACK * G0_MPS2 * dt
    acc = BOUND_G_SLACK * G0_MPS2 + 0.5 * rho_max * kap * v_max**2
    low = x[:, 2] + x[:, 5] * dt - 0.5 * acc * dt**2
    return (kap < 0) | (dt < 0) | (low < height_m + BOUND_HEIGHT_SLACK_M)


def duplicate_mask(x, p, hits, status, merge_chi2) -> np.ndarray:
    """Tracks that repeat another (same position within the gate ``merge_chi2``,
    velocities within :data:`VELOCITY_CHI2_FACTOR` times it): of each such pair, keep the
    confirmed one, then the one with more plots. Candidate pairs come from a k-d tree on
    position."""
    n = x.shape[0]
    out = np.zeros(n, dtype=bool)
    if n < 2:
        return out
    from scipy.spatial import cKDTree  # deferred: scipy is loaded only with two tracks

    var = max_eig_cov(p[:, :3, :3])
    radius = np.sqrt(merge_chi2 * 2.0 * var.max())
    pairs = cKDTree(x[:, :3]).query_pairs(radius, output_type="ndarray")
    if pairs.size == 0:
        return out
    i, j = pairs[:, 0], pairs[:, 1]
    dp = x[i, :3] - x[j, :3]
    d2 = np.einsum("kd,kd->k", dp, solve_cov_vec(p[i, :3, :3] + p[j, :3, :3], dp))
    dv = x[i, 3:6] - x[j, 3:6]
    sv = p[i, 3:6, 3:6] + p[j, 3:6, 3:6]
    dv2 = np.einsum("kd,kd->k", dv, solve_cov_vec(sv, dv))
    same = (d2 < merge_chi2) & (dv2 < VELOCITY_CHI2_FACTOR * merge_chi2)
    rank = status.astype(float) * RANK_CONFIRMED + hits - np.arange(n) * RANK_ROW_TIE
    i, j = i[same], j[same]
    out[np.where(rank[i] < rank[j], i, j)] = True
    return out
