"""The engine: one clock loop that advances the world and emits typed events.

Each tick of ``simulation.dt_s`` the engine asks each stage what happened since the last
tick and collects the events, each stamped with its exact time. Stages so far: truth
(launches, once-a-second truth states, impacts, aircraft leaving). Sensing, tracking,
prediction, warning and engagement join this same loop as they land.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from opencram.c2.controls import OperatorControls
from opencram.c2.events import (
    AircraftLeft,
    Event,
    Impact,
    Launch,
    OperatorAction,
    RunFinished,
    RunStarted,
    TruthState,
)
from opencram.c2.stages import EngageStage, PredictStage, SenseStage, TrackStage, WarnStage
from opencram.c2.world import World
from opencram.engage.records import Burst
from opencram.predict.prediction import Prediction
from opencram.sense.plots import Plots
from opencram.track.manager import Tracker, TrackerConfig

TRUTH_SAMPLE_S = 1.0
SETTLE_S = 2.0  # keep running this long after the last thing lands or leaves


@dataclass(frozen=True)
class RunResult:
    world: World
    events: tuple[Event, ...]
    end_s: float
    plots: Plots | None = None  # every simulated plot, by measurement time
    tracker: Tracker | None = None
    predictions: list[Prediction] | None = None  # PredictStage.log: every ballistic prediction
    kills_s: np.ndarray | None = None  # per round: when destroyed in the air (inf: never)
    engagements: list[Burst] | None = None  # EngageStage.log: every burst
    not_engaged: dict | None = None  # track id -> why it was not engaged
    alert_history: tuple | None = None  # (times, zone names, probabilities (k, z))


def tracker_config(world: World) -> TrackerConfig:
    t = world.scenario.tracking
    return TrackerConfig(
        filter=t.filter,
        confirm_hits=t.confirm_hits,
        confirm_window_s=t.confirm_window_s,
        coast_s=t.coast_s,
        gate_prob=t.gate_prob,
        association=t.association,
        detection_prob=t.detection_prob,
        clutter_density=t.clutter_density,
    )


def _geo(world: World, pos_enu_m):
    lat, lon, alt = world.frame.to_geodetic(pos_enu_m)
    return np.round(lat, 7), np.round(lon, 7), np.round(alt, 2)


def end_time_s(world: World) -> float:
    """When the run stops: after everything has landed or left, capped by the duration."""
    ends = [*world.truth.impact_times(), *(p.end_s for p in world.aircraft_paths), 0.0]
    last = max(ends)
    return float(min(world.scenario.simulation.duration_s, last + SETTLE_S))


def run(
    world: World,
    on_tick: Callable[[float, float], None] | None = None,
    on_events: Callable[[list[Event]], None] | None = None,
    controls: OperatorControls | None = None,
) -> RunResult:
    """Run the world to its end; ``on_tick(t_s, end_s)`` reports progress and
    ``on_events(events)`` receives each tick's events as they happen (a live stream).
    ``controls`` carries operator actions from another thread (opencram.c2.controls);
    they are applied at the start of the next tick."""
    s = world.scenario
    truth = world.truth
    rounds = truth.rounds
    dt = s.simulation.dt_s
    t_end = end_time_s(world)
    launch_t = truth.launch_times()
    impact_t = truth.impact_times()
    impact_p = truth.impact_points()
    impact_v = truth.impact_speeds()
    events: list[Event] = [
        RunStarted(
            t_s=0.0,
            scenario=s.name,
            seed=world.seed,
            site_lat=s.site.lat,
            site_lon=s.site.lon,
            site_alt_m=s.site.alt_m,
            n_threats=len(rounds),
            n_aircraft=len(world.aircraft_paths),
        )
    ]
    a_end = np.array([p.end_s for p in world.aircraft_paths])
    sense = track = predict = warn = engage = None
    kills = np.full(len(rounds), np.inf)  # time each round was destroyed in the air
    controls = controls if controls is not None else OperatorControls()

    def state_with_kills(t):
        pos, vel, act = world.object_state_at(t)
        tt = np.broadcast_to(np.asarray(t, dtype=float), act.shape)
        act = act.copy()
        act[: len(rounds)] &= tt[: len(rounds)] < kills
        return pos, vel, act

    if s.sensors:
        # sensing draws from its own stream, so adding a radar never changes the truth
        sense = SenseStage(world, np.random.default_rng([world.seed, 1]), state_with_kills)
        track = TrackStage(world, sense.radars, tracker_config(world))
        predict = PredictStage(world.frame, track.tracker.model)
        warn = WarnStage(world.zones, s.warning.threshold)
        if s.weapons:
            engage = EngageStage(
                world, track.tracker, kills, np.random.default_rng([world.seed, 2]), controls
            )
    n_ticks = int(np.ceil(t_end / dt))
    t_prev = -np.inf
    next_sample = 0.0
    for k in range(n_ticks + 1):
        t = min(k * dt, t_end)
        tick: list[Event] = apply_actions(controls, t, world, track, warn)
        for i in np.flatnonzero((launch_t > t_prev) & (launch_t <= t)):
            r = rounds[i]
            lat, lon, alt = _geo(world, r.launch_enu_m)
            tick.append(
                Launch(
                    t_s=round(float(launch_t[i]), 4),
                    threat_id=r.id,
                    threat_type=r.type.id,
                    lat=float(lat),
                    lon=float(lon),
                    alt_m=float(alt),
                    azimuth_deg=None if r.az_rad is None else round(np.degrees(r.az_rad), 4),
                    quadrant_elevation_deg=None
                    if r.qe_rad is None
                    else round(np.degrees(r.qe_rad), 4),
                )
            )
        if t >= next_sample:
            tick.extend(_truth_samples(world, t, kills))
            next_sample += TRUTH_SAMPLE_S
        for i in np.flatnonzero((impact_t > t_prev) & (impact_t <= t) & (impact_t < kills)):
            lat, lon, alt = _geo(world, impact_p[i])
            zones = world.zones.zones_at(impact_p[i, 0], impact_p[i, 1])
            tick.append(
                Impact(
                    t_s=round(float(impact_t[i]), 4),
                    threat_id=rounds[i].id,
                    lat=float(lat),
                    lon=float(lon),
                    alt_m=float(alt),
                    speed_mps=round(float(impact_v[i]), 2),
                    zones=zones,
                )
            )
        for j in np.flatnonzero((a_end > t_prev) & (a_end <= t)):
            tick.append(
                AircraftLeft(t_s=round(float(a_end[j]), 4), aircraft_id=world.aircraft_ids[j])
            )
        if sense is not None and track is not None:
            tick.extend(track.step(t, sense.step(t)))
            tick.extend(predict.step(t, track.new_confirmed, track.new_dropped))
            friendly = controls.friendly_tracks
            warned = {k: v for k, v in predict.current.items() if k not in friendly}
            alerts = warn.step(t, warned)
            for e in alerts:
                if e.state == "cleared":
                    controls.acknowledged.discard(e.zone)
            tick.extend(alerts)
            if engage is not None:
                tick.extend(engage.step(t, predict.current))
        tick.sort(key=lambda e: e.t_s)
        if on_events is not None:
            on_events(([events[0]] if k == 0 else []) + tick)
        events.extend(tick)
        if on_tick is not None:
            on_tick(t, t_end)
        t_prev = t
    landed = int(np.sum((impact_t <= t_end) & (impact_t < kills)))
    events.append(
        RunFinished(t_s=round(t_end, 4), n_impacts=landed, n_in_flight=len(rounds) - landed)
    )
    if on_events is not None:
        on_events([events[-1]])
    return RunResult(
        world,
        tuple(events),
        t_end,
        plots=None if sense is None else sense.recorded(),
        tracker=None if track is None else track.tracker,
        kills_s=kills,
        engagements=None if engage is None else engage.log,
        not_engaged=None if engage is None else dict(engage.not_engaged),
        predictions=None if sense is None else predict.log,
        alert_history=None
        if sense is None
        else (
            np.array(warn.board.history_t),
            warn.board.names,
            np.array(warn.board.history_p, dtype=float).reshape(
                len(warn.board.history_t), len(warn.board.names)
            ),
        ),
    )


def apply_actions(controls: OperatorControls, t_s: float, world: World, track, warn) -> list:
    """Apply the operator's queued actions at tick ``t_s``; one OperatorAction each."""
    out = []
    guns = [w.id for w in world.scenario.weapons]
    for action, target in controls.drain():
        ok, note = True, ""
        if action in ("weapons_hold", "weapons_free"):
            if target != "*" and target not in guns:
                ok, note = False, f"no gun {target!r}"
            else:
                chosen = guns if target == "*" else [target]
                if action == "weapons_hold":
                    controls.weapons_hold.update(chosen)
                else:
                    controls.weapons_hold.difference_update(chosen)
        elif action == "mark_friendly":
            live = set() if track is None else {int(i) for i in track.tracker.tracks.id}
            if not target.lstrip("-").isdigit():
                ok, note = False, f"track id {target!r} is not an integer"
            elif int(target) not in live:
                ok, note = False, f"no live track {target}"
            else:
                controls.friendly_tracks.add(int(target))
        else:  # ack_alert
            names = [] if warn is None else warn.board.names
            if target not in names:
                ok, note = False, f"no warning zone {target!r}"
            elif not warn.board.active[names.index(target)]:
                ok, note = False, f"no alert on {target}"
            else:
                controls.acknowledged.add(target)
        out.append(
            OperatorAction(t_s=round(t_s, 4), action=action, target=target, accepted=ok, note=note)
        )
    return out


def _truth_samples(world: World, t: float, kills: np.ndarray) -> list[Event]:
    out: list[Event] = []
    pos, vel, active = world.truth.state_at(t)
    active = active & (t < kills)
    idx = np.flatnonzero(active)
    if idx.size:
        lat, lon, alt = _geo(world, pos[idx])
        for j, i in enumerate(idx):
            out.append(
                TruthState(
                    t_s=round(t, 4),
                    object_id=world.truth.rounds[i].id,
                    object_kind="threat",
                    lat=float(lat[j]),
                    lon=float(lon[j]),
                    alt_m=float(alt[j]),
                    vel_enu_mps=tuple(round(float(v), 2) for v in vel[i]),
                )
            )
    for a_id, path in zip(world.aircraft_ids, world.aircraft_paths, strict=True):
        p, v, a = path.state_at(t)
        if a[0]:
            lat, lon, alt = _geo(world, p[0])
            out.append(
                TruthState(
                    t_s=round(t, 4),
                    object_id=a_id,
                    object_kind="aircraft",
                    lat=float(lat),
                    lon=float(lon),
                    alt_m=float(alt),
                    vel_enu_mps=tuple(round(float(x), 2) for x in v[0]),
                )
            )
    return out
