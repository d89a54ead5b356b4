"""Base-map tiles for the report's and the console's maps, given by the user with ``--tiles``:
an offline MBTiles archive or a tile URL template.

* An MBTiles file (MBTiles 1.3: an SQLite database with a table ``tiles(zoom_level,
  tile_column, tile_row, tile_data)``) holds PNG or JPEG tiles of the Web-Mercator
  ("slippy map") grid. Its rows are in TMS order, counted from the south:
  ``tile_row = 2**z - 1 - y`` for the slippy-map row ``y`` counted from the north.
* A URL template such as ``https://tile.example.org/{z}/{x}/{y}.png``: the browser fetches
  the tiles itself (the page is then no longer offline).

The tile maths are the standard slippy-map formulas: tile ``x`` of zoom ``z`` starts at
longitude ``x / 2**z * 360 - 180`` and row ``y`` at latitude
``atan(sinh(pi * (1 - 2 * y / 2**z)))``.
"""

from __future__ import annotations

import base64
import contextlib
import math
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from opencram.errors import UserError

MAX_EMBEDDED_TILES = 64
MAX_LAT = 85.0511287798  # the Web-Mercator grid's edge
PLACEHOLDERS = ("{z}", "{x}", "{y}")


@dataclass(frozen=True)
class TileTemplate:
    """A tile URL template with ``{z}``, ``{x}`` and ``{y}``."""

    url: str


@dataclass(frozen=True)
class MBTiles:
    """An MBTiles archive, checked readable when made (:func:`tile_source`)."""

    path: Path

    def zooms(self) -> list[int]:
        """The zoom levels that hold tiles, lowest first."""
        with contextlib.closing(_connect(self.path)) as db:
            rows = db.execute("SELECT DISTINCT zoom_level FROM tiles ORDER BY zoom_level")
            return [int(r[0]) for r in rows]

    def tile(self, z: int, x: int, y: int) -> bytes | None:
        """The image of slippy-map tile (z, x, y) (row counted from the north), or None."""
        if z < 0 or not (0 <= x < 2**z and 0 <= y < 2**z):
            return None
        with contextlib.closing(_connect(self.path)) as db:
            row = db.execute(
                "SELECT tile_data FROM tiles WHERE zoom_level=? AND tile_column=? AND tile_row=?",
                (z, x, tms_row(z, y)),
            ).fetchone()
        return None if row is None else bytes(row[0])


TileSource = MBTiles | TileTemplate


def _connect(path: Path) -> sqlite3.Connection:
    return sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)


def tile_source(text: str, option: str = "--tiles") -> TileSource:
    """The ``--tiles`` argument as a source: a URL template (it contains ``://`` or
    ``{z}``) or an MBTiles file, checked now so a bad one is one line naming it."""
    if "://" in text or "{" in text:
        missing = [p for p in PLACEHOLDERS if p not in text]
        if missing:
            raise UserError(f"{option} {text}: a tile URL template needs {', '.join(missing)}")
        return TileTemplate(text)
    return check_mbtiles(Path(text), option)


def check_mbtiles(path: Path, option: str = "--tiles") -> MBTiles:
    """The archive at ``path``, or a UserError: missing, not a file, a PMTiles archive (not
    read yet), not SQLite, no ``tiles`` table."""
    if not path.exists():
        raise UserError(f"{option} {path}: no such file")
    if not path.is_file():
        raise UserError(f"{option} {path}: not a file")
    if path.suffix.lower() == ".pmtiles":
        raise UserError(
            f"{option} {path}: PMTiles archives are not read yet; convert it to MBTiles "
            "(e.g. pmtiles-convert IN.pmtiles OUT.mbtiles, from the Python package pmtiles)"
        )
    try:
        with contextlib.closing(_connect(path)) as db:
            db.execute("SELECT zoom_level, tile_column, tile_row, tile_data FROM tiles LIMIT 1")
    except sqlite3.DatabaseError as exc:
        if "no such table" in str(exc) or "no such column" in str(exc):
            raise UserError(
                f"{option} {path}: not an MBTiles archive (no tiles table with zoom_level, "
                "tile_column, tile_row, tile_data)"
            ) from None
        raise UserError(f"{option} {path}: not an MBTiles (SQLite) file: {exc}") from None
    return MBTiles(path)


def tms_row(z: int, y: int) -> int:
    """The MBTiles (TMS) row of slippy-map row ``y``; the flip is its own inverse."""
    return 2**z - 1 - y


def tile_xy(z: int, lat: float, lon: float) -> tuple[int, int]:
    """The slippy-map tile (x, y) holding a point at zoom ``z``."""
    n = 2**z
    lat = max(min(lat, MAX_LAT), -MAX_LAT)
    x = int((lon + 180.0) / 360.0 * n)
    y = int((1.0 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2.0 * n)
    return min(max(x, 0), n - 1), min(max(y, 0), n - 1)


def tile_bounds(z: int, x: int, y: int) -> tuple[float, float, float, float]:
    """(north, west, south, east) of a slippy-map tile, degrees."""
    n = 2**z

    def lat(row: int) -> float:
        return math.degrees(math.atan(math.sinh(math.pi * (1 - 2 * row / n))))

    return lat(y), x / n * 360.0 - 180.0, lat(y + 1), (x + 1) / n * 360.0 - 180.0


def tiles_covering(z: int, south: float, west: float, north: float, east: float):
    """The tiles (x, y) of zoom ``z`` covering a latitude/longitude box."""
    x0, y0 = tile_xy(z, north, west)
    x1, y1 = tile_xy(z, south, east)
    return [(x, y) for y in range(y0, y1 + 1) for x in range(x0, x1 + 1)]


def _mime(data: bytes) -> str:
    return "image/jpeg" if data[:3] == b"\xff\xd8\xff" else "image/png"


def embedded_tiles(archive: MBTiles, box: tuple[float, float, float, float]) -> list[dict]:
    """The tiles to embed for a box (south, west, north, east): those of the highest zoom
    in the archive that covers the box with at most :data:`MAX_EMBEDDED_TILES` tiles and
    holds at least one of them; each as a data URI with its corners. Empty if none."""
    for z in reversed(archive.zooms()):
        cover = tiles_covering(z, *box)
        if len(cover) > MAX_EMBEDDED_TILES:
            continue
        found = [(x, y, archive.tile(z, x, y)) for x, y in cover]
        out = [_embedded(z, x, y, data) for x, y, data in found if data is not None]
        if out:
            return out
    return []


def _embedded(z: int, x: int, y: int, data: bytes) -> dict:
    north, west, south, east = tile_bounds(z, x, y)
    uri = f"data:{_mime(data)};base64,{base64.b64encode(data).decode('ascii')}"
    return {"z": z, "x": x, "y": y, "nw": [north, west], "se": [south, east], "uri": uri}
