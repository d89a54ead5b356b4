"""The console's map and clock in a real browser (Playwright driving Debian's Chromium,
as tests/test_console_browser.py): the user's zoom is kept while tracks end, alerts clear
and the run is seeked; a destroyed track's log line says destroyed; the pointer's latitude
and longitude are those of the local frame; the colours are the shared palette's; a live
run seeks back; and in a replay the seek bar moves the clock (the log is that of the
chosen time) and the speed control paces it. Screenshots go to test-artifacts/
(git-ignored). Skips locally without Chromium; fails in CI."""

from __future__ import annotations

import json
import re
import time

import mgrs
import pymap3d
import yaml

from opencram import palette
from opencram.analysis.runfolder import events_jsonl, portable_scenario
from opencram.c2.engine import run
from opencram.c2.world import compile_world
from opencram.console.session import Session
from opencram.scenario.load import load
from test_console_browser import (  # noqa: F401
    ARTIFACTS,
    TIMEOUT_MS,
    _log,
    _open,
    _Server,
    browser,
)


def _until(pred, what: str) -> None:
    end = time.monotonic() + TIMEOUT_MS / 1000
    while not pred():
        assert time.monotonic() < end, f"timed out waiting for {what}"
        time.sleep(0.02)


def _rgb(hex_colour: str) -> str:
    r, g, b = (int(hex_colour[i : i + 2], 16) for i in (1, 3, 5))
    return f"rgb({r}, {g}, {b})"


def _view(page) -> dict:
    return page.eval_on_selector("#map", "(s) => ({...s.dataset})")


def _check_cursor_readout(page, site) -> None:
    """Point at a spot off the site; the readout is that spot's geodetic position."""
    box = page.locator("#map").bounding_box()
    # whole CSS pixels: the browser reports the pointer's position in them
    px, py = round(box["x"] + 0.7 * box["width"]), round(box["y"] + 0.3 * box["height"])
    page.mouse.move(px, py)
    x, y = px - box["x"], py - box["y"]
    v = _view(page)
    e = float(v["cx"]) + (x - box["width"] / 2) * float(v["mpp"])
    n = float(v["cy"]) - (y - box["height"] / 2) * float(v["mpp"])
    text = page.locator("#cursor").inner_text()
    m = re.search(r"lat (-?[\d.]+), lon (-?[\d.]+)", text)
    assert m, text
    lat, lon, _ = pymap3d.enu2geodetic(e, n, 0.0, site["lat"], site["lon"], site["alt_m"])
    # the view's numbers are rounded (centre to 1 cm, scale to 1e-4 m/px): a few cm
    assert abs(float(m.group(1)) - lat) < 2e-6 and abs(float(m.group(2)) - lon) < 2e-6, text
    assert abs(e) > 100 or abs(n) > 100  # not the site itself
    # the MGRS reference is the mgrs package's for that point (1 m digits, 6-decimal text)
    grid = re.search(r"MGRS (\w+)", text)
    assert grid, text
    back = mgrs.MGRS().toLatLon(grid.group(1))
    de, dn, _ = pymap3d.geodetic2enu(
        back[0], back[1], 0.0, float(m.group(1)), float(m.group(2)), 0.0
    )
    assert (de**2 + dn**2) ** 0.5 < 2.0, (text, back)


