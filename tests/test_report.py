"""``report.html``: its sections and tables against summary.json and the event log, its
figures saved as valid PNG files identical to the embedded ones, no network resources, and
the same bytes for the same run."""

import base64
import dataclasses
import io
import json
import math
import re
from html import unescape

import numpy as np
import pytest
from PIL import Image

from opencram.analysis.report import build_report
from opencram.analysis.runfolder import execute
from opencram.c2.events import EngagementWithheld, Footprint, OperatorAction

FIGURES = {
    "map",
    "timeline",
    "engagements",
    "collateral",
    "alerts",
    "trade_off",
    "gospa",
    "altitude",
}


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    res = execute("green-zone", tmp_path_factory.mktemp("report") / "gz", on_progress=None)
    html = (res.folder / "report.html").read_text(encoding="utf-8")
    return res, html


def _section(html: str, anchor: str) -> str:
    m = re.search(rf'<section id="{anchor}">(.*?)</section>', html, re.S)
    assert m, f"no section {anchor}"
    return m.group(1)


def _rows(section_html: str, table: int = 0) -> list[list[str]]:
    t = re.findall(r"<table[^>]*>(.*?)</table>", section_html, re.S)[table]
    body = re.search(r"<tbody>(.*)</tbody>", t, re.S).group(1)
    return [
        [unescape(re.sub(r"<[^>]+>", "", c)) for c in re.findall(r"<td>(.*?)</td>", r, re.S)]
        for r in re.findall(r"<tr>(.*?)</tr>", body, re.S)
    ]


def test_report_has_every_section_and_the_header_summary(run):
    res, html = run
    s = res.summary
    for anchor in ("map", "timeline", "threats", "warning", "engagements", "tracking", "zones"):
        _section(html, anchor)
    head = re.search(r"<header>(.*?)</header>", html, re.S).group(1)
    assert "green-zone" in head and f"seed {s['seed']}" in head
    kpis = dict(
        (k, v) for v, k in re.findall(r'<div class="kpi"><b>(.*?)</b><span>(.*?)</span>', html)
    )
    outcomes = [t["outcome"] for t in s["threats"]]
    assert kpis["threats"] == str(len(s["threats"]))
    assert kpis["intercepted"] == str(outcomes.count("intercepted"))
    assert kpis["not engaged"] == str(outcomes.count("not_engaged"))
    assert kpis["impacts"] == str(s["totals"]["impacts"])
    ws = s["warning"]["warning_times_s"]
    own = min(w["own_track_warning_s"] for w in ws)
    assert kpis["shortest own-track warning"] == f"{own:.1f} s"
    assert kpis["shortest zone warning"] == f"{min(w['zone_alert_warning_s'] for w in ws):.1f} s"


def test_per_threat_table_matches_the_summary(run):
    res, html = run
    rows = {r[0]: r for r in _rows(_section(html, "threats"))}
    assert set(rows) == {t["id"] for t in res.summary["threats"]}
    warn = {w["threat"]: w for w in res.summary["warning"]["warning_times_s"]}
    for t in res.summary["threats"]:
        r = rows[t["id"]]
        assert r[1] == t["type"] and r[3] == t["outcome"].replace("_", " ")
        if t["id"] in warn:
            w = warn[t["id"]]
            assert f"{w['own_track_warning_s']:.1f} s own" in r[4]
            assert f"{w['zone_alert_warning_s']:.1f} s zone" in r[4]
        if t["impact"]:
            assert f"{t['impact']['lat']:.5f}, {t['impact']['lon']:.5f}" in r[5]
            assert re.match(r"\d+ m first \(\d+\.\d s before\), \d+ m last", r[6])
        if t["outcome"] == "intercepted":
            assert f"by {t['intercept']['gun']}" in r[7]
        elif t["outcome"] == "not_engaged":
            assert r[7] == t["not_engaged_reason"]


