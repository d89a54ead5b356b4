"""The tracker's filter updates against FilterPy (an independent Kalman filter library),
on the same problems.

* EKF: :func:`opencram.track.ekf.ekf_update` against FilterPy's ``ExtendedKalmanFilter``
  given the same measurement function and Jacobian (the radar's polar measurement,
  linearised at the prediction).
* CKF: for a linear measurement and linear dynamics the cubature rule is exact, so
  :func:`opencram.track.ckf.ckf_update` and :func:`opencram.track.ckf.ckf_predict` must
  equal the Kalman filter's closed form (FilterPy's ``KalmanFilter``).
"""

import numpy as np
import pytest

from opencram.track.ckf import ckf_predict, ckf_update
from opencram.track.ekf import ekf_update
from opencram.track.measurement import (
    NO_INFO_VAR,
    measurement_jacobian,
    noise_cov,
    predict_measurement,
)

pytest.importorskip(
    "filterpy", reason="filterpy is the reference; install the test extra (pip install -e .[test])"
)

from filterpy.kalman import ExtendedKalmanFilter, KalmanFilter

RTOL = 1e-9
N = 8


def _tracks(seed: int):
    """Ballistic states east of the radars (azimuth well inside (0, pi): no wrap), SPD
    covariances, one radar position per track."""
    rng = np.random.default_rng(seed)
    x = np.column_stack(
        [
            rng.uniform(1500, 6000, N),
            rng.uniform(-3000, 3000, N),
            rng.uniform(200, 2500, N),
            rng.uniform(-250, 250, (N, 3)),
            rng.uniform(0.5, 3.0, N),
        ]
    )
    a = rng.normal(size=(N, 7, 7)) * [30, 30, 30, 5, 5, 5, 0.1]
    p = a @ np.swapaxes(a, 1, 2) + np.diag([100, 100, 100, 25, 25, 25, 0.25])
    spos = rng.uniform(-500, 500, (N, 3))
    return rng, x, p, spos


def _close(ours, ref, what):
    scale = np.max(np.abs(ref))
    np.testing.assert_allclose(ours, ref, rtol=RTOL, atol=RTOL * scale, err_msg=what)


def _filterpy_ekf(x, p, z, r, sensor, n_meas):
    """FilterPy's EKF update of one track with the first ``n_meas`` measurement
    components (4, or 3 for a plot without range rate)."""
    ekf = ExtendedKalmanFilter(dim_x=7, dim_z=n_meas)
    ekf.x = x.reshape(7, 1).copy()
    ekf.P = p.copy()

    def jac(state):
        return measurement_jacobian(state.reshape(1, 7), sensor, 7)[0, :n_meas]

    def hx(state):
        return predict_measurement(state.reshape(1, 7), sensor)[0, :n_meas].reshape(-1, 1)

    ekf.update(z[:n_meas].reshape(-1, 1), jac, hx, R=r[:n_meas, :n_meas])
    return ekf


def test_ekf_update_equals_filterpy_extended_kalman_filter():
    """Authority: FilterPy ``ExtendedKalmanFilter.update`` (Joseph form), fed our h(x) and
    its Jacobian: posterior mean and covariance to 1e-9. A plot without range rate is, for
    FilterPy, a 3-component (range, azimuth, elevation) measurement: our convention (zero
    innovation, variance NO_INFO_VAR) must give the same posterior."""
    rng, x, p, spos = _tracks(seed=11)
    z = predict_measurement(x, spos) + rng.normal(0, 1, (N, 4)) * [10, 2e-3, 2e-3, 1]
    no_rate = np.arange(N) % 3 == 0
    z[no_rate, 3] = np.nan
    r = noise_cov(np.full(N, 10.0), np.full(N, 2e-3), np.full(N, 2e-3), np.ones(N), ~no_rate)
    assert np.all(r[no_rate, 3, 3] == NO_INFO_VAR)
    xo, po, nu, s = ekf_update(x, p, z, r, spos)
    for i in range(N):
        n_meas = 3 if no_rate[i] else 4
        ekf = _filterpy_ekf(x[i], p[i], z[i], r[i], spos[i : i + 1], n_meas)
        _close(xo[i], ekf.x[:, 0], f"state {i}")
        _close(po[i], ekf.P, f"covariance {i}")
        _close(s[i, :n_meas, :n_meas], ekf.S, f"innovation covariance {i}")
        _close(nu[i, :n_meas], ekf.y[:, 0], f"innovation {i}")


def _linear_h(seed: int) -> np.ndarray:
    """A full-rank linear measurement matrix (4, 7)."""
    return np.random.default_rng(seed).normal(size=(4, 7))


def test_ckf_update_with_a_linear_measurement_equals_the_kalman_update():
    """Authority: the Kalman filter's closed form (FilterPy ``KalmanFilter.update``): the
    third-degree cubature rule integrates a linear measurement exactly, so mean and
    covariance must agree to 1e-9."""
    rng, x, p, spos = _tracks(seed=12)
    h = _linear_h(3)
    a = rng.normal(size=(N, 4, 4))
    r = a @ np.swapaxes(a, 1, 2) + np.eye(4) * 4.0
    z = x @ h.T + rng.normal(0, 5.0, (N, 4))

    def hx(state, _sensor):
        return state @ h.T

    xo, po, _, pzz = ckf_update(x, p, z, r, spos, hx=hx, residual=np.subtract)
    for i in range(N):
        kf = KalmanFilter(dim_x=7, dim_z=4)
        kf.x = x[i].reshape(7, 1).copy()
        kf.P = p[i].copy()
        kf.update(z[i].reshape(4, 1), R=r[i], H=h)
        _close(xo[i], kf.x[:, 0], f"state {i}")
        _close(po[i], kf.P, f"covariance {i}")
        _close(pzz[i], kf.S, f"innovation covariance {i}")


class _LinearModel:
    """Constant-velocity dynamics on the 7-column state (kappa held) as a model for
    :func:`ckf_predict`: the state moves linearly, so the cubature prediction is exact."""

    def __init__(self, q: np.ndarray):
        self.q = q

    @staticmethod
    def transition(dt_s: float) -> np.ndarray:
        f = np.eye(7)
        f[0:3, 3:6] = np.eye(3) * dt_s
        return f

    def propagate_state(self, x, dt_s):
        out = x.copy()
        out[:, 0:3] += x[:, 3:6] * np.asarray(dt_s)[:, None]
        return out

    def process_noise(self, h):
        return np.repeat(self.q[None], np.size(h), axis=0) * np.asarray(h)[:, None, None]


def test_ckf_predict_with_linear_dynamics_equals_the_kalman_prediction():
    """Authority: the Kalman prediction ``F x``, ``F P F^T + Q`` (FilterPy
    ``KalmanFilter.predict``): exact for linear dynamics, so to 1e-9."""
    rng, x, p, _ = _tracks(seed=13)
    b = rng.normal(size=(7, 7))
    model = _LinearModel(b @ b.T * 0.1)
    dt = rng.uniform(0.2, 2.0, N)
    xo, po = ckf_predict(model, x, p, dt)
    for i in range(N):
        kf = KalmanFilter(dim_x=7, dim_z=4)
        kf.x = x[i].reshape(7, 1).copy()
        kf.P = p[i].copy()
        kf.predict(F=model.transition(dt[i]), Q=model.q * dt[i])
        _close(xo[i], kf.x[:, 0], f"state {i}")
        _close(po[i], kf.P, f"covariance {i}")
