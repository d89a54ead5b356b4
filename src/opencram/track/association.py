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
    plot_pos, plot_var = _plot_positions(z, r, sensor_enu_m)
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


# --- which tracks need predicting to a frame (issue 14 point 4) ---------------------------

# Safety factor on the bound of the predicted position spread below (covers the second-order
# transition matrix and the linearisation; tests/test_near_plot_bound.py checks the bound
# against the full prediction on random cases).
SPREAD_SAFETY = 1.5
# Longest prediction (s) the bound is used for; longer or backward predictions are always
# made. Densest air of the density table (kg/m^3, at the table's lowest height) and the
# steepest density gradient (kg/m^4), bounds of the drag terms.
NEAR_BOUND_MAX_DT_S = 10.0
# The bound costs about 0.1 ms per frame in numpy and saves some 7 us per IMM track left
# unpredicted: below this many predictable tracks in a frame every track is predicted
# (measured on the 60-threat file of benchmarks/bench_track_file.py, docs/benchmarks.md).
NEAR_BOUND_MIN_ROWS = 64
RHO_MAX_KG_M3 = 1.35
DRHO_MAX_KG_M4 = 1.3e-4
G_BOUND_MPS2 = 9.81


def _block_sds(xm, pm):
    """Bounds (n, blocks) on the standard deviation, in any direction, of the position,
    velocity, kappa (and turn-rate) blocks of any mixture of the modes ``xm`` (n, r, d),
    ``pm`` (n, r, d, d): the largest mode variance (bounded by the trace of the block,
    which is not below its largest eigenvalue) plus the largest squared distance between
    two modes' means."""
    d = xm.shape[2]
    starts = np.array([0, 3, 6, 7][: 3 + (d > 7)])
    diag = np.diagonal(pm, axis1=2, axis2=3)[:, :, : starts[-1] + 1]
    var = np.add.reduceat(diag, starts, axis=2).max(axis=1)
    x = xm[:, :, : starts[-1] + 1]
    sq = (x[:, :, None, :] - x[:, None, :, :]) ** 2
    spread2 = np.add.reduceat(sq, starts, axis=3).max(axis=(1, 2))
    return np.sqrt(np.maximum(var, 0.0) + spread2)


def predicted_position_bound(xm, pm, dt_s, q_acc_mps2, q_kappa, q_omega_radps):
    """A conservative bound on where the prediction by ``dt_s`` (n,) (0 <= dt_s <= 10 s) of
    tracks with modes ``xm`` (n, r, d >= 7), ``pm`` (n, r, d, d) can put the position,
    whatever the mixing weights: the predicted mean lies within ``r_mean`` of
    ``centre = p + v dt`` (of the first mode), the largest position standard deviation is at
    most ``sd_pos``, and the speed at most ``speed``. Returns (centre (n, 3), r_mean (n,),
    sd_pos (n,), speed (n,)).

    With ``|v|`` the largest mode speed, ``kappa`` and ``omega`` the largest drag and turn
    rate among the modes, the speed stays below ``V = |v| + g dt`` (drag only slows a round)
    and the acceleration below ``A = max(g + 0.5 rho_max kappa 1e-4 V^2, omega V)``, so every
    mode's mean moves at most ``A dt^2 / 2`` from ``p_i + v_i dt``::

        r_mean = max_i |p_i + v_i dt - centre| + A dt^2 / 2

    The position spread grows as ``sd_p + dt sd_v + dt^2 / 2 sd_a`` with ``sd_a`` the
    acceleration spread through the Jacobian (``L_v sd_v + L_kappa sd_kappa + L_omega
    sd_omega + L_z sd_p``), the white-acceleration noise adds ``q sqrt(dt^3 / 3)``, and the
    Jacobian's feedback is bounded by ``exp(L dt)``; the mixture adds its mean spread
    ``2 r_mean``; the whole is multiplied by :data:`SPREAD_SAFETY`.
    """
    dt = np.asarray(dt_s, dtype=float)
    pos, vel = xm[:, :, 0:3], xm[:, :, 3:6]
    centre = pos[:, 0] + vel[:, 0] * dt[:, None]
    v_max = np.linalg.norm(vel, axis=-1).max(axis=1) + G_BOUND_MPS2 * dt
    kappa = np.abs(xm[:, :, 6]).max(axis=1) * 1e-4
    omega = np.abs(xm[:, :, 7]).max(axis=1) if xm.shape[2] > 7 else np.zeros(len(xm))
    acc = np.maximum(G_BOUND_MPS2 + 0.5 * RHO_MAX_KG_M3 * kappa * v_max**2, omega * v_max)
    lin = pos + vel * dt[:, None, None]
    r_mean = np.linalg.norm(lin - centre[:, None], axis=-1).max(axis=1) + 0.5 * acc * dt**2
    sds = _block_sds(xm, pm)
    sd_p, sd_v, sd_k = sds[:, 0], sds[:, 1], sds[:, 2] * 1e-4
    sd_w = sds[:, 3] + q_omega_radps * np.sqrt(dt) if xm.shape[2] > 7 else 0.0
    lv = RHO_MAX_KG_M3 * kappa * v_max + omega
    sd_a = lv * sd_v + 0.5 * RHO_MAX_KG_M3 * v_max**2 * (sd_k + q_kappa * 1e-4 * np.sqrt(dt))
    sd_a = sd_a + v_max * sd_w + 0.5 * DRHO_MAX_KG_M4 * kappa * v_max**2 * sd_p
    grow = np.exp((lv + 0.5 * DRHO_MAX_KG_M4 * kappa * v_max**2 * dt) * dt)
    sd = (sd_p + dt * sd_v + 0.5 * dt**2 * sd_a) * grow + q_acc_mps2 * np.sqrt(dt**3 / 3.0)
    return centre, r_mean, SPREAD_SAFETY * (sd + 2.0 * r_mean), v_max + acc * dt


