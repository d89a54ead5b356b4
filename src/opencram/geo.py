"""The local frame: East-North-Up (ENU) metres at the site origin.

Every position inside opencram is ENU at the scenario's ``site`` (lat, lon, alt above the
WGS-84 ellipsoid). East is x, North is y, Up is z. Azimuths are clockwise from true north,
elevations above the local horizontal. Conversions go through :mod:`pymap3d`, which is
vectorised, so every function here takes scalars or numpy arrays of any shape.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pymap3d


@dataclass(frozen=True)
class LocalFrame:
    """ENU frame at a geodetic origin (degrees, metres above the WGS-84 ellipsoid)."""

    lat_deg: float
    lon_deg: float
    alt_m: float = 0.0

    def to_enu(self, lat_deg, lon_deg, alt_m=0.0) -> np.ndarray:
        """Geodetic to ENU; returns an array of shape ``(..., 3)``."""
        e, n, u = pymap3d.geodetic2enu(
            np.asarray(lat_deg, dtype=float),
            np.asarray(lon_deg, dtype=float),
            np.asarray(alt_m, dtype=float),
            self.lat_deg,
            self.lon_deg,
            self.alt_m,
        )
        return np.stack(np.broadcast_arrays(e, n, u), axis=-1)

    def to_geodetic(self, pos_enu_m) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """ENU ``(..., 3)`` to geodetic ``(lat_deg, lon_deg, alt_m)``."""
        p = np.asarray(pos_enu_m, dtype=float)
        lat, lon, alt = pymap3d.enu2geodetic(
            p[..., 0], p[..., 1], p[..., 2], self.lat_deg, self.lon_deg, self.alt_m
        )
        return np.asarray(lat), np.asarray(lon), np.asarray(alt)

    def aer(self, pos_enu_m, from_enu_m=(0.0, 0.0, 0.0)):
        """Azimuth (rad, clockwise from north), elevation (rad), slant range (m) of
        ``pos_enu_m`` seen from ``from_enu_m``; both ``(..., 3)``."""
        d = np.asarray(pos_enu_m, dtype=float) - np.asarray(from_enu_m, dtype=float)
        az, el, rng = pymap3d.enu2aer(d[..., 0], d[..., 1], d[..., 2], deg=False)
        return np.asarray(az), np.asarray(el), np.asarray(rng)


def unit_vector_from_az_el(az_rad, el_rad) -> np.ndarray:
    """ENU unit vector ``(..., 3)`` pointing at azimuth (clockwise from north) and elevation."""
    az = np.asarray(az_rad, dtype=float)
    el = np.asarray(el_rad, dtype=float)
    ce = np.cos(el)
    return np.stack(np.broadcast_arrays(ce * np.sin(az), ce * np.cos(az), np.sin(el)), axis=-1)


def azimuth_rad(d_enu) -> np.ndarray:
    """Azimuth clockwise from north of horizontal vectors ``(..., >=2)``, in [0, 2π)."""
    d = np.asarray(d_enu, dtype=float)
    return np.mod(np.arctan2(d[..., 0], d[..., 1]), 2 * np.pi)
