"""The report's rows (``opencram.analysis.report.rows``) as pure data: hand-made summaries
and event logs in, rows out, checked against values worked out by hand from those inputs
(counts, orderings, and a 3-4-5 triangle for the impact prediction error); then the page
the templates render from such rows, cell by cell, for the branches the built-in scenarios
do not reach."""

import re
from html import unescape

import numpy as np
import pytest

from opencram.analysis.report.page import render_page
from opencram.analysis.report.rows import (
    PredictionError,
    ReportRows,
    ZoneWarning,
    chronology,
    gun_rows,
    header,
    headline,
    prediction_errors,
    threat_rows,
    tracking_rows,
    warning_rows,
    withheld_rows,
    zone_rows,
)
from opencram.c2.events import (
    Ellipse95,
    EngagementResult,
    EngagementStarted,
    EngagementWithheld,
    Footprint,
    GunStatus,
    Impact,
    ImpactPredicted,
    OperatorAction,
    ZoneAlert,
)
from opencram.geo import LocalFrame
from opencram.interop.runview import RunView
from opencram.scenario.load import load

SITE = LocalFrame(33.3, 44.4, 40.0)


@pytest.fixture(scope="module")
def scenario():
    return load("green-zone").scenario  # two guns, lpws-1 and lpws-2


def _threat(tid, outcome, launch_s, **extra):
    t = {
        "id": tid,
        "type": "rocket-107mm",
        "launch": {"time_s": launch_s},
        "outcome": outcome,
        "impact": None,
        "zones": [],
        "engagements": [],
        "tracking": {"first_plot_s": None, "first_confirmed_s": None, "track_ids": []},
    }
    t.update(extra)
    return t


def _summary():
    hit = {"time_s": 40.0, "lat": 33.31, "lon": 44.41}
    threats = [
        _threat(
            "r1",
            "intercepted",
            5.0,
            engagements=[{}, {}],
            intercept={"time_s": 22.0, "alt_m": 272.4, "gun": "lpws-1", "rounds": 150},
            tracking={"first_plot_s": 6.5, "first_confirmed_s": 8.5, "track_ids": [2]},
        ),
        _threat(
            "r2",
            "leaked",
            9.0,
            impact=hit,
            zones=["IZ", "Jadriya"],
            engagements=[{}],
            leak={"impact": hit, "zone": "IZ", "engaged": True},
            tracking={"first_plot_s": 10.5, "first_confirmed_s": 12.5, "track_ids": [4, 7]},
        ),
        _threat("r3", "not_engaged", 9.0, not_engaged_reason="never held by a confirmed track"),
    ]
    return {
        "threats": threats,
        "totals": {"threats": 3, "impacts": 1, "impacts_in_protected_zones": 1},
        "zones": [{"name": "IZ", "kind": "protected", "impacts": 1}],
        "warning": {
            "threshold": 0.5,
            "warning_times_s": [
                {
                    "zone": "IZ",
                    "threat": "r2",
                    "zone_alert_warning_s": 24.7,
                    "own_track_warning_s": 20.7,
                },
                {
                    "zone": "Jadriya",
                    "threat": "r2",
                    "zone_alert_warning_s": 3.2,
                    "own_track_warning_s": None,
                },
            ],
            "missed_warnings": [{"zone": "Karrada", "threat": "r3"}],
            "false_alerts": [{"zone": "Jadriya", "raised_s": 9.0}, {"zone": "IZ", "raised_s": 1.0}],
            "alerted_zone_area_km2": 4.25,
            "alerted_area_time_km2s": 120.0,
        },
        "tracking": {
            "plots": 80,
            "false_plots": 3,
            "confirmed_tracks": 3,
            "filter": "ekf",
            "mean_gospa_m": 41.0,
            "position_rmse_m": None,
            "breaks": 0,
            "swaps": 1,
            "track_classes": {"2": "rocket", "4": "rocket"},
        },
    }


def _engagement(t_s, gun, track_id, rounds, ammo_left, fire_s=None):
    fire_s = t_s + 0.5 if fire_s is None else fire_s
    return EngagementStarted(
        t_s=t_s,
        gun=gun,
        track_id=track_id,
        fire_s=fire_s,
        intercept_s=fire_s + 3.0,
        lat=33.3,
        lon=44.4,
        alt_m=300.0,
        rounds=rounds,
        p_kill=0.5,
        ammo_left=ammo_left,
    )


def _view(scenario, events=(), summary=None):
    return RunView(scenario=scenario, summary=summary or _summary(), events=tuple(events))


