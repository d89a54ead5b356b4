"""Collateral: where the rounds that fail to self-destruct and the threat's debris fall, and
the rule that withholds fire when that harm would exceed the harm of letting the threat land.

Footprints, per (gun, threat) pair, batched:

* duds: a round whose self-destruct fails flies on to the ground; the nominal round (the
  burst's azimuth and elevation) is flown to the ground with the round's drag, and the duds
  spread around its impact by the gun's dispersion times the ground range;
* debris: what is left of a destroyed threat falls on along the threat's ballistic path from
  the intercept point; the debris field is taken as a disc of the scenario's
  ``engagement.debris_radius_m`` (default 100 m, our assumption: we found no public figure)
  around where that path meets the ground.

Rule (configurable in the scenario's ``engagement`` section): the expected harm of firing is
``sum over protected zones of value * (n_rounds * dud_rate * dud_harm * P(a dud lands in the
zone) + debris_harm * P(debris lands in the zone))``, each probability from a Gaussian
footprint (duds: the dispersion times the ground range; debris: ``debris_radius_m`` holds
95 % of it, widened by the uncertainty of where the threat's path meets the ground); the
expected harm of holding is ``sum over zones of value * P(threat lands in zone)``. Fire is
withheld when the first exceeds the second, and always when a footprint's disc (3 sigma
for duds, ``debris_radius_m`` for debris) touches a no-fire zone. ``dud_harm`` and
``debris_harm`` (harm of one dud round, and of a debris field, relative to a threat's
impact) are our assumptions.
"""

from __future__ import annotations

import numpy as np

from opencram.engage.context import EngageContext
from opencram.engage.firecontrol import GunModel, Intercept, ThreatMotion, round_params
from opencram.engage.records import Footprint
from opencram.geo import LocalFrame, unit_vector_from_az_el
from opencram.physics.environment import Environment
from opencram.physics.trajectory import fly
from opencram.track.models import BallisticModel, propagate_to_height
from opencram.warn.alerts import zone_probabilities
from opencram.warn.zones import ZoneSet

DEBRIS_95_SIGMAS = 2.4477  # a 2-D Gaussian holds 95 % within this many sigmas


def dud_impacts(gun, az_rad, el_rad, env: Environment | None = None):
    """Ground points (n, 2) where nominal duds of bursts at (az, el) (n,) land, and the
    spread radius (n,) from dispersion."""
    spec = gun.spec
    n = np.size(az_rad)
    params = round_params(spec, n)
    vel = unit_vector_from_az_el(az_rad, el_rad).reshape(n, 3) * spec.muzzle_velocity_mps
    pos = np.tile(gun.pos_enu_m, (n, 1))
    f = fly(pos, vel, params, env or Environment(), dt_s=0.2, max_time_s=300.0)
    pts = np.where(f.landed[:, None], f.impact_pos_enu_m[:, :2], np.nan)
    ground_range = np.linalg.norm(pts - gun.pos_enu_m[:2], axis=1)
    return pts, ground_range * spec.dispersion_mrad * 1e-3 * 3.0


def debris_impacts(model: BallisticModel, x_at_intercept: np.ndarray):
    """Where the threat's debris meets the ground (n, 2), flying on from the intercept."""
    out, _, ok = propagate_to_height(model, x_at_intercept, 0.0)
    return np.where(ok[:, None], out[:, :2], np.nan)


def touches(zones: ZoneSet, zone_idx: np.ndarray, pts: np.ndarray, radius) -> np.ndarray:
    """(n, z): does the disc of ``radius`` around each point reach each zone? NaN points
    (nothing lands) touch nothing."""
    n = pts.shape[0]
    out = np.zeros((n, zone_idx.size), dtype=bool)
    ok = np.all(np.isfinite(pts), axis=1)
    if ok.any() and zone_idx.size:
        d = zones.distance_m(pts[ok, 0], pts[ok, 1])[:, zone_idx]
        out[ok] = d <= np.broadcast_to(np.asarray(radius, dtype=float), (n,))[ok][:, None]
    return out


def footprint_probabilities(
    zones: ZoneSet, zone_idx: np.ndarray, pts: np.ndarray, sigma_m, cov_extra=None
) -> np.ndarray:
    """(n, z): the chance that something scattered around each point (isotropic Gaussian
    of ``sigma_m``, plus the 2x2 ``cov_extra`` (n, 2, 2) for the uncertainty of the point
    itself) lands in each zone. NaN points (nothing lands) give zero."""
    n = pts.shape[0]
    out = np.zeros((n, zone_idx.size))
    ok = np.all(np.isfinite(pts), axis=1)
    if not ok.any() or not zone_idx.size:
        return out
    sigma = np.broadcast_to(np.asarray(sigma_m, dtype=float), (n,))[ok]
    cov = sigma[:, None, None] ** 2 * np.eye(2)
    if cov_extra is not None:
        cov = cov + np.asarray(cov_extra, dtype=float)[ok]
    out[ok] = zone_probabilities(zones, zone_idx, pts[ok], cov, np.zeros(int(ok.sum())))
    return out


