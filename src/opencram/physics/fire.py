"""Firing ballistic threats: launch states, and the elevation and azimuth that put a round
on an aim point.

A rocket leaves its launch tube at the speed its calibrated thrust gives over the tube
length; a mortar bomb or shell leaves at its muzzle velocity. The aim solver works on the
whole batch at once. A weapon with a charge table fires the lowest charge that reaches the
aim point at an elevation inside its limits, as a crew reading its firing table would
(unless the scenario names the charge). Then a regula-falsi search (Illinois variant) on
quadrant elevation within the threat's branch (below the maximum-range elevation for
``low`` fire, above it for ``high`` fire, both inside the weapon's elevation limits),
while the azimuth is turned by the bearing error of each trial impact to null drift from
wind and the Earth's rotation.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from opencram.geo import azimuth_rad, unit_vector_from_az_el
from opencram.physics.atmosphere import G0_MPS2
from opencram.physics.environment import Environment
from opencram.physics.threats import ThreatType, projectile_batch
from opencram.physics.trajectory import Flight, fly

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
    reachable, the reachable range interval on the threat's branch (over all its charges
    when it has a charge table), and the threat fired with the charge chosen."""

    az_rad: np.ndarray
    qe_rad: np.ndarray
    reachable: np.ndarray  # bool
    max_range_m: np.ndarray  # at the branch's limiting elevation, in this environment
    min_range_m: np.ndarray
    miss_m: np.ndarray  # distance from the last trial impact to the aim point
    types: tuple[ThreatType, ...] = ()  # each threat with the charge it is fired with

    @property
    def charges(self) -> tuple[str | None, ...]:
        return tuple(t.charge for t in self.types)


def _ground_range(flight: Flight, launch_enu_m):
    """Horizontal distance launch to impact (m), and the offset vectors (n, 2)."""
    d = flight.impact_pos_enu_m[:, :2] - launch_enu_m[:, :2]
    return np.hypot(d[:, 0], d[:, 1]), d


def branch_rad(types: list[ThreatType]) -> tuple[np.ndarray, np.ndarray]:
    """Elevation interval (lo, hi) of each threat's branch, inside the weapon's limits:
    ``[min elevation, max-range elevation]`` for low fire, ``[max-range elevation,
    max elevation]`` for high fire."""
    qe_max = np.array([t.max_range_qe_deg for t in types])
    lim_lo = np.array([t.min_elevation_deg for t in types])
    lim_hi = np.array([t.max_elevation_deg for t in types])
    high = np.array([t.trajectory == "high" for t in types])
    lo = np.where(high, np.maximum(qe_max, lim_lo), lim_lo)
    hi = np.where(high, lim_hi, np.minimum(qe_max, lim_hi))
    return np.radians(lo), np.radians(hi)


def _branch_reach(types, launch, az, env):
    """Ground ranges (m) at both ends of each threat's branch: (at lo, at hi)."""
    n = len(types)
    lo, hi = branch_rad(types)
    two = np.vstack([launch, launch])
    ends = fly_threats(types + types, two, np.r_[az, az], np.r_[lo, hi], env)
    r_ends, _ = _ground_range(ends, two)
    return r_ends[:n], r_ends[n:]


def choose_charges(types: list[ThreatType], launch_enu_m, target_m, az_rad, env):
    """Each threat with the charge a crew would use: the lowest charge of its table that
    reaches ``target_m`` at an elevation inside the weapon's limits (the top charge when
    none does). Threats without a table, or with a charge already named, are kept.

    Returns (types, reach): ``reach`` holds, per threat, the ranges (m) at the two ends of
    the chosen charge's branch (``at_lo``, ``at_hi``) and the greatest and least range over
    all the charges considered (``max``, ``min``).
    """
    rows = []  # (threat index, threat with one candidate charge), lowest charge first
    for i, t in enumerate(types):
        names = t.charge_names if t.charges and t.charge is None else (None,)
        rows += [(i, t if c is None else t.with_charge(c)) for c in names]
    idx = np.array([i for i, _ in rows], dtype=np.intp)
    r_lo, r_hi = _branch_reach([t for _, t in rows], launch_enu_m[idx], az_rad[idx], env)
    r_max, r_min = np.maximum(r_lo, r_hi), np.minimum(r_lo, r_hi)
    fits = (r_min <= target_m[idx]) & (target_m[idx] <= r_max)
    chosen = np.full(len(types), -1)
    for j in range(len(rows) - 1, -1, -1):  # from the top charge down: the lowest fit wins
        if fits[j] or chosen[idx[j]] < 0:
            chosen[idx[j]] = j
    reach = {
        "at_lo": r_lo[chosen],
        "at_hi": r_hi[chosen],
        "max": np.array([r_max[idx == i].max() for i in range(len(types))]),
        "min": np.array([r_min[idx == i].min() for i in range(len(types))]),
    }
    return [rows[j][1] for j in chosen], reach


