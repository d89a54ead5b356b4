"""Friendly aircraft (issue 15, point 4). The authorities: the rules as docs/interfaces.md
and ``opencram.track.identity`` state them (a track whose plots carry a friendly SSR
Mode 3/A code, or that passes within the gate of a friendly position report, is friendly:
class ``friendly``, CoT ``a-f-A``, never warned on, engaged or advised on), step 4 of
``opencram.track.classify`` (without friendly information a slow level track is a drone
only when its path threatens a protected zone), CAT048's I048/070 (EUROCONTROL ASTERIX
Part 4, Category 048: the Mode 3/A code in octal) and the scenario's own truth (which
track is heli-1, where the first rocket is launched)."""

from __future__ import annotations

import dataclasses
import math
import signal
import threading
import time
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest
import shapely

from opencram.c2.engine import run
from opencram.c2.world import compile_world
from opencram.cli.replay import send_recording
from opencram.errors import UserError
from opencram.geo import LocalFrame, unit_vector_from_az_el
from opencram.interop.asterix import (
    SystemTracks,
    decode_cat048,
    decode_cat062,
    encode_cat048,
    encode_cat062,
    read_recording,
)
from opencram.interop.cot import friendly_air_reports
from opencram.scenario.load import load
from opencram.scenario.schema import Sensor
from opencram.sense.plots import Plots, read_plot_file, write_plots_csv
from opencram.sense.radar import RadarModel, scan
from opencram.track.classify import CLASSES, class_probabilities
from opencram.track.identity import (
    FriendlyPositions,
    friendly_mask,
    parse_code_list,
    parse_mode3a,
    path_threatens,
    protected_area,
)
from test_against_asterix_decoder import _decode
from test_serve_replay import _drain, _listen_udp, _start, _ws_collect

HELI_START = (33.2990, 44.3900)  # green-zone heli-1's first waypoint
FIRST_LAUNCH_S = 5.0  # green-zone rocket-1
HELI_CODE = 0o4521  # green-zone heli-1's mode3a "4521"


# --- codes in files -----------------------------------------------------------------------


def test_mode3a_is_four_octal_digits():
    assert parse_mode3a("4521") == 0o4521 == 2385
    assert parse_mode3a("0000") == 0
    for bad in ("4528", "452", "45210", "12a4", ""):
        with pytest.raises(ValueError, match="not a Mode 3/A code"):
            parse_mode3a(bad)
    assert parse_code_list("1200, 4521\n7000 # tower\n# none\n") == {0o1200, 0o4521, 0o7000}


def _scenario(tmp_path: Path, aircraft_code: str) -> Path:
    path = tmp_path / "s.yaml"
    path.write_text(
        "name: t\n"
        "site: {lat: 33.3, lon: 44.39}\n"
        "sensors:\n  - {id: r1, lat: 33.3, lon: 44.39, ssr: true}\n"
        "aircraft:\n"
        "  - id: heli\n"
        f"    mode3a: {aircraft_code}\n"
        "    waypoints: [{lat: 33.30, lon: 44.40}, {lat: 33.31, lon: 44.41}]\n"
    )
    return path


@pytest.mark.parametrize(
    ("code", "words"),
    [('"4528"', "'4528' is not a Mode 3/A code"), ("4521", "four octal digits in quotes")],
)
def test_a_bad_scenario_code_is_one_line_naming_the_field(tmp_path, code, words):
    path = _scenario(tmp_path, code)
    with pytest.raises(UserError) as err:
        load(str(path))
    lines = str(err.value).splitlines()
    assert len(lines) == 1, lines
    assert f"{path}:" in lines[0] and "aircraft[0].mode3a" in lines[0] and words in lines[0]


