"""Compiling a scenario into a world: the local frame, zones, environment, and every
threat round and friendly aircraft with its true flight.

Everything random (salvo dispersion) is drawn here from one seeded generator, in scenario
order, so the same scenario and seed give the same world.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from opencram.errors import UserError
from opencram.geo import LocalFrame
from opencram.physics.environment import Environment, FlatTerrain, Wind
from opencram.physics.fire import fly_threats, solve_aim
from opencram.physics.terrain import load_dem, on_ground
from opencram.physics.threats import ThreatType, library
from opencram.physics.trajectory import Flight
from opencram.physics.waypoints import PathFlight, drone_path, smooth_corners
from opencram.physics.weather import load_weather
from opencram.scenario.load import LoadedScenario, path_str
from opencram.scenario.schema import GeoPoint, Scenario
from opencram.warn.zones import ZoneSet

TRUTH_DT_S = 0.02  # integration step of the true ballistic flights


@dataclass(frozen=True)
class Round:
    """One threat object: a rocket, bomb, shell or drone."""

    id: str
    entry: int  # index in scenario.threats
    type: ThreatType
    launch_t_s: float
    launch_enu_m: np.ndarray
    aim_enu_m: np.ndarray | None
    az_rad: float | None = None
    qe_rad: float | None = None
    velocity_scale: float = 1.0


@dataclass(frozen=True)
class Truth:
    """The true flights of all rounds: a batched ballistic flight plus drone paths."""

    rounds: tuple[Round, ...]
    ballistic_idx: np.ndarray  # rounds that fly ballistically, in the order of `flight`
    flight: Flight | None
    drone_idx: np.ndarray
    drone_paths: tuple[PathFlight, ...]

    def launch_times(self) -> np.ndarray:
        return np.array([r.launch_t_s for r in self.rounds])

    def impact_times(self) -> np.ndarray:
        """Absolute impact (or arrival) time of each round; inf if it never lands."""
        out = np.full(len(self.rounds), np.inf)
        if self.flight is not None:
            t = np.where(self.flight.landed, self.flight.impact_t_s, np.inf)
            out[self.ballistic_idx] = self.launch_times()[self.ballistic_idx] + t
        for k, p in zip(self.drone_idx, self.drone_paths, strict=True):
            out[k] = p.end_s
        return out

    def impact_points(self) -> np.ndarray:
        out = np.full((len(self.rounds), 3), np.nan)
        if self.flight is not None:
            out[self.ballistic_idx] = self.flight.impact_pos_enu_m
        for k, p in zip(self.drone_idx, self.drone_paths, strict=True):
            out[k] = p.vertices_enu_m[-1]
        return out

    def impact_speeds(self) -> np.ndarray:
        out = np.full(len(self.rounds), np.nan)
        if self.flight is not None:
            out[self.ballistic_idx] = np.linalg.norm(self.flight.impact_vel_enu_mps, axis=1)
        for k, p in zip(self.drone_idx, self.drone_paths, strict=True):
            out[k] = p.speed_mps
        return out

    def state_at(self, t_s):
        """Positions (n, 3), velocities (n, 3) and in-flight flags (n,) of every round at
        absolute time ``t_s``: one time for all, or one per round (n,)."""
        n = len(self.rounds)
        t = np.broadcast_to(np.asarray(t_s, dtype=float), (n,))
        pos, vel = np.full((n, 3), np.nan), np.zeros((n, 3))
        active = np.zeros(n, dtype=bool)
        if self.flight is not None and self.ballistic_idx.size:
            b = self.ballistic_idx
            p, v, a = self.flight.state_at(t[b] - self.launch_times()[b])
            pos[b], vel[b], active[b] = p, v, a
        for k, path in zip(self.drone_idx, self.drone_paths, strict=True):
            p, v, a = path.state_at(t[k : k + 1])
            pos[k], vel[k], active[k] = p[0], v[0], a[0]
        return pos, vel, active


@dataclass(frozen=True)
class World:
    scenario: Scenario
    source: str
    seed: int
    frame: LocalFrame
    zones: ZoneSet
    env: Environment
    truth: Truth
    aircraft_ids: tuple[str, ...]
    aircraft_paths: tuple[PathFlight, ...]
    aircraft_rcs_m2: tuple[float, ...] = ()
    # the met the defender has (scenario environment.met): the tracker's ballistic model
    # and fire control fly in it; None: the standard atmosphere and no wind
    met: Environment | None = None

    # --- every real object the radars can see: rounds first, then aircraft -------------

    @property
    def object_ids(self) -> tuple[str, ...]:
        return tuple(r.id for r in self.truth.rounds) + self.aircraft_ids

    @property
    def object_kinds(self) -> tuple[str, ...]:
        return ("threat",) * len(self.truth.rounds) + ("aircraft",) * len(self.aircraft_ids)

    @property
    def object_rcs_m2(self) -> np.ndarray:
        return np.array([r.type.rcs_m2 for r in self.truth.rounds] + list(self.aircraft_rcs_m2))

    @property
    def object_mode3a(self) -> np.ndarray:
        """Each object's SSR Mode 3/A code value (-1: none; threats carry none)."""
        codes = [-1 if a.mode3a is None else int(a.mode3a, 8) for a in self.scenario.aircraft]
        return np.array([-1] * len(self.truth.rounds) + codes, dtype=np.int64)

    def object_state_at(self, t_s):
        """Positions (k, 3), velocities (k, 3) and in-flight flags (k,) of every object at
        one time or per-object times (k,)."""
        n_r = len(self.truth.rounds)
        k = n_r + len(self.aircraft_paths)
        t = np.broadcast_to(np.asarray(t_s, dtype=float), (k,))
        pos, vel, act = self.truth.state_at(t[:n_r])
        if not self.aircraft_paths:
            return pos, vel, act
        ap, av, aa = [], [], []
        for j, path in enumerate(self.aircraft_paths):
            p, v, a = path.state_at(t[n_r + j : n_r + j + 1])
            ap.append(p[0])
            av.append(v[0])
            aa.append(a[0])
        return (
            np.vstack([pos, np.array(ap)]),
            np.vstack([vel, np.array(av)]),
            np.concatenate([act, np.array(aa, dtype=bool)]),
        )


