"""A flood of random plots and re-sent datagrams does not fill the track table (issue 17,
Deliver point 1, "bounded queues and bounded memory"), in process: ``LiveService.step`` on
5 s of data from one radar that re-sends the same 6 datagrams of 8 random plots, re-stamped
at the current data time, 4 times per step, and sends 400 fresh random plots per step (the
ingest's per-scan budget raised so that they all reach the tracker)."""

from __future__ import annotations

import json

import numpy as np

from opencram.interop.asterix import encode_cat048
from opencram.live.service import LiveService, ServeConfig
from opencram.sense.plots import SensorSpec
from opencram.track.config import TrackerConfig

SPEC = SensorSpec("r1", 33.3, 44.4, 34.0, 10.0, 2.0, 2.0, scan_s=1.0, sigma_range_rate_mps=1.0)
RADAR = ("10.0.0.1", 8600)
STEP_S = 0.5  # one tracker window per step
STEPS = 24  # 12 s of data: the clock starts after some seconds of agreeing plots
FRESH = 400  # fresh random plots per step


def _datagrams(rng_m, az_rad, height_frac, t_s) -> list[bytes]:
    n = rng_m.size
    return encode_cat048(
        sac=0,
        sic=1,
        tod_s=np.full(n, t_s),
        range_m=rng_m,
        az_rad=az_rad,
        height_m=34.0 + rng_m * height_frac,
    )


def _random(rng, n):
    return rng.uniform(500, 20_000, n), rng.uniform(0, 2 * np.pi, n), rng.uniform(0.02, 0.5, n)


def test_flood_of_random_and_resent_plots_starts_a_bounded_number_of_tracks():
    """Every frame's new tentative tracks stay within ``max_starts_per_frame``, the shed
    starts are counted, the re-sent plots are dropped as such, and both counts reach
    ``ingest_stats``. Seeded fault caught: the cap disabled (``_capped`` returning every
    pair), one frame started 1,117 tracks (3 per unassociated plot)."""
    cap = TrackerConfig().max_starts_per_frame
    svc = LiveService([SPEC], config=ServeConfig(idle_s=1e9, max_plots_per_scan=10_000))
    rng = np.random.default_rng(17)
    repeated = [_random(rng, 8) for _ in range(6)]
    started, events = [], []  # tentative tracks started by each frame
    initiate = svc.tracker.initiator.initiate

    def counted(plots, sensor_enu_m):
        new = initiate(plots, sensor_enu_m)
        started.append(0 if new is None else new.t_s.size)
        return new

    svc.tracker.initiator.initiate = counted
    for k in range(STEPS):
        t = 1000.0 + STEP_S * k
        for r in repeated * 4:
            for d in _datagrams(*r, t):
                svc.ingest.put_datagram(d, RADAR)
        for d in _datagrams(*_random(rng, FRESH), t):
            svc.ingest.put_datagram(d, RADAR)
        svc.note_input(t)
        events += svc.step(t).events
    events.append(svc.stats_event())
    stats = [json.loads(e) for e in events if '"ingest_stats"' in e][-1]
    assert sum(started) > 4 * cap  # the flood reached the tracker
    assert max(started) <= cap, started
    assert stats["starts_shed"] > 0
    assert stats["starts_shed"] == svc.tracker.initiator.n_starts_shed
    # the 48 re-sent plots, re-stamped each step: the ingest drops the copies inside a
    # step (the same bytes), the tracker those of later steps (the same measurements)
    assert stats["dropped"]["duplicate"] > 0
    assert stats["resent_plots"] == svc.tracker.n_resent_dropped >= 48 * 4
    # tentative tracks live at most confirm_window_s: so many frames' starts at once
    frames = int(np.ceil(TrackerConfig().confirm_window_s / STEP_S)) + 1
    assert len(svc.tracker.tracks) <= cap * frames