def test_headline_counts_outcomes_warnings_and_only_the_bursts_fired(scenario):
    events = [
        _engagement(10.0, "lpws-1", 2, 75, 1475),
        EngagementResult(t_s=14.0, gun="lpws-1", track_id=2, killed=False),
        _engagement(15.0, "lpws-2", 2, 60, 1490),
        EngagementResult(t_s=15.2, gun="lpws-2", track_id=2, killed=False, cancelled="lost"),
    ]
    bursts = _view(scenario, events).bursts()
    k = headline(_summary(), bursts)
    assert (k.threats, k.intercepted, k.leaked, k.not_engaged) == (3, 1, 1, 1)
    assert (k.impacts, k.impacts_protected) == (1, 1)
    # the cancelled burst kept its 60 rounds
    assert (k.bursts_fired, k.rounds_fired) == (1, 75)
    assert k.shortest_warning_s == 3.2
    assert k.shortest_own_warning_s == 20.7  # Jadriya's alert never listed r2's tracks
    assert k.not_by_own_track == 1
    assert (k.missed_warnings, k.false_alerts) == (1, 2)

    no_warning = {key: v for key, v in _summary().items() if key != "warning"}
    k = headline(no_warning, [])
    assert k.shortest_warning_s is None and k.missed_warnings is k.false_alerts is None


def test_chronology_is_in_time_order_threat_moments_first_at_a_tie(scenario):
    events = [
        ZoneAlert(t_s=9.0, zone="IZ", state="raised", probability=0.96, track_ids=[2]),
        ZoneAlert(t_s=9.5, zone="IZ", state="updated", probability=0.97, track_ids=[2]),
        _engagement(13.2, "lpws-2", 2, 75, 1475, fire_s=13.7),
        EngagementResult(t_s=16.9, gun="lpws-2", track_id=2, killed=False),
        EngagementWithheld(t_s=17.0, gun=None, track_id=4, reason="no-fire zone"),
        OperatorAction(
            t_s=18.0, action="weapons_free", target="lpws-1", accepted=False, note="no hold"
        ),
        Impact(
            t_s=40.0, threat_id="r2", lat=33.31, lon=44.41, alt_m=40.0, speed_mps=80.0, zones=["IZ"]
        ),
        ZoneAlert(t_s=40.5, zone="IZ", state="cleared", probability=0.0, track_ids=[]),
    ]
    got = [
        (m.t_s, m.kind, m.threat_id or m.gun or m.zone) for m in chronology(_view(scenario, events))
    ]
    assert got == [
        (5.0, "launch", "r1"),
        (6.5, "first detection", "r1"),
        (8.5, "track confirmed", "r1"),
        (9.0, "launch", "r2"),  # threats' moments before the alert at the same time
        (9.0, "launch", "r3"),
        (9.0, "alert raised", "IZ"),
        (10.5, "first detection", "r2"),
        (12.5, "track confirmed", "r2"),
        (13.7, "burst fired", "lpws-2"),  # at its firing time, not when it was decided
        (16.9, "burst missed", "lpws-2"),
        (17.0, "fire withheld", ""),  # all guns
        (18.0, "operator", ""),
        (22.0, "destroyed", "r1"),
        (40.0, "impact", "r2"),
        (40.5, "all clear", "IZ"),
    ]
    moments = chronology(_view(scenario, events))
    confirmed = next(m for m in moments if m.kind == "track confirmed" and m.threat_id == "r2")
    assert confirmed.track_ids == (4, 7)
    destroyed = next(m for m in moments if m.kind == "destroyed")
    assert (destroyed.gun, destroyed.alt_m) == ("lpws-1", 272.4)
    op = next(m for m in moments if m.kind == "operator")
    assert (op.action, op.target, op.accepted, op.note) == (
        "weapons_free",
        "lpws-1",
        False,
        "no hold",
    )
    burst = next(m for m in moments if m.kind == "burst fired")
    assert (burst.track_id, burst.rounds, burst.p_kill) == (2, 75, 0.5)


def test_a_committed_burst_not_yet_fired_is_listed_when_decided(scenario):
    events = [
        _engagement(13.2, "lpws-2", 2, 75, 1475, fire_s=13.7),
        EngagementResult(t_s=13.5, gun="lpws-2", track_id=2, killed=False, cancelled="track lost"),
    ]
    moments = [m for m in chronology(_view(scenario, events)) if m.gun == "lpws-2"]
    assert [(m.t_s, m.kind, m.note) for m in moments] == [
        (13.2, "burst committed", ""),
        (13.5, "burst cancelled", "track lost"),
    ]


