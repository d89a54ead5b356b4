"""Batched functions give the same answers as one-at-a-time calls."""

import numpy as np
import pytest

from opencram.geo import LocalFrame
from opencram.physics.environment import Environment, Wind
from opencram.physics.fire import launch_states, solve_aim
from opencram.physics.threats import library
from opencram.physics.trajectory import fly


def _mixed(n, seed=0):
    rng = np.random.default_rng(seed)
    ballistic = [t for t in library().values() if t.is_ballistic]
    types = [ballistic[i] for i in rng.integers(0, len(ballistic), n)]
    az = rng.uniform(0, 2 * np.pi, n)
    qe = np.radians(rng.uniform(20, 75, n))
    return types, az, qe


def test_fly_batch_equals_single_flights():
    types, az, qe = _mixed(12)
    env = Environment(site_alt_m=34.0, wind=Wind.from_direction(250.0, 6.0))
    pos0, vel0, params = launch_states(types, np.zeros((12, 3)), az, qe)
    batch = fly(pos0, vel0, params, env, dt_s=0.02, record=True)
    for i in range(12):
        one = fly(pos0[i : i + 1], vel0[i : i + 1], params.take([i]), env, dt_s=0.02)
        np.testing.assert_allclose(batch.impact_pos_enu_m[i], one.impact_pos_enu_m[0], atol=1e-6)
        np.testing.assert_allclose(batch.impact_t_s[i], one.impact_t_s[0], atol=1e-9)


def test_state_at_matches_the_recorded_grid_and_impact():
    types, az, qe = _mixed(5, seed=3)
    pos0, vel0, params = launch_states(types, np.zeros((5, 3)), az, qe)
    f = fly(pos0, vel0, params, dt_s=0.02, record=True)
    k = 100
    p, v, active = f.state_at(np.full(5, k * 0.02))
    np.testing.assert_allclose(p, f.pos_enu_m[k], atol=1e-9)
    np.testing.assert_allclose(v, f.vel_enu_mps[k], atol=1e-9)
    assert active.all()
    p, _, active = f.state_at(f.impact_t_s + 1.0)
    np.testing.assert_allclose(p, f.impact_pos_enu_m, atol=1e-9)
    assert not active.any()


def test_aim_batch_equals_single_and_hits_the_aim_point():
    frame = LocalFrame(33.3, 44.4, 34.0)
    lib = library()
    types = [lib["rocket-107mm"], lib["mortar-82mm"], lib["artillery-155mm"]]
    launch = frame.to_enu([33.25, 33.33, 33.20], [44.39, 44.39, 44.50], 34.0)
    aim = frame.to_enu([33.30, 33.31, 33.30], [44.40, 44.40, 44.40], 34.0)
    env = Environment(site_alt_m=34.0, wind=Wind.from_direction(315.0, 5.0))
    sol = solve_aim(types, launch, aim, env)
    assert sol.reachable.all()
    assert (sol.miss_m < 0.5).all()
    for i in range(3):
        one = solve_aim([types[i]], launch[i : i + 1], aim[i : i + 1], env)
        np.testing.assert_allclose(one.qe_rad[0], sol.qe_rad[i], atol=2e-5)
        np.testing.assert_allclose(one.az_rad[0], sol.az_rad[i], atol=2e-5)
    # mortars fire on the high-angle branch, the others low
    assert np.degrees(sol.qe_rad[1]) > 45 and np.degrees(sol.qe_rad[0]) < 45


def test_out_of_range_aim_is_flagged_unreachable():
    t = library()["mortar-60mm"]
    sol = solve_aim([t], np.zeros((1, 3)), np.array([[0.0, 9000.0, 0.0]]))
    assert not sol.reachable[0]
    assert sol.max_range_m[0] < 9000.0


