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

from dataclasses import dataclass

import numpy as np

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


def _to_ground(model, x, p, height_up_m, backward):
    n, dim = x.shape
    pts = cubature_points(x, p)  # (n, 2L, L)
    pts[:, :, 6] = np.maximum(pts[:, :, 6], 0.0)
    flat = pts.reshape(-1, dim)
    out, t, ok = propagate_to_height(model, flat, height_up_m, backward=backward)
    en = out[:, :2].reshape(n, 2 * dim, 2)
    t = t.reshape(n, 2 * dim)
    ok = ok.reshape(n, 2 * dim).all(axis=1)
    mean = en.mean(axis=1)
    d = en - mean[:, None, :]
    cov = np.einsum("nki,nkj->nij", d, d) / (2 * dim)
    return mean, cov, t.mean(axis=1), t.var(axis=1), ok, out.reshape(n, 2 * dim, -1)


def predict_impact(
    model: BallisticModel, x: np.ndarray, p: np.ndarray, ground_up_m: float = 0.0
) -> GroundPrediction:
    """Where states (n, 7) with covariances (n, 7, 7) hit the ground (ENU up =
    ``ground_up_m``), flying forward. Tracks already below the ground come back not ok."""
    mean, cov, dt, dt_var, ok, _ = _to_ground(model, x, p, ground_up_m, backward=False)
    return GroundPrediction(mean, cov, dt, dt_var, ok)


def predict_origin(
    model: BallisticModel, x: np.ndarray, p: np.ndarray, ground_up_m: float = 0.0
) -> GroundPrediction:
    """Where states (n, 7) came from: flown backward in time to the launch altitude. The
    time is negative (the launch is before the update). A rocket's boost is not modelled:
    the coasting track is flown back as if it had coasted from the ground. The covariance
    is scaled by :data:`ORIGIN_VARIANCE_SCALE`, an empirical calibration."""
    mean, cov, dt, dt_var, ok, _ = _to_ground(model, x, p, ground_up_m, backward=True)
    return GroundPrediction(mean, ORIGIN_VARIANCE_SCALE * cov, dt, dt_var, ok)
