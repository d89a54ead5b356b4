"""Impact point and point of origin of ballistic tracks, with calibrated uncertainty.

A track's Gaussian state (mean, covariance) is carried to the ground through the nonlinear
ballistic dynamics with the cubature rule (the 2L points ``x ± sqrt(L) chol(P)`` columns,
equal weights): each point is flown forward to the ground (impact) or backward to the
launch altitude (origin), and the crossing points and times give the mean and the 2-D
covariance on the ground. Everything is batched over tracks and points.

For rockets, flying the coasting state backward ignores the boost (docs/benchmarks.md
gives the resulting origin errors).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from opencram.physics.environment import FlatTerrain
from opencram.track.ckf import cubature_points
from opencram.track.models import BallisticModel, propagate_to_height

CHI2_2D_95 = 5.991464547107979  # chi-square(2) quantile at 0.95

# The tracker's process noise stands for model error going forward (drag that changes with
# Mach number); carried backward through the track's covariance it overstates the spread of
# the origin about 2.5 times in variance. Measured with
# benchmarks/bench_prediction_accuracy.py on seed 3 (40 rounds each): the variance scale
# that puts 95 % of true origins inside was 0.41 (107 mm rocket), 0.35 (82 mm), 0.30
# (120 mm) and 0.44 (122 mm). tests/test_prediction_calibration.py checks the result on
# other seeds.
ORIGIN_VARIANCE_SCALE = 0.4


@dataclass(frozen=True)
class GroundPrediction:
    """Per track: ground point (n, 2) ENU, its covariance (n, 2, 2), the signed time from
    the track's update to the crossing (n,), and whether every point crossed (n,)."""

    pos_en_m: np.ndarray
    cov_en_m2: np.ndarray
    dt_s: np.ndarray
    dt_var_s2: np.ndarray
    ok: np.ndarray
    up_m: np.ndarray | None = None  # (n,) ENU height of the ground at the mean point


def ellipse95(cov_en_m2: np.ndarray):
    """Semi-major, semi-minor (m) and orientation (deg clockwise from north, [0, 180)) of
    the 95 % ellipses of 2-D covariances (n, 2, 2) in (east, north)."""
    w, v = np.linalg.eigh(cov_en_m2)
    w = np.maximum(w, 0.0)
    major = np.sqrt(CHI2_2D_95 * w[:, 1])
    minor = np.sqrt(CHI2_2D_95 * w[:, 0])
    vec = v[:, :, 1]  # (east, north) of the major axis
    orient = np.mod(np.degrees(np.arctan2(vec[:, 0], vec[:, 1])), 180.0)
    return major, minor, orient


def inside_ellipse95(point_en: np.ndarray, mean_en: np.ndarray, cov_en: np.ndarray):
    """Whether each point (n, 2) lies inside the 95 % ellipse of N(mean, cov)."""
    d = point_en - mean_en
    d2 = np.einsum("ni,ni->n", d, np.linalg.solve(cov_en, d[..., None])[..., 0])
    return d2 <= CHI2_2D_95


TERRAIN_ITERATIONS = 4  # fixed-point passes onto a DEM (see _to_terrain)


def _to_terrain(model, flat, height_up_m, backward, terrain):
    """Propagate states (m, L) to the ground: the plane ``height_up_m`` on flat ground
    (``terrain`` None), else the terrain. On terrain the crossing height depends on where
    the crossing is, so it is a fixed point ``h = H(E(h), N(h))``: start from the ground
    under each state, fly to it, take the ground under the crossing, and again,
    TERRAIN_ITERATIONS times, all states in one batch. Returns (states at the crossing,
    signed times, reached, crossing heights (m,))."""
    if terrain is None:
        out, t, ok = propagate_to_height(model, flat, height_up_m, backward=backward)
        return out, t, ok, np.full(flat.shape[0], float(height_up_m))
    h = terrain.height_up_m(flat[:, 0], flat[:, 1])
    for _ in range(TERRAIN_ITERATIONS):
        out, t, ok = propagate_to_height(model, flat, h, backward=backward)
        h = np.where(ok, terrain.height_up_m(out[:, 0], out[:, 1]), h)
    out, t, ok = propagate_to_height(model, flat, h, backward=backward)
    return out, t, ok, h


def _to_ground(model, x, p, height_up_m, backward, terrain=None):
    n, dim = x.shape
    pts = cubature_points(x, p)  # (n, 2L, L)
    pts[:, :, 6] = np.maximum(pts[:, :, 6], 0.0)
    flat = pts.reshape(-1, dim)
    out, t, ok, h = _to_terrain(model, flat, height_up_m, backward, terrain)
    en = out[:, :2].reshape(n, 2 * dim, 2)
    t = t.reshape(n, 2 * dim)
    ok = ok.reshape(n, 2 * dim).all(axis=1)
    mean = en.mean(axis=1)
    d = en - mean[:, None, :]
    cov = np.einsum("nki,nkj->nij", d, d) / (2 * dim)
    up = h.reshape(n, 2 * dim).mean(axis=1) if terrain is None else _ground_at(terrain, mean)
    return GroundPrediction(mean, cov, t.mean(axis=1), t.var(axis=1), ok, up)


def _ground_at(terrain, en_m: np.ndarray) -> np.ndarray:
    return terrain.height_up_m(en_m[:, 0], en_m[:, 1])


def _uneven(terrain):
    """``terrain`` unless it is flat (None: flat ground at the given height)."""
    return None if terrain is None or isinstance(terrain, FlatTerrain) else terrain


def predict_impact(
    model: BallisticModel, x: np.ndarray, p: np.ndarray, ground_up_m: float = 0.0, terrain=None
) -> GroundPrediction:
    """Where states (n, 7) with covariances (n, 7, 7) hit the ground (ENU up =
    ``ground_up_m``, or a DEM ``terrain``), flying forward. Tracks already below the ground
    come back not ok."""
    return _to_ground(model, x, p, ground_up_m, False, _uneven(terrain))


def predict_origin(
    model: BallisticModel, x: np.ndarray, p: np.ndarray, ground_up_m: float = 0.0, terrain=None
) -> GroundPrediction:
    """Where states (n, 7) came from: flown backward in time to the launch altitude (the
    plane ``ground_up_m``, or a DEM ``terrain``: the launch point is on the ground). The
    time is negative (the launch is before the update). A rocket's boost is not modelled:
    the coasting track is flown back as if it had coasted from the ground. The covariance
    is scaled by :data:`ORIGIN_VARIANCE_SCALE`, an empirical calibration."""
    g = _to_ground(model, x, p, ground_up_m, True, _uneven(terrain))
    return replace(g, cov_en_m2=ORIGIN_VARIANCE_SCALE * g.cov_en_m2)