def test_compiled_ballistic_kernels_equal_the_numpy_reference():
    """The numba kernels (opencram.track._kernels) against the numpy RK4 of the model."""
    from opencram.track.models import BallisticModel, propagate_to_height, substeps

    model = BallisticModel()
    rng = np.random.default_rng(3)
    n = 40
    x = np.column_stack(
        [
            rng.uniform(-5e3, 5e3, (n, 2)),
            rng.uniform(50, 4000, n),
            rng.normal(0, 250, (n, 3)),
            rng.uniform(0.2, 4.0, n),
        ]
    )
    h = rng.uniform(-0.5, 0.5, n)
    np.testing.assert_allclose(
        model.step_state(x, h), model.step_state_reference(x, h), rtol=0, atol=1e-9
    )
    dt = rng.uniform(-3.0, 3.0, n)
    n_i, h_i = substeps(dt)
    ref = x.copy()
    for k in range(int(n_i.max())):
        ref = model.step_state_reference(ref, np.where(k < n_i, h_i, 0.0))
    np.testing.assert_allclose(model.propagate_state(x, dt), ref, rtol=0, atol=1e-8)
    # flying to the ground: the same crossing as a numpy loop of reference steps
    out, t, ok = propagate_to_height(model, x, 0.0)
    for r in range(0, n, 7):
        cur, tt = x[r : r + 1], 0.0
        while True:
            nxt = model.step_state_reference(cur, np.array([0.25]))
            if nxt[0, 2] <= 0.0 < cur[0, 2]:
                f = cur[0, 2] / (cur[0, 2] - nxt[0, 2])
                np.testing.assert_allclose(out[r], (cur + f * (nxt - cur))[0], atol=1e-7)
                assert t[r] == pytest.approx(tt + 0.25 * f) and ok[r]
                break
            cur, tt = nxt, tt + 0.25


def test_compiled_flight_step_equals_the_numpy_reference():
    """The numba RK4 step (opencram.physics._kernels) against the numpy one, with rocket
    motors burning and burnt out, both drag tables, and calm, constant and layered wind."""
    from opencram.physics.trajectory import ProjectileBatch, rk4_step, rk4_step_reference

    rng = np.random.default_rng(1)
    n = 30
    motor = np.arange(n) % 2 == 0
    params = ProjectileBatch(
        mass_kg=rng.uniform(3, 20, n),
        area_m2=rng.uniform(0.003, 0.01, n),
        form_factor=rng.uniform(0.8, 1.5, n),
        drag_table=rng.integers(0, 2, n),
        propellant_kg=np.where(motor, 2.0, 0.0),
        burn_time_s=np.where(motor, 1.2, 0.0),
        thrust_n=np.where(motor, 5000.0, 0.0),
    )
    pos = np.column_stack([rng.normal(0, 1e3, (n, 2)), rng.uniform(0, 5e3, n)])
    vel = rng.normal(0, 300, (n, 3))
    winds = [
        Wind(),
        Wind.from_direction(300.0, 7.0),
        Wind(np.array([0.0, 1000.0, 3000.0]), np.array([[3, 1, 0], [8, -2, 0], [15, 0, 1.0]])),
    ]
    for wind in winds:
        env = Environment(site_alt_m=34.0, wind=wind, temperature_offset_k=5.0)
        for t in (0.0, 0.5, 1.1, 3.0):
            h = np.full(n, 0.02)
            got = rk4_step(t, pos, vel, h, params, env)
            ref = rk4_step_reference(t, pos, vel, h, params, env)
            np.testing.assert_allclose(got[0], ref[0], rtol=0, atol=1e-9)
            np.testing.assert_allclose(got[1], ref[1], rtol=0, atol=1e-9)


def test_compiled_ekf_prediction_equals_the_numpy_reference():
    """The compiled EKF prediction of the three track models against the numpy one
    (opencram.track.models.propagate_ekf_reference), with per-track substeps."""
    from opencram.track.models import (
        BallisticModel,
        ConstantVelocityModel,
        CoordinatedTurnModel,
        propagate_ekf,
        propagate_ekf_reference,
    )

    rng = np.random.default_rng(2)
    n = 20
    for model, dim in (
        (BallisticModel(), 7),
        (BallisticModel(), 8),
        (ConstantVelocityModel(), 8),
        (CoordinatedTurnModel(), 8),
    ):
        cols = [
            rng.normal(0, 2e3, (n, 2)),
            rng.uniform(100, 3000, n),
            rng.normal(0, 200, (n, 3)),
            rng.uniform(0.5, 3, n),
        ]
        if dim == 8:
            cols.append(rng.normal(0, 0.1, n))
        x = np.column_stack(cols)
        a = rng.normal(size=(n, dim, dim))
        p = a @ a.transpose(0, 2, 1) + np.eye(dim)
        dt = rng.uniform(-2, 2, n)
        got_x, got_p = propagate_ekf(model, x, p, dt)
        ref_x, ref_p = propagate_ekf_reference(model, x, p, dt)
        np.testing.assert_allclose(got_x, ref_x, rtol=0, atol=1e-9)
        np.testing.assert_allclose(got_p, ref_p, rtol=1e-12, atol=1e-9)
        np.testing.assert_array_equal(got_p, np.swapaxes(got_p, 1, 2))


