"""GeoJSON export of a run (RFC 7946): zones, launch points, true trajectories, impacts,
the last 95 % impact and origin ellipse of every track, intercepts, and collateral
footprints (dud and debris discs, fired or withheld).

Every feature carries ``properties.feature`` naming what it is, so a GIS can filter on it.
Coordinates are ``[lon, lat]`` (or ``[lon, lat, height]`` with the height above the WGS-84
ellipsoid, for airborne points and lines); polygon exterior rings run counter-clockwise, as
RFC 7946 section 3.1.6 asks.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np

from opencram.interop.runview import RunView, circle_ring, ellipse_ring

ND = 7  # decimals of a degree (about 1 cm)


def _pt(lat, lon, alt=None) -> list[float]:
    p = [round(float(lon), ND), round(float(lat), ND)]
    if alt is not None:
        p.append(round(float(alt), 2))
    return p


def _ring(lats, lons) -> list[list[float]]:
    """A closed counter-clockwise ring from (lat, lon) vertices."""
    lats, lons = np.asarray(lats, float), np.asarray(lons, float)
    # shoelace sign in (lon, lat): positive is counter-clockwise
    area2 = np.sum(lons * np.roll(lats, -1) - np.roll(lons, -1) * lats)
    if area2 < 0:
        lats, lons = lats[::-1], lons[::-1]
    pts = [_pt(a, o) for a, o in zip(lats, lons, strict=True)]
    if pts[0] != pts[-1]:
        pts.append(pts[0])
    return pts


def _feature(geometry: dict, **props: Any) -> dict:
    return {"type": "Feature", "geometry": geometry, "properties": props}


def _polygon(lats, lons) -> dict:
    return {"type": "Polygon", "coordinates": [_ring(lats, lons)]}


def footprint_features(view: RunView) -> list[dict]:
    """Dud and debris discs of every burst fired, and of every withheld engagement."""
    out = []
    for b in view.bursts():
        if not b.fired:
            continue  # a cancelled burst fired no rounds
        for f in b.footprints:
            la, lo = circle_ring(f.lat, f.lon, f.radius_m)
            out.append(
                _feature(
                    _polygon(la, lo),
                    feature="footprint",
                    kind=f.kind,
                    withheld=False,
                    gun=b.gun,
                    track_id=b.track_id,
                    threat=b.threat_id,
                    t_s=b.fire_s,
                    center=_pt(f.lat, f.lon),
                    radius_m=f.radius_m,
                )
            )
    for w in view.withheld():
        for f in getattr(w, "footprints", ()) or ():
            la, lo = circle_ring(f.lat, f.lon, f.radius_m)
            out.append(
                _feature(
                    _polygon(la, lo),
                    feature="footprint",
                    kind=f.kind,
                    withheld=True,
                    gun=w.gun,
                    track_id=w.track_id,
                    threat=view.track_threat().get(w.track_id),
                    t_s=w.t_s,
                    reason=w.reason,
                    center=_pt(f.lat, f.lon),
                    radius_m=f.radius_m,
                )
            )
    return out


def build_geojson(view: RunView) -> dict:
    """The run as a FeatureCollection: site, launches, trajectories, impacts, the last
    ellipses, intercepts and footprints, in that order."""
    feats = [
        *_site_features(view),
        *_launch_features(view),
        *_trajectory_features(view),
        *_impact_features(view),
        *_ellipse_features(view),
        *_intercept_features(view),
        *footprint_features(view),
    ]
    return {
        "type": "FeatureCollection",
        "name": view.scenario.name,
        "features": feats,
    }


def _point(lat, lon, alt=None) -> dict:
    return {"type": "Point", "coordinates": _pt(lat, lon, alt)}


def _site_features(view: RunView) -> list[dict]:
    """Zones (a MultiPolygon when a zone has several rings), landmarks, radars and guns."""
    feats = []
    kinds = view.zone_kinds
    values = {z.name: z.value for z in view.scenario.zones}
    for name, rings in view.zone_rings.items():
        polys = [[_ring([p[0] for p in r], [p[1] for p in r])] for r in rings]
        geom = (
            {"type": "Polygon", "coordinates": polys[0]}
            if len(polys) == 1
            else {"type": "MultiPolygon", "coordinates": polys}
        )
        feats.append(
            _feature(geom, feature="zone", name=name, kind=kinds[name], value=values[name])
        )
    sc = view.scenario
    feats += [
        _feature(_point(lm.lat, lm.lon), feature="landmark", name=lm.name) for lm in sc.landmarks
    ]
    feats += [_feature(_point(s.lat, s.lon), feature="sensor", name=s.id) for s in sc.sensors]
    feats += [_feature(_point(w.lat, w.lon), feature="weapon", name=w.id) for w in sc.weapons]
    return feats


def _launch_features(view: RunView) -> list[dict]:
    return [
        _feature(
            _point(e.lat, e.lon),
            feature="launch",
            threat=e.threat_id,
            type=e.threat_type,
            t_s=e.t_s,
        )
        for e in view.of_kind("launch")
    ]


def _trajectory_features(view: RunView) -> list[dict]:
    """True threat trajectories with at least two samples, heights above the ellipsoid."""
    threats = {t["id"]: t for t in view.summary["threats"]}
    feats = []
    for p in view.threat_paths():
        if len(p.t_s) < 2:
            continue
        coords = [_pt(a, o, h) for a, o, h in zip(p.lat, p.lon, p.alt_m, strict=True)]
        feats.append(
            _feature(
                {"type": "LineString", "coordinates": coords},
                feature="trajectory",
                threat=p.id,
                type=p.label,
                outcome=threats.get(p.id, {}).get("outcome"),
                t_start_s=float(p.t_s[0]),
                t_end_s=float(p.t_s[-1]),
            )
        )
    return feats


def _impact_features(view: RunView) -> list[dict]:
    return [
        _feature(
            _point(e.lat, e.lon),
            feature="impact",
            threat=e.threat_id,
            t_s=e.t_s,
            speed_mps=e.speed_mps,
            zones=list(e.zones),
        )
        for e in view.of_kind("impact")
    ]


def _ellipse_features(view: RunView) -> list[dict]:
    """The last impact and origin 95 % ellipse of every track."""
    owner = view.track_threat()
    feats = []
    for kind, label in (("impact_predicted", "impact_ellipse"), ("respond", "origin_ellipse")):
        for tid, evs in sorted(view.predictions(kind).items()):
            feats.append(_ellipse_feature(evs[-1], kind, label, tid, owner.get(tid)))
    return feats


def _ellipse_feature(e, kind: str, label: str, tid, threat) -> dict:
    el = e.ellipse95
    la, lo = ellipse_ring(e.lat, e.lon, el.semi_major_m, el.semi_minor_m, el.orientation_deg)
    props = {
        "feature": label,
        "track_id": tid,
        "threat": threat,
        "t_s": e.t_s,
        "center": _pt(e.lat, e.lon),
        "semi_major_m": el.semi_major_m,
        "semi_minor_m": el.semi_minor_m,
        "orientation_deg": el.orientation_deg,
        "probability": 0.95,
    }
    if kind == "impact_predicted":
        props["impact_time_s"] = e.impact_time_s
    else:
        props["launch_time_s"] = e.launch_time_s
    return _feature(_polygon(la, lo), **props)


def _intercept_features(view: RunView) -> list[dict]:
    return [
        _feature(
            _point(b.lat, b.lon, b.alt_m),
            feature="intercept",
            gun=b.gun,
            track_id=b.track_id,
            threat=b.threat_id,
            fire_s=b.fire_s,
            t_s=b.intercept_s,
            rounds=b.rounds,
            p_kill=b.p_kill,
            killed=b.killed,
            result=b.result,
            cancelled=b.cancelled or None,
            ammo_left=b.ammo_left,
        )
        for b in view.bursts()
    ]


def geojson_text(view: RunView) -> str:
    return json.dumps(build_geojson(view), separators=(",", ":"), allow_nan=False) + "\n"
