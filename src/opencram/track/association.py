"""Gating and global-nearest-neighbour association, batched over all track-plot pairs.

An associator (:class:`GNNAssociator` here, :class:`opencram.track.jpda.JPDAAssociator`)
takes the tracks predicted to a frame's reference time and the frame, and returns an
:class:`Assignment`: which tracks to update with which plot, and which plots are taken
(the others may start tracks).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache

import numpy as np

from opencram.track.linalg import logdet_cov, max_eig_cov, solve_cov_vec
from opencram.track.measurement import (
    Frame,
    innovation,
    measurement_jacobian,
    predict_measurement,
)

BIG = 1e9  # stand-in for an infeasible pair when no pair is finite (any cost beats it)
# The stand-in cost of an infeasible pair is this many times the largest finite cost, so
# the optimal assignment never takes one while a finite alternative exists.
INFEASIBLE_COST_SCALE = 1e3
# Added to the k-d tree's search radius, m, so that rounding never loses a pair on the edge.
TREE_SLACK_M = 1.0


@dataclass(frozen=True)
class PDAWeights:
    """JPDA's soft association: gated pairs' track and plot indices (k,), their marginal
    probabilities ``beta`` (k,), and each track's miss probability ``beta0`` (n tracks,)."""

    track: np.ndarray
    plot: np.ndarray
    beta: np.ndarray
    beta0: np.ndarray


@dataclass(frozen=True)
class Assignment:
    """Result of associating one frame: track rows to update (u,), the plot each is
    updated with or at the time of (u,), which plots are taken (m,), for JPDA the soft
    association weights, and every gated pair."""

    rows: np.ndarray
    plots: np.ndarray
    taken: np.ndarray
    pda: PDAWeights | None = None
    gated_rows: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.intp))
    """Every pair inside the gate (k,): its track row ..."""
    gated_plots: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.intp))
    """... and its plot (assigned or not)."""


@cache
def _chi2_gate(gate_prob: float, dof: int) -> float:
    """The chi-square gate for a gate probability, looked up once: the quantile
    ``x = 2 P⁻¹(dof / 2, gate_prob)`` of the chi-square law of ``dof`` degrees of freedom,
    with ``P⁻¹`` the inverse of the regularized lower incomplete gamma function (the same
    number as ``scipy.stats.chi2.ppf``, from the much lighter ``scipy.special``)."""
    from scipy.special import gammaincinv  # deferred: scipy is loaded only to gate a pair

    return float(2.0 * gammaincinv(dof / 2.0, gate_prob))


def gate_pairs(x_ref, p_ref, t_ref, z, r, sensor_enu_m, t_plot, gate_prob):
    """Scored candidate pairs: track and plot indices (k,); squared Mahalanobis distance and
    log determinant of the innovation covariance on all measured components; the same two
    on (range, azimuth, elevation) alone; and whether the pair is in the gate.

    Every track is predicted once to the frame's reference time ``t_ref``; for each pair its
    position is then moved linearly to the plot's own time (a rotating radar sees targets at
    different instants), and the innovation in (range, azimuth, elevation, range rate) is
    scored against the track's innovation covariance at ``t_ref``. A plot without range
    rate is gated on three degrees of freedom, one with it on four. Only pairs that a k-d
    tree finds within a conservative Euclidean bound are scored (a necessary condition of
    the gate), so the cost grows with the pairs that can associate, not with tracks × plots.
    """
    empty_i = np.zeros(0, dtype=np.intp)
    empty_f = np.zeros(0)
    if x_ref.shape[0] == 0 or z.shape[0] == 0:
        return empty_i, empty_i, empty_f, empty_f, empty_f, empty_f, np.zeros(0, dtype=bool)
    ti, pj = candidate_pairs(x_ref, p_ref, t_ref, z, r, sensor_enu_m, t_plot, gate_prob)
    if ti.size == 0:
        return empty_i, empty_i, empty_f, empty_f, empty_f, empty_f, np.zeros(0, dtype=bool)
    dt = t_plot[pj] - t_ref
    xp = x_ref[ti].copy()
    xp[:, 0:3] += xp[:, 3:6] * dt[:, None]
    spos = sensor_enu_m[pj]
    nu = innovation(z[pj].copy(), predict_measurement(xp, spos))
    h = measurement_jacobian(xp, spos, x_ref.shape[1])
    s = h @ p_ref[ti] @ np.swapaxes(h, -1, -2) + r[pj]
    d2 = np.einsum("ki,ki->k", nu, solve_cov_vec(s, nu))
    s3 = s[:, :3, :3]
    d2_3 = np.einsum("ki,ki->k", nu[:, :3], solve_cov_vec(s3, nu[:, :3]))
    logdet3 = logdet_cov(s3)
    has_rr = ~np.isnan(z[pj, 3])
    gate = np.where(has_rr, _chi2_gate(gate_prob, 4), _chi2_gate(gate_prob, 3))
    logdet = np.where(has_rr, logdet_cov(s), logdet3)
    return ti, pj, d2, logdet, d2_3, logdet3, d2 <= gate


