"""The live service against hostile input, in process (issue 17): a flood of valid CAT048
from one radar, forged plots far ahead of the clock, a real clock jump, datagrams from an
unexpected source address, repeated datagrams and more plots per scan than the budget.

Each test says in its docstring which seeded fault it was seen to catch."""

from __future__ import annotations

import json

import numpy as np
import pytest

from opencram.c2.engine import run
from opencram.c2.world import compile_world
from opencram.interop.asterix import decode_cat062, encode_cat048, plots_to_datagrams
from opencram.live.service import LiveService, ServeConfig
from opencram.scenario.load import load
from opencram.sense.plots import SensorSpec, sensor_specs_from_scenario

SPEC = SensorSpec("r1", 33.3, 44.4, 34.0, 10.0, 2.0, 2.0, scan_s=1.0, sigma_range_rate_mps=1.0)
SPEC2 = SensorSpec("r2", 33.31, 44.41, 34.0, 10.0, 2.0, 2.0, scan_s=1.0)
RADAR_1 = ("10.0.0.1", 8600)
RADAR_2 = ("10.0.0.2", 8600)
FORGER = ("10.6.6.6", 4444)


@pytest.fixture(scope="module")
def green_zone():
    world = compile_world(load("green-zone"))
    res = run(world)
    specs = sensor_specs_from_scenario(world.scenario)
    return specs, plots_to_datagrams(res.plots, [s.alt_m for s in specs])


def _source(data: bytes):
    """The address the green-zone radar of this datagram sends from (SIC 1 or 2)."""
    return RADAR_1 if data[7] == 1 else RADAR_2


def _random_plots(rng, sic: int, t: float, n: int = 8) -> bytes:
    rng_m = rng.uniform(500, 20_000, n)
    return encode_cat048(
        sac=0,
        sic=sic,
        tod_s=np.full(n, t),
        range_m=rng_m,
        az_rad=rng.uniform(0, 2 * np.pi, n),
        height_m=34.0 + rng_m * rng.uniform(0.02, 0.5, n),
    )[0]


def _replay(svc, entries, inject=None):
    """Feed the recording on wall time = data time; ``inject(k, t)`` may add datagrams
    (as (bytes, source) pairs) before entry ``k``. Every event as a dict, and the CAT062."""
    events, cat062 = [], []
    for k, (t, data) in enumerate(entries):
        for extra, src in inject(k, t) if inject else []:
            svc.ingest.put_datagram(extra, src)
        svc.ingest.put_datagram(data, _source(data))
        svc.note_input(t)
        out = svc.step(t)
        events += [json.loads(e) for e in out.events]
        cat062 += out.cat062
    out = svc.finish()
    return events + [json.loads(e) for e in out.events], cat062 + out.cat062


def _rocket_tracks(events) -> set[int]:
    return {e["track_id"] for e in events if e["kind"] == "track" and e["track_class"] != "air"}


def test_flood_of_repeated_and_fresh_valid_plots_from_one_radar(green_zone):
    """Issue 17's flood: while the green-zone recording replays, radar 1 re-sends the same
    6 datagrams of 8 random plots at the current data time, 4 times per datagram of the
    recording, and 50 fresh random plots each time: over 19,000 plots in 35 s of data time
    (with a budget of 60 plots per scan, so the fresh ones exceed it). The service never
    raises, drops the repeats as ``duplicate`` and what is over the budget as
    ``rate_limit``, still tracks both rockets and raises the zone alert. Seeded faults
    caught: the duplicate check removed (``_is_duplicate`` returning False) fails the
    ``duplicate`` count; the per-scan budget removed fails the ``rate_limit`` count and the
    budget check."""
    specs, entries = green_zone
    cfg = ServeConfig(idle_s=1e9, max_plots_per_scan=60)  # a small budget: a small flood
    svc = LiveService(specs, zones_source="green-zone", config=cfg)
    rng = np.random.default_rng(17)
    start = len(entries) // 4
    repeated: list[bytes] = []
    sent = {"plots": 0}

    def flood(k, t):
        if not start <= k < start + 80:  # about 35 s of data time
            return []
        if not repeated or k % 40 == 0:
            repeated[:] = [_random_plots(rng, 1, t) for _ in range(6)]
        batch = [*repeated * 4, _random_plots(rng, 1, t, 50)]
        sent["plots"] += 8 * 24 + 50
        return [(d, RADAR_1) for d in batch]

    events, _ = _replay(svc, entries, flood)
    dropped = svc.ingest.dropped
    assert sent["plots"] > 19_000
    assert dropped["duplicate"] > 1000
    assert dropped["rate_limit"] > 1000
    assert len(_rocket_tracks(events)) >= 2, "both rockets tracked through the flood"
    assert any(e["kind"] == "zone_alert" for e in events)
    # the budget held: no scan of radar 1 gave the tracker more than its share
    assert max(svc.ingest._scan_used.values()) <= svc.cfg.max_plots_per_scan


