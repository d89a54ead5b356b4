"""Test helpers for base-map tiles: a small MBTiles archive written with sqlite3, PNG tiles
made by hand with zlib, and the slippy-map formulas written out here from the OSM wiki
("Slippy map tilenames"), independently of opencram.tiles."""

from __future__ import annotations

import math
import sqlite3
import struct
import zlib
from pathlib import Path


def png(rgb: tuple[int, int, int], size: int = 8) -> bytes:
    """A solid-colour RGB PNG (PNG spec: signature, IHDR, one IDAT, IEND)."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(kind + body) & 0xFFFFFFFF
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)

    row = b"\x00" + bytes(rgb) * size
    ihdr = struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(row * size))
        + chunk(b"IEND", b"")
    )


def osm_tile(z: int, lat: float, lon: float) -> tuple[int, int]:
    """OSM wiki: xtile = n * (lon + 180) / 360, ytile = n * (1 - ln(tan φ + sec φ) / π) / 2."""
    n = 2**z
    phi = math.radians(lat)
    x = n * (lon + 180.0) / 360.0
    y = n * (1.0 - math.log(math.tan(phi) + 1.0 / math.cos(phi)) / math.pi) / 2.0
    return int(x), int(y)


def osm_corner(z: int, x: int, y: int) -> tuple[float, float]:
    """OSM wiki: the NW corner of tile (x, y): lon = x / n * 360 - 180,
    lat = atan(sinh(π (1 - 2 y / n)))."""
    n = 2**z
    return math.degrees(math.atan(math.sinh(math.pi * (1 - 2 * y / n)))), x / n * 360.0 - 180.0


def colour(z: int, x: int, y: int) -> tuple[int, int, int]:
    """A colour that tells tiles apart."""
    return (x * 37 + z) % 256, (y * 53 + z) % 256, (x + y) % 256


def write_archive(path: Path, tiles: list[tuple[int, int, int]]) -> dict[tuple, bytes]:
    """An MBTiles 1.3 file holding ``tiles`` (z, x, y slippy-map rows), each stored at its
    TMS row 2**z - 1 - y; returns the PNG bytes of each (z, x, y)."""
    images = {t: png(colour(*t)) for t in tiles}
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE metadata (name text, value text)")
    db.execute("INSERT INTO metadata VALUES ('format', 'png')")
    db.execute(
        "CREATE TABLE tiles (zoom_level integer, tile_column integer, tile_row integer, "
        "tile_data blob)"
    )
    for (z, x, y), data in images.items():
        db.execute("INSERT INTO tiles VALUES (?, ?, ?, ?)", (z, x, 2**z - 1 - y, data))
    db.commit()
    db.close()
    return images


def covering(z: int, south: float, west: float, north: float, east: float) -> list[tuple]:
    """The (z, x, y) tiles covering a box, by the OSM formulas."""
    x0, y0 = osm_tile(z, north, west)
    x1, y1 = osm_tile(z, south, east)
    return [(z, x, y) for x in range(x0, x1 + 1) for y in range(y0, y1 + 1)]
