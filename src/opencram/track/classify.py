"""Classification of tracks from kinematics, as a probability per class over
:data:`CLASSES` (rocket, mortar, artillery, aircraft, drone, unknown), batched over tracks.
The most probable class is the track's class.

1. Ballistic or not: the probability of the ballistic hypothesis starts from the IMM's
   ballistic-mode probability (how well the ballistic model fits the plots; with a plain
   ballistic filter every track is assumed ballistic unless it is slow). Speed is soft
   evidence on top, as a likelihood ratio: nothing ballistic flies below about 60 m/s once
   it is high enough for the radar. The ratio never goes below :data:`SLOW_LIKELIHOOD_RATIO`,
   so a slow speed alone never makes a well-fitting ballistic track (mode probability
   above 0.99) non-ballistic; altitude is never evidence against a ballistic fit.
2. The ballistic mass is split among the ballistic classes by flying the track back to the
   ground (:func:`propagate_to_height`) for its launch speed and launch elevation. Mortar
   bombs leave steeply (from :data:`MORTAR_MIN_ELEVATION_DEG`) and slowly (under 400 m/s).
   Slower low-angle rounds (under 420 m/s back at the ground) are rockets of the 107 mm
   class. Fast low-angle rounds are either heavy rockets (122 mm) or shells: once a rocket
   has burnt out, the two fly alike (the library's Grad and 155 mm shell have nearly the
   same speed and drag parameter), so the radar cross-section estimate decides, against the
   midpoint between the library's fast rockets and shells; without one that share is
   ``unknown``. The splits are logistic in each quantity, centred on these bounds. When the
   flight back fails, the ballistic mass is ``unknown``.
3. The non-ballistic mass is split between aircraft and drone: aircraft when the radar
   cross-section estimate exceeds 1 m² (when known) or when the track flies faster than
   90 m/s or higher than 1500 m (logistic), else drone.
4. **No hostile drone without a threat** (when the caller says which tracks threaten a
   protected zone, ``threatens``; the engine and the live service do): a drone is an
   attacker, and a slow track seen from the ground without friendly information is as
   likely a helicopter. So the drone share of step 3 stays ``drone`` only for a track
   that is diving (sinking faster than :data:`DIVE_MIN_SINK_MPS` on a path more than
   :data:`DIVE_ANGLE_DEG` below the horizontal: the terminal dive of a one-way attack
   drone) or whose straight path threatens a protected zone
   (:func:`opencram.track.identity.path_threatens`: the ground under the next 90 s of its
   path comes within 300 m of one); for any other track (level, climbing or gently
   descending, heading nowhere protected) it is added to ``aircraft``. A slow level track
   is therefore ``aircraft`` (or ``unknown`` while it is young), never ``drone``, unless
   its path threatens a protected zone. Without ``threatens`` (``opencram track``, which
   knows no zones) step 3 stands as it is.
Tracks with fewer than 4 updates are all ``unknown``; their ballistic probability (step 1)
is still reported.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from opencram.physics.threats import library
from opencram.track.models import BallisticModel, propagate_to_height

CLASSES = ("rocket", "mortar", "artillery", "aircraft", "drone", "unknown")
# the classes that may follow a ballistic path, so are predicted to the ground
BALLISTIC_CLASSES = ("rocket", "mortar", "artillery", "unknown")
# Lowest launch elevation of the mortar class. Mortars fire at about 45-85 degrees
# (800-1500 mils on the common mortar sights), and recorded 120 mm firings on real
# counter-battery radar logs left at 44 degrees (issue 13); 40 leaves room for the spread
# of the launch elevation flown back from a noisy track.
MORTAR_MIN_ELEVATION_DEG = 40.0
MORTAR_MAX_LAUNCH_MPS = 400.0  # mortar bombs leave slower than this
SLOW_ROCKET_MAX_LAUNCH_MPS = 420.0  # 107 mm-class rockets are slower than this at the ground
# Speed evidence: below SLOW_SPEED_MPS the likelihood ratio (ballistic : not) is
# SLOW_LIKELIHOOD_RATIO, above FAST_SPEED_MPS it is 1 (no evidence), log-linear between.
# 0.01 is the floor: it cannot turn a ballistic mode probability above 0.99 into a
# non-ballistic class, and it rules out (below 0.05) a slow track whose mode probability
# is under about 0.8, as drones' and helicopters' are.
SLOW_SPEED_MPS = 55.0
FAST_SPEED_MPS = 65.0
SLOW_LIKELIHOOD_RATIO = 0.01
MIN_UPDATES = 4  # younger tracks are unknown
# Step 4's dive: our drones dive at 35 degrees (physics.waypoints); a young track's climb
# rate is noisy (a level helicopter's first confirmed update in the green-zone replay
# sank at 10 m/s, 10 degrees), so the bounds sit well between the two.
DIVE_MIN_SINK_MPS = 10.0  # step 4: a dive sinks faster than this ...
DIVE_ANGLE_DEG = 20.0  # ... on a path steeper than this below the horizontal
NEGLIGIBLE_BALLISTIC_PROB = 1e-3  # no flight back below this ballistic probability
_EPS = 1e-9


@dataclass(frozen=True)
class ClassProbabilities:
    """Per track: ``prob`` (n, len(CLASSES)) over :data:`CLASSES` in that order (rows sum
    to 1) and ``ballistic`` (n,), the probability of the ballistic hypothesis (equal to the
    sum over :data:`BALLISTIC_CLASSES` for tracks of at least :data:`MIN_UPDATES` updates)."""

    prob: np.ndarray
    ballistic: np.ndarray

    def names(self) -> np.ndarray:
        """The most probable class per track (object array (n,))."""
        out = np.full(self.prob.shape[0], "unknown", dtype=object)
        if out.size:
            out[:] = np.asarray(CLASSES, dtype=object)[np.argmax(self.prob, axis=1)]
        return out


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * np.asarray(z, dtype=float)))


def speed_likelihood_ratio(speed_mps: np.ndarray) -> np.ndarray:
    """Likelihood ratio (ballistic : not) of a track's speed (see the module notes)."""
    f = np.clip((FAST_SPEED_MPS - speed_mps) / (FAST_SPEED_MPS - SLOW_SPEED_MPS), 0.0, 1.0)
    return SLOW_LIKELIHOOD_RATIO**f