def test_engagement_tables_list_every_burst_and_gun(run):
    res, html = run
    sec = _section(html, "engagements")
    events = [e for e in res.result.events if e.kind == "engagement"]
    guns = {r[0]: r for r in _rows(sec, 0)}
    assert set(guns) == {w.id for w in res.result.world.scenario.weapons}
    bursts = _rows(sec, 1)
    assert len(bursts) == len(events) >= 1
    for row, e in zip(bursts, events, strict=True):
        assert (row[0], row[1], row[6], row[7], row[9]) == (
            e.gun,
            f"T{e.track_id}",
            str(e.rounds),
            f"{e.p_kill:.2f}",
            str(e.ammo_left),
        )
        assert row[8] in ("destroyed", "survived") or row[8].startswith("cancelled: ")
        assert all(f"{f.kind} {f.radius_m:.0f} m" in row[10] for f in e.footprints)
    for gun, r in guns.items():
        fired = sum(
            e.rounds
            for e, r in zip(events, bursts, strict=True)
            if e.gun == gun and not r[8].startswith("cancelled")
        )
        assert r[3] == str(fired)
    # the chronology lists each launch, burst and impact
    chron = _rows(_section(html, "timeline"))
    kinds = [r[1] for r in chron]
    assert kinds.count("launch") == len(res.summary["threats"])
    n_cancelled = sum(r[8].startswith("cancelled") for r in bursts)
    assert kinds.count("burst fired") == len(events) - n_cancelled
    assert kinds.count("impact") == res.summary["totals"]["impacts"]
    assert [float(r[0].split()[0]) for r in chron] == sorted(float(r[0].split()[0]) for r in chron)


def test_figures_are_saved_as_the_same_valid_pngs(run):
    res, html = run
    folder = res.folder / "figures"
    assert {p.stem for p in folder.glob("*.png")} == FIGURES
    embedded = dict(re.findall(r'src="data:image/png;base64,([^"]+)" id="fig-(\w+)"', html))
    embedded = {name: data for data, name in embedded.items()}
    assert set(embedded) == FIGURES
    for name in FIGURES:
        data = (folder / f"{name}.png").read_bytes()
        assert base64.b64decode(embedded[name]) == data
        with Image.open(io.BytesIO(data)) as im:
            im.verify()
        with Image.open(io.BytesIO(data)) as im:
            assert im.format == "PNG" and im.size[0] > 400 and im.size[1] > 150


def test_report_loads_nothing_from_the_network(run):
    _, html = run
    assert not re.search(r"<script[^>]*\bsrc=", html, re.I)
    assert not re.search(r"<link[^>]*\bhref=", html, re.I)
    assert not re.search(r"""<img[^>]*\bsrc=["']?(https?:|//)""", html, re.I)
    assert not re.search(r"""(src|href)=["']?(https?:|//)""", html, re.I)
    assert "@import" not in html and "url(" not in html
    assert all(
        src.startswith("data:image/png;base64,") for src in re.findall(r'src="([^"]+)"', html)
    )


def test_report_is_deterministic(run):
    res, html = run
    again = build_report(res.result, json.loads((res.folder / "summary.json").read_text()))
    assert again.html == html


def _nearest_threat(events, track_id: int) -> str:
    """The threat whose true flight (its ``truth`` samples, once a second) passes closest
    to a confirmed track's updates (its ``track`` events): mean distance in metres on a
    local flat-earth approximation, each update against the threat's nearest sample."""
    truth: dict[str, list] = {}
    for e in events:
        if e.kind == "truth" and e.object_kind == "threat":
            truth.setdefault(e.object_id, []).append(e)
    ups = [e for e in events if e.kind == "track" and e.track_id == track_id]
    assert ups, f"no updates of track {track_id}"
    m_per_deg = 111_320.0

    def mean_dist_m(samples) -> float:
        out = []
        for u in ups:
            s = min(samples, key=lambda s: abs(s.t_s - u.measured_s))
            de = (u.lon - s.lon) * m_per_deg * math.cos(math.radians(u.lat))
            dn = (u.lat - s.lat) * m_per_deg
            out.append(math.hypot(de, dn, u.alt_m - s.alt_m))
        return sum(out) / len(out)

    return min(truth, key=lambda tid: mean_dist_m(truth[tid]))


