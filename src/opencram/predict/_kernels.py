"""Compiled flight to the ground with error control, for impact and origin prediction
(numba).

The numpy form, :func:`opencram.predict.ground.fly_to_height_reference`, is the reference
that reads like the maths; ``tests/test_predict_adaptive.py`` checks this kernel against
it and both against a fine fixed-step flight. The kernel exists because prediction flies
the 2L cubature points of every track update to the ground, a few states over many steps,
where numpy's per-call overhead dominates (docs/benchmarks.md).

The dynamics are the tracker's ballistic model (``opencram.track.models``)::

    dp/dt = v,    dv/dt = -0.5 rho(u) kappa 1e-4 |v| v - g z,    kappa and the rest held

integrated by the Dormand-Prince 5(4) pair (Dormand and Prince 1980): with stages
``k_i = f(y + h sum_j a_ij k_j)`` the step takes the fifth-order ``y + h sum_i b_i k_i``
and ``e = h sum_i (b_i - b*_i) k_i`` estimates its local error. The error norm is
``max(|e_pos| (m), |e_vel| * 1 s)``; a step is kept when the norm is at most the tolerance
and the next step is ``h * clip(0.9 (tol / err)^(1/5), 0.2, 5)``, at most ``h_max``. The
crossing of the height is found on the cubic Hermite interpolant of the step that crosses
it (positions and velocities at both ends), then that step is retaken from its start to
the crossing time, and the small remaining height is removed along the velocity.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

# Dormand-Prince 5(4): nodes, stage matrix, fifth-order weights and error weights b - b*
DP_C = np.array([0.0, 1 / 5, 3 / 10, 4 / 5, 8 / 9, 1.0, 1.0])
DP_A = np.array(
    [
        [0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
        [1 / 5, 0.0, 0.0, 0.0, 0.0, 0.0],
        [3 / 40, 9 / 40, 0.0, 0.0, 0.0, 0.0],
        [44 / 45, -56 / 15, 32 / 9, 0.0, 0.0, 0.0],
        [19372 / 6561, -25360 / 2187, 64448 / 6561, -212 / 729, 0.0, 0.0],
        [9017 / 3168, -355 / 33, 46732 / 5247, 49 / 176, -5103 / 18656, 0.0],
        [35 / 384, 0.0, 500 / 1113, 125 / 192, -2187 / 6784, 11 / 84],
    ]
)
DP_B = DP_A[6].copy()
DP_E = np.array([71 / 57600, 0.0, -71 / 16695, 71 / 1920, -17253 / 339200, 22 / 525, -1 / 40])
SAFETY, GROW_MAX, SHRINK_MIN = 0.9, 5.0, 0.2
# Shortest step (s): a step this short is kept whatever its error estimate (a state flown
# backward with a large drag parameter speeds up without bound and never meets the
# tolerance), and the most steps of one flight.
MIN_STEP_S = 1e-3
MAX_STEPS = 20_000
# A flight whose speed passes this is stopped, not reached: flown backward, drag adds
# speed as k v^2 and blows up in finite time, so such a state has no origin (no gun or
# rocket reaches a third of it).
MAX_SPEED_MPS = 5_000.0


@njit(inline="always")
def _accel(z, vx, vy, vz, kap, air):
    """Drag (on the air-relative velocity) and gravity acceleration of one state (the numpy
    ``BallisticModel.deriv``); ``air`` packs the density and wind tables
    (``BallisticModel.air_table``)."""
    rho_tab, rho_slope, site_alt, amin, amax, astep, g, kscale = air[:8]
    we_tab, we_slope, wn_tab, wn_slope = air[8], air[9], air[10], air[11]
    alt = site_alt + z
    xx = (min(max(alt, amin), amax) - amin) / astep
    i = min(int(xx), rho_tab.size - 2)
    f = xx - i
    rho = rho_tab[i] + f * rho_slope[i]
    rx = vx - (we_tab[i] + f * we_slope[i])
    ry = vy - (wn_tab[i] + f * wn_slope[i])
    sp = math.sqrt(rx * rx + ry * ry + vz * vz)
    k = 0.5 * rho * kap * kscale * sp
    return -k * rx, -k * ry, -k * vz - g


@njit(inline="always")
def _dp_step(y, h, kap, air, ks, ys, y5):
    """One Dormand-Prince step of the 6-state ``y`` by ``h`` into ``y5`` (fifth order);
    ``ks`` (7, 6) holds the stages, stage 0 already evaluated at ``y``. Returns the error
    norm ``max(|e_pos|, |e_vel| * 1 s)``."""
    for s in range(1, 7):
        for j in range(6):
            acc = 0.0
            for q in range(s):
                acc += DP_A[s, q] * ks[q, j]
            ys[j] = y[j] + h * acc
        ks[s, 0], ks[s, 1], ks[s, 2] = ys[3], ys[4], ys[5]
        ax, ay, az = _accel(ys[2], ys[3], ys[4], ys[5], kap, air)
        ks[s, 3], ks[s, 4], ks[s, 5] = ax, ay, az
    for j in range(6):
        y5[j] = ys[j]  # the last stage is taken at the fifth-order solution (FSAL)
    ep, ev = 0.0, 0.0
    for j in range(6):
        acc = 0.0
        for q in range(7):
            acc += DP_E[q] * ks[q, j]
        if j < 3:
            ep += (h * acc) ** 2
        else:
            ev += (h * acc) ** 2
    return max(math.sqrt(ep), math.sqrt(ev))


@njit(inline="always")
def _hermite_fraction(z0, w0, z1, w1, h, height):
    """Fraction s in [0, 1] of the step where the cubic Hermite interpolant of heights
    ``z0, z1`` with rates ``w0, w1`` (per second, step ``h``) equals ``height``:
    safeguarded Newton iterations started from the linear estimate."""
    d0, d1 = w0 * h, w1 * h
    s = (z0 - height) / (z0 - z1)
    lo, hi = 0.0, 1.0
    for _ in range(30):
        s2, s3 = s * s, s * s * s
        val = (
            (2 * s3 - 3 * s2 + 1) * z0
            + (s3 - 2 * s2 + s) * d0
            + (-2 * s3 + 3 * s2) * z1
            + (s3 - s2) * d1
            - height
        )
        if val > 0:
            lo = s
        else:
            hi = s
        der = (6 * s2 - 6 * s) * z0 + (3 * s2 - 4 * s + 1) * d0 + (6 * s - 6 * s2) * z1
        der += (3 * s2 - 2 * s) * d1
        nxt = s - val / der if der != 0 else 0.5 * (lo + hi)
        if not (lo < nxt < hi):
            nxt = 0.5 * (lo + hi)
        if abs(nxt - s) < 1e-13:
            return nxt
        s = nxt
    return s


@njit(inline="always")
def _set_stage0(ks, y, kap, air):
    ks[0, 0], ks[0, 1], ks[0, 2] = y[3], y[4], y[5]
    ax, ay, az = _accel(y[2], y[3], y[4], y[5], kap, air)
    ks[0, 3], ks[0, 4], ks[0, 5] = ax, ay, az


@njit(inline="always")
def _land(y, kap, air, ks, ys, y5, h_c, height):
    """Retake the crossing step from ``y`` by ``h_c`` into ``y5`` and move the small
    remaining height along the velocity; returns the extra time."""
    _set_stage0(ks, y, kap, air)
    _dp_step(y, h_c, kap, air, ks, ys, y5)
    dt = (height - y5[2]) / y5[5] if y5[5] != 0 else 0.0
    for j in range(3):
        y5[j] += dt * y5[3 + j]
    return dt


@njit(inline="always")
def _next_step(h, err, tol_m, h_max_s):
    """The step after an accepted one of length ``h`` with error norm ``err``."""
    grow = GROW_MAX if err == 0 else SAFETY * (tol_m / err) ** 0.2
    return max(min(h * min(GROW_MAX, max(SHRINK_MIN, grow)), h_max_s), MIN_STEP_S)


@njit(inline="always")
def _fly_one(y, kap, height, sign, tol_m, h0_s, h_max_s, max_time_s, air, ks, ys, y5):
    """Fly the 6-state ``y`` (changed in place) to ``height``. Returns (reached, signed
    time); when reached, ``y5`` holds the state at the crossing."""
    t, h = 0.0, h0_s
    _set_stage0(ks, y, kap, air)
    for _ in range(MAX_STEPS):
        if t >= max_time_s:
            break
        h = min(h, max_time_s - t)
        err = _dp_step(y, sign * h, kap, air, ks, ys, y5)
        if not (math.isfinite(err) and y5[3] ** 2 + y5[4] ** 2 + y5[5] ** 2 < MAX_SPEED_MPS**2):
            break
        if err > tol_m and h > MIN_STEP_S:
            h = max(h * max(SHRINK_MIN, SAFETY * (tol_m / err) ** 0.2), MIN_STEP_S)
            continue
        if y5[2] <= height < y[2]:
            s = _hermite_fraction(y[2], y[5], y5[2], y5[5], sign * h, height)
            dt = _land(y, kap, air, ks, ys, y5, sign * h * s, height)
            return True, sign * (t + h * s) + dt
        t += h
        for j in range(6):
            y[j] = y5[j]
            ks[0, j] = ks[6, j]
        h = _next_step(h, err, tol_m, h_max_s)
    return False, sign * t


@njit(cache=True)
def fly_to_height_rows(x, height, sign, tol_m, h0_s, h_max_s, max_time_s, air):
    """Fly rows of ``x`` (m, d >= 7) with error-controlled steps in the direction ``sign``
    (1 forward, -1 backward in time) until each crosses its ``height`` descending in the
    direction of flight. Returns the state at the crossing (the input state where never
    reached), the signed time to it and whether it was reached (the numpy reference is
    ``opencram.predict.ground.fly_to_height_reference``)."""
    m = x.shape[0]
    out = x.copy()
    t_out = np.zeros(m)
    done = np.zeros(m, dtype=np.bool_)
    ks = np.empty((7, 6))
    y, ys, y5 = np.empty(6), np.empty(6), np.empty(6)
    for r in range(m):
        for j in range(6):
            y[j] = x[r, j]
        done[r], t_out[r] = _fly_one(
            y, x[r, 6], height[r], sign, tol_m, h0_s, h_max_s, max_time_s, air, ks, ys, y5
        )
        if done[r]:
            for j in range(6):
                out[r, j] = y5[j]
    return out, t_out, done
