"""The report's tables as data: typed rows built from a run's summary and events.

Nothing here knows HTML or words: values keep their units (seconds, metres, degrees) and
the templates format them. Times are seconds from scenario start.

Of the engine's in-memory result, ``result.engagements`` (the engage stage's burst log) is
read in one place, :func:`shows_engagements`, only to know whether the run had an engage
stage; the bursts themselves come from the events (``RunView.bursts``).
``result.predictions`` is not read: :func:`prediction_errors` takes the impact predictions
from the ``impact_predicted`` events.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from opencram.c2.engine import RunResult
from opencram.geo import LocalFrame
from opencram.interop.runview import Burst, RunView

# --- which sections the report has ---------------------------------------------------


def shows_engagements(result: RunResult) -> bool:
    """Whether the run had guns and an engage stage (its burst log, ``result.engagements``)."""
    return bool(result.world.scenario.weapons) and result.engagements is not None


def shows_warning(result: RunResult, summary: dict[str, Any]) -> bool:
    """Whether the run had warning zones with an alert history."""
    return "warning" in summary and bool(result.alert_history) and bool(result.alert_history[1])


def shows_tracking(result: RunResult, summary: dict[str, Any]) -> bool:
    """Whether the run had sensing and tracking."""
    return result.tracker is not None and "tracking" in summary


# --- header --------------------------------------------------------------------------


@dataclass(frozen=True)
class Header:
    """What ran: scenario, seed, site (degrees) and the simulated end time (s)."""

    name: str
    description: str
    source: str
    seed: int | None
    site_name: str
    site_lat: float
    site_lon: float
    end_time_s: float
    version: str


@dataclass(frozen=True)
class Headline:
    """The key figures at the top of the report (counts; shortest warning in seconds)."""

    threats: int
    intercepted: int
    leaked: int
    not_engaged: int
    impacts: int
    impacts_protected: int
    bursts_fired: int
    rounds_fired: int
    shortest_warning_s: float | None  # of the zone alerts up at the impacts
    shortest_own_warning_s: float | None  # of the threats' own tracks' alerts
    not_by_own_track: int  # zone hits warned whose alert never listed the threat's tracks
    missed_warnings: int | None  # None: the run had no warning zones
    false_alerts: int | None


def header(view: RunView) -> Header:
    s, summary = view.scenario, view.summary
    return Header(
        name=s.name,
        description=s.description,
        source=summary["source"],
        seed=summary["seed"],
        site_name=s.site.name,
        site_lat=s.site.lat,
        site_lon=s.site.lon,
        end_time_s=summary["end_time_s"],
        version=summary["opencram_version"],
    )


def headline(summary: dict[str, Any], bursts: list[Burst]) -> Headline:
    outcomes = [t.get("outcome") for t in summary["threats"]]
    tot = summary["totals"]
    warning = summary.get("warning")
    ws = zone_warnings(summary)
    times = [w.zone_warning_s for w in ws if w.zone_warning_s is not None]
    own = [w.own_warning_s for w in ws if w.own_warning_s is not None]
    fired = [b for b in bursts if b.fired]
    return Headline(
        threats=tot["threats"],
        intercepted=outcomes.count("intercepted"),
        leaked=outcomes.count("leaked"),
        not_engaged=outcomes.count("not_engaged"),
        impacts=tot["impacts"],
        impacts_protected=tot["impacts_in_protected_zones"],
        bursts_fired=len(fired),
        rounds_fired=sum(b.rounds for b in fired),
        shortest_warning_s=min(times) if times else None,
        shortest_own_warning_s=min(own) if own else None,
        not_by_own_track=sum(w.own_warning_s is None for w in ws if w.zone_warning_s is not None),
        missed_warnings=len(warning["missed_warnings"]) if warning else None,
        false_alerts=len(warning["false_alerts"]) if warning else None,
    )


# --- chronology ----------------------------------------------------------------------

MomentKind = Literal[
    "launch",
    "first detection",
    "track confirmed",
    "destroyed",
    "alert raised",
    "all clear",
    "burst cancelled",
    "burst missed",
    "fire withheld",
    "operator",
    "impact",
    "burst fired",
    "burst committed",
]


@dataclass(frozen=True)
class Moment:
    """One key moment of the run. Which fields are set depends on ``kind``."""

    t_s: float
    kind: MomentKind
    threat_id: str = ""
    threat_type: str = ""
    gun: str = ""  # "" for withheld fire: all guns
    track_id: int | None = None
    track_ids: tuple[int, ...] = ()
    zone: str = ""  # the alerted zone
    zones: tuple[str, ...] = ()  # the zones an impact hit
    probability: float | None = None  # of an impact in the alerted zone
    alt_m: float | None = None  # height of a kill above the ellipsoid
    rounds: int | None = None
    p_kill: float | None = None
    note: str = ""  # reason withheld, cancelled or refused
    action: str = ""
    target: str = ""
    accepted: bool = True


def _threat_moments(summary: dict[str, Any]) -> list[Moment]:
    out = []
    for t in summary["threats"]:
        tid = t["id"]
        tk = t.get("tracking") or {}
        out.append(Moment(t["launch"]["time_s"], "launch", tid, threat_type=t["type"]))
        if tk.get("first_plot_s") is not None:
            out.append(Moment(tk["first_plot_s"], "first detection", tid))
        if tk.get("first_confirmed_s") is not None:
            ids = tuple(tk["track_ids"])
            out.append(Moment(tk["first_confirmed_s"], "track confirmed", tid, track_ids=ids))
        if t.get("intercept"):
            i = t["intercept"]
            out.append(Moment(i["time_s"], "destroyed", tid, gun=i["gun"], alt_m=i["alt_m"]))
    return out


def _event_moment(e) -> Moment | None:
    """The moment an event marks, if it is a key one."""
    if e.kind == "zone_alert" and e.state in ("raised", "cleared"):
        kind = "alert raised" if e.state == "raised" else "all clear"
        ids = tuple(e.track_ids)
        return Moment(e.t_s, kind, zone=e.zone, probability=e.probability, track_ids=ids)
    if e.kind == "engagement_result" and getattr(e, "cancelled", ""):
        return Moment(e.t_s, "burst cancelled", gun=e.gun, track_id=e.track_id, note=e.cancelled)
    if e.kind == "engagement_result" and not e.killed:
        return Moment(e.t_s, "burst missed", gun=e.gun, track_id=e.track_id)
    if e.kind == "engagement_withheld":
        return Moment(e.t_s, "fire withheld", gun=e.gun or "", track_id=e.track_id, note=e.reason)
    if e.kind == "operator":
        return Moment(
            e.t_s, "operator", action=e.action, target=e.target, accepted=e.accepted, note=e.note
        )
    if e.kind == "impact":
        return Moment(e.t_s, "impact", e.threat_id, zones=tuple(e.zones))
    return None


def _burst_moment(b: Burst) -> Moment:
    t_s, kind = (b.fire_s, "burst fired") if b.fired else (b.decided_s, "burst committed")
    return Moment(t_s, kind, gun=b.gun, track_id=b.track_id, rounds=b.rounds, p_kill=b.p_kill)


def chronology(view: RunView) -> list[Moment]:
    """The run's key moments in time order (moments at the same time: threats' first, then
    events in log order, then bursts)."""
    out = _threat_moments(view.summary)
    out += [m for m in map(_event_moment, view.events) if m is not None]
    out += [_burst_moment(b) for b in view.bursts()]
    out.sort(key=lambda m: m.t_s)
    return out


# --- threats -------------------------------------------------------------------------


@dataclass(frozen=True)
class PredictionError:
    """Distance (m) from a threat's first and last predicted impact point to the true
    one, and how long (s) before the impact the first prediction was made."""

    first_m: float
    last_m: float
    lead_s: float


@dataclass(frozen=True)
class ZoneWarning:
    """How long (s) before a threat's impact the alert of a zone it hit was up
    (``zone_warning_s``, whichever track raised it) and had listed one of the threat's
    own tracks (``own_warning_s``; None: none of its tracks did, or no alert was up)."""

    zone: str
    threat_id: str
    zone_warning_s: float | None
    own_warning_s: float | None = None


@dataclass(frozen=True)
class ImpactPoint:
    t_s: float
    lat: float
    lon: float
    zones: tuple[str, ...]  # zones hit (grown by the lethal radius), empty: open ground


@dataclass(frozen=True)
class Intercept:
    """Where and by whom a threat was destroyed: time (s), height (m), rounds at it."""

    t_s: float
    alt_m: float
    gun: str
    rounds: int


@dataclass(frozen=True)
class ThreatRow:
    """One threat's line of the threat table."""

    id: str
    type: str
    launch_s: float
    outcome: str  # "intercepted", "leaked", "not_engaged" (or "" if not assessed)
    warnings: tuple[ZoneWarning, ...]
    warning_missed: bool
    impact: ImpactPoint | None
    intercept: Intercept | None
    error: PredictionError | None
    bursts: int  # bursts at it
    leak_zone: str  # the zone a leaker landed in ("" open ground)
    engaged: bool  # a leaker was engaged
    not_engaged_reason: str


