"""Physical sanity of the models: wind, motors, gravity, terrain and waypoint flight."""

import numpy as np

from opencram.physics.environment import Environment, FlatTerrain, Wind, gravity_mps2
from opencram.physics.fire import fly_threats
from opencram.physics.threats import library
from opencram.physics.trajectory import mass_kg
from opencram.physics.waypoints import PathFlight, drone_path


def _impact(tid, env, qe_deg=45.0, az_deg=0.0):
    t = library()[tid]
    f = fly_threats([t], np.zeros((1, 3)), np.radians([az_deg]), np.radians([qe_deg]), env)
    return f.impact_pos_enu_m[0]


def test_crosswind_drifts_a_shell_downwind():
    calm = _impact("mortar-81mm", Environment())
    # wind from the west blows east: a northbound bomb lands east of its calm impact
    windy = _impact("mortar-81mm", Environment(wind=Wind.from_direction(270.0, 10.0)))
    assert windy[0] - calm[0] > 20.0
    assert abs(windy[1] - calm[1]) < 0.05 * calm[1]


def test_layered_wind_interpolates_in_altitude():
    w = Wind.from_direction([270.0, 270.0], [0.0, 20.0], [0.0, 2000.0])
    np.testing.assert_allclose(w.at(np.array([0.0, 1000.0, 5000.0]))[:, 0], [0.0, 10.0, 20.0])
    calm = _impact("mortar-120mm", Environment())
    layered = _impact("mortar-120mm", Environment(wind=w))
    constant = _impact("mortar-120mm", Environment(wind=Wind.from_direction(270.0, 20.0)))
    assert 0 < layered[0] - calm[0] < constant[0] - calm[0]


def test_rocket_mass_falls_during_burn_only():
    from opencram.physics.threats import projectile_batch

    t = library()["rocket-107mm"]
    p = projectile_batch([t])
    m = [mass_kg(p, np.array([s]))[0] for s in (0.0, t.burn_time_s / 2, t.burn_time_s, 10.0)]
    assert m[0] == t.mass_kg
    np.testing.assert_allclose(m[1], t.mass_kg - t.propellant_kg / 2)
    np.testing.assert_allclose(m[2:], t.mass_kg - t.propellant_kg)


def test_gravity_falls_off_with_altitude():
    g = gravity_mps2(np.array([0.0, 10_000.0]))
    assert g[0] > g[1] and abs(g[0] - 9.80665) < 1e-3 and abs(g[0] / g[1] - 1.0031) < 1e-3


def test_higher_terrain_shortens_the_flight():
    low = _impact("mortar-82mm", Environment(), qe_deg=60.0)
    high = _impact("mortar-82mm", Environment(terrain=FlatTerrain(up_m=50.0)), qe_deg=60.0)
    assert high[2] == 50.0 and high[1] < low[1]


def test_drone_path_climbs_flies_waypoints_and_dives_on_target():
    verts = drone_path(
        np.zeros(3), [np.array([0.0, 5000.0, 100.0])], np.array([1000.0, 8000.0, 0.0]), 100.0
    )
    assert verts[0].tolist() == [0.0, 0.0, 0.0] and verts[-1].tolist() == [1000.0, 8000.0, 0.0]
    assert verts[:, 2].max() <= 100.0 + 1e-9
    assert np.isclose(verts[len(verts) // 2, 2], 100.0)  # cruising between the corners
    path = PathFlight(verts, 45.0, start_s=10.0)
    pos, vel, active = path.state_at(np.array([5.0, 10.0 + path.duration_s / 2, 1e6]))
    assert active.tolist() == [False, True, False]
    np.testing.assert_allclose(np.linalg.norm(vel[1]), 45.0)
    np.testing.assert_allclose(pos[2], verts[-1])


def test_smoothed_corners_turn_gradually():
    from opencram.physics.waypoints import smooth_corners

    square = np.array([[0.0, 0, 0], [2000, 0, 0], [2000, 2000, 0], [0, 2000, 0]])
    v = smooth_corners(square)
    d = np.diff(v, axis=0)
    heading = np.degrees(np.arctan2(d[:, 1], d[:, 0]))
    assert np.abs(np.diff(heading)).max() <= 13.0  # a 90 degree corner in ~10 steps
    assert np.allclose(v[0], square[0]) and np.allclose(v[-1], square[-1])
