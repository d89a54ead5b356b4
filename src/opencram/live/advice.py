"""Engagement advice for the live service: which gun would engage which track, with the
burst's kill probability. Nothing is fired.

It is the engine's decision step (``opencram.c2.stages.EngageStage``) with the same
functions: protected-zone probability of each ballistic threat's predicted impact
(``warn.alerts.zone_probabilities``), priority (``engage.tewa.threat_priority``), the
intercept of every gun (``engage.firecontrol.solve_intercepts``) fired after its reaction
time, per-round hit and burst kill probabilities, no-fire sectors, and the Hungarian
assignment (``engage.tewa.assign``). Differences, because nothing fires: every gun is taken
as ready and loaded, pointing is not tracked (no slew time), and the collateral rule and
friendly-aircraft hold (which need the scenario's truth) are not applied.
"""

from __future__ import annotations

import numpy as np

from opencram.c2.stages import in_sectors
from opencram.engage.firecontrol import GunModel, solve_intercepts
from opencram.engage.tewa import (
    assign,
    burst_kill_probability,
    round_hit_probability,
    threat_priority,
)
from opencram.warn.alerts import lethal_radius_m, zone_probabilities


class Advisor:
    def __init__(self, guns: list[GunModel], zones, engagement, frame) -> None:
        self.guns = guns
        self.zones = zones
        self.cfg = engagement
        self.frame = frame
        self.protected = np.array(
            [i for i, k in enumerate(zones.kinds) if k == "protected"], dtype=np.intp
        )

    def advise(self, t_s: float, current: dict, tracker) -> list[dict]:
        """Advice pairs for the current predictions (``PredictStage.current``), best
        assignment first. Each: gun, track_id, p_kill, p_protected, fire_s, intercept_s,
        intercept lat/lon/alt_m, rounds."""
        if not self.guns or not self.protected.size:
            return []
        tr = tracker.tracks
        live = {int(i): k for k, i in enumerate(tr.id)}
        ids = [tid for tid, v in current.items() if v[3] != "drone" and tid in live and v[0] > t_s]
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
        x, t_state = tr.x[rows], tr.t_s[rows]
        pos_sigma = np.sqrt(np.trace(tr.p[rows][:, :3, :3], axis1=1, axis2=2) / 3.0)
        t_imp = np.array([current[ids[k]][0] for k in cand])
        value = np.zeros((len(self.guns), cand.size))
        plans = {}
        for g, gun in enumerate(self.guns):
            spec = gun.spec
            t_fire = t_s + spec.reaction_s
            sol = solve_intercepts(gun, tracker.model, x, t_state, t_fire)
            ok = sol.feasible & (sol.t_s < t_imp - 0.5)
            ok &= sol.pos_enu_m[:, 2] >= self.cfg.min_intercept_alt_m
            n_rounds = round(spec.rate_rpm / 60.0 * self.cfg.burst_s)
            n_rounds = int(min(spec.ammo_rounds, n_rounds))
            ph = round_hit_probability(
                sol.range_m, spec.dispersion_mrad, pos_sigma, self.cfg.target_radius_m
            )
            pk = burst_kill_probability(ph, n_rounds, self.cfg.p_kill_given_hit)
            for b in np.flatnonzero(ok):
                if in_sectors(sol.az_rad[b], spec.no_fire_sectors):
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
