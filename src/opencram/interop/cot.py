"""Cursor on Target (CoT 2.0) messages built from opencram's typed events.

Pure functions: events in, XML ``bytes`` out (one ``<event>`` element per message, UTF-8,
no XML declaration, no line breaks), so the same messages can be printed, logged or sent
to a TAK server (:mod:`opencram.interop.tak`). What is sent and why is described in
docs/interop-cot.md.

Times: an event's ``t_s`` is its data time in seconds (from scenario start, or the time
of day in the live service). The CoT ``time`` and ``start`` are when the message is valid,
as UTC xs:dateTime with milliseconds, and ``stale`` a type-dependent time later (see the
``*_STALE_S`` constants). Either the message is stamped from a fixed ``epoch``
(``time = epoch + t_s``), or, given a ``clock``, from the wall clock when it is built
(``time = clock()``), so that a live or paced feed is never stale on arrival. Every
message carries its data time as ``<opencram data_time_s="..."/>`` in its detail.
"""

from __future__ import annotations

import math
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from opencram.c2.events import (
    Ellipse95,
    Event,
    ImpactPredicted,
    OriginEstimated,
    TrackUpdated,
    ZoneAlert,
)
from opencram.errors import UserError

# The night of the green-zone scenario's reported attack (18-19 December 2021).
DEFAULT_EPOCH = datetime(2021, 12, 19, tzinfo=UTC)

UID_PREFIX = "opencram"

# CoT types
TYPE_HOSTILE_AIR_WEAPON = "a-h-A-W"
TYPE_UNKNOWN_AIR = "a-u-A"
TYPE_FRIENDLY_AIR = "a-f-A"
TYPE_ELLIPSE = "u-d-c-c"
TYPE_POLYGON = "u-d-f"
# ATAK's emergency types (ATAK-CIV, atak/ATAK/app/src/main/java/com/atakmap/android/
# emergency/tool/EmergencyType.java): b-a-o-tbl "911 Alert", b-a-o-pan "Ring The Bell",
# b-a-o-opn "In Contact" (troops in contact: under hostile fire), b-a-g "Geo-fence
# Breached", b-a-o-c "Custom", b-a-o-can "Cancel Alert". Incoming rocket or mortar fire
# on a zone is "In Contact", not a friendly's 911 call.
TYPE_ALERT = "b-a-o-opn"
ALERT_EMERGENCY_TYPE = "In Contact"
TYPE_ALERT_CANCEL = "b-a-o-can"
# ATAK's delete task (ATAK-CIV, atak/ATAK/app/src/main/java/com/atakmap/android/cotdelete/
# CotDeleteImporter.java): a t-x-d-d event whose first <link> names the uid, relation and
# type of the item to remove; with <__forcedelete/> the item is removed from the map at
# once, without it only marked stale.
TYPE_DELETE = "t-x-d-d"
DELETE_STALE_S = 60.0

# how
HOW_PREDICTED = "m-p"
HOW_ESTIMATED = "h-e"

# Track classes (opencram.track.classify.CLASSES) and their CoT types. A rocket, mortar
# or artillery round in flight has no CoT code of its own: the nearest is a hostile air
# weapon. A class we cannot vouch for as hostile (aircraft) is unknown air. Only a track
# identified as friendly (class "friendly": a friendly SSR code or a friendly position
# report, opencram.track.identity) is friendly air, a-f-A: the MIL-STD-2525 affiliation
# letter f of the CoT type, which ATAK draws as a friendly (blue) air track. It keeps its
# own uid beside the aircraft's own TAK marker: the radar's track of it, not its report.
TRACK_TYPES = {
    "rocket": TYPE_HOSTILE_AIR_WEAPON,
    "mortar": TYPE_HOSTILE_AIR_WEAPON,
    "artillery": TYPE_HOSTILE_AIR_WEAPON,
    "drone": TYPE_HOSTILE_AIR_WEAPON,
    "unknown": TYPE_HOSTILE_AIR_WEAPON,
    "aircraft": TYPE_UNKNOWN_AIR,
    "friendly": TYPE_FRIENDLY_AIR,
}

