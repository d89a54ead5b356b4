"""Fire control: the gun's round flight, and where and when a round can meet a threat.

The round is a point mass with a standard drag table (``physics.trajectory.fly``, the same
integrator as the threats). For each gun the time of flight and drop are tabulated against
quadrant elevation and time once, then every intercept is solved in batch: find the time
``t_i`` at which the threat (flown forward ballistically from its track state) is where a
round fired at ``t_fire`` arrives, ``t_i = t_fire + tof(range to the threat at t_i)``,
solved by the secant method. The lead angles come from the round's table,
so drop and drag are included. Guided threats (drones) have no ballistic path: over the
round's short time of flight they are taken to fly straight on at their track velocity
(:class:`ThreatMotion`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from opencram.geo import azimuth_rad
from opencram.physics.drag import table_index
from opencram.physics.environment import Environment, FlatTerrain
from opencram.physics.trajectory import ProjectileBatch, fly
from opencram.scenario.schema import TrackRadar, Weapon
from opencram.track.models import BallisticModel


def round_params(spec: Weapon, n: int) -> ProjectileBatch:
    """Physical parameters of ``n`` of the gun's rounds (unpowered, standard drag table)."""
    return ProjectileBatch(
        mass_kg=np.full(n, spec.round_mass_kg),
        area_m2=np.full(n, np.pi / 4 * spec.round_caliber_m**2),
        form_factor=np.full(n, spec.round_form_factor),
        drag_table=np.full(n, table_index(spec.round_drag_table)),
        propellant_kg=np.zeros(n),
        burn_time_s=np.zeros(n),
        thrust_n=np.zeros(n),
    )


_ROUND_TABLES: dict[tuple, tuple[np.ndarray, ...]] = {}


def _round_table(spec: Weapon, env: Environment) -> tuple[np.ndarray, ...]:
    """Elevation grid, time grid, and the round's horizontal range and height (k, j)."""
    # no ground under the gun's rounds while tabulating (they self-destruct in the air);
    # the air of the environment's weather profile (the defender's met) if it has one,
    # else the standard atmosphere. The table is two-dimensional (range and height per
    # elevation), so it holds no wind: the round's own drift over its few seconds of
    # flight is not corrected (the threat's is, through the tracker's model).
    air = Environment(
        site_alt_m=env.site_alt_m, terrain=FlatTerrain(up_m=-1e5), weather=env.weather
    )
    el = np.radians(np.linspace(spec.min_elevation_deg, spec.max_elevation_deg, 221))
    n = el.size
    params = round_params(spec, n)
    v0 = spec.muzzle_velocity_mps
    vel = np.stack([np.zeros(n), v0 * np.cos(el), v0 * np.sin(el)], axis=-1)
    dt = 0.01
    f = fly(
        np.zeros((n, 3)),
        vel,
        params,
        air,
        dt_s=dt,
        max_time_s=spec.self_destruct_s,
        record=True,
    )
    t = np.arange(f.pos_enu_m.shape[0]) * dt
    table = (el, t, f.pos_enu_m[:, :, 1].T.copy(), f.pos_enu_m[:, :, 2].T.copy())
    for arr in table:
        arr.setflags(write=False)  # shared between guns and runs
    return table