def test_threat_rows_carry_warnings_impacts_intercepts_and_reasons():
    errors = {"r2": PredictionError(120.0, 15.0, 30.0)}
    rows = {r.id: r for r in threat_rows(_summary(), errors)}
    assert list(rows) == ["r1", "r2", "r3"]
    r1, r2, r3 = rows["r1"], rows["r2"], rows["r3"]
    assert r1.outcome == "intercepted" and r1.impact is None and r1.error is None
    assert (r1.intercept.t_s, r1.intercept.gun, r1.intercept.rounds, r1.bursts) == (
        22.0,
        "lpws-1",
        150,
        2,
    )
    assert r2.warnings == (
        ZoneWarning("IZ", "r2", 24.7, 20.7),
        ZoneWarning("Jadriya", "r2", 3.2, None),
    )
    assert not r2.warning_missed and r2.error == errors["r2"]
    assert (r2.impact.t_s, r2.impact.zones) == (40.0, ("IZ", "Jadriya"))
    assert (r2.leak_zone, r2.engaged, r2.bursts) == ("IZ", True, 1)
    assert r3.warnings == () and r3.warning_missed
    assert r3.not_engaged_reason == "never held by a confirmed track"
    assert (r3.leak_zone, r3.engaged) == ("", False)


def _prediction(t_s, track_id, east_m, north_m):
    lat, lon, _ = SITE.to_geodetic(np.array([east_m, north_m, 0.0]))
    return ImpactPredicted(
        t_s=t_s,
        track_id=track_id,
        track_class="rocket",
        impact_time_s=40.0,
        time_to_impact_s=40.0 - t_s,
        lat=float(lat),
        lon=float(lon),
        alt_m=SITE.alt_m,
        ellipse95=Ellipse95(semi_major_m=50.0, semi_minor_m=20.0, orientation_deg=0.0),
        cov_en_m2=(1.0, 0.0, 1.0),
    )


def test_prediction_errors_are_ground_distances_from_first_and_last_prediction(scenario):
    """True impact at the site origin; predictions 3-4-5 triangles away (in metres)."""
    lat, lon, _ = SITE.to_geodetic(np.zeros(3))
    summary = _summary()
    summary["threats"][1]["impact"] = {"time_s": 40.0, "lat": float(lat), "lon": float(lon)}
    events = [
        _prediction(12.0, 4, 900.0, 0.0),  # replaced by the later one of the same tick
        _prediction(12.0, 4, 300.0, 400.0),  # 500 m
        _prediction(20.0, 7, 30.0, -40.0),  # 50 m, on the threat's second track
        _prediction(15.0, 2, 0.0, 1.0),  # r1's track: r1 has no impact, so no error
    ]
    errs = prediction_errors(SITE, SITE.alt_m, _view(scenario, events, summary))
    assert set(errs) == {"r2"}
    assert errs["r2"].first_m == pytest.approx(500.0, abs=0.01)
    assert errs["r2"].last_m == pytest.approx(50.0, abs=0.01)
    assert errs["r2"].lead_s == pytest.approx(28.0)


def test_gun_rows_total_bursts_kills_rounds_ammunition_and_reloads(scenario):
    start = {w.id: w.ammo_rounds for w in scenario.weapons}
    events = [
        _engagement(10.0, "lpws-1", 2, 75, start["lpws-1"] - 75),
        EngagementResult(t_s=14.0, gun="lpws-1", track_id=2, killed=False),
        _engagement(15.0, "lpws-1", 2, 60, start["lpws-1"] - 135),
        EngagementResult(t_s=19.0, gun="lpws-1", track_id=2, killed=True),
        _engagement(20.0, "lpws-1", 4, 50, start["lpws-1"] - 185),
        EngagementResult(t_s=20.2, gun="lpws-1", track_id=4, killed=False, cancelled="lost"),
        GunStatus(t_s=21.0, gun="lpws-1", state="reloading", ammo=start["lpws-1"] - 135),
        GunStatus(t_s=30.0, gun="lpws-1", state="ready", ammo=start["lpws-1"]),
    ]
    rows = {r.gun: r for r in gun_rows(_view(scenario, events))}
    assert list(rows) == ["lpws-1", "lpws-2"]
    one = rows["lpws-1"]
    # the cancelled burst counts for nothing; the last status gives the rounds left
    assert (one.bursts, one.kills, one.rounds_fired, one.reloads) == (2, 1, 135, 1)
    assert (one.ammo_left, one.ammo_start) == (start["lpws-1"], start["lpws-1"])
    two = rows["lpws-2"]
    assert (two.bursts, two.kills, two.rounds_fired, two.reloads) == (0, 0, 0, 0)
    assert two.ammo_left == two.ammo_start == start["lpws-2"]


