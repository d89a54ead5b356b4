"""The track stage: the tracker fed with arriving plots, and the events of its confirmed
tracks (shared with the live service)."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from opencram.c2.events import Event, TrackDropped, TrackUpdated
from opencram.c2.world import World
from opencram.sense.plots import Plots
from opencram.sense.radar import RadarModel
from opencram.track.classify import CLASSES, class_probabilities
from opencram.track.identity import FriendlyWatch, path_threatens, protected_area
from opencram.track.manager import Tracker, TrackerConfig, TrackerSensor
from opencram.track.models import BallisticModel


def tracker_sensors(radars: list[RadarModel]) -> list[TrackerSensor]:
    """What the tracker needs to know of each radar."""
    return [
        TrackerSensor(
            id=r.id,
            pos_enu_m=r.pos_enu_m,
            sigma_range_m=r.sigma_range_m,
            sigma_az_rad=r.sigma_az_rad,
            sigma_el_rad=r.sigma_el_rad,
            sigma_range_rate_mps=r.sigma_range_rate_mps,
            scan_s=r.scan_s,
            latency_s=r.latency_s,
            reference=(r.reference_range_m, r.reference_rcs_m2, r.reference_snr_db),
        )
        for r in radars
    ]


class Classified(NamedTuple):
    """A confirmed track's update with its most probable class, the probability of its
    ballistic hypothesis and its class probabilities (class name -> probability)."""

    update: object  # opencram.track.manager.TrackUpdate
    track_class: str
    ballistic_prob: float
    class_prob: dict[str, float]


def _track_event(t_s: float, c: Classified, sensor: str, lat, lon, alt) -> TrackUpdated:
    u = c.update
    return TrackUpdated(
        t_s=round(t_s, 4),
        measured_s=round(u.t_s, 4),
        track_id=u.track_id,
        track_class=c.track_class,
        sensor=sensor,
        lat=round(float(lat), 7),
        lon=round(float(lon), 7),
        alt_m=round(float(alt), 2),
        vel_enu_mps=tuple(round(float(v), 2) for v in u.x[3:6]),
        pos_sigma_m=round(float(np.sqrt(np.trace(u.p[:3, :3]))), 2),
        kappa_cm2pkg=round(float(u.x[6]), 4),
        ballistic_prob=None if u.mode_prob is None else round(u.mode_prob[0], 4),
        class_prob=c.class_prob,
    )


class Identity:
    """What the track stage knows of identity: the friendly rules with their memory
    (:class:`~opencram.track.identity.FriendlyWatch`) and the protected area (the union of
    the protected zones, None for none) that a slow level track must threaten to be a
    drone (``opencram.track.classify``, step 4). The engine and the live service build
    one each from their zones and friendly codes."""

    def __init__(self, friendly: FriendlyWatch, zones=None) -> None:
        self.friendly = friendly
        polys = [] if zones is None else [zones.polygons_enu[i] for i in zones.indices("protected")]
        self.protected = protected_area(polys)


def _class_names(conf, tracker, identity: Identity | None):
    """Class probabilities and names of confirmed updates; ``friendly`` for the updates
    of friendly tracks (:mod:`opencram.track.identity`)."""
    x = np.array([u.x for u in conf])
    mu = None if conf[0].mode_prob is None else np.array([u.mode_prob for u in conf])
    rcs = np.array([u.rcs_dbsm for u in conf])
    n = np.array([u.n_updates for u in conf])
    if identity is None:
        cp = class_probabilities(x, n, mu, rcs, tracker.model)
        return cp, cp.names()
    threat = path_threatens(x, identity.protected)
    cp = class_probabilities(x, n, mu, rcs, tracker.model, threatens=threat)
    names = cp.names()
    friendly = identity.friendly.mark(
        [u.track_id for u in conf], [u.mode3a for u in conf], x[:, :3], [u.t_s for u in conf]
    )
    names[friendly] = "friendly"
    return cp, names


def confirmed_track_events(
    t_s: float, updates, tracker, frame, identity: Identity | None = None
) -> tuple[list, list]:
    """The confirmed ones of a tracker's new ``updates``, classified: their TrackUpdated
    events (stamped ``t_s``) and :class:`Classified` records. Shared by the engine's
    TrackStage and the live service. With ``identity``, friendly tracks are class
    ``friendly`` and a slow level track is a drone only when it threatens a protected
    zone (:mod:`opencram.track.classify`, step 4); without it, classes are kinematic."""
    conf = [u for u in updates if u.confirmed]
    if not conf:
        return [], []
    x = np.array([u.x for u in conf])
    cp, names = _class_names(conf, tracker, identity)
    prob = np.round(cp.prob, 4)
    lat, lon, alt = (np.atleast_1d(v) for v in frame.to_geodetic(x[:, :3]))
    events, classified = [], []
    for k, u in enumerate(conf):
        c = Classified(
            u,
            str(names[k]),
            float(cp.ballistic[k]),
            {n: float(prob[k, j]) for j, n in enumerate(CLASSES)},
        )
        classified.append(c)
        sensor = tracker.sensors[u.sensor].id
        events.append(_track_event(t_s, c, sensor, lat[k], lon[k], alt[k]))
    return events, classified


class TrackStage:
    """The tracker fed with arriving plots; emits updates of confirmed tracks and the
    tracks it drops. After each step ``new_confirmed`` holds this tick's
    :class:`Classified` updates and ``new_dropped`` the dropped track ids."""

    def __init__(self, world: World, radars: list[RadarModel], config: TrackerConfig) -> None:
        self.frame = world.frame
        model = None
        if world.met is not None:  # the defender's met: density and wind of its profile
            model = BallisticModel(world.met, config.q_acc_mps2, config.q_kappa)
        self.tracker = Tracker(tracker_sensors(radars), config, model)
        # the friendly codes are the scenario aircraft's (what the operators were told)
        codes = [int(a.mode3a, 8) for a in world.scenario.aircraft if a.mode3a is not None]
        self.identity = Identity(FriendlyWatch(codes), world.zones)
        self._seen_updates = 0
        self._seen_deleted = 0
        self.classes: dict[int, str] = {}
        self.new_confirmed: list[Classified] = []  # this tick's confirmed updates
        self.new_dropped: list[int] = []

    def step(self, t_s: float, plots: Plots) -> list[Event]:
        tr = self.tracker
        tr.add(plots)
        tr.step(t_s)
        n_up = len(tr.updates)
        new = tr.updates[self._seen_updates :] if n_up > self._seen_updates else []
        self._seen_updates = n_up
        events, self.new_confirmed = confirmed_track_events(t_s, new, tr, self.frame, self.identity)
        self.new_dropped = []
        for c in self.new_confirmed:
            self.classes[c.update.track_id] = c.track_class
        for tid, _t_del, reason in tr.deleted[self._seen_deleted :]:
            events.append(TrackDropped(t_s=round(t_s, 4), track_id=tid, reason=reason))
            self.new_dropped.append(tid)
        self.identity.friendly.forget(self.new_dropped)
        self._seen_deleted = len(tr.deleted)
        return events