@dataclass(frozen=True)
class GunModel:
    """A gun in the local frame, with its round's flight tabulated."""

    id: str
    pos_enu_m: np.ndarray
    spec: Weapon
    # round table: for elevations el_grid (k,), per time t_grid (j,): horizontal range and
    # height of the round (k, j); the round self-destructs at spec.self_destruct_s
    el_grid_rad: np.ndarray
    t_grid_s: np.ndarray
    range_m: np.ndarray
    height_m: np.ndarray

    @staticmethod
    def build(spec: Weapon, pos_enu_m, env: Environment | None = None) -> GunModel:
        """The gun at ``pos_enu_m``; its round table is shared by every gun (and every run
        in the process) with the same round, elevation limits, site altitude and met."""
        env = env or Environment()
        key = (
            spec.muzzle_velocity_mps,
            spec.min_elevation_deg,
            spec.max_elevation_deg,
            spec.self_destruct_s,
            spec.round_mass_kg,
            spec.round_caliber_m,
            spec.round_drag_table,
            spec.round_form_factor,
            env.site_alt_m,
            getattr(env.weather, "digest", None),
        )
        if key not in _ROUND_TABLES:
            if len(_ROUND_TABLES) >= 64:
                _ROUND_TABLES.clear()
            _ROUND_TABLES[key] = _round_table(spec, env)
        el, t, rng_m, h_m = _ROUND_TABLES[key]
        return GunModel(
            id=spec.id,
            pos_enu_m=np.asarray(pos_enu_m, dtype=float),
            spec=spec,
            el_grid_rad=el,
            t_grid_s=t,
            range_m=rng_m,
            height_m=h_m,
        )

    def solve_round(self, ground_range_m, height_m):
        """Elevation (rad) and time of flight (s) for the round to reach points at
        horizontal range and height relative to the gun (arrays of one shape); NaN where
        out of reach before self-destruct. The lower (direct fire) solution."""
        gr = np.atleast_1d(np.asarray(ground_range_m, dtype=float))
        hz = np.atleast_1d(np.asarray(height_m, dtype=float))
        # for each elevation, the time the round reaches the target's horizontal range
        k, j = self.range_m.shape
        # one searchsorted for all elevations: each row (increasing in time) is shifted by
        # a row offset larger than any range, so the flattened table stays sorted
        big = float(self.range_m[:, -1].max()) + 1.0
        offs = np.arange(k)[:, None] * big
        flat = (self.range_m + offs).ravel()
        q = np.clip(gr[None, :], -0.5, big - 0.5) + offs  # (k, n)
        idx = np.searchsorted(flat, q) - np.arange(k)[:, None] * j  # (k, n), in 0..j
        valid = idx < j
        idx = np.clip(idx, 1, j - 1)
        rows = np.arange(k)[:, None]
        r0, r1 = self.range_m[rows, idx - 1], self.range_m[rows, idx]
        frac = np.clip((gr[None, :] - r0) / np.maximum(r1 - r0, 1e-9), 0.0, 1.0)
        t_at = self.t_grid_s[idx - 1] + frac * (self.t_grid_s[idx] - self.t_grid_s[idx - 1])
        h_at = self.height_m[rows, idx - 1] + frac * (
            self.height_m[rows, idx] - self.height_m[rows, idx - 1]
        )
        miss = np.where(valid, h_at - hz[None, :], np.nan)  # (k, n), rises with elevation
        # first elevation bracket where the round passes from below to above the target
        cross = (miss[:-1] <= 0) & (miss[1:] > 0)  # NaN compares False
        found = cross.any(axis=0)
        i = np.argmax(cross, axis=0)
        cols = np.arange(gr.size)
        m0, m1 = miss[i, cols], miss[i + 1, cols]
        w = np.where(found, -m0 / np.where(found, m1 - m0, 1.0), np.nan)
        el = self.el_grid_rad[i] + w * (self.el_grid_rad[i + 1] - self.el_grid_rad[i])
        tof = t_at[i, cols] + w * (t_at[i + 1, cols] - t_at[i, cols])
        return el, tof


def build_guns(weapons: list[Weapon], frame, site_alt_m: float, env=None) -> list[GunModel]:
    """The scenario's guns in the local ``frame`` (a gun without its own altitude stands at
    the site's ``site_alt_m``), their rounds flying in ``env``."""
    return [
        GunModel.build(
            w, frame.to_enu(w.lat, w.lon, site_alt_m if w.alt_m is None else w.alt_m), env
        )
        for w in weapons
    ]


@dataclass(frozen=True)
class ThreatMotion:
    """How fire control flies each threat forward: ballistic tracks with the tracker's
    drag model, and the ``straight`` ones (drones) at constant velocity. It has the
    ``propagate_state`` of a track model, for states (n, 7) in a fixed order."""

    ballistic: BallisticModel
    straight: np.ndarray  # (n,) bool

    def propagate_state(self, x: np.ndarray, dt_s) -> np.ndarray:
        dt = np.broadcast_to(np.asarray(dt_s, dtype=float), (x.shape[0],))
        out = x.copy()
        s = self.straight
        out[s, :3] = x[s, :3] + x[s, 3:6] * dt[s, None]
        b = ~s
        if b.any():
            out[b] = self.ballistic.propagate_state(x[b], dt[b])
        return out


