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
    """The run as a KML document: its folders in a fixed order (the element ids depend on
    the order in which they are made)."""
    # simplekml numbers its elements from a class-wide counter; start it at zero so the
    # same run gives the same file (the ids only link styles to placemarks).
    if hasattr(simplekml.base.Kmlable, "_globalid"):
        simplekml.base.Kmlable._globalid = 0
    s = view.scenario
    kml = simplekml.Kml(name=f"opencram: {s.name}")
    kml.document.description = (
        f"{s.description} Seed {view.summary.get('seed')}; scenario time 0 is "
        f"{iso(epoch, 0.0)}. Heights are above the ground (flat at the site altitude)."
    )
    _add_zones(kml, view)
    _add_site(kml, view)
    _add_truth(kml, view, epoch)
    _add_paths(kml, "Friendly aircraft", "aircraft", view.aircraft_paths(), view, epoch)
    _add_paths(kml, "Tracks", "track", view.track_paths(), view, epoch, "class: ")
    _add_ellipses(kml, view, epoch)
    bursts, withheld = view.bursts(), view.withheld()
    _add_intercepts(kml, bursts, view, epoch)
    _add_footprints(kml, bursts, withheld, epoch)
    return kml


def _add_zones(kml: simplekml.Kml, view: RunView) -> None:
    zones = kml.newfolder(name="Zones")
    zstyles = {k: _poly_style(k, 60) for k in ("protected", "no-fire", "warning")}
    for z in view.scenario.zones:
        for r in view.zone_rings[z.name]:
            p = zones.newpolygon(name=z.name, outerboundaryis=_closed(*zip(*r, strict=True)))
            p.style = zstyles[z.kind]
            p.description = f"{z.kind} zone, value {z.value:g}"


def _add_site(kml: simplekml.Kml, view: RunView) -> None:
    """Landmarks, radars and guns."""
    s = view.scenario
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


def _gx_track(folder, path, epoch: datetime, site_alt_m: float):
    """A ``gx:Track`` of ``path`` in ``folder``, heights above the ground."""
    trk = folder.newgxtrack(name=path.id)
    trk.newwhen([iso(epoch, t) for t in path.t_s])
    trk.newgxcoord(
        [
            (round(float(o), 7), round(float(a), 7), round(float(h - site_alt_m), 2))
            for a, o, h in zip(path.lat, path.lon, path.alt_m, strict=True)
        ]
    )
    trk.altitudemode = simplekml.AltitudeMode.relativetoground
    return trk


def _add_truth(kml: simplekml.Kml, view: RunView, epoch: datetime) -> None:
    """True threat trajectories, their impacts and their launches."""
    site_alt = view.scenario.site.alt_m
    threats = {t["id"]: t for t in view.summary["threats"]}
    truth = kml.newfolder(name="Threats (truth)")
    tstyle = _line_style("threat")
    for p in view.threat_paths():
        trk = _gx_track(truth, p, epoch, site_alt)
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


def _add_paths(kml, folder_name, style_key, paths, view, epoch, label_prefix=None) -> None:
    """A folder of ``gx:Track``s (none when there are no paths); with ``label_prefix``,
    each track's description is the prefix and the path's label."""
    if not paths:
        return
    folder = kml.newfolder(name=folder_name)
    style = _line_style(style_key)
    for p in paths:
        trk = _gx_track(folder, p, epoch, view.scenario.site.alt_m)
        trk.style = style
        if label_prefix is not None:
            trk.description = f"{label_prefix}{p.label}"


def _add_ellipses(kml: simplekml.Kml, view: RunView, epoch: datetime) -> None:
    """Impact and origin 95 % ellipses, each shown until the track's next prediction."""
    end_iso = iso(epoch, view.end_s)
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
                p = _ellipse_polygon(fe, tid, e, kind, epoch)
                p.timespan.end = iso(epoch, evs[i + 1].t_s) if i + 1 < len(evs) else end_iso
                p.style = st


def _ellipse_polygon(folder, tid, e, kind: str, epoch: datetime):
    """One prediction's 95 % ellipse as a polygon from the prediction's time."""
    el = e.ellipse95
    la, lo = ellipse_ring(e.lat, e.lon, el.semi_major_m, el.semi_minor_m, el.orientation_deg)
    p = folder.newpolygon(name=f"T{tid}", outerboundaryis=_closed(la, lo))
    p.timespan.begin = iso(epoch, e.t_s)
    when = (
        f"impact at t={e.impact_time_s:.1f} s"
        if kind == "impact_predicted"
        else f"launched at t={e.launch_time_s:.1f} s"
    )
    p.description = (
        f"{when}; 95 % ellipse {el.semi_major_m:.0f} x {el.semi_minor_m:.0f} m, "
        f"major axis {el.orientation_deg:.0f} deg"
    )
    return p


def _add_intercepts(kml: simplekml.Kml, bursts, view: RunView, epoch: datetime) -> None:
    """Each burst at its intercept point and time (large icon for a kill)."""
    if not bursts:
        return
    site_alt = view.scenario.site.alt_m
    fi = kml.newfolder(name="Intercepts")
    kill_style, miss_style = _point_style("intercept", 1.2), _point_style("intercept", 0.6)
    for b in bursts:
        pt = fi.newpoint(
            name=f"{b.gun} on {b.threat_id or f'T{b.track_id}'}: {b.result}",
            coords=[(b.lon, b.lat, round(b.alt_m - site_alt, 2))],
        )
        pt.altitudemode = simplekml.AltitudeMode.relativetoground
        pt.timestamp.when = iso(epoch, b.intercept_s)
        pt.style = kill_style if b.killed else miss_style
        pt.description = (
            f"fired t={b.fire_s:.1f} s, {b.rounds} rounds, P(kill) {b.p_kill:.2f}, "
            f"{b.ammo_left} rounds left"
        )


def _add_footprints(kml: simplekml.Kml, bursts, withheld, epoch: datetime) -> None:
    """Dud and debris discs of fired bursts, and (outlined) of withheld ones."""
    if not (
        any(b.footprints for b in bursts) or any(getattr(w, "footprints", ()) for w in withheld)
    ):
        return
    items = [
        (b.fire_s, b.gun, b.track_id, f, False, "") for b in bursts if b.fired for f in b.footprints
    ]
    items += [
        (w.t_s, w.gun, w.track_id, f, True, w.reason)
        for w in withheld
        for f in (getattr(w, "footprints", ()) or ())
    ]
    fc = kml.newfolder(name="Collateral footprints")
    fstyle = {k: _poly_style(k, 70) for k in ("dud", "debris")}
    wstyle = {k: _poly_style(k, 0, width=2.5, line_key="withheld") for k in ("dud", "debris")}
    for t, gun, tid, f, held, why in items:
        la, lo = circle_ring(f.lat, f.lon, f.radius_m)
        name = f"{f.kind} {gun or ''} T{tid}" + (" (withheld)" if held else "")
        p = fc.newpolygon(name=name, outerboundaryis=_closed(la, lo))
        p.timespan.begin = iso(epoch, t)
        p.style = (wstyle if held else fstyle)[f.kind]
        p.description = f"radius {f.radius_m:.0f} m" + (f"; withheld: {why}" if held else "")


def kml_text(view: RunView, epoch: datetime) -> str:
    return build_kml(view, epoch).kml()
