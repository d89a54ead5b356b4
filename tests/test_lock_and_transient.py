"""Loss of lock, the acquisition transient and SNR weighting (issue 13 point 3).

Authorities: the test streams' own generator and integrator (tests/highrate_streams.py:
the round's true path, where its own plots end and the loss-of-lock tail begins, the
transient it adds), and for SNR weighting, noise drawn here with a variance inversely
proportional to SNR.
"""

from dataclasses import replace

import numpy as np
import pytest

import highrate_streams as hs
from opencram.sense.plots import Plots
from opencram.track.manager import Tracker, TrackerConfig

ROUND = dict(launch_m=(-5000.0, 2500.0, 0.0), vel_mps=(150.0, -50.0, 200.0))
CHI2_3_95 = 7.814727903251178


def _feed(plots: Plots, sensor, config: TrackerConfig) -> Tracker:
    return hs.track_stream(plots, sensor, config)


def _tail_stream(seed: int):
    rng = np.random.default_rng(seed)
    rnd = hs.Round(**ROUND, first_plot_after_s=8.0, ending="tail")
    own, tail, *_ = hs.round_plots(rng, rnd, 0)
    t_fl, pos = hs.fly(rnd.launch_m, rnd.vel_mps, 300.0)
    return Plots.concat([own, tail]).sorted_by("time_s"), own, t_fl + rnd.launch_s, pos


def _truth_at(t_true, pos_true, t_s):
    return np.column_stack([np.interp(t_s, t_true, pos_true[:, i]) for i in range(3)])


@pytest.fixture(scope="module", params=[1, 4])
def tail(request):
    plots, own, t_true, pos_true = _tail_stream(request.param)
    on = _feed(plots, hs.radar(), TrackerConfig())
    off = _feed(plots, hs.radar(), TrackerConfig(lock_detection=False))
    return on, off, own, t_true, pos_true


def test_loss_of_lock_is_declared_at_the_end_of_the_rounds_own_plots(tail):
    on, _, own, *_ = tail
    ((tid, t_lost, t_good),) = on.lock_events
    # the last good state is the round's last own plot, and the loss is declared within
    # a second (the low-SNR run of 5 plots, or the silence of 10 revisits)
    assert t_good == pytest.approx(own.time_s[-1])
    assert own.time_s[-1] < t_lost <= own.time_s[-1] + 1.0
    u = on.updates
    tids, t = u.arrays("track_id"), u.arrays("t_s")
    # no update of the track after the loss, and the loss is said in its last update
    assert t[tids == tid].max() == pytest.approx(t_lost)
    assert u[int(np.flatnonzero(tids == tid)[-1])].lock_lost
    assert on.tracks.lock_lost[on.tracks.id == tid].all() or tid in [d[0] for d in on.deleted]


def _impact_en(model, x: np.ndarray) -> np.ndarray:
    """Where the ballistic model flies state ``x`` (7,) to the ground (ENU east, north)."""
    x = x[None, :].copy()
    for _ in range(4000):
        nxt = model.propagate_state(x, np.array([hs.DT_S]))
        if nxt[0, 2] < 0.0:
            f = x[0, 2] / (x[0, 2] - nxt[0, 2])
            return x[0, :2] + f * (nxt[0, :2] - x[0, :2])
        x = nxt
    raise AssertionError("did not land")


def test_after_the_loss_the_prediction_comes_from_the_last_good_state(tail):
    """The lost track's state (its last good one flown on) lands within 30 m of where
    the stream's round lands, and no farther than the track's last state of a tracker
    that goes on updating on the tail."""
    on, off, _, _, pos_true = tail
    ((tid, _, _),) = on.lock_events
    impact_true = pos_true[-1, :2]
    x_on = on.tracks.x[on.tracks.id == tid][0]
    err_on = np.linalg.norm(_impact_en(on.model, x_on) - impact_true)
    u = off.updates
    k = int(np.flatnonzero(u.arrays("confirmed"))[-1])
    err_off = np.linalg.norm(_impact_en(off.model, u[k].x) - impact_true)
    print(err_on, err_off)
    assert err_on < 30.0
    assert err_on <= err_off


def test_a_lost_track_is_held_until_it_lands_not_coasted_out():
    plots, *_ = _tail_stream(1)
    tracker = _feed(plots, hs.radar(), TrackerConfig())
    tracker.maintain(plots.time_s.max() + 30.0)
    assert [reason for _, _, reason in tracker.deleted] == ["landed"]


