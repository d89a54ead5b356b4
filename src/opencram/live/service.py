"""The live service's processing core, independent of sockets: plots in (through
:class:`~opencram.live.ingest.Ingest`), and per step the events, CoT messages and CAT062
datagrams to publish. ``opencram.live.server`` wires it to UDP, TCP, stdin and websockets.

Time: the service runs on **data time**, the newest measurement time accepted (ASTERIX
time of day, or the CSV ``time_s``). Plots are processed in the tracker's windows on its
absolute grid once the clock has passed a window's end by the sensors' largest latency
plus ``reorder_s`` (plots may arrive that much out of order); a later plot is dropped and
counted as late. This is exactly how ``opencram track`` processes a file, so a replay gives
the same tracks. When no input at all has arrived for ``idle_s`` seconds of wall time, the
clock runs on from there with wall time, so tracks coast and end and the last windows are
processed (a dropout of every radar at once).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

import numpy as np

from opencram.analysis.trackfile import build_track_output
from opencram.c2.events import TrackDropped
from opencram.c2.stages import PredictStage, WarnStage, confirmed_track_events
from opencram.c2.stages.track import Identity
from opencram.c2.world import environment_of
from opencram.engage.context import EngageContext
from opencram.engage.firecontrol import build_guns
from opencram.engage.plan import DECISION_INTERVAL_S
from opencram.geo import LocalFrame
from opencram.interop.asterix import SystemTracks, encode_cat062
from opencram.interop.cot import events_to_cot, friendly_air_reports
from opencram.live.advice import Advisor
from opencram.live.ingest import MAX_PLOTS_PER_SCAN, MAX_PLOTS_PER_STEP, Ingest
from opencram.scenario.load import load
from opencram.scenario.schema import Engagement
from opencram.sense.plots import SensorSpec
from opencram.track.identity import FRIENDLY_GATE_M, FRIENDLY_GATE_S, FriendlyWatch
from opencram.track.manager import CONFIRMED, Tracker, TrackerConfig, UpdateLog
from opencram.track.noise import NOISE_REPORT_CHANGE
from opencram.track.registration import Registration
from opencram.track.sensors import tracker_sensors_from_specs
from opencram.warn.alerts import DEFAULT_THRESHOLD
from opencram.warn.zones import ZoneSet

log = logging.getLogger("opencram.live")

ADVICE_INTERVAL_S = DECISION_INTERVAL_S  # data time between advice, as the engine's decisions


@dataclass
class ServeConfig:
    sac: int = 0  # our radars' SAC; radar k of the sensors file has SIC k + 1
    system_sac: int = 0  # CAT062 source of the system tracks
    system_sic: int = 200
    service_id: int = 1  # I062/015
    queue_bytes: int = 512 * 1024  # per sensor
    reorder_s: float = 0.5
    idle_s: float = 2.0
    max_jump_s: float = 60.0
    budget_s: float = 0.05  # decoding time per step
    max_plots_per_scan: int = MAX_PLOTS_PER_SCAN  # per sensor, to the tracker
    max_plots_per_step: int = MAX_PLOTS_PER_STEP  # decoded per step
    sources: dict[str, str] = field(default_factory=dict)  # sensor id -> source address
    stats_every_s: float = 5.0  # wall time between ingest_stats events
    filter: str = "imm"
    association: str = "gnn"
    keep_history: bool = False  # keep every track update (for --out); memory grows
    registration: Registration | None = None  # sensor errors taken out of the plots
    simulated: bool = False  # mark CAT062 and CoT output as simulation
    # CoT time/start/stale come from this wall clock at emission, so nothing is stale on
    # arrival; the data time goes in <opencram data_time_s/> (docs/interop-cot.md).
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    # friendly aircraft (opencram.track.identity): SSR Mode 3/A code values, and the gate
    # around friendly position reports (the TAK server's a-f-A feed)
    friendly_codes: frozenset[int] = frozenset()
    friendly_gate_m: float = FRIENDLY_GATE_M
    friendly_gate_s: float = FRIENDLY_GATE_S


@dataclass
class StepOutput:
    events: list[str] = field(default_factory=list)  # JSON lines for the websocket
    cot: list[bytes] = field(default_factory=list)
    cat062: list[bytes] = field(default_factory=list)

    def extend(self, other: StepOutput) -> None:
        self.events += other.events
        self.cot += other.cot
        self.cat062 += other.cat062


def registration_of(reg: Registration | None, specs: list[SensorSpec]) -> np.ndarray | None:
    """The biases (n, 4) of the sensors ``specs`` in a registration, or None."""
    return None if reg is None else reg.biases_si([s.id for s in specs])


def _live_event(kind: str, t_s: float | None, **fields) -> str:
    return json.dumps({"kind": kind, "t_s": t_s, **fields}, sort_keys=True, allow_nan=False)


class LiveService:
    def __init__(
        self,
        specs: list[SensorSpec],
        *,
        zones_source: str | None = None,
        config: ServeConfig | None = None,
        logger: logging.Logger | None = None,
    ) -> None:
        self.cfg = config or ServeConfig()
        self.specs = specs
        self.frame = LocalFrame(specs[0].lat, specs[0].lon, specs[0].alt_m)
        self.ingest = Ingest(
            specs,
            sac=self.cfg.sac,
            queue_bytes=self.cfg.queue_bytes,
            max_jump_s=self.cfg.max_jump_s,
            sources=self.cfg.sources,
            max_plots_per_scan=self.cfg.max_plots_per_scan,
            max_plots_per_step=self.cfg.max_plots_per_step,
            logger=logger,
            bias_si=registration_of(self.cfg.registration, specs),
        )
        self._env = None  # the scenario's environment, when --zones names one
        zones, guns, engagement, threshold = self._load_zones(zones_source)
        self.zones = zones
        self._threshold = threshold
        self.identity = Identity(
            FriendlyWatch(
                self.cfg.friendly_codes,
                gate_m=self.cfg.friendly_gate_m,
                gate_s=self.cfg.friendly_gate_s,
            ),
            zones,
        )
        self.n_friendly_reports = 0
        self._start_tracking()
        self.advisor = None
        if guns:
            ctx = EngageContext(frame=self.frame, zones=zones, config=engagement, env=self._env)
            self.advisor = Advisor(guns, ctx)
        self.zone_rings = {n: list(r) for n, r in zip(zones.names, zones.rings_latlon, strict=True)}
        self.now_s: float | None = None
        self._last_input_wall: float | None = None
        self._seen_updates = 0
        self._seen_deleted = 0
        self.classes: dict[int, str] = {}
        self.published: dict[int, float] = {}  # track id -> first published time
        self.last_state: dict[int, tuple] = {}  # track id -> last published (t, x, Mode 3/A code)
        self._last_plot_s = np.full(len(specs), np.nan)
        self._silent = np.zeros(len(specs), dtype=bool)
        self._noise_said = np.full((len(specs), 3), np.nan)  # sigmas last reported
        self._next_advice_s = -np.inf
        self._last_advice: list[dict] = []
        self._last_withheld: list[dict] = []
        self._next_stats_wall: float | None = None
        self.n_steps = 0

    # --- setup ------------------------------------------------------------------------

    def _start_tracking(self) -> None:
        """A fresh tracker, prediction and warning state (at start, and when the data clock
        starts again)."""
        self.tracker = Tracker(
            tracker_sensors_from_specs(self.specs, self.frame),
            TrackerConfig(filter=self.cfg.filter, association=self.cfg.association),
        )
        self.predict = PredictStage(self.frame, self.tracker.model)
        self.warn = WarnStage(self.zones, self._threshold)
        self._seen_updates = 0
        self._seen_deleted = 0

    def _resync(self) -> StepOutput:
        """The data clock was wrong (set by a bad plot, or the sources restarted on another
        clock; the rule is :class:`~opencram.live.ingest.ResyncWatch`): end every published
        track (``track_dropped`` reason ``clock_resync``, CAT062 TSE, CoT), then track again
        on the new clock, starting with the far plots that agreed on it."""
        t = self.ingest.resync_to_s
        self.ingest.resync_to_s = None
        old = self.ingest.clock_s
        log.warning("data clock started again at %.3f s (was %.3f s)", t, old)
        out = StepOutput()
        if self.now_s is not None:
            out.extend(self._end_tracks(self.now_s, "clock_resync"))
        out.events.append(
            _live_event("clock_resync", round(t, 4), previous_clock_s=round(float(old), 4))
        )
        self.ingest.clock_s = t
        self.now_s = None
        next_id = self.tracker.next_track_id
        self._start_tracking()
        self.tracker.next_track_id = next_id  # track ids are never reused
        self.published, self.last_state, self.classes = {}, {}, {}
        self._last_plot_s[:] = np.nan
        self._silent[:] = False
        self._next_advice_s = -np.inf
        kept = self.ingest.take_resync_plots()
        if len(kept):
            self.tracker.add(kept)
            self._note_plots(kept)
        return out

    def _end_tracks(self, now: float, reason: str) -> StepOutput:
        """End every track that was published: the events, CoT and CAT062 TSE records a
        normal end gives, so no consumer keeps a track the service no longer has."""
        out = StepOutput()
        ids = sorted(set(self.classes) | set(self.published))
        if not ids:
            return out
        events = [TrackDropped(t_s=round(now, 4), track_id=tid, reason=reason) for tid in ids]
        events += self.predict.step(now, [], ids)
        events += self.warn.step(now, self.predict.current)
        out.events += [e.model_dump_json() for e in events]
        out.cot += events_to_cot(
            events, self.zone_rings, clock=self.cfg.clock, simulated=self.cfg.simulated
        )
        out.cat062 += self._cat062([], ids, now)
        self.identity.friendly.forget(ids)
        return out

    def _load_zones(self, source):
        """Zones, guns and the warning and engagement settings of a scenario (its threats,
        sensors and aircraft are not used)."""
        if source is None:
            return ZoneSet.build([], [], self.frame), [], Engagement(), DEFAULT_THRESHOLD
        loaded = load(source)
        s = loaded.scenario
        zones = ZoneSet.build(s.zones, loaded.zone_rings, self.frame)
        env = environment_of(s)
        self._env = env
        guns = build_guns(s.weapons, self.frame, s.site.alt_m, env)
        return zones, guns, s.engagement, s.warning.threshold

    # --- input ------------------------------------------------------------------------

    def note_friendly_cot(self, elements) -> int:
        """CoT events read from the TAK server: its friendly air positions (``a-f-A``,
        :func:`~opencram.interop.cot.friendly_air_reports`) become friendly position
        reports at the data time they arrive (before any data, they are not used).
        Returns how many were taken."""
        reports = friendly_air_reports(elements, self.cfg.clock())
        t = self.now_s if self.now_s is not None else self.ingest.clock_s
        if not reports or t is None:
            return 0
        lat = np.array([r.lat for r in reports])
        lon = np.array([r.lon for r in reports])
        hae = np.array([r.hae_m for r in reports])
        pos = self.frame.to_enu(lat, lon, np.nan_to_num(hae, nan=self.frame.alt_m))
        pos = np.asarray(pos, dtype=float).reshape(-1, 3)
        pos[np.isnan(hae), 2] = np.nan  # no height given: compared horizontally
        self.identity.friendly.add_positions(pos, np.full(len(reports), float(t)))
        if not self.n_friendly_reports:
            log.info("friendly position reports from the TAK server (first: %s)", reports[0].uid)
        self.n_friendly_reports += len(reports)
        return len(reports)

    def note_input(self, wall_s: float) -> None:
        self._last_input_wall = wall_s
        self.ingest.allow_jump = False

    # --- one step ---------------------------------------------------------------------

    def step(self, wall_s: float | None = None) -> StepOutput:
        """Decode queued input within the time budget, track, predict, warn and advise;
        return what to publish."""
        wall_s = time.monotonic() if wall_s is None else wall_s
        self.n_steps += 1
        out = StepOutput()
        self.ingest.wall_s = wall_s
        batch = self.ingest.drain(self.cfg.budget_s)
        if self.ingest.resync_to_s is not None:
            out.extend(self._resync())
        if len(batch):
            self.tracker.add(batch)
            self._note_plots(batch)
        clock = self.ingest.clock_s
        if clock is None:
            return self._stats(out, wall_s)
        idle = (
            self._last_input_wall is not None
            and wall_s - self._last_input_wall > self.cfg.idle_s
            and not self.ingest.pending()
        )
        now = clock
        if idle:  # nothing arrived for idle_s: from then on the clock runs with wall time
            now = clock + (wall_s - self._last_input_wall - self.cfg.idle_s)
            self.ingest.allow_jump = True
        self.now_s = now if self.now_s is None else max(self.now_s, now)
        until = self.now_s - self.tracker.max_latency_s - self.cfg.reorder_s
        self.tracker.flush(until)
        if idle:
            self.tracker.maintain(until)
        out.extend(self._publish(self.now_s))
        out.extend(self._sensor_status(self.now_s))
        return self._stats(out, wall_s)

    def finish(self, budget_s: float | None = None) -> StepOutput:
        """End of input: process everything queued (as ``opencram track`` does at the end
        of a file) and publish it. With ``budget_s`` (a stop by signal or ``--duration``)
        decoding stops after that much wall time and what is still queued is dropped and
        counted (``at_exit``), so a stop under overload does not wait on the backlog."""
        out = StepOutput()
        start = time.monotonic()
        while self.ingest.pending():
            if budget_s is not None and time.monotonic() - start > budget_s:
                self.ingest.drop_queued("at_exit")
                break
            batch = self.ingest.drain(1.0)
            if len(batch):
                self.tracker.add(batch)
                self._note_plots(batch)
        self.tracker.finish()
        if self.ingest.clock_s is not None:
            self.now_s = max(self.now_s or -np.inf, self.ingest.clock_s)
            out.extend(self._publish(self.now_s))
        return out

    def _note_plots(self, batch) -> None:
        latest = np.full(len(self.specs), -np.inf)
        np.maximum.at(latest, batch.sensor, batch.time_s)
        seen = np.isfinite(latest)
        self._last_plot_s[seen] = np.fmax(self._last_plot_s[seen], latest[seen])

    def _sensor_status(self, now: float) -> StepOutput:
        """A sensor is reported silent when it has sent no plot for three revisit times
        (at least 5 s), and active again with its next plot. Its noise, the sensors
        file's sigmas beside the tracker's online estimate, is reported (``sensor_noise``)
        when the estimate has moved by more than ``NOISE_REPORT_CHANGE`` since last said;
        a track whose radar lost the round is reported (``track_lock``, state ``lost``)."""
        out = StepOutput()
        est = self.tracker.noise.sigma()
        moved = ~(np.abs(est / self._noise_said - 1.0) <= NOISE_REPORT_CHANGE).all(axis=1)
        for k, rep in enumerate(self.tracker.noise.report()):
            if moved[k] and rep.plots > 0:
                out.events.append(_live_event("sensor_noise", round(now, 4), **rep.as_dict()))
                self._noise_said[k] = est[k]
        for tid, t_lost, t_good in self.tracker.lock_events:
            out.events.append(
                _live_event(
                    "track_lock",
                    round(t_lost, 4),
                    track_id=tid,
                    state="lost",
                    last_good_s=round(t_good, 4),
                )
            )
        self.tracker.lock_events.clear()
        scan = np.array([s.scan_s or 1.0 for s in self.specs])
        quiet = now - np.nan_to_num(self._last_plot_s, nan=-np.inf) > np.maximum(3 * scan, 5.0)
        quiet &= np.isfinite(self._last_plot_s)
        for k in np.flatnonzero(quiet != self._silent):
            state = "silent" if quiet[k] else "active"
            last = self._last_plot_s[k]
            out.events.append(
                _live_event(
                    "sensor_status",
                    round(now, 4),
                    sensor=self.specs[k].id,
                    state=state,
                    last_plot_s=None if not np.isfinite(last) else round(float(last), 4),
                )
            )
            log.info("sensor %s %s", self.specs[k].id, state)
        self._silent = quiet
        return out

    def _stats(self, out: StepOutput, wall_s: float) -> StepOutput:
        if self._next_stats_wall is None:
            self._next_stats_wall = wall_s + self.cfg.stats_every_s
        if wall_s >= self._next_stats_wall:
            self._next_stats_wall = wall_s + self.cfg.stats_every_s
            out.events.append(self.stats_event())
        return out

    def stats_event(self) -> str:
        st = self.ingest.stats()
        return _live_event(
            "ingest_stats",
            None if self.now_s is None else round(self.now_s, 4),
            late_plots=int(self.tracker.n_late_dropped),
            resent_plots=int(self.tracker.n_resent_dropped),
            starts_shed=int(self.tracker.initiator.n_starts_shed),
            live_tracks=len(self.tracker.tracks),
            **st,
        )

    def status_line(self) -> str:
        """One line for the operator's terminal: data time, input so far, live tracks and
        drops by cause (what ``opencram serve`` prints every ``--status-every`` seconds)."""
        st = self.ingest.stats()
        t = "-" if self.now_s is None else f"{self.now_s:.1f} s"
        drops = sum(st["dropped"].values()) + sum(v["entries"] for v in st["shed"].values())
        causes = ", ".join(f"{k} {v}" for k, v in st["dropped"].items()) or "none"
        return (
            f"status: data time {t}; {st['received'].get('plots', 0)} plots in, "
            f"{sum(st['bad'].values())} bad; {len(self.tracker.tracks)} live tracks; "
            f"{drops} dropped ({causes}); {self.tracker.n_late_dropped} late plots"
        )

    # --- outputs ----------------------------------------------------------------------

    def _publish(self, now: float) -> StepOutput:
        out = StepOutput()
        tr = self.tracker
        new = tr.updates[self._seen_updates :]
        self._seen_updates = len(tr.updates)
        if not self.cfg.keep_history:
            tr.updates = UpdateLog()
            self._seen_updates = 0
        events, new_confirmed = confirmed_track_events(now, new, tr, self.frame, self.identity)
        for c in new_confirmed:
            self.classes[c.update.track_id] = c.track_class
        dropped = []
        for tid, _t, reason in tr.deleted[self._seen_deleted :]:
            events.append(TrackDropped(t_s=round(now, 4), track_id=tid, reason=reason))
            dropped.append(tid)
        tr.deleted.clear()
        self._seen_deleted = 0
        events += self.predict.step(now, new_confirmed, dropped)
        self.predict.log.clear()
        events += self.warn.step(now, self.predict.current)
        self.warn.board.history_t.clear()
        self.warn.board.history_p.clear()
        out.events += [e.model_dump_json() for e in events]
        out.cot += events_to_cot(
            events, self.zone_rings, clock=self.cfg.clock, simulated=self.cfg.simulated
        )
        out.cat062 += self._cat062(new_confirmed, dropped, now)
        for tid in dropped:
            self.classes.pop(tid, None)
        self.identity.friendly.forget(dropped)
        if self.advisor is not None and now >= self._next_advice_s:
            self._next_advice_s = now + ADVICE_INTERVAL_S
            watch = self.identity.friendly
            advice = self.advisor.advise(
                now, self.predict.current, tr, watch.friendly, watch.positions
            )
            held = self.advisor.withheld
            if _changed(advice, self._last_advice) or held != self._last_withheld:
                out.events.append(
                    _live_event("engagement_advice", round(now, 4), advice=advice, withheld=held)
                )
            self._last_advice = advice
            self._last_withheld = held
        return out

    def _cat062(self, new_confirmed, dropped, now: float) -> list[bytes]:
        """One CAT062 record per confirmed track updated in this step (its latest state),
        and a last record (TSE) for each published track that ended."""
        latest = {}
        for c in new_confirmed:
            latest[c.update.track_id] = c.update
        rows = []  # (track, time, state, first, last, born, psr age, Mode 3/A code)
        for tid, u in sorted(latest.items()):
            first = tid not in self.published
            if first:
                self.published[tid] = u.t_s
            self.last_state[tid] = (u.t_s, u.x.copy(), u.mode3a)
            rows.append((tid, u.t_s, u.x, first, False, self.published[tid], now - u.t_s, u.mode3a))
        for tid in dropped:
            born = self.published.pop(tid, None)
            if tid in self.last_state:
                t_s, x, code = self.last_state.pop(tid)
                born = t_s if born is None else born
                rows.append((tid, t_s, x, False, True, born, now - t_s, code))
        if not rows:
            return []
        x = np.array([r[2] for r in rows])
        lat, lon, alt = self.frame.to_geodetic(x[:, :3])
        t = np.array([r[1] for r in rows])
        first_t = np.array([r[5] for r in rows])
        tracks = SystemTracks(
            track_number=np.array([r[0] for r in rows]),
            tod_s=t,
            lat_deg=np.atleast_1d(lat),
            lon_deg=np.atleast_1d(lon),
            pos_en_m=x[:, :2],
            vel_enu_mps=x[:, 3:6],
            alt_m=np.atleast_1d(alt),
            confirmed=np.ones(len(rows), dtype=bool),
            first=np.array([r[3] for r in rows]),
            last=np.array([r[4] for r in rows]),
            track_age_s=t - first_t,
            psr_age_s=np.array([r[6] for r in rows]),
            simulated=self.cfg.simulated,
            multisensor=len(self.specs) > 1,
            mode3a=np.array([r[7] for r in rows], dtype=np.int64),
        )
        return encode_cat062(
            tracks, sac=self.cfg.system_sac, sic=self.cfg.system_sic, service_id=self.cfg.service_id
        )

    def track_output(self, extra: dict | None = None) -> dict:
        """The tracks as ``opencram track --history`` writes them (needs ``keep_history``)."""
        return build_track_output(self.tracker, self.frame, history=True, extra=extra)

    def live_track_count(self) -> int:
        return int(np.count_nonzero(self.tracker.tracks.status == CONFIRMED))


def _changed(new: list[dict], old: list[dict]) -> bool:
    key_new = {(a["gun"], a["track_id"]): a["p_kill"] for a in new}
    key_old = {(a["gun"], a["track_id"]): a["p_kill"] for a in old}
    if key_new.keys() != key_old.keys():
        return True
    return any(abs(key_new[k] - key_old[k]) >= 0.01 for k in key_new)
