"""Batched trajectories against a per-projectile loop over scipy's solve_ivp.

Propagates N mixed ballistic threats (every type in the library, random elevations,
azimuths and a wind) to ground impact with opencram's batched RK4, then flies the same
projectiles one at a time with ``scipy.integrate.solve_ivp`` (DOP853) on the same dynamics,
in the same process. Checks that impact points agree within 1 m, then prints trajectories
per second for both and the ratio.

    .venv/bin/python benchmarks/bench_trajectories.py            # 10,000 trajectories
    .venv/bin/python benchmarks/bench_trajectories.py --n 1000   # quicker
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from scipy.integrate import solve_ivp

from opencram.physics.environment import Environment, Wind
from opencram.physics.fire import launch_states
from opencram.physics.threats import library
from opencram.physics.trajectory import acceleration, fly


def scipy_impact(pos0, vel0, params, env, rtol, atol):
    def rhs(t, y):
        return np.concatenate([y[3:], acceleration(t, y[None, :3], y[None, 3:], params, env)[0]])

    def ground(t, y):
        return y[2]

    ground.terminal = True
    ground.direction = -1
    y0, t0 = np.concatenate([pos0, vel0]), 0.0
    tb = float(params.burn_time_s[0])
    if tb > 0:  # integrate the motor burn and the coast separately, as the batch does
        seg = solve_ivp(rhs, (0.0, tb), y0, method="DOP853", rtol=rtol, atol=atol)
        y0, t0 = seg.y[:, -1], tb
    sol = solve_ivp(rhs, (t0, 400.0), y0, method="DOP853", rtol=rtol, atol=atol, events=ground)
    return sol.y_events[0][0][:3]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=10_000, help="trajectories (default 10,000)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--dt", type=float, default=0.02, help="batched RK4 step (s)")
    args = ap.parse_args()
    rng = np.random.default_rng(args.seed)
    ballistic = [t for t in library().values() if t.is_ballistic]
    types = [ballistic[i] for i in rng.integers(0, len(ballistic), args.n)]
    az = rng.uniform(0.0, 2 * np.pi, args.n)
    qe = np.radians(rng.uniform(15.0, 80.0, args.n))
    env = Environment(site_alt_m=34.0, wind=Wind.from_direction(315.0, 5.0))
    pos0, vel0, params = launch_states(types, np.zeros((args.n, 3)), az, qe)

    t0 = time.perf_counter()
    flight = fly(pos0, vel0, params, env, dt_s=args.dt)
    t_batch = time.perf_counter() - t0

    ref = np.empty((args.n, 3))
    t0 = time.perf_counter()
    for i in range(args.n):
        ref[i] = scipy_impact(pos0[i], vel0[i], params.take([i]), env, 1e-9, 1e-6)
    t_scipy = time.perf_counter() - t0

    err = np.linalg.norm(flight.impact_pos_enu_m - ref, axis=1)
    print(f"trajectories: {args.n} mixed ({len(ballistic)} threat types), dt {args.dt} s")
    print(f"impact agreement: max {err.max():.3f} m, median {np.median(err):.4f} m")
    if err.max() > 1.0:
        raise SystemExit("FAIL: batched and solve_ivp impacts differ by more than 1 m")
    print(f"opencram batched RK4 : {t_batch:8.2f} s  {args.n / t_batch:10.0f} trajectories/s")
    print(f"scipy solve_ivp loop : {t_scipy:8.2f} s  {args.n / t_scipy:10.0f} trajectories/s")
    print(f"speed-up             : {t_scipy / t_batch:8.1f}x (goal >= 50x)")


if __name__ == "__main__":
    main()
