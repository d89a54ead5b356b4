"""The console's map over an MBTiles base map in Chromium (Playwright, as
tests/test_console_map_and_replay.py): the page fetches its tiles from the console's own
``/tiles`` route only (no other host), draws them beneath the zones, and places a tile's
corner where pymap3d (the authority) puts it in the site's ENU frame. The archive is
written in the test (tests/tile_archive.py)."""

from __future__ import annotations

import threading

import pymap3d

from opencram.console.app import LOOPBACK_NAMES, create_app
from opencram.console.session import Session
from opencram.tiles import tile_source
from test_console_browser import ARTIFACTS, _open, _Server, browser  # noqa: F401
from tile_archive import covering, osm_corner, osm_tile, write_archive

WIDE = (33.1, 44.2, 33.5, 44.6)  # south, west, north, east: around the Green Zone


class _TileServer(_Server):
    """The test console server, with a base map."""

    def __init__(self, session: Session, tiles) -> None:
        import uvicorn

        super().__init__(session)
        app = create_app(session, trusted_hosts=LOOPBACK_NAMES, tiles=tiles)
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)


def test_the_console_draws_the_archives_tiles_beneath_in_place(browser, tmp_path):  # noqa: F811
    archive = tmp_path / "base.mbtiles"
    write_archive(archive, covering(12, *WIDE) + covering(13, *WIDE))
    session = Session.live("green-zone", paused=True)
    with _TileServer(session, tile_source(str(archive))) as url:
        page, errors, foreign = _open(browser, url)
        page.wait_for_selector("#map image.tile")
        keys = page.eval_on_selector_all(
            "#map image.tile", "(els) => els.map((e) => e.dataset.tile)"
        )
        z = int(keys[0].split("/")[0])
        assert z in (12, 13) and {int(k.split("/")[0]) for k in keys} == {z}
        ok = page.evaluate(
            "async (ks) => (await Promise.all(ks.map((k) => fetch('/tiles/' + k))))"
            ".map((r) => r.status)",
            keys,
        )
        assert set(ok) == {200}
        # beneath: every tile comes before the first zone
        order = page.evaluate(
            "() => { const k = [...document.querySelectorAll('#map > *')];"
            " return [Math.max(...k.map((e, i) => e.matches('image') ? i : -1)),"
            " k.findIndex((e) => e.matches('.zone'))]; }"
        )
        assert order[0] < order[1]
        site = session.map["site"]
        x, y = osm_tile(z, site["lat"], site["lon"])
        north, west = osm_corner(z, x, y)
        e, n, _ = pymap3d.geodetic2enu(north, west, 0.0, site["lat"], site["lon"], site["alt_m"])
        v = page.eval_on_selector("#map", "(s) => ({ ...s.dataset })")
        box = page.locator("#map").bounding_box()
        want_x = box["width"] / 2 + (e - float(v["cx"])) / float(v["mpp"])
        want_y = box["height"] / 2 - (n - float(v["cy"])) / float(v["mpp"])
        tile = page.locator(f'#map image.tile[data-tile="{z}/{x}/{y}"]')
        assert abs(float(tile.get_attribute("x")) - want_x) < 1.0
        assert abs(float(tile.get_attribute("y")) - want_y) < 1.0
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "console-tiles.png"))
        page.close()
    assert not errors, errors
    assert not foreign, foreign
