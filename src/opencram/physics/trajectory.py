"""Point-mass trajectories, batched over N projectiles in numpy.

Each projectile is a point mass under gravity, drag ``0.5 rho |v_air| v_air Cd(M) A / m``
(``v_air`` = velocity relative to the wind), for rockets a motor whose thrust acts
along ``v_air`` while its propellant burns at a constant rate, and, when the environment
knows the site latitude, the Coriolis and centrifugal terms of the rotating local frame,
``-2 Omega x v - Omega x (Omega x r)``. The integrator is classical
fourth-order Runge-Kutta on a time grid shared by the whole batch; a step in which a
motor burns out is split at the burn-out instant so thrust cut-off costs no accuracy.
Ground impact is found by cubic Hermite interpolation between the last two states, solved
for the exact crossing of the terrain height.

``tests/test_against_scipy.py`` checks this against ``scipy.integrate.solve_ivp`` and
``tests/test_against_ballisticcalc.py`` against py-ballisticcalc.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass, fields
from functools import cached_property

import numpy as np

from opencram.physics import drag as drag_mod
from opencram.physics import environment as env_mod
from opencram.physics.drag import cd_standard
from opencram.physics.environment import Environment, FlatTerrain, gravity_mps2


@dataclass(frozen=True)
class ProjectileBatch:
    """Physical parameters of N projectiles, one array entry each (SI units)."""

    mass_kg: np.ndarray  # launch mass
    area_m2: np.ndarray  # reference (calibre) area
    form_factor: np.ndarray  # multiplies the standard table's Cd
    drag_table: np.ndarray  # index into opencram.physics.drag tables
    propellant_kg: np.ndarray  # 0 for unpowered rounds
    burn_time_s: np.ndarray  # 0 for unpowered rounds
    thrust_n: np.ndarray  # 0 for unpowered rounds

    def __post_init__(self) -> None:
        n = np.shape(self.mass_kg)[0]
        for f in fields(self):
            a = np.asarray(getattr(self, f.name))
            if a.shape != (n,):
                raise ValueError(f"ProjectileBatch.{f.name} must have shape ({n},)")

    def __len__(self) -> int:
        return int(np.shape(self.mass_kg)[0])

    @cached_property
    def burn_rate_kgps(self) -> np.ndarray:
        tb = np.asarray(self.burn_time_s, dtype=float)
        return np.where(tb > 0, self.propellant_kg / np.where(tb > 0, tb, 1.0), 0.0)

    def take(self, idx) -> ProjectileBatch:
        return ProjectileBatch(
            **{f.name: np.asarray(getattr(self, f.name))[idx] for f in fields(self)}
        )

    @staticmethod
    def concat(batches: list[ProjectileBatch]) -> ProjectileBatch:
        return ProjectileBatch(
            **{
                f.name: np.concatenate([np.asarray(getattr(b, f.name)) for b in batches])
                for f in fields(ProjectileBatch)
            }
        )


def mass_kg(params: ProjectileBatch, t_flight_s) -> np.ndarray:
    """Mass at flight time: propellant burns at a constant rate until burn-out."""
    burnt_s = np.minimum(np.maximum(t_flight_s, 0.0), params.burn_time_s)
    return params.mass_kg - params.burn_rate_kgps * burnt_s


def acceleration(
    t_flight_s, pos_enu_m, vel_enu_mps, params: ProjectileBatch, env: Environment, burning=None
):
    """Acceleration (n, 3) of each projectile at flight time ``t_flight_s`` (scalar or (n,)).

    ``burning`` (n,) says whether each motor thrusts; by default ``t < burn_time``. The
    integrator passes it explicitly so that a step ending exactly at burn-out still thrusts.
    """
    up = pos_enu_m[:, 2]
    rho, a_sound, wind = env.air(up)
    v_air = vel_enu_mps - wind
    speed = np.sqrt(np.einsum("ij,ij->i", v_air, v_air))
    cd = params.form_factor * cd_standard(params.drag_table, speed / a_sound)
    m = mass_kg(params, t_flight_s)
    if burning is None:
        burning = np.asarray(t_flight_s) < params.burn_time_s
    thrust = np.where(burning, params.thrust_n, 0.0)
    inv_speed = np.where(speed > 0, 1.0 / np.maximum(speed, 1e-9), 0.0)
    # drag opposes v_air; thrust pushes along it (the body weathercocks into the airflow)
    k = (thrust * inv_speed - 0.5 * rho * speed * cd * params.area_m2) / m
    acc = k[:, None] * v_air
    acc[:, 2] -= gravity_mps2(env.site_alt_m + up)
    omega = env.omega_enu_radps
    if omega.any():
        acc += env_mod.rotation_acceleration_mps2(omega, pos_enu_m, vel_enu_mps)
    return acc


_ENV_PACKS: dict[int, tuple] = {}


def _env_pack(env: Environment) -> tuple:
    """The tables and constants of ``env`` for the compiled step, built once per
    Environment object (dropped when it is collected)."""
    key = id(env)
    pack = _ENV_PACKS.get(key)
    if pack is None:
        rho_tab, a_tab, rho_d, a_d = env.tables()
        pack = (
            rho_tab,
            rho_d,
            a_tab,
            a_d,
            float(env.site_alt_m),
            env_mod.AIR_TABLE_MIN_M,
            env_mod.AIR_TABLE_MAX_M,
            env_mod.AIR_TABLE_STEP_M,
            np.ascontiguousarray(env.wind.alt_msl_m, dtype=float),
            np.ascontiguousarray(env.wind.vel_enu_mps, dtype=float).reshape(-1, 3),
            drag_mod._tables()[1],
            drag_mod.MACH_STEP,
            drag_mod.MACH_MAX,
            env_mod.G0_MPS2,
            env_mod.EARTH_MEAN_RADIUS_M,
            *(float(w) for w in env.omega_enu_radps),
        )
        _ENV_PACKS[key] = pack
        weakref.finalize(env, _ENV_PACKS.pop, key, None)
    return pack


def _f64(a) -> np.ndarray:
    """``a`` as a C-contiguous, writable float64 array (one compiled signature for all)."""
    return np.require(a, dtype=np.float64, requirements=("C", "W"))


def _kernel_params(params: ProjectileBatch) -> tuple:
    """The parameter arrays of ``params`` in the compiled kernels' order (no motor state)."""
    return (
        _f64(params.mass_kg),
        _f64(params.burn_rate_kgps),
        _f64(params.burn_time_s),
        _f64(params.thrust_n),
        _f64(params.form_factor),
        _f64(params.area_m2),
        np.require(params.drag_table, dtype=np.int64, requirements=("C", "W")),
    )