def test_gun_rows_without_status_events_take_the_last_burst_ammunition(scenario):
    events = [_engagement(10.0, "lpws-2", 2, 75, 1234)]
    rows = {r.gun: r for r in gun_rows(_view(scenario, events))}
    assert rows["lpws-2"].ammo_left == 1234


def test_withheld_rows_name_the_threat_of_the_track_or_a_question_mark(scenario):
    fp = Footprint(kind="debris", lat=33.3, lon=44.4, radius_m=100.0)
    events = [
        EngagementWithheld(
            t_s=15.0, gun="lpws-1", track_id=7, reason="collateral", footprints=[fp]
        ),
        EngagementWithheld(t_s=16.0, gun=None, track_id=99, reason="weapons hold"),
    ]
    rows = withheld_rows(_view(scenario, events))
    assert [(r.t_s, r.gun, r.track_id, r.threat_id, r.reason) for r in rows] == [
        (15.0, "lpws-1", 7, "r2", "collateral"),
        (16.0, "", 99, "?", "weapons hold"),
    ]
    assert [(f.kind, f.radius_m) for f in rows[0].footprints] == [("debris", 100.0)]
    assert rows[1].footprints == ()


def test_warning_tracking_and_zone_rows_copy_the_summary():
    w = warning_rows(_summary())
    assert w.threshold == 0.5 and len(w.warnings) == 2
    assert w.missed == (ZoneWarning("Karrada", "r3", None, None),)
    assert [(f.zone, f.raised_s) for f in w.false_alerts] == [("Jadriya", 9.0), ("IZ", 1.0)]
    assert (w.alerted_area_km2, w.alerted_area_time_km2s) == (4.25, 120.0)

    tk = tracking_rows(_summary())
    assert (tk.plots, tk.false_plots, tk.confirmed_tracks, tk.filter) == (80, 3, 3, "ekf")
    assert tk.position_rmse_m is None and tk.swaps == 1
    by_threat = {t.threat_id: t for t in tk.threats}
    # track 7 has no class in the summary
    assert (by_threat["r2"].track_ids, by_threat["r2"].classes) == ((4, 7), ("rocket", "?"))
    assert by_threat["r3"].track_ids == () and by_threat["r3"].first_plot_s is None

    assert [(z.name, z.kind, z.impacts) for z in zone_rows(_summary())] == [("IZ", "protected", 1)]


# --- the page rendered from such rows -------------------------------------------------


def _cells(html: str, anchor: str, table: int = 0) -> list[list[str]]:
    sec = re.search(rf'<section id="{anchor}">(.*?)</section>', html, re.S).group(1)
    body = re.findall(r"<tbody>(.*?)</tbody>", sec, re.S)[table]
    return [
        [unescape(re.sub(r"<[^>]+>", "", c)) for c in re.findall(r"<td>(.*?)</td>", r, re.S)]
        for r in re.findall(r"<tr>(.*?)</tr>", body, re.S)
    ]


def _page_rows(scenario, events, summary, *, guns=True) -> ReportRows:
    view = _view(scenario, events, summary)
    return ReportRows(
        header=header(view),
        headline=headline(summary, view.bursts()),
        chronology=tuple(chronology(view)),
        threats=tuple(threat_rows(summary, {"r2": PredictionError(120.4, 15.0, 30.04)})),
        warning=warning_rows(summary),
        guns=tuple(gun_rows(view)) if guns else None,
        bursts=tuple(view.bursts()),
        withheld=tuple(withheld_rows(view)),
        operator=tuple(view.of_kind("operator")),
        tracking=tracking_rows(summary),
        zones=tuple(zone_rows(summary)),
    )


def _page_summary():
    s = _summary()
    s.update(source="builtin:green-zone", seed=7, end_time_s=45.0, opencram_version="0.1.0")
    ground = {"time_s": 30.0, "lat": 33.2, "lon": 44.3}
    s["threats"].append(
        _threat(
            "r4",
            "leaked",
            2.0,
            impact=ground,
            leak={"impact": ground, "zone": None, "engaged": False},
        )
    )
    return s


FIGURES = dict.fromkeys(("map", "timeline", "alerts", "trade_off", "gospa", "altitude"), b"png")


