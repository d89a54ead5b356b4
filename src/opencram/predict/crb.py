"""The information limit of impact prediction: the posterior Cramér–Rao bound (issue 13
point 5), batched over rounds.

For a state ``x_k`` moved by ``x_{k+1} = f(x_k) + w_k`` (``w_k ~ N(0, Q_k)``) and seen as
``z_k = h(x_k) + v_k`` (``v_k ~ N(0, R_k)``), the mean-square error of any estimator of
``x_k`` is bounded below by ``J_k^{-1}``, the inverse of the Fisher information that obeys
(Tichavský, Muravchik and Nehorai, "Posterior Cramér-Rao bounds for discrete-time
nonlinear filtering", IEEE Trans. Signal Processing 46(5), 1998, eq. 21 with additive
Gaussian noise)::

    J_{k+1} = (Q_k + F_k J_k^{-1} F_k^T)^{-1} + H_{k+1}^T R_{k+1}^{-1} H_{k+1}

with ``F_k = df/dx`` and ``H_k = dh/dx``. Evaluated along one true path (the "deterministic
trajectory" form, the bound conditional on that path) the recursion is the covariance of a
Kalman filter linearised on the truth, which is how it is computed here, in covariance
form so a singular prior or a noiseless model needs no inversion::

    P_{k+1|k} = F_k P_k F_k^T + Q_k
    S         = H P_{k+1|k} H^T + R
    P_{k+1}   = P_{k+1|k} - P_{k+1|k} H^T S^{-1} H P_{k+1|k}      (= J_{k+1}^{-1})

``F_k`` and ``Q_k`` are those of the ballistic model (its RK4 mean and second-order
transition matrix, :func:`opencram.track.models.propagate_ekf`), ``H`` the range, azimuth
and elevation Jacobian (:func:`opencram.track.measurement.measurement_jacobian`) and ``R``
the plots' true noise. With ``Q = 0`` it is the bound for an estimator that knows the
dynamics exactly up to the state's constant drag parameter: no tracker of this model can do
better, so the ratio of a tracker's error to it says how far from the limit it is.

The impact point is a function ``g(x)`` of the state (flown to the ground); its bound is
``G P G^T`` with ``G = dg/dx`` by central differences of that flight (the bound of a
function of the state: ``cov(g(x_hat)) >= G J^{-1} G^T`` to first order).
"""

from __future__ import annotations

import numpy as np

from opencram.track.measurement import measurement_jacobian
from opencram.track.models import BallisticModel, propagate_ekf, propagate_to_height

DIM = 7
MEAS = 3  # range, azimuth, elevation (no range rate)
# Central-difference steps for dg/dx: 1 m in position, 0.1 m/s in velocity, 0.01 cm²/kg in
# kappa: small against the bound's scale (metres), large against the flight's rounding.
FD_STEP = np.array([1.0, 1.0, 1.0, 0.1, 0.1, 0.1, 0.01])
IMPACT_STEP_S = 0.02  # integration step of the flights to the ground for dg/dx


def noise_covariance(sigma_rae: np.ndarray) -> np.ndarray:
    """R (..., 3, 3) of range (m), azimuth and elevation (rad) sigmas (..., 3)."""
    s = np.asarray(sigma_rae, dtype=float)
    r = np.zeros((*s.shape[:-1], MEAS, MEAS))
    idx = np.arange(MEAS)
    r[..., idx, idx] = s**2
    return r


def kalman_update_cov(p: np.ndarray, h: np.ndarray, r: np.ndarray) -> np.ndarray:
    """``P - P H^T (H P H^T + R)^{-1} H P`` for covariances (n, d, d), Jacobians (n, m, d)
    and noise (n, m, m), symmetrised."""
    pht = p @ np.swapaxes(h, 1, 2)
    s = h @ pht + r
    k = np.swapaxes(np.linalg.solve(s, np.swapaxes(pht, 1, 2)), 1, 2)
    out = p - k @ np.swapaxes(pht, 1, 2)
    return 0.5 * (out + np.swapaxes(out, 1, 2))


