"""``summary.json``: the per-threat outcome of a run, built from its events and truth.

Numbers are rounded to fixed precision (7 decimals of a degree, centimetres, 0.1 ms) so the
file is byte-identical for the same scenario and seed.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from shapely.geometry import Point, Polygon

from opencram import __version__
from opencram.analysis.tracking import GOSPA_C_M, score_run
from opencram.c2.engine import RunResult
from opencram.c2.events import Impact, Launch
from opencram.geo import LocalFrame
from opencram.scenario.layers import LayerShapes
from opencram.track.history import confirmed_updates, track_classes
from opencram.warn.metrics import score_warnings, trade_off
from opencram.warn.per_threat import ThreatWarning, threat_warnings


def _r(x: float | None, nd: int) -> float | None:
    if x is None or not np.isfinite(x):
        return None
    v = round(float(x), nd)
    return 0.0 if v == 0 else v


def water_polygons(layers: Sequence[LayerShapes], frame: LocalFrame) -> list[tuple[str, Polygon]]:
    """Each polygon of the ``water`` layers, with its layer's name, in the local east-north
    frame (metres)."""
    out = []
    for layer in layers:
        if layer.kind != "water":
            continue
        for ring in layer.polygons:
            lat, lon = np.array(ring).T
            enu = frame.to_enu(lat, lon, 0.0)
            out.append((layer.name, Polygon(enu[:, :2])))
    return out


def water_at(east_north_m, waters: Sequence[tuple[str, Polygon]]) -> str | None:
    """The name of the first water layer whose polygon holds the point (east, north in
    metres), or None: where a round landed in the river."""
    pt = Point(float(east_north_m[0]), float(east_north_m[1]))
    return next((name for name, poly in waters if poly.covers(pt)), None)


def build_summary(result: RunResult, layers: Sequence[LayerShapes] = ()) -> dict[str, Any]:
    """The run's summary. ``layers``: the scenario's site layers (``LoadedScenario.layers``);
    when one is ``water``, every impact says which water layer it fell in (``water``, a
    layer name or null)."""
    world = result.world
    waters = water_polygons(layers, world.frame)
    s = world.scenario
    truth = world.truth
    launches = {e.threat_id: e for e in result.events if isinstance(e, Launch)}
    impacts = {e.threat_id: e for e in result.events if isinstance(e, Impact)}
    apogee = np.full(len(truth.rounds), np.nan)
    if truth.flight is not None:
        apogee[truth.ballistic_idx] = truth.flight.apogee_up_m
    for k, p in zip(truth.drone_idx, truth.drone_paths, strict=True):
        apogee[k] = float(np.max(p.vertices_enu_m[:, 2]))
    threats = []
    for i, r in enumerate(truth.rounds):
        la = launches.get(r.id)
        im = impacts.get(r.id)
        aim = None
        if r.aim_enu_m is not None:
            lat, lon, alt = world.frame.to_geodetic(r.aim_enu_m)
            aim = {"lat": _r(lat, 7), "lon": _r(lon, 7), "alt_m": _r(alt, 2)}
        threats.append(
            {
                "id": r.id,
                "type": r.type.id,
                "category": r.type.category,
                "launch": {
                    "time_s": _r(r.launch_t_s, 4),
                    "lat": la.lat if la else None,
                    "lon": la.lon if la else None,
                    "alt_m": la.alt_m if la else None,
                    "azimuth_deg": _r(None if r.az_rad is None else np.degrees(r.az_rad), 4),
                    "quadrant_elevation_deg": _r(
                        None if r.qe_rad is None else np.degrees(r.qe_rad), 4
                    ),
                },
                "aim": aim,
                "impact": None if im is None else _impact(im, r, truth.impact_points()[i], waters),
                "apogee_m": _r(apogee[i], 2),
                "zone": im.zones[0] if im and im.zones else None,
                "zones": list(im.zones) if im else [],
            }
        )
    if result.tracker is not None:
        _add_tracking(result, threats)
    _add_outcomes(result, threats)
    hits: dict[str, int] = {z.name: 0 for z in s.zones}
    for t in threats:
        for z in t["zones"]:
            hits[z] += 1
    out = {
        "opencram_version": __version__,
        "scenario": s.name,
        "source": world.source,
        "seed": world.seed,
        "site": {"name": s.site.name, "lat": s.site.lat, "lon": s.site.lon, "alt_m": s.site.alt_m},
        "end_time_s": _r(result.end_s, 4),
        "threats": threats,
        "zones": [{"name": z.name, "kind": z.kind, "impacts": hits[z.name]} for z in s.zones],
        "totals": {
            "threats": len(threats),
            "impacts": sum(1 for t in threats if t["impact"] is not None),
            "intercepted": sum(1 for t in threats if t.get("outcome") == "intercepted"),
            "in_flight_at_end": sum(1 for t in threats if _in_flight_at_end(t)),
            "impacts_in_protected_zones": sum(
                1
                for t in threats
                if any(
                    world.zones.kinds[world.zones.names.index(z)] == "protected" for z in t["zones"]
                )
            ),
        },
    }
    if result.tracker is not None:
        out["tracking"] = tracking_summary(result)
        out["warning"] = warning_summary(result)
    return out


def _impact(im: Impact, r, point_enu_m, waters) -> dict[str, Any]:
    """A landed round's impact: time, place, speed, flight time, miss from its aim, and
    (when the scenario has water layers) the water it fell in."""
    out = {
        "time_s": im.t_s,
        "lat": im.lat,
        "lon": im.lon,
        "alt_m": im.alt_m,
        "speed_mps": im.speed_mps,
        "flight_time_s": _r(im.t_s - r.launch_t_s, 4),
        "miss_from_aim_m": None
        if r.aim_enu_m is None
        else _r(np.hypot(*(point_enu_m[:2] - r.aim_enu_m[:2])), 2),
    }
    if waters:
        out["water"] = water_at(point_enu_m, waters)
    return out


def _in_flight_at_end(threat: dict[str, Any]) -> bool:
    """Whether a threat is still flying when the run ends: launched, neither landed nor
    destroyed in the air."""
    launched = threat["launch"]["lat"] is not None
    return launched and threat["impact"] is None and threat.get("outcome") != "intercepted"


def _add_tracking(result: RunResult, threats: list[dict[str, Any]]) -> None:
    """Per threat: when it was first seen by a radar and first held by a confirmed track."""
    plots = result.plots
    ups = result.tracker.updates
    for i, t in enumerate(threats):
        seen = plots.time_s[plots.truth_id == i] if plots is not None else np.zeros(0)
        conf = [u for u in ups if u.truth_id == i and u.confirmed]
        t["tracking"] = {
            "first_plot_s": _r(seen.min(), 4) if seen.size else None,
            "first_confirmed_s": _r(min(u.t_s for u in conf), 4) if conf else None,
            "track_ids": sorted({u.track_id for u in conf}),
        }


def tracking_summary(result: RunResult) -> dict[str, Any]:
    """Tracker performance of the run: plots, tracks, classes, GOSPA, breaks, swaps, RMSE."""
    tracker = result.tracker
    score = score_run(result.world, tracker, result.end_s)
    by_track = confirmed_updates(tracker)
    classes = track_classes(tracker, by_track)
    plots = result.plots
    return {
        "filter": tracker.config.filter,
        "plots": len(plots),
        "false_plots": int(np.sum(plots.truth_id < 0)),
        "confirmed_tracks": len(by_track),
        "track_classes": {str(k): v for k, v in sorted(classes.items())},
        "gospa_c_m": GOSPA_C_M,
        "mean_gospa_m": _r(score.mean_gospa_m, 3),
        "breaks": int(score.breaks),
        "swaps": int(score.swaps),
        "position_rmse_m": _r(score.rmse_m, 3),
        "late_plots_dropped": tracker.n_late_dropped,
    }


def own_track_warnings(result: RunResult) -> dict[tuple[str, str], ThreatWarning]:
    """(zone, threat id) -> that threat's warning on that warning zone it hit, timed from
    the first alert listing one of its own confirmed tracks (``opencram.warn.per_threat``)."""
    rounds = result.world.truth.rounds
    tracks: dict[str, set[int]] = {r.id: set() for r in rounds}
    for u in result.tracker.updates:
        if u.confirmed and 0 <= u.truth_id < len(rounds):
            tracks[rounds[u.truth_id].id].add(u.track_id)
    hits = [(e.threat_id, e.t_s, tuple(e.zones)) for e in result.events if isinstance(e, Impact)]
    names = result.alert_history[1] if result.alert_history else []
    found = threat_warnings(result.events, hits, tracks, names)
    return {(w.zone, w.threat_id): w for w in found}


def warning_summary(result: RunResult) -> dict[str, Any]:
    """Alerts of the run: warning time per zone hit (the zone's alert, and the threat's
    own track's), missed warnings, false alerts, alerted area, and the threshold trade-off
    replayed on the run."""
    s = score_warnings(result)
    own = own_track_warnings(result)

    def own_s(zone: str, threat: str) -> float | None:
        w = own.get((zone, threat))
        return None if w is None else _r(w.own_warning_s, 3)

    return {
        "threshold": s.threshold,
        "warning_times_s": [
            {
                "zone": z,
                "threat": t,
                "zone_alert_warning_s": _r(w, 3),
                "own_track_warning_s": own_s(z, t),
            }
            for z, t, w in s.warning_times_s
        ],
        "missed_warnings": [{"zone": z, "threat": t} for z, t in s.missed],
        "false_alerts": [{"zone": z, "raised_s": _r(t, 3)} for z, t in s.false_alerts],
        "alerted_zone_area_km2": _r(s.alerted_zone_area_km2, 4),
        "alerted_area_time_km2s": _r(s.alerted_area_time_km2s, 3),
        "trade_off": trade_off(result),
    }


def _add_outcomes(result: RunResult, threats: list[dict[str, Any]]) -> None:
    """Per threat: ``intercepted`` (time, place, gun, rounds), ``leaked`` (landed in a
    protected zone: impact point and zone) or ``not_engaged`` (why), plus every burst."""
    world = result.world
    protected = {
        n for n, k in zip(world.zones.names, world.zones.kinds, strict=True) if k == "protected"
    }
    log = result.engagements or []
    reasons = result.not_engaged or {}
    kills = result.kills_s
    for i, t in enumerate(threats):
        bursts = [b for b in log if b.truth == i]
        t["engagements"] = [
            {
                "gun": b.gun,
                "track_id": b.track_id,
                "fire_s": _r(b.fire_s, 4),
                "intercept_s": _r(b.intercept_s, 4),
                "rounds": b.rounds,
                "p_kill": _r(b.p_kill, 4),
                "killed": b.killed,
            }
            for b in bursts
        ]
        if kills is not None and np.isfinite(kills[i]):
            b = next(b for b in bursts if b.killed and abs(b.intercept_s - kills[i]) < 1e-6)
            lat, lon, alt = world.frame.to_geodetic(b.pos_enu_m)
            t["outcome"] = "intercepted"
            t["intercept"] = {
                "time_s": _r(kills[i], 4),
                "lat": _r(lat, 7),
                "lon": _r(lon, 7),
                "alt_m": _r(alt, 2),
                "gun": b.gun,
                "rounds": int(sum(x.rounds for x in bursts)),
            }
        elif bursts or set(t["zones"]) & protected:
            t["outcome"] = "leaked"
            t["leak"] = {
                "impact": t["impact"],
                "zone": t["zone"],
                "engaged": bool(bursts),
            }
        else:
            track_ids = (t.get("tracking") or {}).get("track_ids", [])
            why = [reasons[k] for k in track_ids if k in reasons]
            if not world.scenario.weapons:
                why = ["no weapons in the scenario"]
            elif not track_ids:
                why = why or ["never held by a confirmed track"]
            t["outcome"] = "not_engaged"
            t["not_engaged_reason"] = why[-1] if why else "not evaluated as a threat"
