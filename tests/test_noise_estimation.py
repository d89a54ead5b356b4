"""Noise as it is (issue 13 point 3): the online per-sensor noise estimate, the
acquisition transient, loss of lock.

The authority is each test stream's own noise generator (tests/highrate_streams.py: its
sigmas, its AR(1) coefficient, its tail) and the stream's own integrator for the truth;
the tracker is told sigmas 3x too small or 1/0.3 too large, as a data sheet may be.
"""

from dataclasses import replace

import numpy as np
import pytest

import highrate_streams as hs
from opencram.sense.plots import Plots
from opencram.track.manager import TrackerConfig
from opencram.track.noise import (
    SIGMA_FACTOR_MAX,
    NoiseEstimator,
    NoiseSample,
    snr_factor,
)

CHI2_3_95 = 7.814727903251178  # 95 % point of chi-square, 3 degrees of freedom
LEARN = TrackerConfig(noise_estimation=True)  # the updates use the estimate
ROUND = dict(launch_m=(-5000.0, 2500.0, 0.0), vel_mps=(150.0, -50.0, 200.0))
# The estimate of a sigma after one round (about 400 plots, of which about 300 are past
# the acquisition transient) is within this fraction of the generator's sigma. Measured
# (seed 11): told 3x too small, 4.97 m, 0.369 / 0.416 mrad; told 3.3x too large, 5.90 m,
# 0.465 / 0.481 mrad, against 5 m, 0.4 mrad (the prior, forgotten at the data's rate,
# still holds a few per cent of the weight after one round).
TOLERANCE = 0.25


def _run(factor: float, seed: int, config: TrackerConfig, spikes: bool = True, rounds: int = 1):
    """``rounds`` rounds' 20 Hz streams (tail endings, one after the other, a minute
    apart), the tracker told sigmas ``1 / factor`` of the generator's; returns the
    tracker and the last round's true times and path (its truth id is ``rounds - 1``)."""
    rng = np.random.default_rng(seed)
    old = hs.SPIKE_FRACTION
    hs.SPIKE_FRACTION = old if spikes else 0.0
    parts = []
    try:
        for i in range(rounds):
            rnd = hs.Round(**ROUND, launch_s=60.0 * i, first_plot_after_s=6.0, ending="tail")
            own, extra, t_true, pos_true, _ = hs.round_plots(rng, rnd, i)
            parts += [own, extra]
    finally:
        hs.SPIKE_FRACTION = old
    sensor = replace(
        hs.radar(),
        sigma_range_m=hs.SIGMA_RANGE_M / factor,
        sigma_az_rad=hs.SIGMA_ANGLE_RAD / factor,
        sigma_el_rad=hs.SIGMA_ANGLE_RAD / factor,
    )
    plots = Plots.concat(parts).sorted_by("time_s")
    tracker = hs.track_stream(plots, sensor, config)
    return tracker, t_true, pos_true


def _nees(tracker, t_true, pos_true, truth_id: int, after_s: float = 3.0) -> np.ndarray:
    """Normalised position errors squared ``d^T P^-1 d`` of the round's confirmed updates,
    ``after_s`` past the first (the truth at the plot's time, on the stream's own 20 Hz
    truth grid)."""
    u = tracker.updates
    ok = u.arrays("confirmed") & (u.arrays("truth_id") == truth_id)
    t = u.arrays("t_s")[ok]
    x, p = u.arrays("x")[ok], u.arrays("p")[ok]
    keep = t >= t.min() + after_s
    idx = np.clip(np.searchsorted(t_true, t[keep] - 1e-9), 0, len(t_true) - 1)
    d = x[keep, :3] - pos_true[idx]
    return np.einsum("ni,ni->n", d, np.linalg.solve(p[keep, :3, :3], d[..., None])[..., 0])


@pytest.mark.parametrize("factor", [3.0, 0.3])
def test_estimate_converges_to_the_generators_sigma(factor):
    tracker, *_ = _run(factor, seed=11, config=LEARN, spikes=False)
    (rep,) = tracker.noise.report()
    truth = np.array([hs.SIGMA_RANGE_M, hs.SIGMA_ANGLE_RAD * 1e3, hs.SIGMA_ANGLE_RAD * 1e3])
    est = np.array(rep.sigma)
    prior = np.array(rep.prior_sigma)
    print(factor, est, truth, prior)
    assert np.all(np.abs(est / truth - 1.0) < TOLERANCE)
    # and it moved from the prior, which is off by 3x or 1 / 0.3x
    assert np.all(np.abs(est / truth - 1.0) < 0.5 * np.abs(prior / truth - 1.0))


