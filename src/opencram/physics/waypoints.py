"""Kinematic flight along waypoints at constant speed: powered drones and friendly aircraft.

A path is a polyline of ENU vertices flown at a constant speed from a start time. Drones
climb from their launch point to cruise height, fly their waypoints, then dive on the aim
point along a fixed dive angle.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class PathFlight:
    """Constant-speed flight along ``vertices_enu_m`` (k, 3) from ``start_s``."""

    vertices_enu_m: np.ndarray
    speed_mps: float
    start_s: float = 0.0

    @property
    def cum_dist_m(self) -> np.ndarray:
        seg = np.linalg.norm(np.diff(self.vertices_enu_m, axis=0), axis=1)
        return np.concatenate([[0.0], np.cumsum(seg)])

    @property
    def duration_s(self) -> float:
        return float(self.cum_dist_m[-1] / self.speed_mps)

    @property
    def end_s(self) -> float:
        return self.start_s + self.duration_s

    def state_at(self, t_s) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Position (m, 3), velocity (m, 3) and in-flight flag (m,) at times (m,)."""
        t = np.atleast_1d(np.asarray(t_s, dtype=float))
        cum = self.cum_dist_m
        s = np.clip((t - self.start_s) * self.speed_mps, 0.0, cum[-1])
        pos = np.stack([np.interp(s, cum, self.vertices_enu_m[:, k]) for k in range(3)], axis=-1)
        seg = np.clip(np.searchsorted(cum, s, side="right") - 1, 0, len(cum) - 2)
        d = np.diff(self.vertices_enu_m, axis=0)
        lens = np.maximum(np.linalg.norm(d, axis=1), 1e-9)
        vel = d[seg] / lens[seg, None] * self.speed_mps
        active = (t >= self.start_s) & (t < self.end_s)
        vel = np.where(active[:, None], vel, 0.0)
        return pos, vel, active


def smooth_corners(vertices_enu_m, max_cut_m: float = 400.0, n_arc: int = 10) -> np.ndarray:
    """Round every interior corner of a polyline with a quadratic Bezier arc, so that flight
    along it turns gradually instead of changing velocity at once. The arc starts and ends
    ``min(max_cut_m, 0.45 * the shorter leg)`` from the corner; end points are kept."""
    v = np.asarray(vertices_enu_m, dtype=float)
    if len(v) < 3:
        return v.copy()
    out = [v[0]]
    s = np.linspace(0.0, 1.0, n_arc)[:, None]
    for k in range(1, len(v) - 1):
        a, b, c = v[k - 1], v[k], v[k + 1]
        la, lc = np.linalg.norm(b - a), np.linalg.norm(c - b)
        cut = min(max_cut_m, 0.45 * la, 0.45 * lc)
        if cut <= 0:
            continue
        p0 = b + (a - b) / la * cut
        p2 = b + (c - b) / lc * cut
        arc = (1 - s) ** 2 * p0 + 2 * (1 - s) * s * b + s**2 * p2
        out.extend(arc)
    out.append(v[-1])
    return np.array(out)


def drone_path(
    launch_enu_m,
    waypoints_enu_m,
    aim_enu_m,
    cruise_up_m: float,
    *,
    climb_deg: float = 10.0,
    dive_deg: float = 35.0,
) -> np.ndarray:
    """Vertices for a one-way attack drone: climb out, waypoints at their heights (or
    cruise height), then a straight dive onto the aim point."""
    launch = np.asarray(launch_enu_m, dtype=float)
    aim = np.asarray(aim_enu_m, dtype=float)
    wps = [np.asarray(w, dtype=float) for w in waypoints_enu_m]
    first = wps[0] if wps else aim
    heading = first[:2] - launch[:2]
    dist = np.linalg.norm(heading)
    unit = heading / dist if dist > 0 else np.array([0.0, 1.0])
    climb_len = min((cruise_up_m - launch[2]) / np.tan(np.radians(climb_deg)), 0.5 * dist)
    top = np.array([*(launch[:2] + unit * max(climb_len, 0.0)), cruise_up_m])
    last = wps[-1] if wps else top
    back = last[:2] - aim[:2]
    bd = np.linalg.norm(back)
    bunit = back / bd if bd > 0 else -unit
    dive_h = max((wps[-1][2] if wps else cruise_up_m) - aim[2], 0.0)
    dive_len = min(dive_h / np.tan(np.radians(dive_deg)), 0.5 * bd) if bd > 0 else 0.0
    pushover = np.array([*(aim[:2] + bunit * dive_len), wps[-1][2] if wps else cruise_up_m])
    verts = [launch, top, *wps, pushover, aim]
    out = [verts[0]]
    for v in verts[1:]:
        if np.linalg.norm(v - out[-1]) > 1e-6:
            out.append(v)
    return smooth_corners(np.array(out))
