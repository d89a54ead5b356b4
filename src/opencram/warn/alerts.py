"""Localised warning: the probability that a threat lands in each warning zone, and the
alert state of every zone.

For each ballistic track's latest impact prediction (mean and 2-D covariance on the ground)
the probability of landing inside a zone grown by the threat's lethal radius is the share of
a fixed set of quasi-random Gaussian samples (a 511-point Sobol sequence, no randomness)
that fall inside the grown polygon. A zone's probability combines its threats as
``1 - prod(1 - p)``. A zone is alerted when that probability reaches the threshold; it
stays alerted while it stays above half the threshold (hysteresis) and is cleared (the
all-clear) when it falls below that, once the threats that raised it have landed.

An alert that is up says what is true now. Its *contributors* are the tracks with a
non-zero probability of landing in the zone; its *time to impact* is that of the
contributor whose predicted impact comes first and is still ahead (if every contributor's
predicted impact has passed, within the prediction's grace, the latest of them: a negative
time to impact means overdue). A contributor without an impact time (a drone, whose
corridor ends at a horizon, not an impact) is listed but gives no time; an alert of such
contributors only has none (None). It is re-sent (state ``updated``) on the first tick that

- its contributors differ from those it was last sent with (a track joins, or leaves:
  landed, dropped, destroyed, marked friendly), or
- its probability differs by at least ``P_STEP`` from the one last sent, or
- its predicted impact time (tick time + time to impact) differs by more than
  ``IMPACT_STEP_S`` from the one last sent. A countdown that simply runs down with the
  clock is no change: a consumer counts down itself from ``t_s + time_to_impact_s``.

When the last contributor leaves, the zone's probability is 0 and the alert clears.
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
P_STEP = 0.05  # an alert up is re-sent when its probability moves by at least this
IMPACT_STEP_S = 1.0  # ... or when its predicted impact time moves by more than this (s)


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


def next_impact(p_track: np.ndarray, tti_s: np.ndarray) -> tuple[np.ndarray, float | None]:
    """The contributors (row indices with ``p_track > 0``) and the alert's time to impact:
    the soonest among the contributors' times ``tti_s`` still ahead (>= 0), else the latest
    of them (all overdue); None with no contributor or none with a time (NaN: a drone)."""
    rows = np.flatnonzero(p_track > 0)
    t = np.asarray(tti_s, dtype=float)[rows]
    t = t[np.isfinite(t)]
    if not t.size:
        return rows, None
    ahead = t[t >= 0]
    return rows, float(ahead.min() if ahead.size else t.max())


@dataclass(frozen=True)
class _Sent:
    """What an alert was last sent with."""

    probability: float
    track_ids: tuple[int, ...]
    impact_s: float | None  # predicted impact time: event time + time to impact

    def differs(self, p: float, track_ids: tuple[int, ...], impact_s: float | None) -> bool:
        """Is an alert of ``p``, ``track_ids`` and predicted impact time ``impact_s`` a
        change worth re-sending (the module's rule)?"""
        if track_ids != self.track_ids or abs(p - self.probability) >= P_STEP:
            return True
        if impact_s is None or self.impact_s is None:
            return impact_s != self.impact_s
        return abs(impact_s - self.impact_s) > IMPACT_STEP_S


@dataclass
class AlertBoard:
    """Alert state of the warning zones over time."""

    zones: ZoneSet
    threshold: float = DEFAULT_THRESHOLD
    zone_idx: np.ndarray = field(init=False)
    active: np.ndarray = field(init=False)
    history_t: list = field(default_factory=list)
    history_p: list = field(default_factory=list)
    sent: list = field(init=False)  # per warning zone: what its alert was last sent with

    def __post_init__(self) -> None:
        self.zone_idx = np.array(
            [i for i, k in enumerate(self.zones.kinds) if k == "warning"], dtype=np.intp
        )
        self.active = np.zeros(self.zone_idx.size, dtype=bool)
        self.sent = [_Sent(0.0, (), None)] * self.zone_idx.size

    @property
    def names(self) -> list[str]:
        return [self.zones.names[i] for i in self.zone_idx]

    def _transition(self, z: int, p: float) -> str | None:
        """Raise or clear zone ``z`` at probability ``p`` (the hysteresis), or None."""
        if not self.active[z] and p >= self.threshold:
            self.active[z] = True
            return "raised"
        if self.active[z] and p < 0.5 * self.threshold:
            self.active[z] = False
            return "cleared"
        return None

    def step(self, t_s, p_track_zone, track_ids, tti_s):
        """New zone probabilities from the current predictions (tracks × warning zones),
        with each track's id and time to impact from ``t_s``.

        Returns a list of (zone name, state, probability, track ids, time to impact) for
        the alerts raised, cleared or re-sent this tick (the module's rule)."""
        p_zone = (
            1.0 - np.prod(1.0 - p_track_zone, axis=0)
            if len(track_ids)
            else np.zeros(self.zone_idx.size)
        )
        self.history_t.append(float(t_s))
        self.history_p.append(p_zone.copy())
        out = []
        for z in range(self.zone_idx.size):
            rows, tti = next_impact(p_track_zone[:, z], tti_s)
            tids = tuple(int(track_ids[i]) for i in rows)
            p = float(p_zone[z])
            impact_s = None if tti is None else float(t_s) + tti
            state = self._transition(z, p)
            if state is None and self.active[z] and self.sent[z].differs(p, tids, impact_s):
                state = "updated"
            if state is None:
                continue
            out.append((self.names[z], state, p_zone[z], list(tids), tti))
            self.sent[z] = _Sent(p, tids, impact_s)
        return out
