"""The drone corridor: where a guided drone may strike soon.

A drone has no ballistic impact point, so the ground under its straight-line path over the
next ``DRONE_HORIZON_S`` is taken as the threatened area: a Gaussian with the spread of a
uniform segment along its track (L²/12) and ``DRONE_CROSS_SIGMA_M`` across it, plus the
track's own position uncertainty.
"""

from __future__ import annotations

import numpy as np

from opencram.predict.prediction import Prediction

DRONE_HORIZON_S = 60.0  # how far ahead a drone's path is taken as threatened (s)
DRONE_CROSS_SIGMA_M = 100.0  # spread across the drone's path (m), our assumption


def drone_corridor(
    track_id: int, x: np.ndarray, p: np.ndarray, measured_s: float, t_s: float
) -> Prediction:
    """The corridor of a drone track with state ``x`` (7,) and covariance ``p`` (7, 7)
    measured at ``measured_s``, as seen at ``t_s``: valid until ``t_s +
    DRONE_HORIZON_S`` (its ``impact_s``)."""
    v = x[3:5]
    speed = float(np.hypot(*v))
    along = v / speed if speed > 1e-6 else np.array([0.0, 1.0])
    length = speed * DRONE_HORIZON_S
    mean = x[:2] + 0.5 * DRONE_HORIZON_S * v
    outer = np.outer(along, along)
    cov = (length**2 / 12.0) * outer + DRONE_CROSS_SIGMA_M**2 * (np.eye(2) - outer)
    cov = cov + p[:2, :2]
    return Prediction(
        track_id=int(track_id),
        track_class="drone",
        measured_s=float(measured_s),
        impact_s=t_s + DRONE_HORIZON_S,
        impact_en_m=mean,
        impact_cov_en_m2=cov,
    )
