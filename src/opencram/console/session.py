"""A console session: one simulation run (live) or one recorded run (replay), paced in
real time and fanned out to every connected browser.

The engine (:func:`opencram.c2.engine.run`) is synchronous, so a live session runs it in a
worker thread. Its ``on_tick`` callback blocks in a :class:`Pacer` until the wall clock
has caught up with simulated time (times the speed factor), or while the operator has
paused; a step runs a given span of simulated time unpaced, then pauses again. A replay
walks a run folder's ``events.jsonl`` with the same pacer.

Every event is turned into a JSON-ready dict (``Event.model_dump(mode="json")``) with the
local ENU position added (``e_m``, ``n_m``, converted in one batch per tick), kept in a
backlog so a browser that connects late catches up, and handed to each subscriber's
asyncio queue with ``loop.call_soon_threadsafe`` (the queues belong to the server's event
loop, the events come from the worker thread).
"""

from __future__ import annotations

import asyncio
import threading
import time
import traceback
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from opencram.c2.controls import ACTIONS, OperatorControls
from opencram.c2.engine import end_time_s, run
from opencram.c2.world import compile_world
from opencram.errors import UserError
from opencram.geo import LocalFrame
from opencram.runs import RunFolder
from opencram.scenario.load import load
from opencram.warn.zones import ZoneSet

STATE_PERIOD_S = 0.2  # wall seconds between clock updates sent to browsers
RESYNC_LAG_S = 0.5  # when the simulation falls this far behind the wall clock, re-anchor
MAX_SPEED = 1000.0


class StoppedError(Exception):
    """Raised inside the worker thread when the session is shut down."""


class Pacer:
    """Simulated time against the wall clock, with pause, step and speed.

    :meth:`wait_until` is called from the worker thread with the next simulated time; it
    returns once that time may be shown. The control methods are called from the server's
    threads; they wake the worker through a condition variable.
    """

    def __init__(self, speed: float = 1.0, paused: bool = False, on_change=None) -> None:
        self._cv = threading.Condition()
        self.speed = check_speed(speed)
        self.paused = paused
        self.t_s = 0.0
        self._step_until: float | None = None
        self._stopped = False
        self._anchor_wall = time.monotonic()
        self._anchor_sim = 0.0
        self._on_change = on_change or (lambda: None)

    # --- called by the worker thread -----------------------------------------------------

    def wait_until(self, t_s: float) -> None:
        """Block until simulated time ``t_s`` is due; raise :class:`StoppedError` on shutdown."""
        changed = False
        with self._cv:
            while True:
                if self._stopped:
                    raise StoppedError
                if self._step_until is not None:
                    if t_s <= self._step_until + 1e-9:
                        break  # a step runs unpaced
                    self.paused, self._step_until, changed = True, None, True
                    continue
                if self.paused:
                    self._cv.wait(0.5)
                    continue
                now = time.monotonic()
                due = self._anchor_wall + (t_s - self._anchor_sim) / self.speed
                if due <= now:
                    if now - due > RESYNC_LAG_S:  # the engine was slow: do not sprint after
                        self._anchor(now, t_s)
                    break
                self._cv.wait(due - now)
            self.t_s = max(self.t_s, t_s)
            if self._step_until is not None and self.t_s >= self._step_until - 1e-9:
                self.paused, self._step_until, changed = True, None, True
        if changed:
            self._on_change()

    # --- called by the server ------------------------------------------------------------

    def _anchor(self, now: float, t_s: float) -> None:
        self._anchor_wall, self._anchor_sim = now, t_s

    def pause(self) -> None:
        with self._cv:
            self.paused, self._step_until = True, None
            self._cv.notify_all()

    def resume(self) -> None:
        with self._cv:
            self.paused, self._step_until = False, None
            self._anchor(time.monotonic(), self.t_s)
            self._cv.notify_all()

    def step(self, seconds: float) -> None:
        """Run ``seconds`` of simulated time as fast as possible, then pause."""
        if not (0 < seconds <= 3600):
            raise ValueError("seconds: must be in (0, 3600]")
        with self._cv:
            self.paused = True
            self._step_until = self.t_s + seconds
            self._cv.notify_all()

    def set_speed(self, speed: float) -> None:
        speed = check_speed(speed)
        with self._cv:
            self.speed = speed
            self._anchor(time.monotonic(), self.t_s)
            self._cv.notify_all()

    def stop(self) -> None:
        with self._cv:
            self._stopped = True
            self._cv.notify_all()


