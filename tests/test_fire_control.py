"""Fire control: the gun's round table and intercept solutions, checked by flying the
round with the trajectory integrator and the threat with the tracker's model."""

import numpy as np
import pytest

from opencram.engage.firecontrol import GunModel, round_params, solve_intercepts
from opencram.physics.environment import Environment, FlatTerrain
from opencram.physics.trajectory import fly
from opencram.scenario.schema import Weapon
from opencram.track.models import BallisticModel

SPEC = Weapon(id="lpws", lat=33.3, lon=44.4)
GUN = GunModel.build(SPEC, np.array([100.0, -200.0, 0.0]))
THREATS = np.array(
    [
        [0.0, -3000.0, 800.0, 0.0, 250.0, 20.0, 1.5],  # rocket coming north
        [500.0, -2000.0, 600.0, 0.0, 220.0, -30.0, 1.5],  # descending
        [-1500.0, 900.0, 1200.0, 60.0, -40.0, -150.0, 2.2],  # mortar bomb diving
    ]
)


def _round_position(az, el, t):
    params = round_params(SPEC, 1)
    v0 = SPEC.muzzle_velocity_mps
    vel = v0 * np.array([[np.cos(el) * np.sin(az), np.cos(el) * np.cos(az), np.sin(el)]])
    env = Environment(terrain=FlatTerrain(up_m=-1e5))
    f = fly(GUN.pos_enu_m[None], vel, params, env, dt_s=0.002, max_time_s=t + 0.1, record=True)
    return f.state_at(np.array([t]))[0][0]


def test_round_solution_hits_the_point():
    pts = np.array([[800.0, 300.0], [1500.0, 500.0], [400.0, 1200.0]])
    el, tof = GUN.solve_round(pts[:, 0], pts[:, 1])
    for k in range(3):
        p = _round_position(0.0, el[k], tof[k]) - GUN.pos_enu_m
        assert np.hypot(p[0], p[1]) == pytest.approx(pts[k, 0], abs=1.0)
        assert p[2] == pytest.approx(pts[k, 1], abs=1.0)


def test_intercepts_put_round_and_threat_in_the_same_place():
    model = BallisticModel()
    sol = solve_intercepts(GUN, model, THREATS, np.zeros(3), t_fire_s=2.0)
    assert sol.feasible.all()
    for k in range(3):
        threat = model.propagate_state(THREATS[k : k + 1], np.array([sol.t_s[k]]))[0, :3]
        rnd = _round_position(sol.az_rad[k], sol.el_rad[k], sol.tof_s[k])
        assert np.linalg.norm(rnd - threat) < 3.0
        assert sol.t_s[k] == pytest.approx(2.0 + sol.tof_s[k])


def test_batched_intercepts_equal_one_at_a_time():
    model = BallisticModel()
    batch = solve_intercepts(GUN, model, THREATS, np.zeros(3), t_fire_s=2.0)
    for k in range(3):
        one = solve_intercepts(GUN, model, THREATS[k : k + 1], np.zeros(1), t_fire_s=2.0)
        np.testing.assert_allclose(one.pos_enu_m[0], batch.pos_enu_m[k], atol=1e-6)
        np.testing.assert_allclose(one.el_rad[0], batch.el_rad[k], atol=1e-9)


def test_threats_beyond_reach_are_not_feasible():
    far = np.array([[0.0, -9000.0, 300.0, 0.0, 250.0, 20.0, 1.5]])
    sol = solve_intercepts(GUN, BallisticModel(), far, np.zeros(1), t_fire_s=0.0)
    assert not sol.feasible[0]


def test_tabulated_paths_give_the_integrated_intercepts():
    from opencram.engage.firecontrol import ThreatPaths

    model = BallisticModel()
    direct = solve_intercepts(GUN, model, THREATS, np.zeros(3), t_fire_s=2.0)
    paths = ThreatPaths.fly(model, THREATS, np.zeros(3), t_end_s=20.0)
    tab = solve_intercepts(GUN, model, THREATS, np.zeros(3), t_fire_s=2.0, paths=paths)
    np.testing.assert_allclose(tab.pos_enu_m, direct.pos_enu_m, atol=0.01)
    np.testing.assert_allclose(tab.t_s, direct.t_s, atol=1e-4)
    # between grid points the interpolation follows the integrated flight
    t = np.array([0.1, 3.37, 11.9])
    truth = model.propagate_state(THREATS, t)[:, :3]
    np.testing.assert_allclose(paths.position_at(t), truth, atol=0.01)


def test_track_radar_fix_error_matches_its_stated_sigma():
    from opencram.engage.firecontrol import (
        track_radar_fix,
        track_radar_sample_times,
        track_radar_sigma_m,
    )
    from opencram.scenario.schema import TrackRadar

    radar = TrackRadar()
    t = track_radar_sample_times(radar)
    gun = np.array([0.0, 0.0, 0.0])
    p0, v0, acc = (
        np.array([300.0, 1200.0, 400.0]),
        np.array([5.0, -240.0, -90.0]),
        np.array([0, 0, -9.8]),
    )
    truth = p0 + t[:, None] * v0 + 0.5 * t[:, None] ** 2 * acc
    rng = np.random.default_rng(11)
    tof = 1.2
    fixes = np.array([track_radar_fix(radar, gun, truth, acc, rng) for _ in range(3000)])
    err = fixes[:, :3] + tof * fixes[:, 3:] - (p0 + tof * v0)
    assert np.abs(err.mean(axis=0)).max() < 0.1  # unbiased
    rms = np.sqrt((err**2).mean(axis=0))
    stated = track_radar_sigma_m(radar, np.linalg.norm(p0), tof)
    # the stated per-axis sigma bounds the worst axis (the larger of range and cross-range
    # noise) and is within a factor of 2 of the typical axis
    assert rms.max() <= stated * 1.05
    assert rms.mean() > stated / 2


def test_hit_probability_with_an_offset_against_monte_carlo():
    from opencram.engage.tewa import round_hit_probability, round_hit_probability_offset

    rng = np.random.default_rng(5)
    sigma = 1000.0 * 3.0e-3  # 1 km at 3 mrad
    for miss in (0.0, 2.0, 6.0):
        pts = rng.normal(0.0, sigma, (400_000, 2)) + np.array([miss, 0.0])
        mc = np.mean(np.hypot(pts[:, 0], pts[:, 1]) < 1.5)
        p = round_hit_probability_offset(miss, 1000.0, 3.0, 1.5)
        assert p == pytest.approx(mc, abs=0.003)
    # no offset: the same as the centred (Rayleigh) formula with no track error
    assert round_hit_probability_offset(0.0, 1000.0, 3.0, 1.5) == pytest.approx(
        round_hit_probability(1000.0, 3.0, 0.0, 1.5)
    )
