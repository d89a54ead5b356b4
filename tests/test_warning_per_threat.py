"""Warning per threat (issue 15 point 6) in a run's outputs: ``summary.json`` and the
report give each threat's own-track warning beside its zone's alert time.

The authority is the run folder's own files read here without opencram's code: the
``events.jsonl`` lines (impacts, zone alerts, track and truth positions) and the truth.
Which track followed which threat is decided in this file by geometry (the track's
reported position against the threat's once-a-second truth, carried by its velocity to
the track's measurement time), not by the tracker's bookkeeping that the summary uses.
"""

import json
import math
import re
from collections import Counter
from html import unescape
from pathlib import Path

import pytest

from opencram.analysis.runfolder import execute

EARTH_M_PER_DEG = 111_320.0  # metres per degree of latitude (and of longitude at the equator)
SAME_OBJECT_M = 300.0  # a track this close to a threat's truth is following it


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    out = execute("green-zone", tmp_path_factory.mktemp("per-threat") / "gz", on_progress=None)
    events = [json.loads(line) for line in (out.folder / "events.jsonl").open(encoding="utf-8")]
    summary = json.loads((out.folder / "summary.json").read_text(encoding="utf-8"))
    html = (out.folder / "report.html").read_text(encoding="utf-8")
    return events, summary, html


def _distance_m(a: dict, b: dict) -> float:
    """Straight-line distance between two lat/lon/alt_m points a few km apart."""
    north = (a["lat"] - b["lat"]) * EARTH_M_PER_DEG
    east = (a["lon"] - b["lon"]) * EARTH_M_PER_DEG * math.cos(math.radians(a["lat"]))
    return math.sqrt(north**2 + east**2 + (a["alt_m"] - b["alt_m"]) ** 2)


def _truth_at(sample: dict, t_s: float) -> dict:
    """A truth sample carried along its ENU velocity to ``t_s`` (less than a second)."""
    dt = t_s - sample["t_s"]
    ve, vn, vu = sample["vel_enu_mps"]
    cos_lat = math.cos(math.radians(sample["lat"]))
    return {
        "lat": sample["lat"] + vn * dt / EARTH_M_PER_DEG,
        "lon": sample["lon"] + ve * dt / (EARTH_M_PER_DEG * cos_lat),
        "alt_m": sample["alt_m"] + vu * dt,
    }


def _tracks_by_geometry(events: list[dict]) -> dict[str, set[int]]:
    """Threat id -> the tracks whose reports lie mostly within SAME_OBJECT_M of its truth."""
    truth: dict[tuple[str, int], dict] = {}
    for e in events:
        if e["kind"] == "truth":
            truth[(e["object_id"], round(e["t_s"]))] = e
    threats = {e["threat_id"] for e in events if e["kind"] == "launch"}
    votes: dict[int, Counter] = {}
    for e in events:
        if e["kind"] != "track":
            continue
        t = e["measured_s"]
        for tid in threats:
            s = truth.get((tid, math.floor(t)))
            if s is not None and _distance_m(e, _truth_at(s, t)) < SAME_OBJECT_M:
                votes.setdefault(e["track_id"], Counter())[tid] += 1
    out: dict[str, set[int]] = {tid: set() for tid in threats}
    for track, c in votes.items():
        out[c.most_common(1)[0][0]].add(track)
    return out


def _by_hand(events: list[dict], zone: str, t_imp: float, own: set[int]):
    """(zone, own) warning times: from the raise of the zone's alert episode up at
    ``t_imp``, and from its first event listing one of ``own``."""
    episode: list[dict] = []
    for e in events:
        if e["kind"] == "zone_alert" and e["zone"] == zone and e["t_s"] <= t_imp:
            episode = (
                [e] if e["state"] == "raised" else [] if e["state"] == "cleared" else [*episode, e]
            )
    first_own = next(e for e in episode if own & set(e["track_ids"]))
    return t_imp - episode[0]["t_s"], t_imp - first_own["t_s"]


def test_summary_gives_each_threat_its_own_warning_beside_the_zones(folder):
    events, summary, _ = folder
    tracks = _tracks_by_geometry(events)
    assert tracks["rocket-1"] and tracks["rocket-2"]
    assert not tracks["rocket-1"] & tracks["rocket-2"]
    got = {(w["zone"], w["threat"]): w for w in summary["warning"]["warning_times_s"]}
    impacts = [e for e in events if e["kind"] == "impact"]
    assert {(z, e["threat_id"]) for e in impacts for z in e["zones"]} == set(got)
    for e in impacts:
        for zone in e["zones"]:
            zone_s, own_s = _by_hand(events, zone, e["t_s"], tracks[e["threat_id"]])
            w = got[(zone, e["threat_id"])]
            assert w["zone_alert_warning_s"] == pytest.approx(zone_s, abs=1e-3)
            assert w["own_track_warning_s"] == pytest.approx(own_s, abs=1e-3)


def test_rocket_2_is_not_credited_with_rocket_1s_alert(folder):
    """The issue's case: the International Zone's alert was raised by rocket-1's track
    before rocket-2 was first seen; rocket-2's own warning is shorter than the zone's and
    no longer than the time from its first plot (truth of the sensing) to its impact."""
    events, summary, _ = folder
    tracks = _tracks_by_geometry(events)
    w = next(w for w in summary["warning"]["warning_times_s"] if w["threat"] == "rocket-2")
    raised = next(e for e in events if e["kind"] == "zone_alert" and e["zone"] == w["zone"])
    assert raised["state"] == "raised" and set(raised["track_ids"]) <= tracks["rocket-1"]
    t2 = next(t for t in summary["threats"] if t["id"] == "rocket-2")
    seen_for = t2["impact"]["time_s"] - t2["tracking"]["first_plot_s"]
    assert w["own_track_warning_s"] <= seen_for < w["zone_alert_warning_s"]
    assert w["zone_alert_warning_s"] - w["own_track_warning_s"] > 1.0


def _threat_cells(html: str) -> dict[str, str]:
    sec = re.search(r'<section id="threats">(.*?)</section>', html, re.S).group(1)
    out = {}
    for row in re.findall(r"<tr>(.*?)</tr>", sec, re.S):
        cells = [unescape(re.sub(r"<[^>]+>", "", c)) for c in re.findall(r"<td>(.*?)</td>", row)]
        if cells:
            out[cells[0]] = cells[4]
    return out


def test_report_shows_both_warning_times(folder):
    _, summary, html = folder
    cells = _threat_cells(html)
    for w in summary["warning"]["warning_times_s"]:
        cell = cells[w["threat"]]
        assert f"{w['own_track_warning_s']:.1f} s own" in cell
        assert f"{w['zone_alert_warning_s']:.1f} s zone" in cell
    sec = re.search(r'<section id="warning">(.*?)</section>', html, re.S).group(1)
    assert "own track&#39;s alert" in sec or "own track's alert" in sec


def test_readme_green_zone_warning_figures_match_the_run(folder):
    """Regression guard: README's measured figures for green-zone's warning are those of
    `opencram run green-zone` (re-run them when this fails)."""
    _, summary, _ = folder
    w = next(w for w in summary["warning"]["warning_times_s"] if w["threat"] == "rocket-2")
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    para = re.sub(r"\s+", " ", readme[readme.index("- Warning per threat, from") :][:700])
    assert f"rocket-2 (rocket-1 is destroyed) has **{w['own_track_warning_s']:.1f} s**" in para
    assert f"has been up {w['zone_alert_warning_s']:.1f} s" in para