def _forged(t: float, n: int = 20, spread_s: float = 0.0) -> bytes:
    return encode_cat048(
        sac=0,
        sic=1,
        tod_s=t + np.linspace(0, spread_s, n),
        range_m=np.full(n, 5000.0),
        az_rad=np.full(n, 1.0),
        height_m=np.full(n, 500.0),
    )[0]


def test_forged_plots_an_hour_ahead_do_not_wipe_live_tracks(green_zone):
    """20 forged plots an hour ahead (one burst, then 20 more spread over 10 s of their own
    time, then one every step for 6 s) while both radars' real data keeps coming: no
    ``clock_resync``, no track dropped, the rockets' tracks live on under the same ids.
    Seeded fault caught: the old rule (20 far plots with none accepted in between) resyncs
    on the first burst and the test fails on ``clock_resync``."""
    specs, entries = green_zone
    svc = LiveService(specs, config=ServeConfig(idle_s=1e9))
    mid = len(entries) // 2

    def forge(k, t):
        if k == mid:
            return [(_forged(t + 3600), RADAR_1), (_forged(t + 3600, spread_s=10.0), RADAR_1)]
        if mid < k < mid + 60:
            return [(_forged(t + 3600, n=1), RADAR_1)]
        return []

    baseline, _ = _replay(LiveService(specs, config=ServeConfig(idle_s=1e9)), entries)
    events, _ = _replay(svc, entries, forge)
    assert not [e for e in events if e["kind"] == "clock_resync"]
    assert svc.ingest.bad.counts["time_jump"] >= 40
    assert _rocket_tracks(events) == _rocket_tracks(baseline)
    drops = sorted((e["track_id"], e["reason"]) for e in events if e["kind"] == "track_dropped")
    assert drops == sorted(
        (e["track_id"], e["reason"]) for e in baseline if e["kind"] == "track_dropped"
    )


def test_a_real_clock_jump_ends_tracks_with_track_dropped_and_cat062_tse(green_zone):
    """Both radars restart on a clock an hour ahead mid-flight. The service starts again on
    the new clock (after the jumped plots agree for 4 s), and every track it had published
    ends with a ``track_dropped`` (reason ``clock_resync``) and a CAT062 record with TSE,
    before the ``clock_resync`` event. Seeded fault caught: the old resync (fresh tracker,
    no end events) fails the ``track_dropped`` check."""
    specs, entries = green_zone
    mid = len(entries) // 2
    jumped = entries[:mid] + _shift(entries[mid:], 3600.0)
    svc = LiveService(specs, config=ServeConfig(idle_s=1e9))
    events, cat062 = _replay(svc, jumped)
    resync = [i for i, e in enumerate(events) if e["kind"] == "clock_resync"]
    assert len(resync) == 1
    before = _rocket_tracks(events[: resync[0]])
    assert before, "tracks were live when the clock jumped"
    ended = {e["track_id"] for e in events[: resync[0]] if e["kind"] == "track_dropped"}
    assert before <= ended
    assert any(
        e["reason"] == "clock_resync" for e in events[: resync[0]] if e["kind"] == "track_dropped"
    )
    tse = {r["track_number"] for b in cat062 for r in decode_cat062(b)[0] if r.get("last")}
    assert before <= tse
    assert _rocket_tracks(events[resync[0] :]), "the rockets are tracked on the new clock"


def _shift(entries, dt_s: float):
    """The datagrams re-encoded with their time of day ``dt_s`` later (a source that
    restarted on another clock)."""
    from opencram.interop.asterix import decode_cat048

    out = []
    for t, data in entries:
        dec, _ = decode_cat048(data)
        out.append(
            (
                t,
                encode_cat048(
                    sac=0,
                    sic=int(dec.sic[0]),
                    tod_s=dec.tod_s + dt_s,
                    range_m=dec.range_m,
                    az_rad=dec.az_rad,
                    height_m=dec.height_m,
                    range_rate_mps=dec.range_rate_mps,
                    snr_db=dec.snr_db,
                )[0],
            )
        )
    return out


