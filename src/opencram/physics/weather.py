"""Weather from a file: a layered meteorological profile (METCM-like) that replaces the
standard atmosphere and the scenario's wind.

A profile is a table of layers, each an altitude (m above the WGS-84 ellipsoid, the datum
of every ``alt_m``), the direction the wind blows from (deg clockwise from north), the
wind speed (m/s), the temperature (K, or °C in a ``temperature_c`` column) and the
pressure (hPa), given as CSV (a header row naming the columns) or YAML (a list of
mappings with the same keys, or ``{layers: [...]}``). The columns:

    alt_m, wind_from_deg, wind_speed_mps, temperature_k | temperature_c, pressure_hpa

Between layers temperature is linear in altitude and pressure log-linear (exact for an
isothermal layer, within 0.1 % for a 500 m layer of the standard lapse rate); above and
below the table the end layer's temperature holds and the pressure follows the isothermal
hydrostatic law ``p = p_end exp(-g0 (h - h_end) / (R T_end))``. Then

    rho = p / (R T),   a = sqrt(gamma R T)

with R = 287.05287 J/(kg K) and gamma = 1.4 (ICAO Doc 7488, as :mod:`atmosphere`). The
wind is linear in altitude between layers (``environment.Wind``). The profile is
tabulated on the same 5 m grid as the standard atmosphere (``environment.air_table``),
so the flights and their compiled kernels read it exactly as they read the standard one.
"""

from __future__ import annotations

import csv
import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from opencram.errors import UserError
from opencram.physics.atmosphere import G0_MPS2, GAMMA_AIR, R_AIR_JPKGK

COLUMNS = ("alt_m", "wind_from_deg", "wind_speed_mps", "pressure_hpa")
CELSIUS_TO_K = 273.15


@dataclass(frozen=True, eq=False)
class WeatherProfile:
    """Layers (k,) in increasing altitude: altitude (m), wind from (deg), wind speed (m/s),
    temperature (K) and pressure (Pa). ``source`` names the file, ``digest`` its content."""

    alt_m: np.ndarray
    wind_from_deg: np.ndarray
    wind_speed_mps: np.ndarray
    temperature_k: np.ndarray
    pressure_pa: np.ndarray
    source: str = ""
    digest: str = ""

    def state(self, alt_m):
        """Temperature (K) and pressure (Pa) at altitudes (any shape), per the module rule."""
        h = np.asarray(alt_m, dtype=float)
        z, t, lnp = self.alt_m, self.temperature_k, np.log(self.pressure_pa)
        t_h = np.interp(h, z, t)
        lnp_h = np.interp(h, z, lnp)
        below, above = h < z[0], h > z[-1]
        lnp_h = np.where(below, lnp[0] - G0_MPS2 * (h - z[0]) / (R_AIR_JPKGK * t[0]), lnp_h)
        lnp_h = np.where(above, lnp[-1] - G0_MPS2 * (h - z[-1]) / (R_AIR_JPKGK * t[-1]), lnp_h)
        return t_h, np.exp(lnp_h)

    def density_and_sound(self, alt_m):
        """Density ``p / (R T)`` (kg/m^3) and speed of sound ``sqrt(gamma R T)`` (m/s)."""
        t_k, p_pa = self.state(alt_m)
        return p_pa / (R_AIR_JPKGK * t_k), np.sqrt(GAMMA_AIR * R_AIR_JPKGK * t_k)


def _number(source: str, where: str, key: str, value) -> float:
    try:
        x = float(value)
    except (TypeError, ValueError):
        raise UserError(f"{source}: {where}: {key} is not a number ({value!r})") from None
    if not np.isfinite(x):
        raise UserError(f"{source}: {where}: {key} is not finite")
    return x


def _layer(source: str, where: str, row: dict) -> tuple[float, ...]:
    """(alt, wind from, wind speed, temperature K, pressure Pa) of one row, checked."""
    for key in COLUMNS:
        if row.get(key) in (None, ""):
            raise UserError(f"{source}: {where}: missing {key}")
    alt, frm, spd, p_hpa = (_number(source, where, k, row[k]) for k in COLUMNS)
    if row.get("temperature_k") not in (None, ""):
        t_k = _number(source, where, "temperature_k", row["temperature_k"])
    elif row.get("temperature_c") not in (None, ""):
        t_k = _number(source, where, "temperature_c", row["temperature_c"]) + CELSIUS_TO_K
    else:
        raise UserError(f"{source}: {where}: missing temperature_k or temperature_c")
    if spd < 0:
        raise UserError(f"{source}: {where}: wind_speed_mps is negative")
    if not 100.0 <= t_k <= 400.0:
        raise UserError(f"{source}: {where}: temperature {t_k:.1f} K outside 100 to 400 K")
    if not 0.01 <= p_hpa <= 1200.0:
        raise UserError(f"{source}: {where}: pressure_hpa {p_hpa} outside 0.01 to 1200")
    return alt, frm, spd, t_k, 100.0 * p_hpa


def _rows(path: Path) -> list[dict]:
    """The table's rows as mappings, from CSV or YAML by the file's suffix."""
    text = path.read_text(encoding="utf-8")
    if path.suffix.lower() == ".csv":
        lines = [ln for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
        return [{k.strip(): v for k, v in r.items() if k} for r in csv.DictReader(lines)]
    if path.suffix.lower() in (".yaml", ".yml"):
        import yaml

        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise UserError(f"{path}: not valid YAML ({str(exc).splitlines()[0]})") from None
        if isinstance(data, dict):
            data = data.get("layers")
        if not isinstance(data, list) or not all(isinstance(r, dict) for r in data):
            raise UserError(f"{path}: expected a list of layers (mappings)")
        return data
    raise UserError(f"{path}: a weather file must be .csv, .yaml or .yml")


def load_weather(path) -> WeatherProfile:
    """Read a weather profile (module docstring); UserError naming the file and the row
    for a missing file, column or value, or altitudes not strictly increasing."""
    p = Path(path)
    if not p.is_file():
        raise UserError(f"{p}: weather file not found")
    rows = _rows(p)
    if not rows:
        raise UserError(f"{p}: the weather file has no layers")
    layers = np.array([_layer(str(p), f"row {k + 1}", r) for k, r in enumerate(rows)])
    if np.any(np.diff(layers[:, 0]) <= 0):
        raise UserError(f"{p}: alt_m must increase strictly from row to row")
    digest = hashlib.sha256(p.read_bytes()).hexdigest()
    return WeatherProfile(*(np.ascontiguousarray(layers[:, k]) for k in range(5)), str(p), digest)