def _wind_of(e) -> Wind:
    """The scenario's wind (constant, layered or calm)."""
    if e.wind is not None:
        return Wind.from_direction(e.wind.from_deg, e.wind.speed_mps, e.wind.alt_m)
    if e.wind_layers:
        layers = e.wind_layers
        return Wind.from_direction(
            [w.from_deg for w in layers], [w.speed_mps for w in layers], [w.alt_m for w in layers]
        )
    return Wind.calm()


_DEM_CACHE: dict[tuple, object] = {}


def _dem_of(path: Path, lat: float, lon: float, alt_m: float):
    """:func:`load_dem` at the site, remembered for the same file (path, size, modification
    time) and site: the runs of a Monte Carlo study resample it once."""
    st = path.stat() if path.is_file() else None
    key = (str(path.resolve()), st and (st.st_size, st.st_mtime_ns), lat, lon, alt_m)
    if st is None or key not in _DEM_CACHE:
        if len(_DEM_CACHE) > 4:
            _DEM_CACHE.clear()
        _DEM_CACHE[key] = load_dem(path, LocalFrame(lat, lon, alt_m))
    return _DEM_CACHE[key]


def environment_of(s: Scenario, base_dir: Path | None = None) -> Environment:
    """The true environment of a scenario: wind and ISA offset, or the weather file's
    profile; flat ground at the site altitude, or the DEM file's terrain. File paths are
    relative to ``base_dir`` (the scenario's folder; default the working directory)."""
    e = s.environment
    base = Path(".") if base_dir is None else Path(base_dir)
    wind, weather, terrain = _wind_of(e), None, FlatTerrain()
    if e.weather is not None:
        weather = load_weather(base / e.weather)
        wind = Wind.from_direction(weather.wind_from_deg, weather.wind_speed_mps, weather.alt_m)
    if e.terrain is not None:
        terrain = _dem_of(base / e.terrain.dem, s.site.lat, s.site.lon, s.site.alt_m)
    return Environment(
        site_alt_m=s.site.alt_m,
        wind=wind,
        terrain=terrain,
        temperature_offset_k=e.temperature_offset_k,
        site_lat_deg=s.site.lat,
        weather=weather,
    )


def met_environment_of(s: Scenario, base_dir: Path | None = None) -> Environment | None:
    """The defender's met (``environment.met``, a weather file relative to ``base_dir``)
    as an environment at the site: the file's density, sound speed and wind, flat ground;
    None without a met file."""
    if s.environment.met is None:
        return None
    base = Path(".") if base_dir is None else Path(base_dir)
    met = load_weather(base / s.environment.met)
    return Environment(
        site_alt_m=s.site.alt_m,
        wind=Wind.from_direction(met.wind_from_deg, met.wind_speed_mps, met.alt_m),
        weather=met,
    )


def _enu(frame: LocalFrame, p: GeoPoint, ground_alt_m: float) -> np.ndarray:
    return frame.to_enu(p.lat, p.lon, ground_alt_m if p.alt_m is None else p.alt_m)


