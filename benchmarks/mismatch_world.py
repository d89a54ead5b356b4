"""An independent world for the model-mismatch suite (issue 13 point 6).

Nothing here imports opencram: the rounds are flown by scipy's ``solve_ivp`` (RK45, dense
output) with a drag law, an atmosphere and an Earth of our own, and seen by radar models
of our own that reproduce what issue 13 measured on recorded 20 Hz counter-battery radar
logs. The output is the documented plot CSV, sensors YAML and truth YAML
(docs/interfaces.md, docs/score.md), so the tracker is run on them as a user would.

Public figures used (each an order of magnitude, not a firing table):

* Atmosphere: the ICAO / US Standard Atmosphere 1976 troposphere, sea-level 288.15 K and
  101,325 Pa, lapse 6.5 K/km, R = 287.053 J/(kg K), gamma = 1.4 (NOAA/NASA/USAF, *U.S.
  Standard Atmosphere, 1976*, NOAA-S/T 76-1562, table I). Density from the gas law, speed
  of sound sqrt(gamma R T). opencram uses a tabulated density; this is the closed form.
* Drag: a Cd(Mach) curve of the shape described for fin-stabilised and spin-stabilised
  projectiles by R. L. McCoy, *Modern Exterior Ballistics* (Schiffer, 1999), ch. 2 and 7:
  flat subsonic, a rise through the transonic region to a peak near Mach 1.1 of about twice
  the subsonic value, then a slow fall. The break points are ours, scaled per round by its
  subsonic Cd (below); this is not opencram's G-function or drag table.
* Rounds (calibre, mass: public encyclopaedic figures, e.g. the Wikipedia articles on the
  M120 / 2B11 120 mm mortar, the 82 mm mortar BM-37 / 2B14, the Type 63 107 mm rocket and
  the BM-21 Grad's 9M22U rocket): 120 mm bomb 13.6 kg, 82 mm bomb 3.1 kg, 107 mm rocket
  18.8 kg (burn-out 1.2 s, about 385 m/s), 122 mm 9M22U 66 kg at launch, 45 kg at burn-out
  (burn about 2 s, about 690 m/s). Subsonic Cd: 0.13 for the mortar bombs, 0.25 for the
  rockets (fin-stabilised, McCoy's range).
* Earth: a sphere of the WGS-84 mean radius 6,371,008.8 m, gravity 9.80665 m/s² toward its
  centre, Coriolis 2 Omega x v with Omega = 7.292115e-5 rad/s (WGS-84). Positions are
  turned into WGS-84 latitude, longitude and height with pymap3d's ``enu2geodetic``.

Radar realities (issue 13's measurements of the recorded radar; every one a field of
:class:`Realities` so a cell can turn it on or off): 20 Hz plots with errors correlated in
time (AR(1), lag-1 coefficient 0.4-0.9, azimuth decorrelating over 1-3 s), short-term noise
1-15 m in range and 0.1-0.7 mrad in angle, the sensors file's sigmas off by a factor drawn
from 0.3-3, an acquisition transient (about 20 mrad at the first plot, 2-4 mrad for about
2.5 s), a tilt bias a*tan(elevation) in azimuth with a in -44..-30 mrad, isolated range
spikes of 25-35 m and angle outliers beyond 5 sigma, a loss-of-lock tail at 0.9-1.4 km
height (SNR falling to 0-5 dB, range walking back, angles drifting) or post-impact ground
clutter at high SNR for 5-7 s, no range rate, first plot 4-12 s after launch at 1-2.7 km.
A 1 Hz rotating radar with white noise and Poisson clutter completes the picture.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pymap3d
import yaml
from scipy.integrate import solve_ivp
from scipy.optimize import brentq

# --- Earth and air ------------------------------------------------------------------------

R_EARTH_M = 6_371_008.8
G0 = 9.80665
OMEGA_RADPS = 7.292115e-5
T0_K = 288.15
P0_PA = 101_325.0
LAPSE_KPM = 0.0065
R_AIR = 287.053
GAMMA_AIR = 1.4
T_TROPOPAUSE_K = 216.65


def air(h_m: float) -> tuple[float, float]:
    """Density (kg/m³) and speed of sound (m/s) at geometric height ``h_m`` (ISA)."""
    h = min(max(h_m, -500.0), 11_000.0)
    t = T0_K - LAPSE_KPM * h
    p = P0_PA * (t / T0_K) ** (G0 / (R_AIR * LAPSE_KPM))
    if h_m > 11_000.0:  # isothermal stratosphere
        p *= math.exp(-G0 * (h_m - 11_000.0) / (R_AIR * T_TROPOPAUSE_K))
        t = T_TROPOPAUSE_K
    return p / (R_AIR * t), math.sqrt(GAMMA_AIR * R_AIR * t)


# Cd / Cd_subsonic against Mach (our break points, McCoy's shape)
MACH_PTS = np.array([0.0, 0.7, 0.85, 0.95, 1.05, 1.15, 1.5, 2.0, 3.0])
CD_RATIO = np.array([1.0, 1.0, 1.08, 1.6, 2.05, 2.1, 1.8, 1.5, 1.2])


def cd_of_mach(mach: float, cd_sub: float) -> float:
    return cd_sub * float(np.interp(mach, MACH_PTS, CD_RATIO))


# --- rounds ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Round:
    """A round type: calibre, masses, subsonic Cd and (rockets) a boost phase."""

    name: str
    diameter_m: float
    mass_kg: float  # at burn-out (mortars: throughout)
    cd_sub: float
    launch_mass_kg: float = 0.0  # rockets: at launch
    burn_s: float = 0.0
    thrust_n: float = 0.0

    def mass(self, t_s: float) -> float:
        if t_s >= self.burn_s or self.burn_s == 0.0:
            return self.mass_kg
        return self.launch_mass_kg + (self.mass_kg - self.launch_mass_kg) * t_s / self.burn_s


ROUNDS = {
    "m120": Round("120 mm mortar", 0.120, 13.6, 0.13),
    "m82": Round("82 mm mortar", 0.082, 3.1, 0.13),
    # thrust chosen so burn-out speed is about the published figure (checked in the test)
    "r107": Round("107 mm rocket", 0.107, 18.8, 0.25, 22.6, 1.2, 6300.0),
    "grad": Round("122 mm Grad", 0.122, 45.0, 0.25, 66.0, 2.0, 18750.0),
}


def _rhs(rnd: Round, omega: np.ndarray):
    area = math.pi * rnd.diameter_m**2 / 4.0

    def f(t, y):
        p, v = y[:3], y[3:]
        c = p + np.array([0.0, 0.0, R_EARTH_M])  # from the Earth's centre
        r = math.sqrt(c @ c)
        h = r - R_EARTH_M
        rho, a = air(h)
        speed = math.sqrt(v @ v)
        m = rnd.mass(t)
        drag = -0.5 * rho * cd_of_mach(speed / a, rnd.cd_sub) * area * speed * v / m
        thrust = (rnd.thrust_n / m) * v / max(speed, 1e-6) if t < rnd.burn_s else 0.0
        grav = -G0 * (R_EARTH_M / r) ** 2 * c / r
        acc = drag + thrust + grav - 2.0 * np.cross(omega, v)
        return np.concatenate([v, acc])

    return f


def omega_enu(lat_deg: float) -> np.ndarray:
    la = math.radians(lat_deg)
    return OMEGA_RADPS * np.array([0.0, math.cos(la), math.sin(la)])


def _ground(t, y):
    c = y[:3] + np.array([0.0, 0.0, R_EARTH_M])
    return math.sqrt(c @ c) - R_EARTH_M if t > 0.5 else 1.0


_ground.terminal = True
_ground.direction = -1


@dataclass
class Flight:
    """A flown round: dense solution in the launch site's ENU frame (launch at 0)."""

    sol: object
    t_impact_s: float

    def pos(self, t) -> np.ndarray:
        return self.sol.sol(np.clip(t, 0.0, self.t_impact_s))[:3].T


