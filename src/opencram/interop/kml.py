"""KML export of a run for Google Earth, written with simplekml.

Time-dynamic: true trajectories, friendly aircraft and confirmed tracks are ``gx:Track``s
(one ``<when>`` per sample); each 95 % impact or origin ellipse is a polygon shown from the
time it was predicted until the next prediction of the same track (``TimeSpan``); impacts,
intercepts and collateral footprints appear at their time. Zones, landmarks, radars and
guns are static. Heights are written relative to the ground (``relativeToGround``): the
engine's terrain is flat at the site altitude, so height above ground is the event's
altitude minus the site's. Colours follow the report's map.
"""

from __future__ import annotations

from datetime import datetime

import simplekml

from opencram.interop.runview import PALETTE_RGB, RunView, circle_ring, ellipse_ring, iso


def _colour(key: str, alpha: int = 255) -> str:
    r, g, b = PALETTE_RGB[key]
    return simplekml.Color.rgb(r, g, b, alpha)  # KML's aabbggrr


def _poly_style(key: str, fill_alpha: int, width: float = 1.5, line_key: str | None = None):
    st = simplekml.Style()
    st.polystyle.color = _colour(key, fill_alpha)
    st.polystyle.fill = 1 if fill_alpha > 0 else 0
    st.linestyle.color = _colour(line_key or key)
    st.linestyle.width = width
    return st


def _line_style(key: str, width: float = 2.0):
    st = simplekml.Style()
    st.linestyle.color = _colour(key)
    st.linestyle.width = width
    st.iconstyle.color = _colour(key)
    st.iconstyle.scale = 0.6
    st.labelstyle.scale = 0.7
    return st


def _point_style(key: str, scale: float = 0.8):
    st = simplekml.Style()
    st.iconstyle.color = _colour(key)
    st.iconstyle.scale = scale
    st.labelstyle.scale = 0.7
    return st


def _closed(lats, lons) -> list[tuple[float, float]]:
    pts = [(round(float(o), 7), round(float(a), 7)) for a, o in zip(lats, lons, strict=True)]
    return [*pts, pts[0]]