def test_plot_csv_carries_the_code_and_minus_one_for_none(tmp_path):
    plots = Plots(
        time_s=[0.0, 1.0, 2.0],
        sensor=[0, 0, 0],
        range_m=[1000.0, 1010.0, 1020.0],
        az_rad=[0.1, 0.1, 0.1],
        el_rad=[0.05, 0.05, 0.05],
        range_rate_mps=[np.nan] * 3,
        snr_db=[np.nan] * 3,
        arrival_s=[0.0, 1.0, 2.0],
        truth_id=[-1, -1, -1],
        mode3a=[0o4521, -1, 0o0017],
    )
    path = tmp_path / "p.csv"
    write_plots_csv(path, plots, ["r1"])
    lines = path.read_text().splitlines()
    assert (
        lines[0].endswith(",mode3a") and lines[1].endswith(",4521") and lines[3].endswith(",0017")
    )
    assert lines[2].endswith(",")  # no code: an empty cell
    assert read_plot_file(path, ["r1"]).plots.mode3a.tolist() == [0o4521, -1, 0o17]
    assert Plots.empty().mode3a.dtype == np.int64  # plots without codes have none (-1)
    path.write_text(lines[0] + "\n" + lines[1].replace(",4521", ",4528") + "\n")
    with pytest.raises(UserError) as err:
        read_plot_file(path, ["r1"])
    assert (
        str(err.value)
        == f"{path}:2: mode3a: '4528' is not a Mode 3/A code (four octal digits 0-7, e.g. 4521)"
    )


# --- the rules ----------------------------------------------------------------------------


def test_friendly_mask_matches_the_rule_one_update_at_a_time():
    rng = np.random.default_rng(5)
    n, k = 200, 7
    codes = frozenset({0o1200, 0o4521})
    mode3a = rng.choice([-1, 0o1200, 0o4521, 0o7000], n)
    pos = rng.uniform(-2000, 2000, (n, 3))
    t = rng.uniform(0, 60, n)
    rep = FriendlyPositions(rng.uniform(-2000, 2000, (k, 3)), rng.uniform(0, 60, k))
    got = friendly_mask(mode3a, pos, t, codes, rep, gate_m=600.0, gate_s=8.0)
    for i in range(n):  # the rule as stated, one update at a time
        near = any(
            abs(t[i] - rep.t_s[j]) <= 8.0 and math.dist(pos[i], rep.pos_enu_m[j]) <= 600.0
            for j in range(k)
        )
        assert got[i] == (int(mode3a[i]) in codes or near), i
    assert got.any() and not got.all()


def test_path_threatens_a_protected_zone_ahead_not_behind():
    # a 200 m square 3 km north of the origin
    area = protected_area([shapely.box(-100, 2900, 100, 3100)])
    x = np.zeros((4, 7))
    x[:, 3:6] = [[0, 55, 0], [0, -55, 0], [55, 0, 0], [5, 55, 0]]
    # north: reaches it; south: away; east: passes 2.9 km from it; nearly north: within
    # 300 m (the path's end is 9.9 km north, 0.9 km east: it passes 0.27 km from the corner)
    assert path_threatens(x, area).tolist() == [True, False, False, True]
    assert not path_threatens(x, None).any()  # nothing protected: nothing threatens


def _slow_level_tracks(vu_mps: float) -> tuple[np.ndarray, np.ndarray]:
    x = np.zeros((1, 7))
    x[0, :6] = [500.0, 800.0, 200.0, 40.0, -38.0, vu_mps]  # 55 m/s at 200 m
    mu = np.array([[0.02, 0.9, 0.08]])  # the IMM finds no ballistic fit
    return x, mu


@pytest.mark.parametrize(
    ("vu", "threat", "expected"),
    [(0.0, False, "aircraft"), (2.0, False, "aircraft"), (0.0, True, "drone"),
     (-25.0, False, "drone"), (-10.0, False, "aircraft"), (0.0, None, "drone")],
)  # fmt: skip
def test_a_slow_level_track_is_a_drone_only_when_it_threatens(vu, threat, expected):
    x, mu = _slow_level_tracks(vu)
    th = None if threat is None else np.array([threat])
    cp = class_probabilities(x, np.array([10]), mu, np.array([np.nan]), threatens=th)
    assert cp.names()[0] == expected
    assert cp.prob.sum(axis=1) == pytest.approx(1.0)
    # the ballistic share is what the IMM said, whatever the rule moved
    ballistic = [CLASSES.index(c) for c in ("rocket", "mortar", "artillery", "unknown")]
    assert cp.prob[0, ballistic].sum() == pytest.approx(cp.ballistic[0])


