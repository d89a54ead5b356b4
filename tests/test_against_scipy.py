"""The batched RK4 integrator against scipy's adaptive DOP853 on the same dynamics.

The reference integrates each projectile alone with ``solve_ivp`` (tight tolerances),
splitting rocket flights at burn-out, and finds impact with a terminal event.
"""

import numpy as np
from scipy.integrate import solve_ivp

from opencram.physics.environment import Environment, Wind
from opencram.physics.fire import launch_states
from opencram.physics.threats import library
from opencram.physics.trajectory import acceleration, fly


def reference_impact(pos0, vel0, params, env):
    """Impact time and point of one projectile by solve_ivp (DOP853, rtol 1e-10)."""

    def rhs(t, y):
        acc = acceleration(t, y[None, :3], y[None, 3:], params, env)[0]
        return np.concatenate([y[3:], acc])

    def ground(t, y):
        return y[2]

    ground.terminal = True
    ground.direction = -1
    y0, t0 = np.concatenate([pos0, vel0]), 0.0
    tb = float(params.burn_time_s[0])
    if tb > 0:
        seg = solve_ivp(rhs, (0.0, tb), y0, method="DOP853", rtol=1e-10, atol=1e-8)
        y0, t0 = seg.y[:, -1], tb
    sol = solve_ivp(rhs, (t0, 400.0), y0, method="DOP853", rtol=1e-10, atol=1e-8, events=ground)
    return float(sol.t_events[0][0]), sol.y_events[0][0][:3]


def test_impacts_agree_with_solve_ivp_within_one_metre():
    lib = library()
    ids = ["rocket-107mm", "rocket-122mm-grad", "mortar-81mm", "mortar-120mm", "artillery-155mm"]
    types = [lib[i] for i in ids]
    qe = np.radians([35.0, 50.0, 60.0, 70.0, 30.0])
    az = np.radians([10.0, 200.0, 90.0, 330.0, 45.0])
    env = Environment(site_alt_m=34.0, wind=Wind.from_direction(300.0, 7.0))
    pos0, vel0, params = launch_states(types, np.zeros((5, 3)), az, qe)
    flight = fly(pos0, vel0, params, env, dt_s=0.02)
    assert flight.landed.all()
    for i in range(len(types)):
        t_ref, p_ref = reference_impact(pos0[i], vel0[i], params.take([i]), env)
        assert abs(flight.impact_t_s[i] - t_ref) < 2e-3, ids[i]
        assert np.linalg.norm(flight.impact_pos_enu_m[i] - p_ref) < 1.0, ids[i]
