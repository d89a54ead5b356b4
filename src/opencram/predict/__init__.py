"""Predict: the fifth link of the chain, where and when each tracked threat comes down and
where it came from. Impact point and point of origin of ballistic tracks with calibrated
95 % ellipses, the drone corridor, and the prediction record handed to warn and engage.

- :mod:`~opencram.predict.ground`: a track's Gaussian state carried to the ground (impact)
  or back to the launch altitude (origin) with the cubature rule, batched over tracks;
- :mod:`~opencram.predict.prediction`: the :class:`Prediction` record and the rule turning
  confirmed ballistic tracks into predictions;
- :mod:`~opencram.predict.corridor`: the ground under a drone's next seconds of flight as
  its threatened area.
"""

from opencram.predict.corridor import DRONE_CROSS_SIGMA_M, DRONE_HORIZON_S, drone_corridor
from opencram.predict.ground import (
    CHI2_2D_95,
    GroundPrediction,
    ellipse95,
    inside_ellipse95,
    predict_impact,
    predict_origin,
)
from opencram.predict.prediction import (
    IMPACT_GRACE_S,
    MIN_BALLISTIC_PROB,
    Prediction,
    ballistic_predictions,
    predicted_ballistically,
)

__all__ = [
    "CHI2_2D_95",
    "DRONE_CROSS_SIGMA_M",
    "DRONE_HORIZON_S",
    "IMPACT_GRACE_S",
    "MIN_BALLISTIC_PROB",
    "GroundPrediction",
    "Prediction",
    "ballistic_predictions",
    "drone_corridor",
    "ellipse95",
    "inside_ellipse95",
    "predict_impact",
    "predict_origin",
    "predicted_ballistically",
]
