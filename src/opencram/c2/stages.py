"""Engine stages beyond the truth: sensing and tracking.

Each stage is stepped by the engine with the current time and returns the events it
produced. They read the world's truth and hand data down the chain in numpy batches.
"""

from __future__ import annotations

import numpy as np

from opencram.c2.events import Event, TrackDropped, TrackUpdated
from opencram.c2.world import World
from opencram.sense.plots import Plots
from opencram.sense.radar import RadarModel, scan
from opencram.track.classify import classify
from opencram.track.manager import Tracker, TrackerConfig, TrackerSensor


def tracker_sensors(radars: list[RadarModel]) -> list[TrackerSensor]:
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


class SenseStage:
    """Every radar scans on its own clock; plots reach the tracker after their latency."""

    def __init__(self, world: World, rng: np.random.Generator) -> None:
        s = world.scenario
        self.world = world
        self.rng = rng
        self.radars = [RadarModel.from_schema(x, world.frame, s.site.alt_m) for x in s.sensors]
        self.next_scan_s = np.zeros(len(self.radars))
        self.pending: list[Plots] = []
        self.all_plots: list[Plots] = []
        self.rcs = world.object_rcs_m2
        self.ids = np.arange(len(world.object_ids))

    def step(self, t_s: float) -> Plots:
        """Scan what is due; return the plots that have arrived by ``t_s``."""
        for i, radar in enumerate(self.radars):
            while self.next_scan_s[i] <= t_s:
                p = scan(
                    radar,
                    float(self.next_scan_s[i]),
                    self.world.object_state_at,
                    self.rcs,
                    self.ids,
                    self.rng,
                    sensor_index=i,
                )
                self.pending.append(p)
                self.all_plots.append(p)
                self.next_scan_s[i] += radar.scan_s
        if not self.pending:
            return Plots.empty()
        allp = Plots.concat(self.pending)
        due = allp.arrival_s <= t_s
        rest = allp.take(np.flatnonzero(~due))
        self.pending = [rest] if len(rest) else []
        return allp.take(np.flatnonzero(due))

    def recorded(self) -> Plots:
        return Plots.concat(self.all_plots).sorted_by("time_s")


class TrackStage:
    """The tracker fed with arriving plots; emits updates of confirmed tracks."""

    def __init__(self, world: World, radars: list[RadarModel], config: TrackerConfig) -> None:
        self.world = world
        self.tracker = Tracker(tracker_sensors(radars), config)
        self._seen_updates = 0
        self._seen_deleted = 0
        self.classes: dict[int, str] = {}

    def step(self, t_s: float, plots: Plots) -> list[Event]:
        tr = self.tracker
        tr.add(plots)
        tr.advance(t_s)
        new = tr.updates[self._seen_updates :]
        self._seen_updates = len(tr.updates)
        events: list[Event] = []
        conf = [u for u in new if u.confirmed]
        if conf:
            x = np.array([u.x for u in conf])
            mu = None if conf[0].mode_prob is None else np.array([u.mode_prob for u in conf])
            rcs = np.array([u.rcs_dbsm for u in conf])
            cls = classify(x, np.array([u.n_updates for u in conf]), mu, rcs, tr.model)
            lat, lon, alt = self.world.frame.to_geodetic(x[:, :3])
            for k, u in enumerate(conf):
                self.classes[u.track_id] = str(cls[k])
                events.append(
                    TrackUpdated(
                        t_s=round(t_s, 4),
                        measured_s=round(u.t_s, 4),
                        track_id=u.track_id,
                        track_class=str(cls[k]),
                        sensor=tr.sensors[u.sensor].id,
                        lat=round(float(lat[k]), 7),
                        lon=round(float(lon[k]), 7),
                        alt_m=round(float(alt[k]), 2),
                        vel_enu_mps=tuple(round(float(v), 2) for v in u.x[3:6]),
                        pos_sigma_m=round(float(np.sqrt(np.trace(u.p[:3, :3]))), 2),
                        kappa_cm2pkg=round(float(u.x[6]), 4),
                        ballistic_prob=None if u.mode_prob is None else round(u.mode_prob[0], 4),
                    )
                )
        for tid, _t_del, reason in tr.deleted[self._seen_deleted :]:
            events.append(TrackDropped(t_s=round(t_s, 4), track_id=tid, reason=reason))
        self._seen_deleted = len(tr.deleted)
        return events
