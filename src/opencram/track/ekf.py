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

Robust update (``robust_dof`` = nu given; issue 13 point 3): an isolated outlier (a range
spike of 30 m) must not drag the estimate. Each component of the innovation is taken as
Student-t with nu degrees of freedom instead of Gaussian; one step of the iteratively
reweighted least squares that fits it (the EM weight of Lange, Little & Taylor, "Robust
statistical modeling using the t distribution", JASA 1989) down-weights the component
by inflating its noise::

    e_i = nu_i / sqrt(S_ii)                  standardised innovation
    w_i = min(1, (nu + 1) / (nu + e_i^2))    Student-t weight, capped at 1
    R~  = R + diag((1 / w_i - 1) S_ii)       so that S~_ii = S_ii / w_i
    then S, K, x and P as above with R~

A component within one standard deviation is updated exactly as without it (the cap: a
plot is never trusted beyond its stated noise); the weight falls as ``1 / e^2`` beyond, so
the pull of a far outlier, ``w e``, goes back to zero (unlike Huber's, which stays at
its threshold), and the covariance accounts for the weaker measurement.

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


def robust_noise(nu: np.ndarray, s: np.ndarray, r: np.ndarray, dof: float) -> np.ndarray:
    """``R~`` (m, 4, 4) of the robust update (module docstring) for innovations ``nu``
    (m, 4) of covariance ``s`` (m, 4, 4) and noise ``r``, with ``dof`` degrees of freedom."""
    s_ii = np.einsum("mii->mi", s)
    e2 = nu**2 / np.maximum(s_ii, np.finfo(float).tiny)
    w = np.minimum(1.0, (dof + 1.0) / (dof + e2))
    r_new = r.copy()
    idx = np.arange(r.shape[-1])
    r_new[:, idx, idx] += (1.0 / w - 1.0) * s_ii
    return r_new


def ekf_update(x, p, z, r, sensor_enu_m, robust_dof: float | None = None):
    """Update states (m, d) and covariances (m, d, d) with measurements z (m, 4) of noise
    r (m, 4, 4) from sensors at ``sensor_enu_m`` (m, 3); robust (module docstring) when
    ``robust_dof`` is given.

    Returns the updated state, covariance, innovation ``nu`` (m, 4) and innovation
    covariance ``S`` (m, 4, 4) (with the robust noise, when robust).
    """
    dim = x.shape[1]
    h = measurement_jacobian(x, sensor_enu_m, dim)
    nu = innovation(z, predict_measurement(x, sensor_enu_m))
    ht = np.swapaxes(h, 1, 2)
    s = h @ p @ ht + r
    if robust_dof is not None:
        r = robust_noise(nu, s, r, robust_dof)
        s = h @ p @ ht + r
    k = solve_cov(s, (p @ ht).swapaxes(1, 2)).swapaxes(1, 2)  # P H^T S^-1
    x_new = x + np.einsum("mij,mj->mi", k, nu)
    ikh = np.eye(dim) - k @ h
    p_new = ikh @ p @ np.swapaxes(ikh, 1, 2) + k @ r @ np.swapaxes(k, 1, 2)
    return x_new, 0.5 * (p_new + np.swapaxes(p_new, 1, 2)), nu, s