def state_bound(
    model,
    x_true: np.ndarray,
    t_s: np.ndarray,
    valid: np.ndarray,
    sensor_enu_m: np.ndarray,
    sigma_rae: np.ndarray,
    p0: np.ndarray,
) -> np.ndarray:
    """The bound ``J_k^{-1}`` (n, K, 7, 7) after each plot of ``n`` rounds.

    ``x_true`` (n, K, 7): each round's true state at its plot times ``t_s`` (n, K);
    ``valid`` (n, K): which entries are plots (a round with fewer plots is padded at its end
    with invalid entries, which are skipped); ``sensor_enu_m`` (n, K, 3) and ``sigma_rae``
    (n, K, 3) the radar and true noise of each plot; ``p0`` (n, 7, 7) the prior before the
    first plot. ``model``: anything :func:`propagate_ekf` takes (its ``q_acc_mps2`` and
    ``q_kappa`` are the process noise; zero for a deterministic truth). The loop runs over
    plot index; every step is batched over rounds.
    """
    n, k_len = t_s.shape
    out = np.zeros((n, k_len, DIM, DIM))
    p = np.array(p0, dtype=float)
    valid = np.asarray(valid, dtype=bool)
    for k in range(k_len):
        if k > 0:
            step = valid[:, k]
            dt = np.where(step, t_s[:, k] - t_s[:, k - 1], 0.0)
            _, p_pred = propagate_ekf(model, x_true[:, k - 1], p, dt)
            p = np.where(step[:, None, None], p_pred, p)
        h = measurement_jacobian(x_true[:, k], sensor_enu_m[:, k], DIM)[:, :MEAS]
        upd = kalman_update_cov(p, h, noise_covariance(sigma_rae[:, k]))
        p = np.where(valid[:, k, None, None], upd, p)
        out[:, k] = p
    return out


def impact_jacobian(model: BallisticModel, x: np.ndarray, ground_up_m=0.0):
    """``G = d(impact east, north)/dx`` (n, 2, 7) of states ``x`` (n, 7) flown to
    ``ground_up_m`` (scalar or (n,)), by central differences (all 14 flights of every state
    in one batch), and whether every flight reached the ground (n,)."""
    n = x.shape[0]
    ground = np.repeat(np.broadcast_to(np.asarray(ground_up_m, dtype=float), (n,)), 2 * DIM)
    delta = np.eye(DIM) * FD_STEP  # (7, 7): row j perturbs component j
    plus = x[:, None, :] + delta[None]
    minus = x[:, None, :] - delta[None]
    both = np.concatenate([plus, minus], axis=1).reshape(n * 2 * DIM, DIM)
    end, _, ok = propagate_to_height(model, both, ground, step_s=IMPACT_STEP_S)
    en = end[:, :2].reshape(n, 2, DIM, 2)
    g = (en[:, 0] - en[:, 1]) / (2.0 * FD_STEP)[None, :, None]  # (n, 7, 2)
    return np.swapaxes(g, 1, 2), ok.reshape(n, 2 * DIM).all(axis=1)


def impact_bound(
    model: BallisticModel, x: np.ndarray, p: np.ndarray, ground_up_m=0.0
) -> tuple[np.ndarray, np.ndarray]:
    """The impact point's bound ``G P G^T`` (n, 2, 2) (east, north, m²) of states ``x``
    (n, 7) with state bounds ``p`` (n, 7, 7), and whether it could be computed (n,)."""
    g, ok = impact_jacobian(model, np.asarray(x, dtype=float), ground_up_m)
    return g @ p @ np.swapaxes(g, 1, 2), ok


def rms_radius_m(cov_en_m2: np.ndarray) -> np.ndarray:
    """``sqrt(trace)`` of (n, 2, 2) covariances: the RMS radial error they imply, m."""
    return np.sqrt(np.trace(cov_en_m2, axis1=-2, axis2=-1))
