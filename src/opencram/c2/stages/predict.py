"""The predict stage: on every update of a confirmed track whose ballistic hypothesis is not
ruled out (``opencram.predict.prediction.predicted_ballistically``), its impact point and
time and its point of origin (the *respond* report), each with its 95 % ellipse and the
probability of the ballistic hypothesis (warning weighs by it); for a drone, its corridor.
The rules are ``opencram.predict``.

No lost threat: a track's last ballistic prediction is kept (for warning and engagement)
until its impact time has passed or the track is dropped, whatever later updates say of
its class, unless the track is found friendly (class ``friendly``,
``opencram.track.identity``): a friendly track is never predicted, and its kept prediction
is forgotten. It is released early only when the track is confirmed non-ballistic: its
ballistic hypothesis ruled out on NON_BALLISTIC_CONFIRM_UPDATES updates in a row. Only
then may a drone corridor take its place, and only then do its zone probabilities fall
to nothing."""

from __future__ import annotations

import numpy as np

from opencram.c2.events import Ellipse95, Event, ImpactPredicted, OriginEstimated
from opencram.c2.stages.track import Classified
from opencram.geo import LocalFrame
from opencram.predict.corridor import drone_corridor
from opencram.predict.ground import ellipse95
from opencram.predict.prediction import Prediction, ballistic_predictions, predicted_ballistically
from opencram.track.models import BallisticModel

# Updates in a row with the ballistic hypothesis ruled out that confirm a track is not
# ballistic. One such update can be a noise dip of the IMM's mode probability (issue 13
# saw 0.97 -> 0.11 on a real round); three in a row at the usual 0.5 s update interval are
# 1.5 s of a track that neither falls like a round nor flies fast enough for one.
NON_BALLISTIC_CONFIRM_UPDATES = 3


def _ellipse(cov: np.ndarray) -> Ellipse95:
    a, b, o = ellipse95(cov[None])
    return Ellipse95(
        semi_major_m=round(float(a[0]), 2),
        semi_minor_m=round(float(b[0]), 2),
        orientation_deg=round(float(o[0]), 2),
    )


def impact_event(t_s: float, pred: Prediction, frame: LocalFrame) -> ImpactPredicted:
    """The ImpactPredicted event of a ballistic prediction, stamped ``t_s``."""
    lat, lon, alt = frame.to_geodetic(np.r_[pred.impact_en_m, pred.impact_up_m])
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
    lat, lon, alt = frame.to_geodetic(np.r_[pred.origin_en_m, pred.origin_up_m])
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

    def __init__(self, frame: LocalFrame, model: BallisticModel, terrain=None) -> None:
        self.frame = frame
        self.model = model
        self.terrain = terrain  # the ground predictions fly to (None: flat)
        self.current: dict[int, Prediction] = {}
        self.log: list[Prediction] = []
        self._ruled_out: dict[int, int] = {}  # track id -> ruled-out updates in a row

    def _expire(self, t_s: float, dropped: list[int]) -> None:
        for tid in dropped:
            self.current.pop(tid, None)
            self._ruled_out.pop(tid, None)
        for tid in [k for k, v in self.current.items() if v.expired(t_s)]:
            del self.current[tid]  # its round has landed

    def _non_ballistic(self, t_s: float, c: Classified) -> None:
        """A ruled-out update: count it; release a kept ballistic prediction once the track
        is confirmed non-ballistic; a drone's corridor where no ballistic one is kept."""
        tid = c.update.track_id
        n = self._ruled_out.get(tid, 0) + 1
        self._ruled_out[tid] = n
        kept = self.current.get(tid)
        ballistic_kept = kept is not None and kept.origin_s is not None
        if ballistic_kept and n >= NON_BALLISTIC_CONFIRM_UPDATES:
            del self.current[tid]
            ballistic_kept = False
        if c.track_class == "drone" and not ballistic_kept:
            u = c.update
            self.current[tid] = drone_corridor(tid, u.x, u.p, u.t_s, t_s)

    def step(self, t_s: float, updates: list[Classified], dropped: list[int]) -> list[Event]:
        """Predictions from this tick's confirmed, classified updates; ``dropped``: the
        track ids dropped this tick."""
        self._expire(t_s, dropped)
        for c in updates:  # a friendly track is never predicted, so never warned or engaged
            if c.track_class == "friendly":
                self.current.pop(c.update.track_id, None)
        updates = [c for c in updates if c.track_class != "friendly"]
        ball = [c for c in updates if predicted_ballistically(c.ballistic_prob)]
        for c in updates:
            if predicted_ballistically(c.ballistic_prob):
                self._ruled_out.pop(c.update.track_id, None)
            else:
                self._non_ballistic(t_s, c)
        if not ball:
            return []
        preds = ballistic_predictions(
            self.model,
            np.array([c.update.track_id for c in ball]),
            [c.track_class for c in ball],
            np.array([c.update.t_s for c in ball]),
            np.array([c.update.truth_id for c in ball]),
            np.array([c.update.x for c in ball]),
            np.array([c.update.p for c in ball]),
            np.array([c.ballistic_prob for c in ball]),
            terrain=self.terrain,
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
