"""Batched trajectories: the compiled kernel, its numpy reference and a solve_ivp loop.

Propagates N mixed ballistic threats (every type in the library, random elevations,
azimuths and a wind) to ground impact three ways, in the same process, in CPU time
(``time.process_time``), with the repeats paired and interleaved (kernel, reference,
solve_ivp, kernel, ...):

- ``fly``: opencram's batched RK4 with the compiled (numba) step and grid loop;
- ``fly(compiled=False)``: the same integrator stepped by the numpy reference;
- one ``scipy.integrate.solve_ivp`` (DOP853) call per projectile on the same dynamics.

Prints min and median CPU seconds of each, the paired ratios (min and median over the
repeats) and the largest impact difference between each pair; fails if the kernel's impacts
differ from solve_ivp's by more than 1 m. The solve_ivp loop costs about 70 ms CPU per
trajectory, so by default it runs at N <= 1,000 only (``--scipy-max-n``).

    .venv/bin/python benchmarks/bench_trajectories.py                  # N = 1,000 and 10,000
    .venv/bin/python benchmarks/bench_trajectories.py --n 1000 --repeats 3
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


def make_case(n: int, seed: int):
    """N mixed ballistic threats from the origin, and the environment they fly in."""
    rng = np.random.default_rng(seed)
    ballistic = [t for t in library().values() if t.is_ballistic]
    types = [ballistic[i] for i in rng.integers(0, len(ballistic), n)]
    az = rng.uniform(0.0, 2 * np.pi, n)
    qe = np.radians(rng.uniform(15.0, 80.0, n))
    env = Environment(site_alt_m=34.0, wind=Wind.from_direction(315.0, 5.0))
    pos0, vel0, params = launch_states(types, np.zeros((n, 3)), az, qe)
    return pos0, vel0, params, env, len(ballistic)


def _timed(fn):
    t0 = time.process_time()
    out = fn()
    return time.process_time() - t0, out


def _scipy_loop(pos0, vel0, params, env):
    ref = np.empty((pos0.shape[0], 3))
    for i in range(pos0.shape[0]):
        ref[i] = scipy_impact(pos0[i], vel0[i], params.take([i]), env, 1e-9, 1e-6)
    return ref


def run_n(n: int, args) -> bool:
    """Time the three ways at N = n; print the figures; True if impacts agree within 1 m."""
    pos0, vel0, params, env, n_types = make_case(n, args.seed)
    fly(pos0[:4], vel0[:4], params.take(np.arange(4)), env, dt_s=args.dt)  # load the kernels
    ways = {
        "compiled kernel": lambda: fly(pos0, vel0, params, env, dt_s=args.dt).impact_pos_enu_m,
        "numpy reference": lambda: (
            fly(pos0, vel0, params, env, dt_s=args.dt, compiled=False).impact_pos_enu_m
        ),
    }
    if n <= args.scipy_max_n:
        ways["solve_ivp loop"] = lambda: _scipy_loop(pos0, vel0, params, env)
    times = {k: [] for k in ways}
    impacts = {}
    for _ in range(args.repeats):  # interleaved: one of each per round
        for name, fn in ways.items():
            dt, impacts[name] = _timed(fn)
            times[name].append(dt)
    print(f"\nN = {n} mixed ({n_types} threat types), dt {args.dt} s, {args.repeats} repeats")
    print(f"{'':16s} {'CPU min':>9s} {'CPU median':>11s} {'trajectories/s':>15s}")
    for name, ts in times.items():
        print(f"{name:16s} {min(ts):8.2f}s {np.median(ts):10.2f}s {n / np.median(ts):15.0f}")
    base = np.array(times["compiled kernel"])
    ok = True
    for name in list(ways)[1:]:
        ratio = np.array(times[name]) / base
        err = np.linalg.norm(impacts[name] - impacts["compiled kernel"], axis=1)
        print(
            f"{name} / compiled kernel: paired ratio min {ratio.min():.1f}x, median "
            f"{np.median(ratio):.1f}x; impacts differ by max {err.max():.3g} m, "
            f"median {np.median(err):.2g} m"
        )
        if name == "solve_ivp loop":
            ok = err.max() <= 1.0
            print("goal: >= 100x the solve_ivp loop at N = 1,000, impacts within 1 m")
    return ok


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, nargs="+", default=[1_000, 10_000], help="batch sizes")
    ap.add_argument("--repeats", type=int, default=3, help="paired repeats (default 3)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--dt", type=float, default=0.02, help="batched RK4 step (s)")
    ap.add_argument(
        "--scipy-max-n", type=int, default=1_000, help="run the solve_ivp loop up to this N"
    )
    args = ap.parse_args()
    ok = all([run_n(n, args) for n in args.n])
    if not ok:
        raise SystemExit("FAIL: batched and solve_ivp impacts differ by more than 1 m")


if __name__ == "__main__":
    main()