def check_speed(speed: float) -> float:
    try:
        speed = float(speed)
    except (TypeError, ValueError):
        raise ValueError(f"speed: not a number: {speed!r}") from None
    if not (0 < speed <= MAX_SPEED):
        raise ValueError(f"speed: must be > 0 and at most {MAX_SPEED:g}, not {speed:g}")
    return speed


# --- the map: static vector features in the local frame ---------------------------------


def _rings(geom) -> list[list[list[float]]]:
    parts = getattr(geom, "geoms", [geom])
    return [[[round(x, 1), round(y, 1)] for x, y in p.exterior.coords] for p in parts]


def map_features(scenario, frame: LocalFrame, zones) -> dict[str, Any]:
    """Everything static the map draws, in local ENU metres: zones (rings, kind),
    landmarks, sensors and guns (with their ranges), and the site."""

    def enu(points) -> np.ndarray:
        if not points:
            return np.zeros((0, 3))
        lat = np.array([p[0] for p in points], dtype=float)
        lon = np.array([p[1] for p in points], dtype=float)
        return np.round(frame.to_enu(lat, lon, frame.alt_m), 1)

    lm = enu([(m.lat, m.lon) for m in scenario.landmarks])
    se = enu([(s.lat, s.lon) for s in scenario.sensors])
    we = enu([(w.lat, w.lon) for w in scenario.weapons])
    return {
        "site": {"name": scenario.site.name, "lat": scenario.site.lat, "lon": scenario.site.lon},
        "zones": [
            {"name": n, "kind": k, "rings": _rings(g)}
            for n, k, g in zip(zones.names, zones.kinds, zones.polygons_enu, strict=True)
        ],
        "landmarks": [
            {"name": m.name, "e_m": float(p[0]), "n_m": float(p[1])}
            for m, p in zip(scenario.landmarks, lm, strict=True)
        ],
        "sensors": [
            {"id": s.id, "e_m": float(p[0]), "n_m": float(p[1]), "range_m": s.range_max_m}
            for s, p in zip(scenario.sensors, se, strict=True)
        ],
        "guns": [
            {
                "id": w.id,
                "battery": w.battery,
                "e_m": float(p[0]),
                "n_m": float(p[1]),
                "range_m": w.max_range_m,
                "ammo": w.ammo_rounds,
            }
            for w, p in zip(scenario.weapons, we, strict=True)
        ],
    }


def add_enu(frame: LocalFrame, events: list[dict]) -> list[dict]:
    """Add ``e_m``/``n_m`` to every event (and footprint) that has ``lat``/``lon``; one
    batched conversion for the whole list."""
    spots = [d for e in events for d in (e, *e.get("footprints", ())) if "lat" in d]
    if spots:
        lat = np.array([d["lat"] for d in spots], dtype=float)
        lon = np.array([d["lon"] for d in spots], dtype=float)
        enu = np.round(frame.to_enu(lat, lon, frame.alt_m), 1)
        for d, (e_m, n_m) in zip(spots, enu[:, :2].tolist(), strict=True):
            d["e_m"], d["n_m"] = e_m, n_m
    return events


# --- the session --------------------------------------------------------------------------


@dataclass
class _Subscriber:
    loop: asyncio.AbstractEventLoop
    queue: asyncio.Queue


