"""The local ENU frame checked against PROJ, through pyproj.

Authority: PROJ (https://proj.org), called through pyproj's ``Transformer`` from WGS 84
geographic 3D (EPSG:4979: latitude, longitude, ellipsoidal height) to WGS 84 geocentric
(EPSG:4978: ECEF X, Y, Z in metres). PROJ is independent of pymap3d, which
:class:`opencram.geo.LocalFrame` wraps. The ECEF to ENU step is the textbook rotation by
the origin's geodetic latitude phi and longitude lambda, written out here as IOGP's
Guidance Note 7-2 gives it (EPSG method 9836, "Geocentric/topocentric conversions"):

    e = -sin(lambda) dX + cos(lambda) dY
    n = -sin(phi) cos(lambda) dX - sin(phi) sin(lambda) dY + cos(phi) dZ
    u =  cos(phi) cos(lambda) dX + cos(phi) sin(lambda) dY + sin(phi) dZ

with (dX, dY, dZ) the ECEF offset of the point from the origin. Both directions are checked
(``to_enu`` and ``to_geodetic``) at metre to tens-of-kilometres offsets, to a millimetre.
"""

import numpy as np
import pytest
from pyproj import Transformer

from opencram.geo import LocalFrame

TO_ECEF = Transformer.from_crs("EPSG:4979", "EPSG:4978", always_xy=True)
TO_GEODETIC = Transformer.from_crs("EPSG:4978", "EPSG:4979", always_xy=True)

TOL_M = 1e-3  # one millimetre: both sides are double-precision closed forms on WGS 84

# (origin lat, lon, alt), as used by the scenarios and at other latitudes and hemispheres
ORIGINS = [
    (33.3076, 44.3903, 34.0),
    (51.4779, -0.0015, 45.0),
    (-33.8688, 151.2093, 10.0),
    (69.6492, 18.9553, 120.0),
]


def enu_rotation(lat_deg: float, lon_deg: float) -> np.ndarray:
    """Rows are the ENU unit vectors (east, north, up) in ECEF at the given origin."""
    phi, lam = np.radians(lat_deg), np.radians(lon_deg)
    sp, cp, sl, cl = np.sin(phi), np.cos(phi), np.sin(lam), np.cos(lam)
    return np.array(
        [
            [-sl, cl, 0.0],
            [-sp * cl, -sp * sl, cp],
            [cp * cl, cp * sl, sp],
        ]
    )


def ecef_m(lat_deg, lon_deg, alt_m) -> np.ndarray:
    """ECEF (X, Y, Z) in metres from PROJ, shape ``(..., 3)``."""
    x, y, z = TO_ECEF.transform(lon_deg, lat_deg, alt_m)
    return np.stack(np.broadcast_arrays(x, y, z), axis=-1)


def offsets_enu_m() -> np.ndarray:
    """ENU test offsets: metres, a kilometre, 10 and 40 km, heights up to 12 km."""
    return np.array(
        [
            [0.0, 0.0, 0.0],
            [3.0, -2.0, 1.5],
            [1000.0, 0.0, 0.0],
            [0.0, -1000.0, 250.0],
            [-7000.0, 4500.0, 3000.0],
            [10000.0, 10000.0, 0.0],
            [-25000.0, -30000.0, 12000.0],
            [40000.0, -5000.0, -30.0],
        ]
    )


@pytest.mark.parametrize("origin", ORIGINS)
def test_to_enu_matches_proj_ecef_and_textbook_rotation(origin):
    lat0, lon0, alt0 = origin
    frame = LocalFrame(lat0, lon0, alt0)
    # geodetic points around the origin, about 0.1 m to 40 km away
    dlat = np.array([0.0, 1e-6, 0.01, -0.05, 0.2, -0.3, 0.36])
    dlon = np.array([0.0, -2e-6, 0.02, 0.1, -0.15, 0.25, -0.4])
    alt = np.array([alt0, alt0 + 0.2, alt0, 500.0, 2500.0, 0.0, 9000.0])
    lat, lon = lat0 + dlat, lon0 + dlon
    expected = (ecef_m(lat, lon, alt) - ecef_m(lat0, lon0, alt0)) @ enu_rotation(lat0, lon0).T
    np.testing.assert_allclose(frame.to_enu(lat, lon, alt), expected, rtol=0, atol=TOL_M)


@pytest.mark.parametrize("origin", ORIGINS)
def test_to_geodetic_matches_proj_inverse(origin):
    lat0, lon0, alt0 = origin
    frame = LocalFrame(lat0, lon0, alt0)
    enu = offsets_enu_m()
    ecef = ecef_m(lat0, lon0, alt0) + enu @ enu_rotation(lat0, lon0)
    lon_ref, lat_ref, alt_ref = TO_GEODETIC.transform(ecef[:, 0], ecef[:, 1], ecef[:, 2])
    lat, lon, alt = frame.to_geodetic(enu)
    # compare as ground distances: 1 mm is about 9e-9 degrees of latitude
    m_per_deg = 111_000.0
    np.testing.assert_allclose(lat, lat_ref, rtol=0, atol=TOL_M / m_per_deg)
    coslat = np.cos(np.radians(lat_ref))
    np.testing.assert_allclose(lon * coslat, lon_ref * coslat, rtol=0, atol=TOL_M / m_per_deg)
    np.testing.assert_allclose(alt, alt_ref, rtol=0, atol=TOL_M)


def test_km_scale_offsets_are_not_trivially_flat():
    """A point 40 km east at the origin's ellipsoidal height lies about d²/(2R) below the
    tangent plane (about 125 m): the checks above exercise the ellipsoid, which a flat-earth
    conversion would fail by far more than a millimetre."""
    lat0, lon0, alt0 = ORIGINS[0]
    d_m = 40_000.0
    dlon_deg = np.degrees(d_m / (6.385e6 * np.cos(np.radians(lat0))))
    up_m = LocalFrame(lat0, lon0, alt0).to_enu(lat0, lon0 + dlon_deg, alt0)[2]
    assert up_m == pytest.approx(-(d_m**2) / (2 * 6.385e6), rel=0.01)
