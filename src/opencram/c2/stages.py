"""Engine stages beyond the truth: sensing and tracking.

Each stage is stepped by the engine with the current time and returns the events it
produced. They read the world's truth and hand data down the chain in numpy batches.
"""

from __future__ import annotations

import numpy as np

from opencram.c2.events import (
    Ellipse95,
    EngagementResult,
    EngagementStarted,
    EngagementWithheld,
    Event,
    Footprint,
    GunStatus,
    ImpactPredicted,
    OriginEstimated,
    TrackDropped,
    TrackUpdated,
    ZoneAlert,
)
from opencram.c2.world import World
from opencram.sense.plots import Plots
from opencram.sense.radar import RadarModel, scan
from opencram.track.classify import BALLISTIC_CLASSES, classify
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


_NO_PLOTS = Plots.empty()


class SenseStage:
    """Every radar scans on its own clock; plots reach the tracker after their latency."""

    def __init__(self, world: World, rng: np.random.Generator, truth_fn=None) -> None:
        s = world.scenario
        self.world = world
        self.truth_fn = truth_fn or world.object_state_at
        self.rng = rng
        self.radars = [RadarModel.from_schema(x, world.frame, s.site.alt_m) for x in s.sensors]
        self.next_scan_s = np.zeros(len(self.radars))
        self.pending: list[Plots] = []
        self._next_arrival_s = np.inf  # earliest arrival among the pending plots
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
                    self.truth_fn,
                    self.rcs,
                    self.ids,
                    self.rng,
                    sensor_index=i,
                )
                self.pending.append(p)
                self.all_plots.append(p)
                if len(p):
                    self._next_arrival_s = min(self._next_arrival_s, float(p.arrival_s.min()))
                self.next_scan_s[i] += radar.scan_s
        if not self.pending or self._next_arrival_s > t_s:
            return _NO_PLOTS
        allp = Plots.concat(self.pending)
        due = allp.arrival_s <= t_s
        rest = allp.take(np.flatnonzero(~due))
        self.pending = [rest] if len(rest) else []
        self._next_arrival_s = float(rest.arrival_s.min()) if len(rest) else np.inf
        return allp.take(np.flatnonzero(due))

    def recorded(self) -> Plots:
        return Plots.concat(self.all_plots).sorted_by("time_s")


def confirmed_track_events(t_s: float, updates, tracker, frame) -> tuple[list, list]:
    """The confirmed ones of a tracker's new ``updates``, classified: their TrackUpdated
    events (stamped ``t_s``) and (update, class) pairs. Shared by the engine's TrackStage
    and the live service."""
    conf = [u for u in updates if u.confirmed]
    if not conf:
        return [], []
    x = np.array([u.x for u in conf])
    mu = None if conf[0].mode_prob is None else np.array([u.mode_prob for u in conf])
    rcs = np.array([u.rcs_dbsm for u in conf])
    cls = classify(x, np.array([u.n_updates for u in conf]), mu, rcs, tracker.model)
    lat, lon, alt = (np.atleast_1d(v) for v in frame.to_geodetic(x[:, :3]))
    events, pairs = [], []
    for k, u in enumerate(conf):
        pairs.append((u, str(cls[k])))
        events.append(
            TrackUpdated(
                t_s=round(t_s, 4),
                measured_s=round(u.t_s, 4),
                track_id=u.track_id,
                track_class=str(cls[k]),
                sensor=tracker.sensors[u.sensor].id,
                lat=round(float(lat[k]), 7),
                lon=round(float(lon[k]), 7),
                alt_m=round(float(alt[k]), 2),
                vel_enu_mps=tuple(round(float(v), 2) for v in u.x[3:6]),
                pos_sigma_m=round(float(np.sqrt(np.trace(u.p[:3, :3]))), 2),
                kappa_cm2pkg=round(float(u.x[6]), 4),
                ballistic_prob=None if u.mode_prob is None else round(u.mode_prob[0], 4),
            )
        )
    return events, pairs


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
        tr.step(t_s)
        n_up = len(tr.updates)
        new = tr.updates[self._seen_updates :] if n_up > self._seen_updates else []
        self._seen_updates = n_up
        events, self.new_confirmed = confirmed_track_events(t_s, new, tr, self.world.frame)
        self.new_dropped = []
        for u, cls in self.new_confirmed:
            self.classes[u.track_id] = cls
        for tid, _t_del, reason in tr.deleted[self._seen_deleted :]:
            events.append(TrackDropped(t_s=round(t_s, 4), track_id=tid, reason=reason))
            self.new_dropped.append(tid)
        self._seen_deleted = len(tr.deleted)
        return events