def test_the_map_keeps_the_users_zoom_and_a_destroyed_track_says_so(browser):  # noqa: F811
    ARTIFACTS.mkdir(exist_ok=True)
    session = Session.live("green-zone", speed=20, paused=True)
    with _Server(session) as url:
        page, errors, foreign = _open(browser, url)
        # the colours are the shared palette's
        zone = page.locator("#map polygon.zone.protected").first
        assert zone.evaluate("(z) => getComputedStyle(z).stroke") == _rgb(
            palette.ZONE_KIND["protected"]
        )
        gun = page.locator("#map rect.gun").first
        assert gun.evaluate("(g) => getComputedStyle(g).fill") == _rgb(palette.GUN_STATE["ready"])
        page.click("#btn-resume")
        page.wait_for_selector("#alerts .alert")
        box = page.locator("#map").bounding_box()
        page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        before = _view(page)
        page.mouse.wheel(0, -300)  # zoom in
        page.wait_for_function("document.querySelector('#map').dataset.auto === 'false'")
        zoomed = _view(page)
        assert float(zoomed["mpp"]) < float(before["mpp"])
        _check_cursor_readout(page, session.map["site"])
        destroyed = page.locator("#log li.k-track_dropped.destroyed")
        destroyed.first.wait_for()
        page.wait_for_selector("#log li[data-kind=run_finished]")
        page.wait_for_function("!document.querySelector('#alerts .alert')")
        page.screenshot(path=str(ARTIFACTS / "console-zoom-kept.png"))
        # tracks ended and every alert cleared: the map is where the user left it
        assert _view(page) == zoomed
        line = destroyed.first.inner_text()
        assert re.search(r"track \d+ destroyed by lpws-\d: track closed", line), line
        assert "landed" not in line
        assert page.locator("#log li[data-kind=zone_alert]", has_text="all clear").count() >= 1
        # seek the finished live run back to T+10 (its engine re-runs to there): the page
        # is that of T+10, before the intercept, and the map is still where the user left it
        whole_run = list(session.backlog)
        page.click("#btn-pause")
        page.locator("#seek").fill("10")
        _until(lambda: session.status == "running" and session.pacer.t_s == 10.0, "T+10")
        page.wait_for_function("document.querySelector('#clock').textContent.includes('T+ 10.0')")
        page.wait_for_function("!document.querySelector('#log li.k-engagement_result')")
        launches = [e for e in session.backlog if e["kind"] == "launch"]
        assert _log(page, "launch").count() == len(launches) >= 1
        assert all(e["t_s"] <= 10.0 for e in session.backlog)
        assert _view(page) == zoomed
        page.close()
    assert not errors, errors
    assert not foreign, foreign
    # the page's "destroyed" is the engine's kill, and its track did end
    killed = {e["track_id"] for e in whole_run if e["kind"] == "engagement_result" and e["killed"]}
    dropped = {e["track_id"] for e in whole_run if e["kind"] == "track_dropped"}
    assert int(re.search(r"track (\d+)", line).group(1)) in killed & dropped


def _run_folder(tmp_path):
    """A replayable run folder (events and scenario only: no report, to keep it quick)."""
    loaded = load("green-zone")
    result = run(compile_world(loaded))
    folder = tmp_path / "gz"
    folder.mkdir()
    (folder / "events.jsonl").write_text(events_jsonl(result))
    doc = portable_scenario(loaded, folder)
    (folder / "scenario.yaml").write_text(yaml.safe_dump(doc, sort_keys=False))
    return folder


def _clock(page) -> float:
    return float(re.search(r"T\+ ([\d.]+)", page.locator("#clock").inner_text()).group(1))


def test_the_seek_bar_moves_the_replay_clock_and_the_log(browser, tmp_path):  # noqa: F811
    ARTIFACTS.mkdir(exist_ok=True)
    folder = _run_folder(tmp_path)
    recorded = [json.loads(x) for x in (folder / "events.jsonl").read_text().splitlines()]
    kill_s = next(e["t_s"] for e in recorded if e["kind"] == "engagement_result" and e["killed"])
    session = Session.replay(folder, speed=2, paused=True)
    with _Server(session) as url:
        page, errors, _ = _open(browser, url)
        seek = page.locator("#seek")
        assert seek.is_enabled() and float(seek.get_attribute("max")) == session.end_s
        later = round(kill_s + 1.0, 1)
        seek.fill(str(later))
        _until(lambda: session.pacer.t_s == later, "the server's clock at the time chosen")
        page.wait_for_function(f"document.querySelector('#clock').textContent.includes('{later}')")
        assert session.pacer.paused
        page.wait_for_selector("#log li.k-engagement_result.kill")
        n_launch = sum(1 for e in recorded if e["kind"] == "launch" and e["t_s"] <= later)
        assert _log(page, "launch").count() == n_launch >= 1
        page.screenshot(path=str(ARTIFACTS / "console-replay-seek.png"))
        seek.fill("3")  # back before the first launch: the picture is that of T+3
        _until(lambda: session.pacer.t_s == 3.0, "the server's clock at T+3")
        page.wait_for_function("document.querySelector('#clock').textContent.includes('T+ 3.0')")
        page.wait_for_function("!document.querySelector('#log li[data-kind=launch]')")
        assert page.locator("#log li.k-engagement_result").count() == 0
        assert page.locator("#tracks tbody tr[data-track]").count() == 0
        assert float(seek.input_value()) == 3.0
        # speed control, then run on: the clock and the bar move on from T+3
        page.select_option("#speed", "50")
        _until(lambda: session.pacer.speed == 50.0, "the new speed at the server")
        page.click("#btn-resume")
        page.wait_for_function("() => Number(document.querySelector('#seek').value) > 10")
        page.wait_for_selector("#log li[data-kind=run_finished]")
        assert abs(_clock(page) - session.end_s) <= 0.05
        assert page.locator("#log li").count() == _log_lines(page)
        page.close()
    assert not errors, errors


def _log_lines(page) -> int:
    """Lines the page has logged, counted in its own model (every event it drew a line
    for, once: a seek starts the log over, so nothing from before it is left)."""
    return page.evaluate("model.logCount")


