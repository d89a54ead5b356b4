"""A console session: one simulation run (live) or one recorded run (replay), paced in
real time and fanned out to every connected browser.

The engine (:func:`opencram.c2.engine.run`) is synchronous, so a live session runs it in a
worker thread. Its ``on_tick`` callback blocks in a :class:`Pacer` until the wall clock
has caught up with simulated time (times the speed factor), or while the operator has
paused; a step runs a given span of simulated time unpaced, then pauses again. A replay
walks a run folder's ``events.jsonl`` with the same pacer.

The clock is held at T+0 until the first client (a websocket, or a clock control)
arrives, unless the session was made with ``start_now``: a user who opens the page late
still sees the run from its start. A pause, and the end of a step, become visible only
once the worker has fanned out the events of the last tick it showed.

Seek, to any time T before or after the clock: every client then gets the backlog at T as
one ``reset`` message and rebuilds its picture from it. A replay has the whole recorded
run, so its backlog at T is the recorded events up to T, at once. A live run keeps no
snapshots: the engine is deterministic (the same world and seed give the same events), so
it starts over from T+0, unpaced and unseen, with the operator's actions up to T asked for
again before the ticks they were applied at, and is shown from T on (green-zone's whole
two minutes re-run in a few seconds). From there the operator may act differently.

Every event is turned into a JSON-ready dict (``Event.model_dump(mode="json")``) with the
local ENU position added (``e_m``, ``n_m``, converted in one batch per tick, or once for a
whole replay), kept in a backlog so a browser that connects late catches up, and handed
to each subscriber's
asyncio queue with ``loop.call_soon_threadsafe`` (the queues belong to the server's event
loop, the events come from the worker thread).
"""

from __future__ import annotations

import asyncio
import bisect
import threading
import time
import traceback
from collections import deque
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
from opencram.interop.runview import layer_features
from opencram.runs import RunFolder, check_complete
from opencram.scenario.load import load
from opencram.warn.zones import ZoneSet

STATE_PERIOD_S = 0.2  # wall seconds between clock updates sent to browsers
RESYNC_LAG_S = 0.5  # when the simulation falls this far behind the wall clock, re-anchor
MAX_SPEED = 1000.0


class StoppedError(Exception):
    """Raised inside the worker thread when the session is shut down."""


