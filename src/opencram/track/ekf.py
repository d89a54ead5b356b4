"""Extended Kalman filter update, batched over tracks (Joseph form)."""

from __future__ import annotations

import numpy as np

from opencram.track.measurement import innovation, measurement_jacobian, predict_measurement


def ekf_update(x, p, z, r, sensor_enu_m):
    """Update states (m, 7) and covariances (m, 7, 7) with measurements z (m, 4).

    Returns the updated state, covariance, innovation (m, 4) and innovation covariance
    (m, 4, 4).
    """
    dim = x.shape[1]
    h = measurement_jacobian(x, sensor_enu_m, dim)
    nu = innovation(z, predict_measurement(x, sensor_enu_m))
    ht = np.swapaxes(h, 1, 2)
    s = h @ p @ ht + r
    k = np.linalg.solve(s, (p @ ht).swapaxes(1, 2)).swapaxes(1, 2)  # P H^T S^-1
    x_new = x + np.einsum("mij,mj->mi", k, nu)
    ikh = np.eye(dim) - k @ h
    p_new = ikh @ p @ np.swapaxes(ikh, 1, 2) + k @ r @ np.swapaxes(k, 1, 2)
    return x_new, 0.5 * (p_new + np.swapaxes(p_new, 1, 2)), nu, s
