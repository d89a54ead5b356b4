"""The engage decision: which gun engages which threat now, and why the others are not
engaged. One pure function, :func:`plan_engagements`, called by the engine's engage stage
(every ``DECISION_INTERVAL_S``) and by the live service's advisor, so simulation and live
advice decide alike.

The decision, for the threats the caller offers (tracks with a usable prediction):

1. threat evaluation: a threat is worth engaging when the probability that it lands in any
   protected zone reaches ``engagement.threshold`` (``engage.tewa``); its priority is the
   value-weighted probability per second to impact;
2. per free gun (ready, loaded, not on weapons hold): the intercept of every candidate
   fired after the gun's reaction time plus, when its pointing is known, the time to slew
   onto it (``engage.firecontrol``); feasible when it comes at least ``IMPACT_MARGIN_S``
   before the impact and at least ``min_intercept_alt_m`` up;
3. the burst's planned kill probability (``engage.rules``); with shoot-look-shoot, a burst
   below ``min_burst_pk`` waits while a later one (after this burst and a look) would
   still be feasible;
4. safety rules hold a pair: the collateral rule (``engage.collateral``), the gun's no-fire
   sectors, and friendly aircraft near the line of fire (when the caller can tell);
5. assignment of greatest total priority times kill probability (``engage.tewa.assign``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from opencram.engage.collateral import collateral_rule
from opencram.engage.context import EngageContext
from opencram.engage.firecontrol import (
    GunModel,
    Intercept,
    ThreatMotion,
    ThreatPaths,
    solve_intercepts,
)
from opencram.engage.records import Footprint
from opencram.engage.rules import burst_rounds, in_sectors, planned_kill_probability
from opencram.engage.tewa import assign, threat_priority
from opencram.predict.prediction import Prediction
from opencram.scenario.schema import Engagement
from opencram.track.models import BallisticModel

DECISION_INTERVAL_S = 0.5  # how often the engine runs threat evaluation and assignment
IMPACT_MARGIN_S = 0.5  # an intercept must come at least this long before the impact

# friendly_in_line(gun position, aim point (ENU m), t0, t1 (s)): is a friendly aircraft
# near that line of fire while the rounds fly?
FriendlyCheck = Callable[[np.ndarray, np.ndarray, float, float], bool]


@dataclass(frozen=True, eq=False)
class Threats:
    """The threats offered to the decision, one row each: their track (state ``x`` (n, 7),
    covariance ``p`` (n, 7, 7) at ``t_state_s`` (n,)), how fire control flies them
    (``motion``: drones straight), their predicted impact time (n,) and its covariance
    (n, 2, 2), and the probability (n, z) that each lands in each protected zone
    (``zones.indices("protected")``)."""

    track_id: np.ndarray
    impact_s: np.ndarray
    impact_cov_en_m2: np.ndarray
    p_protected: np.ndarray
    motion: ThreatMotion
    x: np.ndarray
    p: np.ndarray
    t_state_s: np.ndarray

    def __len__(self) -> int:
        return int(self.track_id.size)

    @staticmethod
    def of(
        ids: Sequence[int],
        predictions: dict[int, Prediction],
        tracks,
        model: BallisticModel,
        p_protected: np.ndarray,
    ) -> Threats:
        """The threats ``ids`` from their ``predictions`` and the live ``tracks`` (a
        tracker's track table: ``id``, ``x``, ``p``, ``t_s``)."""
        live = {int(i): k for k, i in enumerate(tracks.id)}
        rows = np.array([live[i] for i in ids], dtype=np.intp)
        preds = [predictions[i] for i in ids]
        n = len(preds)
        return Threats(
            track_id=np.array(ids, dtype=np.int64),
            impact_s=np.array([q.impact_s for q in preds], dtype=float),
            impact_cov_en_m2=np.array([q.impact_cov_en_m2 for q in preds]).reshape(n, 2, 2),
            p_protected=p_protected,
            motion=ThreatMotion(model, np.array([q.track_class == "drone" for q in preds], bool)),
            x=tracks.x[rows],
            p=tracks.p[rows],
            t_state_s=tracks.t_s[rows],
        )

    def take(self, rows: np.ndarray) -> Threats:
        """The threats at ``rows``."""
        return Threats(
            track_id=self.track_id[rows],
            impact_s=self.impact_s[rows],
            impact_cov_en_m2=self.impact_cov_en_m2[rows],
            p_protected=self.p_protected[rows],
            motion=ThreatMotion(self.motion.ballistic, self.motion.straight[rows]),
            x=self.x[rows],
            p=self.p[rows],
            t_state_s=self.t_state_s[rows],
        )


@dataclass(frozen=True, eq=False)
class GunState:
    """The guns' state at the decision, (g,) each: when each is next ready (s; after its
    burst or reload), rounds in the drum, weapons hold, and pointing (rad; None: not known,
    so no slew time is counted)."""

    ready_s: np.ndarray
    ammo: np.ndarray
    hold: np.ndarray
    az_rad: np.ndarray | None = None
    el_rad: np.ndarray | None = None

    @staticmethod
    def all_ready(guns: Sequence[GunModel]) -> GunState:
        """Every gun ready with a full drum, none held, pointing unknown."""
        g = len(guns)
        return GunState(
            ready_s=np.full(g, -np.inf),
            ammo=np.array([gun.spec.ammo_rounds for gun in guns], dtype=np.int64),
            hold=np.zeros(g, dtype=bool),
        )

    def free(self, t_s: float) -> np.ndarray:
        """Indices of the guns that may commit a burst at ``t_s``."""
        return np.flatnonzero((self.ready_s <= t_s) & (self.ammo > 0) & ~self.hold)


@dataclass(frozen=True)
class PlanOptions:
    """How much of the decision applies. The engine uses all of it; the live advice (which
    fires nothing) no shoot-look-shoot wait, and its own friendly-aircraft check
    (``opencram.live.advice.friendly_check``).
    ``fly_ahead``: solve intercepts on the threats flown ahead once
    (``ThreatPaths``) rather than integrating each solve."""

    shoot_look_shoot: bool = True
    fly_ahead: bool = True
    friendly_in_line: FriendlyCheck | None = None


ENGINE_OPTIONS = PlanOptions()
ADVICE_OPTIONS = PlanOptions(shoot_look_shoot=False, fly_ahead=False)


@dataclass(frozen=True)
class TrackNote:
    """Why a track is not engaged (so far in this decision). ``withheld``: a safety rule
    holds the pair of ``gun`` (None: every gun) with the track, with the pair's
    ``footprints`` when the collateral rule held it. ``fallback``: the reason stands only
    when the track has no other reason."""

    track_id: int
    reason: str
    gun: str | None = None
    footprints: tuple[Footprint, ...] = ()
    withheld: bool = False
    fallback: bool = False


@dataclass(frozen=True, eq=False)
class Assignment:
    """A gun assigned to a threat: when it fires (s), where and when the rounds meet it
    (ENU m, s), the gun's laying (rad), the burst and its kill probability, the threat's
    protected-zone probability, and the burst's collateral footprints."""

    gun_index: int
    gun: str
    track_id: int
    fire_s: float
    intercept_s: float
    pos_enu_m: np.ndarray
    az_rad: float
    el_rad: float
    rounds: int
    p_kill: float
    p_protected: float
    drone: bool
    footprints: tuple[Footprint, ...] = ()


@dataclass(frozen=True)
class EngagementPlan:
    """The decision: assignments (one threat per gun), and the notes on the threats not
    engaged, in the order they were found (a later note on a track overrides an earlier
    one, except a ``fallback``)."""

    assignments: tuple[Assignment, ...]
    notes: tuple[TrackNote, ...]

    @property
    def withheld(self) -> tuple[TrackNote, ...]:
        """The pairs a safety rule holds."""
        return tuple(n for n in self.notes if n.withheld)


@dataclass(frozen=True, eq=False)
class _GunShots:
    """One gun's shots at the candidates (n,): fire times, intercepts, burst, kill
    probabilities, footprints and which pairs the rules allow."""

    g: int
    gun: GunModel
    t_fire_s: np.ndarray
    sol: Intercept
    n_rounds: int
    p_kill: np.ndarray
    prints: list[list[Footprint]]
    allowed: np.ndarray


def protected_probability(p_protected: np.ndarray) -> np.ndarray:
    """Probability (n,) that each threat lands in any protected zone, from (n, z)."""
    if not p_protected.shape[1]:
        return np.zeros(p_protected.shape[0])
    return 1.0 - np.prod(1.0 - p_protected, axis=1)


def plan_engagements(
    t_s: float,
    threats: Threats,
    guns: Sequence[GunModel],
    state: GunState,
    ctx: EngageContext,
    options: PlanOptions = ENGINE_OPTIONS,
) -> EngagementPlan:
    """Decide at ``t_s`` which of the ``guns`` (in ``state``) engage which ``threats``."""
    cfg = ctx.config
    notes: list[TrackNote] = []
    p_any = protected_probability(threats.p_protected)
    worth = p_any >= cfg.threshold
    for k in np.flatnonzero(~worth):
        reason = f"predicted to land outside the protected zones (P = {p_any[k]:.3f})"
        notes.append(TrackNote(int(threats.track_id[k]), reason))
    cand = np.flatnonzero(worth)
    free = state.free(t_s)
    if not cand.size or not free.size:
        notes += _idle_notes(threats.track_id[cand], state)
        return EngagementPlan((), tuple(notes))
    sub = threats.take(cand)
    protected = ctx.zones.indices("protected")
    prio = threat_priority(sub.p_protected, ctx.zones.values[protected], sub.impact_s - t_s)
    paths = _fly_ahead(t_s, sub, [guns[g] for g in free], cfg) if options.fly_ahead else None
    # where a destroyed threat's debris comes down is as uncertain as its impact point
    # (a drone's: as its position)
    ground_cov = np.where(
        sub.motion.straight[:, None, None], sub.p[:, :2, :2], sub.impact_cov_en_m2
    )
    shots = [
        _gun_shots(t_s, int(g), guns[g], state, sub, paths, ground_cov, ctx, options, notes)
        for g in free
    ]
    value = np.array([np.where(s.allowed, prio * s.p_kill, 0.0) for s in shots])
    chosen = tuple(_assignment(shots[a], b, sub, p_any[cand[b]]) for a, b in assign(value))
    return EngagementPlan(chosen, tuple(notes))


def _idle_notes(track_ids: np.ndarray, state: GunState) -> list[TrackNote]:
    """Notes on the candidates when no gun is free: a weapons hold on every gun holds
    fire; otherwise the guns are busy."""
    all_held = bool(state.hold.size) and bool(state.hold.all())
    if all_held:
        return [
            TrackNote(int(t), "weapons hold (operator)", None, withheld=True) for t in track_ids
        ]
    return [TrackNote(int(t), "no gun free") for t in track_ids]


def _fly_ahead(t_s: float, sub: Threats, free: list[GunModel], cfg: Engagement) -> ThreatPaths:
    """The candidates flown ahead once, far enough for every free gun's latest look."""
    horizon = max(gun.spec.reaction_s + 2.0 * gun.spec.self_destruct_s for gun in free)
    horizon += 2.0 + cfg.burst_s + DECISION_INTERVAL_S + 1.0
    return ThreatPaths.fly(sub.motion, sub.x, sub.t_state_s, t_s + horizon)


def _fire_times(t_s: float, g: int, gun: GunModel, state: GunState, sub: Threats, paths):
    """When gun ``g`` can fire at each candidate (n,): after its reaction time and, when
    its pointing is known, the slew onto the candidate's intercept."""
    spec = gun.spec
    if state.az_rad is None or state.el_rad is None:
        return np.full(len(sub), t_s + spec.reaction_s)
    first = solve_intercepts(
        gun, sub.motion, sub.x, sub.t_state_s, t_s + spec.reaction_s, paths=paths
    )
    slew = np.maximum(
        np.abs(np.angle(np.exp(1j * (first.az_rad - state.az_rad[g]))))
        / np.radians(spec.slew_az_dps),
        np.abs(first.el_rad - state.el_rad[g]) / np.radians(spec.slew_el_dps),
    )
    return t_s + spec.reaction_s + np.nan_to_num(slew, nan=0.0)


def _reachable(sol: Intercept, impact_s: np.ndarray, cfg: Engagement) -> np.ndarray:
    """Feasible intercepts that come before the impact and high enough (n,)."""
    ok = sol.feasible & (sol.t_s < impact_s - IMPACT_MARGIN_S)
    return ok & (sol.pos_enu_m[:, 2] >= cfg.min_intercept_alt_m)


def _better_later(gun, sub, sol, t_fire, pk, ok, paths, cfg, notes) -> np.ndarray:
    """Shoot-look-shoot timing: the pairs (n,) whose burst is below ``min_burst_pk`` and
    that wait, because a later burst (after this one and a look at its result) would still
    be feasible."""
    weak = ok & (pk < cfg.min_burst_pk)
    if not weak.any():
        return np.zeros(ok.shape, dtype=bool)
    look_s = cfg.burst_s + DECISION_INTERVAL_S + np.nan_to_num(sol.tof_s)
    later = solve_intercepts(gun, sub.motion, sub.x, sub.t_state_s, t_fire + look_s, paths=paths)
    wait = weak & _reachable(later, sub.impact_s, cfg)
    for b in np.flatnonzero(wait):
        reason = f"waiting for a better shot (P(kill) {pk[b]:.2f} from {gun.id})"
        notes.append(TrackNote(int(sub.track_id[b]), reason))
    return wait


def _gun_shots(t_s, g, gun, state, sub, paths, ground_cov, ctx, options, notes) -> _GunShots:
    """Gun ``g``'s shots at every candidate, with the notes on the pairs it may not take."""
    cfg = ctx.config
    t_fire = _fire_times(t_s, g, gun, state, sub, paths)
    sol = solve_intercepts(gun, sub.motion, sub.x, sub.t_state_s, t_fire, paths=paths)
    ok = _reachable(sol, sub.impact_s, cfg)
    n_rounds = burst_rounds(gun.spec, cfg, state.ammo[g])
    pk = planned_kill_probability(gun.spec, cfg, sol, sub.p, n_rounds)
    if options.shoot_look_shoot:
        ok = ok & ~_better_later(gun, sub, sol, t_fire, pk, ok, paths, cfg, notes)
    held, prints = collateral_rule(
        ctx, gun, sol, sub.motion, sub.x, sub.t_state_s, n_rounds, sub.p_protected, ok, ground_cov
    )
    shots = _GunShots(g, gun, t_fire, sol, n_rounds, pk, prints, np.zeros(len(sub), bool))
    for b in range(len(sub)):
        note = _pair_note(shots, b, int(sub.track_id[b]), ok[b], held[b], options)
        if note is None:
            shots.allowed[b] = True
        else:
            notes.append(note)
    return shots


def _pair_note(shots: _GunShots, b: int, track_id: int, ok, held: str, options: PlanOptions):
    """Why gun and candidate ``b`` may not be paired (a note), or None when they may."""
    gun, sol = shots.gun, shots.sol
    if not ok:
        return TrackNote(track_id, "no feasible intercept for the guns", fallback=True)
    if held:
        return TrackNote(track_id, held, gun.id, tuple(shots.prints[b]), withheld=True)
    if in_sectors(sol.az_rad[b], gun.spec.no_fire_sectors):
        reason = f"line of fire in a no-fire sector of {gun.id}"
        return TrackNote(track_id, reason, gun.id, withheld=True)
    friendly = options.friendly_in_line
    if friendly is not None and friendly(
        gun.pos_enu_m, sol.pos_enu_m[b], shots.t_fire_s[b], sol.t_s[b]
    ):
        reason = f"friendly aircraft in {gun.id}'s line of fire"
        return TrackNote(track_id, reason, gun.id, withheld=True)
    return None


def _assignment(shots: _GunShots, b: int, sub: Threats, p_protected: float) -> Assignment:
    sol = shots.sol
    return Assignment(
        gun_index=shots.g,
        gun=shots.gun.id,
        track_id=int(sub.track_id[b]),
        fire_s=float(shots.t_fire_s[b]),
        intercept_s=float(sol.t_s[b]),
        pos_enu_m=sol.pos_enu_m[b].copy(),
        az_rad=float(sol.az_rad[b]),
        el_rad=float(sol.el_rad[b]),
        rounds=shots.n_rounds,
        p_kill=float(shots.p_kill[b]),
        p_protected=float(p_protected),
        drone=bool(sub.motion.straight[b]),
        footprints=tuple(shots.prints[b]),
    )
