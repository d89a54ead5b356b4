"""The prediction record the predict stage hands to warning and engagement, and the rule
that turns a batch of confirmed ballistic tracks into such records.

A :class:`Prediction` is where and when a track's threat comes down (a 2-D Gaussian on the
ground, east-north in the local frame) and, for ballistic tracks, where and when it was
launched. Warning reads the impact, engagement the impact time and class, the run's
prediction log (``RunResult.predictions``) both, with the truth for scoring.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from opencram.predict.ground import predict_impact, predict_origin
from opencram.track.models import BallisticModel

# a prediction is kept (and its zone alert held) this long after its predicted impact
# time, so an alert is never cleared just before a round that lands a little late
IMPACT_GRACE_S = 2.0
# A track is predicted ballistically (and zone-scored and warned, weighted by this
# probability) unless its ballistic hypothesis is ruled out with high confidence: its
# probability (track.classify.ballistic_probability) at or under 0.05, the usual 5 %
# significance. A lost threat is never warned; a slow or level track that the IMM and its
# speed both rule out costs nothing, and one in between is warned at its weight.
MIN_BALLISTIC_PROB = 0.05


@dataclass(frozen=True, eq=False)
class Prediction:
    """One prediction for one track, made from its update at ``measured_s`` (s).

    ``impact_s`` is the predicted impact time (a drone: the end of its corridor horizon),
    ``impact_en_m`` (2,) and ``impact_cov_en_m2`` (2, 2) the ground point's mean and
    covariance. ``usable``: the impact lies ahead and every cubature point reached the
    ground, so warning and engagement may use it; ``impact_ok``: every point reached the
    ground. The origin (launch point and time) is known for ballistic tracks only
    (``origin_ok``). ``truth_id`` is the plot's true object in simulation (-1 unknown).
    ``ballistic_prob`` is the probability that the track is a ballistic threat at all
    (1 for a drone corridor): warning weighs the zone probabilities by it."""

    track_id: int
    track_class: str
    measured_s: float
    impact_s: float
    impact_en_m: np.ndarray
    impact_cov_en_m2: np.ndarray
    usable: bool = True
    impact_ok: bool = True
    origin_s: float | None = None
    origin_en_m: np.ndarray | None = None
    origin_cov_en_m2: np.ndarray | None = None
    origin_ok: bool = False
    truth_id: int = -1
    ballistic_prob: float = 1.0
    impact_up_m: float = 0.0  # ENU height of the ground at the impact (0: flat at the site)
    origin_up_m: float = 0.0  # ENU height of the ground at the origin

    def expired(self, t_s: float) -> bool:
        """Has the threat landed (with the grace) by ``t_s``?"""
        return self.impact_s + IMPACT_GRACE_S <= t_s


def predicted_ballistically(ballistic_prob: float) -> bool:
    """Is a confirmed track whose ballistic hypothesis has probability ``ballistic_prob``
    predicted to the ground as a ballistic threat (not ruled out, see MIN_BALLISTIC_PROB)?"""
    return ballistic_prob > MIN_BALLISTIC_PROB


def ballistic_predictions(
    model: BallisticModel,
    track_id: np.ndarray,
    track_class: list[str],
    measured_s: np.ndarray,
    truth_id: np.ndarray,
    x: np.ndarray,
    p: np.ndarray,
    ballistic_prob: np.ndarray | None = None,
    terrain=None,
) -> list[Prediction]:
    """Impact and origin predictions of tracks with states ``x`` (n, 7) and covariances
    ``p`` (n, 7, 7) measured at ``measured_s`` (n,), batched; ``ballistic_prob`` (n,) the
    probability of each track's ballistic hypothesis (None: 1). ``terrain``: the ground
    both are flown to (None: flat at the site altitude)."""
    w = np.ones(x.shape[0]) if ballistic_prob is None else np.asarray(ballistic_prob, float)
    imp = predict_impact(model, x, p, terrain=terrain)
    org = predict_origin(model, x, p, terrain=terrain)
    out = []
    for k in range(x.shape[0]):
        t = float(measured_s[k])
        out.append(
            Prediction(
                track_id=int(track_id[k]),
                track_class=track_class[k],
                measured_s=t,
                impact_s=t + float(imp.dt_s[k]),
                impact_en_m=imp.pos_en_m[k],
                impact_cov_en_m2=imp.cov_en_m2[k],
                usable=bool(imp.ok[k] and imp.dt_s[k] > 0),
                impact_ok=bool(imp.ok[k]),
                origin_s=t + float(org.dt_s[k]),
                origin_en_m=org.pos_en_m[k],
                origin_cov_en_m2=org.cov_en_m2[k],
                origin_ok=bool(org.ok[k]),
                truth_id=int(truth_id[k]),
                ballistic_prob=float(w[k]),
                impact_up_m=float(imp.up_m[k]),
                origin_up_m=float(org.up_m[k]),
            )
        )
    return out
