r"""Cubature Kalman filter (third-degree spherical-radial rule), batched over tracks.

2L equally weighted points carry each track's distribution through the nonlinear
ballistic dynamics and the polar measurement, with no tuning parameters and no negative
weights (Arasaratnam & Haykin, "Cubature Kalman filters", IEEE TAC 2009). For a state of
dimension L with mean ``x`` and covariance ``P = L_P L_P^T`` (Cholesky)::

    cubature points   X_i = x + sqrt(L) L_P e_i,  X_{L+i} = x - sqrt(L) L_P e_i
    weights           w_i = 1 / (2L)              (i = 1..2L)

    prediction        X_i^- = f(X_i)                        (RK4, models.propagate_state)
                      x^-   = sum_i w_i X_i^-
                      P^-   = sum_i w_i (X_i^- - x^-)(X_i^- - x^-)^T + Q(|dt|)

    update            (points redrawn from x^-, P^-)
                      Z_i   = h(X_i) - h(x^-)                azimuth wrapped near 0
                      z^    = h(x^-) + sum_i w_i Z_i
                      P_zz  = sum_i w_i (Z_i - Z)(Z_i - Z)^T + R     (Z = sum_i w_i Z_i)
                      P_xz  = sum_i w_i (X_i - X)(Z_i - Z)^T       (X = sum_i w_i X_i)
                      K     = P_xz P_zz^-1
                      nu    = z - z^
                      x     = x^- + K nu
                      P     = P^- - K P_zz K^T                then symmetrised

The measurement points are taken relative to ``h(x^-)`` so that the azimuth's wrap at
2 pi never splits the points. For a linear ``h`` the rule is exact: the update equals the
Kalman update (tests/test_against_filterpy.py).
"""

from __future__ import annotations

import numpy as np

from opencram.track.linalg import chol_cov, solve_cov
from opencram.track.measurement import innovation, predict_measurement
from opencram.track.models import BallisticModel


def cubature_points(x: np.ndarray, p: np.ndarray) -> np.ndarray:
    """Points (m, 2L, L) of states (m, L) with covariances (m, L, L)."""
    dim = x.shape[1]
    s = chol_cov(p) * np.sqrt(dim)  # repaired where not definite (track.linalg)
    offs = np.concatenate([np.swapaxes(s, 1, 2), -np.swapaxes(s, 1, 2)], axis=1)
    return x[:, None, :] + offs


def ckf_predict(model: BallisticModel, x, p, dt_s):
    """Cubature prediction of states (m, L) and covariances (m, L, L) by dt_s (m,)."""
    m, dim = x.shape
    pts = cubature_points(x, p)
    dt = np.repeat(np.asarray(dt_s, dtype=float), 2 * dim)
    prop = model.propagate_state(pts.reshape(-1, dim), dt).reshape(m, 2 * dim, dim)
    x_new = prop.mean(axis=1)
    d = prop - x_new[:, None, :]
    p_new = np.einsum("mki,mkj->mij", d, d) / (2 * dim) + model.process_noise(
        np.abs(np.asarray(dt_s, dtype=float))
    )
    return x_new, 0.5 * (p_new + np.swapaxes(p_new, 1, 2))


def ckf_update(x, p, z, r, sensor_enu_m, *, hx=predict_measurement, residual=innovation):
    """Cubature update; same signature and returns as :func:`opencram.track.ekf.ekf_update`
    (the innovation returned is ``nu = z - z^`` and its covariance ``P_zz``).

    ``hx(x (k, L), sensor_enu_m (k, 3)) -> (k, d)`` is the measurement function and
    ``residual(a, b)`` the difference of two measurements; by default the radar's polar
    measurement and its wrapped innovation (another pair serves tests on a linear
    measurement, where the update must equal the Kalman update).
    """
    m, dim = x.shape
    pts = cubature_points(x, p)
    z_center = hx(x, sensor_enu_m)
    zp = hx(pts.reshape(-1, dim), np.repeat(sensor_enu_m, 2 * dim, axis=0))
    zp = zp.reshape(m, 2 * dim, -1)
    dz = residual(zp, np.broadcast_to(z_center[:, None, :], zp.shape).copy())
    dz_mean = dz.mean(axis=1)
    dzc = dz - dz_mean[:, None, :]
    dx = pts - pts.mean(axis=1)[:, None, :]
    pzz = np.einsum("mki,mkj->mij", dzc, dzc) / (2 * dim) + r
    pxz = np.einsum("mki,mkj->mij", dx, dzc) / (2 * dim)
    k = solve_cov(pzz, pxz.swapaxes(1, 2)).swapaxes(1, 2)
    nu = residual(z, z_center) - dz_mean
    x_new = x + np.einsum("mij,mj->mi", k, nu)
    p_new = p - k @ pzz @ np.swapaxes(k, 1, 2)
    return x_new, 0.5 * (p_new + np.swapaxes(p_new, 1, 2)), nu, pzz
