"""Engine stages beyond the truth: sensing and tracking.

Each stage is stepped by the engine with the current time and returns the events it
produced. They read the world's truth and hand data down the chain in numpy batches.
"""

from __future__ import annotations

import numpy as np

from opencram.c2.events import (
    Ellipse95,
    Event,
    ImpactPredicted,
    OriginEstimated,
    TrackDropped,
    TrackUpdated,
    ZoneAlert,
)
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
        self.new_confirmed: list = []  # this tick's confirmed updates (TrackUpdate, class)
        self.new_dropped: list[int] = []

    def step(self, t_s: float, plots: Plots) -> list[Event]:
        tr = self.tracker
        tr.add(plots)
        tr.advance(t_s)
        new = tr.updates[self._seen_updates :]
        self._seen_updates = len(tr.updates)
        events: list[Event] = []
        conf = [u for u in new if u.confirmed]
        self.new_confirmed = []
        self.new_dropped = []
        if conf:
            x = np.array([u.x for u in conf])
            mu = None if conf[0].mode_prob is None else np.array([u.mode_prob for u in conf])
            rcs = np.array([u.rcs_dbsm for u in conf])
            cls = classify(x, np.array([u.n_updates for u in conf]), mu, rcs, tr.model)
            lat, lon, alt = self.world.frame.to_geodetic(x[:, :3])
            for k, u in enumerate(conf):
                self.classes[u.track_id] = str(cls[k])
                self.new_confirmed.append((u, str(cls[k])))
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
            self.new_dropped.append(tid)
        self._seen_deleted = len(tr.deleted)
        return events


BALLISTIC_CLASSES = ("rocket", "mortar", "artillery", "unknown")


def _ellipse(cov):
    from opencram.predict.ground import ellipse95

    a, b, o = ellipse95(cov[None])
    return Ellipse95(
        semi_major_m=round(float(a[0]), 2),
        semi_minor_m=round(float(b[0]), 2),
        orientation_deg=round(float(o[0]), 2),
    )


DRONE_HORIZON_S = 60.0
DRONE_CROSS_SIGMA_M = 100.0


def drone_corridor(u, t_s: float):
    """Where a drone may strike within the next ``DRONE_HORIZON_S``: a guided drone has no
    ballistic impact point, so the ground under its straight-line path over the horizon is
    treated as the threatened area, as a Gaussian with the spread of a uniform segment
    along track (L²/12) and ``DRONE_CROSS_SIGMA_M`` across it, plus the track's own
    position uncertainty. Returns (valid until, mean en, cov en, class)."""
    v = u.x[3:5]
    speed = float(np.hypot(*v))
    along = v / speed if speed > 1e-6 else np.array([0.0, 1.0])
    length = speed * DRONE_HORIZON_S
    mean = u.x[:2] + 0.5 * DRONE_HORIZON_S * v
    outer = np.outer(along, along)
    cov = (length**2 / 12.0) * outer + DRONE_CROSS_SIGMA_M**2 * (np.eye(2) - outer)
    cov = cov + u.p[:2, :2]
    return (t_s + DRONE_HORIZON_S, mean, cov, "drone")


