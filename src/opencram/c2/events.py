"""Typed events: everything the engine says happened, in time order.

Every output (summary, report, event log, and later the console and CoT feed) is built
from these. Each is a frozen pydantic model with a ``kind`` tag, serialised one per line in
``events.jsonl``. Positions are geodetic (WGS-84 degrees, metres above the ellipsoid) so a
consumer needs no knowledge of the local frame. The engagement footprints are
:class:`opencram.engage.records.Footprint` (exported here too).
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from opencram.engage.records import Footprint


class Event(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    t_s: float


class RunStarted(Event):
    kind: Literal["run_started"] = "run_started"
    scenario: str
    seed: int
    site_lat: float
    site_lon: float
    site_alt_m: float
    n_threats: int
    n_aircraft: int


class Launch(Event):
    kind: Literal["launch"] = "launch"
    threat_id: str
    threat_type: str
    lat: float
    lon: float
    alt_m: float
    azimuth_deg: float | None = None
    quadrant_elevation_deg: float | None = None


class TruthState(Event):
    """Where a real object is (sampled once a second): a threat or a friendly aircraft."""

    kind: Literal["truth"] = "truth"
    object_id: str
    object_kind: Literal["threat", "aircraft"]
    lat: float
    lon: float
    alt_m: float
    vel_enu_mps: tuple[float, float, float]


class Impact(Event):
    kind: Literal["impact"] = "impact"
    threat_id: str
    lat: float
    lon: float
    alt_m: float
    speed_mps: float
    zones: list[str]


class AircraftLeft(Event):
    kind: Literal["aircraft_left"] = "aircraft_left"
    aircraft_id: str


class TrackUpdated(Event):
    """A confirmed track updated by a plot: its estimate and class. ``t_s`` is when the
    system knew it (the engine tick); ``measured_s`` the time of the plot.
    ``track_class`` is the most probable class of ``class_prob`` (class name ->
    probability, over ``opencram.track.classify.CLASSES``); ``ballistic_prob`` the IMM's
    ballistic-mode probability (the fit alone, None with a plain filter)."""

    kind: Literal["track"] = "track"
    measured_s: float
    track_id: int
    track_class: str
    sensor: str
    lat: float
    lon: float
    alt_m: float
    vel_enu_mps: tuple[float, float, float]
    pos_sigma_m: float
    kappa_cm2pkg: float
    ballistic_prob: float | None = None
    class_prob: dict[str, float] | None = None


class TrackDropped(Event):
    kind: Literal["track_dropped"] = "track_dropped"
    track_id: int
    reason: str


class Ellipse95(BaseModel):
    """A 95 % ground ellipse: semi-axes in metres, orientation = azimuth of the major axis,
    clockwise from true north, in [0, 180)."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    semi_major_m: float
    semi_minor_m: float
    orientation_deg: float


class ImpactPredicted(Event):
    """Where and when a confirmed ballistic track will hit the ground, with its 95 % ellipse;
    refreshed on every update of the track."""

    kind: Literal["impact_predicted"] = "impact_predicted"
    track_id: int
    track_class: str
    impact_time_s: float
    time_to_impact_s: float
    lat: float
    lon: float
    alt_m: float
    ellipse95: Ellipse95
    cov_en_m2: tuple[float, float, float]  # (var east, cov east-north, var north)


class OriginEstimated(Event):
    """The *respond* report: estimated launch point and time of a ballistic track, with its
    95 % ellipse, for the search for the launch site."""

    kind: Literal["respond"] = "respond"
    track_id: int
    track_class: str
    launch_time_s: float
    lat: float
    lon: float
    alt_m: float
    ellipse95: Ellipse95


class ZoneAlert(Event):
    """A warning zone's alert state: ``raised`` when the probability that a threat lands in
    the zone (grown by its lethal radius) passes the threshold, ``updated`` while it stays
    up, ``cleared`` (the all-clear) after impact or when the probability falls."""

    kind: Literal["zone_alert"] = "zone_alert"
    zone: str
    state: Literal["raised", "updated", "cleared"]
    probability: float
    track_ids: list[int]
    time_to_impact_s: float | None = None


class EngagementStarted(Event):
    """A gun commits a burst on a track: when it fires, where the rounds meet the threat,
    how many rounds, the burst's kill probability, and the collateral footprints."""

    kind: Literal["engagement"] = "engagement"
    gun: str
    track_id: int
    fire_s: float
    intercept_s: float
    lat: float
    lon: float
    alt_m: float
    rounds: int
    p_kill: float
    ammo_left: int
    footprints: list[Footprint] = []


class EngagementWithheld(Event):
    """Fire on a track is withheld by a safety rule (collateral, no-fire zone or sector,
    a friendly aircraft, weapons hold). Emitted when the reason for a track changes."""

    kind: Literal["engagement_withheld"] = "engagement_withheld"
    gun: str | None
    track_id: int
    reason: str
    footprints: list[Footprint] = []


class GunStatus(Event):
    """A gun's state changed: ``ready``, ``engaging`` (a burst committed or in the air),
    ``reloading``, ``hold`` (weapons hold by the operator) or ``empty``."""

    kind: Literal["gun"] = "gun"
    gun: str
    state: Literal["ready", "engaging", "reloading", "hold", "empty"]
    ammo: int


class OperatorAction(Event):
    """An operator's action as the engine applied it (or refused it, with the reason)."""

    kind: Literal["operator"] = "operator"
    action: Literal["ack_alert", "weapons_hold", "weapons_free", "mark_friendly"]
    target: str
    accepted: bool = True
    note: str = ""


class EngagementResult(Event):
    """Kill assessment after the intercept time: destroyed, or still flying (the track
    goes on) and free to be engaged again."""

    kind: Literal["engagement_result"] = "engagement_result"
    gun: str
    track_id: int
    killed: bool
    cancelled: str = ""  # why a committed burst was not fired (rounds kept), if it was not


class RunFinished(Event):
    """The last event: rounds that landed, were destroyed in the air, and were still in
    flight when the run ended."""

    kind: Literal["run_finished"] = "run_finished"
    n_impacts: int
    n_destroyed: int = 0
    n_in_flight: int


AnyEvent = Annotated[
    RunStarted
    | Launch
    | TruthState
    | Impact
    | AircraftLeft
    | TrackUpdated
    | TrackDropped
    | ImpactPredicted
    | OriginEstimated
    | ZoneAlert
    | EngagementStarted
    | EngagementResult
    | EngagementWithheld
    | GunStatus
    | OperatorAction
    | RunFinished,
    Field(discriminator="kind"),
]
EVENT_ADAPTER: TypeAdapter = TypeAdapter(AnyEvent)


def parse_event(line: str) -> Event:
    """One events.jsonl line back into its typed event."""
    return EVENT_ADAPTER.validate_json(line)
