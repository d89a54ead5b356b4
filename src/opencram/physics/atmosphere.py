"""ICAO / ISA standard atmosphere, vectorised over altitude.

Layers up to 84.852 km geopotential, as defined in ICAO Doc 7488 (Manual of the ICAO
Standard Atmosphere, 3rd ed., 1993) and identical to the US Standard Atmosphere 1976 below
86 km. Geometric altitude is converted to geopotential altitude with the Earth radius
r0 = 6,356,766 m used by the standard. Checked against the ``ambiance`` package in
``tests/test_against_ambiance.py``.
"""

from __future__ import annotations

import numpy as np

G0_MPS2 = 9.80665  # standard gravity (ICAO Doc 7488)
R_AIR_JPKGK = 287.05287  # specific gas constant of dry air (ICAO Doc 7488)
GAMMA_AIR = 1.4
EARTH_RADIUS_GEOPOTENTIAL_M = 6_356_766.0
T0_K = 288.15
P0_PA = 101_325.0
RHO0_KGPM3 = P0_PA / (R_AIR_JPKGK * T0_K)  # 1.2250 kg/m^3

# Layer base geopotential heights (m) and temperature gradients (K/m).
_H_BASE_M = np.array([0.0, 11_000.0, 20_000.0, 32_000.0, 47_000.0, 51_000.0, 71_000.0])
_LAPSE_KPM = np.array([-6.5e-3, 0.0, 1.0e-3, 2.8e-3, 0.0, -2.8e-3, -2.0e-3])
H_MAX_M = 84_852.0


def _layer_bases() -> tuple[np.ndarray, np.ndarray]:
    t_base = [T0_K]
    p_base = [P0_PA]
    for i in range(len(_H_BASE_M) - 1):
        dh = _H_BASE_M[i + 1] - _H_BASE_M[i]
        t, p, lapse = t_base[i], p_base[i], _LAPSE_KPM[i]
        if lapse == 0.0:
            p_next = p * np.exp(-G0_MPS2 * dh / (R_AIR_JPKGK * t))
        else:
            p_next = p * (1.0 + lapse * dh / t) ** (-G0_MPS2 / (lapse * R_AIR_JPKGK))
        t_base.append(t + lapse * dh)
        p_base.append(p_next)
    return np.array(t_base), np.array(p_base)


_T_BASE_K, _P_BASE_PA = _layer_bases()


def geopotential_m(alt_m):
    """Geopotential height (m) of a geometric altitude above mean sea level (m)."""
    z = np.asarray(alt_m, dtype=float)
    return EARTH_RADIUS_GEOPOTENTIAL_M * z / (EARTH_RADIUS_GEOPOTENTIAL_M + z)


def isa(alt_m, temperature_offset_k: float = 0.0):
    """Temperature (K), pressure (Pa), density (kg/m^3) and speed of sound (m/s).

    ``alt_m`` is geometric altitude above mean sea level, any shape; values are clipped to
    the standard's range (-5 km to 84.852 km geopotential). ``temperature_offset_k`` gives an
    ISA+dT day at the same pressure profile (density follows the warmer air).
    """
    h = np.clip(geopotential_m(alt_m), -5_000.0, H_MAX_M)
    i = np.clip(np.searchsorted(_H_BASE_M, h, side="right") - 1, 0, len(_H_BASE_M) - 1)
    dh = h - _H_BASE_M[i]
    lapse = _LAPSE_KPM[i]
    t_b = _T_BASE_K[i]
    t_k = t_b + lapse * dh
    iso = lapse == 0.0
    safe_lapse = np.where(iso, 1.0, lapse)
    p_grad = _P_BASE_PA[i] * (t_k / t_b) ** (-G0_MPS2 / (safe_lapse * R_AIR_JPKGK))
    p_iso = _P_BASE_PA[i] * np.exp(-G0_MPS2 * dh / (R_AIR_JPKGK * t_b))
    p_pa = np.where(iso, p_iso, p_grad)
    t_k = t_k + temperature_offset_k
    rho = p_pa / (R_AIR_JPKGK * t_k)
    a_mps = np.sqrt(GAMMA_AIR * R_AIR_JPKGK * t_k)
    return t_k, p_pa, rho, a_mps


def density_kgpm3(alt_m):
    """Air density (kg/m^3) at geometric altitude above MSL (m)."""
    return isa(alt_m)[2]


def speed_of_sound_mps(alt_m):
    """Speed of sound (m/s) at geometric altitude above MSL (m)."""
    return isa(alt_m)[3]