# How long each message stays valid after its time, in seconds.
TRACK_STALE_S = 10.0  # a few radar scans: a track that stops updating fades quickly
IMPACT_STALE_AFTER_S = 30.0  # after the predicted impact time
ORIGIN_STALE_S = 3600.0  # the search for the launch site lasts
ZONE_STALE_AFTER_S = 30.0  # after the expected impact; 60 s when that time is unknown
ZONE_STALE_UNKNOWN_S = 60.0
ALERT_STALE_S = 120.0

UNKNOWN_ERROR_M = 9999999.0  # CoT's "not known" for ce and le


def argb(a: int, r: int, g: int, b: int) -> int:
    """A colour as TAK writes it: the 32-bit ARGB word as a signed integer."""
    for c in (a, r, g, b):
        if not 0 <= c <= 255:
            raise ValueError(f"colour component {c} is not in 0..255")
    word = (a << 24) | (r << 16) | (g << 8) | b
    return word - (1 << 32) if word >= 1 << 31 else word


IMPACT_STROKE = argb(255, 255, 96, 0)  # orange
IMPACT_FILL = argb(80, 255, 96, 0)
ORIGIN_STROKE = argb(255, 255, 0, 255)  # magenta
ORIGIN_FILL = argb(64, 255, 0, 255)
ZONE_STROKE = argb(255, 255, 0, 0)  # red
ZONE_FILL = argb(96, 255, 0, 0)


# --- times and names ----------------------------------------------------------------------


def parse_epoch(text: str) -> datetime:
    """An ISO 8601 date-time (``Z`` or an offset; no zone means UTC) as an aware UTC time."""
    s = text.strip()
    if s.endswith(("Z", "z")):
        s = s[:-1] + "+00:00"
    dt = datetime.fromisoformat(s)  # ValueError if malformed
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.astimezone(UTC)


def epoch_option(text: str) -> datetime:
    """``--epoch`` of a command: :func:`parse_epoch`, or a one-line ``UserError``."""
    try:
        return parse_epoch(text)
    except ValueError:
        raise UserError(
            f"--epoch {text}: not an ISO 8601 date-time, e.g. 2021-12-19T00:00:00Z"
        ) from None


def _as_epoch(epoch: datetime | str) -> datetime:
    if isinstance(epoch, str):
        return parse_epoch(epoch)
    return epoch.replace(tzinfo=UTC) if epoch.tzinfo is None else epoch.astimezone(UTC)


def cot_time(epoch: datetime, t_s: float) -> str:
    """``epoch + t_s`` as a CoT xs:dateTime in UTC with milliseconds."""
    dt = _as_epoch(epoch) + timedelta(seconds=float(t_s))
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


Clock = Callable[[], datetime]


def stamp_epoch(t_s: float, *, epoch: datetime | str, clock: Clock | None) -> datetime:
    """The epoch that stamps a message of data time ``t_s``: ``epoch`` itself, or with a
    ``clock`` the one that puts ``t_s`` at the clock's now (``time`` = now)."""
    if clock is None:
        return _as_epoch(epoch)
    return _as_epoch(clock()) - timedelta(seconds=float(t_s))


def slug(name: str) -> str:
    """A zone name as a uid part: lower case, runs of other characters as one hyphen."""
    s = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
    return s or "zone"


def track_uid(track_id: int) -> str:
    return f"{UID_PREFIX}-track-{track_id}"


def impact_uid(track_id: int) -> str:
    return f"{UID_PREFIX}-impact-{track_id}"


def origin_uid(track_id: int) -> str:
    return f"{UID_PREFIX}-origin-{track_id}"


