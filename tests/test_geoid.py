"""EGM96 geoid heights (opencram.geoid) against published values.

* NGA's EGM96 test points: the sample output of NGA's INTPT.F interpolation program on the
  15-minute grid WW15MGH.GRD, printed in NGA's EGM96 readme and OUTINTPT.DAT
  (earth-info.nga.mil, "WGS 84 / EGM96"); the readme gives them to 1 mm.
* Baghdad (the green-zone site, 33.2985 N 44.3945 E, and the Tomb of the Unknown Soldier
  area, 33.3128 N 44.3615 E): GeographicLib's 5-minute EGM96 grid (egm96-5, bilinear), as
  packaged by the PyPI package ``egm96`` 0.3.0, gives -2.215 m and -2.088 m. (That package
  needs Python 3.12, so it is not a dependency; the values were read from it once.)

PROJ interpolates the 15-minute grid bilinearly; NGA's program uses a different scheme, so
agreement is within a few centimetres, not exact.
"""

from __future__ import annotations

import numpy as np
import pytest

from opencram import geoid
from opencram.errors import UserError

pytestmark = pytest.mark.skipif(
    geoid.grid_path() is None,
    reason="no EGM96 grid: apt-get install proj-data (.ci/run does)",
)

NGA_POINTS = [  # latitude, longitude (0-360 E), N (m)
    (38.6281550, 269.7791550, -31.628),
    (-14.6212170, 305.0211140, -2.969),
    (46.8743190, 102.4487290, -43.575),
    (-23.6174460, 133.8747120, 15.871),
    (38.6254730, 359.9995000, 50.066),
    (-0.4667440, 0.0023000, 17.329),
]


def test_against_nga_egm96_test_points():
    lat, lon, want = (np.array(c) for c in zip(*NGA_POINTS, strict=True))
    got = geoid.undulation_m(lat, lon)
    assert np.allclose(got, want, atol=0.07), got - want
    # longitudes east of 180 or as negative degrees: the same
    assert np.allclose(geoid.undulation_m(lat, lon - 360.0), got)


def test_baghdad_against_geographiclib_5_minute_grid():
    got = geoid.undulation_m([33.2985, 33.3128], [44.3945, 44.3615])
    assert np.allclose(got, [-2.215, -2.088], atol=0.15), got


def test_heights_above_the_ellipsoid_add_n():
    n = geoid.undulation_m(33.2985, 44.3945)
    assert geoid.ellipsoidal_height_m(33.2985, 44.3945, 34.0) == pytest.approx(34.0 + n)
    assert np.shape(geoid.ellipsoidal_height_m([1.0, 2.0], [3.0, 4.0], [0.0, 0.0])) == (2,)


def test_missing_grid_is_one_line(monkeypatch, tmp_path):
    monkeypatch.setenv(geoid.GRID_ENV, str(tmp_path / "none.gtx"))
    geoid._transformer.cache_clear()
    try:
        with pytest.raises(UserError, match="EGM96 geoid grid not found"):
            geoid.undulation_m(0.0, 0.0)
    finally:
        geoid._transformer.cache_clear()
