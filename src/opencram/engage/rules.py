"""Small engage rules shared by planning and the trigger: a burst's size and planned kill
probability, the aim error of a track flown ahead, no-fire sectors, and the friendly
aircraft clearance of a line of fire."""

from __future__ import annotations

import numpy as np

from opencram.engage.firecontrol import Intercept, track_radar_sigma_m
from opencram.engage.tewa import burst_kill_probability, round_hit_probability
from opencram.scenario.schema import Engagement, Sector, Weapon


def burst_rounds(spec: Weapon, cfg: Engagement, ammo: int) -> int:
    """Rounds in one burst of ``cfg.burst_s`` at the gun's rate, at most ``ammo``."""
    return int(min(ammo, round(spec.rate_rpm / 60.0 * cfg.burst_s)))


def predicted_pos_sigma(p: np.ndarray, dt_s: np.ndarray) -> np.ndarray:
    """RMS position error per axis (n,) of tracks with covariances ``p`` (n, 7, 7) flown
    ``dt_s`` (n,) ahead at constant velocity (P_pp + dt (P_pv + P_vp) + dt^2 P_vv). The
    gun lays on the track at the trigger, so fire control's error at the intercept is the
    track's error flown over the round's time of flight."""
    dt = np.asarray(dt_s, dtype=float)[:, None, None]
    pp = p[:, :3, :3] + dt * (p[:, :3, 3:6] + p[:, 3:6, :3]) + dt**2 * p[:, 3:6, 3:6]
    return np.sqrt(np.maximum(np.trace(pp, axis1=1, axis2=2), 0.0) / 3.0)


def planned_kill_probability(
    spec: Weapon, cfg: Engagement, sol: Intercept, p_state: np.ndarray, n_rounds: int
) -> np.ndarray:
    """Fire control's kill probability (n,) of a burst of ``n_rounds`` from gun ``spec`` at
    the intercepts ``sol``: dispersion plus the aim error, which is the gun's track-radar
    fix when it has one, else the track's error (covariances ``p_state``) flown over the
    round's time of flight."""
    if spec.track_radar is not None:
        pos_sigma = track_radar_sigma_m(spec.track_radar, sol.range_m, sol.tof_s)
    else:
        pos_sigma = predicted_pos_sigma(p_state, sol.tof_s)
    ph = round_hit_probability(sol.range_m, spec.dispersion_mrad, pos_sigma, cfg.target_radius_m)
    return burst_kill_probability(ph, n_rounds, cfg.p_kill_given_hit)


def in_sectors(az_rad: float, sectors: list[Sector]) -> bool:
    """Is an azimuth inside any of a gun's no-fire sectors (clockwise from ``from_deg``)?"""
    az = float(np.degrees(az_rad)) % 360.0
    for sec in sectors:
        width = (sec.to_deg - sec.from_deg) % 360.0
        if (az - sec.from_deg) % 360.0 <= width:
            return True
    return False


def near_line_of_fire(
    gun_pos_enu_m: np.ndarray, aim_pos_enu_m: np.ndarray, pos_enu_m: np.ndarray, clearance_m
) -> bool:
    """Is any of the points ``pos_enu_m`` (k, 3) within ``clearance_m`` of the line of fire
    from the gun to the aim point, extended to twice its length (the rounds fly on to
    their self-destruct)?"""
    seg = aim_pos_enu_m - gun_pos_enu_m
    length = np.linalg.norm(seg)
    u = seg / max(length, 1e-9)
    d = pos_enu_m - gun_pos_enu_m
    along = np.clip(d @ u, 0.0, 2.0 * length)
    off = np.linalg.norm(d - along[:, None] * u, axis=1)
    return bool(np.any(off < clearance_m))
