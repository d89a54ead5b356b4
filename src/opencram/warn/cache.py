"""Zone probabilities per track, kept between ticks: a track's row is recomputed only when
its prediction changes (a new :class:`~opencram.predict.prediction.Prediction` object),
not on every tick. Used by the warn and engage stages and the live advice.

Each row is weighted by the prediction's ``ballistic_prob``: the probability that the
threat lands in a zone is P(it is a ballistic threat) x P(it lands there if it is one).
A track whose ballistic hypothesis is in doubt is still warned, at its weight (issue 13:
no lost threat). The engage decision reads the same weighted rows, on purpose: firing
spends rounds and puts shells in the air near friendly aircraft (the helicopter of
green-zone), so a gun should answer the joint probability that a *threat* is coming into
a protected zone, not the zone geometry of a track that is probably no threat; for a
round the IMM is sure of, the weight is 1 and nothing changes."""

from __future__ import annotations

from typing import Protocol

import numpy as np

from opencram.warn.alerts import lethal_radius_m, zone_probabilities
from opencram.warn.zones import ZoneSet


class ImpactEstimate(Protocol):
    """What the cache reads of a prediction (``opencram.predict.prediction.Prediction``):
    the impact's mean (2,) and covariance (2, 2) in east-north metres, the class and the
    probability of the ballistic hypothesis (the row's weight)."""

    impact_en_m: np.ndarray
    impact_cov_en_m2: np.ndarray
    track_class: str
    ballistic_prob: float


class ZoneProbabilityCache:
    """Per track id: the prediction its row was computed from and the row (z,) of the
    probabilities that the threat lands in the zones ``zone_idx`` (grown by its lethal
    radius), weighted by its ``ballistic_prob``."""

    def __init__(self, zones: ZoneSet, zone_idx: np.ndarray) -> None:
        self.zones = zones
        self.zone_idx = zone_idx
        self._rows: dict[int, tuple[ImpactEstimate, np.ndarray]] = {}

    def rows(self, current: dict[int, ImpactEstimate], ids: list[int]) -> np.ndarray:
        """(len(ids), z) probabilities for the tracks ``ids`` of ``current``."""
        stale = [i for i in ids if self._rows.get(i, (None,))[0] is not current[i]]
        if stale:
            mean = np.array([current[i].impact_en_m for i in stale])
            cov = np.array([current[i].impact_cov_en_m2 for i in stale])
            radius = np.array([lethal_radius_m(current[i].track_class) for i in stale])
            weight = np.array([current[i].ballistic_prob for i in stale])
            p = zone_probabilities(self.zones, self.zone_idx, mean, cov, radius)
            p = p * weight[:, None]
            for k, i in enumerate(stale):
                self._rows[i] = (current[i], p[k])
        for i in [i for i in self._rows if i not in current]:
            del self._rows[i]
        return np.array([self._rows[i][1] for i in ids]).reshape(len(ids), self.zone_idx.size)
