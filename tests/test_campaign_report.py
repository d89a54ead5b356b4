"""The campaign report (``opencram.campaign.report``): its rows from a hand-made
summary.json, and the page the template renders from them, cell by cell, checked against
the numbers written into that summary (three significant digits, dashes for missing
values, intervals in brackets)."""

import re
from html import unescape

import numpy as np
import pyarrow as pa

from opencram.campaign.report import (
    campaign_rows,
    impacts_figure,
    render_campaign_report,
    significant,
)


def _layout(ok, failed, p, rounds_per_burst, impact_med, failed_runs=()):
    return {
        "runs": {"ok": ok, "failed": failed, "total": ok + failed},
        "threats": 2 * ok,
        "engaged": ok,
        "p_intercept_engaged": {"p": p, "ci95": [0.1234, 0.98765]},
        "p_intercept_all": {"p": p / 2, "ci95": [0.05, 0.5]},
        "p_intercept_threatening": {"p": None, "ci95": [None, None]},
        "warning_time_s": {"p5": 15.539, "median": 20.535, "p95": 25.288, "missed_warnings": 1},
        "own_track_warning_time_s": {"median": 18.04, "not_by_own_track": 2},
        "false_alerts": {"per_run": 1.0, "share_of_alerts": {"p": 0.3333}},
        "ammunition": {"rounds_per_burst": rounds_per_burst, "rounds_per_kill": 1234.5},
        "leakers_per_salvo": {"distribution": {"0": ok - 1, "1": 1}},
        "prediction_error": {
            "20s": {"impact_err_m": {"median": impact_med}, "origin_err_m": {"median": 39.8}},
            "10s": {"impact_err_m": {"median": 1.0}, "origin_err_m": {"median": 2.0}},
            "first": {"impact_err_m": {"median": 9.0}, "origin_err_m": {"median": 9.0}},
        },
        "failed_runs": list(failed_runs),
    }


ZONES = [
    {
        "name": "IZ",
        "kind": "protected",
        "rings": [[[33.295, 44.385], [33.305, 44.385], [33.305, 44.395], [33.295, 44.385]]],
    },
    {
        "name": "Jadriya",
        "kind": "warning",
        "rings": [[[33.280, 44.400], [33.290, 44.400], [33.290, 44.420], [33.280, 44.400]]],
    },
]


def _summary(vary=("environment.wind.speed_mps=uniform(0,8)",), failed=True):
    fails = [{"run": 3, "seed": 4, "error": "ValueError: wind <0"}] if failed else []
    return {
        "settings": {"scenario": "quick.yaml", "runs": 4, "seed": 1, "vary": list(vary)},
        "zones": ZONES,
        "layouts": {
            "as-deployed": _layout(3, 1, 0.5, 56.25, 363.2, fails),
            "<no guns>": _layout(4, 0, 0.0, None, 71.1),
        },
        "ranking": [
            {
                "rank": 1,
                "layout": "as-deployed",
                "leakers_per_salvo": 0.0,
                "leakers_per_salvo_ci95": [0.0, 0.0],
                "p_leak_protected": 0.0,
                "p_leak_protected_ci95": [0.0, 0.49],
                "median_warning_s": 25.1,
                "median_warning_s_ci95": [24.7, 25.4],
            },
            {
                "rank": 2,
                "layout": "<no guns>",
                "leakers_per_salvo": 1.0,
                "leakers_per_salvo_ci95": [1.0, 1.0],
                "p_leak_protected": 0.5,
                "p_leak_protected_ci95": [0.15, 0.85],
                "median_warning_s": None,
                "median_warning_s_ci95": [None, None],
                "vs_best": {
                    "mean_extra_leakers_per_salvo": 1.0,
                    "ci95": [1.0, 1.0],
                    "paired_runs": 3,
                },
            },
        ],
    }


def _threats():
    layout = ["as-deployed", "as-deployed", "<no guns>", "<no guns>"]
    return pa.table(
        {
            "layout": layout,
            "warning_times_s": [[20.0], [25.0], [15.0], []],
            "own_track_warning_times_s": [[18.0], [None], [15.0], []],
            "impact_lat": [33.30, None, 33.31, 33.29],
            "impact_lon": [44.39, None, 44.40, 44.41],
            "leaked_protected": [False, False, True, False],
            "intercept_time_s": [None, 22.0, None, None],
            "rounds_fired": [0, 150, 0, 0],
        }
    )


def _table(html: str, heading: str) -> list[list[str]]:
    t = re.search(rf"<h2>{heading}</h2>.*?<table>(.*?)</table>", html, re.S).group(1)
    return [
        [unescape(re.sub(r"<[^>]+>", "", c)).strip() for c in re.findall(r"<td>(.*?)</td>", r)]
        for r in re.findall(r"<tr>(.*?)</tr>", t, re.S)
        if "<td>" in r
    ]


def test_significant_keeps_three_digits_and_whole_numbers_from_a_thousand():
    assert [significant(x) for x in (0.123456, 56.25, 999.4, 1234.5, 0.0, 3, "x")] == [
        "0.123",
        "56.2",
        "999",
        "1234",
        "0",
        "3",
        "x",
    ]


