"""Zone probabilities per track, kept between ticks: a track's row is recomputed only when
its prediction changes (a new :class:`~opencram.predict.prediction.Prediction` object),
not on every tick. Used by the warn and engage stages."""

from __future__ import annotations

from typing import Protocol

import numpy as np

from opencram.warn.alerts import lethal_radius_m, zone_probabilities
from opencram.warn.zones import ZoneSet


class ImpactEstimate(Protocol):
    """What the cache reads of a prediction (``opencram.predict.prediction.Prediction``):
    the impact's mean (2,) and covariance (2, 2) in east-north metres, and the class."""

    impact_en_m: np.ndarray
    impact_cov_en_m2: np.ndarray
    track_class: str


class ZoneProbabilityCache:
    """Per track id: the prediction its row was computed from and the row (z,) of the
    probabilities that the threat lands in the zones ``zone_idx`` (grown by its lethal
    radius)."""

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
            p = zone_probabilities(self.zones, self.zone_idx, mean, cov, radius)
            for k, i in enumerate(stale):
                self._rows[i] = (current[i], p[k])
        for i in [i for i in self._rows if i not in current]:
            del self._rows[i]
        return np.array([self._rows[i][1] for i in ids]).reshape(len(ids), self.zone_idx.size)
