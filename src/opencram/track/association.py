"""Gating and global-nearest-neighbour association, batched over all track-plot pairs."""

from __future__ import annotations

import numpy as np
from scipy.optimize import linear_sum_assignment
from scipy.stats import chi2

from opencram.track.measurement import innovation, measurement_jacobian, predict_measurement

BIG = 1e9


def gate_costs(x_ref, p_ref, t_ref, z, r, sensor_enu_m, t_plot, gate_prob):
    """Association cost (n tracks, m plots) and squared Mahalanobis distances.

    Every track is predicted once to the frame's reference time ``t_ref``; for each pair its
    position is then moved linearly to the plot's own time (a rotating radar sees targets at
    different instants), and the innovation in (range, azimuth, elevation, range rate) is
    scored against the track's innovation covariance at ``t_ref``. A plot without range
    rate is gated on three degrees of freedom, one with it on four. Cost is ``d² + ln det S``
    inside the chi-square gate of probability ``gate_prob`` and ``inf`` outside.
    """
    n, m = x_ref.shape[0], z.shape[0]
    if n == 0 or m == 0:
        return np.full((n, m), np.inf), np.full((n, m), np.inf)
    dt = t_plot[None, :] - t_ref  # (1, m)
    xp = np.repeat(x_ref[:, None, :], m, axis=1)  # (n, m, 7)
    xp[:, :, 0:3] += xp[:, :, 3:6] * dt[:, :, None]
    flat = xp.reshape(n * m, -1)
    spos = np.broadcast_to(sensor_enu_m[None, :, :], (n, m, 3)).reshape(n * m, 3)
    zp = predict_measurement(flat, spos).reshape(n, m, 4)
    nu = innovation(np.broadcast_to(z[None, :, :], (n, m, 4)).copy(), zp)
    h = measurement_jacobian(flat, spos, x_ref.shape[1]).reshape(n, m, 4, -1)
    s = h @ p_ref[:, None, :, :] @ np.swapaxes(h, -1, -2) + r[None, :, :, :]
    d2 = np.einsum("nmi,nmi->nm", nu, np.linalg.solve(s, nu[..., None])[..., 0])
    has_rr = ~np.isnan(z[:, 3])
    gate = np.where(has_rr, chi2.ppf(gate_prob, 4), chi2.ppf(gate_prob, 3))
    # drop the uninformative range-rate row's constant from the cost
    _, logdet = np.linalg.slogdet(s[..., :3, :3])
    logdet = logdet + np.where(has_rr[None, :], np.log(s[..., 3, 3]), 0.0)
    cost = np.where(d2 <= gate[None, :], d2 + logdet, np.inf)
    return cost, d2


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
    big = (np.abs(sub[finite]).max() + 1.0) * 1e3 if finite.any() else BIG
    ri, ci = linear_sum_assignment(np.where(finite, sub, big))
    ok = finite[ri, ci]
    return rows[ri[ok]], cols[ci[ok]]