class PredictStage:
    """On every update of a confirmed ballistic track: impact point and time, and point of
    origin (the *respond* report), each with its 95 % ellipse."""

    def __init__(self, world: World, tracker: Tracker) -> None:
        self.world = world
        self.tracker = tracker
        # latest impact prediction per track: (impact time, mean en, cov en, class)
        self.current: dict[int, tuple[float, np.ndarray, np.ndarray, str]] = {}
        self.log: list[tuple] = []  # (t, track, truth, impact mean, cov, origin mean, cov, ...)

    def step(self, t_s: float, updates: list, dropped: list[int]) -> list[Event]:
        from opencram.predict.ground import predict_impact, predict_origin

        for tid in dropped:
            self.current.pop(tid, None)
        for tid in [k for k, v in self.current.items() if v[0] <= t_s]:
            del self.current[tid]  # its round has landed
        ball = [
            (u, c)
            for u, c in updates
            if c in BALLISTIC_CLASSES and (u.mode_prob is None or u.mode_prob[0] >= 0.5)
        ]
        for u, c in updates:
            if c == "drone":
                self.current[u.track_id] = drone_corridor(u, t_s)
        if not ball:
            return []
        x = np.array([u.x for u, _ in ball])
        p = np.array([u.p for u, _ in ball])
        imp = predict_impact(self.tracker.model, x, p)
        org = predict_origin(self.tracker.model, x, p)
        frame = self.world.frame
        events: list[Event] = []
        for k, (u, cls) in enumerate(ball):
            if imp.ok[k] and imp.dt_s[k] > 0:
                t_imp = u.t_s + float(imp.dt_s[k])
                self.current[u.track_id] = (t_imp, imp.pos_en_m[k], imp.cov_en_m2[k], cls)
                lat, lon, alt = frame.to_geodetic(np.r_[imp.pos_en_m[k], 0.0])
                c = imp.cov_en_m2[k]
                events.append(
                    ImpactPredicted(
                        t_s=round(t_s, 4),
                        track_id=u.track_id,
                        track_class=cls,
                        impact_time_s=round(t_imp, 3),
                        time_to_impact_s=round(t_imp - t_s, 3),
                        lat=round(float(lat), 7),
                        lon=round(float(lon), 7),
                        alt_m=round(float(alt), 2),
                        ellipse95=_ellipse(c),
                        cov_en_m2=(round(c[0, 0], 2), round(c[0, 1], 2), round(c[1, 1], 2)),
                    )
                )
            if org.ok[k]:
                lat, lon, alt = frame.to_geodetic(np.r_[org.pos_en_m[k], 0.0])
                events.append(
                    OriginEstimated(
                        t_s=round(t_s, 4),
                        track_id=u.track_id,
                        track_class=cls,
                        launch_time_s=round(u.t_s + float(org.dt_s[k]), 3),
                        lat=round(float(lat), 7),
                        lon=round(float(lon), 7),
                        alt_m=round(float(alt), 2),
                        ellipse95=_ellipse(org.cov_en_m2[k]),
                    )
                )
            self.log.append(
                (
                    u.t_s,
                    u.track_id,
                    u.truth_id,
                    imp.pos_en_m[k],
                    imp.cov_en_m2[k],
                    u.t_s + float(imp.dt_s[k]),
                    bool(imp.ok[k]),
                    org.pos_en_m[k],
                    org.cov_en_m2[k],
                    u.t_s + float(org.dt_s[k]),
                    bool(org.ok[k]),
                )
            )
        return events


class WarnStage:
    """Alerts to the warning zones from the current impact predictions."""

    def __init__(self, world: World, threshold: float) -> None:
        from opencram.warn.alerts import AlertBoard

        self.board = AlertBoard(world.zones, threshold)
        self.world = world

    def step(self, t_s: float, current: dict) -> list[Event]:
        from opencram.warn.alerts import lethal_radius_m, zone_probabilities

        ids = sorted(current)
        if ids:
            mean = np.array([current[i][1] for i in ids])
            cov = np.array([current[i][2] for i in ids])
            radius = np.array([lethal_radius_m(current[i][3]) for i in ids])
            tti = np.array([current[i][0] - t_s for i in ids])
            p = zone_probabilities(self.world.zones, self.board.zone_idx, mean, cov, radius)
        else:
            p = np.zeros((0, self.board.zone_idx.size))
            tti = np.zeros(0)
        events: list[Event] = []
        for name, state, prob, tids, t_imp in self.board.step(t_s, p, ids, tti):
            events.append(
                ZoneAlert(
                    t_s=round(t_s, 4),
                    zone=name,
                    state=state,
                    probability=round(float(prob), 4),
                    track_ids=tids,
                    time_to_impact_s=None if t_imp is None else round(t_imp, 3),
                )
            )
        return events
