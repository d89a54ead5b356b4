"""The air and ground a projectile flies through: atmosphere, wind, gravity, terrain.

Terrain is flat at the site altitude by default (ENU up = 0); a DEM
(:class:`opencram.physics.terrain.DemTerrain`) replaces it where a scenario gives one.
Everything that needs the ground asks a :class:`Terrain` for its height. The air is the
ICAO standard atmosphere (optionally shifted in temperature) unless a measured profile
(:class:`opencram.physics.weather.WeatherProfile`) is given; both are tabulated on one
5 m grid (:meth:`Environment.tables`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache, lru_cache
from typing import Protocol

import numpy as np

from opencram.physics.atmosphere import G0_MPS2, isa

EARTH_MEAN_RADIUS_M = 6_371_008.8  # IUGG mean Earth radius
EARTH_ROTATION_RADPS = 7.292115e-5  # WGS-84 angular velocity of the Earth (sidereal)


class Terrain(Protocol):
    def height_up_m(self, east_m, north_m) -> np.ndarray:
        """Ground height in the local frame (ENU up, m) under each point."""
        ...


@dataclass(frozen=True)
class FlatTerrain:
    """Flat ground at a fixed ENU height (0 = the site altitude)."""

    up_m: float = 0.0

    def height_up_m(self, east_m, north_m) -> np.ndarray:
        return np.full(np.shape(east_m), self.up_m, dtype=float)


@dataclass(frozen=True)
class Wind:
    """Horizontal wind, linear in altitude between layers, constant outside them.

    ``alt_msl_m`` (k,) are increasing layer altitudes above mean sea level and
    ``vel_enu_mps`` (k, 3) the air velocity there (the direction the air moves to).
    One layer is a constant wind.
    """

    alt_msl_m: np.ndarray = field(default_factory=lambda: np.zeros(1))
    vel_enu_mps: np.ndarray = field(default_factory=lambda: np.zeros((1, 3)))

    @staticmethod
    def calm() -> Wind:
        return Wind()

    @staticmethod
    def from_direction(from_deg, speed_mps, alt_msl_m=(0.0,)) -> Wind:
        """Wind from meteorological reports: blowing *from* azimuth ``from_deg`` (clockwise
        from north) at ``speed_mps``, per layer altitude."""
        frm = np.radians(np.atleast_1d(np.asarray(from_deg, dtype=float)))
        spd = np.atleast_1d(np.asarray(speed_mps, dtype=float))
        vel = np.stack([-spd * np.sin(frm), -spd * np.cos(frm), np.zeros_like(spd)], axis=-1)
        alt = np.atleast_1d(np.asarray(alt_msl_m, dtype=float))
        order = np.argsort(alt)
        return Wind(alt[order], vel[order])

    def at(self, alt_msl_m) -> np.ndarray:
        """Wind velocity (..., 3) at the given altitudes above MSL."""
        h = np.asarray(alt_msl_m, dtype=float)
        if self.alt_msl_m.size == 1:
            return np.broadcast_to(self.vel_enu_mps[0], (*h.shape, 3))
        return np.stack(
            [np.interp(h, self.alt_msl_m, self.vel_enu_mps[:, k]) for k in range(3)], axis=-1
        )

    @property
    def is_calm(self) -> bool:
        return not np.any(self.vel_enu_mps)


def earth_rotation_enu_radps(lat_deg: float) -> np.ndarray:
    """The Earth's angular velocity in the local ENU frame at geodetic latitude ``lat_deg``:
    ``Omega = omega (0, cos(lat), sin(lat))`` with omega = 7.292115e-5 rad/s (WGS-84).

    The ENU frame turns with the Earth, so a body moving at ``v`` relative to it feels the
    Coriolis acceleration ``-2 Omega x v`` and the centrifugal ``-Omega x (Omega x r)``.
    """
    lat = np.radians(float(lat_deg))
    return EARTH_ROTATION_RADPS * np.array([0.0, np.cos(lat), np.sin(lat)])


@dataclass(frozen=True)
class Environment:
    """Site altitude (m above MSL, for the atmosphere), wind, terrain and, when the site's
    latitude is known, the Earth's rotation.

    ``site_lat_deg`` (geodetic) switches on the Coriolis and centrifugal terms of the
    rotating local frame (see :func:`earth_rotation_enu_radps`); they are on by default
    once a latitude is given (``earth_rotation=False`` turns them off). Without a latitude
    the frame is taken as inertial, as before.
    """

    site_alt_m: float = 0.0
    wind: Wind = field(default_factory=Wind)
    terrain: Terrain = field(default_factory=FlatTerrain)
    temperature_offset_k: float = 0.0
    site_lat_deg: float | None = None
    earth_rotation: bool = True
    weather: object | None = None  # a physics.weather.WeatherProfile: replaces the ISA

    def tables(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Density (kg/m^3) and sound-speed (m/s) tables on the 5 m grid and their
        neighbour differences: of the weather profile if given, else of the ISA shifted by
        ``temperature_offset_k``."""
        if self.weather is not None:
            return weather_tables(self.weather)
        t = self.temperature_offset_k
        return (*air_table(t), *air_slopes(t))

    @property
    def omega_enu_radps(self) -> np.ndarray:
        """The Earth's angular velocity in the local ENU frame (3,), rad/s; zeros when the
        rotation is off or the latitude unknown."""
        if self.site_lat_deg is None or not self.earth_rotation:
            return np.zeros(3)
        return earth_rotation_enu_radps(self.site_lat_deg)

    def air(self, up_m):
        """Density (kg/m^3), speed of sound (m/s) and wind (..., 3) at ENU heights.

        The atmosphere comes from a table of :func:`isa` on a 5 m grid, interpolated
        linearly (relative error below 1e-4, largest at layer boundaries).
        """
        alt = self.site_alt_m + np.asarray(up_m, dtype=float)
        rho_tab, a_tab, rho_d, a_d = self.tables()
        # np.minimum/np.maximum rather than np.clip: the same values, less call overhead
        # on the small arrays of the engine's hot loops
        x = (np.minimum(np.maximum(alt, AIR_TABLE_MIN_M), AIR_TABLE_MAX_M) - AIR_TABLE_MIN_M) / (
            AIR_TABLE_STEP_M
        )
        i = np.minimum(x.astype(np.intp), rho_tab.size - 2)
        f = x - i
        rho = rho_tab[i] + f * rho_d[i]
        a = a_tab[i] + f * a_d[i]
        return rho, a, self.wind.at(alt)

    def density_and_gradient(self, up_m):
        """Density (kg/m^3) and its height derivative (kg/m^4) at ENU heights, from the same
        table as :meth:`air` (the derivative is the table's slope)."""
        alt = self.site_alt_m + np.asarray(up_m, dtype=float)
        rho_tab, _, rho_d, _ = self.tables()
        x = (np.minimum(np.maximum(alt, AIR_TABLE_MIN_M), AIR_TABLE_MAX_M) - AIR_TABLE_MIN_M) / (
            AIR_TABLE_STEP_M
        )
        i = np.minimum(x.astype(np.intp), rho_tab.size - 2)
        slope = rho_d[i]
        return rho_tab[i] + (x - i) * slope, slope / AIR_TABLE_STEP_M