def near_plot_rows(xm, pm, dt_s, t_ref, frame: Frame, gate_prob, noise):
    """Which tracks (n,) may have a candidate pair (:func:`candidate_pairs`) with a plot of
    ``frame`` once predicted by ``dt_s`` to ``t_ref``: those whose
    :func:`predicted_position_bound` ball, grown by the gate on the bounded spread and the
    plot noise and by the distance moved to the plots' times, holds a plot. Only these need
    predicting; tracks predicted backward or further than NEAR_BOUND_MAX_DT_S are kept, and
    all are kept in a frame with fewer than NEAR_BOUND_MIN_ROWS tracks.
    ``noise`` is the largest (white acceleration, kappa, turn-rate) process noise of the
    filter's models."""
    z, r = frame.z, frame.r
    n = xm.shape[0]
    if n == 0 or z.shape[0] == 0:
        return np.zeros(n, dtype=bool)
    if n < NEAR_BOUND_MIN_ROWS:  # too few tracks for the bound to pay: predict them all
        return np.ones(n, dtype=bool)
    use = (dt_s >= 0) & (dt_s <= NEAR_BOUND_MAX_DT_S) & np.isfinite(xm).all(axis=(1, 2))
    keep = ~use
    if not use.any():
        return keep
    centre, r_mean, sd, speed = predicted_position_bound(xm[use], pm[use], dt_s[use], *noise)
    plot_pos, plot_var = _plot_positions(z, r, frame.sensor_enu_m)
    max_dt = np.max(np.abs(frame.plots.time_s - t_ref))
    gate = _chi2_gate(gate_prob, 4)
    radius = np.sqrt(gate * (sd**2 + plot_var.max())) + r_mean + speed * max_dt
    finite = np.isfinite(radius) & np.isfinite(centre).all(axis=1)
    centre = np.where(finite[:, None], centre, 0.0)
    radius = np.where(finite, radius + TREE_SLACK_M, 0.0)
    hits = _count_within(centre, radius, plot_pos)
    keep[use] = (hits > 0) | ~finite
    return keep


# Below this many track-plot pairs, distances are taken all at once rather than through a
# k-d tree (building the tree costs more than the pairs).
BRUTE_FORCE_PAIRS = 4096


def _count_within(centre, radius, points):
    """How many ``points`` (m, 3) lie within ``radius`` (n,) of each ``centre`` (n, 3)."""
    if centre.shape[0] * points.shape[0] <= BRUTE_FORCE_PAIRS:
        d2 = ((centre[:, None, :] - points[None, :, :]) ** 2).sum(axis=-1)
        return (d2 <= (radius**2)[:, None]).sum(axis=1)
    from scipy.spatial import cKDTree  # deferred: only a frame with tracks needs the tree

    return cKDTree(points).query_ball_point(centre, radius, return_length=True)


def _plot_positions(z, r, sensor_enu_m):
    """Plot positions (m, 3) ENU and the largest position variance of each (m,): range
    noise and the cross-range size of the angle noise."""
    rng = z[:, 0]
    cos_el = np.cos(z[:, 2])
    plot_pos = sensor_enu_m + rng[:, None] * np.stack(
        [cos_el * np.sin(z[:, 1]), cos_el * np.cos(z[:, 1]), np.sin(z[:, 2])], axis=-1
    )
    plot_var = np.max(
        np.stack([r[:, 0, 0], (rng**2) * r[:, 1, 1], (rng**2) * r[:, 2, 2]], axis=-1), axis=1
    )
    return plot_pos, plot_var