def test_friendly_reports_from_cot_skip_ours_stale_and_others():
    now = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)

    def ev(uid, typ, stale, hae="300"):
        return ET.fromstring(
            f'<event version="2.0" uid="{uid}" type="{typ}" how="m-g" time="2026-01-01T12:00:00Z" '
            f'start="2026-01-01T12:00:00Z" stale="{stale}"><point lat="33.3" lon="44.39" '
            f'hae="{hae}" ce="10" le="10"/></event>'
        )

    got = friendly_air_reports(
        [
            ev("heli", "a-f-A-M-H", "2026-01-01T12:01:00Z"),
            ev("heli-nohae", "a-f-A", "2026-01-01T12:01:00Z", "9999999.0"),
            ev("old", "a-f-A", "2026-01-01T11:59:00Z"),
            ev("opencram-track-3", "a-f-A", "2026-01-01T12:01:00Z"),  # our own, echoed
            ev("foe", "a-h-A", "2026-01-01T12:01:00Z"),
            ev("troop", "a-f-G", "2026-01-01T12:01:00Z"),
        ],
        now,
    )
    assert [r.uid for r in got] == ["heli", "heli-nohae"]
    assert got[0].hae_m == 300.0 and math.isnan(got[1].hae_m)


# --- the simulation ------------------------------------------------------------------------


def _heli_track_ids(events) -> set[int]:
    """Tracks whose first update is within 1 km of heli-1's first waypoint (the scenario's
    truth; no rocket is near there at their start)."""
    first = {}
    for e in events:
        if e["kind"] == "track" and e["track_id"] not in first:
            first[e["track_id"]] = e
    out = set()
    for tid, e in first.items():
        d_m = math.hypot(
            (e["lat"] - HELI_START[0]) * 111_000.0,
            (e["lon"] - HELI_START[1]) * 111_000.0 * math.cos(math.radians(HELI_START[0])),
        )
        if d_m < 1000.0 and e["measured_s"] < FIRST_LAUNCH_S + 5:
            out.add(tid)
    return out


def _check_heli_friendly(events, heli: set[int]) -> None:
    assert heli, "no track of heli-1"
    classes = {e["track_class"] for e in events if e["kind"] == "track" and e["track_id"] in heli}
    assert classes == {"friendly"}
    for e in events:
        tids = set(e.get("track_ids") or []) | {e.get("track_id")}
        if e["kind"] in ("impact_predicted", "respond", "zone_alert", "engagement"):
            assert not tids & heli, e
        if e["kind"] == "engagement_advice":
            assert not {a["track_id"] for a in e["advice"]} & heli, e


def _no_alert_before_first_rocket(events) -> None:
    raised = [e for e in events if e["kind"] == "zone_alert" and e["state"] == "raised"]
    assert raised, "the rockets are still warned"
    assert min(e["t_s"] for e in raised) >= FIRST_LAUNCH_S, raised[0]


def test_green_zone_run_shows_heli_1_friendly():
    world = compile_world(load("green-zone"))
    codes = world.object_mode3a
    assert codes[list(world.object_ids).index("heli-1")] == HELI_CODE
    events = [e.model_dump() for e in run(world).events]
    heli = _heli_track_ids(events)
    _check_heli_friendly(events, heli)
    _no_alert_before_first_rocket(events)
    assert any(e["kind"] == "engagement" for e in events)  # the rockets are still engaged


# --- opencram serve --------------------------------------------------------------------------


def test_the_recording_carries_heli_1s_code_in_i048_070(green_zone_recording):
    entries = read_recording(green_zone_recording / "p.ast")
    codes = np.concatenate([decode_cat048(d)[0].mode3a for _, d in entries])
    typ = np.concatenate([decode_cat048(d)[0].typ for _, d in entries])
    assert set(codes.tolist()) == {-1, HELI_CODE}  # the rockets squawk nothing
    assert set(typ[codes >= 0].tolist()) == {3} and set(typ[codes < 0].tolist()) == {1}


