r"""Extended Kalman filter update, batched over tracks (Joseph form).

With the predicted state ``x^-`` (m, d), covariance ``P^-`` and a plot ``z`` of noise ``R``
(polar: range, azimuth, elevation, range rate; :mod:`opencram.track.measurement`), the
update linearises the measurement ``h`` at the prediction::

    H   = dh/dx (x^-)                        measurement Jacobian (4, d)
    nu  = z - h(x^-)                         innovation (azimuth wrapped, absent rate 0)
    S   = H P^- H^T + R                      innovation covariance
    K   = P^- H^T S^-1                       gain (solved, guarded: track.linalg)
    x   = x^- + K nu
    P   = (I - K H) P^- (I - K H)^T + K R K^T   Joseph form, then symmetrised

The Joseph form keeps ``P`` symmetric positive semi-definite under rounding, and is right
for any gain; ``P = (I - K H) P^-`` is the same in exact arithmetic. The prediction is
:func:`opencram.track.models.propagate_ekf` (RK4 on the state, a second-order transition
matrix on the covariance). The same update as FilterPy's ``ExtendedKalmanFilter.update``
and Stone Soup's ``ExtendedKalmanUpdater`` with ``use_joseph_cov=True``
(tests/test_against_filterpy.py checks it against the former).
"""

from __future__ import annotations

import numpy as np

from opencram.track.linalg import solve_cov
from opencram.track.measurement import innovation, measurement_jacobian, predict_measurement


def ekf_update(x, p, z, r, sensor_enu_m):
    """Update states (m, d) and covariances (m, d, d) with measurements z (m, 4) of noise
    r (m, 4, 4) from sensors at ``sensor_enu_m`` (m, 3).

    Returns the updated state, covariance, innovation ``nu`` (m, 4) and innovation
    covariance ``S`` (m, 4, 4).
    """
    dim = x.shape[1]
    h = measurement_jacobian(x, sensor_enu_m, dim)
    nu = innovation(z, predict_measurement(x, sensor_enu_m))
    ht = np.swapaxes(h, 1, 2)
    s = h @ p @ ht + r
    k = solve_cov(s, (p @ ht).swapaxes(1, 2)).swapaxes(1, 2)  # P H^T S^-1
    x_new = x + np.einsum("mij,mj->mi", k, nu)
    ikh = np.eye(dim) - k @ h
    p_new = ikh @ p @ np.swapaxes(ikh, 1, 2) + k @ r @ np.swapaxes(k, 1, 2)
    return x_new, 0.5 * (p_new + np.swapaxes(p_new, 1, 2)), nu, s