def prediction_errors(frame: LocalFrame, site_alt_m: float, view: RunView):
    """Threat id → :class:`PredictionError` of its tracks' impact predictions
    (``impact_predicted`` events) against the true impact point in summary.json."""
    preds = view.predictions("impact_predicted")
    out: dict[str, PredictionError] = {}
    for t in view.summary["threats"]:
        im = t["impact"]
        ids = (t.get("tracking") or {}).get("track_ids", [])
        evs = sorted((e for k in ids for e in preds.get(k, [])), key=lambda e: e.t_s)
        if not im or not evs:
            continue
        true = frame.to_enu(im["lat"], im["lon"], site_alt_m)[:2]
        lat = np.array([e.lat for e in evs])
        p = frame.to_enu(lat, np.array([e.lon for e in evs]), site_alt_m)
        err = np.hypot(*(p[:, :2] - true).T)
        out[t["id"]] = PredictionError(float(err[0]), float(err[-1]), im["time_s"] - evs[0].t_s)
    return out


def zone_warnings(summary: dict[str, Any]) -> list[ZoneWarning]:
    return [
        ZoneWarning(w["zone"], w["threat"], w["zone_alert_warning_s"], w["own_track_warning_s"])
        for w in (summary.get("warning") or {}).get("warning_times_s", [])
    ]


