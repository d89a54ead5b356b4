"""Terrain from a digital elevation model (DEM) in a GeoTIFF, and line of sight over it.

A :class:`DemTerrain` is the DEM resampled once, at load, onto a regular grid in the
scenario's local ENU frame, so that the hot paths (every flight step, every radar scan)
sample it with one batched bilinear interpolation and no geodesy:

    up(e, n) = (1-fe)(1-fn) U[j, i] + fe (1-fn) U[j, i+1] + (1-fe) fn U[j+1, i] + fe fn U[j+1, i+1]

with ``i = floor((e - e0) / step)``, ``fe = (e - e0) / step - i`` (likewise ``j``, ``fn``
in north). Each grid node's ENU up is the ENU height of the DEM surface under it: the
node's (east, north) is taken to geodetic latitude and longitude (pymap3d, via the
frame), into the DEM's CRS (rasterio's CRS transform when the DEM is not in geographic
WGS-84), to the DEM's pixel grid through the inverse of its affine transform, and the DEM
is sampled bilinearly there (pixel centres at half-integers); the resulting (lat, lon, h)
is taken back to ENU, which includes the Earth's curvature drop (about 8 m at 10 km).

DEM heights are read as metres above the WGS-84 ellipsoid, the datum of every ``alt_m``
in a scenario. Outside the DEM the edge heights extend.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from opencram.errors import UserError

MAX_GRID_NODES = 4_000_000  # cap on the ENU resampling grid (about 2000 x 2000)
LOS_CLEARANCE_M = 1.0  # a ray is blocked where it passes more than this under the ground
LOS_SAMPLES = 128  # points along each radar ray tested against the ground


@dataclass(frozen=True, eq=False)
class DemTerrain:
    """Ground height (ENU up, m) on a regular east-north grid: ``up_grid_m[j, i]`` at
    ``(e0_m + i step_m, n0_m + j step_m)``. ``source`` names the file it came from and
    ``digest`` identifies its content (for caches)."""

    e0_m: float
    n0_m: float
    step_m: float
    up_grid_m: np.ndarray
    source: str = ""
    digest: str = ""

    def height_up_m(self, east_m, north_m) -> np.ndarray:
        """Bilinear ground height (ENU up, m) under each point, any shape."""
        g = self.up_grid_m
        ny, nx = g.shape
        x = np.clip((np.asarray(east_m, dtype=float) - self.e0_m) / self.step_m, 0.0, nx - 1.0)
        y = np.clip((np.asarray(north_m, dtype=float) - self.n0_m) / self.step_m, 0.0, ny - 1.0)
        i = np.minimum(x.astype(np.intp), nx - 2)
        j = np.minimum(y.astype(np.intp), ny - 2)
        fe, fn = x - i, y - j
        south = g[j, i] + fe * (g[j, i + 1] - g[j, i])
        north = g[j + 1, i] + fe * (g[j + 1, i + 1] - g[j + 1, i])
        return south + fn * (north - south)


def line_of_sight(terrain, from_enu_m, to_enu_m, samples: int = LOS_SAMPLES) -> np.ndarray:
    """True for each target ``to_enu_m`` (n, 3) that the straight line from ``from_enu_m``
    (3,) reaches without passing under the ground by more than LOS_CLEARANCE_M.

    The ray ``p(s) = a + s (b - a)`` is sampled at ``s = k / samples``, k = 1..samples-1
    (the end points excluded: the radar and a round near impact stand on the ground), all
    targets and samples in one (n, samples-1) batch.
    """
    b = np.asarray(to_enu_m, dtype=float).reshape(-1, 3)
    a = np.asarray(from_enu_m, dtype=float).reshape(1, 3)
    s = (np.arange(1, samples) / samples)[None, :, None]
    pts = a[:, None, :] + s * (b - a)[:, None, :]  # (n, k, 3)
    ground = terrain.height_up_m(pts[..., 0], pts[..., 1])
    return ~np.any(pts[..., 2] < ground - LOS_CLEARANCE_M, axis=1)


def on_ground(terrain, pos_enu_m) -> np.ndarray:
    """Positions (..., 3) moved vertically onto the terrain (their up replaced)."""
    p = np.array(pos_enu_m, dtype=float, copy=True)
    p[..., 2] = terrain.height_up_m(p[..., 0], p[..., 1])
    return p


def _open(path: Path):
    import rasterio  # deferred: only scenarios with a DEM pay for the import

    try:
        return rasterio.open(path)
    except rasterio.errors.RasterioIOError as exc:
        first = str(exc).splitlines()[0] if str(exc) else "cannot be read"
        raise UserError(f"{path}: not a readable GeoTIFF DEM ({first})") from None


def _read_dem(path: Path):
    """(heights (rows, cols), affine transform, CRS) of a DEM file; UserError naming the
    file for one without a CRS, with nodata cells or non-finite heights."""
    with _open(path) as ds:
        if ds.crs is None:
            raise UserError(f"{path}: the DEM has no coordinate reference system")
        if ds.width < 2 or ds.height < 2:
            raise UserError(f"{path}: the DEM needs at least 2 x 2 cells")
        z = ds.read(1, masked=True)
        if np.ma.count_masked(z):
            raise UserError(f"{path}: the DEM has nodata cells ({np.ma.count_masked(z)})")
        z = np.asarray(z.filled(np.nan), dtype=float)
        if not np.all(np.isfinite(z)):
            raise UserError(f"{path}: the DEM has non-finite heights")
        return z, ds.transform, ds.crs


def _to_dem_xy(crs, lat_deg: np.ndarray, lon_deg: np.ndarray):
    """Longitude and latitude (WGS-84) to the DEM CRS's x, y (rasterio's CRS transform)."""
    if crs.is_geographic and crs.to_epsg() == 4326:
        return lon_deg, lat_deg
    from rasterio.warp import transform

    x, y = transform("EPSG:4326", crs, lon_deg.ravel(), lat_deg.ravel())
    return np.reshape(x, lon_deg.shape), np.reshape(y, lat_deg.shape)


def _sample_bilinear(z: np.ndarray, col: np.ndarray, row: np.ndarray) -> np.ndarray:
    """DEM heights at fractional pixel coordinates (pixel centres at half-integers),
    edge heights beyond the border."""
    rows, cols = z.shape
    x = np.clip(col - 0.5, 0.0, cols - 1.0)
    y = np.clip(row - 0.5, 0.0, rows - 1.0)
    i = np.minimum(x.astype(np.intp), cols - 2)
    j = np.minimum(y.astype(np.intp), rows - 2)
    fx, fy = x - i, y - j
    top = z[j, i] + fx * (z[j, i + 1] - z[j, i])
    bottom = z[j + 1, i] + fx * (z[j + 1, i + 1] - z[j + 1, i])
    return top + fy * (bottom - top)


def _enu_extent(frame, transform, crs, shape):
    """East-north bounding box (e_min, e_max, n_min, n_max) of the DEM's four corners and a
    grid step (m) of about one DEM cell."""
    rows, cols = shape
    cx = np.array([0, cols, 0, cols], dtype=float)
    cy = np.array([0, 0, rows, rows], dtype=float)
    x, y = transform @ (cx, cy)
    lon, lat = np.asarray(x, float), np.asarray(y, float)
    if not (crs.is_geographic and crs.to_epsg() == 4326):
        from rasterio.warp import transform as warp

        lon, lat = (np.asarray(v, float) for v in warp(crs, "EPSG:4326", list(x), list(y)))
    enu = frame.to_enu(lat, lon, frame.alt_m)
    e, n = enu[..., 0], enu[..., 1]
    step = max(float(np.hypot(*(enu[1] - enu[0])[:2])) / cols, 1e-3)
    return float(e.min()), float(e.max()), float(n.min()), float(n.max()), step


def load_dem(path, frame) -> DemTerrain:
    """Read a GeoTIFF DEM and resample it onto the local ENU grid of ``frame`` (see the
    module docstring). Raises UserError naming the file when it cannot be used."""
    import hashlib

    p = Path(path)
    if not p.is_file():
        raise UserError(f"{p}: DEM file not found")
    z, transform, crs = _read_dem(p)
    e_min, e_max, n_min, n_max, step = _enu_extent(frame, transform, crs, z.shape)
    nodes = ((e_max - e_min) / step + 1) * ((n_max - n_min) / step + 1)
    if nodes > MAX_GRID_NODES:
        step *= float(np.sqrt(nodes / MAX_GRID_NODES))
    e = e_min + step * np.arange(int(np.ceil((e_max - e_min) / step)) + 1)
    n = n_min + step * np.arange(int(np.ceil((n_max - n_min) / step)) + 1)
    ee, nn = np.meshgrid(e, n)
    lat, lon, _ = frame.to_geodetic(np.stack([ee, nn, np.zeros_like(ee)], axis=-1))
    x, y = _to_dem_xy(crs, np.asarray(lat), np.asarray(lon))
    col, row = ~transform @ (x, y)
    h = _sample_bilinear(z, np.asarray(col), np.asarray(row))
    up = frame.to_enu(lat, lon, h)[..., 2]
    digest = hashlib.sha256(p.read_bytes()).hexdigest()
    return DemTerrain(float(e[0]), float(n[0]), step, np.ascontiguousarray(up), str(p), digest)