def ballistic_probability(speed_mps: np.ndarray, mode_prob: np.ndarray | None) -> np.ndarray:
    """Probability of the ballistic hypothesis from the IMM fit (``mode_prob`` (n, m),
    ballistic first) and the speed (n,). With a plain ballistic filter (``mode_prob``
    None) every track is assumed ballistic and speed is the only evidence: 0 below
    SLOW_SPEED_MPS, 1 above FAST_SPEED_MPS, linear between."""
    speed_mps = np.asarray(speed_mps, dtype=float)
    if mode_prob is None:
        return np.clip((speed_mps - SLOW_SPEED_MPS) / (FAST_SPEED_MPS - SLOW_SPEED_MPS), 0, 1)
    prior = np.clip(np.asarray(mode_prob, dtype=float)[:, 0], _EPS, 1.0 - _EPS)
    odds = prior / (1.0 - prior) * speed_likelihood_ratio(speed_mps)
    return odds / (1.0 + odds)


def fast_rocket_rcs_split_dbsm() -> float:
    """Midpoint (dBsm) between the mean RCS of the library's fast rockets (burn-out at least
    450 m/s) and of its artillery shells."""
    lib = library().values()
    rockets = [t.rcs_m2 for t in lib if t.is_rocket and (t.burnout_velocity_mps or 0) >= 450]
    shells = [t.rcs_m2 for t in lib if t.category == "artillery"]
    if not rockets or not shells:
        return np.inf
    return float(5.0 * (np.log10(np.mean(rockets)) + np.log10(np.mean(shells))))


def _ballistic_split(x, rcs_dbsm, model) -> np.ndarray:
    """(n, 4) shares of the ballistic mass: rocket, mortar, artillery, unknown."""
    launch, _, ok = propagate_to_height(model, x, 0.0, backward=True)
    v0 = np.linalg.norm(launch[:, 3:6], axis=1)
    gamma0 = np.degrees(np.arctan2(launch[:, 5], np.hypot(launch[:, 3], launch[:, 4])))
    mortar = _sigmoid((gamma0 - MORTAR_MIN_ELEVATION_DEG) / 2.0) * _sigmoid(
        (MORTAR_MAX_LAUNCH_MPS - v0) / 10.0
    )
    slow = (1.0 - mortar) * _sigmoid((SLOW_ROCKET_MAX_LAUNCH_MPS - v0) / 10.0)
    fast = 1.0 - mortar - slow
    rcs = np.asarray(rcs_dbsm, dtype=float)
    known = np.isfinite(rcs)
    heavy = _sigmoid(np.where(known, rcs - fast_rocket_rcs_split_dbsm(), 0.0) / 1.0)
    share = np.stack(
        [
            slow + np.where(known, fast * heavy, 0.0),
            mortar,
            np.where(known, fast * (1.0 - heavy), 0.0),
            np.where(known, 0.0, fast),
        ],
        axis=1,
    )
    return np.where(ok[:, None], share, np.array([0.0, 0.0, 0.0, 1.0]))


