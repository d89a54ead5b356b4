"""KML and KMZ export of a run for Google Earth, written with simplekml.

Time-dynamic: true trajectories, friendly aircraft and confirmed tracks are ``gx:Track``s
(one ``<when>`` per sample); each 95 % impact or origin ellipse is a polygon shown from the
time it was predicted until the next prediction of the same track (``TimeSpan``); impacts,
intercepts and collateral footprints appear at their time. Zones, landmarks, radars and
guns are static. Heights are written relative to the ground (``relativeToGround``): the
engine's terrain is flat at the site altitude, so height above ground is the event's
altitude minus the site's. Colours follow the report's map.

The file validates against the OGC KML 2.2 schema with Google's ``gx`` extension schema
(``tests/test_against_kml_schema.py``). simplekml 1.3.6 writes three things the schema
rejects, which :func:`conform` puts right on the written tree (with lxml): numeric element
ids (``xs:ID`` must not start with a digit), shared styles before a folder's ``name``, and
``altitudeMode`` after a geometry's coordinates. Nothing is fetched from the network: a
KML names no icon (viewers draw their default placemark), a KMZ carries its own icon
(``files/dot.png``, a white disc that the styles colour).
"""

from __future__ import annotations

import io
import zipfile
from datetime import datetime

import numpy as np
import simplekml
from lxml import etree

from opencram.interop.runview import PALETTE_RGB, RunView, circle_ring, ellipse_ring, iso

ICON_HREF = "files/dot.png"  # the icon inside a KMZ
_NS = "{http://www.opengis.net/kml/2.2}"
_FEATURE_HEAD = {"name", "visibility", "open", "address", "phoneNumber", "Snippet",
                 "description", "TimeStamp", "TimeSpan", "styleUrl"}  # fmt: skip


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
    st.iconstyle.icon.href = ICON_HREF
    st.iconstyle.color = _colour(key)
    st.iconstyle.scale = 0.6
    st.labelstyle.scale = 0.7
    return st


def _point_style(key: str, scale: float = 0.8):
    st = simplekml.Style()
    st.iconstyle.icon.href = ICON_HREF
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


def conform(text: str, *, icons: bool) -> bytes:
    """simplekml's output made valid under the KML 2.2 schema (see the module docstring):
    ids prefixed with ``id``, every shared style moved to the document after its name and
    description, ``altitudeMode`` moved before the coordinates. Without ``icons`` the
    ``Icon`` of each icon style is dropped, so the file refers to nothing outside it."""
    root = etree.fromstring(text.encode("utf-8"), etree.XMLParser(remove_blank_text=True))
    for el in root.iter():
        if el.get("id") is not None:
            el.set("id", "id" + el.get("id"))
    for url in root.iter(_NS + "styleUrl"):
        url.text = "#id" + (url.text or "").lstrip("#")
    doc = root.find(_NS + "Document")
    head = [i for i, ch in enumerate(doc) if etree.QName(ch).localname in _FEATURE_HEAD]
    at = max(head, default=-1) + 1
    for st in list(root.iter(_NS + "Style", _NS + "StyleMap")):
        st.getparent().remove(st)
        doc.insert(at, st)
        at += 1
    for mode in list(root.iter(_NS + "altitudeMode")):
        parent = mode.getparent()
        before = [
            i for i, ch in enumerate(parent) if ch.tag in (_NS + "extrude", _NS + "tessellate")
        ]
        parent.remove(mode)
        parent.insert(max(before, default=-1) + 1, mode)
    if not icons:
        for icon in list(root.iter(_NS + "Icon")):
            icon.getparent().remove(icon)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def kml_text(view: RunView, epoch: datetime) -> str:
    """The run as KML text (no icon files referred to)."""
    return conform(build_kml(view, epoch).kml(), icons=False).decode("utf-8")


def icon_png() -> bytes:
    """The placemark icon: a 64-pixel white disc with a dark rim on transparency (the
    styles colour it: KML multiplies an icon's pixels by the style's colour)."""
    import matplotlib.image  # deferred: only a KMZ needs it

    yy, xx = np.mgrid[0:64, 0:64] + 0.5
    r = np.hypot(xx - 32.0, yy - 32.0)
    alpha = np.clip(30.0 - r, 0.0, 1.0)  # anti-aliased edge at radius 30
    grey = np.where(r > 26.0, 0.25, 1.0)  # a 4-pixel rim
    rgba = np.dstack([grey, grey, grey, alpha])
    buf = io.BytesIO()
    matplotlib.image.imsave(buf, rgba, format="png", metadata={"Software": None})
    return buf.getvalue()


def kmz_bytes(view: RunView, epoch: datetime) -> bytes:
    """The run as KMZ: ``doc.kml`` and the icon it uses, in one zip file (fixed member
    dates, so the same run gives the same archive)."""
    doc = conform(build_kml(view, epoch).kml(), icons=True)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in (("doc.kml", doc), (ICON_HREF, icon_png())):
            info = zipfile.ZipInfo(name, date_time=(2021, 12, 19, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            z.writestr(info, data)
    return buf.getvalue()
