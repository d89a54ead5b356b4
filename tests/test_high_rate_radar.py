"""A 20 Hz counter-battery radar (issue 13, point 2): every plot used, one round one track.

The plot streams (tests/highrate_streams.py) follow issue 13's description of recorded
data: the radar's own tracking-loop output at 20 Hz, errors correlated in time (AR(1)),
an acquisition transient, isolated range spikes, and then either a loss-of-lock tail (SNR
0-5 dB, range walking back, angles drifting) or ground clutter where the round landed
(high SNR, 6 s). The truth is flown by the test's own integrator, not opencram.physics.
"""

from collections import Counter

import numpy as np
import pytest

import highrate_streams as hs
from opencram.sense.plots import Plots
from opencram.track.manager import TrackerConfig

CONFIG = TrackerConfig()
# Tracks a round may make, and why. A start: the first window of plots waits in the pool;
# the first plot init_min_dt_s later starts up to init_candidates tentative tracks, the
# next plot is in their gates, one of them takes it and the others lapse or are merged.
# Allow a second start for the acquisition transient (a start pair with a 20 mrad error).
# Ground clutter: one tentative track at a time holds the blob's plots (they are in its
# gate), is never confirmed (it does not move) and is dropped confirm_window_s after its
# start; then the blob starts the next: ceil(CLUTTER_S / confirm_window_s) starts.
STARTS_PER_ROUND = 2
CLUTTER_STARTS = int(np.ceil(hs.CLUTTER_S / CONFIG.confirm_window_s))


def _track(rounds, seed, sensor=None):
    """Plots of ``rounds`` (and their endings), fed to a tracker a second at a time."""
    rng = np.random.default_rng(seed)
    own, extra = [], []
    for i, rnd in enumerate(rounds):
        o, e, *_ = hs.round_plots(rng, rnd, i)
        own.append(o)
        extra.append(e)
    plots = Plots.concat(own + extra).sorted_by("time_s")
    tracker = hs.track_stream(plots, sensor or hs.radar(), CONFIG)
    return tracker, own


def _updates_by_track(tracker):
    """Track id -> (truth ids of its updates, times, whether confirmed at each)."""
    u = tracker.updates
    tid, truth = u.arrays("track_id"), u.arrays("truth_id")
    t, conf = u.arrays("t_s"), u.arrays("confirmed")
    return {int(k): (truth[tid == k], t[tid == k], conf[tid == k]) for k in np.unique(tid)}


def _confirmed_tracks(tracker):
    """Confirmed tracks: id -> the truth id most of its updates have."""
    out = {}
    for k, (truth, _, conf) in _updates_by_track(tracker).items():
        if conf.any():
            out[k] = Counter(truth.tolist()).most_common(1)[0][0]
    return out


# A mortar-like high-angle round and a lower, faster one; first plots 4-12 s after launch.
ROUND_A = dict(launch_m=(-5000.0, 2500.0, 0.0), vel_mps=(150.0, -50.0, 200.0))
ROUND_B = dict(launch_m=(4000.0, 5000.0, 0.0), vel_mps=(-140.0, -110.0, 170.0))


@pytest.fixture(scope="module")
def tail_run():
    return _track([hs.Round(**ROUND_A, first_plot_after_s=8.0, ending="tail")], seed=1)


@pytest.fixture(scope="module")
def clutter_run():
    return _track([hs.Round(**ROUND_A, first_plot_after_s=5.0, ending="clutter")], seed=2)


@pytest.fixture(scope="module")
def two_rounds_run():
    rounds = [
        hs.Round(**ROUND_A, first_plot_after_s=6.0, ending="tail"),
        hs.Round(**ROUND_B, launch_s=2.0, first_plot_after_s=4.0, ending="clutter"),
    ]
    return _track(rounds, seed=3)


def _check_every_plot_used(tracker, own_plots, truth_id):
    """The round's one confirmed track used every plot of the round from its first update
    on (all of them are in its gate: spikes of 35 m are 2.3 sigma of the inflated range
    noise), and at most the plots of its first second waited for the start."""
    (track,) = [k for k, t in _confirmed_tracks(tracker).items() if t == truth_id]
    truth, t, _ = _updates_by_track(tracker)[track]
    used = int(np.sum(truth == truth_id))
    offered = int(np.sum(own_plots.time_s >= t[0]))
    assert used == offered
    assert own_plots.time_s[0] >= t[0] - 1.0


def test_one_round_gives_one_track_that_uses_every_plot(tail_run):
    tracker, own = tail_run
    assert list(_confirmed_tracks(tracker).values()) == [0]
    _check_every_plot_used(tracker, own[0], 0)
    assert tracker.next_track_id - 1 <= STARTS_PER_ROUND * CONFIG.init_candidates


def test_the_loss_of_lock_tail_makes_no_track(tail_run):
    tracker, _ = tail_run
    tail_tracks = [
        k
        for k, (truth, _, _) in _updates_by_track(tracker).items()
        if np.mean(truth == hs.TAIL_ID) > 0.5
    ]
    assert tail_tracks == []


def test_ground_clutter_after_impact_is_never_confirmed(clutter_run):
    tracker, own = clutter_run
    assert list(_confirmed_tracks(tracker).values()) == [0]
    _check_every_plot_used(tracker, own[0], 0)
    bound = (STARTS_PER_ROUND + CLUTTER_STARTS) * CONFIG.init_candidates
    assert tracker.next_track_id - 1 <= bound
    # the round's track ended by landing, not on the clutter
    assert [reason for _, _, reason in tracker.deleted] == ["landed"]


def test_two_rounds_in_flight_give_two_tracks(two_rounds_run):
    tracker, own = two_rounds_run
    assert sorted(_confirmed_tracks(tracker).values()) == [0, 1]
    for i in (0, 1):
        _check_every_plot_used(tracker, own[i], i)
    bound = (2 * STARTS_PER_ROUND + CLUTTER_STARTS) * CONFIG.init_candidates
    assert tracker.next_track_id - 1 <= bound


def test_the_tail_would_make_a_track_without_the_start_snr_floor():
    """The floor is what keeps the tail out (its plots move like a slow aircraft): the
    same stream without it confirms a track on the tail. (Shows the test above can fail.)"""
    tracker, _ = _track(
        [hs.Round(**ROUND_A, first_plot_after_s=8.0, ending="tail")],
        seed=1,
        sensor=hs.radar(snr_floor=False),
    )
    assert hs.TAIL_ID in _confirmed_tracks(tracker).values()