def _intercept(t: dict[str, Any]) -> Intercept | None:
    i = t.get("intercept")
    return Intercept(i["time_s"], i["alt_m"], i["gun"], i["rounds"]) if i else None


def _impact(t: dict[str, Any]) -> ImpactPoint | None:
    im = t["impact"]
    return ImpactPoint(im["time_s"], im["lat"], im["lon"], tuple(t["zones"])) if im else None


def threat_rows(summary: dict[str, Any], errors: dict[str, PredictionError]) -> list[ThreatRow]:
    """The threat table, in summary order."""
    warnings = zone_warnings(summary)
    missed = {m["threat"] for m in (summary.get("warning") or {}).get("missed_warnings", [])}
    rows = []
    for t in summary["threats"]:
        leak = t.get("leak") or {}
        rows.append(
            ThreatRow(
                id=t["id"],
                type=t["type"],
                launch_s=t["launch"]["time_s"],
                outcome=t.get("outcome", ""),
                warnings=tuple(w for w in warnings if w.threat_id == t["id"]),
                warning_missed=t["id"] in missed,
                impact=_impact(t),
                intercept=_intercept(t),
                error=errors.get(t["id"]),
                bursts=len(t["engagements"]),
                leak_zone=leak.get("zone") or "",
                engaged=bool(leak.get("engaged")),
                not_engaged_reason=t.get("not_engaged_reason", ""),
            )
        )
    return rows


# --- warning -------------------------------------------------------------------------


@dataclass(frozen=True)
class FalseAlert:
    zone: str
    raised_s: float


@dataclass(frozen=True)
class WarningRows:
    """The warning section: alert threshold (probability), warning time per zone hit,
    missed warnings, false alerts, alerted area (km²) and area-time (km²·s)."""

    threshold: float
    warnings: tuple[ZoneWarning, ...]
    missed: tuple[ZoneWarning, ...]  # both warning times None
    false_alerts: tuple[FalseAlert, ...]
    alerted_area_km2: float
    alerted_area_time_km2s: float


def warning_rows(summary: dict[str, Any]) -> WarningRows:
    w = summary["warning"]
    return WarningRows(
        threshold=w["threshold"],
        warnings=tuple(zone_warnings(summary)),
        missed=tuple(ZoneWarning(m["zone"], m["threat"], None) for m in w["missed_warnings"]),
        false_alerts=tuple(FalseAlert(f["zone"], f["raised_s"]) for f in w["false_alerts"]),
        alerted_area_km2=w["alerted_zone_area_km2"],
        alerted_area_time_km2s=w["alerted_area_time_km2s"],
    )


# --- engagements ---------------------------------------------------------------------


@dataclass(frozen=True)
class GunRow:
    """One gun's totals: bursts fired, kills, rounds fired, ammunition left of its
    load, reloads."""

    gun: str
    bursts: int
    kills: int
    rounds_fired: int
    ammo_left: int
    ammo_start: int
    reloads: int


@dataclass(frozen=True)
class FootprintSize:
    kind: str  # "dud" or "debris"
    radius_m: float


@dataclass(frozen=True)
class WithheldRow:
    """Fire withheld from a track, and the footprints that would have come down."""

    t_s: float
    gun: str  # "" for all guns
    track_id: int
    threat_id: str  # "?" if the track followed no threat
    reason: str
    footprints: tuple[FootprintSize, ...]


def _ammo_left(states: list[tuple[float, str, int]], bursts: list[Burst], start: int) -> int:
    """A gun's rounds left at the end: its last status, else its last burst, else its load."""
    if states:
        return states[-1][2]
    return bursts[-1].ammo_left if bursts else start


