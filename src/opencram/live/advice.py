"""Engagement advice for the live service: which gun would engage which track, with the
burst's kill probability, and which safety rule holds fire on which track. Nothing is
fired.

It is the engine's decision step (``opencram.c2.stages.EngageStage``) with the same
functions: protected-zone probability of each threat's predicted impact (drones: their
path corridor), priority (``engage.tewa.threat_priority``), the intercept of every gun
(``engage.firecontrol.solve_intercepts``, drones flown straight) fired after its reaction
time, per-round hit and burst kill probabilities (with the gun's track-radar error when it
has one), no-fire sectors, the collateral rule (``c2.stages.collateral_rule``: duds and
debris on no-fire zones, expected harm against protected zones), and the Hungarian
assignment (``engage.tewa.assign``). Differences, because nothing fires: every gun is taken
as ready and loaded, pointing is not tracked (no slew time), there is no shoot-look-shoot
wait, and no friendly-aircraft hold (the service knows no friendly positions).
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from opencram.c2.stages import collateral_rule, in_sectors, planned_kill_probability
from opencram.engage.firecontrol import (
    GunModel,
    ThreatMotion,
    solve_intercepts,
)
from opencram.engage.tewa import (
    assign,
    threat_priority,
)
from opencram.warn.alerts import lethal_radius_m, zone_probabilities


class Advisor:
    def __init__(self, guns: list[GunModel], zones, engagement, frame, env=None) -> None:
        self.guns = guns
        self.zones = zones
        self.cfg = engagement
        self.frame = frame
        self.world = SimpleNamespace(frame=frame, zones=zones, env=env)
        self.protected = zones.indices("protected")
        self.withheld: list[dict] = []  # the latest advice's held pairs

    def advise(self, t_s: float, current: dict, tracker) -> list[dict]:
        """Advice pairs for the current predictions (``PredictStage.current``), best
        assignment first. Each: gun, track_id, p_kill, p_protected, fire_s, intercept_s,
        intercept lat/lon/alt_m, rounds. Pairs a safety rule holds are left in
        ``self.withheld`` (gun, track_id, reason)."""
        self.withheld = []
        if not self.guns or not self.protected.size:
            return []
        tr = tracker.tracks
        live = {int(i): k for k, i in enumerate(tr.id)}
        ids = [tid for tid, v in current.items() if tid in live and v[0] > t_s]
        if not ids:
            return []
        mean = np.array([current[i][1] for i in ids])
        cov = np.array([current[i][2] for i in ids])
        radius = np.array([lethal_radius_m(current[i][3]) for i in ids])
        tti = np.array([current[i][0] - t_s for i in ids])
        p = zone_probabilities(self.zones, self.protected, mean, cov, radius)
        p_any = 1.0 - np.prod(1.0 - p, axis=1)
        cand = np.flatnonzero(p_any >= self.cfg.threshold)
        if not cand.size:
            return []
        prio = threat_priority(p[cand], self.zones.values[self.protected], tti[cand])
        rows = np.array([live[ids[k]] for k in cand])
        x, t_state, p_state = tr.x[rows], tr.t_s[rows], tr.p[rows]
        motion = ThreatMotion(
            tracker.model, np.array([current[ids[k]][3] == "drone" for k in cand])
        )
        ground_cov = np.where(motion.straight[:, None, None], p_state[:, :2, :2], cov[cand])
        t_imp = np.array([current[ids[k]][0] for k in cand])
        value = np.zeros((len(self.guns), cand.size))
        plans = {}
        for g, gun in enumerate(self.guns):
            spec = gun.spec
            t_fire = t_s + spec.reaction_s
            sol = solve_intercepts(gun, motion, x, t_state, t_fire)
            ok = sol.feasible & (sol.t_s < t_imp - 0.5)
            ok &= sol.pos_enu_m[:, 2] >= self.cfg.min_intercept_alt_m
            n_rounds = round(spec.rate_rpm / 60.0 * self.cfg.burst_s)
            n_rounds = int(min(spec.ammo_rounds, n_rounds))
            pk = planned_kill_probability(spec, self.cfg, sol, p_state, n_rounds)
            held, _ = collateral_rule(
                self.world,
                self.cfg,
                tracker.model,
                gun,
                sol,
                motion,
                x,
                t_state,
                n_rounds,
                p[cand],
                ok,
                ground_cov,
            )
            for b in np.flatnonzero(ok):
                reason = held[b]
                if not reason and in_sectors(sol.az_rad[b], spec.no_fire_sectors):
                    reason = f"line of fire in a no-fire sector of {gun.id}"
                if reason:
                    self.withheld.append(
                        {"gun": gun.id, "track_id": int(ids[cand[b]]), "reason": reason}
                    )
                    continue
                value[g, b] = prio[b] * pk[b]
                plans[(g, b)] = (t_fire, sol, n_rounds, float(pk[b]))
        out = []
        for g, b in assign(value):
            t_fire, sol, n, pk = plans[(g, b)]
            lat, lon, alt = self.frame.to_geodetic(sol.pos_enu_m[b])
            out.append(
                {
                    "gun": self.guns[g].id,
                    "track_id": int(ids[cand[b]]),
                    "p_kill": round(pk, 4),
                    "p_protected": round(float(p_any[cand[b]]), 4),
                    "fire_s": round(float(t_fire), 3),
                    "intercept_s": round(float(sol.t_s[b]), 3),
                    "lat": round(float(lat), 7),
                    "lon": round(float(lon), 7),
                    "alt_m": round(float(alt), 2),
                    "rounds": n,
                }
            )
        return sorted(out, key=lambda a: (-a["p_kill"], a["track_id"]))