def rk4_step(t_s, pos, vel, h, params, env):
    """One RK4 step of size ``h`` (scalar or (n,)) for every projectile, compiled
    (``opencram.physics._kernels``; the same arithmetic as :func:`rk4_step_reference`).

    The motor state is held for the whole step (steps never straddle burn-out; see fly).
    """
    from opencram.physics._kernels import rk4_rows  # deferred: numba takes ~0.4 s to import

    n = pos.shape[0]
    t = _f64(np.broadcast_to(np.asarray(t_s, dtype=float), (n,)))
    hh = _f64(np.broadcast_to(np.asarray(h, dtype=float), (n,)))
    on = np.require(t < np.asarray(params.burn_time_s, dtype=np.float64), requirements="W")
    prm = (*_kernel_params(params), on)
    return rk4_rows(t, _f64(pos), _f64(vel), hh, prm, _env_pack(env))


def rk4_step_reference(t_s, pos, vel, h, params, env):
    """One RK4 step of size ``h`` (scalar or (n,)) for every projectile, in numpy: the
    reference for the compiled :func:`rk4_step`.

    The motor state is held for the whole step (steps never straddle burn-out; see fly).
    """
    h = np.asarray(h, dtype=float)
    hc = h[:, None] if h.ndim else h
    on = np.asarray(t_s) < params.burn_time_s
    a1 = acceleration(t_s, pos, vel, params, env, on)
    p2, v2 = pos + 0.5 * hc * vel, vel + 0.5 * hc * a1
    a2 = acceleration(t_s + 0.5 * h, p2, v2, params, env, on)
    p3, v3 = pos + 0.5 * hc * v2, vel + 0.5 * hc * a2
    a3 = acceleration(t_s + 0.5 * h, p3, v3, params, env, on)
    p4, v4 = pos + hc * v3, vel + hc * a3
    a4 = acceleration(t_s + h, p4, v4, params, env, on)
    pos_new = pos + hc / 6.0 * (vel + 2 * v2 + 2 * v3 + v4)
    vel_new = vel + hc / 6.0 * (a1 + 2 * a2 + 2 * a3 + a4)
    return pos_new, vel_new


