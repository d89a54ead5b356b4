"""The robust (Student-t) measurement update (issue 13 point 3): 30 m range spikes on an 8 m
radar (inside the 99.9 % gate, so the track takes them) drag the track less, and the plots
between them are used as before.

At 20 Hz a track averages many plots, so one spike moves the plain estimate by only its
gain times 30 m (about 2 m here); the drag is measured as the difference between the
estimates on the stream with spikes and on the same stream without them."""

import numpy as np
import pytest

import highrate_streams as hs
from opencram.sense.plots import Plots
from opencram.track.ekf import ekf_update
from opencram.track.manager import Tracker, TrackerConfig, TrackerSensor

SIGMA_R_M = 8.0
SIGMA_A_RAD = 0.4e-3
SPIKE_M = 30.0
SPIKE_EVERY = 25  # one plot in 25 (isolated)


def _stream(seed, spikes=True):
    """20 Hz plots of one round with white noise and a +-30 m range spike every 25th
    (after the first 100)."""
    rng = np.random.default_rng(seed)
    t, pos = hs.fly((-5000.0, 2500.0, 0.0), (150.0, -50.0, 200.0), 300.0)
    sel = np.arange(int(6.0 / hs.DT_S), len(t) - 20)
    r, az, el = hs.polar(pos[sel])
    n = sel.size
    spike = (np.arange(n) % SPIKE_EVERY == SPIKE_EVERY - 1) & (np.arange(n) > 100)
    dr = rng.normal(0, SIGMA_R_M, n) + spike * SPIKE_M * rng.choice([-1.0, 1.0], n) * spikes
    plots = Plots(
        time_s=t[sel],
        sensor=np.zeros(n, dtype=np.int64),
        range_m=r + dr,
        az_rad=az + rng.normal(0, SIGMA_A_RAD, n),
        el_rad=el + rng.normal(0, SIGMA_A_RAD, n),
        range_rate_mps=np.full(n, np.nan),
        snr_db=np.full(n, 20.0),
        arrival_s=t[sel],
        truth_id=np.zeros(n, dtype=np.int64),
    )
    return plots, pos[sel], spike


def _range_errors(robust_dof, spikes=True, seed=4):
    """Times of the plots the round's track used, its range error (m) there, and which
    were spikes."""
    plots, truth, spike = _stream(seed, spikes)
    sensor = TrackerSensor(
        id="r",
        pos_enu_m=np.zeros(3),
        sigma_range_m=SIGMA_R_M,
        sigma_az_rad=SIGMA_A_RAD,
        sigma_el_rad=SIGMA_A_RAD,
        scan_s=hs.DT_S,
    )
    tracker = Tracker([sensor], TrackerConfig(robust_dof=robust_dof))
    tracker.add(plots)
    tracker.finish()
    tid = tracker.updates.arrays("track_id")
    ids, counts = np.unique(tid, return_counts=True)
    mine = tid == ids[np.argmax(counts)]
    t_up = tracker.updates.arrays("t_s")[mine]
    x = tracker.updates.arrays("x")[mine]
    k = np.searchsorted(plots.time_s, t_up)
    err = np.linalg.norm(x[:, :3], axis=1) - np.linalg.norm(truth[k], axis=1)
    return t_up, err, spike[k]


@pytest.fixture(scope="module")
def errors():
    return {(k, sp): _range_errors(k, sp) for k in (None, 4.0) for sp in (True, False)}


def _drag(errors, k):
    """Mean |estimate with spikes - estimate without| at the spike plots the track took
    (each run's track updated at those plots), m."""
    t_s, spiky, spike = errors[(k, True)]
    t_c, clean, _ = errors[(k, False)]
    _, i, j = np.intersect1d(t_s, t_c, return_indices=True)
    sel = spike[i]
    assert sel.sum() >= 5  # spikes the track took (the others fall outside the gate)
    return float(np.mean(np.abs(spiky[i] - clean[j])[sel]))


def test_range_spikes_drag_the_robust_track_less(errors):
    plain, robust = _drag(errors, None), _drag(errors, 4.0)
    assert plain > 1.0  # the spikes do move the plain estimate
    assert robust < 0.7 * plain


def test_the_robust_track_between_spikes_is_as_good(errors):
    def rms(k):
        _, e, spike = errors[(k, True)]
        return float(np.sqrt(np.mean(e[~spike][50:] ** 2)))

    assert rms(4.0) <= rms(None)


def test_within_one_sigma_the_robust_update_is_the_kalman_update():
    x = np.array([[3000.0, 4000.0, 1000.0, -100.0, 50.0, 20.0, 1.0]])
    p = np.diag([100.0, 100.0, 100.0, 25.0, 25.0, 25.0, 1.0])[None]
    r = np.diag([25.0, 1e-6, 1e-6, 1e12])[None]
    z = np.array([[np.linalg.norm(x[0, :3]) + 1.0, 0.6435, 0.1963, np.nan]])
    plain = ekf_update(x, p, z, r, np.zeros((1, 3)))
    robust = ekf_update(x, p, z, r, np.zeros((1, 3)), robust_dof=4.0)
    for a, b in zip(plain, robust, strict=True):
        np.testing.assert_array_equal(a, b)