def build_kml(view: RunView, epoch: datetime) -> simplekml.Kml:
    # simplekml numbers its elements from a class-wide counter; start it at zero so the
    # same run gives the same file (the ids only link styles to placemarks).
    if hasattr(simplekml.base.Kmlable, "_globalid"):
        simplekml.base.Kmlable._globalid = 0
    s = view.scenario
    site_alt = s.site.alt_m
    kml = simplekml.Kml(name=f"opencram: {s.name}")
    kml.document.description = (
        f"{s.description} Seed {view.summary.get('seed')}; scenario time 0 is "
        f"{iso(epoch, 0.0)}. Heights are above the ground (flat at the site altitude)."
    )
    end_iso = iso(epoch, view.end_s)

    zones = kml.newfolder(name="Zones")
    zstyles = {k: _poly_style(k, 60) for k in ("protected", "no-fire", "warning")}
    for z in s.zones:
        for r in view.zone_rings[z.name]:
            p = zones.newpolygon(name=z.name, outerboundaryis=_closed(*zip(*r, strict=True)))
            p.style = zstyles[z.kind]
            p.description = f"{z.kind} zone, value {z.value:g}"
    places = kml.newfolder(name="Site")
    for lm in s.landmarks:
        places.newpoint(name=lm.name, coords=[(lm.lon, lm.lat)])
    sen_style, gun_style = _point_style("track"), _point_style("intercept")
    for sen in s.sensors:
        p = places.newpoint(name=sen.id, coords=[(sen.lon, sen.lat)])
        p.style, p.description = sen_style, "radar"
    for w in s.weapons:
        p = places.newpoint(name=w.id, coords=[(w.lon, w.lat)])
        p.style, p.description = gun_style, "gun"

    threats = {t["id"]: t for t in view.summary["threats"]}
    truth = kml.newfolder(name="Threats (truth)")
    tstyle = _line_style("threat")
    for p in view.threat_paths():
        trk = truth.newgxtrack(name=p.id)
        trk.newwhen([iso(epoch, t) for t in p.t_s])
        trk.newgxcoord(
            [
                (round(float(o), 7), round(float(a), 7), round(float(h - site_alt), 2))
                for a, o, h in zip(p.lat, p.lon, p.alt_m, strict=True)
            ]
        )
        trk.altitudemode = simplekml.AltitudeMode.relativetoground
        trk.style = tstyle
        t = threats.get(p.id, {})
        trk.description = f"{p.label}; outcome: {t.get('outcome', 'unknown')}"
    istyle = _point_style("threat", 1.0)
    for e in view.of_kind("impact"):
        pt = truth.newpoint(name=f"impact {e.threat_id}", coords=[(e.lon, e.lat)])
        pt.timestamp.when = iso(epoch, e.t_s)
        pt.style = istyle
        pt.description = f"{e.speed_mps:.0f} m/s; zones: {', '.join(e.zones) or 'none'}"
    for e in view.of_kind("launch"):
        pt = truth.newpoint(name=f"launch {e.threat_id}", coords=[(e.lon, e.lat)])
        pt.timestamp.when = iso(epoch, e.t_s)
        pt.description = e.threat_type

    air = view.aircraft_paths()
    if air:
        fa = kml.newfolder(name="Friendly aircraft")
        astyle = _line_style("aircraft")
        for p in air:
            trk = fa.newgxtrack(name=p.id)
            trk.newwhen([iso(epoch, t) for t in p.t_s])
            trk.newgxcoord(
                [
                    (round(float(o), 7), round(float(a), 7), round(float(h - site_alt), 2))
                    for a, o, h in zip(p.lat, p.lon, p.alt_m, strict=True)
                ]
            )
            trk.altitudemode = simplekml.AltitudeMode.relativetoground
            trk.style = astyle

    tracks = view.track_paths()
    if tracks:
        ft = kml.newfolder(name="Tracks")
        trstyle = _line_style("track")
        for p in tracks:
            trk = ft.newgxtrack(name=p.id)
            trk.newwhen([iso(epoch, t) for t in p.t_s])
            trk.newgxcoord(
                [
                    (round(float(o), 7), round(float(a), 7), round(float(h - site_alt), 2))
                    for a, o, h in zip(p.lat, p.lon, p.alt_m, strict=True)
                ]
            )
            trk.altitudemode = simplekml.AltitudeMode.relativetoground
            trk.style = trstyle
            trk.description = f"class: {p.label}"

    for kind, folder_name, key in (
        ("impact_predicted", "Impact ellipses (95 %)", "impact_ellipse"),
        ("respond", "Origin ellipses (95 %)", "origin_ellipse"),
    ):
        preds = view.predictions(kind)
        if not preds:
            continue
        fe = kml.newfolder(name=folder_name)
        st = _poly_style(key, 40)
        for tid, evs in sorted(preds.items()):
            for i, e in enumerate(evs):
                el = e.ellipse95
                la, lo = ellipse_ring(
                    e.lat, e.lon, el.semi_major_m, el.semi_minor_m, el.orientation_deg
                )
                p = fe.newpolygon(name=f"T{tid}", outerboundaryis=_closed(la, lo))
                p.timespan.begin = iso(epoch, e.t_s)
                p.timespan.end = iso(epoch, evs[i + 1].t_s) if i + 1 < len(evs) else end_iso
                p.style = st
                when = (
                    f"impact at t={e.impact_time_s:.1f} s"
                    if kind == "impact_predicted"
                    else f"launched at t={e.launch_time_s:.1f} s"
                )
                p.description = (
                    f"{when}; 95 % ellipse {el.semi_major_m:.0f} x {el.semi_minor_m:.0f} m, "
                    f"major axis {el.orientation_deg:.0f} deg"
                )

    bursts = view.bursts()
    withheld = view.withheld()
    if bursts:
        fi = kml.newfolder(name="Intercepts")
        kill_style, miss_style = _point_style("intercept", 1.2), _point_style("intercept", 0.6)
        for b in bursts:
            res = b.result
            pt = fi.newpoint(
                name=f"{b.gun} on {b.threat_id or f'T{b.track_id}'}: {res}",
                coords=[(b.lon, b.lat, round(b.alt_m - site_alt, 2))],
            )
            pt.altitudemode = simplekml.AltitudeMode.relativetoground
            pt.timestamp.when = iso(epoch, b.intercept_s)
            pt.style = kill_style if b.killed else miss_style
            pt.description = (
                f"fired t={b.fire_s:.1f} s, {b.rounds} rounds, P(kill) {b.p_kill:.2f}, "
                f"{b.ammo_left} rounds left"
            )
    if any(b.footprints for b in bursts) or any(getattr(w, "footprints", ()) for w in withheld):
        fc = kml.newfolder(name="Collateral footprints")
        fstyle = {k: _poly_style(k, 70) for k in ("dud", "debris")}
        wstyle = {k: _poly_style(k, 0, width=2.5, line_key="withheld") for k in ("dud", "debris")}
        items = [
            (b.fire_s, b.gun, b.track_id, f, False, "")
            for b in bursts
            if b.fired
            for f in b.footprints
        ]
        items += [
            (w.t_s, w.gun, w.track_id, f, True, w.reason)
            for w in withheld
            for f in (getattr(w, "footprints", ()) or ())
        ]
        for t, gun, tid, f, held, why in items:
            la, lo = circle_ring(f.lat, f.lon, f.radius_m)
            name = f"{f.kind} {gun or ''} T{tid}" + (" (withheld)" if held else "")
            p = fc.newpolygon(name=name, outerboundaryis=_closed(la, lo))
            p.timespan.begin = iso(epoch, t)
            p.style = (wstyle if held else fstyle)[f.kind]
            p.description = f"radius {f.radius_m:.0f} m" + (f"; withheld: {why}" if held else "")
    return kml


def kml_text(view: RunView, epoch: datetime) -> str:
    return build_kml(view, epoch).kml()