def test_the_console_map_draws_the_site_layers_beneath_with_their_source(browser, tmp_path):  # noqa: F811
    """green-zone with a drawn river and road: both drawn under the zones in the palette's
    layer colours, at the place pymap3d puts them, and named with the source in the
    legend."""
    from opencram.scenario.load import builtin_path

    doc = yaml.safe_load(builtin_path("green-zone").read_text())
    river = [[44.37, 33.29], [44.375, 33.29], [44.375, 33.32], [44.37, 33.32], [44.37, 33.29]]
    (tmp_path / "river.geojson").write_text(json.dumps({"type": "Polygon", "coordinates": [river]}))
    road = {"type": "LineString", "coordinates": [[44.38, 33.28], [44.40, 33.33]]}
    (tmp_path / "road.geojson").write_text(json.dumps(road))
    doc["layers"] = [  # in place of the built-in Tigris layer
        {"name": "Drawn river", "kind": "water", "geojson": "river.geojson", "source": "a test"},
        {"name": "Drawn road", "kind": "road", "geojson": "road.geojson"},
    ]
    (tmp_path / "gz.yaml").write_text(yaml.safe_dump(doc, sort_keys=False))
    session = Session.live(str(tmp_path / "gz.yaml"), paused=True)
    with _Server(session) as url:
        page, errors, foreign = _open(browser, url)
        water = page.locator('#map polygon.layer[data-layer="Drawn river"]')
        assert water.count() == 1
        assert water.evaluate("(p) => getComputedStyle(p).fill") == _rgb(
            palette.LAYER_KIND["water"]
        )
        assert page.locator('#map polyline.layer-line[data-layer="Drawn road"]').count() == 1
        # beneath everything: the first shapes drawn, before any zone
        first = page.eval_on_selector("#map", "(s) => s.firstElementChild.getAttribute('class')")
        assert first.startswith("layer")
        assert "Drawn river (a test)" in page.locator("#legend").inner_text()
        # where it is drawn: its south-west corner at pymap3d's east/north of the site
        site = session.map["site"]
        e, n, _ = pymap3d.geodetic2enu(33.29, 44.37, 0.0, site["lat"], site["lon"], site["alt_m"])
        v = _view(page)
        box = page.locator("#map").bounding_box()
        x = box["width"] / 2 + (e - float(v["cx"])) / float(v["mpp"])
        y = box["height"] / 2 - (n - float(v["cy"])) / float(v["mpp"])
        first_point = water.get_attribute("points").split()[0].split(",")
        assert abs(float(first_point[0]) - x) < 1.0 and abs(float(first_point[1]) - y) < 1.0
        page.screenshot(path=str(ARTIFACTS / "console-site-layers.png"))
        page.close()
    assert not errors, errors
    assert not foreign, foreign


def test_the_console_map_has_a_graticule_a_north_arrow_and_a_true_scale_bar(browser):  # noqa: F811
    """Issue 16 point 1 in the console: a lat/lon graticule whose lines sit where pymap3d
    puts those latitudes and longitudes, a north arrow, and a scale bar whose length is
    its label's metres at the view's scale."""
    session = Session.live("green-zone", paused=True)
    site = session.map["site"]
    with _Server(session) as url:
        page, errors, foreign = _open(browser, url)
        page.wait_for_selector("#map line.graticule", state="attached")
        v = _view(page)
        box = page.locator("#map").bounding_box()
        mpp, cx, cy = float(v["mpp"]), float(v["cx"]), float(v["cy"])
        bar = page.locator("#map .scale-bar")
        metres, px = float(bar.get_attribute("data-m")), float(bar.get_attribute("data-px"))
        assert abs(px - metres / mpp) < 0.02 and 40 < px < 200
        assert page.locator("#map .north-arrow").count() == 1
        lons = page.locator("#map line.graticule[data-lon]")
        lats = page.locator("#map line.graticule[data-lat]")
        assert lons.count() >= 2 and lats.count() >= 2
        for k in range(lons.count()):
            line = lons.nth(k)
            lon = float(line.get_attribute("data-lon"))
            e, _, _ = pymap3d.geodetic2enu(site["lat"], lon, 0.0, site["lat"], site["lon"], 0.0)
            x = box["width"] / 2 + (e - cx) / mpp
            assert abs(float(line.get_attribute("x1")) - x) < 1.5, (lon, x)
        for k in range(lats.count()):
            line = lats.nth(k)
            lat = float(line.get_attribute("data-lat"))
            _, n, _ = pymap3d.geodetic2enu(lat, site["lon"], 0.0, site["lat"], site["lon"], 0.0)
            y = box["height"] / 2 - (n - cy) / mpp
            assert abs(float(line.get_attribute("y1")) - y) < 1.5, (lat, y)
        page.screenshot(path=str(ARTIFACTS / "console-furniture.png"))
        page.close()
    assert not errors, errors
    assert not foreign, foreign
