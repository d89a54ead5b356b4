"""The warn stage: zone alerts from the current impact predictions (the rules are
``opencram.warn``)."""

from __future__ import annotations

import numpy as np

from opencram.c2.events import Event, ZoneAlert
from opencram.predict.prediction import Prediction
from opencram.warn.alerts import AlertBoard
from opencram.warn.cache import ZoneProbabilityCache
from opencram.warn.zones import ZoneSet


class WarnStage:
    """Alerts to the warning ``zones`` at probability ``threshold``."""

    def __init__(self, zones: ZoneSet, threshold: float) -> None:
        self.board = AlertBoard(zones, threshold)
        self.cache = ZoneProbabilityCache(zones, self.board.zone_idx)

    def step(self, t_s: float, current: dict[int, Prediction]) -> list[Event]:
        """ZoneAlert events for the predictions ``current`` (track id -> prediction)."""
        ids = sorted(current)
        if ids:
            tti = np.array([current[i].impact_s - t_s for i in ids])
            p = self.cache.rows(current, ids)
        else:
            p = np.zeros((0, self.board.zone_idx.size))
            tti = np.zeros(0)
        return [
            ZoneAlert(
                t_s=round(t_s, 4),
                zone=name,
                state=state,
                probability=round(float(prob), 4),
                track_ids=tids,
                time_to_impact_s=None if t_imp is None else round(t_imp, 3),
            )
            for name, state, prob, tids, t_imp in self.board.step(t_s, p, ids, tti)
        ]
