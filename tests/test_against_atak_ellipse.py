"""The 95 % ellipses of a real green-zone run, drawn the way ATAK draws a CoT ``u-d-c-c``.

Authority: the ATAK-CIV source (github.com/deptofdefense/AndroidTacticalAssaultKit-CIV,
``atak/ATAK/app/src/main/java/com/atakmap/android/``), read for this test, not copied:

- ``drawing/importer/DrawingCircleImporter.java`` imports ``u-d-c-c``. It reads every
  ``<shape><ellipse major minor angle>``; when all of them have ``minor`` equal to
  ``major`` and an angle of 0 (wrapped to [0, 360)), it draws a circle (rings) whose
  radius is the ``minor`` value. Any other ellipse it hands to the ellipse importer.
- ``drawing/importer/DrawingEllipseImporter.java`` builds one ``maps.Ellipse`` per
  ``<ellipse>`` with ``setDimensions(center, minor / 2, major / 2, angle)``: the
  attributes are full axis lengths, halved into radii.
- ``maps/Ellipse.java``: ``setDimensions(center, minorRadius, majorRadius, angle)``, the
  angle in degrees clockwise (``setAngle``: degrees from true north). ``recomputePoly``
  draws 60 vertices, one every 6 degrees of the parameter t: ``majorRadius * cos t``
  along the bearing ``angle`` and ``minorRadius * sin t`` along the bearing ``angle - 90``,
  offset from the centre in UTM easting and northing (``MutableUTMPoint.offset``).
- ``drawing/mapItems/DrawingEllipse.java`` ``toCot()`` writes the same convention back:
  ``major``/``minor`` are the full axes (``getMajorAxis``, ``getMinorAxis``), ``angle``
  the heading of the major axis (``DrawingCircle.toCot()`` writes a circle as
  ``major = minor = radius``, angle 360).

The 95 % ellipse of a Gaussian with ground covariance C (east, north) is the set of
points d with d' C^-1 d = chi2_2(0.95) (scipy's chi-square quantile); its semi-axes are
sqrt(chi2_2(0.95) * eigenvalues of C), computed here in closed form for a 2 x 2 matrix.
The impact covariance is the ``cov_en_m2`` each ``ImpactPredicted`` event carries; the
origin covariance is the prediction's ``origin_cov_en_m2`` from the engine's prediction
log (the ``OriginEstimated`` event does not carry it).
"""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET

import numpy as np
import pytest
from scipy.stats import chi2

from opencram.c2.engine import run
from opencram.c2.events import Ellipse95, ImpactPredicted, OriginEstimated
from opencram.c2.world import compile_world
from opencram.interop import cot
from opencram.scenario.load import load

CHI2_95 = float(chi2.ppf(0.95, df=2))
ATAK_VERTICES = 60  # Ellipse.recomputePoly: one vertex every 6 degrees
RADIUS_TOL_M = 0.06  # CoT axes are written to 0.1 m, so radii to 0.05 m, plus event rounding
ANGLE_TOL_DEG = 0.1


def atak_drawn(event: ET.Element) -> tuple[float, float, float]:
    """(major radius m, minor radius m, angle deg) of the shape ATAK draws from a CoT
    ``u-d-c-c`` event, by the importers' rules (module docstring)."""
    assert event.get("type") == "u-d-c-c"
    rings = event.findall("detail/shape/ellipse")
    assert len(rings) == 1
    el = rings[0]
    major, minor = float(el.get("major", 0)), float(el.get("minor", 0))
    angle = float(el.get("angle", 0))
    if minor == major and angle % 360.0 == 0.0:
        return minor, minor, 0.0  # DrawingCircleImporter: a circle of radius ``minor``
    return major / 2.0, minor / 2.0, angle  # DrawingEllipseImporter


def atak_outline_en(major_r: float, minor_r: float, angle_deg: float) -> np.ndarray:
    """(60, 2) east, north offsets (m) of the vertices ATAK draws around the centre."""
    t = np.radians(np.arange(ATAK_VERTICES) * 360.0 / ATAK_VERTICES)
    a = math.radians(angle_deg)
    along, across = major_r * np.cos(t), minor_r * np.sin(t)
    axis = np.array([math.sin(a), math.cos(a)])  # bearing angle
    side = np.array([-math.cos(a), math.sin(a)])  # bearing angle - 90
    return np.outer(along, axis) + np.outer(across, side)


