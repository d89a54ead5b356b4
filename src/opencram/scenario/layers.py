"""Site layers of a scenario (rivers, roads, buildings, districts): the polygons and lines
of each layer's GeoJSON file, as (latitude, longitude) rings in WGS-84 degrees.

Read once, when a scenario is loaded (:func:`opencram.scenario.load.load`), like the zone
outlines (:mod:`opencram.scenario.zonefiles`, whose size limit and reader checks apply);
the shapes travel on the loaded scenario.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from math import isfinite
from pathlib import Path

from shapely.geometry import Polygon
from shapely.validation import explain_validity

from opencram.errors import UserError
from opencram.scenario.schema import SiteLayer
from opencram.scenario.zonefiles import MAX_GEOJSON_BYTES, Ring, geojson_geometries
from opencram.yamlio import read_limited

__all__ = ["LayerShapes", "layer_shapes"]


@dataclass(frozen=True)
class LayerShapes:
    """One site layer read: its name, kind and source, and its polygons' exterior rings
    and its lines, each a tuple of (lat, lon) vertices."""

    name: str
    kind: str
    source: str
    polygons: tuple[Ring, ...]
    lines: tuple[Ring, ...]


def layer_shapes(layer: SiteLayer, base_dir: Path | None) -> LayerShapes:
    """The layer's shapes from its GeoJSON file (a relative path taken from ``base_dir``):
    a regular file of at most 16 MiB holding Polygon, MultiPolygon, LineString or
    MultiLineString geometries (bare, in Features or FeatureCollections). A problem is a
    one-line :class:`UserError` (without the field path, which the caller knows)."""
    path = Path(layer.geojson)
    if not path.is_absolute():
        path = (base_dir or Path.cwd()) / path
    polygons, lines = _shapes(_read_json(path), path)
    if not polygons and not lines:
        raise UserError(f"{path}: no polygon or line in the GeoJSON")
    for ring in polygons:
        poly = Polygon([(lon, lat) for lat, lon in ring])
        if not poly.is_valid:
            raise UserError(f"{path}: invalid polygon: {explain_validity(poly)}")
    return LayerShapes(layer.name, layer.kind, layer.source, tuple(polygons), tuple(lines))


def _read_json(path: Path):
    if not path.exists():
        raise UserError(f"file not found: {path}")
    raw = read_limited(path, str(path), MAX_GEOJSON_BYTES)
    try:
        return json.loads(raw.decode("utf-8"))
    except RecursionError:
        raise UserError(f"{path}: not valid GeoJSON: nested too deeply") from None
    except (UnicodeDecodeError, ValueError) as exc:
        raise UserError(f"{path}: not valid GeoJSON: {exc}") from None


def _shapes(obj, path: Path) -> tuple[list[Ring], list[Ring]]:
    """Exterior rings of the polygons and vertices of the lines, in file order."""
    polygons: list[Ring] = []
    lines: list[Ring] = []
    try:
        for geom in _geometries(obj):
            kind, coords = geom["type"], geom["coordinates"]
            if kind == "Polygon":
                polygons.append(_ring(coords[0], 3))
            elif kind == "MultiPolygon":
                polygons.extend(_ring(p[0], 3) for p in coords)
            elif kind == "LineString":
                lines.append(_ring(coords, 2))
            else:  # MultiLineString
                lines.extend(_ring(c, 2) for c in coords)
    except (TypeError, ValueError, IndexError, KeyError):
        raise UserError(f"{path}: malformed coordinates") from None
    return polygons, lines


def _ring(points, at_least: int) -> Ring:
    """(lat, lon) vertices of GeoJSON [lon, lat] positions; ``ValueError`` for a coordinate
    that is not a finite JSON number or out of range, or too few points."""
    out = []
    for p in points:
        lon, lat = p[0], p[1]
        for v in (lon, lat):
            if isinstance(v, bool) or not isinstance(v, int | float) or not isfinite(v):
                raise ValueError(v)
        if not (-90 <= lat <= 90 and -180 <= lon <= 180):
            raise ValueError((lat, lon))
        out.append((float(lat), float(lon)))
    if len(out) < at_least:
        raise ValueError(len(out))
    return tuple(out)


_KINDS = ("Polygon", "MultiPolygon", "LineString", "MultiLineString")


def _geometries(obj) -> list[dict]:
    """The polygon and line geometries of a GeoJSON object, depth first in file order."""
    return geojson_geometries(obj, _KINDS)