def zone_uid(zone: str, part: int = 0) -> str:
    base = f"{UID_PREFIX}-zone-{slug(zone)}"
    return base if part == 0 else f"{base}-{part + 1}"


def alert_uid(zone: str) -> str:
    return f"{UID_PREFIX}-alert-{slug(zone)}"


def delete_uid(target_uid: str) -> str:
    return f"{target_uid}-delete"


# --- building blocks ----------------------------------------------------------------------


def _num(x: float, digits: int) -> str:
    """A fixed-point number without a negative zero."""
    s = f"{x:.{digits}f}"
    return s[1:] if s.startswith("-") and float(s) == 0 else s


def _event(
    uid: str,
    cot_type: str,
    how: str,
    epoch: datetime,
    t_s: float,
    stale_s: float,
    *,
    simulated: bool,
) -> ET.Element:
    """The ``<event>`` root; ``stale_s`` is seconds after ``t_s`` (0 = stale at once)."""
    attrs = {
        "version": "2.0",
        "uid": uid,
        "type": cot_type,
        "how": how,
        "time": cot_time(epoch, t_s),
        "start": cot_time(epoch, t_s),
        "stale": cot_time(epoch, t_s + max(0.0, stale_s)),
    }
    if simulated:
        attrs["opex"] = "s"
    return ET.Element("event", attrs)


def _point(
    ev: ET.Element,
    lat: float,
    lon: float,
    hae: float,
    ce: float = UNKNOWN_ERROR_M,
    le: float = UNKNOWN_ERROR_M,
) -> None:
    ET.SubElement(
        ev,
        "point",
        {
            "lat": _num(lat, 7),
            "lon": _num(lon, 7),
            "hae": _num(hae, 1),
            "ce": _num(ce, 1),
            "le": _num(le, 1),
        },
    )


def _detail(root: ET.Element, t_s: float) -> ET.Element:
    """The ``<detail>`` with the message's data time (``<opencram data_time_s/>``)."""
    detail = ET.SubElement(root, "detail")
    ET.SubElement(detail, "opencram", {"data_time_s": _num(float(t_s), 3)})
    return detail


def _text(parent: ET.Element, tag: str, text: str, **attrs: str) -> ET.Element:
    el = ET.SubElement(parent, tag, attrs)
    el.text = text
    return el


def _colours(detail: ET.Element, stroke: int, fill: int, weight: float = 2.0) -> None:
    ET.SubElement(detail, "strokeColor", {"value": str(stroke)})
    ET.SubElement(detail, "strokeWeight", {"value": f"{weight:.1f}"})
    ET.SubElement(detail, "fillColor", {"value": str(fill)})


def _bytes(ev: ET.Element) -> bytes:
    return ET.tostring(ev, encoding="unicode", short_empty_elements=True).encode("utf-8")


def course_speed(vel_enu_mps: Sequence[float]) -> tuple[float, float]:
    """Course over ground (degrees clockwise from true north, in [0, 360)) and horizontal
    speed (m/s) from an East-North-Up velocity. A velocity with no horizontal part has
    course 0."""
    ve, vn = float(vel_enu_mps[0]), float(vel_enu_mps[1])
    speed = math.hypot(ve, vn)
    if speed < 1e-9:
        return 0.0, 0.0
    course = math.degrees(math.atan2(ve, vn)) % 360.0
    return (0.0 if course >= 359.9995 else course), speed


# --- one message per event kind -----------------------------------------------------------