@dataclass(frozen=True)
class ThreatPaths:
    """Threats flown forward once on a time grid, ``step_s`` apart from each threat's own
    state time, so that an intercept solve interpolates instead of re-integrating on every
    iteration. Positions between grid points are cubic Hermite (positions and velocities
    at both ends); beyond the grid the last state is flown on straight."""

    t0_s: np.ndarray  # (n,)
    step_s: float
    pos_enu_m: np.ndarray  # (k, n, 3)
    vel_enu_mps: np.ndarray  # (k, n, 3)

    @staticmethod
    def fly(model, x: np.ndarray, t_state_s: np.ndarray, t_end_s: float, step_s: float = 0.25):
        t0 = np.asarray(t_state_s, dtype=float)
        k = max(int(np.ceil((t_end_s - t0.min(initial=t_end_s)) / step_s)), 1) + 1
        pos = np.empty((k, x.shape[0], 3))
        vel = np.empty((k, x.shape[0], 3))
        xk = x
        for i in range(k):
            pos[i], vel[i] = xk[:, :3], xk[:, 3:6]
            if i + 1 < k:
                xk = model.propagate_state(xk, np.full(x.shape[0], step_s))
        return ThreatPaths(t0, step_s, pos, vel)

    def position_at(self, t_s) -> np.ndarray:
        """Positions (n, 3) at times ``t_s`` (n,)."""
        n = self.t0_s.size
        tau = (np.asarray(t_s, dtype=float) - self.t0_s) / self.step_s
        last = self.pos_enu_m.shape[0] - 1
        i = np.clip(np.floor(tau).astype(np.int64), 0, max(last - 1, 0))
        u = np.clip(tau - i, 0.0, 1.0)[:, None]
        cols = np.arange(n)
        j = np.minimum(i + 1, last)
        p0, p1 = self.pos_enu_m[i, cols], self.pos_enu_m[j, cols]
        m0 = self.vel_enu_mps[i, cols] * self.step_s
        m1 = self.vel_enu_mps[j, cols] * self.step_s
        u2, u3 = u * u, u * u * u
        out = (
            (2 * u3 - 3 * u2 + 1) * p0
            + (u3 - 2 * u2 + u) * m0
            + (-2 * u3 + 3 * u2) * p1
            + (u3 - u2) * m1
        )
        beyond = (tau - last)[:, None] * self.step_s
        return np.where(beyond > 0, p1 + self.vel_enu_mps[j, cols] * beyond, out)


@dataclass(frozen=True)
class Intercept:
    """Per threat: intercept time and point (ENU), the gun's azimuth and elevation, the
    round's time of flight, slant range, and whether it is feasible for this gun."""

    t_s: np.ndarray
    pos_enu_m: np.ndarray
    az_rad: np.ndarray
    el_rad: np.ndarray
    tof_s: np.ndarray
    range_m: np.ndarray
    feasible: np.ndarray


def solve_intercepts(
    gun: GunModel,
    model: BallisticModel | ThreatMotion,
    x: np.ndarray,
    t_state_s: np.ndarray,
    t_fire_s,
    *,
    iterations: int = 30,
    paths: ThreatPaths | None = None,
) -> Intercept:
    """Where rounds fired by ``gun`` at ``t_fire_s`` (scalar or per threat) meet threats
    with states ``x`` (n, 7) valid at ``t_state_s`` (n,). Batched over threats. With
    ``paths`` (the same threats flown ahead by ``ThreatPaths.fly``) positions are
    interpolated rather than integrated."""
    n = x.shape[0]
    t_fire_s = np.broadcast_to(np.asarray(t_fire_s, dtype=float), (n,))

    def where(t):
        if paths is not None:
            return paths.position_at(t)
        return model.propagate_state(x, t - t_state_s)[:, :3]

    def residual(t):
        """g(t) = t - t_fire - tof(t): zero where round and threat meet."""
        p = where(t)
        d = p - gun.pos_enu_m
        _, tof = gun.solve_round(np.hypot(d[:, 0], d[:, 1]), d[:, 2])
        return t - t_fire_s - tof

    # secant iteration on g; the plain fixed point t = t_fire + tof(t) oscillates for an
    # approaching threat, whose time of flight shrinks as the intercept comes later
    t0 = t_fire_s + 1.0
    t1 = t_fire_s + 3.0
    g0, g1 = residual(t0), residual(t1)
    # each threat stops iterating once converged (to 10 us), so its answer does not
    # depend on the others in the batch
    done = ~np.isfinite(g1) | (np.abs(g1) < 1e-5)
    for _ in range(iterations):
        if done.all():
            break
        ok = np.isfinite(g0) & np.isfinite(g1) & (np.abs(g1 - g0) > 1e-12)
        t2 = np.where(ok, t1 - g1 * (t1 - t0) / np.where(ok, g1 - g0, 1.0), t1)
        t2 = np.clip(t2, t_fire_s, t_fire_s + gun.spec.self_destruct_s)
        g2 = residual(t2)
        t0, g0 = np.where(done, t0, t1), np.where(done, g0, g1)
        t1, g1 = np.where(done, t1, t2), np.where(done, g1, g2)
        done |= ~np.isfinite(g1) | (np.abs(g1) < 1e-5)
    t_i = t1
    p = where(t_i)
    d = p - gun.pos_enu_m
    el, tof = gun.solve_round(np.hypot(d[:, 0], d[:, 1]), d[:, 2])
    rng = np.linalg.norm(d, axis=1)
    feasible = np.isfinite(tof) & (rng <= gun.spec.max_range_m) & (p[:, 2] > 0.0)
    return Intercept(t_i, p, azimuth_rad(d), el, tof, rng, feasible)


