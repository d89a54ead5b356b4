"""Regression guards (expected values come from the rules themselves, not an authority)
for issue 13's no-lost-threat rules: the predict stage keeps a track's last ballistic
prediction through a reclassification, releases it only when the track is confirmed
non-ballistic, and the zone cache weighs rows by the ballistic probability."""

import numpy as np
import shapely
from shapely.geometry import Polygon

from opencram.c2.stages.predict import NON_BALLISTIC_CONFIRM_UPDATES, PredictStage
from opencram.c2.stages.track import Classified
from opencram.geo import LocalFrame
from opencram.predict.prediction import MIN_BALLISTIC_PROB, Prediction
from opencram.track.classify import CLASSES, class_probabilities
from opencram.track.models import BallisticModel
from opencram.track.tracks import TrackUpdate
from opencram.warn.cache import ZoneProbabilityCache
from opencram.warn.zones import ZoneSet

FRAME = LocalFrame(33.3, 44.4, 0.0)


def _update(t_s, x):
    return TrackUpdate(
        track_id=7,
        t_s=t_s,
        x=np.asarray(x, float),
        p=np.eye(7) * 25.0,
        confirmed=True,
        sensor=0,
        truth_id=-1,
        mode_prob=(0.9, 0.05, 0.05),
        n_updates=10,
    )


def _classified(t_s, p_ball, cls="rocket"):
    x = [0.0, 0.0, 1500.0 - 100.0 * t_s, 150.0, 0.0, -100.0, 1.0]
    return Classified(_update(t_s, x), cls, p_ball, dict.fromkeys(CLASSES, 0.0))


def test_reclassified_track_keeps_its_prediction_until_confirmed_non_ballistic():
    stage = PredictStage(FRAME, BallisticModel())
    stage.step(1.0, [_classified(1.0, 0.9)], [])
    first = stage.current[7]
    assert first.origin_s is not None and first.ballistic_prob == 0.9
    for k in range(NON_BALLISTIC_CONFIRM_UPDATES - 1):
        stage.step(2.0 + k, [_classified(2.0 + k, 0.01, "drone")], [])
        assert stage.current[7] is first  # kept, not replaced by a drone corridor
    t = 1.0 + NON_BALLISTIC_CONFIRM_UPDATES
    stage.step(t, [_classified(t, 0.01, "drone")], [])
    assert stage.current[7].origin_s is None  # released: the drone corridor
    assert len(stage.log) == 1


def test_a_doubtful_but_not_ruled_out_track_is_predicted_at_its_weight():
    stage = PredictStage(FRAME, BallisticModel())
    stage.step(1.0, [_classified(1.0, 2 * MIN_BALLISTIC_PROB, "aircraft")], [])
    assert stage.current[7].ballistic_prob == 2 * MIN_BALLISTIC_PROB


def test_zone_rows_are_weighted_by_the_ballistic_probability():
    square = Polygon([(-500, -500), (500, -500), (500, 500), (-500, 500)])
    shapely.prepare(square)
    zones = ZoneSet(("z",), ("warning",), np.ones(1), (square,), ((),))
    cache = ZoneProbabilityCache(zones, np.array([0]))
    kw = dict(
        track_class="rocket",
        measured_s=0.0,
        impact_s=10.0,
        impact_en_m=np.zeros(2),
        impact_cov_en_m2=np.eye(2) * 100.0,
    )
    full = Prediction(track_id=1, ballistic_prob=1.0, **kw)
    part = Prediction(track_id=2, ballistic_prob=0.3, **kw)
    p = cache.rows({1: full, 2: part}, [1, 2])
    assert np.isclose(p[1, 0], 0.3 * p[0, 0])


def test_class_probabilities_sum_to_one_and_a_fit_beats_a_slow_speed():
    x = np.array([[0, 0, 500, 20, 0, 5, 1.0], [0, 0, 500, 20, 0, 5, 1.0]])
    mu = np.array([[0.999, 0.0005, 0.0005], [0.5, 0.25, 0.25]])
    cp = class_probabilities(x, np.array([10, 10]), mu)
    assert np.allclose(cp.prob.sum(axis=1), 1.0)
    assert cp.ballistic[0] > 0.5  # a slow speed alone does not overturn a good fit
    assert cp.ballistic[1] <= MIN_BALLISTIC_PROB  # a doubtful slow track is ruled out
