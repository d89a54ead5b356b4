"""Zone outlines of a scenario: a zone's inline polygon, or the polygons of its GeoJSON
file, as rings of (latitude, longitude) in WGS-84 degrees, checked for validity.

This is the only place zone files are read; it happens once, when a scenario is loaded
(:func:`opencram.scenario.load.load`), and the rings travel on the loaded scenario.
"""

from __future__ import annotations

import json
from math import isfinite
from pathlib import Path

from shapely.geometry import Polygon
from shapely.validation import explain_validity

from opencram.errors import UserError
from opencram.scenario.schema import Zone
from opencram.yamlio import read_limited

Ring = tuple[tuple[float, float], ...]
"""One closed outline: (lat, lon) vertices in degrees."""

ZoneRings = tuple[Ring, ...]
"""A zone's outlines: one ring per polygon (a GeoJSON file may hold several)."""


def zone_rings(zone: Zone, base_dir: Path | None) -> ZoneRings:
    """The zone's rings (its ``polygon``, or the polygons of its ``geojson`` file, a
    relative path taken from ``base_dir``), each checked: at least 3 points, valid
    latitudes and longitudes, a valid polygon with an area. A problem is a one-line
    :class:`UserError` (without the field path, which the caller knows)."""
    if zone.polygon is not None:
        rings = [[(float(lat), float(lon)) for lat, lon in zone.polygon]]
    else:
        path = Path(zone.geojson)
        if not path.is_absolute():
            path = (base_dir or Path.cwd()) / path
        rings = read_geojson_rings(path)
    for ring in rings:
        _check_ring(ring)
    return tuple(tuple(r) for r in rings)


def _check_ring(ring: list[tuple[float, float]]) -> None:
    if len(ring) < 3:
        raise UserError("a polygon needs at least 3 points")
    for lat, lon in ring:
        if not (-90 <= lat <= 90 and -180 <= lon <= 180):
            raise UserError(f"point ({lat}, {lon}) is not a valid (lat, lon)")
    poly = Polygon([(lon, lat) for lat, lon in ring])
    if not poly.is_valid:
        raise UserError(f"invalid polygon: {explain_validity(poly)}")
    if poly.area == 0:
        raise UserError("polygon has no area")


# A GeoJSON zone file: a city district's outline at survey detail is a few hundred kB;
# 16 MiB holds about a million vertices, which every warning and engagement would test.
MAX_GEOJSON_BYTES = 16 * 1024 * 1024


def read_geojson_rings(path: Path) -> list[list[tuple[float, float]]]:
    """Exterior rings, as (lat, lon) lists, of the polygons in a GeoJSON file (a geometry,
    Feature or FeatureCollection of Polygon / MultiPolygon), in file order. The file must
    be a regular file of at most :data:`MAX_GEOJSON_BYTES`; a missing, unreadable, special,
    oversized or malformed file, or a coordinate that is not a number, is a one-line
    :class:`UserError` naming it."""
    if not path.exists():
        raise UserError(f"file not found: {path}")
    raw = read_limited(path, str(path), MAX_GEOJSON_BYTES)
    try:
        obj = json.loads(raw.decode("utf-8"))
    except RecursionError:
        raise UserError(f"{path}: not valid GeoJSON: nested too deeply") from None
    except (UnicodeDecodeError, ValueError) as exc:  # JSONDecodeError is a ValueError
        raise UserError(f"{path}: not valid GeoJSON: {exc}") from None
    rings: list[list[tuple[float, float]]] = []
    for geom in _polygon_geometries(obj):
        polys = [geom["coordinates"]] if geom["type"] == "Polygon" else geom["coordinates"]
        try:
            rings.extend(_exterior(poly) for poly in polys)
        except (TypeError, ValueError, IndexError, KeyError):
            raise UserError(f"{path}: malformed polygon coordinates") from None
    if not rings:
        raise UserError(f"{path}: no Polygon or MultiPolygon in the GeoJSON")
    return rings


def _exterior(poly) -> list[tuple[float, float]]:
    """A GeoJSON polygon's exterior ring as (lat, lon); ``ValueError`` for a coordinate
    that is not a JSON number (true/false, text) or not finite."""
    ring = []
    for p in poly[0]:
        lon, lat = p[0], p[1]
        for v in (lon, lat):
            if isinstance(v, bool) or not isinstance(v, int | float) or not isfinite(v):
                raise ValueError(v)
        ring.append((float(lat), float(lon)))
    return ring


def _polygon_geometries(obj) -> list[dict]:
    """The Polygon and MultiPolygon geometries of a GeoJSON object, depth first in order."""
    return geojson_geometries(obj, ("Polygon", "MultiPolygon"))


def geojson_geometries(obj, kinds: tuple[str, ...]) -> list[dict]:
    """The geometries of the given ``kinds`` in a GeoJSON object (bare, in Features,
    FeatureCollections or GeometryCollections), depth first in file order."""
    found = []
    stack = [obj]
    while stack:
        o = stack.pop()
        if not isinstance(o, dict):
            continue
        kind = o.get("type")
        if kind == "FeatureCollection":
            stack.extend(reversed(o.get("features") or []))
        elif kind == "Feature":
            stack.append(o.get("geometry"))
        elif kind == "GeometryCollection":
            stack.extend(reversed(o.get("geometries") or []))
        elif kind in kinds:
            found.append(o)
    return found
