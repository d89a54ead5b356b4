"""The engage stage: the scenario's guns deciding, firing and resolving bursts.

Each tick: fire the committed bursts whose time has come and resolve those whose intercept
time has come, then (every ``DECISION_INTERVAL_S``) reload the guns and ask the engage
decision (:func:`opencram.engage.plan.plan_engagements`) which gun engages which threat;
this stage keeps the guns' state, the bursts and the reasons, and emits the events. In
simulation a burst's real effect is drawn from the true miss (the kill from the engage
stream of the seeded generator, when the burst fires). A destroyed round stops in the truth
(``kills``), so the radars lose it and its track ends.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from opencram.c2.controls import OperatorControls
from opencram.c2.events import (
    EngagementResult,
    EngagementStarted,
    EngagementWithheld,
    Event,
    GunStatus,
)
from opencram.c2.world import World
from opencram.engage.context import EngageContext
from opencram.engage.firecontrol import (
    Intercept,
    ThreatMotion,
    build_guns,
    solve_intercepts,
    track_radar_fix,
    track_radar_sample_times,
)
from opencram.engage.plan import (
    DECISION_INTERVAL_S,
    Assignment,
    GunState,
    PlanOptions,
    Threats,
    TrackNote,
    plan_engagements,
)
from opencram.engage.records import Burst
from opencram.engage.rules import near_line_of_fire
from opencram.engage.tewa import burst_kill_probability, round_hit_probability_offset
from opencram.physics.environment import Environment
from opencram.predict.prediction import Prediction
from opencram.track.manager import Tracker
from opencram.warn.cache import ZoneProbabilityCache

# kill assessment: a track engaged before is engaged again only once a plot this long (s)
# after the intercept shows the threat still flying
KILL_LOOK_S = 0.2


class EngageStage:
    """Threat evaluation, weapon assignment and bursts for the scenario's guns. ``log``
    holds every burst (:class:`~opencram.engage.records.Burst`), ``not_engaged`` the
    latest reason per track id that is not engaged."""

    def __init__(
        self, world: World, tracker: Tracker, kills: np.ndarray, rng, controls=None
    ) -> None:
        s = world.scenario
        self.world = world
        self.tracker = tracker
        self.kills = kills
        self.rng = rng
        self.cfg = s.engagement
        self.ctx = EngageContext(
            frame=world.frame, zones=world.zones, config=s.engagement, env=world.env
        )
        # the guns' round tables in the defender's met (the standard atmosphere without it)
        fc_air = world.met or Environment(site_alt_m=world.env.site_alt_m)
        self.guns = build_guns(s.weapons, world.frame, s.site.alt_m, fc_air)
        g = len(self.guns)
        self.ammo = np.array([w.ammo_rounds for w in s.weapons], dtype=np.int64)
        self.ready_s = np.zeros(g)
        self.reload_at = np.full(g, np.inf)
        self.az = np.zeros(g)
        self.el = np.zeros(g)
        self.active: dict[int, int] = {}  # track id -> index in `log` of its burst in the air
        self.assessing: dict[int, float] = {}  # track id -> intercept time of its last burst
        self._next_decision_s = 0.0
        self.log: list[Burst] = []  # every burst, for the outcomes
        self.not_engaged: dict[int, str] = {}  # track id -> latest reason
        self.protected = world.zones.indices("protected")
        self.controls = controls if controls is not None else OperatorControls()
        self.fc_rng = np.random.default_rng([world.seed, 3])  # the guns' track radars
        self.zone_cache = ZoneProbabilityCache(world.zones, self.protected)
        self.gun_state: list[str | None] = [None] * g  # last GunStatus sent per gun
        self.withheld: dict[int, str] = {}  # track id -> last EngagementWithheld reason
        self._withhold_now: dict[int, tuple[str | None, str, list]] = {}
        self._options = PlanOptions(friendly_in_line=self._friendly_near)

    # --- the decision -----------------------------------------------------------------

    def step(self, t_s: float, current: dict[int, Prediction]) -> list[Event]:
        """Events of tick ``t_s`` for the current predictions (track id -> prediction):
        :meth:`resolve`, then :meth:`decide`."""
        return self.resolve(t_s) + self.decide(t_s, current)

    def resolve(self, t_s: float) -> list[Event]:
        """The bursts of tick ``t_s``: fired, cancelled, and their results
        (``EngagementResult``; ``killed`` is a confirmed kill). The engine calls this before
        the warn stage, so a destroyed track leaves the zone alerts in the same tick."""
        return self._resolve(t_s)

    def decide(self, t_s: float, current: dict[int, Prediction]) -> list[Event]:
        """The decision of tick ``t_s`` (every ``DECISION_INTERVAL_S``), after
        :meth:`resolve`: bursts committed, fire withheld, gun states."""
        events: list[Event] = []
        if not self.guns:
            return events
        if t_s < self._next_decision_s:
            return events + self._gun_events(t_s)
        self._next_decision_s = t_s + DECISION_INTERVAL_S
        self._reload(t_s)
        ids = self._offered(t_s, current)
        if ids:
            p = self.zone_cache.rows(current, ids)
            tracker = self.tracker
            threats = Threats.of(ids, current, tracker.tracks, tracker.model, p)
            plan = plan_engagements(
                t_s, threats, self.guns, self._gun_state(), self.ctx, self._options
            )
            self._note(plan.notes)
            events += [self._commit(t_s, a) for a in plan.assignments]
        return events + self._finish_decision(t_s)

    def _reload(self, t_s: float) -> None:
        refill = self.reload_at <= t_s
        if refill.any():
            for g in np.flatnonzero(refill):
                self.ammo[g] = self.world.scenario.weapons[g].ammo_rounds
            self.reload_at[refill] = np.inf

    def _offered(self, t_s: float, current: dict[int, Prediction]) -> list[int]:
        """The tracks offered to the decision: live, not marked friendly, no burst in the
        air, assessed as still flying after an earlier burst, impact still ahead."""
        tr = self.tracker.tracks
        live = {int(i): k for k, i in enumerate(tr.id)}
        assessed = {
            tid: bool(tr.t_s[live[tid]] > t_int + KILL_LOOK_S)
            for tid, t_int in self.assessing.items()
            if tid in live
        }
        friendly = self.controls.friendly_tracks
        for tid in current:
            if tid in friendly:
                self.not_engaged[tid] = "marked friendly by the operator"
        return [
            tid
            for tid, v in current.items()
            if tid not in friendly
            and tid in live
            and tid not in self.active
            and assessed.get(tid, True)
            and v.impact_s > t_s
        ]

    def _gun_state(self) -> GunState:
        hold = self.controls.weapons_hold
        return GunState(
            ready_s=self.ready_s.copy(),
            ammo=self.ammo.copy(),
            hold=np.array([gun.id in hold for gun in self.guns], dtype=bool),
            az_rad=self.az.copy(),
            el_rad=self.el.copy(),
        )

    def _note(self, notes: tuple[TrackNote, ...]) -> None:
        """Record the decision's reasons (a safety rule's hold is reported once per
        reason, by ``_finish_decision``)."""
        for n in notes:
            if n.fallback:
                self.not_engaged.setdefault(n.track_id, n.reason)
            else:
                self.not_engaged[n.track_id] = n.reason
            if n.withheld:
                self._withhold_now[n.track_id] = (n.gun, n.reason, list(n.footprints))

    def _commit(self, t_s: float, a: Assignment) -> EngagementStarted:
        """Commit gun ``a.gun_index`` to its burst: the gun's state, the burst log, the
        event."""
        g, tid = a.gun_index, a.track_id
        truth = self._truth_of(tid)
        self.ammo[g] -= a.rounds
        self.ready_s[g] = a.fire_s + self.cfg.burst_s
        if self.ammo[g] <= 0:
            self.reload_at[g] = self.ready_s[g] + self.guns[g].spec.reload_s
            self.ready_s[g] = self.reload_at[g]
        self.az[g], self.el[g] = a.az_rad, a.el_rad
        self.not_engaged.pop(tid, None)
        self._withhold_now.pop(tid, None)
        self.withheld.pop(tid, None)
        self.active[tid] = len(self.log)
        self.log.append(
            Burst(
                gun=a.gun,
                gun_index=g,
                track_id=tid,
                truth=truth,
                decided_s=t_s,
                fire_s=a.fire_s,
                intercept_s=a.intercept_s,
                pos_enu_m=a.pos_enu_m,
                az_rad=a.az_rad,
                el_rad=a.el_rad,
                rounds=a.rounds,
                drone=a.drone,
                p_kill=a.p_kill,
                ammo_left=int(self.ammo[g]),
                footprints=a.footprints,
            )
        )
        lat, lon, alt = self.world.frame.to_geodetic(a.pos_enu_m)
        return EngagementStarted(
            t_s=round(t_s, 4),
            gun=a.gun,
            track_id=tid,
            fire_s=round(a.fire_s, 4),
            intercept_s=round(a.intercept_s, 4),
            lat=round(float(lat), 7),
            lon=round(float(lon), 7),
            alt_m=round(float(alt), 2),
            rounds=a.rounds,
            p_kill=round(a.p_kill, 4),
            ammo_left=int(self.ammo[g]),
            footprints=list(a.footprints),
        )

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

    def _gun_state_name(self, g: int, t_s: float, busy: set[str]) -> str:
        gun = self.guns[g]
        if gun.id in self.controls.weapons_hold:
            return "hold"
        if np.isfinite(self.reload_at[g]) and t_s < self.reload_at[g]:
            return "reloading"
        if self.ammo[g] <= 0:
            return "empty"
        if self.ready_s[g] > t_s or gun.id in busy:
            return "engaging"
        return "ready"

    def _gun_events(self, t_s: float) -> list[Event]:
        """GunStatus for each gun whose state changed."""
        out: list[Event] = []
        busy = {self.log[i].gun for i in self.active.values()}
        for g, gun in enumerate(self.guns):
            state = self._gun_state_name(g, t_s, busy)
            if state != self.gun_state[g]:
                self.gun_state[g] = state
                out.append(
                    GunStatus(t_s=round(t_s, 4), gun=gun.id, state=state, ammo=int(self.ammo[g]))
                )
        return out

    # --- bursts in the air ------------------------------------------------------------

    def _resolve(self, t_s: float) -> list[Event]:
        """Fire what is due, then the results of bursts whose intercept time has come."""
        out: list[Event] = self._fire(t_s)
        due = [k for k, i in self.active.items() if self.log[i].fired]
        for tid in [k for k in due if self.log[self.active[k]].intercept_s <= t_s]:
            b = self.log[self.active.pop(tid)]
            if b.killed and b.truth >= 0 and b.intercept_s < self.kills[b.truth]:
                self.kills[b.truth] = b.intercept_s
            self.assessing[tid] = b.intercept_s
            out.append(
                EngagementResult(t_s=round(t_s, 4), gun=b.gun, track_id=tid, killed=bool(b.killed))
            )
        return out

    def _fire(self, t_s: float) -> list[Event]:
        """Bursts whose fire time has come. The gun lays on a fresh fix: its own track
        radar's (``Weapon.track_radar``) when it has one, else the latest surveillance
        track. With no track left, or no target in the track radar's gate, the burst is
        cancelled and its rounds kept. In simulation the burst's real effect is then drawn
        from the true miss."""
        out: list[Event] = []
        live = {int(i): k for k, i in enumerate(self.tracker.tracks.id)}
        for tid, i in list(self.active.items()):
            b = self.log[i]
            if b.fired or b.fire_s > t_s:
                continue
            reason, sol = self._lay(b, live.get(tid))
            if reason:
                out.append(self._cancel(t_s, tid, i, reason))
            else:
                self._shoot(i, sol)
        return out

    def _lay(self, b: Burst, row: int | None) -> tuple[str, Intercept | None]:
        """The intercept from the fix at the trigger, or why there is none."""
        if row is None:
            return "track lost before the trigger", None
        tr = self.tracker.tracks
        gun = self.guns[b.gun_index]
        motion = ThreatMotion(self.tracker.model, np.array([b.drone]))
        x, t_state = tr.x[row : row + 1].copy(), tr.t_s[row : row + 1].copy()
        if gun.spec.track_radar is not None:
            fix = self._radar_fix(b, motion, x, t_state)
            if fix is None:
                return "no target in the track radar's gate", None
            x[0, :6] = fix
            t_state[:] = b.fire_s
        sol = solve_intercepts(gun, motion, x, t_state, b.fire_s)
        if not (sol.feasible[0] and sol.t_s[0] > b.fire_s):
            return "no intercept from the fix at the trigger", None
        return "", sol

    def _radar_fix(self, b: Burst, motion: ThreatMotion, x, t_state) -> np.ndarray | None:
        """Simulation: the gun's track-radar fix (6,) at the trigger of the threat in its
        gate around the track's predicted position, or None."""
        gun = self.guns[b.gun_index]
        radar = gun.spec.track_radar
        pred = motion.propagate_state(x, b.fire_s - t_state)
        j = self._in_gate(pred[0, :3], b.fire_s, radar.gate_m)
        if j < 0:
            return None
        times = b.fire_s + track_radar_sample_times(radar)
        seen = np.array([self.world.object_state_at(ti)[0][j] for ti in times])
        acc = np.zeros(3)
        if not b.drone:
            acc = self.tracker.model.deriv(pred)[0, 3:6]
        return track_radar_fix(radar, gun.pos_enu_m, seen, acc, self.fc_rng)

    def _cancel(self, t_s: float, tid: int, i: int, reason: str) -> EngagementResult:
        """Hold the burst: the rounds stay in the drum."""
        b = self.log[i]
        del self.active[tid]
        g = b.gun_index
        self.ammo[g] += b.rounds
        self.reload_at[g] = np.inf
        self.ready_s[g] = t_s
        self.log[i] = replace(b, cancelled=reason, rounds=0, ammo_left=int(self.ammo[g]))
        return EngagementResult(
            t_s=round(t_s, 4), gun=b.gun, track_id=tid, killed=False, cancelled=reason
        )

    def _shoot(self, i: int, sol: Intercept) -> None:
        """Fire burst ``i`` at the intercept ``sol``; draw its real effect."""
        b = self.log[i]
        g = b.gun_index
        pos = sol.pos_enu_m[0].copy()
        az, el = float(sol.az_rad[0]), float(sol.el_rad[0])
        self.az[g], self.el[g] = az, el
        intercept_s = float(sol.t_s[0])
        truth, miss, pk_true = self._true_effect(self.guns[g], pos, intercept_s, b.rounds)
        self.log[i] = replace(
            b,
            fired=True,
            intercept_s=intercept_s,
            pos_enu_m=pos,
            az_rad=az,
            el_rad=el,
            truth=truth,
            miss_m=miss,
            p_kill_true=round(pk_true, 6),
            killed=bool(self.rng.random() < pk_true),
        )

    # --- simulation only: the truth ---------------------------------------------------

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

    def _friendly_near(self, gun_pos, aim_pos, t0: float, t1: float) -> bool:
        """Is a friendly aircraft within the clearance of the line of fire (extended to the
        self-destruct range) while the rounds fly?"""
        w = self.world
        if not w.aircraft_paths:
            return False
        n_r = len(w.truth.rounds)
        for t in np.linspace(t0, t1, 5):
            pos, _, act = w.object_state_at(t)
            air = pos[n_r:][act[n_r:]]
            if len(air) and near_line_of_fire(gun_pos, aim_pos, air, self.cfg.friendly_clearance_m):
                return True
        return False

    def _true_effect(self, gun, aim_enu_m, t_int_s: float, n_rounds: int):
        """Simulation only: what the burst really does. The rounds meet whatever threat is
        truly nearest the aim point at the intercept time (usually the tracked one; after a
        track swap, another): its index (-1 if none is flying), the miss distance across
        the line of fire (m) and the burst's real kill probability."""
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