def _enu_on(frame: LocalFrame, p: GeoPoint, ground_alt_m: float, terrain) -> np.ndarray:
    """A point in ENU; without an ``alt_m``, on the ground: the site altitude on flat
    ground, the terrain's height under it otherwise."""
    if p.alt_m is not None or isinstance(terrain, FlatTerrain):
        return _enu(frame, p, ground_alt_m)
    return on_ground(terrain, _enu(frame, p, ground_alt_m))


_AIM_CACHE: dict[bytes, object] = {}


def _solve_aim_cached(types, launch, aim, env):
    """:func:`solve_aim`, remembered for identical inputs: aiming does not depend on the
    seed, so Monte Carlo runs of one scenario solve it once."""
    h = hashlib.sha256()
    h.update(repr([(t.id, t.charge) for t in types]).encode())
    for a in (launch, aim, env.wind.alt_msl_m, env.wind.vel_enu_mps):
        h.update(np.ascontiguousarray(a, dtype=float).tobytes())
    h.update(
        repr(
            (
                env.site_alt_m,
                env.site_lat_deg,
                env.earth_rotation,
                env.temperature_offset_k,
                type(env.terrain).__name__,
                getattr(env.terrain, "up_m", None),
                getattr(env.terrain, "digest", None),
                getattr(env.weather, "digest", None),
            )
        ).encode()
    )
    key = h.digest()
    if key not in _AIM_CACHE:
        if len(_AIM_CACHE) > 256:
            _AIM_CACHE.clear()
        _AIM_CACHE[key] = solve_aim(types, launch, aim, env)
    return _AIM_CACHE[key]


def round_ids(s: Scenario) -> list[tuple[int, str]]:
    """(entry index, id) of every round, salvos expanded: ``ID`` or ``ID-k``."""
    out = []
    for i, t in enumerate(s.threats):
        base = t.id or f"{t.type}-{i + 1}"
        for k in range(t.salvo.count):
            out.append((i, base if t.salvo.count == 1 else f"{base}-{k + 1}"))
    return out


def compile_world(loaded: LoadedScenario, seed: int | None = None) -> World:
    """Resolve geometry, aim every ballistic threat and fly every round."""
    s = loaded.scenario
    seed = s.simulation.seed if seed is None else seed
    rng = np.random.default_rng(seed)
    frame = LocalFrame(s.site.lat, s.site.lon, s.site.alt_m)
    ground = s.site.alt_m
    zones = ZoneSet.build(s.zones, loaded.zone_rings, frame)
    env = environment_of(s, loaded.base_dir)
    lib = library()

    type_of = _charged_types(loaded, lib)
    az_of, qe_of = _aim_threats(loaded, frame, ground, env, type_of)
    rounds = _threat_rounds(s, frame, ground, type_of, az_of, qe_of, rng, env.terrain)
    truth = _fly_truth(s, frame, ground, rounds, env)
    a_paths = _aircraft_paths(s, frame, ground)
    return World(
        scenario=s,
        source=loaded.source,
        seed=seed,
        frame=frame,
        zones=zones,
        env=env,
        truth=truth,
        aircraft_ids=tuple(a.id for a in s.aircraft),
        aircraft_paths=tuple(a_paths),
        aircraft_rcs_m2=tuple(a.rcs_m2 for a in s.aircraft),
        met=met_environment_of(s, loaded.base_dir),
    )


def _charged_types(loaded: LoadedScenario, lib) -> dict[int, ThreatType]:
    """The threat type of each entry, fired with the charge the entry names (if any).
    Raises UserError for a charge the type's table does not list."""
    out: dict[int, ThreatType] = {}
    problems = []
    for i, t in enumerate(loaded.scenario.threats):
        tt = lib[t.type]
        if t.charge is not None:
            try:
                tt = tt.with_charge(t.charge)
            except KeyError:
                names = ", ".join(tt.charge_names) or "none"
                problems.append(
                    f"{loaded.source}: {path_str(('threats', i, 'charge'))}: {t.type} has no "
                    f"charge {t.charge!r} (its charges: {names})"
                )
        out[i] = tt
    if problems:
        raise UserError(*problems)
    return out


