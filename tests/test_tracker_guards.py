"""The tracker on input that used to stop it (issue 17): singular covariances (a sensor
sigma of 1e-300, degenerate duplicate tracks), a flood of re-sent identical plots, and one
plot stamped far from the others."""

import numpy as np
import pytest

import highrate_streams as hs
from opencram.sense.plots import Plots
from opencram.track.deleter import duplicate_mask
from opencram.track.history import confirmed_updates
from opencram.track.linalg import chol_cov, logdet_cov, solve_cov, solve_cov_vec
from opencram.track.manager import Tracker, TrackerConfig, TrackerSensor
from opencram.track.models import MAX_SUBSTEPS, substeps


def _rank_deficient(rng, n, d, rank):
    a = rng.normal(size=(n, d, rank))
    return a @ np.swapaxes(a, 1, 2)


def test_solve_on_a_well_posed_covariance_is_numpys_solve_bit_for_bit():
    rng = np.random.default_rng(0)
    a = _rank_deficient(rng, 50, 4, 4) + np.eye(4)
    b = rng.normal(size=(50, 4, 3))
    assert np.array_equal(solve_cov(a, b), np.linalg.solve(a, b))
    assert np.array_equal(logdet_cov(a), np.linalg.slogdet(a)[1])
    assert np.array_equal(chol_cov(a), np.linalg.cholesky(a))


def test_singular_covariances_solve_as_numpys_pseudo_inverse_in_their_range():
    """Against numpy's pinv: for b in the range of a singular A, the repaired solve is the
    minimum-norm solution (the floored eigenvalues meet no component of b)."""
    rng = np.random.default_rng(1)
    a = _rank_deficient(rng, 20, 4, 2)
    a[:5] = 0.0  # a zero matrix: a sensor sigma of 1e-300 squared
    b = a @ rng.normal(size=(20, 4, 1))
    x = solve_cov(a, b)
    np.testing.assert_allclose(x, np.linalg.pinv(a) @ b, rtol=1e-5, atol=1e-6)
    assert np.isfinite(logdet_cov(a)).all()
    f = chol_cov(a)
    assert np.isfinite(f).all()
    np.testing.assert_allclose(f @ np.swapaxes(f, 1, 2), a, atol=1e-6)


def test_a_non_finite_covariance_gives_nan_not_an_exception():
    a = np.stack([np.eye(3), np.full((3, 3), np.nan)])
    v = np.ones((2, 3))
    x = solve_cov_vec(a, v)
    assert np.array_equal(x[0], v[0]) and np.isnan(x[1]).all()
    assert np.isnan(logdet_cov(a)[1]) and np.isnan(chol_cov(a)[1][np.tril_indices(3)]).all()


def test_duplicates_with_degenerate_covariances_are_merged_not_a_crash():
    """The crash site of issue 17 (``np.linalg.solve`` on the sum of two singular
    position covariances)."""
    x = np.zeros((3, 7))
    x[2, :3] = 5000.0
    p = np.zeros((3, 7, 7))
    gone = duplicate_mask(x, p, np.array([9, 4, 4]), np.array([1, 0, 0]), 11.34)
    assert gone.tolist() == [False, True, False]


def _noiseless_round_plots(n_sensors):
    t, pos = hs.fly((-6000.0, 3000.0, 0.0), (180.0, -60.0, 230.0), 60.0)
    sel = np.arange(120, len(t), 20)  # 1 Hz from 6 s after launch
    r, az, el = hs.polar(pos[sel])
    n = sel.size
    return Plots.concat(
        [
            Plots(
                time_s=t[sel],
                sensor=np.full(n, s),
                range_m=r,
                az_rad=az,
                el_rad=el,
                range_rate_mps=np.full(n, np.nan),
                snr_db=np.full(n, 20.0),
                arrival_s=t[sel],
                truth_id=np.zeros(n, dtype=np.int64),
            )
            for s in range(n_sensors)
        ]
    )


@pytest.mark.parametrize("filter_name", ["imm", "ekf", "ckf"])
def test_a_sensor_sigma_of_1e_300_does_not_stop_the_tracker(filter_name):
    """Two such radars seeing one round without noise: every covariance is singular."""
    sensors = [
        TrackerSensor(
            id=f"r{i}",
            pos_enu_m=np.zeros(3),
            sigma_range_m=1e-300,
            sigma_az_rad=1e-300,
            sigma_el_rad=1e-300,
        )
        for i in range(2)
    ]
    tracker = Tracker(sensors, TrackerConfig(filter=filter_name))
    tracker.add(_noiseless_round_plots(2))
    tracker.finish()
    assert len(confirmed_updates(tracker)) >= 1