class Pacer:
    """Simulated time against the wall clock, with pause, step, speed, seek, and a hold
    until the first client.

    :meth:`wait_until` is called from the worker thread with the next simulated time; it
    returns once that time may be shown. The control methods are called from the server's
    threads; they wake the worker through a condition variable.

    The worker is *busy* between two calls of :meth:`wait_until`: it is computing a tick
    and fanning out its events. A pause requested while it is busy takes effect (and
    becomes visible in :attr:`paused`) when it next calls :meth:`wait_until`, so whoever
    sees ``paused`` also sees every event of the last tick shown. The end of a step works
    the same way.
    """

    def __init__(
        self, speed: float = 1.0, paused: bool = False, on_change=None, held: bool = False
    ) -> None:
        self._cv = threading.Condition()
        self.speed = check_speed(speed)
        self.paused = paused
        self.held = held  # waiting for the first client: the clock does not run
        self.t_s = 0.0
        self.epoch = 0  # counts seeks; a worker's wait from an older epoch is cut short
        self._step_until: float | None = None
        self._pause_pending = False
        self._busy = False
        self._stopped = False
        self._anchor_wall = time.monotonic()
        self._anchor_sim = 0.0
        self._on_change = on_change or (lambda: None)

    # --- called by the worker thread -----------------------------------------------------

    def begin(self) -> None:
        """The worker is about to start: it is busy until its first :meth:`wait_until`."""
        with self._cv:
            self._busy = True

    def end(self) -> None:
        """The worker has ended: a pause applies at once from now on."""
        with self._cv:
            self._busy = False
            self._cv.notify_all()

    def wait_until(self, t_s: float, epoch: int | None = None) -> bool:
        """Block until simulated time ``t_s`` is due and return True; return False at once
        when the clock has been seeked since ``epoch`` (when given). Raise
        :class:`StoppedError` on shutdown."""
        with self._cv:
            self._arrive()
            try:
                while not self._due(t_s):
                    if epoch is not None and epoch != self.epoch:
                        return False
            finally:
                self._busy = True
            if epoch is not None and epoch != self.epoch:
                return False
            self.t_s = max(self.t_s, t_s)
            return True

    def wait_for_seek(self, epoch: int) -> None:
        """Block until the clock is seeked away from ``epoch`` (a finished replay)."""
        with self._cv:
            self._arrive()
            try:
                while epoch == self.epoch:
                    if self._stopped:
                        raise StoppedError
                    self._cv.wait(0.5)
            finally:
                self._busy = True

    def _arrive(self) -> None:
        """The worker is between ticks: apply a pause asked for while it was busy."""
        self._busy = False
        if self._pause_pending:
            self.paused, self._pause_pending = True, False
            self._changed()

    def _due(self, t_s: float) -> bool:
        """One pass of the wait: True when ``t_s`` may be shown now, else wait a while."""
        if self._stopped:
            raise StoppedError
        if self.held or self.paused:
            self._cv.wait(0.5)
            return False
        if self._step_until is not None:
            if t_s <= self._step_until + 1e-9:
                return True  # a step runs unpaced
            self.paused, self._step_until = True, None  # the step is over
            self._changed()
            return False
        now = time.monotonic()
        due = self._anchor_wall + (t_s - self._anchor_sim) / self.speed
        if due <= now:
            if now - due > RESYNC_LAG_S:  # the engine was slow: do not sprint after
                self._anchor(now, t_s)
            return True
        self._cv.wait(due - now)
        return False

    def _changed(self) -> None:
        """Report a change of the clock's state (called holding the lock, which is let go
        for the callback: it takes the session's lock)."""
        self._cv.notify_all()
        self._cv.release()
        try:
            self._on_change()
        finally:
            self._cv.acquire()

    # --- called by the server ------------------------------------------------------------

    def _anchor(self, now: float, t_s: float) -> None:
        self._anchor_wall, self._anchor_sim = now, t_s

    def release(self) -> bool:
        """Let the clock run (the first client is here); True if it was held."""
        with self._cv:
            if not self.held:
                return False
            self.held = False
            self._anchor(time.monotonic(), self.t_s)
            self._cv.notify_all()
            return True

    def pause(self, timeout_s: float = 5.0) -> None:
        """Pause; returns once the worker is between ticks (or after ``timeout_s``)."""
        with self._cv:
            self._step_until = None
            if self._busy and not self.paused:
                self._pause_pending = True
                self._cv.wait_for(lambda: self.paused or not self._busy, timeout_s)
            if not self._busy:
                self.paused, self._pause_pending = True, False
            self._cv.notify_all()

    def resume(self) -> None:
        with self._cv:
            self.paused, self._step_until, self._pause_pending = False, None, False
            self._anchor(time.monotonic(), self.t_s)
            self._cv.notify_all()

    def step(self, seconds: float) -> None:
        """Run ``seconds`` of simulated time as fast as possible, then pause."""
        if not (0 < seconds <= 3600):
            raise ValueError("seconds: must be in (0, 3600]")
        with self._cv:
            self.paused, self._pause_pending = False, False
            self._step_until = self.t_s + seconds
            self._cv.notify_all()

    def set_speed(self, speed: float) -> None:
        speed = check_speed(speed)
        with self._cv:
            self.speed = speed
            self._anchor(time.monotonic(), self.t_s)
            self._cv.notify_all()

    def seek(self, t_s: float) -> None:
        """Move the clock to ``t_s`` (earlier or later); a step in progress is dropped."""
        with self._cv:
            self.t_s = t_s
            self._step_until = None
            self.epoch += 1
            self._anchor(time.monotonic(), t_s)
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
        "site": {
            "name": scenario.site.name,
            "lat": scenario.site.lat,
            "lon": scenario.site.lon,
            "alt_m": scenario.site.alt_m,
        },
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


class _SeekedError(Exception):
    """Raised in a live session's worker when the clock has been seeked: the pass ends
    and a new one starts over from T+0."""


