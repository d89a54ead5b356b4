"""Impact point and point of origin of ballistic tracks, with calibrated uncertainty.

A track's Gaussian state (mean, covariance) is carried to the ground through the nonlinear
ballistic dynamics with the cubature rule (the 2L points ``x ± sqrt(L) chol(P)`` columns,
equal weights): each point is flown forward to the ground (impact) or backward to the
launch altitude (origin), and the crossing points and times give the mean and the 2-D
covariance on the ground. Everything is batched over tracks and points.

For rockets, flying the coasting state backward ignores the boost: the real launch point
is nearer. :func:`predict_origin` corrects for it with the matched library rocket's burn
time and burn-out speed (uniform acceleration from rest along the initial flight path).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from opencram.track.ckf import cubature_points
from opencram.track.models import BallisticModel, propagate_to_height

CHI2_2D_95 = 5.991464547107979  # chi-square(2) quantile at 0.95


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
    model: BallisticModel,
    x: np.ndarray,
    p: np.ndarray,
    ground_up_m: float = 0.0,
    *,
    burn_time_s: np.ndarray | None = None,
    burnout_speed_mps: np.ndarray | None = None,
) -> GroundPrediction:
    """Where states (n, 7) came from: flown backward to the launch altitude. For tracks
    with a boost (``burn_time_s`` > 0), each point is flown back only to the height at
    which the motor burnt out, then moved back along its flight path by the boost
    distance ``0.5 * v_burnout * t_burn`` (uniform acceleration from rest)."""
    n, dim = x.shape
    if burn_time_s is None or not np.any(np.asarray(burn_time_s) > 0):
        mean, cov, dt, dt_var, ok, _ = _to_ground(model, x, p, ground_up_m, backward=True)
        return GroundPrediction(mean, cov, dt, dt_var, ok)
    tb = np.asarray(burn_time_s, dtype=float)
    vb = np.asarray(burnout_speed_mps, dtype=float)
    pts = cubature_points(x, p)
    pts[:, :, 6] = np.maximum(pts[:, :, 6], 0.0)
    k = 2 * dim
    flat = pts.reshape(-1, dim)
    tb_k = np.repeat(tb, k)
    vb_k = np.repeat(vb, k)
    # boost length and its climb, from the flight path angle of each point's velocity
    v = flat[:, 3:6]
    sin_g = v[:, 2] / np.maximum(np.linalg.norm(v, axis=1), 1e-6)
    boost_len = 0.5 * vb_k * tb_k
    # (a point already below its burn-out height is flown back from where it is)
    h_burnout = np.minimum(ground_up_m + boost_len * np.maximum(sin_g, 0.0), flat[:, 2] - 1.0)
    out, t, ok = propagate_to_height(model, flat, h_burnout, backward=True)
    u = out[:, 3:6] / np.maximum(np.linalg.norm(out[:, 3:6], axis=1), 1e-6)[:, None]
    boosted = tb_k > 0
    launch = out[:, :3] - np.where(boosted, boost_len, 0.0)[:, None] * u
    t = t - np.where(boosted, tb_k, 0.0)
    en = launch[:, :2].reshape(n, k, 2)
    mean = en.mean(axis=1)
    d = en - mean[:, None, :]
    cov = np.einsum("nki,nkj->nij", d, d) / k
    tt = t.reshape(n, k)
    return GroundPrediction(mean, cov, tt.mean(axis=1), tt.var(axis=1), ok.reshape(n, k).all(1))