def _early_updates(config: TrackerConfig, seed: int, first_s: float = 1.0):
    """Position errors (n, 3) and NEES (n,) of the round's confirmed updates within
    ``first_s`` of its first plot, on a stream with the acquisition transient."""
    rng = np.random.default_rng(seed)
    rnd = hs.Round(**ROUND, first_plot_after_s=6.0, ending="tail")
    own, tail, t_true, pos_true, _ = hs.round_plots(rng, rnd, 0)
    tr = _feed(Plots.concat([own, tail]).sorted_by("time_s"), hs.radar(), config)
    u = tr.updates
    ok = u.arrays("confirmed") & (u.arrays("truth_id") == 0)
    t, x, p = u.arrays("t_s")[ok], u.arrays("x")[ok], u.arrays("p")[ok]
    early = t < own.time_s[0] + first_s
    d = x[early, :3] - _truth_at(t_true, pos_true, t[early])
    nees = np.einsum("ni,ni->n", d, np.linalg.solve(p[early, :3, :3], d[..., None])[..., 0])
    return d, nees


def test_the_acquisition_transient_is_down_weighted():
    """On streams with the transient (20 mrad at the first plot, 3 mrad fading over
    2.5 s), the round's track in the first second after its first plot holds the truth
    in its 95 % ellipsoids more often with the down-weighting than without, at no more
    than 10 % more error. Measured (seeds 21-24): coverage 1.00 against 0.93, RMS error
    7.2 m against 7.1 m."""
    seeds = (21, 22, 23, 24)
    on = [_early_updates(TrackerConfig(), s) for s in seeds]
    off = [_early_updates(TrackerConfig(acquisition_transient=False), s) for s in seeds]
    cov_on = np.mean(np.concatenate([n for _, n in on]) <= CHI2_3_95)
    cov_off = np.mean(np.concatenate([n for _, n in off]) <= CHI2_3_95)
    rms_on = np.sqrt(np.mean(np.concatenate([np.sum(d**2, 1) for d, _ in on])))
    rms_off = np.sqrt(np.mean(np.concatenate([np.sum(d**2, 1) for d, _ in off])))
    print(cov_on, cov_off, rms_on, rms_off)
    assert cov_on > cov_off
    assert rms_on < 1.1 * rms_off


def _snr_stream(rng, ref_db: float):
    """A round's 20 Hz plots with white errors whose variance is 10^((ref - snr) / 10)
    times the sensor's, SNR uniform over 5-35 dB."""
    t_fl, pos = hs.fly(ROUND["launch_m"], ROUND["vel_mps"], 300.0)
    idx = np.arange(int(6.0 / hs.DT_S), len(t_fl) - 1)
    r, az, el = hs.polar(pos[idx])
    snr = rng.uniform(5.0, 35.0, idx.size)
    scale = np.sqrt(10.0 ** ((ref_db - snr) / 10.0))
    r = r + rng.normal(0.0, 1.0, idx.size) * hs.SIGMA_RANGE_M * scale
    az = az + rng.normal(0.0, 1.0, idx.size) * hs.SIGMA_ANGLE_RAD * scale
    el = el + rng.normal(0.0, 1.0, idx.size) * hs.SIGMA_ANGLE_RAD * scale
    n = idx.size
    plots = Plots(
        time_s=t_fl[idx],
        sensor=np.zeros(n, dtype=np.int64),
        range_m=r,
        az_rad=np.mod(az, 2 * np.pi),
        el_rad=el,
        range_rate_mps=np.full(n, np.nan),
        snr_db=snr,
        arrival_s=t_fl[idx],
        truth_id=np.zeros(n, dtype=np.int64),
    )
    return plots, t_fl, pos


def test_snr_weighting_lowers_the_error_when_noise_follows_snr():
    ref = 20.0
    errs = {True: [], False: []}
    for seed in (31, 32):
        plots, t_true, pos_true = _snr_stream(np.random.default_rng(seed), ref)
        for weighted in (True, False):
            sensor = replace(
                hs.radar(corr=False, snr_floor=False), snr_ref_db=ref if weighted else None
            )
            tr = _feed(plots, sensor, TrackerConfig(noise_estimation=False))
            u = tr.updates
            ok = u.arrays("confirmed")
            t, x = u.arrays("t_s")[ok], u.arrays("x")[ok]
            late = t > t.min() + 3.0
            d = x[late, :3] - _truth_at(t_true, pos_true, t[late])
            errs[weighted].append(np.sqrt(np.mean(np.sum(d**2, axis=1))))
    print(errs)
    assert np.mean(errs[True]) < 0.8 * np.mean(errs[False])
