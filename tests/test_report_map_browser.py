"""The report's interactive map in a real browser (Playwright driving Debian's Chromium, as
tests/test_console_browser.py), on green-zone with a site layer of our own (a drawn river
and road): the page makes no network request; the legend names every zone kind and the
layer with its source; the scale bar's length is the ground distance between two
landmarks measured by pymap3d (the authority), not by our projection; hovering a track
shows its details; the time slider shows the run as it stood (nothing before the first
launch, intercepts only after the summary's intercept time); labels do not overlap; and
the pointer readout's MGRS reference is the ``mgrs`` package's (the authority), which is
also checked on its own at points over the world. The static map draws the layer too.
Screenshots go to test-artifacts/ (git-ignored). Skips locally without Chromium; fails
in CI."""

from __future__ import annotations

import json
import math
import re

import mgrs
import pymap3d
import pytest
import yaml

from opencram import palette
from opencram.analysis.report import build_report
from opencram.analysis.report.figures import map_figure
from opencram.analysis.summary import build_summary
from opencram.c2.engine import run
from opencram.c2.world import compile_world
from opencram.interop.runview import from_result
from opencram.scenario.load import builtin_path, load
from test_console_browser import ARTIFACTS, TIMEOUT_MS, browser  # noqa: F401

LAYER = {"name": "Test river", "kind": "water", "geojson": "river.geojson"}
LAYER_SOURCE = "drawn for this test"
ROAD = {"name": "Test road", "kind": "road", "geojson": "road.geojson"}
RIVER = {  # a strip west of the site (lon, lat)
    "type": "Polygon",
    "coordinates": [
        [[44.37, 33.29], [44.375, 33.29], [44.375, 33.32], [44.37, 33.32], [44.37, 33.29]]
    ],
}
ROAD_LINE = {"type": "LineString", "coordinates": [[44.38, 33.28], [44.40, 33.33]]}


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    """green-zone with two site layers, run, and its report written (the layers read back
    by the report from the scenario's own files)."""
    folder = tmp_path_factory.mktemp("webmap")
    doc = yaml.safe_load(builtin_path("green-zone").read_text())
    doc["layers"] = [{**LAYER, "source": LAYER_SOURCE}, ROAD]  # in place of the Tigris
    (folder / "river.geojson").write_text(json.dumps(RIVER))
    (folder / "road.geojson").write_text(json.dumps(ROAD_LINE))
    (folder / "gz.yaml").write_text(yaml.safe_dump(doc, sort_keys=False))
    loaded = load(str(folder / "gz.yaml"))
    result = run(compile_world(loaded))
    summary = build_summary(result)
    rep = build_report(result, summary)
    path = folder / "report.html"
    path.write_text(rep.html, encoding="utf-8")
    return path, result, summary, loaded


def _open(browser, path):  # noqa: F811
    page = browser.new_page(viewport={"width": 1280, "height": 1000})
    page.set_default_timeout(TIMEOUT_MS)
    errors: list[str] = []
    requests: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("request", lambda r: requests.append(r.url))
    page.goto(path.as_uri())
    page.wait_for_selector("#webmap svg .wm-zone")
    page.locator("#webmap").scroll_into_view_if_needed()
    return page, errors, requests


def _set_time(page, t_s: float) -> None:
    page.locator("#webmap .wm-time").fill(str(t_s))
    page.wait_for_function(
        f"document.querySelector('#webmap .wm-clock').textContent.startsWith('T+ {t_s:.1f} s')"
    )