def _ellipse(cov):
    from opencram.predict.ground import ellipse95

    a, b, o = ellipse95(cov[None])
    return Ellipse95(
        semi_major_m=round(float(a[0]), 2),
        semi_minor_m=round(float(b[0]), 2),
        orientation_deg=round(float(o[0]), 2),
    )


DRONE_HORIZON_S = 60.0
# a prediction is kept (and its zone alert held) this long after its predicted impact
# time, so an alert is never cleared just before a round that lands a little late
IMPACT_GRACE_S = 2.0
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
        for tid in [k for k, v in self.current.items() if v[0] + IMPACT_GRACE_S <= t_s]:
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


class ZoneProbabilityCache:
    """Zone probabilities per track, recomputed only when the track's prediction changes
    (a new entry in PredictStage.current), not on every tick."""

    def __init__(self, zones, zone_idx: np.ndarray) -> None:
        self.zones = zones
        self.zone_idx = zone_idx
        self._rows: dict[int, tuple[object, np.ndarray]] = {}

    def rows(self, current: dict, ids: list[int]) -> np.ndarray:
        """(len(ids), z) probabilities for the tracks ``ids`` of ``current``."""
        from opencram.warn.alerts import lethal_radius_m, zone_probabilities

        stale = [i for i in ids if self._rows.get(i, (None,))[0] is not current[i]]
        if stale:
            mean = np.array([current[i][1] for i in stale])
            cov = np.array([current[i][2] for i in stale])
            radius = np.array([lethal_radius_m(current[i][3]) for i in stale])
            p = zone_probabilities(self.zones, self.zone_idx, mean, cov, radius)
            for k, i in enumerate(stale):
                self._rows[i] = (current[i], p[k])
        for i in [i for i in self._rows if i not in current]:
            del self._rows[i]
        return np.array([self._rows[i][1] for i in ids]).reshape(len(ids), self.zone_idx.size)


class WarnStage:
    """Alerts to the warning zones from the current impact predictions."""

    def __init__(self, world: World, threshold: float) -> None:
        from opencram.warn.alerts import AlertBoard

        self.board = AlertBoard(world.zones, threshold)
        self.world = world
        self.cache = ZoneProbabilityCache(world.zones, self.board.zone_idx)

    def step(self, t_s: float, current: dict) -> list[Event]:
        ids = sorted(current)
        if ids:
            tti = np.array([current[i][0] - t_s for i in ids])
            p = self.cache.rows(current, ids)
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


DECISION_INTERVAL_S = 0.5  # how often threat evaluation and assignment run


def planned_kill_probability(spec, cfg, sol, p_state: np.ndarray, n_rounds: int):
    """Fire control's kill probability (n,) of a burst of ``n_rounds`` from gun ``spec`` at
    the intercepts ``sol``: dispersion plus the aim error, which is the gun's track-radar
    fix when it has one, else the track's error (covariances ``p_state``) flown over the
    round's time of flight."""
    from opencram.engage.firecontrol import track_radar_sigma_m
    from opencram.engage.tewa import burst_kill_probability, round_hit_probability

    if spec.track_radar is not None:
        pos_sigma = track_radar_sigma_m(spec.track_radar, sol.range_m, sol.tof_s)
    else:
        pos_sigma = predicted_pos_sigma(p_state, sol.tof_s)
    ph = round_hit_probability(sol.range_m, spec.dispersion_mrad, pos_sigma, cfg.target_radius_m)
    return burst_kill_probability(ph, n_rounds, cfg.p_kill_given_hit)


def _radar_times(radar) -> np.ndarray:
    from opencram.engage.firecontrol import _fit_design

    return _fit_design(radar)[0]