def fly(
    rnd: Round,
    speed_mps: float,
    elev_deg: float,
    az_deg: float,
    lat_deg: float,
    start: np.ndarray | None = None,
) -> Flight:
    """Fly from ``start`` (world ENU, on the ground; default the origin) at this launch
    speed, elevation and azimuth (over the origin's horizontal: 8 km away it is tilted by
    1.3 mrad, which only turns the launch direction)."""
    e, a = math.radians(elev_deg), math.radians(az_deg)
    v0 = speed_mps * np.array([math.cos(e) * math.sin(a), math.cos(e) * math.cos(a), math.sin(e)])
    p0 = np.zeros(3) if start is None else np.asarray(start, float)
    sol = solve_ivp(
        _rhs(rnd, omega_enu(lat_deg)),
        (0.0, 400.0),
        np.concatenate([p0, v0]),
        method="RK45",
        rtol=1e-9,
        atol=1e-6,
        max_step=0.5,
        events=_ground,
        dense_output=True,
    )
    return Flight(sol, float(sol.t_events[0][0]))


def ground_range_m(f: Flight) -> float:
    """From the origin (where ``aim`` fires from) to the impact, on the ground."""
    p = f.pos(f.t_impact_s)
    return float(math.hypot(p[0], p[1]))


def aim(rnd: Round, range_m: float, elev_deg: float, lat_deg: float) -> tuple[float, float]:
    """(launch speed, elevation) reaching ``range_m``: mortars at ``elev_deg`` by the charge
    (speed), rockets at their own speed by the elevation (low root, 8° to ``elev_deg``)."""
    if rnd.burn_s == 0.0:

        def miss(v):
            return ground_range_m(fly(rnd, v, elev_deg, 0.0, lat_deg)) - range_m

        return brentq(miss, 60.0, 700.0, xtol=0.05), elev_deg

    def miss_e(e):
        return ground_range_m(fly(rnd, 30.0, e, 0.0, lat_deg)) - range_m

    return 30.0, brentq(miss_e, 8.0, elev_deg, xtol=1e-4)


