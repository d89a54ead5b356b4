"""The console's base map (``opencram console --tiles``): an MBTiles archive written in the
test (tests/tile_archive.py) is served from ``/tiles/{z}/{x}/{y}`` by slippy-map row (the
archive stores TMS rows), 404 for a tile it lacks, behind the same token and Host checks as
every route; the page is told where to fetch tiles from; bad ``--tiles`` of either command
is one line."""

from __future__ import annotations

import base64
import warnings

import pytest

from opencram.console.app import LOOPBACK_NAMES, create_app
from opencram.console.session import Session
from opencram.tiles import tile_source
from tile_archive import covering, write_archive

with warnings.catch_warnings():  # starlette's notice about its httpx-based client
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

TOKEN = "s3cret-token-for-tests"
TILES = [(12, 2553, 1631), (12, 2554, 1631), (14, 10214, 6526)]


@pytest.fixture(scope="module")
def session():
    return Session.live("green-zone", speed=1000, paused=True)


@pytest.fixture
def archive(tmp_path):
    path = tmp_path / "base.mbtiles"
    return path, write_archive(path, TILES)


def test_tiles_are_served_by_slippy_row_behind_the_token(session, archive):
    path, images = archive
    app = create_app(session, token=TOKEN, start=False, tiles=tile_source(str(path)))
    with TestClient(app) as c:
        assert c.get("/tiles/12/2553/1631").status_code == 401
        auth = {"X-Opencram-Token": TOKEN}
        for z, x, y in TILES:
            r = c.get(f"/tiles/{z}/{x}/{y}", headers=auth)
            assert r.status_code == 200 and r.headers["content-type"] == "image/png"
            assert r.content == images[(z, x, y)]
        # the TMS row of (12, 2553, 1631) is 4095 - 1631 = 2464: not a slippy row here
        assert c.get("/tiles/12/2553/2464", headers=auth).status_code == 404
        assert c.get("/tiles/13/2553/1631", headers=auth).status_code == 404
        assert c.get("/tiles/12/-1/1631", headers=auth).status_code == 404
        state = c.get("/api/state", headers=auth).json()
        assert state["map"]["tiles"] == {"template": "/tiles/{z}/{x}/{y}", "zooms": [12, 14]}
        with c.websocket_connect(f"/ws?token={TOKEN}") as ws:
            assert ws.receive_json()["map"]["tiles"]["template"] == "/tiles/{z}/{x}/{y}"


def test_tiles_route_checks_the_host(session, archive):
    path, _ = archive
    app = create_app(
        session, start=False, trusted_hosts=LOOPBACK_NAMES, tiles=tile_source(str(path))
    )
    with TestClient(app, base_url="http://127.0.0.1:8765") as c:
        assert c.get("/tiles/12/2553/1631").status_code == 200
        rebound = {"Host": "attacker.example:8765"}
        assert c.get("/tiles/12/2553/1631", headers=rebound).status_code == 403


def test_a_url_template_is_passed_to_the_page(session):
    url = "https://tiles.example.org/{z}/{x}/{y}.png"
    with TestClient(create_app(session, start=False, tiles=tile_source(url))) as c:
        assert c.get("/api/state").json()["map"]["tiles"] == {"template": url, "zooms": [0, 19]}
        assert c.get("/tiles/12/2553/1631").status_code == 404  # no route: nothing to serve
    with TestClient(create_app(session, start=False)) as c:
        assert c.get("/api/state").json()["map"]["tiles"] is None


@pytest.mark.parametrize("command", ["console", "run"])
def test_bad_tiles_option_is_one_line(cli, tmp_path, command):
    missing = tmp_path / "none.mbtiles"
    r = cli(command, "--tiles", str(missing))
    assert r.returncode == 2, r.stderr
    assert r.stderr.count("\n") == 1 and f"--tiles {missing}: no such file" in r.stderr
    r = cli(command, "--tiles", "https://t.example.org/{x}/{y}.png")
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "needs {z}" in r.stderr


def test_run_embeds_the_archives_tiles_in_the_report(cli, tmp_path):
    archive = tmp_path / "base.mbtiles"
    images = write_archive(archive, covering(13, 33.1, 44.2, 33.5, 44.6))
    out = tmp_path / "gz"
    r = cli("run", "green-zone", "--tiles", str(archive), "--out", str(out), "-q")
    assert r.returncode == 0, r.stderr
    html = (out / "report.html").read_text(encoding="utf-8")
    embedded = [png for png in images.values() if base64.b64encode(png).decode() in html]
    assert 1 < len(embedded) <= 64
    assert "https://" not in html.split('id="webmap-data"', 1)[1].split("</script>", 1)[0]
