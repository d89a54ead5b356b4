"""The report's map over base-map tiles from an MBTiles archive, in a real browser
(Playwright driving Debian's Chromium, as tests/test_report_map_browser.py): the archive is
written in the test (tests/tile_archive.py, its tiles by the OSM wiki's formulas); the
report stays one offline file; the tiles drawn are the archive's own images, beneath the
zones; and a tile's corner lies on screen where pymap3d (the authority) puts it from a
landmark, in the map's metres per pixel. With a URL template the page asks the template's
host for the tiles in view (intercepted: no network)."""

from __future__ import annotations

import base64

import pymap3d
import pytest

from opencram.analysis.report import build_report
from opencram.analysis.summary import build_summary
from opencram.c2.engine import run
from opencram.c2.world import compile_world
from opencram.scenario.load import load
from opencram.tiles import tile_source
from test_console_browser import ARTIFACTS, TIMEOUT_MS, browser  # noqa: F401
from tile_archive import covering, osm_corner, osm_tile, png, write_archive

WIDE = (33.1, 44.2, 33.5, 44.6)  # south, west, north, east: around the Green Zone
LANDMARK = "al-Rashid Hotel"


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    folder = tmp_path_factory.mktemp("tiles")
    archive = folder / "base.mbtiles"
    images = write_archive(archive, covering(12, *WIDE) + covering(13, *WIDE))
    loaded = load("green-zone")
    result = run(compile_world(loaded))
    summary = build_summary(result, loaded.layers)
    pages = {}
    for name, tiles in (
        ("mbtiles", str(archive)),
        ("template", "https://tiles.example.org/{z}/{x}/{y}.png"),
    ):
        rep = build_report(result, summary, loaded.layers, tiles=tile_source(tiles))
        pages[name] = folder / f"report-{name}.html"
        pages[name].write_text(rep.html, encoding="utf-8")
    return pages, images, loaded


def _open(browser, path):  # noqa: F811
    page = browser.new_page(viewport={"width": 1280, "height": 1000})
    page.set_default_timeout(TIMEOUT_MS)
    errors: list[str] = []
    requests: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("request", lambda r: requests.append(r.url))
    return page, errors, requests


def _corner_check(page, landmark, tile):
    """The tile's NW corner on screen vs the landmark's, by pymap3d and the map's scale."""
    z, x, y = tile
    north, west = osm_corner(z, x, y)
    mark = page.locator(f'#webmap circle[data-landmark="{landmark.name}"]').bounding_box()
    lx, ly = mark["x"] + mark["width"] / 2, mark["y"] + mark["height"] / 2
    box = page.locator(f'#webmap image[data-tile="{z}/{x}/{y}"]').bounding_box()
    mpp = float(page.locator("#webmap svg.wm-map").get_attribute("data-mpp"))
    e, _, _ = pymap3d.geodetic2enu(landmark.lat, west, 0, landmark.lat, landmark.lon, 0)
    _, n, _ = pymap3d.geodetic2enu(north, landmark.lon, 0, landmark.lat, landmark.lon, 0)
    assert box["x"] == pytest.approx(lx + e / mpp, abs=1.5)
    assert box["y"] == pytest.approx(ly - n / mpp, abs=1.5)


def test_report_map_draws_the_archives_tiles_beneath_at_their_place(browser, runs):  # noqa: F811
    ARTIFACTS.mkdir(exist_ok=True)
    pages, images, loaded = runs
    page, errors, requests = _open(browser, pages["mbtiles"])
    page.goto(pages["mbtiles"].as_uri())
    page.wait_for_selector("#webmap svg image.wm-tile")
    page.locator("#webmap").scroll_into_view_if_needed()
    assert requests == [pages["mbtiles"].as_uri()], f"not offline: {requests}"
    drawn = page.eval_on_selector_all(
        "#webmap image.wm-tile", "(els) => els.map((e) => [e.dataset.tile, e.getAttribute('href')])"
    )
    zooms = {int(key.split("/")[0]) for key, _ in drawn}
    assert len(zooms) == 1 and 1 < len(drawn) <= 64
    for key, href in drawn:
        z, x, y = (int(v) for v in key.split("/"))
        assert base64.b64decode(href.split(",", 1)[1]) == images[(z, x, y)]
    # beneath: every tile is painted before (under) the first zone
    order = page.evaluate(
        "() => { const k = [...document.querySelectorAll('#webmap svg > *')];"
        " return [Math.max(...k.map((e, i) => e.matches('image') ? i : -1)),"
        " k.findIndex((e) => e.matches('.wm-zone'))]; }"
    )
    assert order[0] < order[1]
    landmark = next(m for m in loaded.scenario.landmarks if m.name == LANDMARK)
    (z,) = zooms
    _corner_check(page, landmark, (z, *osm_tile(z, landmark.lat, landmark.lon)))
    size = page.evaluate(
        "async (h) => { const i = new Image(); i.src = h; await i.decode(); return i.width; }",
        drawn[0][1],
    )
    assert size == 8  # the image decodes
    page.locator("#webmap").screenshot(path=str(ARTIFACTS / "report-map-tiles.png"))
    page.close()
    assert not errors, errors


def test_report_map_fetches_a_url_templates_tiles(browser, runs):  # noqa: F811
    pages, _, loaded = runs
    page, errors, requests = _open(browser, pages["template"])
    page.route(
        "https://tiles.example.org/**",
        lambda route: route.fulfill(status=200, content_type="image/png", body=png((9, 9, 9))),
    )
    page.goto(pages["template"].as_uri())
    page.wait_for_selector("#webmap svg image.wm-tile")
    keys = page.eval_on_selector_all(
        "#webmap image.wm-tile", "(els) => els.map((e) => e.dataset.tile)"
    )
    page.wait_for_load_state("networkidle")
    fetched = {r for r in requests if r.startswith("https://tiles.example.org/")}
    assert fetched == {f"https://tiles.example.org/{k}.png" for k in keys}
    landmark = next(m for m in loaded.scenario.landmarks if m.name == LANDMARK)
    z = int(keys[0].split("/")[0])
    _corner_check(page, landmark, (z, *osm_tile(z, landmark.lat, landmark.lon)))
    page.close()
    assert not errors, errors
