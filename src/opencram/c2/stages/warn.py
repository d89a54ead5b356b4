"""The warn stage: zone alerts from the current impact predictions (the rules are
``opencram.warn``).

A track leaves the zone alerts in the tick it is dropped (the predict stage forgets its
prediction in that tick, before warning) and in the tick its kill is confirmed
(:meth:`WarnStage.confirm_kills`, fed by the engage stage's ``EngagementResult`` with
``killed``, which the engine resolves before warning): from then on its prediction, which
the predict stage keeps until the track is dropped, no longer contributes. It contributes
again only from a prediction measured more than ``kill_look_s`` after the kill (plots show
the threat still flying: the kill was not the tracked round's). The engine sets
``kill_look_s`` to the engage stage's ``KILL_LOOK_S`` plus the longest radar scan period,
since a simulated scan is drawn whole at its start and may show a round destroyed during
the scan.
"""

from __future__ import annotations

import numpy as np

from opencram.c2.events import Event, ZoneAlert
from opencram.c2.stages.engage import KILL_LOOK_S
from opencram.predict.prediction import Prediction
from opencram.warn.alerts import AlertBoard
from opencram.warn.cache import ZoneProbabilityCache
from opencram.warn.zones import ZoneSet


def time_to_impact_s(pred: Prediction, t_s: float) -> float:
    """A prediction's time to impact from ``t_s``; NaN for a drone's corridor, whose end
    is the horizon of its path, not an impact."""
    return np.nan if pred.track_class == "drone" else pred.impact_s - t_s


class WarnStage:
    """Alerts to the warning ``zones`` at probability ``threshold``; a destroyed track
    counts again only from a prediction measured ``kill_look_s`` after its kill."""

    def __init__(self, zones: ZoneSet, threshold: float, kill_look_s: float = KILL_LOOK_S) -> None:
        self.board = AlertBoard(zones, threshold)
        self.kill_look_s = float(kill_look_s)
        self.cache = ZoneProbabilityCache(zones, self.board.zone_idx)
        self.destroyed: dict[int, float] = {}  # track id -> tick its kill was confirmed

    def confirm_kills(self, t_s: float, track_ids: list[int]) -> None:
        """The tracks whose kill was confirmed at tick ``t_s``."""
        for tid in track_ids:
            self.destroyed[int(tid)] = float(t_s)

    def contributing(self, current: dict[int, Prediction]) -> dict[int, Prediction]:
        """The predictions of ``current`` that may contribute to an alert: not those of a
        destroyed track made before the kill was looked at (the module's rule)."""
        self.destroyed = {k: v for k, v in self.destroyed.items() if k in current}
        return {
            k: v
            for k, v in current.items()
            if k not in self.destroyed or v.measured_s > self.destroyed[k] + self.kill_look_s
        }

    def step(self, t_s: float, current: dict[int, Prediction]) -> list[Event]:
        """ZoneAlert events for the predictions ``current`` (track id -> prediction)."""
        current = self.contributing(current)
        ids = sorted(current)
        if ids:
            tti = np.array([time_to_impact_s(current[i], t_s) for i in ids])
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
