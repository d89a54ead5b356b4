"""Firing ballistic threats: launch states, and the elevation and azimuth that put a round
on an aim point.

A rocket leaves its launch tube at the speed its calibrated thrust gives over the tube
length; a mortar bomb or shell leaves at its muzzle velocity. The aim solver works on the
whole batch at once: a regula-falsi search (Illinois variant) on quadrant elevation within
the threat's branch (below the maximum-range elevation for ``low`` fire, above it for
``high`` fire), while the azimuth is turned by the bearing error of each trial impact to
null drift from wind.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from opencram.geo import azimuth_rad, unit_vector_from_az_el
from opencram.physics.atmosphere import G0_MPS2
from opencram.physics.environment import Environment
from opencram.physics.threats import ThreatType, projectile_batch
from opencram.physics.trajectory import Flight, fly

MIN_QE_DEG = 1.0
MAX_QE_DEG = 88.0
AIM_DT_S = 0.05


def launch_speed_mps(types: list[ThreatType], qe_rad, velocity_scale=None) -> np.ndarray:
    """Launch speed along the bore: muzzle velocity, or a rocket's tube-exit speed."""
    qe = np.asarray(qe_rad, dtype=float)
    scale = np.ones(len(types)) if velocity_scale is None else np.asarray(velocity_scale)
    out = np.empty(len(types))
    for i, t in enumerate(types):
        if t.is_rocket:
            acc = scale[i] * t.thrust_n / t.mass_kg - G0_MPS2 * np.sin(qe[i])
            out[i] = np.sqrt(2.0 * max(acc, 0.0) * t.launch_tube_m)
        else:
            out[i] = (t.muzzle_velocity_mps or 0.0) * scale[i]
    return out


def launch_states(types, launch_enu_m, az_rad, qe_rad, velocity_scale=None):
    """Launch positions (n, 3), velocities (n, 3) and projectile parameters."""
    speed = launch_speed_mps(types, qe_rad, velocity_scale)
    vel = unit_vector_from_az_el(az_rad, qe_rad) * speed[:, None]
    params = projectile_batch(types, velocity_scale)
    return np.asarray(launch_enu_m, dtype=float).reshape(-1, 3), vel, params


def fly_threats(
    types, launch_enu_m, az_rad, qe_rad, env, *, velocity_scale=None, dt_s=AIM_DT_S, record=False
) -> Flight:
    pos0, vel0, params = launch_states(types, launch_enu_m, az_rad, qe_rad, velocity_scale)
    return fly(pos0, vel0, params, env, dt_s=dt_s, record=record)


@dataclass(frozen=True)
class AimSolution:
    """Per threat: the azimuth and quadrant elevation found, whether the aim point is
    reachable, and the reachable range interval on the threat's branch."""

    az_rad: np.ndarray
    qe_rad: np.ndarray
    reachable: np.ndarray  # bool
    max_range_m: np.ndarray  # at the branch's limiting elevation, in this environment
    min_range_m: np.ndarray
    miss_m: np.ndarray  # distance from the last trial impact to the aim point


def _ground_range(flight: Flight, launch_enu_m):
    """Horizontal distance launch to impact (m), and the offset vectors (n, 2)."""
    d = flight.impact_pos_enu_m[:, :2] - launch_enu_m[:, :2]
    return np.hypot(d[:, 0], d[:, 1]), d