def gate_costs(x_ref, p_ref, t_ref, z, r, sensor_enu_m, t_plot, gate_prob):
    """Association cost (n tracks, m plots) for global nearest neighbour, and the squared
    Mahalanobis distances: ``d² + ln det S`` inside the gate (see :func:`gate_pairs`),
    ``inf`` outside."""
    n, m = x_ref.shape[0], z.shape[0]
    cost = np.full((n, m), np.inf)
    d2_all = np.full((n, m), np.inf)
    ti, pj, d2, logdet, _, _, ok = gate_pairs(
        x_ref, p_ref, t_ref, z, r, sensor_enu_m, t_plot, gate_prob
    )
    if ti.size == 0:
        return cost, d2_all
    d2_all[ti, pj] = d2
    cost[ti, pj] = np.where(ok, d2 + logdet, np.inf)
    return cost, d2_all


def candidate_pairs(x_ref, p_ref, t_ref, z, r, sensor_enu_m, t_plot, gate_prob):
    """(track, plot) index pairs whose Euclidean distance could pass the gate.

    A pair passes the chi-square gate only if the position difference is within
    ``sqrt(gate * (largest eigenvalue of P_pos + largest plot position variance))`` plus the
    distance the track moves to the plot's time; the tree query uses that bound per track.
    """
    rng = z[:, 0]
    cos_el = np.cos(z[:, 2])
    plot_pos = sensor_enu_m + rng[:, None] * np.stack(
        [cos_el * np.sin(z[:, 1]), cos_el * np.cos(z[:, 1]), np.sin(z[:, 2])], axis=-1
    )
    # plot position variance: range noise and the cross-range size of the angle noise
    plot_var = np.max(
        np.stack([r[:, 0, 0], (rng**2) * r[:, 1, 1], (rng**2) * r[:, 2, 2]], axis=-1), axis=1
    )
    track_var = max_eig_cov(p_ref[:, :3, :3])
    gate = _chi2_gate(gate_prob, 4)
    max_dt = np.max(np.abs(t_plot - t_ref))
    speed = np.linalg.norm(x_ref[:, 3:6], axis=1)
    radius = np.sqrt(gate * (track_var + plot_var.max())) + speed * max_dt + TREE_SLACK_M
    from scipy.spatial import cKDTree  # deferred: only a frame with tracks needs the tree

    tree = cKDTree(plot_pos)
    hits = tree.query_ball_point(x_ref[:, :3], radius)
    counts = np.fromiter((len(h) for h in hits), dtype=np.int64, count=len(hits))
    if counts.sum() == 0:
        return np.zeros(0, dtype=np.intp), np.zeros(0, dtype=np.intp)
    ti = np.repeat(np.arange(len(hits)), counts)
    pj = np.fromiter((j for h in hits for j in h), dtype=np.intp, count=int(counts.sum()))
    return ti, pj


def gnn_assign(cost: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Optimal one-to-one assignment over finite costs (rows, columns of the pairs)."""
    if cost.size == 0:
        return np.zeros(0, dtype=np.intp), np.zeros(0, dtype=np.intp)
    rows = np.flatnonzero(np.isfinite(cost).any(axis=1))
    cols = np.flatnonzero(np.isfinite(cost).any(axis=0))
    if rows.size == 0:
        return np.zeros(0, dtype=np.intp), np.zeros(0, dtype=np.intp)
    sub = cost[np.ix_(rows, cols)]
    finite = np.isfinite(sub)
    big = (np.abs(sub[finite]).max() + 1.0) * INFEASIBLE_COST_SCALE if finite.any() else BIG
    from scipy.optimize import linear_sum_assignment  # deferred: scipy.optimize is heavy

    ri, ci = linear_sum_assignment(np.where(finite, sub, big))
    ok = finite[ri, ci]
    return rows[ri[ok]], cols[ci[ok]]


@dataclass(frozen=True)
class GNNAssociator:
    """Global nearest neighbour: at most one plot per track and one track per plot,
    minimising ``d² + ln det S`` over gated pairs (:func:`gate_costs`). Confirmed tracks
    choose first; tentative tracks share the plots left."""

    gate_prob: float

    def associate(self, confirmed, x_ref, p_ref, t_ref, frame: Frame) -> Assignment:
        """Assign ``frame`` to tracks predicted to ``t_ref`` (``x_ref`` (n, 7), ``p_ref``
        (n, 7, 7)); ``confirmed`` (n,) marks the confirmed tracks."""
        plots = frame.plots
        cost, _ = gate_costs(
            x_ref, p_ref, t_ref, frame.z, frame.r, frame.sensor_enu_m, plots.time_s, self.gate_prob
        )
        ti, pj = gnn_assign(np.where(confirmed[:, None], cost, np.inf))
        free = np.ones(len(plots), dtype=bool)
        free[pj] = False
        ti2, pj2 = gnn_assign(np.where(~confirmed[:, None] & free[None, :], cost, np.inf))
        ti, pj = np.concatenate([ti, ti2]), np.concatenate([pj, pj2])
        taken = np.zeros(len(plots), dtype=bool)
        taken[pj] = True
        gi, gj = np.nonzero(np.isfinite(cost))
        return Assignment(ti, pj, taken, None, gi, gj)