def footprints(frame: LocalFrame, pts: np.ndarray, radius, kind: str) -> list[list[Footprint]]:
    """Footprint records (one list per point, empty where nothing lands) from ground
    points (n, 2) in ENU, discs of ``radius`` (m, scalar or (n,))."""
    n = pts.shape[0]
    radius = np.broadcast_to(np.asarray(radius, dtype=float), (n,))
    enu = np.column_stack([np.nan_to_num(pts), np.zeros(n)])
    lat, lon, _ = frame.to_geodetic(enu)
    good = np.all(np.isfinite(pts), axis=1)
    return [
        [
            Footprint(
                kind=kind,
                lat=round(float(lat[i]), 7),
                lon=round(float(lon[i]), 7),
                radius_m=round(float(radius[i]), 1),
            )
        ]
        if good[i]
        else []
        for i in range(n)
    ]


def _no_fire_reasons(zones: ZoneSet, duds, spread, debris, debris_radius_m) -> dict[int, str]:
    """Per candidate (index into the feasible ones) whose dud or debris disc touches a
    no-fire zone: the reason to withhold (debris wins over duds, as it is checked last)."""
    nofire = zones.indices("no-fire")
    out: dict[int, str] = {}
    for pts, rad, what in ((duds, spread, "dud rounds"), (debris, debris_radius_m, "debris")):
        hit = touches(zones, nofire, pts, rad)
        for j in np.flatnonzero(hit.any(axis=1)):
            name = zones.names[nofire[np.flatnonzero(hit[j])[0]]]
            out[int(j)] = f"withheld: {what} would fall on no-fire zone {name}"
    return out


def _expected_harm(ctx: EngageContext, gun: GunModel, n_rounds, duds, spread, debris, where_cov):
    """Expected harm (j,) to the protected zones of firing: duds plus debris."""
    zones, cfg = ctx.zones, ctx.config
    protected = zones.indices("protected")
    values = zones.values[protected]
    p_dud = footprint_probabilities(zones, protected, duds, spread / 3.0)
    p_debris = footprint_probabilities(
        zones, protected, debris, cfg.debris_radius_m / DEBRIS_95_SIGMAS, where_cov
    )
    return (
        p_dud * (n_rounds * gun.spec.dud_rate * cfg.dud_harm) + p_debris * cfg.debris_harm
    ) @ values


def collateral_rule(
    ctx: EngageContext,
    gun: GunModel,
    sol: Intercept,
    motion: ThreatMotion,
    x: np.ndarray,
    t_state: np.ndarray,
    n_rounds: int,
    p_protected: np.ndarray,
    ok: np.ndarray,
    where_cov: np.ndarray,
) -> tuple[list[str], list[list[Footprint]]]:
    """Per candidate intercept ``sol`` of threats with states ``x`` (n, 7) at ``t_state``
    (n,): a reason to withhold fire (str) or '' (the rule of this module), and its dud and
    debris footprints. Only candidates with ``ok`` are judged. ``p_protected`` (n, z) are
    the threats' protected-zone probabilities; ``where_cov`` (n, 2, 2) the uncertainty of
    where each threat's path meets the ground."""
    out = [""] * len(ok)
    prints: list[list[Footprint]] = [[] for _ in range(len(ok))]
    idx = np.flatnonzero(ok)
    if not idx.size:
        return out, prints
    cfg = ctx.config
    duds, spread = dud_impacts(gun, sol.az_rad[idx], sol.el_rad[idx], ctx.env)
    x_int = ThreatMotion(motion.ballistic, motion.straight[idx]).propagate_state(
        x[idx], sol.t_s[idx] - t_state[idx]
    )
    debris = debris_impacts(motion.ballistic, x_int)
    if gun.spec.dud_rate > 0:
        dud_fp = footprints(ctx.frame, duds, spread, "dud")
    else:  # every round self-destructs: no dud footprint
        dud_fp = [[] for _ in idx]
    debris_fp = footprints(ctx.frame, debris, cfg.debris_radius_m, "debris")
    for j, i in enumerate(idx):
        prints[i] = dud_fp[j] + debris_fp[j]
    for j, reason in _no_fire_reasons(ctx.zones, duds, spread, debris, cfg.debris_radius_m).items():
        out[idx[j]] = reason
    harm_fire = _expected_harm(ctx, gun, n_rounds, duds, spread, debris, where_cov[idx])
    harm_hold = p_protected[idx] @ ctx.zones.values[ctx.zones.indices("protected")]
    for j in np.flatnonzero(harm_fire > harm_hold):
        if not out[idx[j]]:
            out[idx[j]] = (
                f"withheld: expected harm of duds and debris ({harm_fire[j]:.2f}) exceeds "
                f"that of the threat landing ({harm_hold[j]:.2f})"
            )
    return out, prints
