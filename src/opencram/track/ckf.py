"""Cubature Kalman filter (third-degree spherical-radial rule), batched over tracks.

2L equally weighted points ``x ± sqrt(L) * columns of chol(P)`` carry each track's
distribution through the nonlinear ballistic dynamics and the polar measurement, with no
tuning parameters and no negative weights (Arasaratnam & Haykin, 2009).
"""

from __future__ import annotations

import numpy as np

from opencram.track.measurement import innovation, predict_measurement
from opencram.track.models import BallisticModel


def _chol(p: np.ndarray) -> np.ndarray:
    try:
        return np.linalg.cholesky(p)
    except np.linalg.LinAlgError:
        # repair a covariance that lost definiteness: clip eigenvalues
        w, v = np.linalg.eigh(0.5 * (p + np.swapaxes(p, -1, -2)))
        w = np.maximum(w, 1e-9 * np.maximum(w.max(axis=-1, keepdims=True), 1e-12))
        return np.linalg.cholesky(v @ (w[..., None] * np.swapaxes(v, -1, -2)))


def cubature_points(x: np.ndarray, p: np.ndarray) -> np.ndarray:
    """Points (m, 2L, L) of states (m, L) with covariances (m, L, L)."""
    dim = x.shape[1]
    s = _chol(p) * np.sqrt(dim)
    offs = np.concatenate([np.swapaxes(s, 1, 2), -np.swapaxes(s, 1, 2)], axis=1)
    return x[:, None, :] + offs


def ckf_predict(model: BallisticModel, x, p, dt_s):
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


def ckf_update(x, p, z, r, sensor_enu_m):
    """Cubature update; same signature and returns as :func:`ekf.ekf_update`."""
    m, dim = x.shape
    pts = cubature_points(x, p)
    z_center = predict_measurement(x, sensor_enu_m)
    zp = predict_measurement(pts.reshape(-1, dim), np.repeat(sensor_enu_m, 2 * dim, axis=0))
    zp = zp.reshape(m, 2 * dim, -1)
    dz = innovation(zp, np.broadcast_to(z_center[:, None, :], zp.shape).copy())
    dz_mean = dz.mean(axis=1)
    dzc = dz - dz_mean[:, None, :]
    dx = pts - pts.mean(axis=1)[:, None, :]
    pzz = np.einsum("mki,mkj->mij", dzc, dzc) / (2 * dim) + r
    pxz = np.einsum("mki,mkj->mij", dx, dzc) / (2 * dim)
    k = np.linalg.solve(pzz, pxz.swapaxes(1, 2)).swapaxes(1, 2)
    nu = innovation(z, z_center) - dz_mean
    x_new = x + np.einsum("mij,mj->mi", k, nu)
    p_new = p - k @ pzz @ np.swapaxes(k, 1, 2)
    return x_new, 0.5 * (p_new + np.swapaxes(p_new, 1, 2)), nu, pzz
