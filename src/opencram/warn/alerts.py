"""Localised warning: the probability that a threat lands in each warning zone, and the
alert state of every zone.

For each ballistic track's latest impact prediction (mean and 2-D covariance on the ground)
the probability of landing inside a zone grown by the threat's lethal radius is the share of
a fixed set of quasi-random Gaussian samples (a 511-point Sobol sequence, no randomness)
that fall inside the grown polygon. A zone's probability combines its threats as
``1 - prod(1 - p)``. A zone is alerted when that probability reaches the threshold; it
stays alerted while it stays above half the threshold (hysteresis) and is cleared (the
all-clear) when it falls below that, once the threats that raised it have landed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache

import numpy as np
import shapely
from scipy.stats import norm, qmc

from opencram.physics.threats import library
from opencram.warn.zones import ZoneSet

N_SAMPLES = 511
DEFAULT_THRESHOLD = 0.02


@cache
def _unit_samples() -> np.ndarray:
    """(N, 2) standard normal points from an unscrambled Sobol sequence (deterministic)."""
    u = qmc.Sobol(d=2, scramble=False).random_base2(9)[1:]  # 511 points; skip the origin
    return norm.ppf(np.clip(u, 1e-9, 1 - 1e-9))


def lethal_radius_m(track_class: str) -> float:
    """Lethal radius for a track class: the largest of the library's threats of that
    category (all ballistic threats for ``unknown``)."""
    lib = [t for t in library().values() if t.is_ballistic]
    same = [t.lethal_radius_m for t in lib if t.category == track_class]
    return float(max(same or [t.lethal_radius_m for t in lib]))


def zone_probabilities(
    zones: ZoneSet,
    zone_idx: np.ndarray,
    mean_en: np.ndarray,
    cov_en: np.ndarray,
    radius_m: np.ndarray,
) -> np.ndarray:
    """P(impact inside zone grown by the lethal radius) for each track (n) and each zone
    of ``zone_idx`` (z): (n, z)."""
    n = mean_en.shape[0]
    out = np.zeros((n, zone_idx.size))
    if n == 0 or zone_idx.size == 0:
        return out
    chol = np.linalg.cholesky(cov_en + np.eye(2) * 1e-6)
    pts = mean_en[:, None, :] + np.einsum("nij,kj->nki", chol, _unit_samples())  # (n, K, 2)
    for col, z in enumerate(zone_idx):
        for r in np.unique(radius_m):
            sel = np.flatnonzero(radius_m == r)
            poly = _grown(zones, int(z), float(r))
            flat = pts[sel].reshape(-1, 2)
            inside = shapely.contains_xy(poly, flat[:, 0], flat[:, 1]).reshape(sel.size, -1)
            out[sel, col] = inside.mean(axis=1)
    return out


_GROWN: dict[tuple[int, int, float], object] = {}


def _grown(zones: ZoneSet, z: int, r: float):
    key = (id(zones), z, r)
    if key not in _GROWN:
        g = zones.polygons_enu[z].buffer(r)
        shapely.prepare(g)
        _GROWN[key] = g
    return _GROWN[key]


@dataclass
class AlertBoard:
    """Alert state of the warning zones over time."""

    zones: ZoneSet
    threshold: float = DEFAULT_THRESHOLD
    zone_idx: np.ndarray = field(init=False)
    active: np.ndarray = field(init=False)
    last_p: np.ndarray = field(init=False)
    history_t: list = field(default_factory=list)
    history_p: list = field(default_factory=list)

    def __post_init__(self) -> None:
        self.zone_idx = np.array(
            [i for i, k in enumerate(self.zones.kinds) if k == "warning"], dtype=np.intp
        )
        self.active = np.zeros(self.zone_idx.size, dtype=bool)
        self.last_p = np.zeros(self.zone_idx.size)

    @property
    def names(self) -> list[str]:
        return [self.zones.names[i] for i in self.zone_idx]

    def step(self, t_s, p_track_zone, track_ids, tti_s):
        """New zone probabilities from the current predictions (tracks × warning zones).

        Returns a list of (zone name, state, probability, track ids, time to impact)."""
        p_zone = (
            1.0 - np.prod(1.0 - p_track_zone, axis=0)
            if len(track_ids)
            else np.zeros(self.zone_idx.size)
        )
        self.history_t.append(float(t_s))
        self.history_p.append(p_zone.copy())
        out = []
        for z in range(self.zone_idx.size):
            if not self.active[z] and p_zone[z] >= self.threshold:
                self.active[z] = True
                state = "raised"
            elif self.active[z] and p_zone[z] < 0.5 * self.threshold:
                self.active[z] = False
                state = "cleared"
            elif self.active[z] and abs(p_zone[z] - self.last_p[z]) >= 0.05:
                state = "updated"
            else:
                continue
            contributing = [int(track_ids[i]) for i in np.flatnonzero(p_track_zone[:, z] > 0)]
            tti = None
            if contributing:
                tti = float(np.min(np.asarray(tti_s)[p_track_zone[:, z] > 0]))
            out.append((self.names[z], state, p_zone[z], contributing, tti))
            self.last_p[z] = p_zone[z]
        return out