def test_the_page_words_every_kind_of_threat_row(scenario):
    html = render_page(_page_rows(scenario, [], _page_summary(), guns=False), FIGURES)
    rows = {r[0]: r for r in _cells(html, "threats")}
    assert rows["r1"][3:] == [
        "intercepted",
        "–",
        "destroyed in the air",
        "–",
        "destroyed at t = 22.0 s, 272 m up, by lpws-1 (150 rounds in 2 burst(s))",
    ]
    assert rows["r2"][3:] == [
        "leaked",
        "IZ: 20.7 s own, 24.7 s zone; Jadriya: not by its own track, 3.2 s zone",
        "t = 40.0 s, 33.31000, 44.41000; IZ, Jadriya",
        "120 m first (30.0 s before), 15 m last",
        "landed in IZ after 1 burst(s)",
    ]
    assert rows["r3"][3:] == [
        "not engaged",
        "missed",
        "in flight at end",
        "–",
        "never held by a confirmed track",
    ]
    assert rows["r4"][3:6] == [
        "leaked",
        "no warning zone hit",
        "t = 30.0 s, 33.20000, 44.30000; open ground",
    ]
    assert rows["r4"][7] == "landed in open ground, not engaged"
    assert '<span class="bad">missed</span>' in html
    # no guns: no engagements section, in the page or its navigation
    assert 'id="engagements"' not in html and 'href="#engagements"' not in html
    assert "Missed warnings: Karrada (r3)." in html
    assert "False alerts: Jadriya at 9.0 s, IZ at 1.0 s." in html
    assert "position RMSE &ndash;," in html and "Mean GOSPA\n41.0 m" in html
    assert _cells(html, "tracking") == [
        ["r1", "6.5 s", "8.5 s", "T2", "rocket"],
        ["r2", "10.5 s", "12.5 s", "T4, T7", "rocket, ?"],
        ["r3", "–", "–", "–", "-"],
        ["r4", "–", "–", "–", "-"],
    ]


def test_the_page_lists_bursts_withheld_fire_and_refused_operator_actions(scenario):
    fp = Footprint(kind="dud", lat=33.25, lon=44.38705, radius_m=51.2)
    events = [
        _engagement(10.0, "lpws-1", 2, 75, 1475).model_copy(update={"footprints": [fp]}),
        EngagementResult(t_s=14.0, gun="lpws-1", track_id=2, killed=True),
        _engagement(15.0, "lpws-2", 4, 60, 1490),
        EngagementResult(t_s=15.2, gun="lpws-2", track_id=4, killed=False, cancelled="track lost"),
        EngagementWithheld(t_s=16.0, gun=None, track_id=4, reason="weapons hold"),
        OperatorAction(t_s=17.0, action="weapons_free", target="all", accepted=False, note="x"),
    ]
    html = render_page(
        _page_rows(scenario, events, _page_summary()), FIGURES | {"engagements": b"p"}
    )
    assert 'id="fig-collateral"' not in html  # no collateral figure given
    assert [r[:2] + r[6:] for r in _cells(html, "engagements", 1)] == [
        ["lpws-1", "T2", "75", "0.50", "destroyed", "1475", "dud 51 m at 33.25000, 44.38705"],
        ["lpws-2", "T4", "60", "0.50", "cancelled: track lost", "1490", "–"],
    ]
    assert _cells(html, "engagements", 2) == [
        ["16.0 s", "all guns", "T4", "r2", "weapons hold", "-"]
    ]
    assert _cells(html, "engagements", 3) == [["17.0 s", "weapons_free", "all", "refused: x"]]
    timeline = {r[1]: r[2] for r in _cells(html, "timeline")}
    assert timeline["burst fired"] == "lpws-1 on T2: 75 rounds, P(kill) 0.50"
    assert timeline["burst cancelled"] == "lpws-2 on T4: track lost"
    assert timeline["fire withheld"] == "all guns, T4: weapons hold"
    assert timeline["operator"] == "weapons_free all (refused: x)"


def test_the_page_says_no_gun_fired_and_folds_a_long_timeline(scenario):
    summary = _page_summary()
    summary["threats"] += [_threat(f"x{k}", "not_engaged", 30.0 + k) for k in range(30)]
    html = render_page(_page_rows(scenario, [], summary), FIGURES | {"engagements": b"p"})
    assert "<p>No gun fired.</p>" in html
    n = len(chronology(_view(scenario, [], summary)))
    assert n > 30 and f"<details><summary>{n} key events</summary>" in html
    # the page escapes what it is given
    summary["threats"][0]["id"] = "<b>r1</b>"
    html = render_page(_page_rows(scenario, [], summary, guns=False), FIGURES)
    assert "&lt;b&gt;r1&lt;/b&gt;" in html and "<b>r1</b>" not in html