def _aircraft_share(x, speed, rcs_dbsm) -> np.ndarray:
    """(n,) share of the non-ballistic mass that is aircraft (the rest: drone)."""
    rcs = np.asarray(rcs_dbsm, dtype=float)
    big = np.where(np.isfinite(rcs), _sigmoid(rcs / 1.0), 0.0)
    fast_or_high = np.maximum(_sigmoid((speed - 90.0) / 3.0), _sigmoid((x[:, 2] - 1500.0) / 50.0))
    return np.maximum(big, fast_or_high)


def diving(x: np.ndarray) -> np.ndarray:
    """(n,) tracks in a dive (module notes, step 4): sinking faster than
    DIVE_MIN_SINK_MPS on a path steeper than DIVE_ANGLE_DEG below the horizontal."""
    vu = x[:, 5]
    gamma_deg = np.degrees(np.arctan2(vu, np.hypot(x[:, 3], x[:, 4])))
    return (vu < -DIVE_MIN_SINK_MPS) & (gamma_deg < -DIVE_ANGLE_DEG)


def class_probabilities(
    x: np.ndarray,
    n_updates: np.ndarray,
    mode_prob: np.ndarray | None = None,
    rcs_dbsm: np.ndarray | None = None,
    model: BallisticModel | None = None,
    threatens: np.ndarray | None = None,
) -> ClassProbabilities:
    """Class probabilities of tracks with 7-column states ``x`` (n, 7), their update counts,
    IMM mode probabilities (n, m) or None, radar cross-section estimates (dBsm, NaN
    unknown) or None; ``threatens`` (n,), whether each track's path threatens a protected
    zone, applies step 4 of the module notes (None: not applied)."""
    model = model or BallisticModel()
    n = x.shape[0]
    prob = np.zeros((n, len(CLASSES)))
    prob[:, CLASSES.index("unknown")] = 1.0
    if n == 0:
        return ClassProbabilities(prob, np.zeros(0))
    speed = np.linalg.norm(x[:, 3:6], axis=1)
    p_b = ballistic_probability(speed, mode_prob)
    rcs = np.full(n, np.nan) if rcs_dbsm is None else np.asarray(rcs_dbsm, dtype=float)
    m = np.flatnonzero(np.asarray(n_updates) >= MIN_UPDATES)
    if m.size:
        # the flight back is the costly part: only where the ballistic mass is worth
        # splitting (elsewhere its crumb, at most NEGLIGIBLE_BALLISTIC_PROB, is unknown)
        split = np.tile([0.0, 0.0, 0.0, 1.0], (m.size, 1))
        fly = p_b[m] > NEGLIGIBLE_BALLISTIC_PROB
        if fly.any():
            split[fly] = _ballistic_split(x[m[fly]], rcs[m[fly]], model)
        ball = split * p_b[m, None]
        air = _aircraft_share(x[m], speed[m], rcs[m]) * (1.0 - p_b[m])
        if threatens is not None:  # step 4: a drone only when diving or threatening
            benign = ~(np.asarray(threatens, dtype=bool)[m] | diving(x[m]))
            air = np.where(benign, 1.0 - p_b[m], air)
        idx = [CLASSES.index(c) for c in ("rocket", "mortar", "artillery", "unknown")]
        rows = np.zeros((m.size, len(CLASSES)))
        rows[:, idx] = ball
        rows[:, CLASSES.index("aircraft")] = air
        rows[:, CLASSES.index("drone")] = (1.0 - p_b[m]) - air
        prob[m] = rows
    return ClassProbabilities(prob, p_b)


def classify(
    x: np.ndarray,
    n_updates: np.ndarray,
    mode_prob: np.ndarray | None = None,
    rcs_dbsm: np.ndarray | None = None,
    model: BallisticModel | None = None,
) -> np.ndarray:
    """The most probable class per track (object array (n,)); see
    :func:`class_probabilities`."""
    return class_probabilities(x, n_updates, mode_prob, rcs_dbsm, model).names()
