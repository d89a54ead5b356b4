"""CZML export of a run for Cesium, built with czml3.

A CZML document is a JSON list of packets; the first (``id: "document"``) sets the clock
to the run's span. Time-dynamic packets: each threat's true flight, each friendly aircraft
and each confirmed track is a sampled ``position`` (``[t, lon, lat, height, ...]`` with
``t`` in seconds from the packet's ``epoch``, scenario time 0) with a ``path``; each 95 %
impact or origin ellipse is a polygon packet available from its prediction until the next
one of the same track; impacts, intercepts and collateral footprints are available from
their time to the end of the run. Heights are above the WGS-84 ellipsoid, as the events
carry them (Cesium's default globe is that ellipsoid); ground shapes are drawn at the site
altitude.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from czml3 import Document, Packet
from czml3.enums import ClockRanges, ClockSteps, LabelStyles
from czml3.properties import (
    Clock,
    Color,
    Label,
    Material,
    Path,
    Point,
    Polygon,
    PolylineMaterial,
    Position,
    PositionList,
    SolidColorMaterial,
)
from czml3.types import TimeInterval

from opencram.interop.cot import slug
from opencram.interop.runview import PALETTE_RGB, Path4, RunView, circle_ring, ellipse_ring


def _color(key: str, alpha: int = 255) -> Color:
    return Color(rgba=[*PALETTE_RGB[key], alpha])


def _fill(key: str, alpha: int) -> Material:
    return Material(solidColor=SolidColorMaterial(color=_color(key, alpha)))


def _interval(epoch: datetime, t0: float, t1: float) -> TimeInterval:
    return TimeInterval(start=epoch + timedelta(seconds=t0), end=epoch + timedelta(seconds=t1))


def _ground_polygon(lats, lons, key: str, alpha: int, height_m: float, outline_key=None):
    deg: list[float] = []
    for a, o in zip(lats, lons, strict=True):
        deg += [round(float(o), 7), round(float(a), 7), 0.0]
    return Polygon(
        positions=PositionList(cartographicDegrees=deg),
        material=_fill(key, alpha),
        outline=True,
        outlineColor=_color(outline_key or key),
        height=height_m,
    )


def _moving(p: Path4, epoch: datetime, key: str, description: str) -> Packet:
    samples: list[float] = []
    for t, a, o, h in zip(p.t_s, p.lat, p.lon, p.alt_m, strict=True):
        samples += [round(float(t), 4), round(float(o), 7), round(float(a), 7), round(float(h), 2)]
    return Packet(
        id=f"{p.kind}-{p.id}",
        name=p.id,
        description=description,
        availability=_interval(epoch, float(p.t_s[0]), float(p.t_s[-1])),
        position=Position(epoch=epoch, cartographicDegrees=samples),
        path=Path(
            material=PolylineMaterial(solidColor=SolidColorMaterial(color=_color(key))),
            width=2.0,
            leadTime=0.0,
            trailTime=float(p.t_s[-1] - p.t_s[0]) + 1.0,
        ),
        point=Point(color=_color(key), pixelSize=7.0),
        label=Label(
            text=p.id, font="11pt sans-serif", style=LabelStyles.FILL, fillColor=_color(key)
        ),
    )


def _static_point(pid, name, lat, lon, alt, key, epoch=None, t0=None, t1=None, text=""):
    kw = {}
    if epoch is not None:
        kw["availability"] = _interval(epoch, t0, t1)
    return Packet(
        id=pid,
        name=name,
        description=text or None,
        position=Position(
            cartographicDegrees=[round(float(lon), 7), round(float(lat), 7), round(float(alt), 2)]
        ),
        point=Point(color=_color(key), pixelSize=8.0),
        label=Label(
            text=name, font="10pt sans-serif", style=LabelStyles.FILL, fillColor=_color(key)
        ),
        **kw,
    )


def build_czml(view: RunView, epoch: datetime) -> Document:
    """The run as a CZML document: the clock packet, then the site, the moving things,
    impacts, ellipses, intercepts and footprints, in that order."""
    s = view.scenario
    end = max(view.end_s, 1.0)
    packets = [
        Packet(
            id="document",
            name=f"opencram: {s.name}",
            version="1.0",
            clock=Clock(
                interval=_interval(epoch, 0.0, end),
                currentTime=epoch,
                multiplier=1.0,
                range=ClockRanges.LOOP_STOP,
                step=ClockSteps.SYSTEM_CLOCK_MULTIPLIER,
            ),
        )
    ]
    packets += _site_packets(view)
    packets += _moving_packets(view, epoch)
    packets += _impact_packets(view, epoch, end)
    packets += _ellipse_packets(view, epoch, end)
    bursts = view.bursts()
    packets += _intercept_packets(bursts, epoch, end)
    packets += _footprint_packets(bursts, view, epoch, end)
    return Document(packets=packets)


def _site_packets(view: RunView) -> list[Packet]:
    """Zones (on the ground at the site altitude), landmarks, radars and guns."""
    s = view.scenario
    ground = s.site.alt_m
    packets = []
    for z in s.zones:
        for i, r in enumerate(view.zone_rings[z.name]):
            la, lo = zip(*r, strict=True)
            packets.append(
                Packet(
                    id=f"zone-{slug(z.name)}-{i}",
                    name=z.name,
                    description=f"{z.kind} zone, value {z.value:g}",
                    polygon=_ground_polygon(la, lo, z.kind, 70, ground),
                )
            )
    for lm in s.landmarks:
        packets.append(
            _static_point(f"landmark-{slug(lm.name)}", lm.name, lm.lat, lm.lon, ground, "site")
        )
    for sen in s.sensors:
        packets.append(
            _static_point(
                f"sensor-{sen.id}", sen.id, sen.lat, sen.lon, ground, "track", text="radar"
            )
        )
    for w in s.weapons:
        packets.append(
            _static_point(f"weapon-{w.id}", w.id, w.lat, w.lon, ground, "intercept", text="gun")
        )
    return packets


def _moving_packets(view: RunView, epoch: datetime) -> list[Packet]:
    """Threat flights, friendly aircraft and confirmed tracks with at least two samples."""
    threats = {t["id"]: t for t in view.summary["threats"]}
    packets = []
    for p in view.threat_paths():
        if len(p.t_s) >= 2:
            outcome = threats.get(p.id, {}).get("outcome", "unknown")
            packets.append(_moving(p, epoch, "threat", f"{p.label}; outcome: {outcome}"))
    for p in view.aircraft_paths():
        if len(p.t_s) >= 2:
            packets.append(_moving(p, epoch, "aircraft", "friendly aircraft"))
    for p in view.track_paths():
        if len(p.t_s) >= 2:
            packets.append(_moving(p, epoch, "track", f"confirmed track, class {p.label}"))
    return packets


def _impact_packets(view: RunView, epoch: datetime, end: float) -> list[Packet]:
    return [
        _static_point(
            f"impact-{e.threat_id}",
            f"impact {e.threat_id}",
            e.lat,
            e.lon,
            e.alt_m,
            "threat",
            epoch,
            e.t_s,
            end,
            f"{e.speed_mps:.0f} m/s; zones: {', '.join(e.zones) or 'none'}",
        )
        for e in view.of_kind("impact")
    ]


def _ellipse_packets(view: RunView, epoch: datetime, end: float) -> list[Packet]:
    """Impact and origin 95 % ellipses, each available until the track's next one."""
    ground = view.scenario.site.alt_m
    packets = []
    for kind, key in (("impact_predicted", "impact_ellipse"), ("respond", "origin_ellipse")):
        for tid, evs in sorted(view.predictions(kind).items()):
            for i, e in enumerate(evs):
                t1 = evs[i + 1].t_s if i + 1 < len(evs) else end
                packets.append(_ellipse_packet(e, tid, i, key, epoch, t1, ground))
    return packets