AIR_TABLE_MIN_M = -1_000.0
AIR_TABLE_MAX_M = 80_000.0
AIR_TABLE_STEP_M = 5.0


@cache
def air_table(temperature_offset_k: float) -> tuple[np.ndarray, np.ndarray]:
    """Density (kg/m³) and speed of sound (m/s) of the ICAO standard atmosphere shifted by
    ``temperature_offset_k``, tabulated every AIR_TABLE_STEP_M from AIR_TABLE_MIN_M (read-only
    arrays, shared by the flight and the tracker's compiled kernels)."""
    alt = np.arange(AIR_TABLE_MIN_M, AIR_TABLE_MAX_M + AIR_TABLE_STEP_M, AIR_TABLE_STEP_M)
    _, _, rho, a = isa(alt, temperature_offset_k)
    rho.setflags(write=False)
    a.setflags(write=False)
    return rho, a


@cache
def air_slopes(temperature_offset_k: float) -> tuple[np.ndarray, np.ndarray]:
    """Differences between neighbouring entries of the density and sound-speed tables."""
    rho, a = air_table(temperature_offset_k)
    d_rho, d_a = rho[1:] - rho[:-1], a[1:] - a[:-1]
    d_rho.setflags(write=False)
    d_a.setflags(write=False)
    return d_rho, d_a


@lru_cache(maxsize=8)
def weather_tables(weather) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Density and sound-speed tables of a weather profile on the standard table's grid,
    and their neighbour differences (read-only; the last few profiles are kept)."""
    alt = np.arange(AIR_TABLE_MIN_M, AIR_TABLE_MAX_M + AIR_TABLE_STEP_M, AIR_TABLE_STEP_M)
    rho, a = weather.density_and_sound(alt)
    out = (rho, a, rho[1:] - rho[:-1], a[1:] - a[:-1])
    for arr in out:
        arr.setflags(write=False)
    return out


def rotation_acceleration_mps2(omega_enu_radps, pos_enu_m, vel_enu_mps) -> np.ndarray:
    """Coriolis and centrifugal acceleration (n, 3) in the rotating local frame:
    ``-2 Omega x v - Omega x (Omega x r)``, with ``r`` the position from the site origin.

    The centrifugal acceleration at the site itself is part of the standard gravity g0 (the
    effective gravity of the rotating Earth), so only its change with position enters here.
    """
    om = np.broadcast_to(np.asarray(omega_enu_radps, dtype=float), np.shape(vel_enu_mps))
    return -2.0 * np.cross(om, vel_enu_mps) - np.cross(om, np.cross(om, pos_enu_m))


def gravity_mps2(alt_msl_m) -> np.ndarray:
    """Gravity magnitude falling off with altitude as (R / (R + h))^2."""
    h = np.asarray(alt_msl_m, dtype=float)
    return G0_MPS2 * (EARTH_MEAN_RADIUS_M / (EARTH_MEAN_RADIUS_M + h)) ** 2
