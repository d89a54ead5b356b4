"""Warning performance of a run: warning time per zone hit, missed warnings, false alerts,
alerted area, and the trade-off between warning time and false alerts over thresholds.

Everything is computed from the per-tick zone probabilities the warn stage recorded, with
the same state machine as the live alerts (raise at the threshold, clear below half of it),
so any threshold can be replayed after the run.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def alert_episodes(times_s: np.ndarray, p_zone: np.ndarray, threshold: float):
    """(zone column, raise time, clear time or inf) of every alert episode."""
    out = []
    for z in range(p_zone.shape[1]):
        active, t_raise = False, 0.0
        for t, p in zip(times_s, p_zone[:, z], strict=True):
            if not active and p >= threshold:
                active, t_raise = True, float(t)
            elif active and p < 0.5 * threshold:
                active = False
                out.append((z, t_raise, float(t)))
        if active:
            out.append((z, t_raise, np.inf))
    return out


@dataclass(frozen=True)
class WarningScore:
    threshold: float
    warning_times_s: list[tuple[str, str, float]]  # (zone, threat id, warning time)
    missed: list[tuple[str, str]]  # (zone, threat id) hit with no alert up at impact
    false_alerts: list[tuple[str, float]]  # (zone, raise time) of episodes nothing hit
    alerted_zone_area_km2: float  # total area of the zones alerted at least once
    alerted_area_time_km2s: float  # alerted area integrated over time


def score_warnings(result, threshold: float | None = None) -> WarningScore:
    """Score a run's alerts against where its rounds landed."""
    world = result.world
    times, names, p = result.alert_history
    thr = world.scenario.warning.threshold if threshold is None else threshold
    episodes = alert_episodes(times, p, thr)
    zone_col = {n: i for i, n in enumerate(names)}
    areas = np.array([world.zones.polygons_enu[world.zones.names.index(n)].area for n in names])
    t_imp = world.truth.impact_times()
    pts = world.truth.impact_points()
    warned, missed, used = [], [], set()
    kills = getattr(result, "kills_s", None)
    for i, r in enumerate(world.truth.rounds):
        if not np.isfinite(t_imp[i]) or (kills is not None and kills[i] < t_imp[i]):
            continue  # never landed, or destroyed in the air
        for z in world.zones.zones_at(pts[i, 0], pts[i, 1]):
            if z not in zone_col:
                continue
            col = zone_col[z]
            up = [
                (k, e)
                for k, e in enumerate(episodes)
                if e[0] == col and e[1] <= t_imp[i] <= e[2] + 1e-9
            ]
            if up:
                k, e = up[0]
                used.add(k)
                warned.append((z, r.id, float(t_imp[i] - e[1])))
            else:
                missed.append((z, r.id))
    false = [(names[e[0]], e[1]) for k, e in enumerate(episodes) if k not in used]
    end = float(times[-1]) if len(times) else 0.0
    alerted = sorted({e[0] for e in episodes})
    area_time = sum(areas[e[0]] * (min(e[2], end) - e[1]) for e in episodes) / 1e6
    return WarningScore(
        threshold=thr,
        warning_times_s=warned,
        missed=missed,
        false_alerts=false,
        alerted_zone_area_km2=float(areas[alerted].sum() / 1e6) if alerted else 0.0,
        alerted_area_time_km2s=float(area_time),
    )


# thresholds replayed for the trade-off: about evenly spaced in log probability from
# 0.001 to 0.95, with the default threshold (0.02) among them
TRADE_OFF_THRESHOLDS = (
    0.001, 0.0015, 0.002, 0.003, 0.005, 0.007, 0.01, 0.015, 0.02, 0.03, 0.05, 0.07,
    0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95,
)  # fmt: skip


def trade_off(result, thresholds=TRADE_OFF_THRESHOLDS) -> list[dict]:
    """Warning time against false alerts for each threshold, replayed on the run."""
    rows = []
    for thr in thresholds:
        s = score_warnings(result, thr)
        wt = [w for _, _, w in s.warning_times_s]
        rows.append(
            {
                "threshold": thr,
                "mean_warning_s": round(float(np.mean(wt)), 3) if wt else None,
                "min_warning_s": round(float(np.min(wt)), 3) if wt else None,
                "missed": len(s.missed),
                "false_alerts": len(s.false_alerts),
                "alerted_area_time_km2s": round(s.alerted_area_time_km2s, 3),
            }
        )
    return rows
