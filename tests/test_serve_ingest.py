"""The live service in process: engagement advice from a replayed recording, load shedding
under 10x overload (bounded per-sensor queues, drop-oldest, reported), plots out of time
order, and sensor dropouts."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from opencram.c2.engine import run
from opencram.c2.world import compile_world
from opencram.interop.asterix import encode_cat048, plots_to_datagrams
from opencram.live.service import LiveService, ServeConfig
from opencram.scenario.load import builtin_dir, load
from opencram.sense.plots import SensorSpec, sensor_specs_from_scenario

SPEC = SensorSpec("r1", 33.3, 44.4, 34.0, 10.0, 2.0, 2.0, scan_s=1.0, sigma_range_rate_mps=1.0)
SPEC2 = SensorSpec("r2", 33.31, 44.41, 34.0, 10.0, 2.0, 2.0, scan_s=1.0)


@pytest.fixture(scope="module")
def green_zone():
    world = compile_world(load("green-zone"))
    res = run(world)
    specs = sensor_specs_from_scenario(world.scenario)
    return specs, plots_to_datagrams(res.plots, [s.alt_m for s in specs])


def _kinds(events):
    return [json.loads(e) for e in events]


def _service_events(specs, entries, zones_source):
    """Every event of a live service fed the datagrams ``entries`` on data time."""
    svc = LiveService(specs, zones_source=zones_source, config=ServeConfig(idle_s=1e9))
    events = []
    for _, data in entries:
        svc.ingest.put_datagram(data)
        svc.note_input(0.0)
        events += _kinds(svc.step(0.0).events)
    return events + _kinds(svc.finish().events)


def test_engagement_advice_on_data_time(green_zone):
    specs, entries = green_zone
    events = _service_events(specs, entries, "green-zone")
    advice = [a for e in events if e["kind"] == "engagement_advice" for a in e["advice"]]
    assert advice, "the rocket over the zone gets a gun"
    guns = {w.id for w in load("green-zone").scenario.weapons}
    assert {a["gun"] for a in advice} <= guns
    assert all(0 < a["p_kill"] <= 1 and a["p_protected"] >= 0.2 for a in advice)
    assert all(a["fire_s"] < a["intercept_s"] for a in advice)
    assert all("withheld" in e for e in events if e["kind"] == "engagement_advice")
    # only confirmed tracks are advised on
    track_ids = {e["track_id"] for e in events if e["kind"] == "track"}
    assert {a["track_id"] for a in advice} <= track_ids


def _datagram(sic, t, rng_m=5000.0):
    return encode_cat048(
        sac=0, sic=sic, tod_s=[t], range_m=[rng_m], az_rad=[1.0], height_m=[500.0]
    )[0]


def test_overload_sheds_oldest_of_the_flooding_sensor_only():
    # each datagram is about 20 bytes: a 2 KiB budget holds about 100 per sensor
    cfg = ServeConfig(queue_bytes=2048, budget_s=0.0, idle_s=1e9)
    svc = LiveService([SPEC, SPEC2], config=cfg)
    ingest = svc.ingest
    nominal = 50
    for k in range(nominal):
        ingest.put_datagram(_datagram(2, 10.0 + k * 0.1))
        for j in range(10):  # sensor 1 at 10 times the rate
            ingest.put_datagram(_datagram(1, 10.0 + k * 0.1 + j * 0.01))
    assert ingest.queued_bytes[0] <= 2048 and ingest.queued_bytes[1] <= 2048
    assert ingest.shed_entries[0] > 300 and ingest.shed_entries[1] == 0
    # what is left of sensor 1 is its newest input
    oldest_left = ingest.queues[0][0][1][0]
    assert oldest_left == _datagram(1, 10.0 + 49 * 0.1 - (len(ingest.queues[0]) - 10) * 0.01)[:]
    stats = json.loads(svc.stats_event())
    assert stats["shed"]["r1"]["entries"] == int(ingest.shed_entries[0])
    assert "r2" not in stats["shed"]
    # with a zero budget each step still decodes at least one entry: it never stalls
    before = ingest.pending()
    svc.step(0.0)
    assert ingest.pending() < before


def test_plots_out_of_order_within_the_reorder_time_are_used_later_ones_counted():
    svc = LiveService([SPEC], config=ServeConfig(reorder_s=0.5, idle_s=1e9))
    times = [10.0, 10.3, 10.1, 10.6, 10.2, 12.0, 10.25, 13.0]
    for t in times:
        svc.ingest.put_datagram(_datagram(1, t))
        svc.note_input(0.0)
        svc.step(0.0)
    # 10.25 arrived after the clock reached 12.0: its window (10.0-10.5) was processed
    assert svc.tracker.n_late_dropped == 1
    assert svc.ingest.received["plots"] == len(times)


def test_sensor_dropout_is_reported_and_tracks_end_when_all_inputs_stop():
    svc = LiveService([SPEC, SPEC2], config=ServeConfig(idle_s=2.0))
    events = []
    for k in range(30):
        t = 100.0 + k
        svc.ingest.put_datagram(_datagram(1, t))
        if k < 10:
            svc.ingest.put_datagram(_datagram(2, t, 7000.0))
        svc.note_input(float(k))
        events += _kinds(svc.step(float(k)).events)
    status = [e for e in events if e["kind"] == "sensor_status"]
    assert [(e["sensor"], e["state"]) for e in status] == [("r2", "silent")]
    # every input stops: after idle_s the clock runs on with wall time
    before = svc.now_s
    svc.step(29.0 + 10.0)
    assert svc.now_s == pytest.approx(before + 10.0 - 2.0)
    assert svc.ingest.pending() == 0


def test_bad_csv_lines_are_counted_once_logged_once(caplog):
    svc = LiveService([SPEC], config=ServeConfig())
    ing = svc.ingest
    lines = [b"1.0,r1,1000,10,5", b"2.0,r9,1000,10,5", b"x,r1,1,1,1", b"1,r1,1,400,1",
             b"1,r1", b"\xff\xfe", b"a" * 5000, b"time_s,sensor,bogus", b"3.0,r1,1000,10,5,,",
             b"4.0,r1,1000,10,5,1.5,20"]  # fmt: skip
    with caplog.at_level("WARNING", logger="opencram.live"):
        for line in lines * 3:
            ing.put_csv_line(line, "t")
    assert dict(ing.bad.counts) == {
        "unknown_sensor": 3, "csv_value": 6, "csv_columns": 3, "not_utf8": 3,
        "oversized_line": 3, "csv_header": 3,
    }  # fmt: skip
    assert len(caplog.records) == 6  # one per kind
    plots = ing.drain(1.0)
    assert len(plots) == 9
    assert np.isnan(plots.range_rate_mps).sum() == 6
    assert (plots.range_rate_mps == 1.5).sum() == 3


def test_a_bad_far_future_first_plot_does_not_blind_the_service(green_zone):
    """A corrupt first plot sets the data clock hours away from the real data; the good
    plots that follow are refused as far from it until they have agreed for 4 s (data and wall
    time) and make the service start again on their clock, tracking the plots it held back
    meanwhile: it tracks the green-zone rockets as usual."""
    specs, entries = green_zone
    svc = LiveService(specs, config=ServeConfig(idle_s=1e9))
    bad = encode_cat048(
        sac=0, sic=1, tod_s=[80_000.0], range_m=[5000.0], az_rad=[1.0], height_m=[500.0]
    )[0]
    svc.ingest.put_datagram(bad)
    events = _kinds(svc.step(0.0).events)
    for t, data in entries:  # arriving in real time (wall = data time)
        svc.ingest.put_datagram(data)
        svc.note_input(t)
        events += _kinds(svc.step(t).events)
    events += _kinds(svc.finish().events)
    resync = [e for e in events if e["kind"] == "clock_resync"]
    assert len(resync) == 1 and abs(resync[0]["previous_clock_s"] - resync[0]["t_s"]) > 3600
    bad = svc.ingest.bad.counts
    assert bad["time_behind"] + bad["time_jump"] >= 20
    confirmed = {e["track_id"] for e in events if e["kind"] == "track"}
    assert len(confirmed) >= 2, "both rockets are tracked after the restart"


def _advice_events(specs, entries, zones_source):
    events = _service_events(specs, entries, zones_source)
    return [e for e in events if e["kind"] == "engagement_advice"]


def test_advice_holds_fire_where_duds_would_fall_on_a_no_fire_zone(green_zone, tmp_path):
    """The collateral rule in the advice: with the area south of the zone (where the guns'
    duds come down while they fire south at the incoming rocket) a no-fire zone, the early
    shots are held, each saying why, and advice starts only once the shots are steep enough
    for their duds to land short of it."""
    import yaml

    specs, entries = green_zone
    doc = load("green-zone").scenario.model_dump(mode="json")
    south = [[33.20, 44.30], [33.20, 44.50], [33.27, 44.50], [33.27, 44.30]]
    doc["zones"].append({"name": "Town", "kind": "no-fire", "polygon": south})
    (tmp_path / "s.yaml").write_text(yaml.safe_dump(doc))
    shutil.copy(builtin_dir() / "green-zone-tigris.geojson", tmp_path)  # its site layer
    free = _advice_events(specs, entries, "green-zone")
    held = _advice_events(specs, entries, str(tmp_path / "s.yaml"))
    first_free = min(e["t_s"] for e in free if e["advice"])
    assert not any(w for e in free for w in e["withheld"])
    reasons = [w["reason"] for e in held for w in e["withheld"]]
    assert reasons and all("no-fire zone Town" in r for r in reasons)
    assert not any(e["advice"] for e in held if e["t_s"] <= first_free)