def hermite(p0, v0, p1, v1, h, s):
    """Cubic Hermite position and velocity at fraction ``s`` of an interval of length ``h``.

    ``p*``/``v*`` are (n, 3), ``h`` and ``s`` are (n,).
    """
    s = s[:, None]
    hc = h[:, None]
    s2, s3 = s * s, s * s * s
    pos = (
        (2 * s3 - 3 * s2 + 1) * p0
        + (s3 - 2 * s2 + s) * hc * v0
        + (-2 * s3 + 3 * s2) * p1
        + (s3 - s2) * hc * v1
    )
    vel = (
        (6 * s2 - 6 * s) * p0 / hc
        + (3 * s2 - 4 * s + 1) * v0
        + (-6 * s2 + 6 * s) * p1 / hc
        + (3 * s2 - 2 * s) * v1
    )
    return pos, vel


def _crossing_fraction(p0, v0, p1, v1, h, ground_up):
    """Fraction s in [0, 1] of the step where the Hermite height equals the ground."""
    z0, z1 = p0[:, 2] - ground_up, p1[:, 2] - ground_up
    w0, w1 = v0[:, 2] * h, v1[:, 2] * h
    s = np.clip(z0 / np.where(z0 != z1, z0 - z1, 1.0), 0.0, 1.0)
    for _ in range(6):  # Newton on the cubic, from the linear guess
        s2, s3 = s * s, s * s * s
        f = (2 * s3 - 3 * s2 + 1) * z0 + (s3 - 2 * s2 + s) * w0 + (-2 * s3 + 3 * s2) * z1
        f += (s3 - s2) * w1
        df = (6 * s2 - 6 * s) * z0 + (3 * s2 - 4 * s + 1) * w0 + (-6 * s2 + 6 * s) * z1
        df += (3 * s2 - 2 * s) * w1
        s = np.clip(s - f / np.where(np.abs(df) > 1e-12, df, 1e-12), 0.0, 1.0)
    return s


