"""The local ENU frame's own properties (round trip, azimuth convention) and zones as shapely
polygons in it. The frame's conversions are checked against PROJ in test_against_pyproj.py."""

from pathlib import Path

import numpy as np

from opencram.geo import LocalFrame, azimuth_rad, unit_vector_from_az_el
from opencram.scenario.schema import Zone
from opencram.scenario.zonefiles import zone_rings
from opencram.warn.zones import ZoneSet


def test_enu_round_trip():
    f = LocalFrame(33.3076, 44.3903, 34.0)
    lat = np.array([33.299, 33.3160, 33.25])
    lon = np.array([44.396, 44.3875, 44.39])
    enu = f.to_enu(lat, lon, 34.0)
    lat2, lon2, alt2 = f.to_geodetic(enu)
    np.testing.assert_allclose(lat2, lat, atol=1e-9)
    np.testing.assert_allclose(lon2, lon, atol=1e-9)
    np.testing.assert_allclose(alt2, 34.0, atol=1e-6)
    # the embassy is about 1.1 km south-south-east of the zone centroid
    assert 800 < np.hypot(*enu[0, :2]) < 1300 and enu[0, 1] < 0 < enu[0, 0]


def test_azimuth_is_clockwise_from_north():
    assert np.isclose(azimuth_rad([1.0, 0.0]), np.pi / 2)
    assert np.isclose(azimuth_rad([0.0, -1.0]), np.pi)
    v = unit_vector_from_az_el(np.pi / 2, 0.0)
    np.testing.assert_allclose(v, [1.0, 0.0, 0.0], atol=1e-12)


def test_zone_set_contains_and_priority(tmp_path: Path):
    f = LocalFrame(33.30, 44.40, 0.0)
    square = [(33.29, 44.39), (33.29, 44.41), (33.31, 44.41), (33.31, 44.39)]
    inner = [(33.299, 44.399), (33.299, 44.401), (33.301, 44.401), (33.301, 44.399)]
    zones = [
        Zone(name="district", kind="warning", polygon=square),
        Zone(name="embassy", kind="protected", polygon=inner),
    ]
    zs = ZoneSet.build(zones, [zone_rings(z, tmp_path) for z in zones], f)
    assert zs.zones_at(0.0, 0.0) == ["embassy", "district"]
    assert zs.zones_at(5000.0, 0.0) == []
    m = zs.contains(np.array([0.0, 900.0, 5000.0]), np.array([0.0, 0.0, 0.0]))
    assert m.tolist() == [[True, True], [True, False], [False, False]]
    d = zs.distance_m(np.array([0.0]), np.array([2000.0]))
    assert d[0, 0] > 800 and d[0, 1] > 1800
