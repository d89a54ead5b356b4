"""Classification of tracks from kinematics: rocket, mortar, artillery, aircraft, drone,
or unknown. Batched over tracks.

1. Ballistic or not: the IMM's ballistic-mode probability (with a plain ballistic filter,
   every fast track is taken as ballistic), plus speed: nothing ballistic flies below
   60 m/s once it is high enough for the radar.
2. Ballistic tracks are flown back to the ground (:func:`propagate_to_height`) to estimate
   their launch speed and launch elevation. Mortar bombs leave steeply (at least 50
   degrees) and slowly (under 400 m/s). Slower low-angle rounds (under 420 m/s back at the
   ground) are rockets of the 107 mm class. Fast low-angle rounds are either heavy rockets
   (122 mm) or shells: once a rocket has burnt out, the two fly alike (the library's Grad
   and 155 mm shell have nearly the same speed and drag parameter), so the radar
   cross-section estimate decides, against the midpoint between the library's fast rockets
   and shells; without one the class is unknown.
3. Non-ballistic tracks are aircraft when their radar cross-section estimate exceeds 1 m²
   (when known) or when they fly faster than 90 m/s or higher than 1500 m, else drones.
Tracks with fewer than 4 updates are unknown.
"""

from __future__ import annotations

import numpy as np

from opencram.physics.threats import library
from opencram.track.models import BallisticModel, propagate_to_height

CLASSES = ("rocket", "mortar", "artillery", "aircraft", "drone", "unknown")
# the classes that may follow a ballistic path, so are predicted to the ground
BALLISTIC_CLASSES = ("rocket", "mortar", "artillery", "unknown")


def fast_rocket_rcs_split_dbsm() -> float:
    """Midpoint (dBsm) between the mean RCS of the library's fast rockets (burn-out at least
    450 m/s) and of its artillery shells."""
    lib = library().values()
    rockets = [t.rcs_m2 for t in lib if t.is_rocket and (t.burnout_velocity_mps or 0) >= 450]
    shells = [t.rcs_m2 for t in lib if t.category == "artillery"]
    if not rockets or not shells:
        return np.inf
    return float(5.0 * (np.log10(np.mean(rockets)) + np.log10(np.mean(shells))))


def classify(
    x: np.ndarray,
    n_updates: np.ndarray,
    mode_prob: np.ndarray | None = None,
    rcs_dbsm: np.ndarray | None = None,
    model: BallisticModel | None = None,
) -> np.ndarray:
    """Class name per track (object array (n,)) from 7-column states and context."""
    model = model or BallisticModel()
    n = x.shape[0]
    out = np.full(n, "unknown", dtype=object)
    if n == 0:
        return out
    speed = np.linalg.norm(x[:, 3:6], axis=1)
    p_ball = np.ones(n) if mode_prob is None else np.asarray(mode_prob)[:, 0]
    ballistic = (p_ball >= 0.5) & (speed >= 60.0)
    mature = np.asarray(n_updates) >= 4
    b = np.flatnonzero(ballistic & mature)
    if b.size:
        launch, _, ok = propagate_to_height(model, x[b], 0.0, backward=True)
        v0 = np.linalg.norm(launch[:, 3:6], axis=1)
        gamma0 = np.degrees(np.arctan2(launch[:, 5], np.hypot(launch[:, 3], launch[:, 4])))
        rcs = np.full(b.size, np.nan) if rcs_dbsm is None else np.asarray(rcs_dbsm)[b]
        fast = np.where(
            np.isfinite(rcs),
            np.where(rcs >= fast_rocket_rcs_split_dbsm(), "rocket", "artillery"),
            "unknown",
        )
        cls = np.where(
            (gamma0 >= 50.0) & (v0 < 400.0), "mortar", np.where(v0 < 420.0, "rocket", fast)
        )
        out[b] = np.where(ok, cls, "unknown")
    nb = np.flatnonzero(~ballistic & mature)
    if nb.size:
        big = np.zeros(nb.size, dtype=bool)
        if rcs_dbsm is not None:
            r = np.asarray(rcs_dbsm, dtype=float)[nb]
            big = np.isfinite(r) & (r > 0.0)
        fast_or_high = (speed[nb] > 90.0) | (x[nb, 2] > 1500.0)
        out[nb] = np.where(big | fast_or_high, "aircraft", "drone")
    return out