def _serve_replay(folder: Path, extra: list[str]) -> tuple[list[dict], list[bytes], list[bytes]]:
    """The recording at 25x into ``opencram serve --zones green-zone``: websocket events,
    CoT messages and CAT062 datagrams."""
    cot_rx, cat062_rx = _listen_udp(), _listen_udp()
    events: list[dict] = []
    gotcot: list[bytes] = []
    got062: list[bytes] = []
    stop = threading.Event()
    proc, addrs = _start(
        ["--sensors", str(folder / "sensors.yaml"), "--zones", "green-zone",
         "--asterix-port", "0", "--csv-port", "-1", "--ws-port", "0", "--idle", "30",
         "--cot", f"udp://127.0.0.1:{cot_rx.getsockname()[1]}",
         "--cat062", f"127.0.0.1:{cat062_rx.getsockname()[1]}", *extra]
    )  # fmt: skip
    threads = [
        threading.Thread(target=_drain, args=(cot_rx, gotcot, stop)),
        threading.Thread(target=_drain, args=(cat062_rx, got062, stop)),
        threading.Thread(target=_ws_collect, args=(f"ws://{addrs['websocket']}", events, stop)),
    ]
    try:
        for t in threads:
            t.start()
        time.sleep(0.3)
        host, port = addrs["asterix"].rsplit(":", 1)
        send_recording(read_recording(folder / "p.ast"), (host, int(port)), speed=25.0)
        time.sleep(0.5)
        proc.send_signal(signal.SIGINT)
        assert proc.wait(60) == 0
    finally:
        stop.set()
        if proc.poll() is None:
            proc.kill()
        for t in threads:
            t.join(10)
        cot_rx.close()
        cat062_rx.close()
    return events, gotcot, got062


def _cot_types(gotcot: list[bytes], track_ids: set[int]) -> set[str]:
    roots = [ET.fromstring(m) for m in gotcot]
    uids = {f"opencram-track-{t}" for t in track_ids}
    return {r.get("type") for r in roots if r.get("uid") in uids}


def test_serve_with_friendly_codes_shows_heli_1_friendly(green_zone_recording, tmp_path):
    codes = tmp_path / "codes.txt"
    codes.write_text("# friendly codes\n4521\n")
    events, gotcot, got062 = _serve_replay(
        green_zone_recording, ["--friendly-codes", "1200", "--friendly-codes-file", str(codes)]
    )
    heli = _heli_track_ids(events)
    _check_heli_friendly(events, heli)
    _no_alert_before_first_rocket(events)
    assert _cot_types(gotcot, heli) == {"a-f-A"}  # friendly air, never a hostile symbol
    # CAT062 I062/060: the system track carries the code its plots carried, others none
    recs = [r for d in got062 for r in decode_cat062(d)[0]]
    codes_by_track: dict[int, set[int]] = {}
    for r in recs:
        codes_by_track.setdefault(r["track_number"], set()).add(r["mode3a"])
    assert all(HELI_CODE in codes_by_track[t] for t in heli)
    assert all(c == {-1} for t, c in codes_by_track.items() if t not in heli), codes_by_track


def test_serve_without_friendly_information_never_calls_heli_1_a_drone(green_zone_recording):
    """No codes, no positions: heli-1 is never a drone, so it has no drone corridor and
    raises no corridor alert (main raised an International Zone alert at 4.7 s and a
    Mansour alert to 103 s from it). What remains is the no-lost-threat rule
    (``c2.stages.predict``): its first confirmed updates still hold some ballistic
    probability, so they are predicted to the ground until the hypothesis is ruled out on
    NON_BALLISTIC_CONFIRM_UPDATES updates in a row: any alert naming it comes from those
    first seconds and is cleared with them."""
    events, gotcot, _ = _serve_replay(green_zone_recording, [])
    heli = _heli_track_ids(events)
    assert heli
    tracks = [e for e in events if e["kind"] == "track" and e["track_id"] in heli]
    classes = {e["track_class"] for e in tracks}
    assert classes <= {"aircraft", "unknown"} and "drone" not in classes, classes
    assert _cot_types(gotcot, heli) <= {"a-u-A"}, _cot_types(gotcot, heli)
    first_s = min(e["measured_s"] for e in tracks)
    ballistic = [e for e in events if e["kind"] == "impact_predicted" and e["track_id"] in heli]
    assert all(e["track_class"] != "drone" for e in ballistic)
    # ruled out within its first 3 updates (0.5 s apart, two radars): a few seconds
    last_ballistic_s = max((e["t_s"] for e in ballistic), default=first_s)
    naming = [e for e in events if e["kind"] == "zone_alert" and set(e["track_ids"]) & heli]
    assert all(e["t_s"] <= last_ballistic_s for e in naming), naming
    later = [e for e in tracks if e["measured_s"] > first_s + 5.0]
    assert later and all(e["track_class"] == "aircraft" for e in later)


