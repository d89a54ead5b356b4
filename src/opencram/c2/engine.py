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
    EngagementResult,
    Event,
    Impact,
    Launch,
    OperatorAction,
    RunFinished,
    RunStarted,
    TruthState,
)
from opencram.c2.stages import EngageStage, PredictStage, SenseStage, TrackStage, WarnStage
from opencram.c2.stages.engage import KILL_LOOK_S
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


@dataclass(frozen=True, eq=False)
class _TruthTimes:
    """When each round launches and lands (and where, how fast), and when each aircraft
    leaves."""

    launch_s: np.ndarray
    impact_s: np.ndarray
    impact_pos_enu_m: np.ndarray
    impact_speed_mps: np.ndarray
    aircraft_end_s: np.ndarray

    @staticmethod
    def of(world: World) -> _TruthTimes:
        truth = world.truth
        return _TruthTimes(
            truth.launch_times(),
            truth.impact_times(),
            truth.impact_points(),
            truth.impact_speeds(),
            np.array([p.end_s for p in world.aircraft_paths]),
        )


@dataclass(frozen=True, eq=False)
class _Chain:
    """The stages from sensing to engagement of a world with sensors."""

    sense: SenseStage
    track: TrackStage
    predict: PredictStage
    warn: WarnStage
    engage: EngageStage | None

    @staticmethod
    def build(world: World, kills: np.ndarray, controls: OperatorControls) -> _Chain | None:
        s = world.scenario
        if not s.sensors:
            return None
        n_r = len(world.truth.rounds)

        def state_with_kills(t):
            pos, vel, act = world.object_state_at(t)
            tt = np.broadcast_to(np.asarray(t, dtype=float), act.shape)
            act = act.copy()
            act[:n_r] &= tt[:n_r] < kills
            return pos, vel, act

        # sensing draws from its own stream, so adding a radar never changes the truth
        sense = SenseStage(world, np.random.default_rng([world.seed, 1]), state_with_kills)
        track = TrackStage(world, sense.radars, tracker_config(world))
        engage = None
        if s.weapons:
            engage = EngageStage(
                world, track.tracker, kills, np.random.default_rng([world.seed, 2]), controls
            )
        return _Chain(
            sense,
            track,
            PredictStage(world.frame, track.tracker.model, world.env.terrain),
            WarnStage(world.zones, s.warning.threshold, kill_look_s(sense)),
            engage,
        )

    def step(self, t: float, controls: OperatorControls) -> list[Event]:
        """This tick's events of every stage, in chain order."""
        track, predict = self.track, self.predict
        out = track.step(t, self.sense.step(t))
        out.extend(predict.step(t, track.new_confirmed, track.new_dropped))
        if self.engage is not None:  # this tick's kills, so that warn drops them at once
            resolved = self.engage.resolve(t)
            out.extend(resolved)
            self.warn.confirm_kills(t, killed_tracks(resolved))
        friendly = controls.friendly_tracks
        warned = {k: v for k, v in predict.current.items() if k not in friendly}
        alerts = self.warn.step(t, warned)
        for e in alerts:
            if e.state == "cleared":
                controls.acknowledged.discard(e.zone)
        out.extend(alerts)
        if self.engage is not None:
            out.extend(self.engage.decide(t, predict.current))
        return out

    def alert_history(self) -> tuple:
        board = self.warn.board
        p = np.array(board.history_p, dtype=float)
        n = len(board.history_t)
        return (np.array(board.history_t), board.names, p.reshape(n, len(board.names)))


def kill_look_s(sense: SenseStage) -> float:
    """How long after a confirmed kill the warn stage ignores the destroyed track's plots:
    the engage stage's kill look, plus the longest scan (a scan is drawn whole at its start,
    so it may still show a round destroyed during it)."""
    return KILL_LOOK_S + max((r.scan_s for r in sense.radars), default=0.0)


def killed_tracks(events: list[Event]) -> list[int]:
    """The track ids of the confirmed kills (``EngagementResult`` with ``killed``) among
    ``events``."""
    return [e.track_id for e in events if isinstance(e, EngagementResult) and e.killed]


def _run_started(world: World) -> RunStarted:
    s = world.scenario
    return RunStarted(
        t_s=0.0,
        scenario=s.name,
        seed=world.seed,
        site_lat=s.site.lat,
        site_lon=s.site.lon,
        site_alt_m=s.site.alt_m,
        n_threats=len(world.truth.rounds),
        n_aircraft=len(world.aircraft_paths),
    )


def _launches(world: World, times: _TruthTimes, t_prev: float, t: float) -> list[Event]:
    out: list[Event] = []
    launch_t = times.launch_s
    for i in np.flatnonzero((launch_t > t_prev) & (launch_t <= t)):
        r = world.truth.rounds[i]
        lat, lon, alt = _geo(world, r.launch_enu_m)
        out.append(
            Launch(
                t_s=round(float(launch_t[i]), 4),
                threat_id=r.id,
                threat_type=r.type.id,
                lat=float(lat),
                lon=float(lon),
                alt_m=float(alt),
                azimuth_deg=None if r.az_rad is None else round(np.degrees(r.az_rad), 4),
                quadrant_elevation_deg=None if r.qe_rad is None else round(np.degrees(r.qe_rad), 4),
            )
        )
    return out


