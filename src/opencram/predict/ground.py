"""Impact point and point of origin of ballistic tracks, with calibrated uncertainty.

A track's Gaussian state (mean, covariance) is carried to the ground through the nonlinear
ballistic dynamics with the cubature rule (the 2L points ``x ± sqrt(L) chol(P)`` columns,
equal weights): each point is flown forward to the ground (impact) or backward to the
launch altitude (origin), and the crossing points and times give the mean and the 2-D
covariance on the ground. Everything is batched over tracks and points. The points are
flown with error-controlled Dormand-Prince steps (:func:`fly_to_height`, compiled in
``opencram.predict._kernels``; the tolerance is FLIGHT_TOL_M, the crossing found on the
Hermite interpolant of the crossing step).

For rockets, flying the coasting state backward ignores the boost (docs/benchmarks.md
gives the resulting origin errors).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from opencram.physics.environment import FlatTerrain
from opencram.track.ckf import cubature_points
from opencram.track.models import BallisticModel

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

# Error control of the flight to the ground (opencram.predict._kernels): local error per
# step at most FLIGHT_TOL_M (position in m, velocity in m/s times 1 s), which keeps the
# impact and origin points within 0.1 m of a fine fixed-step flight
# (tests/test_predict_adaptive.py: 0.012 m at most on its states); the first step, the
# longest step and the longest flight. The longest step is 2 s because the density table is
# linear between 5 m heights: its kinks, which the error estimate does not see, cost up to
# 0.07 m on a 97 s flight with 4 s steps.
FLIGHT_TOL_M = 1e-3
FLIGHT_FIRST_STEP_S = 0.5
FLIGHT_MAX_STEP_S = 2.0
FLIGHT_MAX_TIME_S = 200.0


def fly_to_height(model: BallisticModel, x: np.ndarray, height_up_m, *, backward: bool):
    """Fly ballistic states (m, >=7) forward (or backward in time) with error-controlled
    Dormand-Prince steps until they cross ``height_up_m`` (scalar or per state) descending
    in the direction of flight. Returns the states at the crossing (m, d), the signed times
    to it (m,) and whether it was reached (m,); compiled (the numpy form is
    :func:`fly_to_height_reference`)."""
    from opencram.predict import _kernels  # deferred: numba is heavy to import

    x = np.ascontiguousarray(x, dtype=float)
    hgt = np.ascontiguousarray(np.broadcast_to(np.asarray(height_up_m, dtype=float), x.shape[:1]))
    return _kernels.fly_to_height_rows(
        x,
        hgt,
        -1.0 if backward else 1.0,
        FLIGHT_TOL_M,
        FLIGHT_FIRST_STEP_S,
        FLIGHT_MAX_STEP_S,
        FLIGHT_MAX_TIME_S,
        model.air_table(),
    )


def _dp_stages(model, y, kap, h):
    """Dormand-Prince stages (k, 7, 6) of 6-states ``y`` (k, 6) for steps ``h`` (k,); the
    fifth-order solution, and the error norm ``max(|e_pos|, |e_vel| * 1 s)`` (k,)."""
    from opencram.predict._kernels import DP_A, DP_E  # the tableau (numba-free constants)

    ks = np.empty((y.shape[0], 7, 6))
    ys = y
    for s in range(7):
        if s:
            ys = y + h[:, None] * np.einsum("q,kqj->kj", DP_A[s, :s], ks[:, :s])
        ks[:, s] = model.deriv(np.column_stack([ys, kap]))[:, :6]
    e = h[:, None] * np.einsum("q,kqj->kj", DP_E, ks)
    err = np.maximum(np.linalg.norm(e[:, :3], axis=1), np.linalg.norm(e[:, 3:], axis=1))
    return ys, err


def _hermite_fraction_reference(z0, w0, z1, w1, h, height):
    """Fraction s in [0, 1] where the cubic Hermite interpolant of the crossing step meets
    ``height`` (bisection to 1e-13, the kernel's safeguarded Newton root)."""
    lo, hi = np.zeros_like(z0), np.ones_like(z0)
    d0, d1 = w0 * h, w1 * h
    for _ in range(50):
        s = 0.5 * (lo + hi)
        s2, s3 = s * s, s * s * s
        val = (2 * s3 - 3 * s2 + 1) * z0 + (s3 - 2 * s2 + s) * d0
        val += (-2 * s3 + 3 * s2) * z1 + (s3 - s2) * d1 - height
        lo, hi = np.where(val > 0, s, lo), np.where(val > 0, hi, s)
    return 0.5 * (lo + hi)


def fly_to_height_reference(model: BallisticModel, x: np.ndarray, height_up_m, *, backward):
    """:func:`fly_to_height` in numpy, batched over the rows still flying: the reference
    the compiled kernel (``opencram.predict._kernels.fly_to_height_rows``, whose docstring
    gives the equations) is tested against."""
    from opencram.predict import _kernels as k  # deferred: numba is heavy to import

    x = np.asarray(x, dtype=float)
    m = x.shape[0]
    hgt = np.broadcast_to(np.asarray(height_up_m, dtype=float), (m,))
    sign = -1.0 if backward else 1.0
    out, t_out, done = x.copy(), np.zeros(m), np.zeros(m, dtype=bool)
    y, kap = x[:, :6].copy(), x[:, 6]
    t, h = np.zeros(m), np.full(m, FLIGHT_FIRST_STEP_S)
    live = np.arange(m)
    for _ in range(k.MAX_STEPS):
        live = live[t[live] < FLIGHT_MAX_TIME_S]
        if live.size == 0:
            break
        h[live] = np.minimum(h[live], FLIGHT_MAX_TIME_S - t[live])
        y5, err = _dp_stages(model, y[live], kap[live], sign * h[live])
        speed2 = np.einsum("kj,kj->k", y5[:, 3:], y5[:, 3:])
        fin = np.isfinite(err) & (speed2 < k.MAX_SPEED_MPS**2)  # else stopped, not reached
        live, y5, err = live[fin], y5[fin], err[fin]
        grow = k.SAFETY * (FLIGHT_TOL_M / np.maximum(err, 1e-300)) ** 0.2
        grow = np.where(err == 0, k.GROW_MAX, grow)
        reject = (err > FLIGHT_TOL_M) & (h[live] > k.MIN_STEP_S)
        cross = ~reject & (y5[:, 2] <= hgt[live]) & (hgt[live] < y[live, 2])
        go = ~reject & ~cross
        bad = live[reject]
        h[bad] = np.maximum(h[bad] * np.maximum(k.SHRINK_MIN, grow[reject]), k.MIN_STEP_S)
        _land_reference(model, live[cross], y, y5[cross], kap, sign * h, t, hgt, out, t_out)
        done[live[cross]] = True
        ok = live[go]
        t[ok] += h[ok]
        y[ok] = y5[go]
        step = h[ok] * np.clip(grow[go], k.SHRINK_MIN, k.GROW_MAX)
        h[ok] = np.maximum(np.minimum(step, FLIGHT_MAX_STEP_S), k.MIN_STEP_S)
        live = live[~cross]
    t_out[~done] = sign * t[~done]
    return out, t_out, done


def _land_reference(model, rows, y, y5, kap, h_signed, t, hgt, out, t_out):
    """The crossing of ``rows``: the Hermite fraction of the step, that step retaken from
    its start, the remaining height moved along the velocity (into ``out``, ``t_out``)."""
    if rows.size == 0:
        return
    hs = h_signed[rows]
    s = _hermite_fraction_reference(y[rows, 2], y[rows, 5], y5[:, 2], y5[:, 5], hs, hgt[rows])
    yc, _ = _dp_stages(model, y[rows], kap[rows], hs * s)
    vz = yc[:, 5]
    dt = np.where(vz != 0, (hgt[rows] - yc[:, 2]) / np.where(vz != 0, vz, 1.0), 0.0)
    yc[:, :3] += dt[:, None] * yc[:, 3:6]
    out[rows, :6] = yc
    t_out[rows] = np.sign(hs) * (t[rows] + np.abs(hs) * s) + dt


def _to_terrain(model, flat, height_up_m, backward, terrain):
    """Propagate states (m, L) to the ground: the plane ``height_up_m`` on flat ground
    (``terrain`` None), else the terrain. On terrain the crossing height depends on where
    the crossing is, so it is a fixed point ``h = H(E(h), N(h))``: start from the ground
    under each state, fly to it, take the ground under the crossing, and again,
    TERRAIN_ITERATIONS times, all states in one batch. Returns (states at the crossing,
    signed times, reached, crossing heights (m,))."""
    if terrain is None:
        out, t, ok = fly_to_height(model, flat, height_up_m, backward=backward)
        return out, t, ok, np.full(flat.shape[0], float(height_up_m))
    h = terrain.height_up_m(flat[:, 0], flat[:, 1])
    for _ in range(TERRAIN_ITERATIONS):
        out, t, ok = fly_to_height(model, flat, h, backward=backward)
        h = np.where(ok, terrain.height_up_m(out[:, 0], out[:, 1]), h)
    out, t, ok = fly_to_height(model, flat, h, backward=backward)
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
