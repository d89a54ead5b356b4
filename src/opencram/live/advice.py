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

from dataclasses import replace

import numpy as np

from opencram.engage.context import EngageContext
from opencram.engage.firecontrol import GunModel
from opencram.engage.plan import (
    ADVICE_OPTIONS,
    Assignment,
    FriendlyCheck,
    GunState,
    Threats,
    plan_engagements,
)
from opencram.engage.rules import near_line_of_fire
from opencram.predict.prediction import Prediction
from opencram.track.identity import FriendlyPositions
from opencram.warn.cache import ZoneProbabilityCache

# Times between the trigger and the rounds' self-destruct at which the friendlies are
# placed against the line of fire (the engine samples the truth the same way).
FRIENDLY_SAMPLES = 5


def friendly_check(
    tracks, friendly_ids, reports: FriendlyPositions | None, clearance_m: float
) -> FriendlyCheck | None:
    """The hold "a friendly aircraft within ``clearance_m`` of the line of fire while the
    rounds fly" for the live advice: the tracks (a ``TrackTable``) whose ids are in
    ``friendly_ids``, each flown straight from its last state at its velocity, and the
    position reports ``reports`` where they were made. None when there is no friendly."""
    ids = np.fromiter((int(i) for i in friendly_ids), np.int64)
    rows = np.flatnonzero(np.isin(tracks.id, ids))
    pos0, vel, t0 = tracks.x[rows, 0:3], tracks.x[rows, 3:6], tracks.t_s[rows]
    fixed = np.zeros((0, 3)) if reports is None else reports.pos_enu_m
    if rows.size == 0 and len(fixed) == 0:
        return None

    def near(gun_pos, aim_pos, t_start: float, t_end: float) -> bool:
        for t in np.linspace(t_start, t_end, FRIENDLY_SAMPLES):
            pts = np.concatenate([pos0 + vel * (t - t0)[:, None], fixed])
            if near_line_of_fire(gun_pos, aim_pos, pts, clearance_m):
                return True
        return False

    return near


class Advisor:
    """Advice for ``guns`` at the site ``ctx`` (frame, zones, engagement settings)."""

    def __init__(self, guns: list[GunModel], ctx: EngageContext) -> None:
        self.guns = guns
        self.ctx = ctx
        self.protected = ctx.zones.indices("protected")
        self.cache = ZoneProbabilityCache(ctx.zones, self.protected)
        self.withheld: list[dict] = []  # the latest advice's held pairs

    def advise(
        self,
        t_s: float,
        current: dict[int, Prediction],
        tracker,
        friendly_ids=(),
        reports: FriendlyPositions | None = None,
    ) -> list[dict]:
        """Advice pairs for the current predictions (``PredictStage.current``), best
        assignment first. Each: gun, track_id, p_kill, p_protected, fire_s, intercept_s,
        intercept lat/lon/alt_m, rounds. Pairs a safety rule holds are left in
        ``self.withheld`` (gun, track_id, reason); the friendly-aircraft hold uses the
        friendly tracks ``friendly_ids`` and position ``reports`` (:func:`friendly_check`)."""
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
        check = friendly_check(
            tracker.tracks, friendly_ids, reports, self.ctx.config.friendly_clearance_m
        )
        options = replace(ADVICE_OPTIONS, friendly_in_line=check)
        plan = plan_engagements(t_s, threats, self.guns, state, self.ctx, options)
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