def test_report_map_is_offline_with_legend_scale_bar_and_layers(browser, report):  # noqa: F811
    ARTIFACTS.mkdir(exist_ok=True)
    path, result, _, loaded = report
    page, errors, requests = _open(browser, path)
    assert requests == [path.as_uri()], f"the report asked for more than itself: {requests}"
    legend = page.locator("#webmap .wm-legend").inner_text()
    for kind in set(result.world.zones.kinds):
        assert f"{kind} zone" in legend
    assert f"Test river ({LAYER_SOURCE})" in legend and "Test road" in legend
    assert page.locator("#webmap polygon.wm-layer").count() == 1
    assert page.locator("#webmap polyline.wm-layer-line").count() == 1
    water = page.locator("#webmap polygon.wm-layer").first
    assert water.evaluate("(p) => p.style.fill") == _rgb(palette.LAYER_KIND["water"])
    assert page.locator("#webmap .wm-north").count() == 1
    assert page.locator("#webmap .wm-grid-label").count() >= 4
    # the scale bar against the ground: two landmarks' distance on screen, in the bar's
    # metres per pixel, is their distance by pymap3d
    bar = page.locator("#webmap .wm-scale")
    metres_per_px = float(bar.get_attribute("data-metres")) / float(bar.get_attribute("data-px"))
    marks = {lm.name: lm for lm in loaded.scenario.landmarks}
    a, b = marks["al-Rashid Hotel"], marks["US Embassy"]
    centres = [_centre(page, f'#webmap circle[data-landmark="{m.name}"]') for m in (a, b)]
    on_screen_m = math.dist(*centres) * metres_per_px
    e, n, _ = pymap3d.geodetic2enu(b.lat, b.lon, 0, a.lat, a.lon, 0)
    assert on_screen_m == pytest.approx(math.hypot(e, n), rel=0.01)
    page.locator("#webmap").screenshot(path=str(ARTIFACTS / "report-map.png"))
    page.close()
    assert not errors, errors


def _rgb(hex_colour: str) -> str:
    r, g, b = (int(hex_colour[i : i + 2], 16) for i in (1, 3, 5))
    return f"rgb({r}, {g}, {b})"


def _centre(page, selector: str) -> tuple[float, float]:
    box = page.locator(selector).bounding_box()
    return box["x"] + box["width"] / 2, box["y"] + box["height"] / 2


def test_report_map_hover_time_slider_and_labels(browser, report):  # noqa: F811
    ARTIFACTS.mkdir(exist_ok=True)
    path, result, summary, _ = report
    page, errors, _ = _open(browser, path)
    first_burst = min(e.intercept_s for e in result.events if e.kind == "engagement")
    first_launch = min(t["launch"]["time_s"] for t in summary["threats"])
    intercept_s = min(t["intercept"]["time_s"] for t in summary["threats"] if t.get("intercept"))
    _set_time(page, math.floor(first_launch) - 1.0)
    assert page.locator("#webmap .wm-threat").count() == 0
    threat_tracks = {f"T{k}" for t in summary["threats"] for k in t["tracking"]["track_ids"]}
    shown = page.eval_on_selector_all("#webmap .wm-track", "(ts) => ts.map((t) => t.dataset.track)")
    assert not threat_tracks & set(shown)  # a friendly aircraft's track may be up already
    _set_time(page, math.floor(first_burst) - 1.0)
    assert page.locator("#webmap .wm-intercept").count() == 0
    assert page.locator("#webmap .wm-threat").count() == len(summary["threats"])
    track_id = sorted(threat_tracks)[0]
    track = page.locator(f'#webmap circle.wm-track-now[data-track="{track_id}"]')
    track.hover()
    tip = page.locator("#webmap .wm-tip")
    tip.wait_for(state="visible")
    assert re.match(rf"track {track_id} \(\w+\) at T\+[\d.]+ s: alt \d+ m", tip.inner_text())
    page.locator("#webmap").screenshot(path=str(ARTIFACTS / "report-map-hover.png"))
    _set_time(page, math.ceil(intercept_s) + 1.0)
    kills = page.eval_on_selector_all(
        "#webmap .wm-intercept", "(ps) => ps.map((p) => p.style.fill)"
    )
    assert _rgb(palette.MARK["kill"]) in kills
    # no two labels overlap
    boxes = page.eval_on_selector_all(
        "#webmap text.wm-label",
        "(ts) => ts.map((t) => t.getBBox()).map((b) => [b.x, b.y, b.x + b.width, b.y + b.height])",
    )
    assert len(boxes) >= 10
    for i, p in enumerate(boxes):
        for q in boxes[i + 1 :]:
            overlap = min(p[2], q[2]) - max(p[0], q[0]), min(p[3], q[3]) - max(p[1], q[1])
            assert min(overlap) <= 0.5, (p, q)
    # zoom: the wheel and the button both zoom in
    mpp = float(page.locator("#webmap svg").get_attribute("data-mpp"))
    page.locator("#webmap .wm-zoom-in").click()
    assert float(page.locator("#webmap svg").get_attribute("data-mpp")) < mpp
    page.close()
    assert not errors, errors