# --- radar realities ------------------------------------------------------------------------


@dataclass(frozen=True)
class Realities:
    """What the 20 Hz tracking radar does wrong; each can be turned off."""

    correlated: bool = True  # AR(1) errors (else white)
    sigma_misfiled: bool = True  # sensors file's sigmas off by 0.3x-3x
    transient: bool = True  # acquisition transient in angle
    tilt: bool = True  # a * tan(elevation) in azimuth
    spikes: bool = True  # range spikes and angle outliers
    tail: bool = True  # loss-of-lock tail or post-impact clutter
    late_first_plot: bool = True  # first plot 4-12 s after launch (else 2 s)


NONE = Realities(False, False, False, False, False, False, False)
ALL = Realities()


@dataclass
class Radar:
    """A sensor as written to the sensors YAML, and its true noise."""

    id: str
    enu_m: np.ndarray  # in the world frame
    sigma_true: tuple[float, float, float]  # range m, az mrad, el mrad (short-term)
    sigma_filed: tuple[float, float, float]
    scan_s: float


@dataclass
class Plot:
    t: np.ndarray
    rng: np.ndarray
    az: np.ndarray  # rad
    el: np.ndarray  # rad
    snr: np.ndarray
    sensor: str


def rae(p: np.ndarray, radar_enu: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Slant range, azimuth (clockwise from true north, rad) and elevation (rad) of world
    points ``p`` (n, 3) from a radar, over the WGS-84 ellipsoid (pymap3d)."""
    lat, lon, h = geodetic(np.asarray(p, float))
    rlat, rlon, rh = geodetic(np.asarray(radar_enu, float))
    az, el, rng = pymap3d.geodetic2aer(lat, lon, h, float(rlat), float(rlon), float(rh))
    return np.asarray(rng), np.radians(az), np.radians(el)


def ar1(rng: np.random.Generator, n: int, rho: float, sigma: float) -> np.ndarray:
    """A stationary AR(1) series of standard deviation ``sigma``."""
    e = rng.normal(0.0, sigma * math.sqrt(1.0 - rho**2), n)
    x = np.empty(n)
    x[0] = rng.normal(0.0, sigma)
    for k in range(1, n):
        x[k] = rho * x[k - 1] + e[k]
    return x


def noise(rng: np.random.Generator, n: int, sig: tuple, real: Realities) -> np.ndarray:
    """(n, 3) errors in range (m), azimuth and elevation (rad)."""
    s = (sig[0], sig[1] * 1e-3, sig[2] * 1e-3)
    if not real.correlated:
        return rng.normal(0.0, 1.0, (n, 3)) * np.array(s)
    rho_r, rho_e = rng.uniform(0.4, 0.9, 2)
    rho_a = math.exp(-0.05 / rng.uniform(0.35, 1.0))  # decorrelated after 1-3 s
    return np.column_stack(
        [ar1(rng, n, rho_r, s[0]), ar1(rng, n, rho_a, s[1]), ar1(rng, n, rho_e, s[2])]
    )


def add_transient(rng: np.random.Generator, dt: np.ndarray, err: np.ndarray) -> None:
    """Angle errors of about 20 mrad at the first plot falling to 2-4 mrad, gone by 2.5 s."""
    for axis in (1, 2):
        sign = rng.choice([-1.0, 1.0], 2)
        big = sign[0] * 20e-3 * np.exp(-dt / 0.15)
        small = sign[1] * rng.uniform(2e-3, 4e-3) * np.clip(1.0 - (dt - 2.0) / 0.5, 0.0, 1.0)
        err[:, axis] += big + small


def add_spikes(rng: np.random.Generator, err: np.ndarray, sig: tuple) -> None:
    """Range spikes of ±25-35 m and angle outliers of 5-8 sigma, each on 0-5 % of plots."""
    n = err.shape[0]
    for axis in range(3):
        hit = rng.random(n) < rng.uniform(0.0, 0.05)
        k = int(hit.sum())
        size = rng.uniform(25.0, 35.0, k) if axis == 0 else rng.uniform(5, 8, k) * sig[axis] * 1e-3
        err[hit, axis] += rng.choice([-1.0, 1.0], k) * size


@dataclass
class Shot:
    """One round fired in a cell: where, what, its flight and its radar."""

    round_key: str
    launch_t_s: float
    launch_enu_m: np.ndarray
    az_deg: float
    flight: Flight

    def pos(self, t) -> np.ndarray:
        """World positions at absolute times ``t`` (clipped to the flight)."""
        return self.flight.pos(np.atleast_1d(np.asarray(t, float)) - self.launch_t_s)

    @property
    def t_impact(self) -> float:
        return self.launch_t_s + self.flight.t_impact_s


def misfile(rng: np.random.Generator, sig: tuple, on: bool) -> tuple:
    if not on:
        return sig
    return tuple(s * math.exp(rng.uniform(math.log(0.3), math.log(3.0))) for s in sig)


def place_tracking_radar(rng, shot: Shot, t0: float, k: int, real: Realities) -> Radar:
    """On the ground beside the flight, 1-2.7 km slant range from the round at ``t0``."""
    p = shot.pos(t0)[0]
    slant = max(rng.uniform(1000.0, 2700.0), 1.15 * p[2])
    side = math.sqrt(max(slant**2 - p[2] ** 2, 100.0**2))
    a = math.radians(shot.az_deg + rng.choice([-90.0, 90.0]))
    at = np.array([p[0] + side * math.sin(a), p[1] + side * math.cos(a), 0.0])
    at[2] = math.sqrt(R_EARTH_M**2 - at[0] ** 2 - at[1] ** 2) - R_EARTH_M  # on the ground
    sig = (rng.uniform(1.0, 15.0), rng.uniform(0.1, 0.7), rng.uniform(0.1, 0.7))
    return Radar(f"trk-{k}", at, sig, misfile(rng, sig, real.sigma_misfiled), 0.05)


def lock_loss_time(shot: Shot, h_m: float) -> float:
    """The time on the way down at which the round passes ``h_m`` (the impact if never)."""
    apex = brentq(lambda t: shot.flight.sol.sol(t)[5], 0.5, shot.flight.t_impact_s - 0.1)
    t_abs_apex = shot.launch_t_s + apex
    if shot.pos(t_abs_apex)[0][2] <= h_m:
        return shot.t_impact
    return brentq(lambda t: shot.pos(t)[0][2] - h_m, t_abs_apex, shot.t_impact)


def _tail(rng, radar: Radar, shot: Shot, t_lost: float, last: np.ndarray) -> Plot:
    """The loop's output after losing the round: 3-6 s of plots at 0-5 dB, range walking
    back at 20-100 m/s and angles drifting at 2-8 mrad/s, from the last true position."""
    t = t_lost + np.arange(1, int(rng.uniform(3.0, 6.0) * 20)) * 0.05
    dt = t - t_lost
    r0, a0, e0 = last
    rr = -rng.uniform(20.0, 100.0)
    da, de = rng.uniform(2e-3, 8e-3, 2) * rng.choice([-1.0, 1.0], 2)
    n = t.size
    return Plot(
        t,
        r0 + rr * dt + rng.normal(0, radar.sigma_true[0], n),
        np.mod(a0 + da * dt + rng.normal(0, radar.sigma_true[1] * 1e-3, n), 2 * math.pi),
        np.clip(e0 + de * dt + rng.normal(0, radar.sigma_true[2] * 1e-3, n), 0.0, 1.5),
        rng.uniform(0.0, 5.0, n),
        radar.id,
    )


def _clutter(rng, radar: Radar, shot: Shot) -> Plot:
    """Ground clutter where the round landed: 5-7 s of plots at high SNR."""
    t = shot.t_impact + np.arange(1, int(rng.uniform(5.0, 7.0) * 20)) * 0.05
    n = t.size
    r, a, e = rae(shot.pos(np.array([shot.t_impact])), radar.enu_m)
    s = radar.sigma_true
    return Plot(
        t,
        r[0] + rng.normal(0, 2 * s[0], n),
        np.mod(a[0] + rng.normal(0, s[1] * 1e-3, n), 2 * math.pi),
        np.clip(e[0] + rng.normal(0, s[2] * 1e-3, n), -0.1, 1.5),
        rng.uniform(25.0, 35.0, n),
        radar.id,
    )


def tracking_plots(rng, radar: Radar, shot: Shot, t0: float, real: Realities) -> list[Plot]:
    """The 20 Hz radar's plots of ``shot`` from ``t0``: the track, then a tail or clutter."""
    lose = real.tail and rng.random() < 0.5
    t_end = lock_loss_time(shot, rng.uniform(900.0, 1400.0)) if lose else shot.t_impact
    t = t0 + np.arange(0.0, t_end - t0, 0.05)
    t = t + rng.uniform(-2e-3, 2e-3, t.size)
    rng_m, az, el = rae(shot.pos(t), radar.enu_m)
    err = noise(rng, t.size, radar.sigma_true, real)
    if real.transient:
        add_transient(rng, t - t0, err)
    if real.tilt:
        err[:, 1] += rng.uniform(-44e-3, -30e-3) * np.tan(el)
    if real.spikes:
        add_spikes(rng, err, radar.sigma_true)
    snr = np.clip(30.0 - 20.0 * np.log10(rng_m / 2000.0), 10.0, 40.0)
    meas = Plot(
        t, rng_m + err[:, 0], np.mod(az + err[:, 1], 2 * math.pi), el + err[:, 2], snr, radar.id
    )
    if not real.tail:
        return [meas]
    if lose:
        last = np.array([meas.rng[-1], meas.az[-1], meas.el[-1]])
        # SNR falls to the tail's over the last second of lock
        fall = np.clip((t_end - t) / 1.0, 0.0, 1.0)
        meas.snr = 3.0 + (meas.snr - 3.0) * fall
        return [meas, _tail(rng, radar, shot, t_end, last)]
    return [meas, _clutter(rng, radar, shot)]


# --- the rotating radar --------------------------------------------------------------------


@dataclass(frozen=True)
class Rotating:
    """A 1 Hz rotating surveillance radar with Poisson clutter."""

    sigma: tuple[float, float, float] = (10.0, 2.5, 2.5)
    p_detect: float = 0.9
    clutter_per_scan: float = 3.0
    max_range_m: float = 20_000.0
    min_elev_deg: float = 0.5


def rotating_plots(rng, radar: Radar, spec: Rotating, shots: list[Shot], t_end: float) -> Plot:
    """Every scan: each round in the beam when it passes (Pd), plus Poisson clutter."""
    parts = []
    for shot in shots:
        scans = np.arange(math.floor(shot.launch_t_s), math.ceil(shot.t_impact))
        t = scans + 0.5
        for _ in range(3):  # beam time = scan start + azimuth / 360, by fixed point
            _, az, _ = rae(shot.pos(t), radar.enu_m)
            t = scans + az / (2 * math.pi)
        ok = (t > shot.launch_t_s + 0.3) & (t < shot.t_impact)
        t = t[ok]
        r, az, el = rae(shot.pos(t), radar.enu_m)
        seen = (rng.random(t.size) < spec.p_detect) & (r < spec.max_range_m)
        seen &= el > math.radians(spec.min_elev_deg)
        parts.append((t[seen], r[seen], az[seen], el[seen], rng.uniform(12.0, 25.0, seen.sum())))
    n_scan = math.ceil(t_end)
    counts = rng.poisson(spec.clutter_per_scan, n_scan)
    k = int(counts.sum())
    scan_of = np.repeat(np.arange(n_scan), counts)
    caz = rng.uniform(0, 2 * math.pi, k)
    parts.append(
        (
            scan_of + caz / (2 * math.pi),
            rng.uniform(500.0, spec.max_range_m, k),
            caz,
            np.radians(rng.uniform(spec.min_elev_deg, 10.0, k)),
            rng.uniform(8.0, 15.0, k),
        )
    )
    t, r, az, el, snr = (np.concatenate(x) for x in zip(*parts, strict=True))
    s = radar.sigma_true
    n = t.size
    return Plot(
        t,
        r + rng.normal(0, s[0], n),
        np.mod(az + rng.normal(0, s[1] * 1e-3, n), 2 * math.pi),
        el + rng.normal(0, s[2] * 1e-3, n),
        snr,
        radar.id,
    )


# --- cells ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Cell:
    """One benchmark cell: a round type, range, how many rounds, which radars."""

    name: str
    round_key: str
    range_m: float
    elev_deg: tuple[float, float]  # mortars: drawn in this band; rockets: upper bound
    rounds: int = 8
    real: Realities = ALL
    tracking: bool = True  # one 20 Hz tracking radar per round
    rotating: Rotating | None = None
    seed: int = 1
    spacing_s: float = 120.0


SITE = (33.30, 44.40, 34.0)  # lat, lon, ground height above the ellipsoid (m)


@dataclass
class World:
    cell: Cell
    shots: list[Shot] = field(default_factory=list)
    radars: list[Radar] = field(default_factory=list)
    plots: list[Plot] = field(default_factory=list)


def _shot(rng, cell: Cell, k: int) -> Shot:
    rnd = ROUNDS[cell.round_key]
    lo, hi = cell.elev_deg
    elev = rng.uniform(lo, hi) if rnd.burn_s == 0.0 else hi
    rng_m = cell.range_m * rng.uniform(0.97, 1.03)
    speed, elev = aim(rnd, rng_m, elev, SITE[0])
    az = rng.uniform(0.0, 360.0)
    # launchers within 8 km of the site's origin, fired in any direction
    b = math.radians(rng.uniform(0.0, 360.0))
    d = rng.uniform(0.0, 8000.0)
    launch = np.array([d * math.sin(b), d * math.cos(b), 0.0])
    launch[2] = math.sqrt(R_EARTH_M**2 - launch[0] ** 2 - launch[1] ** 2) - R_EARTH_M
    f = fly(rnd, speed, elev, az, SITE[0], launch)
    return Shot(cell.round_key, 10.0 + k * cell.spacing_s, launch, az, f)


def build(cell: Cell) -> World:
    """Fly the cell's rounds and simulate its radars."""
    rng = np.random.default_rng(cell.seed)
    w = World(cell)
    w.shots = [_shot(rng, cell, k) for k in range(cell.rounds)]
    if cell.tracking:
        for k, shot in enumerate(w.shots):
            delay = rng.uniform(4.0, 12.0) if cell.real.late_first_plot else 2.0
            t0 = shot.launch_t_s + min(delay, 0.6 * shot.flight.t_impact_s)
            radar = place_tracking_radar(rng, shot, t0, k, cell.real)
            w.radars.append(radar)
            w.plots += tracking_plots(rng, radar, shot, t0, cell.real)
    if cell.rotating is not None:
        spec = cell.rotating
        at = np.array([0.0, 0.0, 0.0])
        sig = spec.sigma
        filed = misfile(rng, sig, cell.real.sigma_misfiled)
        radar = Radar("rot-1", at, sig, filed, 1.0)
        w.radars.insert(0, radar)
        w.plots.append(rotating_plots(rng, radar, spec, w.shots, w.shots[-1].t_impact + 10.0))
    return w


def varied(cell: Cell, **kw) -> Cell:
    return replace(cell, **kw)


# --- files ----------------------------------------------------------------------------------


def geodetic(enu: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """World ENU (origin on the ground at SITE) to WGS-84 lat, lon, height."""
    lat, lon, h = pymap3d.enu2geodetic(enu[..., 0], enu[..., 1], enu[..., 2], *SITE)
    return np.asarray(lat), np.asarray(lon), np.asarray(h)


def _plot_lines(w: World) -> list[str]:
    rows = []
    for p in w.plots:
        az = np.degrees(p.az) % 360.0
        el = np.degrees(p.el)
        rng = np.maximum(p.rng, 0.0)
        for k in range(p.t.size):
            line = f"{p.t[k]:.6f},{p.sensor},{rng[k]:.3f},{az[k]:.6f},{el[k]:.6f},{p.snr[k]:.2f}"
            rows.append((p.t[k], line))
    rows.sort(key=lambda r: r[0])
    return ["time_s,sensor,range_m,azimuth_deg,elevation_deg,snr_db"] + [r[1] for r in rows]


def _sensor_entry(r: Radar) -> dict:
    lat, lon, h = geodetic(r.enu_m)
    return {
        "id": r.id,
        "lat": round(float(lat), 8),
        "lon": round(float(lon), 8),
        "alt_m": round(float(h), 3),
        "sigma_range_m": round(r.sigma_filed[0], 4),
        "sigma_azimuth_mrad": round(r.sigma_filed[1], 4),
        "sigma_elevation_mrad": round(r.sigma_filed[2], 4),
        "scan_s": r.scan_s,
    }


def _truth_entry(k: int, s: Shot) -> dict:
    ilat, ilon, ih = geodetic(s.pos(np.array([s.t_impact]))[0])
    olat, olon, oh = geodetic(s.launch_enu_m)
    return {
        "id": f"round-{k}",
        "impact": {"lat": float(ilat), "lon": float(ilon), "alt_m": float(ih)},
        "origin": {"lat": float(olat), "lon": float(olon), "alt_m": float(oh)},
    }


def write_files(w: World, folder: Path) -> tuple[Path, Path, Path]:
    """plots.csv, sensors.yaml and truth.yaml of a world into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    plots_p = folder / "plots.csv"
    sensors_p = folder / "sensors.yaml"
    truth_p = folder / "truth.yaml"
    plots_p.write_text("\n".join(_plot_lines(w)) + "\n")
    sensors = [_sensor_entry(r) for r in w.radars]
    sensors_p.write_text(yaml.safe_dump({"sensors": sensors}, sort_keys=False))
    truth = [_truth_entry(k, s) for k, s in enumerate(w.shots)]
    truth_p.write_text(yaml.safe_dump({"rounds": truth}, sort_keys=False))
    return plots_p, sensors_p, truth_p


def enu_of(lat, lon, h) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """WGS-84 lat, lon, height to world ENU (the inverse of :func:`geodetic`)."""
    e, n, u = pymap3d.geodetic2enu(lat, lon, h, *SITE)
    return np.asarray(e), np.asarray(n), np.asarray(u)
