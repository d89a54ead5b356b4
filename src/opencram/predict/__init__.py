"""Predict: the fifth link of the chain, where and when each tracked threat comes down and
where it came from. Impact point and point of origin of ballistic tracks with calibrated
95 % ellipses, the drone corridor, and the prediction record handed to warn and engage.

- :mod:`~opencram.predict.ground`: a track's Gaussian state carried to the ground (impact)
  or back to the launch altitude (origin) with the cubature rule, batched over tracks;
- :mod:`~opencram.predict.prediction`: the :class:`Prediction` record and the rule turning
  confirmed ballistic tracks into predictions;
- :mod:`~opencram.predict.corridor`: the ground under a drone's next seconds of flight as
  its threatened area;
- :mod:`~opencram.predict.crb`: the posterior Cramér-Rao bound of the impact point along a
  true path, the information limit the predictions are measured against (benchmarks).

Exported here, lazily (:mod:`opencram.lazy`): importing one module of predict does not
load the others.
"""

from opencram.lazy import lazy_exports

_EXPORTS = {
    "DRONE_CROSS_SIGMA_M": "opencram.predict.corridor",
    "DRONE_HORIZON_S": "opencram.predict.corridor",
    "drone_corridor": "opencram.predict.corridor",
    "impact_bound": "opencram.predict.crb",
    "state_bound": "opencram.predict.crb",
    "CHI2_2D_95": "opencram.predict.ground",
    "GroundPrediction": "opencram.predict.ground",
    "ellipse95": "opencram.predict.ground",
    "inside_ellipse95": "opencram.predict.ground",
    "predict_impact": "opencram.predict.ground",
    "predict_origin": "opencram.predict.ground",
    "IMPACT_GRACE_S": "opencram.predict.prediction",
    "MIN_BALLISTIC_PROB": "opencram.predict.prediction",
    "Prediction": "opencram.predict.prediction",
    "ballistic_predictions": "opencram.predict.prediction",
    "predicted_ballistically": "opencram.predict.prediction",
}
__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