def _ellipse_packet(e, tid, i: int, key: str, epoch: datetime, t1: float, ground_m: float):
    el = e.ellipse95
    la, lo = ellipse_ring(e.lat, e.lon, el.semi_major_m, el.semi_minor_m, el.orientation_deg)
    return Packet(
        id=f"{key.replace('_', '-')}-T{tid}-{i}",
        name=f"T{tid} {key.replace('_', ' ')}",
        description=(
            f"95 % ellipse {el.semi_major_m:.0f} x {el.semi_minor_m:.0f} m, "
            f"major axis {el.orientation_deg:.0f} deg"
        ),
        availability=_interval(epoch, e.t_s, max(t1, e.t_s)),
        polygon=_ground_polygon(la, lo, key, 50, ground_m),
    )


def _intercept_packets(bursts, epoch: datetime, end: float) -> list[Packet]:
    return [
        _static_point(
            f"intercept-{i}",
            f"{b.gun}: {b.result}",
            b.lat,
            b.lon,
            b.alt_m,
            "intercept",
            epoch,
            b.intercept_s,
            max(end, b.intercept_s),
            f"{b.gun} on T{b.track_id} ({b.threat_id}): fired t={b.fire_s:.1f} s, "
            f"{b.rounds} rounds, P(kill) {b.p_kill:.2f}, {b.ammo_left} left",
        )
        for i, b in enumerate(bursts)
    ]


def _footprint_packets(bursts, view: RunView, epoch: datetime, end: float) -> list[Packet]:
    """Dud and debris discs of fired bursts, then (faint, outlined) of withheld ones."""
    ground = view.scenario.site.alt_m
    items = [
        (b.fire_s, b.gun, b.track_id, f, False) for b in bursts if b.fired for f in b.footprints
    ]
    items += [
        (w.t_s, w.gun, w.track_id, f, True)
        for w in view.withheld()
        for f in (getattr(w, "footprints", ()) or ())
    ]
    packets = []
    for i, (t, gun, tid, f, held) in enumerate(items):
        la, lo = circle_ring(f.lat, f.lon, f.radius_m)
        packets.append(
            Packet(
                id=f"footprint-{i}",
                name=f"{f.kind} T{tid}" + (" (withheld)" if held else ""),
                description=f"{gun or 'no gun'}; radius {f.radius_m:.0f} m",
                availability=_interval(epoch, t, max(end, t)),
                polygon=_ground_polygon(
                    la,
                    lo,
                    f.kind,
                    15 if held else 90,
                    ground,
                    outline_key="withheld" if held else None,
                ),
            )
        )
    return packets


def czml_text(view: RunView, epoch: datetime) -> str:
    return build_czml(view, epoch).dumps() + "\n"