def solve_aim(
    types: list[ThreatType],
    launch_enu_m,
    aim_enu_m,
    env: Environment | None = None,
    *,
    tol_m: float = 0.5,
    max_iter: int = 40,
) -> AimSolution:
    """Charge, elevation and azimuth putting each round on its aim point (batched).

    A threat with a charge table and no charge named gets the lowest charge that reaches
    (:func:`choose_charges`); the elevation is then found on its branch by regula falsi
    (Illinois), the azimuth turned by each trial's bearing error.
    """
    env = env or Environment()
    launch = np.asarray(launch_enu_m, dtype=float).reshape(-1, 3)
    aim = np.asarray(aim_enu_m, dtype=float).reshape(-1, 3)
    target = np.hypot(*(aim[:, :2] - launch[:, :2]).T)
    az = azimuth_rad(aim[:, :2] - launch[:, :2])
    types, reach = choose_charges(list(types), launch, target, az, env)
    lo, hi = branch_rad(types)
    f_lo, f_hi = reach["at_lo"] - target, reach["at_hi"] - target
    reachable = (f_lo * f_hi <= 0) & np.isfinite(f_lo) & np.isfinite(f_hi)
    high = np.array([t.trajectory == "high" for t in types])
    qe = np.where(reachable, 0.5 * (lo + hi), np.where(high, lo, hi))
    state = _Bracket(lo, hi, f_lo, f_hi)
    miss = _refine(types, launch, aim, target, az, qe, reachable, state, env, tol_m, max_iter)
    return AimSolution(az, qe, reachable, reach["max"], reach["min"], miss, tuple(types))


@dataclass
class _Bracket:
    """Elevation bracket of the regula falsi and the range error at its ends."""

    lo: np.ndarray
    hi: np.ndarray
    f_lo: np.ndarray
    f_hi: np.ndarray


def _refine(types, launch, aim, target, az, qe, todo, b: _Bracket, env, tol_m, max_iter):
    """Illinois regula falsi on elevation, in place on ``az`` and ``qe``; returns the miss
    distance (m) of each threat's last trial (inf where it was not reachable)."""
    miss = np.full(len(types), np.inf)
    side = np.zeros(len(types))
    todo = todo.copy()
    for _ in range(max_iter):
        if not todo.any():
            break
        idx = np.flatnonzero(todo)
        lo_i, hi_i, flo, fhi, s = b.lo[idx], b.hi[idx], b.f_lo[idx], b.f_hi[idx], side[idx]
        denom = fhi - flo
        q = np.where(np.abs(denom) > 1e-9, (lo_i * fhi - hi_i * flo) / denom, qe[idx])
        q = np.clip(q, np.minimum(lo_i, hi_i), np.maximum(lo_i, hi_i))
        qe[idx] = q
        fl = fly_threats([types[i] for i in idx], launch[idx], az[idx], q, env)
        along, d = _ground_range(fl, launch[idx])
        f = along - target[idx]
        # turn the azimuth by the bearing error of this trial's impact
        bearing_err = np.angle(
            np.exp(1j * (azimuth_rad(aim[idx, :2] - launch[idx, :2]) - azimuth_rad(d)))
        )
        az[idx] = np.mod(az[idx] + bearing_err, 2 * np.pi)
        miss[idx] = np.hypot(*(fl.impact_pos_enu_m[:, :2] - aim[idx, :2]).T)
        # replace the end whose sign matches; halve the other end's value (Illinois)
        same_as_lo = np.sign(f) == np.sign(flo)
        b.lo[idx] = np.where(same_as_lo, q, lo_i)
        b.f_lo[idx] = np.where(same_as_lo, f, np.where(s == -1, flo / 2, flo))
        b.hi[idx] = np.where(~same_as_lo, q, hi_i)
        b.f_hi[idx] = np.where(~same_as_lo, f, np.where(s == 1, fhi / 2, fhi))
        side[idx] = np.where(same_as_lo, 1, -1)
        todo[idx] = miss[idx] > tol_m
    return miss


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