def test_withheld_fire_and_operator_actions_are_reported(run):
    res, _ = run
    events = res.result.events
    # a track that held a threat (the first burst's), and one that never existed
    held_track = next(e.track_id for e in events if e.kind == "engagement")
    expected_threat = _nearest_threat(events, held_track)
    fp = Footprint(kind="debris", lat=33.305, lon=44.39, radius_m=100.0)
    extra = (
        EngagementWithheld(
            t_s=15.0,
            gun="lpws-1",
            track_id=held_track,
            reason="debris footprint touches the no-fire zone",
            footprints=[fp],
        ),
        EngagementWithheld(t_s=15.5, gun=None, track_id=999, reason="weapons hold"),
        OperatorAction(t_s=16.0, action="weapons_hold", target="lpws-2"),
    )
    result = dataclasses.replace(res.result, events=(*events, *extra))
    html = build_report(result, res.summary).html
    sec = _section(html, "engagements")
    assert "<h3>Fire withheld</h3>" in sec and "<h3>Operator actions</h3>" in sec
    held = _rows(sec, 2)
    assert held == [
        [
            "15.0 s",
            "lpws-1",
            f"T{held_track}",
            expected_threat,
            "debris footprint touches the no-fire zone",
            "debris 100 m",
        ],
        ["15.5 s", "all guns", "T999", "?", "weapons hold", "-"],
    ]
    assert _rows(sec, 3) == [["16.0 s", "weapons_hold", "lpws-2", "yes"]]
    kinds = [r[1] for r in _rows(_section(html, "timeline"))]
    assert "fire withheld" in kinds and "operator" in kinds


# --- figures that tell the truth (issue 16 point 3) ---------------------------------------


def _kills(res):
    """(threat id, kill time, kill point lat/lon/alt) of each threat destroyed in the air,
    from summary.json's intercept records."""
    return [
        (
            t["id"],
            t["intercept"]["time_s"],
            tuple(t["intercept"][k] for k in ("lat", "lon", "alt_m")),
        )
        for t in res.summary["threats"]
        if t.get("intercept")
    ]


def test_truth_altitude_and_map_lines_end_at_the_intercept(run):
    """The altitude line of a destroyed threat (read from the matplotlib artists) stops at
    its kill time; its map line stops at the intercept point; a threat that landed runs on
    to its impact."""
    from opencram.analysis.report.figures import altitude_figure, map_figure

    res, _ = run
    kills = _kills(res)
    assert kills, "green-zone has an intercept"
    alt = {ln.get_label(): ln for ln in altitude_figure(res.result).axes[0].lines}
    reds = [ln for ln in map_figure(res.result).axes[0].lines if ln.get_color() == "#d62728"]
    frame = res.result.world.frame
    for tid, t_kill, (lat, lon, h) in kills:
        t = alt[tid].get_xdata()
        assert t[-1] == pytest.approx(t_kill, abs=1e-3)  # summary.json keeps 0.1 ms
        assert alt[tid].get_ydata()[-1] > 100.0  # destroyed well above the ground
        end = frame.to_enu(lat, lon, h)[:2] / 1000.0
        ends = [np.array([ln.get_xdata()[-1], ln.get_ydata()[-1]]) for ln in reds]
        assert min(np.hypot(*(e - end)) for e in ends) < 0.05  # km: within the burst's miss
    for t in res.summary["threats"]:
        if t["impact"]:
            assert alt[t["id"]].get_xdata()[-1] == pytest.approx(t["impact"]["time_s"], abs=1e-3)
            assert alt[t["id"]].get_ydata()[-1] == pytest.approx(0.0, abs=1.0)


def test_threshold_trade_off_is_a_curve_without_overprinted_labels(run):
    from opencram.analysis.report.figures import trade_off_figure

    res, _ = run
    w = res.summary["warning"]
    fig = trade_off_figure(w["trade_off"], w["threshold"])
    top, bottom = fig.axes
    points = {(x, y) for x, y in zip(*top.lines[0].get_data(), strict=True) if np.isfinite(y)}
    assert len(points) >= 10
    assert len({x for x, _ in points}) == len(points)  # one point per threshold
    assert bottom.get_xscale() == "log" and not top.texts and not bottom.texts
    assert w["threshold"] in [r["threshold"] for r in w["trade_off"]]