def track_cot(
    ev: TrackUpdated,
    *,
    epoch: datetime | str = DEFAULT_EPOCH,
    simulated: bool = False,
    geoid_n_m: float = 0.0,
) -> bytes:
    """A track point: hostile air weapon (unknown air for class aircraft, friendly air for
    class friendly: :data:`TRACK_TYPES`). ``hae`` is
    ``alt_m + geoid_n_m``: pass the EGM96 geoid height N when ``alt_m`` is above mean sea
    level (see :data:`HEIGHTS`)."""
    epoch = _as_epoch(epoch)
    cot_type = TRACK_TYPES.get(ev.track_class, TYPE_HOSTILE_AIR_WEAPON)
    root = _event(
        track_uid(ev.track_id),
        cot_type,
        HOW_PREDICTED,
        epoch,
        ev.t_s,
        TRACK_STALE_S,
        simulated=simulated,
    )
    _point(root, ev.lat, ev.lon, ev.alt_m + geoid_n_m, ev.pos_sigma_m, ev.pos_sigma_m)
    detail = _detail(root, ev.t_s)
    course, speed = course_speed(ev.vel_enu_mps)
    ET.SubElement(detail, "track", {"course": _num(course, 1), "speed": _num(speed, 1)})
    ET.SubElement(detail, "contact", {"callsign": f"{ev.track_class.upper()} T{ev.track_id}"})
    bp = "" if ev.ballistic_prob is None else f"; ballistic probability {ev.ballistic_prob:.2f}"
    _text(
        detail,
        "remarks",
        f"opencram track {ev.track_id}: class {ev.track_class}; sensor {ev.sensor}; "
        f"measured t={ev.measured_s:.2f} s; climb {ev.vel_enu_mps[2]:+.1f} m/s; "
        f"position sigma {ev.pos_sigma_m:.1f} m{bp}",
    )
    return _bytes(root)


def ellipse_attributes(e: Ellipse95) -> dict[str, str]:
    """The ``<ellipse>`` attributes of a 95 % ellipse, as ATAK reads them: ``major`` and
    ``minor`` are full axis lengths in metres (twice the semi-axes) and ``angle`` is the
    azimuth of the major axis, degrees clockwise from true north (docs/interop-cot.md).

    ATAK reads a ``u-d-c-c`` whose ``major`` equals its ``minor`` at angle 0 as a drawn
    circle, taking the value as the radius; a round ellipse is therefore written at angle
    90, which draws the same circle through ATAK's ellipse path."""
    major, minor = _num(2.0 * e.semi_major_m, 1), _num(2.0 * e.semi_minor_m, 1)
    angle = _num(e.orientation_deg % 180.0, 1)
    if major == minor and float(angle) % 360.0 == 0.0:
        angle = _num(90.0, 1)
    return {"major": major, "minor": minor, "angle": angle}


def _ellipse(detail: ET.Element, e: Ellipse95) -> None:
    shape = ET.SubElement(detail, "shape")
    ET.SubElement(shape, "ellipse", ellipse_attributes(e))


def impact_cot(
    ev: ImpactPredicted,
    *,
    epoch: datetime | str = DEFAULT_EPOCH,
    simulated: bool = False,
    geoid_n_m: float = 0.0,
) -> bytes:
    """The predicted impact point with its 95 % ground ellipse (``u-d-c-c``); ``hae`` as
    in :func:`track_cot`."""
    epoch = _as_epoch(epoch)
    stale_at = max(ev.impact_time_s, ev.t_s) + IMPACT_STALE_AFTER_S
    root = _event(
        impact_uid(ev.track_id),
        TYPE_ELLIPSE,
        HOW_PREDICTED,
        epoch,
        ev.t_s,
        stale_at - ev.t_s,
        simulated=simulated,
    )
    _point(root, ev.lat, ev.lon, ev.alt_m + geoid_n_m)
    detail = _detail(root, ev.t_s)
    _ellipse(detail, ev.ellipse95)
    _colours(detail, IMPACT_STROKE, IMPACT_FILL)
    ET.SubElement(detail, "contact", {"callsign": f"IMPACT T{ev.track_id}"})
    e = ev.ellipse95
    _text(
        detail,
        "remarks",
        f"predicted impact of track {ev.track_id} ({ev.track_class}) in "
        f"{ev.time_to_impact_s:.1f} s, at {cot_time(epoch, ev.impact_time_s)}; 95 % ellipse "
        f"semi-axes {e.semi_major_m:.0f} m x {e.semi_minor_m:.0f} m, major axis "
        f"{e.orientation_deg:.0f} deg from true north",
    )
    return _bytes(root)


