"""Base-map tiles (opencram.tiles): the tiles embedded for a box, their corners and the
MBTiles (TMS) row flip checked against the slippy-map formulas of the OSM wiki written out
in tests/tile_archive.py; and each bad ``--tiles`` is one line naming it."""

from __future__ import annotations

import base64
import sqlite3

import pytest

from opencram.errors import UserError
from opencram.tiles import MBTiles, TileTemplate, embedded_tiles, tile_source
from tile_archive import covering, osm_corner, write_archive

BOX = (33.295, 44.37, 33.322, 44.412)  # south, west, north, east: central Baghdad


def test_embeds_the_finest_zoom_within_64_tiles_at_their_corners(tmp_path):
    want = covering(14, *BOX)
    assert 1 < len(want) <= 64
    too_many = covering(18, *BOX)
    assert len(too_many) > 64
    path = tmp_path / "t.mbtiles"
    images = write_archive(path, covering(10, *BOX) + want + too_many[:5])
    got = embedded_tiles(tile_source(str(path)), BOX)
    assert sorted((t["z"], t["x"], t["y"]) for t in got) == sorted(want)
    for t in got:
        z, x, y = t["z"], t["x"], t["y"]
        north, west = osm_corner(z, x, y)
        south, east = osm_corner(z, x + 1, y + 1)
        assert t["nw"] == pytest.approx([north, west], abs=1e-9)
        assert t["se"] == pytest.approx([south, east], abs=1e-9)
        head, b64 = t["uri"].split(",", 1)
        assert head == "data:image/png;base64"
        assert base64.b64decode(b64) == images[(z, x, y)]  # the row flip: the right image


def test_tile_reads_the_tms_row(tmp_path):
    path = tmp_path / "t.mbtiles"
    images = write_archive(path, [(3, 5, 1), (3, 5, 6)])
    arc = MBTiles(path)
    assert arc.tile(3, 5, 1) == images[(3, 5, 1)]
    assert arc.tile(3, 5, 6) == images[(3, 5, 6)]
    db = sqlite3.connect(path)
    (row,) = db.execute("SELECT tile_row FROM tiles WHERE tile_data=?", (images[(3, 5, 1)],))
    db.close()
    assert row == (6,)  # 2**3 - 1 - 1
    assert arc.tile(3, 4, 1) is None and arc.tile(3, 8, 1) is None
    assert arc.zooms() == [3]


def test_a_partial_or_absent_zoom_falls_back(tmp_path):
    path = tmp_path / "t.mbtiles"
    write_archive(path, covering(12, *BOX))
    got = embedded_tiles(tile_source(str(path)), BOX)
    assert {t["z"] for t in got} == {12}
    assert embedded_tiles(tile_source(str(path)), (-10.0, -10.0, -9.0, -9.0)) == []


def test_a_url_template():
    url = "https://tiles.example.org/{z}/{x}/{y}.png"
    assert tile_source(url) == TileTemplate(url)


@pytest.mark.parametrize(
    ("make", "words"),
    [
        (lambda p: None, "no such file"),
        (lambda p: p.write_text("not a database, just text " * 20), "not an MBTiles (SQLite)"),
        (lambda p: sqlite3.connect(p).execute("CREATE TABLE x (a)"), "no tiles table"),
        (lambda p: p.mkdir(), "not a file"),
        (lambda p: p.write_bytes(b"PMTiles\x03" + bytes(120)), "PMTiles archives are not read"),
    ],
)
def test_bad_archives_are_one_line(tmp_path, make, words):
    path = tmp_path / ("bad.pmtiles" if "PMTiles" in words else "bad.mbtiles")
    make(path)
    with pytest.raises(UserError) as exc:
        tile_source(str(path))
    (line,) = exc.value.problems
    assert line.startswith(f"--tiles {path}: ") and words in line and "\n" not in line


def test_a_template_without_a_placeholder_is_one_line():
    with pytest.raises(UserError) as exc:
        tile_source("https://tiles.example.org/{z}/{x}.png")
    (line,) = exc.value.problems
    assert line == "--tiles https://tiles.example.org/{z}/{x}.png: a tile URL template needs {y}"