@pytest.mark.parametrize("factor", [3.0, 0.3])
def test_ellipses_are_more_honest_than_with_the_fixed_noise(factor):
    """Two rounds a minute apart; on the second, with the noise learnt from the first and
    its own plots, against the sensors file's sigmas kept: the 95 % position ellipsoids
    hold the truth closer to 95 % of the time, or (where both hold it every time) the
    mean normalised error squared is closer to 3, its value for honest 3-D ellipsoids
    (Bar-Shalom, Li & Kirubarajan, *Estimation with Applications to Tracking and
    Navigation*, section 5.4). Measured (seed 12): told 3x too small, coverage 0.96
    against 0.61 (mean NEES 2.6 against 7.9); told 3.3x too large, both 1.00, mean NEES
    1.9 against 0.84."""
    learnt = _nees(*_run(factor, seed=12, config=LEARN, rounds=2), truth_id=1)
    fixed_cfg = TrackerConfig(noise_estimation=False)
    fixed = _nees(*_run(factor, seed=12, config=fixed_cfg, rounds=2), truth_id=1)
    cov_l, cov_f = np.mean(learnt <= CHI2_3_95), np.mean(fixed <= CHI2_3_95)
    print(factor, cov_l, cov_f, learnt.mean(), fixed.mean())
    assert abs(cov_l - 0.95) <= abs(cov_f - 0.95)
    assert abs(np.log(learnt.mean() / 3.0)) < abs(np.log(fixed.mean() / 3.0))
    if factor > 1:
        assert abs(cov_l - 0.95) < abs(cov_f - 0.95)


def _sample(eps, prev=None, d2=None):
    """A NoiseSample of residuals ``eps`` (m, 3) of sensor 0, no H P H^T, unit factors."""
    m = eps.shape[0]
    nan = np.full((m, 3), np.nan)
    return NoiseSample(
        np.zeros(m, np.int64),
        eps,
        np.zeros((m, 3)),
        np.ones((m, 3)),
        nan if prev is None else prev,
        nan if d2 is None else d2,
        np.full(m, d2 is not None),
    )


def _unit_sensor(corr_s: float = 0.0):
    return replace(
        hs.radar(corr=False),
        sigma_range_m=1.0,
        sigma_az_rad=1e-3,
        sigma_el_rad=1e-3,
        noise_corr_s=corr_s,
    )


SIG = np.array([3.0, 3e-3, 3e-3])  # the residuals' sigma drawn here: 3x the prior


def test_residual_form_against_ar1_residuals_drawn_here():
    """The recursion alone, fed AR(1) residuals (coefficient 0.8, sigma 3x the prior):
    the estimated sigma within 15 %, the lag-1 correlation within 0.1."""
    rng = np.random.default_rng(5)
    est = NoiseEstimator([_unit_sensor()])
    n = 4000
    eps = np.column_stack([hs.ar1(rng, n, s, 0.8) for s in SIG])
    for k in range(1, n, 20):
        m = min(20, n - k)
        est.observe(_sample(eps[k : k + m], prev=eps[k - 1 : k - 1 + m] / SIG))
    assert np.allclose(est.sigma()[0], SIG, rtol=0.15)
    assert np.allclose(est.rho()[0], 0.8, atol=0.1)


def test_second_difference_form_against_ar1_errors_drawn_here():
    """A tracking radar's form: second differences of AR(1) errors (coefficient 0.8,
    stated by the sensor's noise_corr_s) on top of a curving path (a constant second
    difference of 0.02 m, a round's at 20 Hz): the sigma within 10 %."""
    rng = np.random.default_rng(6)
    est = NoiseEstimator([_unit_sensor(corr_s=-hs.DT_S / np.log(0.8))])
    n = 6000
    e = np.column_stack([hs.ar1(rng, n, s, 0.8) for s in SIG])
    d2 = e[2:] - 2 * e[1:-1] + e[:-2] + np.array([0.02, 0.0, 0.0])
    for k in range(0, n - 2, 20):
        est.observe(_sample(e[2 + k : 22 + k], d2=d2[k : k + 20]))
    assert np.allclose(est.sigma()[0], SIG, rtol=0.10)


def test_estimate_is_bounded_and_the_prior_resists_a_few_plots():
    est = NoiseEstimator([_unit_sensor()])
    big = np.array([[1e4, 10.0, 10.0]] * 3)
    est.observe(_sample(big))
    # three plots 10^4 sigma off, winsorised at 3 sigma, against a prior of 10 plots: the
    # variance grows at most to about (10 + 3 * 9 / 0.97) / 13 of the prior's (0.97: the
    # winsorising correction), a sigma 1.7x
    assert np.all(est.sigma()[0] / [1.0, 1e-3, 1e-3] < np.sqrt((10 + 27 / 0.97) / 13) * 1.001)
    for _ in range(200):
        est.observe(_sample(big))
    assert np.allclose(est.sigma()[0], np.array([1.0, 1e-3, 1e-3]) * SIGMA_FACTOR_MAX)


def test_snr_factor_follows_the_radar_equation_and_is_bounded():
    f = snr_factor(np.array([20.0, 10.0, 40.0, np.nan, -30.0]), np.array([20.0] * 5))
    assert np.allclose(f[:4], [1.0, 10.0, 0.25, 1.0])
    assert f[4] == 100.0