def predicted_pos_sigma(p: np.ndarray, dt_s: np.ndarray) -> np.ndarray:
    """RMS position error per axis (n,) of tracks with covariances ``p`` (n, 7, 7) flown
    ``dt_s`` (n,) ahead at constant velocity (P_pp + dt (P_pv + P_vp) + dt^2 P_vv). The
    gun lays on the track at the trigger (EngageStage._fire), so fire control's error at
    the intercept is the track's error flown over the round's time of flight."""
    dt = np.asarray(dt_s, dtype=float)[:, None, None]
    pp = p[:, :3, :3] + dt * (p[:, :3, 3:6] + p[:, 3:6, :3]) + dt**2 * p[:, 3:6, 3:6]
    return np.sqrt(np.maximum(np.trace(pp, axis1=1, axis2=2), 0.0) / 3.0)


def in_sectors(az_rad: float, sectors) -> bool:
    """Is an azimuth inside any of a gun's no-fire sectors (clockwise from ``from_deg``)?"""
    az = float(np.degrees(az_rad)) % 360.0
    for sec in sectors:
        width = (sec.to_deg - sec.from_deg) % 360.0
        if (az - sec.from_deg) % 360.0 <= width:
            return True
    return False


def footprints(frame, pts, radius, kind: str) -> list[list[Footprint]]:
    """Footprint records (one list per point, empty where nothing lands) from ground
    points (n, 2) in ENU."""
    n = pts.shape[0]
    radius = np.broadcast_to(np.asarray(radius, dtype=float), (n,))
    enu = np.column_stack([np.nan_to_num(pts), np.zeros(n)])
    lat, lon, _ = frame.to_geodetic(enu)
    good = np.all(np.isfinite(pts), axis=1)
    return [
        [
            Footprint(
                kind=kind,
                lat=round(float(lat[i]), 7),
                lon=round(float(lon[i]), 7),
                radius_m=round(float(radius[i]), 1),
            )
        ]
        if good[i]
        else []
        for i in range(n)
    ]


def collateral_rule(
    world, cfg, model, gun, sol, motion, x, t_state, n_rounds, p_protected, ok, where_cov
):
    """Per candidate intercept: a reason to withhold fire (str) or '' (the rule of
    opencram.engage.collateral), and its dud and debris footprints. ``world`` needs
    ``frame`` and ``zones``; ``p_protected`` (n, z) the threats' protected-zone
    probabilities; ``where_cov`` (n, 2, 2) the uncertainty of where each threat's path
    meets the ground. Used by the engine's EngageStage and the live service's advice."""
    from opencram.engage.collateral import (
        DEBRIS_95_SIGMAS,
        debris_impacts,
        dud_impacts,
        footprint_probabilities,
        touches,
    )
    from opencram.engage.firecontrol import ThreatMotion

    zones = world.zones
    protected = zones.indices("protected")
    out = [""] * len(ok)
    prints: list[list[Footprint]] = [[] for _ in range(len(ok))]
    idx = np.flatnonzero(ok)
    if not idx.size:
        return out, prints
    duds, spread = dud_impacts(gun, sol.az_rad[idx], sol.el_rad[idx], getattr(world, "env", None))
    x_int = ThreatMotion(motion.ballistic, motion.straight[idx]).propagate_state(
        x[idx], sol.t_s[idx] - t_state[idx]
    )
    debris = debris_impacts(model, x_int)
    if gun.spec.dud_rate > 0:
        dud_fp = footprints(world.frame, duds, spread, "dud")
    else:  # every round self-destructs: no dud footprint
        dud_fp = [[] for _ in idx]
    debris_fp = footprints(world.frame, debris, cfg.debris_radius_m, "debris")
    for j, i in enumerate(idx):
        prints[i] = dud_fp[j] + debris_fp[j]
    nofire = zones.indices("no-fire")
    for pts, rad, what in (
        (duds, spread, "dud rounds"),
        (debris, cfg.debris_radius_m, "debris"),
    ):
        hit = touches(zones, nofire, pts, rad)
        for j in np.flatnonzero(hit.any(axis=1)):
            name = zones.names[nofire[np.flatnonzero(hit[j])[0]]]
            out[idx[j]] = f"withheld: {what} would fall on no-fire zone {name}"
    values = zones.values[protected]
    p_dud = footprint_probabilities(zones, protected, duds, spread / 3.0)
    p_debris = footprint_probabilities(
        zones, protected, debris, cfg.debris_radius_m / DEBRIS_95_SIGMAS, where_cov[idx]
    )
    harm_fire = (
        p_dud * (n_rounds * gun.spec.dud_rate * cfg.dud_harm) + p_debris * cfg.debris_harm
    ) @ values
    harm_hold = p_protected[idx] @ values
    for j in np.flatnonzero(harm_fire > harm_hold):
        if not out[idx[j]]:
            out[idx[j]] = (
                f"withheld: expected harm of duds and debris ({harm_fire[j]:.2f}) exceeds "
                f"that of the threat landing ({harm_hold[j]:.2f})"
            )
    return out, prints