@dataclass(frozen=True)
class Flight:
    """Result of :func:`fly` for N projectiles (flight time counts from launch)."""

    landed: np.ndarray  # (n,) bool: reached the ground before max_time_s
    impact_t_s: np.ndarray  # (n,) flight time of impact (nan if not landed)
    impact_pos_enu_m: np.ndarray  # (n, 3)
    impact_vel_enu_mps: np.ndarray  # (n, 3)
    apogee_up_m: np.ndarray  # (n,) highest grid-point height
    dt_s: float
    # recorded states on the shared grid t = k * dt_s, k = 0..K-1; after impact a
    # projectile's entries hold its impact state. None unless fly(record=True).
    pos_enu_m: np.ndarray | None = None  # (K, n, 3)
    vel_enu_mps: np.ndarray | None = None  # (K, n, 3)

    def state_at(self, t_flight_s) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Position (n, 3), velocity (n, 3) and an in-flight flag (n,) at flight times (n,).

        Interpolates the recorded grid with cubic Hermite polynomials; a projectile before
        launch sits at its launch state, after impact at its impact point.
        """
        if self.pos_enu_m is None or self.vel_enu_mps is None:
            raise ValueError("state_at needs a Flight recorded with fly(record=True)")
        t = np.broadcast_to(np.asarray(t_flight_s, dtype=float), self.landed.shape)
        n = t.size
        k_max = self.pos_enu_m.shape[0] - 1
        impact_t = np.where(self.landed, self.impact_t_s, np.inf)
        tc = np.clip(t, 0.0, np.minimum(impact_t, k_max * self.dt_s))
        k = np.minimum((tc / self.dt_s).astype(np.intp), max(k_max - 1, 0))
        cols = np.arange(n)
        t0 = k * self.dt_s
        t1 = np.minimum((k + 1) * self.dt_s, impact_t)
        p0, v0 = self.pos_enu_m[k, cols], self.vel_enu_mps[k, cols]
        last = (k + 1) * self.dt_s >= impact_t
        p1 = np.where(last[:, None], self.impact_pos_enu_m, self.pos_enu_m[k + 1, cols])
        v1 = np.where(last[:, None], self.impact_vel_enu_mps, self.vel_enu_mps[k + 1, cols])
        h = np.maximum(t1 - t0, 1e-12)
        s = np.clip((tc - t0) / h, 0.0, 1.0)
        pos, vel = hermite(p0, v0, p1, v1, h, s)
        in_flight = (t >= 0.0) & (t < impact_t)
        return pos, vel, in_flight


def _grid_step(
    t0_s: float, pos, vel, params: ProjectileBatch, env: Environment, dt_s: float, step=None
):
    """One grid step ``t0_s -> t0_s + dt_s`` of every projectile in the batch; a step in
    which a motor burns out is taken as two RK4 steps split at the burn-out instant.
    ``step`` is the RK4 step function (default the compiled :func:`rk4_step`)."""
    step = step or rk4_step
    h = np.full(pos.shape[0], dt_s)
    tb = params.burn_time_s
    split = (tb > t0_s) & (tb < t0_s + dt_s)
    if split.any():
        h = np.where(split, tb - t0_s, h)
    p_new, v_new = step(t0_s, pos, vel, h, params, env)
    if split.any():
        sub = np.flatnonzero(split)
        ps, vs = step(tb[sub], p_new[sub], v_new[sub], dt_s - h[sub], params.take(sub), env)
        p_new[sub], v_new[sub] = ps, vs
    return p_new, v_new


TERRAIN_CROSSING_ITERATIONS = 4


def _ground_crossing(p0, v0, p1, v1, ground_up_m, dt_s: float, terrain=None):
    """For rows that went below the ground during a step of ``dt_s``: the fraction of the
    step at the crossing, and the position (on the ground) and velocity there.

    On uneven ``terrain`` the ground height is not known before the crossing point is:
    the crossing is solved for the ground under the step's end, then again for the ground
    under the crossing found, TERRAIN_CROSSING_ITERATIONS times (a fixed point of
    ``s = crossing(h(E(s), N(s)))``; over a step of a few metres it settles at once)."""
    hh = np.full(p0.shape[0], dt_s)
    s = _crossing_fraction(p0, v0, p1, v1, hh, ground_up_m)
    ip, iv = hermite(p0, v0, p1, v1, hh, s)
    if terrain is not None:
        for _ in range(TERRAIN_CROSSING_ITERATIONS):
            ground_up_m = terrain.height_up_m(ip[:, 0], ip[:, 1])
            s = _crossing_fraction(p0, v0, p1, v1, hh, ground_up_m)
            ip, iv = hermite(p0, v0, p1, v1, hh, s)
        ground_up_m = terrain.height_up_m(ip[:, 0], ip[:, 1])
    ip[:, 2] = ground_up_m
    return s, ip, iv


def _compiled_steps(k, n_steps, pos, vel, params, env, dt_s, apogee, active):
    """Run grid steps from ``k`` in the compiled loop (``_kernels.grid_steps``) until a row
    lands or a motor burns out within a step; raises ``apogee[active]`` on the way.

    Returns (k, pos, vel, new_pos, new_vel) for the step ``k`` that the caller completes:
    new_* are its end states if a row landed in it, the step taken in numpy (split at
    burn-out) otherwise, and None once ``n_steps`` are done.
    """
    from opencram.physics._kernels import grid_steps  # deferred: numba import, as rk4_step

    apog = apogee[active]
    ground_up = float(env.terrain.up_m)
    status, k, pos, vel, p_new, v_new = grid_steps(
        k,
        n_steps,
        dt_s,
        _f64(pos),
        _f64(vel),
        _kernel_params(params),
        _env_pack(env),
        ground_up,
        apog,
    )
    apogee[active] = apog
    if status == 0:
        return k, pos, vel, None, None
    if status == 2:
        p_new, v_new = _grid_step(k * dt_s, pos, vel, params, env, dt_s)
    return k, pos, vel, p_new, v_new


def _record(rec_pos: list, rec_vel: list, active, p_new, v_new) -> None:
    """Append the full (n, 3) states of a grid step: landed rows keep their last entry."""
    full_p = rec_pos[-1].copy()
    full_v = rec_vel[-1].copy()
    full_p[active], full_v[active] = p_new, v_new
    rec_pos.append(full_p)
    rec_vel.append(full_v)


def fly(
    pos0_enu_m,
    vel0_enu_mps,
    params: ProjectileBatch,
    env: Environment | None = None,
    *,
    dt_s: float = 0.02,
    max_time_s: float = 400.0,
    record: bool = False,
    compiled: bool = True,
) -> Flight:
    """Fly N projectiles from launch to ground impact.

    ``pos0_enu_m`` and ``vel0_enu_mps`` are (n, 3) launch states at flight time 0. The whole
    batch advances on one grid of step ``dt_s``; projectiles that have landed drop out of
    the arithmetic. Returns a :class:`Flight`. ``compiled=False`` takes every step with
    the numpy reference (:func:`rk4_step_reference`), for tests and benchmarks.
    """
    env = env or Environment()
    pos = np.array(pos0_enu_m, dtype=float, copy=True).reshape(-1, 3)
    vel = np.array(vel0_enu_mps, dtype=float, copy=True).reshape(-1, 3)
    n = pos.shape[0]
    if len(params) != n:
        raise ValueError(f"{len(params)} projectile parameter sets for {n} launch states")
    landed = np.zeros(n, dtype=bool)
    impact_t = np.full(n, np.nan)
    impact_pos, impact_vel = np.full((n, 3), np.nan), np.full((n, 3), np.nan)
    apogee = pos[:, 2].copy()
    n_steps = int(np.ceil(max_time_s / dt_s))
    rec_pos, rec_vel = ([pos.copy()], [vel.copy()]) if record else (None, None)

    active = np.arange(n)
    p_act, ap, av = params, pos, vel
    # without a recording, on flat ground, the compiled loop runs the steps in which no
    # row lands and no motor burns out; those steps are taken here as before
    uneven = None if isinstance(env.terrain, FlatTerrain) else env.terrain
    fast = compiled and not record and uneven is None
    step = rk4_step if compiled else rk4_step_reference
    k = 0
    while k < n_steps:
        if fast:
            k, ap, av, p_new, v_new = _compiled_steps(
                k, n_steps, ap, av, p_act, env, dt_s, apogee, active
            )
            if p_new is None:
                break
        else:
            p_new, v_new = _grid_step(k * dt_s, ap, av, p_act, env, dt_s, step)
        t0 = k * dt_s
        ground = env.terrain.height_up_m(p_new[:, 0], p_new[:, 1])
        # flat ground is only crossed going down; uneven ground also rising (a hillside)
        hit = (p_new[:, 2] <= ground) & ((v_new[:, 2] < 0) | (uneven is not None))
        apogee[active] = np.maximum(apogee[active], p_new[:, 2])
        if hit.any():
            hi = np.flatnonzero(hit)
            s, ip, iv = _ground_crossing(
                ap[hi], av[hi], p_new[hi], v_new[hi], ground[hi], dt_s, uneven
            )
            ids = active[hi]
            landed[ids] = True
            impact_t[ids] = t0 + s * dt_s
            impact_pos[ids], impact_vel[ids] = ip, iv
            p_new[hi], v_new[hi] = ip, iv
        if record:
            _record(rec_pos, rec_vel, active, p_new, v_new)
        if hit.any():
            keep = ~hit
            active = active[keep]
            p_act = p_act.take(np.flatnonzero(keep))
            ap, av = p_new[keep], v_new[keep]
        else:
            ap, av = p_new, v_new
        if active.size == 0:
            break
        k += 1
    return Flight(
        landed=landed,
        impact_t_s=impact_t,
        impact_pos_enu_m=impact_pos,
        impact_vel_enu_mps=impact_vel,
        apogee_up_m=apogee,
        dt_s=dt_s,
        pos_enu_m=np.stack(rec_pos) if record else None,
        vel_enu_mps=np.stack(rec_vel) if record else None,
    )