def test_a_sensor_is_its_source_address_as_well_as_its_sac_sic():
    """Bound on its first good datagram, radar 1 then takes nothing from another address:
    a forger's valid plots and junk claiming SAC/SIC 0/1 are dropped on arrival
    (``unexpected_source``), so they cannot fill its queue; records naming radar 2 in a
    datagram that starts as radar 1 are dropped (``sensor_mismatch``). A ``sources`` entry
    pins radar 2 before any datagram. Seeded fault caught: with ``_wrong_source``
    returning False the forger's plots are accepted and the counts fail."""
    cfg = ServeConfig(idle_s=1e9, queue_bytes=4096, sources={"r2": "10.0.0.2"})
    svc = LiveService([SPEC, SPEC2], config=cfg)
    ing = svc.ingest
    rng = np.random.default_rng(3)
    ing.put_datagram(_random_plots(rng, 1, 100.0, 1), RADAR_1)
    svc.step(0.0)
    assert ing.source == ["10.0.0.1", "10.0.0.2"]
    for k in range(2000):  # the forger at full rate: valid plots and junk as radar 1
        ing.put_datagram(_random_plots(rng, 1, 100.0 + k * 1e-3, 1), FORGER)
        ing.put_datagram(b"\x30\x00\x0a\x80\x00\x01" + rng.bytes(4), FORGER)
        ing.put_datagram(_random_plots(rng, 2, 100.0, 1), FORGER)
    assert ing.dropped["unexpected_source"] == 6000
    assert ing.pending() == 0 and ing.shed_entries.sum() == 0
    mixed = encode_cat048(
        sac=0, sic=1, tod_s=[101.0], range_m=[4000.0], az_rad=[1.0], height_m=[400.0]
    )[0]
    other = encode_cat048(
        sac=0, sic=2, tod_s=[101.0], range_m=[4000.0], az_rad=[1.0], height_m=[400.0]
    )[0]
    body = mixed[3:] + other[3:]  # one data block: a radar 1 record, then a radar 2 one
    both = bytes([48]) + (len(body) + 3).to_bytes(2, "big") + body
    ing.put_datagram(both, RADAR_1)
    plots = ing.drain(1.0)
    assert len(plots) == 1 and plots.sensor.tolist() == [0]
    assert ing.dropped["sensor_mismatch"] == 1
    assert ing.stats()["dropped"] == {"sensor_mismatch": 1, "unexpected_source": 6000}


def test_repeats_budgets_and_the_work_budget_are_counted():
    """A repeated datagram is dropped as ``duplicate``; plots over ``max_plots_per_scan``
    per sensor and scan are dropped as ``rate_limit`` (and the next scan has its full
    budget); one step decodes at most ``max_plots_per_step`` plots and leaves the rest
    queued. Every plot sent is accepted or counted: regression guard on the counts."""
    cfg = ServeConfig(idle_s=1e9, max_plots_per_scan=50, max_plots_per_step=60, budget_s=10.0)
    svc = LiveService([SPEC, SPEC2], config=cfg)
    ing = svc.ingest
    rng = np.random.default_rng(5)
    d = _random_plots(rng, 1, 10.0, 8)
    for _ in range(5):
        ing.put_datagram(d, RADAR_1)
    assert ing.dropped["duplicate"] == 4
    for _ in range(9):  # 72 more plots of radar 1 in scan 10: 8 + 72 = 80, budget 50
        ing.put_datagram(_random_plots(rng, 1, 10.5, 8), RADAR_1)
    for _ in range(3):
        ing.put_datagram(_random_plots(rng, 2, 10.5, 8), RADAR_2)
    ing.put_datagram(_random_plots(rng, 1, 11.0, 8), RADAR_1)
    first = ing.drain(10.0)
    assert len(first) <= 60 + 8 and ing.pending() > 0
    rest = ing.drain(10.0)
    assert ing.pending() == 0
    n_ok = len(first) + len(rest)
    assert ing.dropped["rate_limit"] == 80 - 50
    assert n_ok == 50 + 24 + 8
    assert ing.received["plots"] == n_ok


def test_a_stop_under_overload_does_not_wait_on_the_backlog():
    """With an exit budget, ``finish`` stops decoding when it is spent and counts what was
    still queued (``at_exit``); without one (end of input) it processes everything.
    Regression guard on the counts."""
    rng = np.random.default_rng(9)
    data = [_random_plots(rng, 1, 50.0 + k * 0.01, 8) for k in range(40)]
    for budget, left in ((0.0, True), (None, False)):
        svc = LiveService([SPEC], config=ServeConfig(idle_s=1e9))
        for d in data:
            svc.ingest.put_datagram(d, RADAR_1)
        svc.finish(budget)
        assert svc.ingest.pending() == 0
        dropped = svc.ingest.dropped["at_exit"]
        accepted = svc.ingest.received["datagrams_decoded"]
        assert (dropped > 0) is left
        assert dropped + accepted == len(data)
