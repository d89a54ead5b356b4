"""The impact-point information bound (``opencram.predict.crb``) against estimators that
are not ours.

1. **scipy's least squares, Monte Carlo.** A round in vacuum (drag parameter 0 and known,
   so the true path is a parabola written out here) seen by a radar in range, azimuth and
   elevation with white noise. The maximum-likelihood estimate of its initial position and
   velocity, from ``scipy.optimize.least_squares`` on this test's own measurement model, is
   efficient for this nearly linear problem: over many noise draws its covariance at the
   last plot, and the covariance of the impact points it flies to (analytically), must
   match the bound within Monte Carlo error. A bound too low (information double-counted,
   R in the wrong units) or too high (a plot skipped) fails.
2. **FilterPy's extended Kalman filter** run with its Jacobian taken at the truth: the
   bound's recursion is that filter's covariance (the deterministic-trajectory form of the
   posterior Cramér-Rao bound), so the two must agree to rounding.
"""

from __future__ import annotations

import numpy as np
import pytest
from filterpy.kalman import ExtendedKalmanFilter
from scipy.optimize import least_squares

from opencram.predict.crb import impact_bound, state_bound
from opencram.track.models import BallisticModel

G = 9.80665  # standard gravity (CGPM 1901), m/s²
RADAR = np.array([0.0, 0.0, 0.0])
SIGMA = np.array([5.0, 1.0e-3, 1.0e-3])  # range m, azimuth rad, elevation rad
T = np.arange(60) * 0.05  # 3 s of plots at 20 Hz
P_START = np.array([2000.0, 3000.0, 800.0])
V_START = np.array([-80.0, -120.0, 150.0])
TRIALS = 400