# points in both hemispheres, odd and even zones, the Norway and Svalbard exceptions, and
# near 100 km square edges
MGRS_POINTS = [
    (33.3076, 44.3903),
    (36.19, 44.01),
    (-33.8688, 151.2093),
    (40.7128, -74.006),
    (-54.8, -68.3),
    (60.39, 5.32),
    (78.22, 15.65),
    (0.5, 9.0),
    (-0.5, -0.5),
    (64.1, -21.9),
    (83.5, 30.0),
    (-79.5, 170.0),
]


def test_mgrs_readout_is_the_mgrs_packages(browser, report):  # noqa: F811
    path, _, _, loaded = report
    page, errors, _ = _open(browser, path)
    ref = mgrs.MGRS()
    for lat, lon in MGRS_POINTS:
        js = page.evaluate(f"window.opencramMap.mgrs({lat}, {lon})")
        assert js == ref.toMGRS(lat, lon, MGRSPrecision=5), (lat, lon)
    # the readout under the pointer, over a landmark: its latitude and longitude are the
    # landmark's (to the pixel), and its MGRS the package's for them (to the metre)
    lm = loaded.scenario.landmarks[0]
    x, y = _centre(page, f'#webmap circle[data-landmark="{lm.name}"]')
    page.mouse.move(x, y)
    text = page.locator("#webmap .wm-readout").inner_text()
    m = re.search(r"lat (-?[\d.]+), lon (-?[\d.]+) · MGRS (\w+)", text)
    assert m, text
    lat, lon = float(m.group(1)), float(m.group(2))
    mpp = float(page.locator("#webmap svg").get_attribute("data-mpp"))
    e, n, _ = pymap3d.geodetic2enu(lat, lon, 0, lm.lat, lm.lon, 0)
    assert math.hypot(e, n) < 1.5 * mpp  # within a pixel and a half
    back = ref.toLatLon(m.group(3))
    e, n, _ = pymap3d.geodetic2enu(back[0], back[1], 0, lat, lon, 0)
    assert math.hypot(e, n) < 2.0  # 1 m digits, and the 6-decimal readout
    page.close()
    assert not errors, errors


def test_static_map_draws_the_site_layers_beneath(report):
    _, result, summary, loaded = report
    fig = map_figure(result, from_result(result, summary), layers=loaded.layers)
    ax = fig.axes[0]
    water = [
        p
        for p in ax.patches
        if tuple(round(c, 3) for c in p.get_facecolor()[:3]) == _frac(palette.LAYER_KIND["water"])
    ]
    assert len(water) == 1 and water[0].get_zorder() < min(
        line.get_zorder() for line in ax.lines if line.get_zorder() > 0
    )
    road = [ln for ln in ax.lines if ln.get_color() == palette.LAYER_KIND["road"]]
    assert len(road) == 1
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert f"Test river ({LAYER_SOURCE})" in legend and "Test road" in legend


def test_static_map_labels_do_not_overlap(report):
    """The issue's complaint: labels in the centre over one another until unreadable.
    Every text drawn on either map (labels, legend excepted) is clear of every other."""
    _, result, summary, loaded = report
    view = from_result(result, summary)
    for zoom in (False, True):
        fig = map_figure(result, view, zoom=zoom, layers=loaded.layers)
        fig.canvas.draw()
        renderer = fig.canvas.get_renderer()
        boxes = [(t.get_text(), t.get_window_extent(renderer)) for t in fig.axes[0].texts]
        assert len(boxes) >= 10
        for i, (a, p) in enumerate(boxes):
            for b, q in boxes[i + 1 :]:
                assert not p.overlaps(q), (zoom, a, b)
        names = {t for t, _ in boxes}
        assert {"rocket-1", "rocket-2"} <= names  # the threats keep their labels


def _frac(hex_colour: str) -> tuple[float, ...]:
    return tuple(round(int(hex_colour[i : i + 2], 16) / 255, 3) for i in (1, 3, 5))