def test_compiled_fly_equals_the_numpy_reference_fly():
    """Regression guard: ``fly`` with the compiled step and grid loop against ``fly`` stepped
    by the numpy reference, for a mixed batch (rockets burning out, rows landing at many
    different steps, so the landed-row compaction runs often) and with a recording (which
    takes the numpy grid loop with the compiled step)."""
    types, az, qe = _mixed(300, seed=5)
    env = Environment(site_alt_m=34.0, wind=Wind.from_direction(200.0, 4.0))
    pos0, vel0, params = launch_states(types, np.zeros((300, 3)), az, qe)
    ref = fly(pos0, vel0, params, env, compiled=False)
    for got in (fly(pos0, vel0, params, env), fly(pos0, vel0, params, env, record=True)):
        assert got.landed.all()
        np.testing.assert_array_equal(got.landed, ref.landed)
        np.testing.assert_allclose(got.impact_pos_enu_m, ref.impact_pos_enu_m, rtol=0, atol=1e-6)
        np.testing.assert_allclose(got.impact_t_s, ref.impact_t_s, rtol=0, atol=1e-9)
        np.testing.assert_allclose(got.apogee_up_m, ref.apogee_up_m, rtol=0, atol=1e-6)


def test_compiled_flight_step_equals_the_numpy_reference_at_large_n():
    """The compiled step against the numpy one on 20,000 rows with mixed motors and per-row
    step sizes, including read-only and non-contiguous inputs."""
    from opencram.physics.trajectory import rk4_step, rk4_step_reference

    types, az, qe = _mixed(20_000, seed=7)
    env = Environment(site_alt_m=34.0, wind=Wind.from_direction(90.0, 8.0))
    pos0, vel0, params = launch_states(types, np.zeros((20_000, 3)), az, qe)
    rng = np.random.default_rng(7)
    pos = pos0 + np.column_stack([rng.normal(0, 500, (20_000, 2)), rng.uniform(0, 4e3, 20_000)])
    pos.flags.writeable = False
    vel = np.asfortranarray(vel0)
    h = rng.uniform(0.001, 0.05, 20_000)
    for t in (0.0, 0.7, 5.0):
        got = rk4_step(t, pos, vel, h, params, env)
        ref = rk4_step_reference(t, pos, vel, h, params, env)
        np.testing.assert_allclose(got[0], ref[0], rtol=0, atol=1e-9)
        np.testing.assert_allclose(got[1], ref[1], rtol=0, atol=1e-9)


def _imm_rows(n: int, seed: int):
    """Random IMM rows: per-model states (n, 3, 8) on a track's scales, covariances and
    mode probabilities."""
    rng = np.random.default_rng(seed)
    scale = np.array([5e3, 5e3, 2e3, 300.0, 300.0, 200.0, 5.0, 0.05])
    xm = rng.normal(size=(n, 3, 8)) * scale
    a = rng.normal(size=(n, 3, 8, 8)) * scale[:, None]
    pm = a @ np.swapaxes(a, -1, -2)
    mu = rng.dirichlet([1.0, 1.0, 1.0], size=n)
    return xm, pm, mu


@pytest.mark.parametrize("n", [0, 1, 5, 257])
def test_compiled_imm_mix_and_combine_equal_the_numpy_reference(n):
    """The numba IMM interaction and combination (opencram.track._kernels) give the very
    numbers of the numpy einsum reference (the tracker's outputs are hashed)."""
    from opencram.track.imm import IMM

    imm = IMM()
    xm, pm, mu = _imm_rows(n, seed=n)
    for got, want in zip(imm.mix(xm, pm, mu), imm.mix_reference(xm, pm, mu), strict=True):
        assert got.shape == want.shape
        assert np.array_equal(got, want)
    for got, want in zip(IMM.combine(xm, pm, mu), IMM.combine_reference(xm, pm, mu), strict=True):
        assert got.shape == want.shape
        assert np.array_equal(got, want)
    # non-contiguous rows (as a table's fancy-indexed slices may be) give the same numbers
    if n > 1:
        x_s, p_s = IMM.combine(xm[::2], pm[::2], mu[::2])
        x_r, p_r = IMM.combine_reference(xm[::2], pm[::2], mu[::2])
        assert np.array_equal(x_s, x_r) and np.array_equal(p_s, p_r)