def origin_cot(
    ev: OriginEstimated,
    *,
    epoch: datetime | str = DEFAULT_EPOCH,
    simulated: bool = False,
    geoid_n_m: float = 0.0,
) -> bytes:
    """The estimated launch point with its 95 % ground ellipse (``u-d-c-c``); ``hae`` as
    in :func:`track_cot`."""
    epoch = _as_epoch(epoch)
    root = _event(
        origin_uid(ev.track_id),
        TYPE_ELLIPSE,
        HOW_ESTIMATED,
        epoch,
        ev.t_s,
        ORIGIN_STALE_S,
        simulated=simulated,
    )
    _point(root, ev.lat, ev.lon, ev.alt_m + geoid_n_m)
    detail = _detail(root, ev.t_s)
    _ellipse(detail, ev.ellipse95)
    _colours(detail, ORIGIN_STROKE, ORIGIN_FILL)
    ET.SubElement(detail, "contact", {"callsign": f"ORIGIN T{ev.track_id}"})
    e = ev.ellipse95
    _text(
        detail,
        "remarks",
        f"estimated launch point of track {ev.track_id} ({ev.track_class}), launched at "
        f"{cot_time(epoch, ev.launch_time_s)}; 95 % ellipse semi-axes {e.semi_major_m:.0f} m x "
        f"{e.semi_minor_m:.0f} m, major axis {e.orientation_deg:.0f} deg from true north",
    )
    return _bytes(root)


Ring = Sequence[tuple[float, float]]


def _as_rings(value: Ring | Sequence[Ring]) -> list[list[tuple[float, float]]]:
    """One ring of (lat, lon) pairs, or several rings, as a list of rings."""
    items = list(value)
    if not items:
        return []
    first = items[0]
    one_ring = len(first) == 2 and all(isinstance(c, int | float) for c in first)
    rings = [items] if one_ring else items
    return [[(float(p[0]), float(p[1])) for p in ring] for ring in rings]


