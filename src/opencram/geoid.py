"""EGM96 geoid heights: the height N of the geoid (mean sea level) above the WGS-84
ellipsoid, so that a height above the ellipsoid is ``h = H + N`` for a height ``H`` above
mean sea level (docs/exports.md, "Heights").

N comes from PROJ (through pyproj) interpolating NGA's EGM96 15-minute grid
(``egm96_15.gtx``, the grid file PROJ distributes; Debian's ``proj-data`` package installs
it as ``/usr/share/proj/egm96_15.gtx``, PROJ-data as ``us_nga_egm96_15.tif``). Nothing is
fetched over the network: the grid is looked for in ``$OPENCRAM_EGM96_GRID`` (a file),
then in PROJ's data folders, then in ``/usr/share/proj``; without it, asking for N is a
one-line :class:`~opencram.errors.UserError` saying how to install it.

Checked in ``tests/test_geoid.py`` against NGA's published EGM96 test values and, at
Baghdad, against GeographicLib's 5-minute EGM96 grid.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

import numpy as np

from opencram.errors import UserError

GRID_ENV = "OPENCRAM_EGM96_GRID"
GRID_NAMES = ("us_nga_egm96_15.tif", "egm96_15.gtx")  # PROJ-data's name, the older one
SYSTEM_PROJ_DIR = Path("/usr/share/proj")


def grid_path() -> Path | None:
    """The EGM96 grid file to use, or None when there is none."""
    env = os.environ.get(GRID_ENV)
    if env:
        return Path(env) if Path(env).is_file() else None
    import pyproj  # deferred: 0.2 s, and only exports and CoT with MSL heights need it

    folders = [Path(p) for p in pyproj.datadir.get_data_dir().split(os.pathsep) if p]
    for folder in [*folders, SYSTEM_PROJ_DIR]:
        for name in GRID_NAMES:
            if (folder / name).is_file():
                return folder / name
    return None


@lru_cache(maxsize=1)
def _transformer():
    """A PROJ vertical grid shift that adds N to a height (so 0 becomes N)."""
    import pyproj  # deferred: see grid_path

    path = grid_path()
    if path is None:
        raise UserError(
            "EGM96 geoid grid not found (needed for heights above sea level): install "
            "Debian's proj-data (apt-get install proj-data), which has egm96_15.gtx, or set "
            f"{GRID_ENV} to the grid file"
        )
    return pyproj.Transformer.from_pipeline(f"+proj=vgridshift +grids={path} +multiplier=1")


def undulation_m(lat_deg, lon_deg) -> np.ndarray:
    """EGM96 geoid height N (m above the WGS-84 ellipsoid) at each point; arrays of any
    (broadcastable) shape, longitudes in any range."""
    lat, lon = np.broadcast_arrays(np.asarray(lat_deg, float), np.asarray(lon_deg, float))
    lon = np.mod(lon + 180.0, 360.0) - 180.0
    _, _, n = _transformer().transform(lon.ravel(), lat.ravel(), np.zeros(lat.size))
    n = np.asarray(n, float).reshape(lat.shape)
    if not np.all(np.isfinite(n)):
        raise UserError("EGM96 geoid grid: no value at some point (is the grid file whole?)")
    return n


def ellipsoidal_height_m(lat_deg, lon_deg, msl_height_m) -> np.ndarray:
    """Heights above the WGS-84 ellipsoid from heights above mean sea level (EGM96)."""
    return np.asarray(msl_height_m, float) + undulation_m(lat_deg, lon_deg)