class EngageStage:
    """Threat evaluation, weapon assignment and bursts for the scenario's guns.

    Each tick: resolve bursts whose intercept time has come (the kill was drawn when the
    burst was committed, from the engage stream of the seeded generator), reload guns, then
    evaluate the current ballistic threats against the protected zones, solve intercepts
    from every free gun, drop pairs with a friendly aircraft near the line of fire, and
    assign guns to threats (opencram.engage.tewa). A destroyed round stops in the truth
    (``kills``), so the radars lose it and its track ends."""

    def __init__(
        self, world: World, tracker: Tracker, kills: np.ndarray, rng, controls=None
    ) -> None:
        from opencram.c2.controls import OperatorControls
        from opencram.engage.firecontrol import GunModel

        s = world.scenario
        self.world = world
        self.tracker = tracker
        self.kills = kills
        self.rng = rng
        self.cfg = s.engagement
        self.guns = [
            GunModel.build(
                w,
                world.frame.to_enu(w.lat, w.lon, s.site.alt_m if w.alt_m is None else w.alt_m),
                world.env,
            )
            for w in s.weapons
        ]
        g = len(self.guns)
        self.ammo = np.array([w.ammo_rounds for w in s.weapons], dtype=np.int64)
        self.ready_s = np.zeros(g)
        self.reload_at = np.full(g, np.inf)
        self.az = np.zeros(g)
        self.el = np.zeros(g)
        self.active: dict[int, dict] = {}  # track id -> the burst in the air
        self.assessing: dict[int, float] = {}  # track id -> intercept time of its last burst
        self._next_decision_s = 0.0
        self.log: list[dict] = []  # every burst, for the outcomes
        self.not_engaged: dict[int, str] = {}  # track id -> latest reason
        self.protected = world.zones.indices("protected")
        self.controls = controls if controls is not None else OperatorControls()
        self.fc_rng = np.random.default_rng([world.seed, 3])  # the guns' track radars
        self.zone_cache = ZoneProbabilityCache(world.zones, self.protected)
        self.gun_state: list[str | None] = [None] * g  # last GunStatus sent per gun
        self.withheld: dict[int, str] = {}  # track id -> last EngagementWithheld reason
        self._withhold_now: dict[int, tuple[str | None, str, list]] = {}

    def _footprints(self, pts, radius, kind: str) -> list[list[Footprint]]:
        return footprints(self.world.frame, pts, radius, kind)

    def _withhold(self, tid: int, gun: str | None, reason: str, footprints=()) -> None:
        """Record a safety rule holding fire on a track (reported once per reason)."""
        self.not_engaged[tid] = reason
        self._withhold_now[tid] = (gun, reason, list(footprints))

    def _gun_events(self, t_s: float) -> list[Event]:
        """GunStatus for each gun whose state changed."""
        out: list[Event] = []
        busy = {b["gun"] for b in self.active.values()}
        for g, gun in enumerate(self.guns):
            if gun.id in self.controls.weapons_hold:
                state = "hold"
            elif np.isfinite(self.reload_at[g]) and t_s < self.reload_at[g]:
                state = "reloading"
            elif self.ammo[g] <= 0:
                state = "empty"
            elif self.ready_s[g] > t_s or gun.id in busy:
                state = "engaging"
            else:
                state = "ready"
            if state != self.gun_state[g]:
                self.gun_state[g] = state
                out.append(
                    GunStatus(t_s=round(t_s, 4), gun=gun.id, state=state, ammo=int(self.ammo[g]))
                )
        return out

    def _fire(self, t_s: float) -> list[Event]:
        """Bursts whose fire time has come. The gun lays on a fresh fix: its own track
        radar's (``Weapon.track_radar``) when it has one, else the latest surveillance
        track. With no track left, or no target in the track radar's gate, the burst is
        cancelled and its rounds kept. In simulation the burst's real effect is then drawn
        from the true miss."""
        from opencram.engage.firecontrol import ThreatMotion, solve_intercepts, track_radar_fix

        out: list[Event] = []
        tr = self.tracker.tracks
        live = {int(i): k for k, i in enumerate(tr.id)}
        for tid, b in list(self.active.items()):
            if b["fired"] or b["fire_s"] > t_s:
                continue
            gun = self.guns[b["g"]]
            entry = b["log"]
            radar = gun.spec.track_radar
            motion = ThreatMotion(self.tracker.model, np.array([entry["drone"]]))
            reason = "" if tid in live else "track lost before the trigger"
            if not reason:
                r = live[tid]
                x, t_state = tr.x[r : r + 1].copy(), tr.t_s[r : r + 1].copy()
                if radar is not None:
                    pred = motion.propagate_state(x, b["fire_s"] - t_state)
                    j = self._in_gate(pred[0, :3], b["fire_s"], radar.gate_m)
                    if j < 0:
                        reason = "no target in the track radar's gate"
                    else:
                        times = b["fire_s"] + _radar_times(radar)
                        seen = np.array([self.world.object_state_at(ti)[0][j] for ti in times])
                        acc = np.zeros(3)
                        if not entry["drone"]:
                            acc = self.tracker.model.deriv(pred)[0, 3:6]
                        x[0, :6] = track_radar_fix(radar, gun.pos_enu_m, seen, acc, self.fc_rng)
                        t_state[:] = b["fire_s"]
            if not reason:
                sol = solve_intercepts(gun, motion, x, t_state, b["fire_s"])
                if not (sol.feasible[0] and sol.t_s[0] > b["fire_s"]):
                    reason = "no intercept from the fix at the trigger"
            if reason:  # hold the burst: the rounds stay in the drum
                del self.active[tid]
                g = b["g"]
                self.ammo[g] += b["rounds"]
                self.reload_at[g] = np.inf
                self.ready_s[g] = t_s
                entry.update(cancelled=reason, rounds=0, ammo_left=int(self.ammo[g]))
                out.append(
                    EngagementResult(
                        t_s=round(t_s, 4), gun=gun.id, track_id=tid, killed=False, cancelled=reason
                    )
                )
                continue
            b["fired"] = True
            b["intercept_s"] = float(sol.t_s[0])
            entry["intercept_s"] = float(sol.t_s[0])
            entry["pos_enu_m"] = sol.pos_enu_m[0].copy()
            entry["az_rad"] = float(sol.az_rad[0])
            entry["el_rad"] = float(sol.el_rad[0])
            self.az[b["g"]], self.el[b["g"]] = entry["az_rad"], entry["el_rad"]
            truth, miss, pk_true = self._true_effect(
                gun, entry["pos_enu_m"], b["intercept_s"], b["rounds"]
            )
            b["truth"] = entry["truth"] = truth
            b["killed"] = bool(self.rng.random() < pk_true)
            entry.update(miss_m=miss, p_kill_true=round(pk_true, 6), killed=b["killed"])
        return out

    def _in_gate(self, pos_enu_m, t_s: float, gate_m: float) -> int:
        """Simulation: the threat object nearest ``pos_enu_m`` at ``t_s`` within ``gate_m``
        (what the track radar locks on), or -1."""
        n_r = len(self.world.truth.rounds)
        pos, _, act = self.world.object_state_at(t_s)
        alive = np.flatnonzero(act[:n_r] & (t_s < self.kills))
        if not alive.size:
            return -1
        d = np.linalg.norm(pos[alive] - pos_enu_m, axis=1)
        k = int(np.argmin(d))
        return int(alive[k]) if d[k] <= gate_m else -1

    def _resolve(self, t_s: float) -> list[Event]:
        out: list[Event] = self._fire(t_s)
        for tid in [k for k, b in self.active.items() if b["fired"] and b["intercept_s"] <= t_s]:
            b = self.active.pop(tid)
            if b["killed"] and b["truth"] >= 0 and b["intercept_s"] < self.kills[b["truth"]]:
                self.kills[b["truth"]] = b["intercept_s"]
            b["resolved"] = True
            self.assessing[tid] = b["intercept_s"]
            out.append(
                EngagementResult(
                    t_s=round(t_s, 4), gun=b["gun"], track_id=tid, killed=bool(b["killed"])
                )
            )
        return out

    def _friendly_near(self, gun_pos, aim_pos, t0: float, t1: float) -> bool:
        """Is a friendly aircraft within the clearance of the line of fire (extended to the
        self-destruct range) while the rounds fly?"""
        w = self.world
        if not w.aircraft_paths:
            return False
        seg = aim_pos - gun_pos
        length = np.linalg.norm(seg)
        u = seg / max(length, 1e-9)
        for t in np.linspace(t0, t1, 5):
            pos, _, act = w.object_state_at(t)
            air = pos[len(w.truth.rounds) :][act[len(w.truth.rounds) :]]
            if not len(air):
                continue
            d = air - gun_pos
            along = np.clip(d @ u, 0.0, 2.0 * length)
            off = np.linalg.norm(d - along[:, None] * u, axis=1)
            if np.any(off < self.cfg.friendly_clearance_m):
                return True
        return False

    def step(self, t_s: float, current: dict) -> list[Event]:
        from opencram.engage.firecontrol import (
            ThreatMotion,
            ThreatPaths,
            solve_intercepts,
        )
        from opencram.engage.tewa import (
            assign,
            threat_priority,
        )

        events = self._resolve(t_s)
        if not self.guns:
            return events
        if t_s < self._next_decision_s:
            return events + self._gun_events(t_s)
        self._next_decision_s = t_s + DECISION_INTERVAL_S
        refill = self.reload_at <= t_s
        if refill.any():
            for g in np.flatnonzero(refill):
                self.ammo[g] = self.world.scenario.weapons[g].ammo_rounds
            self.reload_at[refill] = np.inf
        tr = self.tracker.tracks
        live = {int(i): k for k, i in enumerate(tr.id)}
        # kill assessment: a track engaged before is engaged again only once a plot after
        # the intercept shows the threat still flying
        assessed = {
            tid: bool(tr.t_s[live[tid]] > t_int + 0.2)
            for tid, t_int in self.assessing.items()
            if tid in live
        }
        friendly = self.controls.friendly_tracks
        for tid in current:
            if tid in friendly:
                self.not_engaged[tid] = "marked friendly by the operator"
        ids = [
            tid
            for tid, v in current.items()
            if tid not in friendly
            and tid in live
            and tid not in self.active
            and assessed.get(tid, True)
            and v[0] > t_s
        ]
        if not ids:
            return events + self._finish_decision(t_s)
        cov = np.array([current[i][2] for i in ids])
        tti = np.array([current[i][0] - t_s for i in ids])
        zones = self.world.zones
        p = self.zone_cache.rows(current, ids)
        p_any = 1.0 - np.prod(1.0 - p, axis=1) if p.shape[1] else np.zeros(len(ids))
        worth = p_any >= self.cfg.threshold
        for k, tid in enumerate(ids):
            if not worth[k]:
                self.not_engaged[tid] = (
                    f"predicted to land outside the protected zones (P = {p_any[k]:.3f})"
                )
        cand = [k for k in range(len(ids)) if worth[k]]
        hold = self.controls.weapons_hold
        free = [
            g
            for g in range(len(self.guns))
            if self.ready_s[g] <= t_s and self.ammo[g] > 0 and self.guns[g].id not in hold
        ]
        if not cand or not free:
            all_held = all(gun.id in hold for gun in self.guns)
            for k in cand:
                if all_held:
                    self._withhold(ids[k], None, "weapons hold (operator)")
                else:
                    self.not_engaged[ids[k]] = "no gun free"
            return events + self._finish_decision(t_s)
        prio = threat_priority(p[cand], zones.values[self.protected], tti[cand])
        rows = np.array([live[ids[k]] for k in cand])
        x, t_state = tr.x[rows], tr.t_s[rows]
        motion = ThreatMotion(
            self.tracker.model, np.array([current[ids[k]][3] == "drone" for k in cand])
        )
        p_state = tr.p[rows]
        # fly the candidates ahead once, far enough for every gun's latest look
        horizon = max(
            self.guns[g].spec.reaction_s + 2.0 * self.guns[g].spec.self_destruct_s for g in free
        )
        horizon += 2.0 + self.cfg.burst_s + DECISION_INTERVAL_S + 1.0
        paths = ThreatPaths.fly(motion, x, t_state, t_s + horizon)
        # where a destroyed threat's debris comes down is as uncertain as its impact point
        # (a drone's: as its position)
        ground_cov = np.where(
            motion.straight[:, None, None], p_state[:, :2, :2], cov[np.array(cand)]
        )
        value = np.zeros((len(free), len(cand)))
        plans = {}
        for a, g in enumerate(free):
            gun = self.guns[g]
            spec = gun.spec
            first = solve_intercepts(gun, motion, x, t_state, t_s + spec.reaction_s, paths=paths)
            slew = np.maximum(
                np.abs(np.angle(np.exp(1j * (first.az_rad - self.az[g]))))
                / np.radians(spec.slew_az_dps),
                np.abs(first.el_rad - self.el[g]) / np.radians(spec.slew_el_dps),
            )
            t_fire = t_s + spec.reaction_s + np.nan_to_num(slew, nan=0.0)
            sol = solve_intercepts(gun, motion, x, t_state, t_fire, paths=paths)
            t_imp = np.array([current[ids[k]][0] for k in cand])
            ok = sol.feasible & (sol.t_s < t_imp - 0.5)
            ok &= sol.pos_enu_m[:, 2] >= self.cfg.min_intercept_alt_m
            n_rounds = int(min(self.ammo[g], round(spec.rate_rpm / 60.0 * self.cfg.burst_s)))
            pk = planned_kill_probability(spec, self.cfg, sol, p_state, n_rounds)
            # shoot-look-shoot timing: a burst below min_burst_pk waits while a later
            # burst (after this one and a look at its result) would still be feasible
            weak = ok & (pk < self.cfg.min_burst_pk)
            if weak.any():
                look_s = self.cfg.burst_s + DECISION_INTERVAL_S + np.nan_to_num(sol.tof_s)
                later = solve_intercepts(gun, motion, x, t_state, t_fire + look_s, paths=paths)
                later_ok = later.feasible & (later.t_s < t_imp - 0.5)
                later_ok &= later.pos_enu_m[:, 2] >= self.cfg.min_intercept_alt_m
                wait = weak & later_ok
                for b in np.flatnonzero(wait):
                    self.not_engaged[ids[cand[b]]] = (
                        f"waiting for a better shot (P(kill) {pk[b]:.2f} from {gun.id})"
                    )
                ok = ok & ~wait
            withhold, prints = self._collateral(
                gun, sol, motion, x, t_state, n_rounds, p[cand], ok, ground_cov
            )
            for b, k in enumerate(cand):
                if not ok[b]:
                    self.not_engaged.setdefault(ids[k], "no feasible intercept for the guns")
                    continue
                if withhold[b]:
                    self._withhold(ids[k], gun.id, withhold[b], prints[b])
                    continue
                if in_sectors(sol.az_rad[b], spec.no_fire_sectors):
                    self._withhold(ids[k], gun.id, f"line of fire in a no-fire sector of {gun.id}")
                    continue
                if self._friendly_near(gun.pos_enu_m, sol.pos_enu_m[b], t_fire[b], sol.t_s[b]):
                    self._withhold(ids[k], gun.id, f"friendly aircraft in {gun.id}'s line of fire")
                    continue
                value[a, b] = prio[b] * pk[b]
                plans[(a, b)] = (float(t_fire[b]), sol, b, n_rounds, float(pk[b]), prints[b])
        for a, b in assign(value):
            g, k = free[a], cand[b]
            tid = ids[k]
            t_fire, sol, j, n, pk, fp = plans[(a, b)]
            gun = self.guns[g]
            truth = self._truth_of(tid)
            self.ammo[g] -= n
            self.ready_s[g] = t_fire + self.cfg.burst_s
            if self.ammo[g] <= 0:
                self.reload_at[g] = self.ready_s[g] + gun.spec.reload_s
                self.ready_s[g] = self.reload_at[g]
            self.az[g], self.el[g] = float(sol.az_rad[j]), float(sol.el_rad[j])
            self.not_engaged.pop(tid, None)
            self._withhold_now.pop(tid, None)
            self.withheld.pop(tid, None)
            lat, lon, alt = self.world.frame.to_geodetic(sol.pos_enu_m[j])
            self.log.append(
                {
                    "gun": gun.id,
                    "track_id": tid,
                    "truth": truth,
                    "decided_s": t_s,
                    "fire_s": t_fire,
                    "intercept_s": float(sol.t_s[j]),
                    "pos_enu_m": sol.pos_enu_m[j].copy(),
                    "az_rad": float(sol.az_rad[j]),
                    "el_rad": float(sol.el_rad[j]),
                    "rounds": n,
                    "drone": bool(motion.straight[j]),
                    "p_kill": pk,
                    "p_kill_true": None,
                    "miss_m": None,
                    "killed": False,
                    "ammo_left": int(self.ammo[g]),
                    "footprints": fp,
                }
            )
            self.active[tid] = {
                "gun": gun.id,
                "g": g,
                "fire_s": t_fire,
                "intercept_s": float(sol.t_s[j]),
                "rounds": n,
                "fired": False,
                "killed": False,
                "truth": truth,
                "resolved": False,
                "log": self.log[-1],
            }
            events.append(
                EngagementStarted(
                    t_s=round(t_s, 4),
                    gun=gun.id,
                    track_id=tid,
                    fire_s=round(t_fire, 4),
                    intercept_s=round(float(sol.t_s[j]), 4),
                    lat=round(float(lat), 7),
                    lon=round(float(lon), 7),
                    alt_m=round(float(alt), 2),
                    rounds=n,
                    p_kill=round(pk, 4),
                    ammo_left=int(self.ammo[g]),
                    footprints=fp,
                )
            )
        return events + self._finish_decision(t_s)

    def _finish_decision(self, t_s: float) -> list[Event]:
        """After a decision: EngagementWithheld for tracks whose safety reason changed,
        and GunStatus for guns whose state changed."""
        out: list[Event] = []
        for tid, (gun, reason, prints) in sorted(self._withhold_now.items()):
            if self.withheld.get(tid) != reason:
                self.withheld[tid] = reason
                out.append(
                    EngagementWithheld(
                        t_s=round(t_s, 4),
                        gun=gun,
                        track_id=tid,
                        reason=reason,
                        footprints=prints,
                    )
                )
        self._withhold_now = {}
        return out + self._gun_events(t_s)

    def _collateral(self, gun, sol, motion, x, t_state, n_rounds, p_protected, ok, where_cov):
        """Per candidate: a reason to withhold fire (str) or '', and the footprints."""
        return collateral_rule(
            self.world,
            self.cfg,
            self.tracker.model,
            gun,
            sol,
            motion,
            x,
            t_state,
            n_rounds,
            p_protected,
            ok,
            where_cov,
        )

    def _true_effect(self, gun, aim_enu_m, t_int_s: float, n_rounds: int):
        """Simulation only: what the burst really does. The rounds meet whatever threat is
        truly nearest the aim point at the intercept time (usually the tracked one; after a
        track swap, another): its index (-1 if none is flying), the miss distance across
        the line of fire (m) and the burst's real kill probability."""
        from opencram.engage.tewa import burst_kill_probability, round_hit_probability_offset

        n_r = len(self.world.truth.rounds)
        pos, _, act = self.world.object_state_at(t_int_s)
        alive = np.flatnonzero(act[:n_r] & (t_int_s < self.kills))
        if not alive.size:
            return -1, float("inf"), 0.0
        los = aim_enu_m - gun.pos_enu_m
        rng = float(np.linalg.norm(los))
        u = los / max(rng, 1e-9)
        d = pos[alive] - aim_enu_m
        across = np.linalg.norm(d - (d @ u)[:, None] * u, axis=1)
        near = np.linalg.norm(d, axis=1)
        k = int(np.argmin(near))
        miss = float(across[k])
        ph = round_hit_probability_offset(
            miss, rng, gun.spec.dispersion_mrad, self.cfg.target_radius_m
        )
        pk = burst_kill_probability(ph, n_rounds, self.cfg.p_kill_given_hit)
        return int(alive[k]), round(miss, 3), float(pk)

    def _truth_of(self, track_id: int) -> int:
        """The real object a track follows (simulation only: where the burst really goes)."""
        ids = self.tracker.updates.arrays("track_id")
        truth = self.tracker.updates.arrays("truth_id")
        mine = truth[ids == track_id][-5:]
        mine = mine[mine >= 0]
        return int(np.bincount(mine).argmax()) if mine.size else -1