def _open_ring(ring: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """The ring without a repeated closing vertex."""
    return ring[:-1] if len(ring) > 1 and ring[0] == ring[-1] else ring


def _centroid(ring: list[tuple[float, float]]) -> tuple[float, float]:
    """Area centroid of a small (lat, lon) ring; the vertex mean if it has no area."""
    pts = _open_ring(ring)
    lat0, lon0 = pts[0]
    a = cx = cy = 0.0
    for (y1, x1), (y2, x2) in zip(pts, pts[1:] + pts[:1], strict=True):
        x1, y1, x2, y2 = x1 - lon0, y1 - lat0, x2 - lon0, y2 - lat0
        cross = x1 * y2 - x2 * y1
        a += cross
        cx += (x1 + x2) * cross
        cy += (y1 + y2) * cross
    if abs(a) < 1e-18:
        return (
            sum(p[0] for p in pts) / len(pts),
            sum(p[1] for p in pts) / len(pts),
        )
    return lat0 + cy / (3.0 * a), lon0 + cx / (3.0 * a)


def zone_polygon_cot(
    zone: str,
    ring: Ring,
    t_s: float,
    stale_s: float,
    *,
    part: int = 0,
    remarks: str = "",
    epoch: datetime | str = DEFAULT_EPOCH,
    simulated: bool = False,
) -> bytes:
    """A warning zone as a closed free-form polygon (``u-d-f``), red-filled."""
    epoch = _as_epoch(epoch)
    pts = _open_ring(_as_rings(ring)[0])
    if len(pts) < 3:
        raise ValueError(f"zone '{zone}': a polygon needs at least 3 points")
    root = _event(
        zone_uid(zone, part),
        TYPE_POLYGON,
        HOW_PREDICTED,
        epoch,
        t_s,
        stale_s,
        simulated=simulated,
    )
    lat, lon = _centroid(pts)
    _point(root, lat, lon, 0.0)
    detail = _detail(root, t_s)
    for la, lo in [*pts, pts[0]]:
        ET.SubElement(detail, "link", {"point": f"{_num(la, 7)},{_num(lo, 7)}"})
    _colours(detail, ZONE_STROKE, ZONE_FILL, weight=3.0)
    ET.SubElement(detail, "contact", {"callsign": zone})
    ET.SubElement(detail, "labels_on", {"value": "true"})
    if remarks:
        _text(detail, "remarks", remarks)
    return _bytes(root)


def delete_cot(
    target_uid: str,
    target_type: str,
    t_s: float,
    lat: float,
    lon: float,
    *,
    epoch: datetime | str = DEFAULT_EPOCH,
    simulated: bool = False,
) -> bytes:
    """A delete task (``t-x-d-d``) that removes the map item ``target_uid`` at once.

    The convention is ATAK's (ATAK-CIV, ``atak/ATAK/app/src/main/java/com/atakmap/android/
    cotdelete/CotDeleteImporter.java``): the first ``<link>`` of the detail carries the
    ``uid``, ``relation`` and ``type`` of the item (all three must be present), and
    ``<__forcedelete/>`` removes it from its map group instead of marking it stale. The
    event itself has a uid of its own; its point is required by CoT but unused."""
    root = _event(
        delete_uid(target_uid),
        TYPE_DELETE,
        HOW_PREDICTED,
        _as_epoch(epoch),
        t_s,
        DELETE_STALE_S,
        simulated=simulated,
    )
    _point(root, lat, lon, 0.0)
    detail = _detail(root, t_s)
    ET.SubElement(detail, "link", {"uid": target_uid, "relation": "none", "type": target_type})
    ET.SubElement(detail, "__forcedelete")
    return _bytes(root)


def _zone_remarks(ev: ZoneAlert) -> str:
    if ev.state == "cleared":
        return f"ALL CLEAR {ev.zone}"
    tracks = ", ".join(str(i) for i in ev.track_ids) or "none"
    tti = "" if ev.time_to_impact_s is None else f"; impact in {ev.time_to_impact_s:.1f} s"
    return (
        f"INCOMING {ev.zone}: probability {ev.probability:.2f} that a threat lands "
        f"in the zone; tracks {tracks}{tti}"
    )


def _zone_shapes(
    ev: ZoneAlert, rings: list[list[tuple[float, float]]], epoch: datetime, simulated: bool
) -> list[bytes]:
    """The zone's polygons (raised or updated), or a delete task for each (cleared)."""
    if ev.state == "cleared":
        out = []
        for k, ring in enumerate(rings):
            lat, lon = _centroid(_open_ring(ring))
            out.append(
                delete_cot(
                    zone_uid(ev.zone, k),
                    TYPE_POLYGON,
                    ev.t_s,
                    lat,
                    lon,
                    epoch=epoch,
                    simulated=simulated,
                )
            )
        return out
    stale_s = (
        ZONE_STALE_UNKNOWN_S
        if ev.time_to_impact_s is None
        else max(0.0, ev.time_to_impact_s) + ZONE_STALE_AFTER_S
    )
    return [
        zone_polygon_cot(
            ev.zone,
            ring,
            ev.t_s,
            stale_s,
            part=k,
            remarks=_zone_remarks(ev),
            epoch=epoch,
            simulated=simulated,
        )
        for k, ring in enumerate(rings)
    ]


def zone_alert_cot(
    ev: ZoneAlert,
    rings: Ring | Sequence[Ring],
    *,
    epoch: datetime | str = DEFAULT_EPOCH,
    simulated: bool = False,
) -> list[bytes]:
    """A zone alert: the zone's polygon(s), plus an "In Contact" alert (``b-a-o-opn``) when
    ``raised``, sent again with the same uid when ``updated`` so that its text keeps the
    current tracks and time to impact; when ``cleared``, a delete task (``t-x-d-d``) for
    each polygon and the alert's cancel (``b-a-o-can``)."""
    epoch = _as_epoch(epoch)
    all_rings = _as_rings(rings)
    if not all_rings:
        raise ValueError(f"zone '{ev.zone}': no polygon")
    out = _zone_shapes(ev, all_rings, epoch, simulated)
    lat, lon = _centroid(_open_ring(all_rings[0]))
    raised = ev.state != "cleared"
    root = _event(
        alert_uid(ev.zone),
        TYPE_ALERT if raised else TYPE_ALERT_CANCEL,
        HOW_PREDICTED,
        epoch,
        ev.t_s,
        ALERT_STALE_S,
        simulated=simulated,
    )
    _point(root, lat, lon, 0.0)
    detail = _detail(root, ev.t_s)
    ET.SubElement(
        detail, "link", {"uid": zone_uid(ev.zone), "type": TYPE_POLYGON, "relation": "p-p"}
    )
    ET.SubElement(detail, "contact", {"callsign": ev.zone})
    if raised:
        _text(detail, "emergency", ev.zone, type=ALERT_EMERGENCY_TYPE)
    else:
        _text(detail, "emergency", ev.zone, cancel="true")
    _text(detail, "remarks", _zone_remarks(ev))
    out.append(_bytes(root))
    return out


# --- a whole run --------------------------------------------------------------------------

COT_EVENT_KINDS = (TrackUpdated, ImpactPredicted, OriginEstimated, ZoneAlert)
_POINT_KINDS = (TrackUpdated, ImpactPredicted, OriginEstimated)

# What the events' ``alt_m`` are above: "ellipsoid" (WGS-84; CoT's ``hae`` is the same
# number) or "msl" (mean sea level, as the EGM96 geoid; ``hae = alt_m + N``, with N from
# opencram.geoid). docs/interop-cot.md says which inputs give which.
HEIGHTS = ("ellipsoid", "msl")


def geoid_offsets(events: Sequence[Event], heights: str = "ellipsoid") -> list[float]:
    """The height to add to each event's ``alt_m`` to get ``hae``: 0 for every event with
    ``heights="ellipsoid"``, the EGM96 geoid height N at the event's point (one batched
    look-up) with ``"msl"``, 0 for events without a point."""
    if heights not in HEIGHTS:
        raise UserError(f"heights: must be ellipsoid or msl, not '{heights}'")
    out = [0.0] * len(events)
    idx = [i for i, ev in enumerate(events) if isinstance(ev, _POINT_KINDS)]
    if heights == "msl" and idx:
        from opencram.geoid import undulation_m  # deferred: pyproj

        n = undulation_m([events[i].lat for i in idx], [events[i].lon for i in idx])
        for i, v in zip(idx, n.tolist(), strict=True):
            out[i] = v
    return out


def event_cot(
    ev: Event,
    zone_rings: dict[str, Ring | Sequence[Ring]],
    *,
    epoch: datetime | str = DEFAULT_EPOCH,
    clock: Clock | None = None,
    simulated: bool = False,
    heights: str = "ellipsoid",
    geoid_n_m: float | None = None,
) -> list[bytes]:
    """The CoT messages of one event (none for an event kind that is not sent), stamped
    from ``epoch``, or from ``clock()`` when a clock is given (see :func:`stamp_epoch`).
    ``heights`` says what the event's ``alt_m`` is above (:data:`HEIGHTS`); a caller that
    has looked N up already (:func:`geoid_offsets`) passes it as ``geoid_n_m``."""
    if not isinstance(ev, COT_EVENT_KINDS):
        return []
    at = stamp_epoch(ev.t_s, epoch=epoch, clock=clock)
    if isinstance(ev, _POINT_KINDS):
        n = geoid_offsets([ev], heights)[0] if geoid_n_m is None else geoid_n_m
        build = {TrackUpdated: track_cot, ImpactPredicted: impact_cot, OriginEstimated: origin_cot}
        return [build[type(ev)](ev, epoch=at, simulated=simulated, geoid_n_m=n)]
    if ev.zone not in zone_rings:
        raise KeyError(ev.zone)
    return zone_alert_cot(ev, zone_rings[ev.zone], epoch=at, simulated=simulated)


def events_to_cot(
    events: Iterable[Event],
    zone_rings: dict[str, Ring | Sequence[Ring]],
    *,
    epoch: datetime | str = DEFAULT_EPOCH,
    clock: Clock | None = None,
    simulated: bool = False,
    heights: str = "ellipsoid",
) -> list[bytes]:
    """CoT messages for the CoT-able events (tracks, impact and origin ellipses, zone
    alerts), in event order. ``zone_rings`` maps each zone name to its (lat, lon) ring, or
    to a list of rings for a zone of several parts; a ``ZoneAlert`` for a zone missing from
    it raises ``KeyError``. With ``clock`` (e.g. ``lambda: datetime.now(UTC)``) every
    message is stamped from the clock when it is built, and ``epoch`` is not used.
    ``heights`` says what the events' ``alt_m`` are above (:data:`HEIGHTS`)."""
    events = list(events)
    offsets = geoid_offsets(events, heights)
    out: list[bytes] = []
    for ev, n in zip(events, offsets, strict=True):
        out += event_cot(ev, zone_rings, epoch=epoch, clock=clock, simulated=simulated, geoid_n_m=n)
    return out


# --- friendly positions read from a TAK server ---------------------------------------------

TYPE_FRIENDLY_AIR_PREFIX = "a-f-A"  # a-f-A and its subtypes (a-f-A-M-H: military rotary wing)
HAE_UNKNOWN = 9_999_999.0  # CoT's value for an unknown height


@dataclass(frozen=True)
class FriendlyReport:
    """A friendly air position from a TAK server's ``a-f-A`` feed: WGS-84 degrees and
    metres above the ellipsoid (NaN when the report gives none)."""

    uid: str
    lat: float
    lon: float
    hae_m: float


def _is_friendly_air(el: ET.Element, now: datetime) -> bool:
    """A friendly air event, not one of ours (our friendly tracks go out as ``a-f-A`` too,
    and a server may echo them: they must not confirm themselves), not yet stale."""
    if el.tag != "event" or not el.get("type", "").startswith(TYPE_FRIENDLY_AIR_PREFIX):
        return False
    if el.get("uid", "").startswith(f"{UID_PREFIX}-"):
        return False
    try:
        return parse_epoch(el.get("stale", "")) > now
    except ValueError:
        return False


def friendly_air_reports(elements: Iterable[ET.Element], now: datetime) -> list[FriendlyReport]:
    """The friendly air positions among CoT ``<event>`` elements received at ``now`` (UTC):
    type ``a-f-A`` or a subtype, uid not ours, not stale, with a valid point."""
    out = []
    for el in elements:
        point = el.find("point")
        if point is None or not _is_friendly_air(el, now):
            continue
        try:
            lat, lon = float(point.get("lat", "")), float(point.get("lon", ""))
            hae = float(point.get("hae", HAE_UNKNOWN))
        except ValueError:
            continue
        if not (math.isfinite(lat) and math.isfinite(lon) and -90 <= lat <= 90):
            continue
        if not -180 <= lon <= 180:
            continue
        known = math.isfinite(hae) and abs(hae) < HAE_UNKNOWN - 1
        out.append(FriendlyReport(el.get("uid", ""), lat, lon, hae if known else math.nan))
    return out