def path(theta: np.ndarray, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Position and velocity at ``t`` of a vacuum flight from ``theta`` = (p0, v0)."""
    p0, v0 = theta[:3], theta[3:]
    drop = np.array([0.0, 0.0, 0.5 * G])
    pos = p0 + np.outer(t, v0) - np.outer(t**2, drop)
    vel = v0 - np.outer(t, np.array([0.0, 0.0, G]))
    return pos, vel


def rae(pos: np.ndarray) -> np.ndarray:
    d = pos - RADAR
    horiz = np.hypot(d[:, 0], d[:, 1])
    return np.column_stack(
        [np.hypot(horiz, d[:, 2]), np.arctan2(d[:, 0], d[:, 1]), np.arctan2(d[:, 2], horiz)]
    )


def rae_jacobian(pos: np.ndarray) -> np.ndarray:
    """d(range, az, el)/d(position) (3, 3) at one position, written out here."""
    e, n, u = pos - RADAR
    h2 = e * e + n * n
    h = np.sqrt(h2)
    r2 = h2 + u * u
    r = np.sqrt(r2)
    return np.array(
        [
            [e / r, n / r, u / r],
            [n / h2, -e / h2, 0.0],
            [-e * u / (r2 * h), -n * u / (r2 * h), h / r2],
        ]
    )


def fit(z: np.ndarray, guess: np.ndarray) -> np.ndarray:
    def resid(theta):
        d = z - rae(path(theta, T)[0])
        d[:, 1] = (d[:, 1] + np.pi) % (2 * np.pi) - np.pi
        return (d / SIGMA).ravel()

    return least_squares(resid, guess, xtol=1e-12, ftol=1e-12).x


def impact_en(pos: np.ndarray, vel: np.ndarray) -> np.ndarray:
    """Where a vacuum flight from (pos, vel) (m, 3) meets u = 0."""
    t = (vel[:, 2] + np.sqrt(vel[:, 2] ** 2 + 2 * G * pos[:, 2])) / G
    return pos[:, :2] + vel[:, :2] * t[:, None]


def vacuum_bound():
    """Our bound at every plot of the test's flight (drag parameter 0, known)."""
    pos, vel = path(np.concatenate([P_START, V_START]), T)
    x = np.concatenate([pos, vel, np.zeros((T.size, 1))], axis=1)[None]
    p0 = np.diag([1e8, 1e8, 1e8, 1e6, 1e6, 1e6, 0.0])[None]
    k = T.size
    model = BallisticModel(q_acc_mps2=0.0, q_kappa=0.0)
    bound = state_bound(
        model,
        x,
        T[None],
        np.ones((1, k), bool),
        np.broadcast_to(RADAR, (1, k, 3)),
        np.broadcast_to(SIGMA, (1, k, 3)),
        p0,
    )
    return model, x[0], bound[0]


@pytest.fixture(scope="module")
def monte_carlo():
    rng = np.random.default_rng(20261202)
    truth = np.concatenate([P_START, V_START])
    z_true = rae(path(truth, T)[0])
    states, impacts = [], []
    for _ in range(TRIALS):
        z = z_true + rng.normal(0.0, SIGMA, z_true.shape)
        theta = fit(z, truth + rng.normal(0.0, [20, 20, 20, 2, 2, 2]))
        pos, vel = path(theta, T[-1:])
        states.append(np.concatenate([pos[0], vel[0]]))
        impacts.append(impact_en(pos, vel)[0])
    return np.array(states), np.array(impacts)


def test_the_state_bound_matches_the_ml_estimators_covariance(monte_carlo):
    states, _ = monte_carlo
    _, _, bound = vacuum_bound()
    emp = np.cov(states.T)
    want = np.diag(bound[-1][:6, :6])
    ratio = np.diag(emp) / want
    # a sample variance of 400 draws is within about +-15 % (3 sigma of sqrt(2/400))
    assert np.all((ratio > 0.8) & (ratio < 1.25)), ratio


def test_the_impact_bound_matches_the_ml_impacts_covariance(monte_carlo):
    _, impacts = monte_carlo
    model, x, bound = vacuum_bound()
    cov, ok = impact_bound(model, x[-1:], bound[-1:])
    assert ok.all()
    emp = np.cov(impacts.T)
    ratio = np.trace(emp) / np.trace(cov[0])
    assert 0.8 < ratio < 1.25, (ratio, emp, cov[0])
    # and the truth's own impact lies where the bound's centre says (the flight is right)
    truth_imp = impact_en(*path(np.concatenate([P_START, V_START]), T[-1:]))
    assert np.allclose(truth_imp, impacts.mean(axis=0), atol=3 * np.sqrt(np.trace(cov[0])))


def test_the_recursion_is_filterpys_ekf_covariance_on_the_truth():
    _, x, bound = vacuum_bound()
    kf = ExtendedKalmanFilter(dim_x=6, dim_z=3)
    kf.P = np.diag([1e8, 1e8, 1e8, 1e6, 1e6, 1e6])
    kf.R = np.diag(SIGMA**2)
    kf.Q = np.zeros((6, 6))
    for k in range(T.size):
        if k > 0:
            dt = T[k] - T[k - 1]
            kf.F = np.block([[np.eye(3), dt * np.eye(3)], [np.zeros((3, 3)), np.eye(3)]])
            kf.predict()
        kf.x = x[k, :6].copy()  # linearise at the truth

        def jac(state):
            return np.hstack([rae_jacobian(state[:3]), np.zeros((3, 3))])

        kf.update(rae(x[k : k + 1, :3])[0], jac, lambda s: rae(s[None, :3])[0])
        np.testing.assert_allclose(bound[k][:6, :6], kf.P, rtol=1e-6, atol=1e-9)


def test_more_plots_never_loosen_the_bound():
    _, _, bound = vacuum_bound()
    # the position bound at the last plot, flown back, is no looser than earlier ones
    tr = np.trace(bound[:, 3:6, 3:6], axis1=1, axis2=2)  # velocity: constant in vacuum
    assert np.all(np.diff(tr) <= 1e-9 * tr[:-1])