def ellipse95_of(cov_en_m2: np.ndarray) -> tuple[float, float, float]:
    """(semi-major m, semi-minor m, azimuth of the major axis deg in [0, 180)) of the 95 %
    ellipse of a 2 x 2 covariance, from the closed-form eigenvalues of a symmetric 2 x 2."""
    a, b, c = cov_en_m2[0, 0], cov_en_m2[0, 1], cov_en_m2[1, 1]
    mid, half = (a + c) / 2.0, math.hypot((a - c) / 2.0, b)
    big, small = mid + half, max(mid - half, 0.0)
    from_east = 0.5 * math.degrees(math.atan2(2.0 * b, a - c))  # major axis, anticlockwise
    return math.sqrt(CHI2_95 * big), math.sqrt(CHI2_95 * small), (90.0 - from_east) % 180.0


def axis_difference_deg(a: float, b: float) -> float:
    """Smallest angle between two undirected axes given as azimuths."""
    d = (a - b) % 180.0
    return min(d, 180.0 - d)


@pytest.fixture(scope="module")
def green_zone():
    return run(compile_world(load("green-zone")))


def drawn_and_covariances(result):
    """(CoT event, ground covariance) of every impact and origin ellipse of the run."""
    impacts = [e for e in result.events if isinstance(e, ImpactPredicted)]
    origins = [e for e in result.events if isinstance(e, OriginEstimated)]
    pairs = [
        (
            ET.fromstring(cot.impact_cot(e)),
            np.array([[e.cov_en_m2[0], e.cov_en_m2[1]], [e.cov_en_m2[1], e.cov_en_m2[2]]]),
        )
        for e in impacts
    ]
    logged = [p for p in result.predictions if p.origin_ok]
    assert [p.track_id for p in logged] == [e.track_id for e in origins]
    pairs += [
        (ET.fromstring(cot.origin_cot(e)), np.asarray(p.origin_cov_en_m2))
        for e, p in zip(origins, logged, strict=True)
    ]
    return impacts, origins, pairs


def test_the_run_has_impact_and_origin_ellipses(green_zone):
    impacts, origins, _ = drawn_and_covariances(green_zone)
    assert len(impacts) > 10 and len(origins) > 10


def test_atak_draws_the_95_percent_ellipse_of_each_prediction(green_zone):
    """Every vertex ATAK draws lies on the 95 % contour of the prediction's covariance,
    and the drawn radii and heading are its semi-axes and major-axis azimuth."""
    _, _, pairs = drawn_and_covariances(green_zone)
    for ev, cov in pairs:
        major_r, minor_r, angle = atak_drawn(ev)
        semi_major, semi_minor, azimuth = ellipse95_of(cov)
        uid = ev.get("uid")
        assert major_r == pytest.approx(semi_major, abs=RADIUS_TOL_M, rel=1e-4), uid
        assert minor_r == pytest.approx(semi_minor, abs=RADIUS_TOL_M, rel=1e-4), uid
        if semi_major - semi_minor > 0.01 * semi_major:  # orientation defined
            assert axis_difference_deg(angle, azimuth) <= ANGLE_TOL_DEG, uid
        d = atak_outline_en(major_r, minor_r, angle)
        d2 = np.einsum("ni,ni->n", d, np.linalg.solve(cov, d.T).T)
        np.testing.assert_allclose(d2, CHI2_95, rtol=0.02, err_msg=uid)


def test_atak_drawn_area_covers_95_percent(green_zone):
    """The probability mass inside the drawn outline is 95 % (not the 53 % a radius read
    as a diameter would give): 1 - exp(-k/2) for the outline's Mahalanobis radius k."""
    _, _, pairs = drawn_and_covariances(green_zone)
    ev, cov = pairs[0]
    major_r, minor_r, angle = atak_drawn(ev)
    d = atak_outline_en(major_r, minor_r, angle)
    k = float(np.median(np.einsum("ni,ni->n", d, np.linalg.solve(cov, d.T).T)))
    assert chi2.cdf(k, df=2) == pytest.approx(0.95, abs=0.005)


def test_a_round_ellipse_is_not_read_as_a_circle_of_twice_its_size():
    """ATAK's circle importer takes ``minor`` as a radius when major = minor at angle 0."""
    e = Ellipse95(semi_major_m=50.0, semi_minor_m=50.0, orientation_deg=0.0)
    root = ET.fromstring(b"<event type='u-d-c-c'><detail><shape/></detail></event>")
    ET.SubElement(root.find("detail/shape"), "ellipse", cot.ellipse_attributes(e))
    major_r, minor_r, _ = atak_drawn(root)
    assert (major_r, minor_r) == (50.0, 50.0)