@dataclass(frozen=True)
class _Rerun:
    """Where a live run starts over to after a seek: the time, and the operator's actions
    up to it as (time, action, target), to be asked for again before the same ticks."""

    t_s: float
    script: list[tuple[float, str, str]]


class _LivePass:
    """One pass of the engine in a live session. The first runs from T+0 on the clock. A
    re-run after a seek to T runs from T+0 too (the engine is deterministic: the same
    world and seed give the same events), with fresh controls and the operator's earlier
    actions asked for again before the ticks they were applied at, unpaced and unseen
    until T; then its events so far go out as one reset and it runs on the clock."""

    def __init__(self, session: Session, epoch: int, rerun: _Rerun | None) -> None:
        self.session = session
        self.epoch = epoch
        self.dt = session._source.scenario.simulation.dt_s
        self.until = None if rerun is None else rerun.t_s  # silent up to here
        self.script = deque(sorted(rerun.script, key=lambda a: a[0])) if rerun else deque()
        self.controls = session.controls if rerun is None else OperatorControls()
        self.collected: list[dict] = []
        self._give(0.0)

    def run(self) -> None:
        world = self.session._source
        run(world, on_tick=self.on_tick, on_events=self.on_events, controls=self.controls)
        if self.until is not None:  # the seek's time was the run's end
            self._arrive()

    def on_events(self, events: list) -> None:
        dicts = add_enu(self.session.frame, [e.model_dump(mode="json") for e in events])
        if self.until is not None:
            self.collected.extend(dicts)
        else:
            self.session._publish_dicts(dicts, self.epoch)

    def on_tick(self, t_s: float, end_s: float) -> None:
        pacer = self.session.pacer
        nxt = min(t_s + self.dt, end_s)
        if self.until is not None and nxt > self.until + 1e-9:
            self._arrive()  # tick t_s was the last one at or before the seek's time
        self._give(nxt)
        if self.until is not None:
            if pacer.epoch != self.epoch:
                raise _SeekedError
            return
        if not pacer.wait_until(nxt, self.epoch):
            raise _SeekedError
        self.session.push_state()

    def _give(self, tick_s: float) -> None:
        """Ask for the scripted actions applied at ``tick_s`` in the timeline seeked from."""
        while self.script and self.script[0][0] < tick_s + self.dt / 2:
            _, action, target = self.script.popleft()
            self.controls.request(action, target)

    def _arrive(self) -> None:
        self.session._rerun_done(self.epoch, self.collected, self.controls)
        self.until = None


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
    status: str = "ready"  # ready, running, seeking (live), finished, error, stopped
    error: str = ""
    backlog: list[dict] = field(default_factory=list)
    _subs: list[_Subscriber] = field(default_factory=list)
    # one lock for the backlog, the subscribers and every message sent, so every client
    # sees the messages in one order (re-entrant: a failed send unsubscribes under it)
    _lock: threading.RLock = field(default_factory=threading.RLock)
    _thread: threading.Thread | None = None
    _last_state_wall: float = 0.0
    _source: Any = None  # the world (live) or the recorded events as dicts (replay)
    _times: list[float] = field(default_factory=list)  # replay: each event's time
    _rerun: _Rerun | None = None  # live: where the latest seek asked the engine to go

    # --- construction ---------------------------------------------------------------------

    @classmethod
    def live(
        cls,
        scenario: str,
        seed: int | None = None,
        speed: float = 1.0,
        paused: bool = False,
        start_now: bool = False,
    ) -> Session:
        """A live run of ``scenario``; its clock waits for the first client unless
        ``start_now``."""
        loaded = load(scenario)
        world = compile_world(loaded, seed)
        s = cls(
            mode="live",
            name=loaded.scenario.name,
            frame=world.frame,
            map={
                **map_features(loaded.scenario, world.frame, world.zones),
                "layers": layer_features(loaded.layers, world.frame),
            },
            pacer=Pacer(_speed_option(speed), paused, held=not start_now),
            end_s=end_time_s(world),
            controls=OperatorControls(),
        )
        s._source = world
        s.pacer._on_change = s._pacer_changed
        return s

    @classmethod
    def replay(
        cls, folder: str | Path, speed: float = 1.0, paused: bool = False, start_now: bool = False
    ) -> Session:
        """A replay of a run folder; it too waits for the first client unless
        ``start_now``."""
        folder = Path(folder)
        if not folder.is_dir():
            raise UserError(f"--replay {folder}: not a folder")
        check_complete(folder)  # a folder whose files do not match its manifest is refused
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
        s = cls(
            mode="replay",
            name=sc.name,
            frame=frame,
            map={**map_features(sc, frame, zones), "layers": layer_features(loaded.layers, frame)},
            pacer=Pacer(_speed_option(speed), paused, held=not start_now),
            end_s=max(e.t_s for e in events),
        )
        s._source = add_enu(frame, [e.model_dump(mode="json") for e in events])
        s._times = [e.t_s for e in events]
        s.pacer._on_change = s._pacer_changed
        return s

    # --- running --------------------------------------------------------------------------

    def start(self) -> None:
        if self._thread is not None:
            return
        target = self._run_live if self.mode == "live" else self._run_replay
        self._thread = threading.Thread(target=self._guarded, args=(target,), daemon=True)
        self.status = "running"
        self.pacer.begin()
        self._thread.start()
        self.push_state(force=True)

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
        finally:
            self.pacer.end()
        self.push_state(force=True)

    def _run_live(self) -> None:
        """Run the engine on the clock, one pass after another: the first from T+0, and
        after each seek a re-run (see :class:`_LivePass`). At the end, wait for a seek."""
        while True:
            epoch, rerun = self._pass_start()
            try:
                _LivePass(self, epoch, rerun).run()
            except _SeekedError:
                continue
            self._set_status("finished", epoch)
            self.pacer.wait_for_seek(epoch)

    def _pass_start(self) -> tuple[int, _Rerun | None]:
        with self._lock:  # read together: a seek sets both under this lock
            return self.pacer.epoch, self._rerun

    def _rerun_done(self, epoch: int, events: list[dict], controls: OperatorControls) -> None:
        """A re-run has reached the seek's time: its events become the backlog, sent to
        every client as one reset, and its controls the session's (with any action asked
        for meanwhile moved over, to apply at the next tick)."""
        with self._lock:
            if epoch != self.pacer.epoch:
                raise _SeekedError
            if self.controls is not controls:
                for action, target in self.controls.drain():
                    controls.request(action, target)
                self.controls = controls
            self.backlog = list(events)
            self.status = "running"
            msg = {"type": "reset", "events": list(events), "state": self.state()}
            self._send(list(self._subs), msg)

    def _run_replay(self) -> None:
        """Walk the recorded events on the clock; after a seek, go on from the backlog the
        seek left (the events up to the new time). At the end, wait for a seek."""
        times, n = self._times, len(self._times)
        epoch, i = self._cursor()
        while True:
            if i < n:
                j = bisect.bisect_right(times, times[i], lo=i)
                if self.pacer.wait_until(times[i], epoch):
                    self._publish_dicts(self._source[i:j], epoch)
                    self.push_state()
                    i = j
                    continue
            elif self.pacer.wait_until(self.end_s, epoch):
                self._set_status("finished", epoch)
                self.pacer.wait_for_seek(epoch)
            epoch, i = self._cursor()

    def _cursor(self) -> tuple[int, int]:
        """The clock's seek count and the number of recorded events already shown."""
        with self._lock:
            return self.pacer.epoch, len(self.backlog)

    def _set_status(self, status: str, epoch: int) -> None:
        with self._lock:
            if epoch != self.pacer.epoch:
                return  # seeked meanwhile: the seek set the status
            self.status = status
        self.push_state(force=True)

    # --- fan-out --------------------------------------------------------------------------

    def publish_events(self, events: Iterable) -> None:
        self._publish_dicts(add_enu(self.frame, [e.model_dump(mode="json") for e in events]))

    def _publish_dicts(self, dicts: list[dict], epoch: int | None = None) -> None:
        """Add events to the backlog and send them; dropped if the clock was seeked since
        ``epoch`` (the seek has sent the backlog of its own time)."""
        if not dicts:
            return
        with self._lock:
            if epoch is not None and epoch != self.pacer.epoch:
                return
            self.backlog.extend(dicts)
            self._send(list(self._subs), {"type": "events", "events": dicts})

    def state(self) -> dict[str, Any]:
        p = self.pacer
        c = self.controls
        status = "waiting" if p.held and self.status == "running" else self.status
        return {
            "type": "state",
            "mode": self.mode,
            "scenario": self.name,
            "status": status,
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
        """Send the clock and control state: at most every STATE_PERIOD_S while the clock
        runs, at once when ``force`` (every change: pause, step end, seek, speed, the
        first client, the end)."""
        now = time.monotonic()
        if not force and now - self._last_state_wall < STATE_PERIOD_S:
            return
        self._last_state_wall = now
        with self._lock:
            self._send(list(self._subs), self.state())

    def _pacer_changed(self) -> None:
        self.push_state(force=True)

    def _send(self, subs: list[_Subscriber], msg: dict) -> None:
        for s in subs:
            try:
                s.loop.call_soon_threadsafe(s.queue.put_nowait, msg)
            except RuntimeError:  # that client's loop has closed
                self.unsubscribe(s.queue)

    def subscribe(self, loop: asyncio.AbstractEventLoop, queue: asyncio.Queue) -> list[dict]:
        """Register a client's queue; returns the backlog so far (nothing is missed or
        repeated: both happen under one lock). The first client starts a held clock."""
        with self._lock:
            self._subs.append(_Subscriber(loop, queue))
            backlog = list(self.backlog)
        self._release()
        return backlog

    def unsubscribe(self, queue: asyncio.Queue) -> None:
        with self._lock:
            self._subs = [s for s in self._subs if s.queue is not queue]

    def _release(self) -> None:
        if self.pacer.release():
            self.push_state(force=True)

    # --- controls -------------------------------------------------------------------------

    def control(self, op: str, value: Any = None) -> None:
        """Clock controls: ``pause``, ``resume``, ``step`` (value: simulated seconds,
        default 1), ``speed`` (value: factor) and ``seek`` (value: simulated time). A
        control counts as a client: it starts a held clock. Raises ValueError for a bad
        request."""
        if op == "pause":
            # while a seek re-runs the engine unpaced, the pause applies when it is there
            self.pacer.pause(0.0 if self.status == "seeking" else 5.0)
        elif op == "resume":
            self.pacer.resume()
        elif op == "step":
            self.pacer.step(1.0 if value is None else _number(value, "value"))
        elif op == "speed":
            self.pacer.set_speed(_number(value, "value"))
        elif op == "seek":
            self.seek(_number(value, "value"))
        else:
            raise ValueError(f"op: unknown {op!r}; expected pause, resume, step, speed or seek")
        self._release()
        self.push_state(force=True)

    def seek(self, t_s: float) -> None:
        """Move the clock to ``t_s``, earlier or later; pause and speed are kept. A replay
        takes the recorded events up to ``t_s`` as its backlog at once; a live run starts
        its engine over (see :class:`_LivePass`) and shows ``seeking`` until it is there.
        Either way every client then gets the backlog as one ``reset`` message and
        rebuilds its picture from it."""
        if not (0.0 <= t_s <= self.end_s):
            raise ValueError(f"value: a time in [0, {self.end_s:g}] s, not {t_s:g}")
        with self._lock:
            if self.mode == "live":
                self._seek_live(t_s)
                return
            self.pacer.seek(t_s)
            shown = bisect.bisect_right(self._times, t_s)
            self.backlog = list(self._source[:shown])
            if self.status == "finished":
                self.status = "running"
            msg = {"type": "reset", "events": list(self.backlog), "state": self.state()}
            self._send(list(self._subs), msg)

    def _seek_live(self, t_s: float) -> None:
        """(Under the lock.) The operator's actions up to ``t_s`` on the timeline shown
        are given again at their ticks; the worker notices the new epoch and starts over."""
        script = [
            (e["t_s"], e["action"], e["target"])
            for e in self.backlog
            if e["kind"] == "operator" and e["t_s"] <= t_s
        ]
        self.pacer.seek(t_s)
        self._rerun = _Rerun(t_s, script)
        self.status = "seeking"

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
        with self._lock:  # not into a set of controls a seek is replacing
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