@dataclass
class Session:
    """One run shown in the console; see the module docstring."""

    mode: str  # "live" or "replay"
    name: str
    frame: LocalFrame
    map: dict[str, Any]
    pacer: Pacer
    end_s: float
    controls: OperatorControls | None = None  # live only
    status: str = "ready"  # ready, running, finished, error, stopped
    error: str = ""
    backlog: list[dict] = field(default_factory=list)
    _subs: list[_Subscriber] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _thread: threading.Thread | None = None
    _last_state_wall: float = 0.0
    _source: Any = None  # the world (live) or the parsed events (replay)
    _last_key: tuple | None = None

    # --- construction ---------------------------------------------------------------------

    @classmethod
    def live(
        cls, scenario: str, seed: int | None = None, speed: float = 1.0, paused: bool = False
    ) -> Session:
        loaded = load(scenario)
        world = compile_world(loaded, seed)
        s = cls(
            mode="live",
            name=loaded.scenario.name,
            frame=world.frame,
            map=map_features(loaded.scenario, world.frame, world.zones),
            pacer=Pacer(_speed_option(speed), paused),
            end_s=end_time_s(world),
            controls=OperatorControls(),
        )
        s._source = world
        s.pacer._on_change = s.push_state
        return s

    @classmethod
    def replay(cls, folder: str | Path, speed: float = 1.0, paused: bool = False) -> Session:
        folder = Path(folder)
        if not folder.is_dir():
            raise UserError(f"--replay {folder}: not a folder")
        recorded = RunFolder(folder)
        for p in (recorded.events_path, recorded.scenario_path):
            if not p.is_file():
                raise UserError(f"--replay {folder}: no {p.name} (not a run folder?)")
        loaded = recorded.scenario()
        sc = loaded.scenario
        frame = LocalFrame(sc.site.lat, sc.site.lon, sc.site.alt_m)
        zones = ZoneSet.build(sc.zones, loaded.zone_rings, frame)
        events = recorded.events()
        if not events:
            raise UserError(f"{recorded.events_path}: no events")
        end = max(e.t_s for e in events)
        s = cls(
            mode="replay",
            name=sc.name,
            frame=frame,
            map=map_features(sc, frame, zones),
            pacer=Pacer(_speed_option(speed), paused),
            end_s=end,
        )
        s._source = events
        s.pacer._on_change = s.push_state
        return s

    # --- running --------------------------------------------------------------------------

    def start(self) -> None:
        if self._thread is not None:
            return
        target = self._run_live if self.mode == "live" else self._run_replay
        self._thread = threading.Thread(target=self._guarded, args=(target,), daemon=True)
        self.status = "running"
        self._thread.start()
        self.push_state()

    def stop(self, timeout_s: float = 5.0) -> None:
        self.pacer.stop()
        if self._thread is not None:
            self._thread.join(timeout_s)

    def _guarded(self, target) -> None:
        try:
            target()
            self.status = "finished"
        except StoppedError:
            self.status = "stopped"
        except Exception as exc:  # shown in the console and on stderr; never silent
            traceback.print_exc()
            self.status, self.error = "error", f"{type(exc).__name__}: {exc}"
        self.push_state(force=True)

    def _run_live(self) -> None:
        world = self._source
        dt = world.scenario.simulation.dt_s

        def on_tick(t_s: float, end_s: float) -> None:
            self.pacer.wait_until(min(t_s + dt, end_s))
            self.push_state()

        run(world, on_tick=on_tick, on_events=self.publish_events, controls=self.controls)

    def _run_replay(self) -> None:
        events = self._source
        i = 0
        while i < len(events):
            t = events[i].t_s
            j = i
            while j < len(events) and events[j].t_s <= t:
                j += 1
            self.pacer.wait_until(t)
            self.publish_events(events[i:j])
            self.push_state()
            i = j
        self.pacer.wait_until(self.end_s)

    # --- fan-out --------------------------------------------------------------------------

    def publish_events(self, events: Iterable) -> None:
        dicts = add_enu(self.frame, [e.model_dump(mode="json") for e in events])
        if not dicts:
            return
        with self._lock:
            self.backlog.extend(dicts)
            subs = list(self._subs)
        self._send(subs, {"type": "events", "events": dicts})

    def state(self) -> dict[str, Any]:
        p = self.pacer
        c = self.controls
        return {
            "type": "state",
            "mode": self.mode,
            "scenario": self.name,
            "status": self.status,
            "error": self.error,
            "t_s": round(p.t_s, 3),
            "end_s": self.end_s,
            "speed": p.speed,
            "paused": p.paused,
            "weapons_hold": _sorted_copy(c.weapons_hold) if c else [],
            "friendly_tracks": _sorted_copy(c.friendly_tracks) if c else [],
            "acknowledged": _sorted_copy(c.acknowledged) if c else [],
        }

    def push_state(self, force: bool = False) -> None:
        """Send the clock and control state, at most every STATE_PERIOD_S unless forced
        (forced on every control change and at the end)."""
        now = time.monotonic()
        if not force and now - self._last_state_wall < STATE_PERIOD_S and not self._changed():
            return
        self._last_state_wall = now
        with self._lock:
            subs = list(self._subs)
        self._send(subs, self.state())

    def _changed(self) -> bool:
        key = (self.status, self.pacer.paused, self.pacer.speed)
        changed = key != self._last_key
        self._last_key = key
        return changed

    def _send(self, subs: list[_Subscriber], msg: dict) -> None:
        for s in subs:
            try:
                s.loop.call_soon_threadsafe(s.queue.put_nowait, msg)
            except RuntimeError:  # that client's loop has closed
                self.unsubscribe(s.queue)

    def subscribe(self, loop: asyncio.AbstractEventLoop, queue: asyncio.Queue) -> list[dict]:
        """Register a client's queue; returns the backlog so far (nothing is missed or
        repeated: both happen under one lock)."""
        with self._lock:
            self._subs.append(_Subscriber(loop, queue))
            return list(self.backlog)

    def unsubscribe(self, queue: asyncio.Queue) -> None:
        with self._lock:
            self._subs = [s for s in self._subs if s.queue is not queue]

    # --- controls -------------------------------------------------------------------------

    def control(self, op: str, value: Any = None) -> None:
        """Clock controls: ``pause``, ``resume``, ``step`` (value: simulated seconds,
        default 1) and ``speed`` (value: factor). Raises ValueError for a bad request."""
        if op == "pause":
            self.pacer.pause()
        elif op == "resume":
            self.pacer.resume()
        elif op == "step":
            self.pacer.step(1.0 if value is None else _number(value, "value"))
        elif op == "speed":
            self.pacer.set_speed(_number(value, "value"))
        else:
            raise ValueError(f"op: unknown {op!r}; expected pause, resume, step or speed")
        self.push_state(force=True)

    def operator(self, action: str, target: str) -> None:
        """Queue an operator action for the running simulation (applied and logged as an
        ``operator`` event at the next tick). Raises ValueError for an unknown action,
        PermissionError in a replay (a recorded run cannot be changed)."""
        if action not in ACTIONS:
            raise ValueError(f"action: unknown {action!r}; expected one of {', '.join(ACTIONS)}")
        if not isinstance(target, str) or not target or len(target) > 200:
            raise ValueError("target: must be a non-empty string")
        if self.controls is None:
            raise PermissionError("operator actions do not apply to a replayed run")
        self.controls.request(action, target)


def _sorted_copy(items: set) -> list:
    """A sorted copy of a set the engine thread may be changing at this moment."""
    while True:
        try:
            return sorted(items)
        except RuntimeError:  # changed size during iteration: try again
            continue


def _number(value: Any, name: str) -> float:
    try:
        x = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name}: not a number: {value!r}") from None
    if not np.isfinite(x):
        raise ValueError(f"{name}: not a finite number")
    return x


def _speed_option(speed: float) -> float:
    try:
        return check_speed(speed)
    except ValueError as exc:
        raise UserError(f"--{exc}") from None