def test_campaign_rows_copy_the_summary():
    rows = campaign_rows(_summary())
    assert (rows.scenario, rows.runs, rows.first_seed, rows.lead) == ("quick.yaml", 4, 1, "20s")
    best, second = rows.ranking
    assert best.vs_best is None and best.p_leak_protected_ci95 == (0.0, 0.49)
    assert second.median_warning_s is None and second.median_warning_s_ci95 == (None, None)
    assert (second.vs_best.mean_extra_leakers, second.vs_best.paired_runs) == (1.0, 3)
    a, b = rows.layouts
    assert (a.layout, a.runs_ok, a.runs_failed, a.rounds_per_kill) == ("as-deployed", 3, 1, 1234.5)
    assert (a.impact_err_median_m, a.origin_err_median_m) == (363.2, 39.8)  # the 20 s lead
    assert b.rounds_per_burst is None and b.p_intercept_threatening_ci95 == (None, None)
    assert (a.p_intercept_engaged, a.engaged, a.p_intercept_all, a.threats) == (0.5, 3, 0.25, 6)
    assert [(f.layout, f.run, f.seed, f.error) for f in rows.failed] == [
        ("as-deployed", 3, 4, "ValueError: wind <0")
    ]


def test_the_page_shows_the_ranking_layouts_failed_runs_and_six_figures():
    html = render_campaign_report(_summary(), _threats())
    assert _table(html, "Layouts ranked by protection") == [
        ["1", "as-deployed", "0 [0, 0]", "0 [0, 0.49]", "25.1 [24.7, 25.4]", "best"],
        ["2", "<no guns>", "1 [1, 1]", "0.5 [0.15, 0.85]", "– –", "1 [1, 1] over 3 runs"],
    ]
    assert _table(html, "Per layout") == [
        [
            "as-deployed",
            "3 / 1",
            "0.5 [0.123, 0.988] (3 engaged)",
            "0.25 [0.05, 0.5] (of 6)",
            "– –",
            "15.5 / 20.5 / 25.3 (missed 1)",
            "18 (not by its own track: 2)",
            "1 (0.333 of alerts)",
            "56.2 / 1234",
            "363 / 39.8",
        ],
        [
            "<no guns>",
            "4 / 0",
            "0 [0.123, 0.988] (4 engaged)",
            "0 [0.05, 0.5] (of 8)",
            "– –",
            "15.5 / 20.5 / 25.3 (missed 1)",
            "18 (not by its own track: 2)",
            "1 (0.333 of alerts)",
            "– / 1234",
            "71.1 / 39.8",
        ],
    ]
    assert "error at 20s before impact" in html
    assert _table(html, "Failed runs") == [["as-deployed", "3", "4", "ValueError: wind <0"]]
    assert "&lt;no guns&gt;" in html and "<no guns>" not in html  # escaped
    assert "<li><code>environment.wind.speed_mps=uniform(0,8)</code></li>" in html
    assert "seeds 1 to 4" in html
    assert html.count('<img alt="figure" src="data:image/png;base64,') == 6


def test_the_page_without_variations_or_failures():
    html = render_campaign_report(_summary(vary=(), failed=False), _threats())
    assert "Variations:</p><ul><li>none</li></ul>" in html
    assert "Failed runs" not in html


def test_impact_scatter_is_drawn_over_the_zones_in_plain_degrees():
    """Issue 16 point 3: each panel fills every zone ring (its outline in lon/lat, read
    back from the patch), puts the impacts at their lon/lat, and its tick labels are plain
    degrees: no offset text such as '+3.33e1' and every label parses back to a tick."""
    fig = impacts_figure(_summary(), _threats())
    fig.canvas.draw()
    rings = [np.asarray(r)[:, ::-1] for z in ZONES for r in z["rings"]]  # (lon, lat)
    for ax, layout in zip(fig.axes, ("as-deployed", "<no guns>"), strict=True):
        outlines = [p.get_path().vertices for p in ax.patches]
        assert len(outlines) == len(rings)
        for ring, got in zip(rings, outlines, strict=True):
            assert np.allclose(got[: len(ring)], ring)
        rows = [
            i for i, name in enumerate(_threats().column("layout").to_pylist()) if name == layout
        ]
        want = {
            (_threats().column("impact_lon")[i].as_py(), _threats().column("impact_lat")[i].as_py())
            for i in rows
            if _threats().column("impact_lat")[i].as_py() is not None
        }
        drawn = {tuple(xy) for c in ax.collections for xy in np.asarray(c.get_offsets())}
        assert want == {(round(x, 6), round(y, 6)) for x, y in drawn}
        assert ax.get_xlabel() == "longitude (°)"
        checks = [(ax.xaxis, 44.3, 44.5)] + ([(ax.yaxis, 33.2, 33.4)] if ax is fig.axes[0] else [])
        for axis, lo, hi in checks:  # the second panel shares the first one's latitudes
            assert axis.get_offset_text().get_text() == ""
            labels = [t.get_text() for t in axis.get_ticklabels() if t.get_text()]
            assert labels and all(lo < float(x) < hi for x in labels)
    assert fig.axes[0].get_ylabel() == "latitude (°)"
