"""Impact and origin prediction and zone probabilities: against scipy's solve_ivp on the
same dynamics, batched against one-at-a-time, and geometric checks."""

import numpy as np
import pytest
from scipy.integrate import solve_ivp
from shapely.geometry import Polygon

from opencram.geo import LocalFrame
from opencram.predict.ground import ellipse95, inside_ellipse95, predict_impact, predict_origin
from opencram.scenario.zonefiles import zone_rings
from opencram.track.models import BallisticModel
from opencram.warn.alerts import zone_probabilities
from opencram.warn.zones import ZoneSet

MODEL = BallisticModel()
X = np.array(
    [
        [0.0, -3000.0, 900.0, 10.0, 220.0, 60.0, 1.5],  # climbing rocket
        [500.0, 2000.0, 1500.0, -80.0, -60.0, -30.0, 2.2],  # descending mortar bomb
        [-4000.0, 0.0, 2500.0, 300.0, 20.0, 10.0, 0.8],  # fast shell
    ]
)


def _reference(x0, backward=False):
    def rhs(t, y):
        return MODEL.deriv(y[None])[0]

    def ground(t, y):
        return y[2]

    ground.terminal = True
    ground.direction = -1  # height falls in the direction of integration, either way
    span = (0.0, -300.0) if backward else (0.0, 300.0)
    sol = solve_ivp(rhs, span, x0, method="DOP853", rtol=1e-10, atol=1e-8, events=ground)
    return sol.t_events[0][0], sol.y_events[0][0][:2]


def test_impact_and_origin_of_a_certain_state_match_solve_ivp():
    p = np.repeat(np.eye(7)[None] * 1e-8, 3, axis=0)
    imp = predict_impact(MODEL, X, p)
    org = predict_origin(MODEL, X, p)
    for i in range(3):
        t_ref, en_ref = _reference(X[i])
        assert imp.ok[i] and abs(imp.dt_s[i] - t_ref) < 0.01
        np.testing.assert_allclose(imp.pos_en_m[i], en_ref, atol=1.0)
        t_ref, en_ref = _reference(X[i], backward=True)
        assert org.ok[i] and abs(org.dt_s[i] - t_ref) < 0.01
        np.testing.assert_allclose(org.pos_en_m[i], en_ref, atol=1.0)


def test_batched_prediction_equals_one_at_a_time():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(3, 7, 7)) * np.array([5, 5, 5, 2, 2, 2, 0.05])
    p = a @ np.swapaxes(a, 1, 2) + np.eye(7) * 1e-3
    batch = predict_impact(MODEL, X, p)
    for i in range(3):
        one = predict_impact(MODEL, X[i : i + 1], p[i : i + 1])
        np.testing.assert_allclose(batch.pos_en_m[i], one.pos_en_m[0], atol=1e-6)
        np.testing.assert_allclose(batch.cov_en_m2[i], one.cov_en_m2[0], rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize(
    "cov,orient",
    [
        (np.diag([1.0, 9.0]), 0.0),
        (np.diag([9.0, 1.0]), 90.0),
        (np.array([[5.0, 4.0], [4.0, 5.0]]), 45.0),
    ],
)
def test_ellipse_orientation_is_azimuth_of_the_major_axis(cov, orient):
    a, b, o = ellipse95(cov[None])
    assert o[0] == pytest.approx(orient, abs=1e-6)
    assert a[0] == pytest.approx(np.sqrt(5.991464547107979 * np.linalg.eigvalsh(cov)[1]))
    assert b[0] <= a[0]


def test_ellipse_membership_follows_the_chi_square_radius():
    cov = np.array([[100.0, 0.0], [0.0, 400.0]])[None]
    mean = np.zeros((1, 2))
    edge = np.sqrt(5.99 * 400.0)
    assert inside_ellipse95(np.array([[0.0, edge * 0.99]]), mean, cov)[0]
    assert not inside_ellipse95(np.array([[0.0, edge * 1.01]]), mean, cov)[0]


def test_zone_probability_from_quasi_random_samples():
    frame = LocalFrame(33.3, 44.4, 0.0)
    from opencram.scenario.schema import Zone

    # a zone from the frame origin to 5 km north and east: the half-plane cut by its edge
    lat1 = 33.3 + 5000 / 111_000
    lon1 = 44.4 + 5000 / (111_000 * np.cos(np.radians(33.3)))
    z = Zone(
        name="ne", kind="warning", polygon=[(33.3, 44.4), (33.3, lon1), (lat1, lon1), (lat1, 44.4)]
    )
    zs = ZoneSet.build([z], [zone_rings(z, None)], frame)
    assert isinstance(zs.polygons_enu[0], Polygon)
    cov = np.repeat(np.diag([100.0, 100.0])[None], 3, axis=0)
    mean = np.array([[2500.0, 2500.0], [-3000.0, -3000.0], [0.0, 2500.0]])
    p = zone_probabilities(zs, np.array([0]), mean, cov, np.zeros(3))
    assert p[0, 0] == pytest.approx(1.0)
    assert p[1, 0] == pytest.approx(0.0)
    assert p[2, 0] == pytest.approx(0.5, abs=0.03)  # centred on the west edge
    # growing the zone by a lethal radius raises the probability of a near miss
    near = np.array([[-30.0, 2500.0]])
    base = zone_probabilities(zs, np.array([0]), near, cov[:1], np.zeros(1))[0, 0]
    grown = zone_probabilities(zs, np.array([0]), near, cov[:1], np.array([25.0]))[0, 0]
    assert grown > base
