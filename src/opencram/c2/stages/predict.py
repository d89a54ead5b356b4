"""The predict stage: on every update of a confirmed ballistic track, its impact point and
time and its point of origin (the *respond* report), each with its 95 % ellipse; for a
drone, its corridor. The rules are ``opencram.predict``."""

from __future__ import annotations

import numpy as np

from opencram.c2.events import Ellipse95, Event, ImpactPredicted, OriginEstimated
from opencram.geo import LocalFrame
from opencram.predict.corridor import drone_corridor
from opencram.predict.ground import ellipse95
from opencram.predict.prediction import Prediction, ballistic_predictions, predicted_ballistically
from opencram.track.models import BallisticModel


def _ellipse(cov: np.ndarray) -> Ellipse95:
    a, b, o = ellipse95(cov[None])
    return Ellipse95(
        semi_major_m=round(float(a[0]), 2),
        semi_minor_m=round(float(b[0]), 2),
        orientation_deg=round(float(o[0]), 2),
    )


def impact_event(t_s: float, pred: Prediction, frame: LocalFrame) -> ImpactPredicted:
    """The ImpactPredicted event of a ballistic prediction, stamped ``t_s``."""
    lat, lon, alt = frame.to_geodetic(np.r_[pred.impact_en_m, 0.0])
    c = pred.impact_cov_en_m2
    return ImpactPredicted(
        t_s=round(t_s, 4),
        track_id=pred.track_id,
        track_class=pred.track_class,
        impact_time_s=round(pred.impact_s, 3),
        time_to_impact_s=round(pred.impact_s - t_s, 3),
        lat=round(float(lat), 7),
        lon=round(float(lon), 7),
        alt_m=round(float(alt), 2),
        ellipse95=_ellipse(c),
        cov_en_m2=(round(c[0, 0], 2), round(c[0, 1], 2), round(c[1, 1], 2)),
    )


def origin_event(t_s: float, pred: Prediction, frame: LocalFrame) -> OriginEstimated:
    """The OriginEstimated (respond) event of a ballistic prediction, stamped ``t_s``."""
    lat, lon, alt = frame.to_geodetic(np.r_[pred.origin_en_m, 0.0])
    return OriginEstimated(
        t_s=round(t_s, 4),
        track_id=pred.track_id,
        track_class=pred.track_class,
        launch_time_s=round(pred.origin_s, 3),
        lat=round(float(lat), 7),
        lon=round(float(lon), 7),
        alt_m=round(float(alt), 2),
        ellipse95=_ellipse(pred.origin_cov_en_m2),
    )


class PredictStage:
    """Keeps ``current``, the latest usable prediction per track (what warning and
    engagement read), and ``log``, every ballistic prediction made (the run's prediction
    log). Built from the local ``frame`` and the tracker's ballistic ``model``."""

    def __init__(self, frame: LocalFrame, model: BallisticModel) -> None:
        self.frame = frame
        self.model = model
        self.current: dict[int, Prediction] = {}
        self.log: list[Prediction] = []

    def _expire(self, t_s: float, dropped: list[int]) -> None:
        for tid in dropped:
            self.current.pop(tid, None)
        for tid in [k for k, v in self.current.items() if v.expired(t_s)]:
            del self.current[tid]  # its round has landed

    def step(self, t_s: float, updates: list, dropped: list[int]) -> list[Event]:
        """Predictions from this tick's confirmed (update, class) pairs; ``dropped``: the
        track ids dropped this tick."""
        self._expire(t_s, dropped)
        ball = [(u, c) for u, c in updates if predicted_ballistically(c, u.mode_prob)]
        for u, c in updates:
            if c == "drone":
                self.current[u.track_id] = drone_corridor(u.track_id, u.x, u.p, u.t_s, t_s)
        if not ball:
            return []
        preds = ballistic_predictions(
            self.model,
            np.array([u.track_id for u, _ in ball]),
            [c for _, c in ball],
            np.array([u.t_s for u, _ in ball]),
            np.array([u.truth_id for u, _ in ball]),
            np.array([u.x for u, _ in ball]),
            np.array([u.p for u, _ in ball]),
        )
        events: list[Event] = []
        for pred in preds:
            if pred.usable:
                self.current[pred.track_id] = pred
                events.append(impact_event(t_s, pred, self.frame))
            if pred.origin_ok:
                events.append(origin_event(t_s, pred, self.frame))
            self.log.append(pred)
        return events