def _arrivals(world: World, times: _TruthTimes, t_prev: float, t: float, kills) -> list[Event]:
    """Rounds that landed (not destroyed in the air) and aircraft that left, in (t_prev, t]."""
    out: list[Event] = []
    impact_t, impact_p = times.impact_s, times.impact_pos_enu_m
    for i in np.flatnonzero((impact_t > t_prev) & (impact_t <= t) & (impact_t < kills)):
        lat, lon, alt = _geo(world, impact_p[i])
        out.append(
            Impact(
                t_s=round(float(impact_t[i]), 4),
                threat_id=world.truth.rounds[i].id,
                lat=float(lat),
                lon=float(lon),
                alt_m=float(alt),
                speed_mps=round(float(times.impact_speed_mps[i]), 2),
                zones=world.zones.zones_at(impact_p[i, 0], impact_p[i, 1]),
            )
        )
    a_end = times.aircraft_end_s
    for j in np.flatnonzero((a_end > t_prev) & (a_end <= t)):
        out.append(AircraftLeft(t_s=round(float(a_end[j]), 4), aircraft_id=world.aircraft_ids[j]))
    return out


def _result(world, events, t_end, kills, chain: _Chain | None) -> RunResult:
    engage = None if chain is None else chain.engage
    return RunResult(
        world,
        tuple(events),
        t_end,
        plots=None if chain is None else chain.sense.recorded(),
        tracker=None if chain is None else chain.track.tracker,
        kills_s=kills,
        engagements=None if engage is None else engage.log,
        not_engaged=None if engage is None else dict(engage.not_engaged),
        predictions=None if chain is None else chain.predict.log,
        alert_history=None if chain is None else chain.alert_history(),
    )


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
    dt = world.scenario.simulation.dt_s
    t_end = end_time_s(world)
    times = _TruthTimes.of(world)
    events: list[Event] = [_run_started(world)]
    kills = np.full(len(world.truth.rounds), np.inf)  # time each round was destroyed in the air
    controls = controls if controls is not None else OperatorControls()
    chain = _Chain.build(world, kills, controls)
    track = None if chain is None else chain.track
    warn = None if chain is None else chain.warn
    t_prev = -np.inf
    next_sample = 0.0
    for k in range(int(np.ceil(t_end / dt)) + 1):
        t = min(k * dt, t_end)
        tick: list[Event] = apply_actions(controls, t, world, track, warn)
        tick.extend(_launches(world, times, t_prev, t))
        if t >= next_sample:
            tick.extend(_truth_samples(world, t, kills))
            next_sample += TRUTH_SAMPLE_S
        tick.extend(_arrivals(world, times, t_prev, t, kills))
        if chain is not None:
            tick.extend(chain.step(t, controls))
        tick.sort(key=lambda e: e.t_s)
        if on_events is not None:
            on_events(([events[0]] if k == 0 else []) + tick)
        events.extend(tick)
        if on_tick is not None:
            on_tick(t, t_end)
        t_prev = t
    events.append(_run_finished(times, kills, t_end))
    if on_events is not None:
        on_events([events[-1]])
    return _result(world, events, t_end, kills, chain)


def _run_finished(times: _TruthTimes, kills: np.ndarray, t_end: float) -> RunFinished:
    """The closing counts: rounds that landed, were destroyed in the air, and were still
    flying at the end (launched, neither landed nor destroyed); unlaunched rounds are in
    none of them."""
    landed = (times.impact_s <= t_end) & (times.impact_s < kills)
    destroyed = (kills <= t_end) & (kills < times.impact_s)
    flying = (times.launch_s <= t_end) & ~landed & ~destroyed
    return RunFinished(
        t_s=round(t_end, 4),
        n_impacts=int(landed.sum()),
        n_destroyed=int(destroyed.sum()),
        n_in_flight=int(flying.sum()),
    )


def _gun_action(controls: OperatorControls, action: str, target: str, guns) -> tuple[bool, str]:
    if target != "*" and target not in guns:
        return False, f"no gun {target!r}"
    chosen = guns if target == "*" else [target]
    if action == "weapons_hold":
        controls.weapons_hold.update(chosen)
    else:
        controls.weapons_hold.difference_update(chosen)
    return True, ""


def _friendly_action(controls: OperatorControls, target: str, track) -> tuple[bool, str]:
    live = set() if track is None else {int(i) for i in track.tracker.tracks.id}
    if not target.lstrip("-").isdigit():
        return False, f"track id {target!r} is not an integer"
    if int(target) not in live:
        return False, f"no live track {target}"
    controls.friendly_tracks.add(int(target))
    return True, ""


def _ack_action(controls: OperatorControls, target: str, warn) -> tuple[bool, str]:
    names = [] if warn is None else warn.board.names
    if target not in names:
        return False, f"no warning zone {target!r}"
    if not warn.board.active[names.index(target)]:
        return False, f"no alert on {target}"
    controls.acknowledged.add(target)
    return True, ""


def apply_actions(controls: OperatorControls, t_s: float, world: World, track, warn) -> list:
    """Apply the operator's queued actions at tick ``t_s``; one OperatorAction each."""
    out = []
    guns = [w.id for w in world.scenario.weapons]
    for action, target in controls.drain():
        if action in ("weapons_hold", "weapons_free"):
            ok, note = _gun_action(controls, action, target, guns)
        elif action == "mark_friendly":
            ok, note = _friendly_action(controls, target, track)
        else:  # ack_alert
            ok, note = _ack_action(controls, target, warn)
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
