"""Zones on the ground as shapely polygons in the local ENU frame.

A scenario zone is given in latitude/longitude (a polygon or a GeoJSON file); here it is
projected into ENU metres at the site origin, where point-in-zone tests are vectorised over
points with :func:`shapely.contains_xy`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import shapely
from shapely.geometry import MultiPolygon, Polygon
from shapely.validation import explain_validity

from opencram.errors import UserError
from opencram.geo import LocalFrame
from opencram.scenario.schema import Zone

KIND_PRIORITY = {"protected": 0, "no-fire": 1, "warning": 2}


def zone_polygon_latlon(zone: Zone, base_dir: Path) -> list[list[tuple[float, float]]]:
    """The zone's exterior rings as (lat, lon) lists, checked for validity."""
    if zone.polygon is not None:
        rings = [list(zone.polygon)]
    else:
        from opencram.scenario.load import load_geojson_polygons

        path = Path(zone.geojson)
        rings = load_geojson_polygons(path if path.is_absolute() else base_dir / path)
    for ring in rings:
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
    return rings


@dataclass(frozen=True)
class ZoneSet:
    """All zones of a scenario in ENU metres, in scenario order."""

    names: tuple[str, ...]
    kinds: tuple[str, ...]
    values: np.ndarray  # (z,)
    polygons_enu: tuple[Polygon | MultiPolygon, ...]
    rings_latlon: tuple[tuple[tuple[tuple[float, float], ...], ...], ...]

    @staticmethod
    def build(zones: list[Zone], frame: LocalFrame, base_dir: Path) -> ZoneSet:
        polys, rings_ll = [], []
        for z in zones:
            rings = zone_polygon_latlon(z, base_dir)
            parts = []
            for ring in rings:
                lat = np.array([p[0] for p in ring])
                lon = np.array([p[1] for p in ring])
                enu = frame.to_enu(lat, lon, frame.alt_m)
                parts.append(Polygon(enu[:, :2]))
            geom = parts[0] if len(parts) == 1 else shapely.union_all(parts)
            shapely.prepare(geom)
            polys.append(geom)
            rings_ll.append(tuple(tuple(r) for r in rings))
        return ZoneSet(
            names=tuple(z.name for z in zones),
            kinds=tuple(z.kind for z in zones),
            values=np.array([z.value for z in zones], dtype=float),
            polygons_enu=tuple(polys),
            rings_latlon=tuple(rings_ll),
        )

    def __len__(self) -> int:
        return len(self.names)

    def indices(self, kind: str) -> np.ndarray:
        """Indices (intp) of the zones of one kind ("protected", "no-fire", "warning"), in
        scenario order."""
        return np.array([i for i, k in enumerate(self.kinds) if k == kind], dtype=np.intp)

    def contains(self, east_m, north_m) -> np.ndarray:
        """Boolean matrix (n points, z zones): which zones contain each point."""
        e = np.atleast_1d(np.asarray(east_m, dtype=float))
        n = np.atleast_1d(np.asarray(north_m, dtype=float))
        out = np.zeros((e.size, len(self)), dtype=bool)
        for j, poly in enumerate(self.polygons_enu):
            out[:, j] = shapely.contains_xy(poly, e, n)
        return out

    def zones_at(self, east_m: float, north_m: float) -> list[str]:
        """Names of the zones containing one point, most important kind first."""
        hits = np.flatnonzero(self.contains(east_m, north_m)[0])
        order = sorted(hits, key=lambda j: (KIND_PRIORITY[self.kinds[j]], j))
        return [self.names[j] for j in order]

    def distance_m(self, east_m, north_m) -> np.ndarray:
        """Distance (n, z) from each point to each zone (0 inside)."""
        e = np.atleast_1d(np.asarray(east_m, dtype=float))
        n = np.atleast_1d(np.asarray(north_m, dtype=float))
        pts = shapely.points(e, n)
        return np.stack([shapely.distance(poly, pts) for poly in self.polygons_enu], axis=-1)