def _aim_threats(
    loaded: LoadedScenario, frame: LocalFrame, ground: float, env: Environment, type_of
):
    """Azimuth and quadrant elevation (rad) per aimed ballistic threat entry: each aimed
    once (no dispersion), in one batch; ``type_of`` (entry -> type) takes the charge the
    aim solver chose. Raises UserError for an aim out of reach."""
    s = loaded.scenario
    aimed = [i for i, t in enumerate(s.threats) if type_of[i].is_ballistic and t.aim is not None]
    az_of: dict[int, float] = {}
    qe_of: dict[int, float] = {}
    problems = []
    if aimed:
        types = [type_of[i] for i in aimed]
        tr = env.terrain
        launch = np.array([_enu_on(frame, s.threats[i].launch, ground, tr) for i in aimed])
        aim = np.array([_enu_on(frame, s.threats[i].aim, ground, tr) for i in aimed])
        sol = _solve_aim_cached(types, launch, aim, env)
        for j, i in enumerate(aimed):
            dist = float(np.hypot(*(aim[j, :2] - launch[j, :2])))
            if not sol.reachable[j]:
                problems.append(
                    f"{loaded.source}: {path_str(('threats', i, 'aim'))}: "
                    f"{dist / 1000:.2f} km from the launch point, outside the reach of "
                    f"{types[j].id} ({sol.min_range_m[j] / 1000:.2f} to "
                    f"{sol.max_range_m[j] / 1000:.2f} km on its {types[j].trajectory}-angle branch)"
                )
            az_of[i], qe_of[i] = float(sol.az_rad[j]), float(sol.qe_rad[j])
            type_of[i] = sol.types[j]
    if problems:
        raise UserError(*problems)
    return az_of, qe_of


def _threat_rounds(
    s: Scenario, frame: LocalFrame, ground: float, type_of, az_of, qe_of, rng, terrain=None
):
    """Every round of every threat entry (list of Round), salvos expanded, with its
    dispersion drawn from ``rng`` in scenario order; launch and aim points without an
    altitude stand on ``terrain`` (default flat at ``ground``)."""
    terrain = FlatTerrain() if terrain is None else terrain
    rounds: list[Round] = []
    for i, rid in round_ids(s):
        t = s.threats[i]
        k = sum(1 for r in rounds if r.entry == i)
        tt = type_of[i]
        launch = _enu_on(frame, t.launch, ground, terrain)
        aim = None if t.aim is None else _enu_on(frame, t.aim, ground, terrain)
        t0 = t.time_s + k * t.salvo.interval_s
        if not tt.is_ballistic:
            rounds.append(Round(rid, i, tt, t0, launch, aim))
            continue
        az = az_of.get(i, np.radians(t.azimuth_deg or 0.0))
        qe = qe_of.get(i, np.radians(t.quadrant_elevation_deg or 0.0))
        d = t.dispersion
        az += rng.normal(0.0, d.azimuth_mrad * 1e-3) if d.azimuth_mrad else 0.0
        qe += rng.normal(0.0, d.elevation_mrad * 1e-3) if d.elevation_mrad else 0.0
        scale = 1.0 + (rng.normal(0.0, d.velocity_pct / 100.0) if d.velocity_pct else 0.0)
        rounds.append(Round(rid, i, tt, t0, launch, aim, float(az), float(qe), float(scale)))
    return rounds


def _fly_truth(s: Scenario, frame: LocalFrame, ground: float, rounds: list[Round], env) -> Truth:
    """The true flights: the ballistic rounds in one batch, the drones along their paths."""
    b_idx = np.array([k for k, r in enumerate(rounds) if r.type.is_ballistic], dtype=np.intp)
    flight = None
    if b_idx.size:
        br = [rounds[k] for k in b_idx]
        flight = fly_threats(
            [r.type for r in br],
            np.array([r.launch_enu_m for r in br]),
            np.array([r.az_rad for r in br]),
            np.array([r.qe_rad for r in br]),
            env,
            velocity_scale=np.array([r.velocity_scale for r in br]),
            dt_s=TRUTH_DT_S,
            record=True,
        )
    d_idx = np.array([k for k, r in enumerate(rounds) if not r.type.is_ballistic], dtype=np.intp)
    paths = []
    for k in d_idx:
        r = rounds[k]
        t = s.threats[r.entry]
        cruise = float(r.type.cruise_alt_agl_m or 100.0)
        wps = [_enu(frame, w, ground + cruise) for w in t.waypoints]
        verts = drone_path(r.launch_enu_m, wps, r.aim_enu_m, cruise)
        speed = t.speed_mps or r.type.cruise_speed_mps or 50.0
        paths.append(PathFlight(verts, float(speed), r.launch_t_s))
    return Truth(tuple(rounds), b_idx, flight, d_idx, tuple(paths))


def _aircraft_paths(s: Scenario, frame: LocalFrame, ground: float) -> list[PathFlight]:
    """The friendly aircraft's paths (waypoints without an altitude: 150 m above the
    site's ``ground`` altitude)."""
    a_paths = []
    for a in s.aircraft:
        verts = smooth_corners(np.array([_enu(frame, w, ground + 150.0) for w in a.waypoints]))
        a_paths.append(PathFlight(verts, a.speed_mps, a.start_s))
    return a_paths