def _fit_design(radar: TrackRadar) -> tuple[np.ndarray, np.ndarray]:
    """Sample times (relative to the trigger, <= 0) and the least-squares design matrix of
    the fit ``p(t) - a t^2 / 2 = p0 + v0 t`` over the radar's track."""
    n = max(round(radar.track_s * radar.rate_hz) + 1, 2)
    t = -np.arange(n)[::-1] / radar.rate_hz
    return t, np.column_stack([np.ones(n), t])


def track_radar_sample_times(radar: TrackRadar) -> np.ndarray:
    """When the gun's track radar samples its target before the trigger (s, relative to
    the trigger, <= 0, oldest first): the times :func:`track_radar_fix` expects."""
    return _fit_design(radar)[0]


def track_radar_fix(radar: TrackRadar, gun_pos_enu_m, pos_enu_m, accel_enu_mps2, rng):
    """The gun's track-radar estimate of a target's position and velocity at the trigger
    (6,), from its true positions ``pos_enu_m`` (n, 3) at the sample times of
    :func:`track_radar_sample_times` (oldest first). Each sample is measured in range,
    azimuth and elevation with the radar's noise; the acceleration the fire control
    expects (gravity and drag from the surveillance track's model, zero for a drone) is
    taken out, and a straight least-squares fit gives position and velocity at t = 0."""
    t, a = _fit_design(radar)
    d = np.asarray(pos_enu_m, dtype=float) - gun_pos_enu_m
    rng_m = np.linalg.norm(d, axis=1)
    az = np.arctan2(d[:, 0], d[:, 1])
    el = np.arcsin(d[:, 2] / np.maximum(rng_m, 1e-9))
    sa = radar.sigma_angle_mrad * 1e-3
    rng_m = rng_m + rng.normal(0.0, radar.sigma_range_m, t.size)
    az = az + rng.normal(0.0, sa, t.size)
    el = el + rng.normal(0.0, sa, t.size)
    meas = np.column_stack(
        [rng_m * np.cos(el) * np.sin(az), rng_m * np.cos(el) * np.cos(az), rng_m * np.sin(el)]
    )
    meas = meas - 0.5 * t[:, None] ** 2 * np.asarray(accel_enu_mps2, dtype=float)
    coef, *_ = np.linalg.lstsq(a, meas, rcond=None)
    return np.concatenate([coef[0] + gun_pos_enu_m, coef[1]])


def track_radar_sigma_m(radar: TrackRadar, range_m, tof_s) -> np.ndarray:
    """RMS per-axis error (m) of the track-radar fix flown ``tof_s`` ahead, for targets at
    ``range_m`` (arrays of one shape): the fit's covariance ``sigma^2 (A^T A)^-1`` with
    ``sigma`` the larger of the range noise and the cross-range noise at that range."""
    _, a = _fit_design(radar)
    c = np.linalg.inv(a.T @ a)
    tof = np.asarray(tof_s, dtype=float)
    # variance of p0 + v0 tof per unit measurement variance
    g = np.stack([np.ones_like(tof), tof], axis=-1)
    unit = np.einsum("...i,ij,...j->...", g, c, g)
    sigma = np.maximum(radar.sigma_range_m, np.asarray(range_m) * radar.sigma_angle_mrad * 1e-3)
    return sigma * np.sqrt(unit)