# --- the simulated SSR --------------------------------------------------------------------


def test_an_ssr_radar_reports_the_code_and_draws_nothing_more():
    """A radar declared ``ssr`` puts each object's code on its plots (false plots carry
    none); one without, none; and the code costs no random draw (``sense.radar.scan``), so
    the plots are otherwise the same, as a radar without SSR gives."""
    frame = LocalFrame(33.3, 44.4, 34.0)
    base = RadarModel.from_schema(Sensor(id="r1", lat=33.3, lon=44.4, ssr=True), frame, 34.0)
    assert base.ssr
    base = dataclasses.replace(base, false_alarms_per_scan=5.0)
    n = 50
    az = np.linspace(0, 2 * np.pi, n, endpoint=False)
    pos = base.pos_enu_m + 3000.0 * unit_vector_from_az_el(az, 0.1)

    def truth(t_s):
        return pos, np.zeros_like(pos), np.ones(n, bool)

    codes = np.where(np.arange(n) % 2 == 0, 0o4521, -1)
    got = {}
    for ssr in (True, False):
        radar = dataclasses.replace(base, ssr=ssr)
        got[ssr] = scan(
            radar, 0.0, truth, 10.0, np.arange(n), np.random.default_rng(1), mode3a=codes
        )
    with_ssr, without = got[True], got[False]
    real = with_ssr.truth_id >= 0
    assert real.sum() > 40 and (~real).sum() > 0
    assert (with_ssr.mode3a[real] == codes[with_ssr.truth_id[real]]).all()
    assert (with_ssr.mode3a[~real] == -1).all() and (without.mode3a == -1).all()
    for f in ("time_s", "range_m", "az_rad", "el_rad", "snr_db", "truth_id"):
        np.testing.assert_array_equal(getattr(with_ssr, f), getattr(without, f))


def test_codes_read_by_the_independent_asterix_decoder():
    """asterix-decoder (tests/test_against_asterix_decoder.py) reads the code of a coded
    plot in I048/070 with I048/020 TYP 3 (PSR + SSR), and of a coded system track in
    I062/060; uncoded ones carry neither item."""
    recs = _decode(
        b"".join(
            encode_cat048(
                sac=0, sic=1, tod_s=[1.0, 2.0], range_m=[1000.0, 2000.0], az_rad=[0.1, 0.2],
                height_m=[100.0, 100.0], mode3a=[HELI_CODE, -1],
            )
        )
    )  # fmt: skip
    assert recs[0]["I070"]["Mode3A"]["val"] == "4521" and "I070" not in recs[1]
    assert [r["I020"]["TYP"]["val"] for r in recs] == [3, 1]
    n = 2
    tracks = SystemTracks(
        track_number=np.array([1, 2]), tod_s=np.ones(n), lat_deg=np.full(n, 33.3),
        lon_deg=np.full(n, 44.4), pos_en_m=np.zeros((n, 2)), vel_enu_mps=np.zeros((n, 3)),
        alt_m=np.full(n, 100.0), confirmed=np.ones(n, bool), first=np.ones(n, bool),
        last=np.zeros(n, bool), track_age_s=np.zeros(n), psr_age_s=np.zeros(n),
        mode3a=np.array([HELI_CODE, -1]),
    )  # fmt: skip
    recs = _decode(b"".join(encode_cat062(tracks, sac=0, sic=200)))
    assert recs[0]["I060"]["Mode3A"]["val"] == "4521" and "I060" not in recs[1]
