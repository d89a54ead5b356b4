"""Zones on the ground as shapely polygons in the local ENU frame.

A scenario zone is given in latitude/longitude (a polygon or a GeoJSON file, read once when
the scenario is loaded: :mod:`opencram.scenario.zonefiles`); here its rings are projected
into ENU metres at the site origin, where point-in-zone tests are vectorised over points
with :func:`shapely.contains_xy`. Nothing here reads a file.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import shapely
from shapely.geometry import MultiPolygon, Polygon

from opencram.geo import LocalFrame
from opencram.scenario.schema import Zone

KIND_PRIORITY = {"protected": 0, "no-fire": 1, "warning": 2}

LatLonRings = tuple[tuple[tuple[float, float], ...], ...]
"""One zone's outlines: rings of (lat, lon) vertices in WGS-84 degrees."""


@dataclass(frozen=True)
class ZoneSet:
    """All zones of a scenario in ENU metres, in scenario order."""

    names: tuple[str, ...]
    kinds: tuple[str, ...]
    values: np.ndarray  # (z,)
    polygons_enu: tuple[Polygon | MultiPolygon, ...]
    rings_latlon: tuple[LatLonRings, ...]

    @staticmethod
    def build(
        zones: Sequence[Zone], rings_latlon: Sequence[LatLonRings], frame: LocalFrame
    ) -> ZoneSet:
        """The zones projected into ``frame``. ``rings_latlon[i]`` holds zone ``i``'s checked
        (lat, lon) rings, as loading the scenario read them
        (``LoadedScenario.zone_rings``); no file is read here."""
        if len(rings_latlon) != len(zones):
            raise ValueError(f"ZoneSet.build: {len(zones)} zones but {len(rings_latlon)} rings")
        polys = []
        for rings in rings_latlon:
            parts = []
            for ring in rings:
                lat = np.array([p[0] for p in ring])
                lon = np.array([p[1] for p in ring])
                enu = frame.to_enu(lat, lon, frame.alt_m)
                parts.append(Polygon(enu[:, :2]))
            geom = parts[0] if len(parts) == 1 else shapely.union_all(parts)
            shapely.prepare(geom)
            polys.append(geom)
        return ZoneSet(
            names=tuple(z.name for z in zones),
            kinds=tuple(z.kind for z in zones),
            values=np.array([z.value for z in zones], dtype=float),
            polygons_enu=tuple(polys),
            rings_latlon=tuple(tuple(tuple(r) for r in rings) for rings in rings_latlon),
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
