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

from opencram.engage.firecontrol import round_params
from opencram.geo import unit_vector_from_az_el
from opencram.physics.environment import Environment
from opencram.physics.trajectory import fly
from opencram.track.models import BallisticModel, propagate_to_height
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
    from opencram.warn.alerts import zone_probabilities

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
