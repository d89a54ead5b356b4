"""Engagement advice for the live service: which gun would engage which track, with the
burst's kill probability, and which safety rule holds fire on which track. Nothing is
fired.

It is the engine's engage decision itself (:func:`opencram.engage.plan.plan_engagements`,
also called by ``opencram.c2.stages.EngageStage``), with the inputs that say nothing
fires: every gun is taken as ready and loaded, its pointing is not tracked (no slew
time), and the options :data:`~opencram.engage.plan.ADVICE_OPTIONS` leave out the
shoot-look-shoot wait and the friendly-aircraft hold (the service knows no friendly
positions).
"""

from __future__ import annotations

from opencram.engage.context import EngageContext
from opencram.engage.firecontrol import GunModel
from opencram.engage.plan import (
    ADVICE_OPTIONS,
    Assignment,
    GunState,
    Threats,
    plan_engagements,
)
from opencram.predict.prediction import Prediction
from opencram.warn.cache import ZoneProbabilityCache


class Advisor:
    """Advice for ``guns`` at the site ``ctx`` (frame, zones, engagement settings)."""

    def __init__(self, guns: list[GunModel], ctx: EngageContext) -> None:
        self.guns = guns
        self.ctx = ctx
        self.protected = ctx.zones.indices("protected")
        self.cache = ZoneProbabilityCache(ctx.zones, self.protected)
        self.withheld: list[dict] = []  # the latest advice's held pairs

    def advise(self, t_s: float, current: dict[int, Prediction], tracker) -> list[dict]:
        """Advice pairs for the current predictions (``PredictStage.current``), best
        assignment first. Each: gun, track_id, p_kill, p_protected, fire_s, intercept_s,
        intercept lat/lon/alt_m, rounds. Pairs a safety rule holds are left in
        ``self.withheld`` (gun, track_id, reason)."""
        self.withheld = []
        if not self.guns:
            return []
        live = {int(i) for i in tracker.tracks.id}
        ids = [tid for tid, v in current.items() if tid in live and v.impact_s > t_s]
        if not ids:
            return []
        p = self.cache.rows(current, ids)
        threats = Threats.of(ids, current, tracker.tracks, tracker.model, p)
        state = GunState.all_ready(self.guns)
        plan = plan_engagements(t_s, threats, self.guns, state, self.ctx, ADVICE_OPTIONS)
        self.withheld = [
            {"gun": n.gun, "track_id": n.track_id, "reason": n.reason} for n in plan.withheld
        ]
        out = [self._pair(a) for a in plan.assignments]
        return sorted(out, key=lambda a: (-a["p_kill"], a["track_id"]))

    def _pair(self, a: Assignment) -> dict:
        lat, lon, alt = self.ctx.frame.to_geodetic(a.pos_enu_m)
        return {
            "gun": a.gun,
            "track_id": a.track_id,
            "p_kill": round(a.p_kill, 4),
            "p_protected": round(a.p_protected, 4),
            "fire_s": round(a.fire_s, 3),
            "intercept_s": round(a.intercept_s, 3),
            "lat": round(float(lat), 7),
            "lon": round(float(lon), 7),
            "alt_m": round(float(alt), 2),
            "rounds": a.rounds,
        }
