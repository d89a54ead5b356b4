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


def confirmed_track_events(t_s: float, updates, tracker, frame) -> tuple[list, list]:
    """The confirmed ones of a tracker's new ``updates``, classified: their TrackUpdated
    events (stamped ``t_s``) and :class:`Classified` records. Shared by the engine's
    TrackStage and the live service."""
    conf = [u for u in updates if u.confirmed]
    if not conf:
        return [], []
    x = np.array([u.x for u in conf])
    mu = None if conf[0].mode_prob is None else np.array([u.mode_prob for u in conf])
    rcs = np.array([u.rcs_dbsm for u in conf])
    cp = class_probabilities(x, np.array([u.n_updates for u in conf]), mu, rcs, tracker.model)
    names = cp.names()
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
        events, self.new_confirmed = confirmed_track_events(t_s, new, tr, self.frame)
        self.new_dropped = []
        for c in self.new_confirmed:
            self.classes[c.update.track_id] = c.track_class
        for tid, _t_del, reason in tr.deleted[self._seen_deleted :]:
            events.append(TrackDropped(t_s=round(t_s, 4), track_id=tid, reason=reason))
            self.new_dropped.append(tid)
        self._seen_deleted = len(tr.deleted)
        return events