def solve_aim(
    types: list[ThreatType],
    launch_enu_m,
    aim_enu_m,
    env: Environment | None = None,
    *,
    tol_m: float = 0.5,
    max_iter: int = 40,
) -> AimSolution:
    """Elevation and azimuth putting each round on its aim point (batched)."""
    env = env or Environment()
    launch = np.asarray(launch_enu_m, dtype=float).reshape(-1, 3)
    aim = np.asarray(aim_enu_m, dtype=float).reshape(-1, 3)
    n = len(types)
    target = np.hypot(*(aim[:, :2] - launch[:, :2]).T)
    az = azimuth_rad(aim[:, :2] - launch[:, :2])
    qe_max = np.radians([t.max_range_qe_deg for t in types])
    high = np.array([t.trajectory == "high" for t in types])
    # branch ends: [lo, qe_max] for low fire, [qe_max, hi] for high fire
    lo = np.where(high, qe_max, np.radians(MIN_QE_DEG))
    hi = np.where(high, np.radians(MAX_QE_DEG), qe_max)
    ends = fly_threats(
        types + types, np.vstack([launch, launch]), np.r_[az, az], np.r_[lo, hi], env
    )
    r_ends, _ = _ground_range(ends, np.vstack([launch, launch]))
    f_lo, f_hi = r_ends[:n] - target, r_ends[n:] - target
    r_max = np.maximum(r_ends[:n], r_ends[n:])
    r_min = np.minimum(r_ends[:n], r_ends[n:])
    reachable = (f_lo * f_hi <= 0) & np.isfinite(f_lo) & np.isfinite(f_hi)
    qe = np.where(reachable, 0.5 * (lo + hi), np.where(high, lo, hi))
    miss = np.full(n, np.inf)
    side = np.zeros(n)
    todo = reachable.copy()
    for _ in range(max_iter):
        if not todo.any():
            break
        idx = np.flatnonzero(todo)
        # Illinois regula falsi for the elevation
        denom = f_hi[idx] - f_lo[idx]
        q = np.where(
            np.abs(denom) > 1e-9, (lo[idx] * f_hi[idx] - hi[idx] * f_lo[idx]) / denom, qe[idx]
        )
        q = np.clip(q, np.minimum(lo[idx], hi[idx]), np.maximum(lo[idx], hi[idx]))
        qe[idx] = q
        sub = [types[i] for i in idx]
        fl = fly_threats(sub, launch[idx], az[idx], q, env)
        along, d = _ground_range(fl, launch[idx])
        f = along - target[idx]
        # turn the azimuth by the bearing error of this trial's impact
        bearing_err = np.angle(
            np.exp(1j * (azimuth_rad(aim[idx, :2] - launch[idx, :2]) - azimuth_rad(d)))
        )
        az[idx] = np.mod(az[idx] + bearing_err, 2 * np.pi)
        miss[idx] = np.hypot(*(fl.impact_pos_enu_m[:, :2] - aim[idx, :2]).T)
        same_as_lo = np.sign(f) == np.sign(f_lo[idx])
        # replace the end whose sign matches; halve the other end's value (Illinois)
        lo_i, hi_i, flo, fhi, s = lo[idx], hi[idx], f_lo[idx], f_hi[idx], side[idx]
        lo_i = np.where(same_as_lo, q, lo_i)
        flo = np.where(same_as_lo, f, np.where(s == -1, flo / 2, flo))
        hi_i = np.where(~same_as_lo, q, hi_i)
        fhi = np.where(~same_as_lo, f, np.where(s == 1, fhi / 2, fhi))
        side[idx] = np.where(same_as_lo, 1, -1)
        lo[idx], hi[idx], f_lo[idx], f_hi[idx] = lo_i, hi_i, flo, fhi
        todo[idx] = miss[idx] > tol_m
    return AimSolution(az, qe, reachable, r_max, r_min, miss)


def max_range(t: ThreatType, env: Environment | None = None, *, dt_s: float = AIM_DT_S):
    """Greatest ground range (m) over quadrant elevation, and the elevation (deg)."""
    env = env or Environment()
    qe_deg = np.arange(15.0, 75.01, 0.5)
    n = qe_deg.size
    fl = fly_threats([t] * n, np.zeros((n, 3)), np.zeros(n), np.radians(qe_deg), env, dt_s=dt_s)
    rng = np.hypot(*fl.impact_pos_enu_m[:, :2].T)
    k = int(np.nanargmax(rng))
    # refine around the best grid point
    fine = np.linspace(qe_deg[max(k - 1, 0)], qe_deg[min(k + 1, n - 1)], 41)
    m = fine.size
    fl = fly_threats([t] * m, np.zeros((m, 3)), np.zeros(m), np.radians(fine), env, dt_s=dt_s)
    rng = np.hypot(*fl.impact_pos_enu_m[:, :2].T)
    j = int(np.nanargmax(rng))
    return float(rng[j]), float(fine[j])