def gun_rows(view: RunView) -> list[GunRow]:
    bursts = view.bursts()
    states = view.gun_states()
    rows = []
    for w in view.scenario.weapons:
        mine = [b for b in bursts if b.gun == w.id]
        mine_states = states.get(w.id, [])
        rows.append(
            GunRow(
                gun=w.id,
                bursts=sum(b.fired for b in mine),
                kills=sum(1 for b in mine if b.killed and b.fired),
                rounds_fired=sum(b.rounds for b in mine if b.fired),
                ammo_left=_ammo_left(mine_states, mine, w.ammo_rounds),
                ammo_start=w.ammo_rounds,
                reloads=sum(1 for _, st, _ in mine_states if st == "reloading"),
            )
        )
    return rows


def withheld_rows(view: RunView) -> list[WithheldRow]:
    owner = view.track_threat()
    return [
        WithheldRow(
            t_s=w.t_s,
            gun=w.gun or "",
            track_id=w.track_id,
            threat_id=owner.get(w.track_id, "?"),
            reason=w.reason,
            footprints=tuple(FootprintSize(f.kind, f.radius_m) for f in w.footprints),
        )
        for w in view.withheld()
    ]


# --- tracking and zones --------------------------------------------------------------


@dataclass(frozen=True)
class ThreatTracking:
    """When a threat was first seen and first held by a confirmed track, and its
    tracks with their last class."""

    threat_id: str
    first_plot_s: float | None
    first_confirmed_s: float | None
    track_ids: tuple[int, ...]
    classes: tuple[str, ...]  # "?" for a track with no class


@dataclass(frozen=True)
class TrackingRows:
    """The tracking section: plot and track counts, filter, scores (m), per threat."""

    plots: int
    false_plots: int
    confirmed_tracks: int
    filter: str
    mean_gospa_m: float | None
    position_rmse_m: float | None
    breaks: int
    swaps: int
    threats: tuple[ThreatTracking, ...]


def tracking_rows(summary: dict[str, Any]) -> TrackingRows:
    tk = summary["tracking"]
    threats = tuple(
        ThreatTracking(
            threat_id=t["id"],
            first_plot_s=t["tracking"]["first_plot_s"],
            first_confirmed_s=t["tracking"]["first_confirmed_s"],
            track_ids=tuple(t["tracking"]["track_ids"]),
            classes=tuple(tk["track_classes"].get(str(i), "?") for i in t["tracking"]["track_ids"]),
        )
        for t in summary["threats"]
    )
    return TrackingRows(
        plots=tk["plots"],
        false_plots=tk["false_plots"],
        confirmed_tracks=tk["confirmed_tracks"],
        filter=tk["filter"],
        mean_gospa_m=tk["mean_gospa_m"],
        position_rmse_m=tk["position_rmse_m"],
        breaks=tk["breaks"],
        swaps=tk["swaps"],
        threats=threats,
    )


@dataclass(frozen=True)
class ZoneRow:
    name: str
    kind: str
    impacts: int


def zone_rows(summary: dict[str, Any]) -> list[ZoneRow]:
    return [ZoneRow(z["name"], z["kind"], z["impacts"]) for z in summary["zones"]]


# --- the whole report ----------------------------------------------------------------


@dataclass(frozen=True)
class ReportRows:
    """Every table of the report; ``None`` for a section the run does not have."""

    header: Header
    headline: Headline
    chronology: tuple[Moment, ...]
    threats: tuple[ThreatRow, ...]
    warning: WarningRows | None
    guns: tuple[GunRow, ...] | None  # None: no engagements section
    bursts: tuple[Burst, ...]
    withheld: tuple[WithheldRow, ...]
    operator: tuple  # OperatorAction events
    tracking: TrackingRows | None
    zones: tuple[ZoneRow, ...]


def report_rows(result: RunResult, view: RunView) -> ReportRows:
    """The report's tables for a finished run and its run view."""
    summary = view.summary
    errors = prediction_errors(result.world.frame, view.scenario.site.alt_m, view)
    bursts = view.bursts()
    engaged = shows_engagements(result)
    return ReportRows(
        header=header(view),
        headline=headline(summary, bursts),
        chronology=tuple(chronology(view)),
        threats=tuple(threat_rows(summary, errors)),
        warning=warning_rows(summary) if shows_warning(result, summary) else None,
        guns=tuple(gun_rows(view)) if engaged else None,
        bursts=tuple(bursts),
        withheld=tuple(withheld_rows(view)),
        operator=tuple(view.of_kind("operator")),
        tracking=tracking_rows(summary) if shows_tracking(result, summary) else None,
        zones=tuple(zone_rows(summary)),
    )