def _flood(rng, n_datagrams=6, per_datagram=8):
    """The same datagrams of random plots, to be re-sent at the current data time."""
    n = n_datagrams * per_datagram
    return dict(
        range_m=rng.uniform(1000.0, 20000.0, n),
        az_rad=rng.uniform(0.0, 2 * np.pi, n),
        el_rad=rng.uniform(0.0, 0.6, n),
    )


def _flood_at(d, t_s, copies):
    n = d["range_m"].size * copies
    return Plots(
        time_s=np.full(n, t_s),
        sensor=np.zeros(n, dtype=np.int64),
        range_m=np.tile(d["range_m"], copies),
        az_rad=np.tile(d["az_rad"], copies),
        el_rad=np.tile(d["el_rad"], copies),
        range_rate_mps=np.full(n, np.nan),
        snr_db=np.full(n, 20.0),
        arrival_s=np.full(n, t_s),
        truth_id=np.full(n, -1, dtype=np.int64),
    )


def test_a_flood_of_resent_identical_plots_keeps_the_tracker_bounded():
    """400 scans (20 s at 20 per second) of the same 48 random plots, each sent twice at
    the current data time, with a real round at 1 Hz in the same stream."""
    sensor = TrackerSensor(
        id="r", pos_enu_m=np.zeros(3), sigma_range_m=10.0, sigma_az_rad=1e-3, sigma_el_rad=1e-3
    )
    tracker = Tracker([sensor], TrackerConfig())
    rng = np.random.default_rng(5)
    flood = _flood(rng)
    own, *_ = hs.round_plots(rng, hs.Round((-6000.0, 3000.0, 0.0), (180.0, -60.0, 230.0)), 0)
    round_1hz = own.take(np.arange(0, len(own), 20))
    peak, t = 0, 0.0
    for k in range(400):
        t = 10.0 + 0.05 * k
        sel = np.flatnonzero((round_1hz.time_s >= t - 0.05) & (round_1hz.time_s < t))
        tracker.add(Plots.concat([_flood_at(flood, t, 2), round_1hz.take(sel)]))
        tracker.step(t)
        peak = max(peak, len(tracker.tracks))
    tracker.add(round_1hz.take(np.flatnonzero(round_1hz.time_s >= t)))
    tracker.finish()
    # only the first sending of each plot is kept (it was new: the rest repeat it)
    assert tracker.n_resent_dropped == 400 * 2 * 48 - 48
    assert peak <= 10
    truths = [
        {u.truth_id for u in ups} for ups in confirmed_updates(tracker).values() if len(ups) > 5
    ]
    assert truths == [{0}]


class _RecordingFilter:
    """A filter that records the longest prediction it was asked for."""

    def __init__(self, inner):
        self.inner = inner
        self.max_dt_s = 0.0

    def _seen(self, dt_s):
        if np.size(dt_s):
            self.max_dt_s = max(self.max_dt_s, float(np.max(np.abs(dt_s))))

    def start(self, x, p):
        return self.inner.start(x, p)

    def predict(self, tracks, rows, dt_s):
        self._seen(dt_s)
        return self.inner.predict(tracks, rows, dt_s)

    def update(self, tracks, rows, dt_s, *args):
        self._seen(dt_s)
        return self.inner.update(tracks, rows, dt_s, *args)


def test_a_plot_far_from_the_others_is_not_predicted_to():
    """One plot stamped 1e9 s on (issue 17 point 5): no track is predicted across the gap,
    the tracks end, and any prediction's substeps are capped."""
    sensor = TrackerSensor(
        id="r", pos_enu_m=np.zeros(3), sigma_range_m=10.0, sigma_az_rad=1e-3, sigma_el_rad=1e-3
    )
    tracker = Tracker([sensor], TrackerConfig())
    tracker.filter = rec = _RecordingFilter(tracker.filter)
    plots = _noiseless_round_plots(1)
    far = plots.take(np.array([len(plots) // 2]))
    far = Plots(**{**far.__dict__, "time_s": far.time_s + 1e9, "arrival_s": far.arrival_s + 1e9})
    first = plots.take(np.arange(len(plots) // 2))
    tracker.add(first)
    tracker.step(float(first.time_s[-1]) + 1.0)
    assert len(tracker.tracks) >= 1
    tracker.add(far)
    tracker.finish()
    cfg = tracker.config
    assert rec.max_dt_s <= max(cfg.coast_s, cfg.confirm_window_s)
    assert [reason for _, _, reason in tracker.deleted] in (["coasted"], ["landed"])
    assert substeps(np.array([1e9]))[0][0] == MAX_SUBSTEPS
