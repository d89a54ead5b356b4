"""Compiled inner loops for the ballistic track model (numba).

The numpy form of these loops (``BallisticModel.deriv`` and the RK4 step in
``opencram.track.models``) is the reference: it is what the maths reads like, and
``tests/test_batched.py`` checks these kernels against it. The kernels exist because the
tracker, the impact and origin predictions and fire control integrate a few states at a
time over many short steps, where numpy's per-call overhead dominates (profile in
docs/benchmarks.md). The helpers called inside the step loops are inlined
(``inline="always"``), which changes no arithmetic.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit


@njit(cache=True, inline="always")
def _wind(air, i, f):
    """East and north wind (m/s) in the table cell ``i`` at fraction ``f``, and their
    height derivatives (1/s); zero tables (calm) give exact zeros."""
    astep = air[5]
    we_tab, we_slope, wn_tab, wn_slope = air[8], air[9], air[10], air[11]
    return (
        we_tab[i] + f * we_slope[i],
        wn_tab[i] + f * wn_slope[i],
        we_slope[i] / astep,
        wn_slope[i] / astep,
    )


@njit(cache=True, inline="always")
def _accel(up, vx, vy, vz, kap, air, out):
    """Drag (on the air-relative velocity) and gravity acceleration into out[0:3]; ``air``
    packs the density and wind tables."""
    rho_tab, rho_slope, site_alt, amin, amax, astep, g, kscale = air[:8]
    alt = site_alt + up
    xx = (min(max(alt, amin), amax) - amin) / astep
    i = min(int(xx), rho_tab.size - 2)
    rho = rho_tab[i] + (xx - i) * rho_slope[i]
    we, wn, _, _ = _wind(air, i, xx - i)
    rx, ry = vx - we, vy - wn
    sp = math.sqrt(rx * rx + ry * ry + vz * vz)
    k = 0.5 * rho * kap * kscale * sp
    out[0] = -k * rx
    out[1] = -k * ry
    out[2] = -k * vz - g


@njit(cache=True, inline="always")
def _rk4(cur, h, air, nxt, a1, a2, a3, a4):
    """One RK4 step of one state (positions 0:3, velocities 3:6, kappa at 6, the rest
    carried unchanged) from ``cur`` into ``nxt``."""
    kap = cur[6]
    _accel(cur[2], cur[3], cur[4], cur[5], kap, air, a1)
    v2 = (cur[3] + 0.5 * h * a1[0], cur[4] + 0.5 * h * a1[1], cur[5] + 0.5 * h * a1[2])
    _accel(cur[2] + 0.5 * h * cur[5], v2[0], v2[1], v2[2], kap, air, a2)
    v3 = (cur[3] + 0.5 * h * a2[0], cur[4] + 0.5 * h * a2[1], cur[5] + 0.5 * h * a2[2])
    _accel(cur[2] + 0.5 * h * v2[2], v3[0], v3[1], v3[2], kap, air, a3)
    v4 = (cur[3] + h * a3[0], cur[4] + h * a3[1], cur[5] + h * a3[2])
    _accel(cur[2] + h * v3[2], v4[0], v4[1], v4[2], kap, air, a4)
    for j in range(3):
        vj = (cur[3 + j], v2[j], v3[j], v4[j])
        nxt[j] = cur[j] + h / 6.0 * (vj[0] + 2 * vj[1] + 2 * vj[2] + vj[3])
        nxt[3 + j] = cur[3 + j] + h / 6.0 * (a1[j] + 2 * a2[j] + 2 * a3[j] + a4[j])
    for j in range(6, cur.size):
        nxt[j] = cur[j]


@njit(cache=True)
def rk4_rows(x, h, n_steps, air):
    """Each row of ``x`` (m, d) advanced by ``n_steps[r]`` RK4 steps of ``h[r]``."""
    out = x.copy()
    a1, a2, a3, a4 = np.empty(3), np.empty(3), np.empty(3), np.empty(3)
    nxt = np.empty(x.shape[1])
    for r in range(x.shape[0]):
        cur = out[r]
        for _ in range(n_steps[r]):
            _rk4(cur, h[r], air, nxt, a1, a2, a3, a4)
            cur[:] = nxt
    return out


@njit(cache=True)
def to_height_rows(x, height, sign, step, max_steps, air):
    """Fly rows of ``x`` (m, d) in steps of ``sign * step`` until each crosses its
    ``height`` (descending; ascending when going backward in time). Returns the state at
    the crossing (linear inside the last step; the input state where never reached), the
    signed time to it, and whether it was reached."""
    m, d = x.shape
    out = x.copy()
    t = np.zeros(m)
    done = np.zeros(m, dtype=np.bool_)
    a1, a2, a3, a4 = np.empty(3), np.empty(3), np.empty(3), np.empty(3)
    cur = np.empty(d)
    nxt = np.empty(d)
    h = sign * step
    for r in range(m):
        cur[:] = x[r]
        for _ in range(max_steps):
            _rk4(cur, h, air, nxt, a1, a2, a3, a4)
            if nxt[2] <= height[r] and cur[2] > height[r]:
                f = (cur[2] - height[r]) / (cur[2] - nxt[2])
                for j in range(d):
                    out[r, j] = cur[j] + f * (nxt[j] - cur[j])
                t[r] += h * f
                done[r] = True
                break
            t[r] += h
            cur[:] = nxt
    return out, t, done


# --- EKF prediction --------------------------------------------------------------------
# Model kinds: 0 ballistic (drag from the density and wind tables), 1 constant velocity,
# 2 coordinated turn (turn rate in column 7). The numpy reference is
# opencram.track.models.propagate_ekf with the models' deriv, jacobian and process_noise.

BALLISTIC, CONSTANT_VELOCITY, COORDINATED_TURN = 0, 1, 2


@njit(cache=True, inline="always")
def _deriv(kind, x, air, out):
    d = x.size
    for j in range(d):
        out[j] = 0.0
    out[0], out[1], out[2] = x[3], x[4], x[5]
    if kind == BALLISTIC:
        rho_tab, rho_slope, site_alt, amin, amax, astep, g, kscale = air[:8]
        alt = site_alt + x[2]
        xx = (min(max(alt, amin), amax) - amin) / astep
        i = min(int(xx), rho_tab.size - 2)
        rho = rho_tab[i] + (xx - i) * rho_slope[i]
        we, wn, _, _ = _wind(air, i, xx - i)
        rx, ry = x[3] - we, x[4] - wn
        sp = math.sqrt(rx * rx + ry * ry + x[5] * x[5])
        k = 0.5 * rho * x[6] * kscale * sp
        out[3] = -k * rx
        out[4] = -k * ry
        out[5] = -k * x[5] - g
    elif kind == COORDINATED_TURN:
        w = x[7]
        out[3] = -w * x[4]
        out[4] = w * x[3]


@njit(cache=True, inline="always")
def _jacobian(kind, x, air, a):
    d = x.size
    for i in range(d):
        for j in range(d):
            a[i, j] = 0.0
    a[0, 3] = 1.0
    a[1, 4] = 1.0
    a[2, 5] = 1.0
    if kind == BALLISTIC:
        rho_tab, rho_slope, site_alt, amin, amax, astep, _, kscale = air[:8]
        alt = site_alt + x[2]
        xx = (min(max(alt, amin), amax) - amin) / astep
        i = min(int(xx), rho_tab.size - 2)
        rho = rho_tab[i] + (xx - i) * rho_slope[i]
        d_rho = rho_slope[i] / astep
        we, wn, dwe, dwn = _wind(air, i, xx - i)
        v0, v1, v2 = x[3] - we, x[4] - wn, x[5]  # air-relative velocity
        speed = max(math.sqrt(v0 * v0 + v1 * v1 + v2 * v2), 1e-6)  # models.MIN_SPEED_MPS
        kap = x[6] * kscale
        c = -0.5 * rho * kap
        v = (v0, v1, v2)
        for r in range(3):
            for s in range(3):
                a[3 + r, 3 + s] = c * ((speed if r == s else 0.0) + v[r] * v[s] / speed)
            a[3 + r, 2] = (-0.5 * d_rho * kap * speed) * v[r]
            a[3 + r, 6] = (-0.5 * rho * kscale * speed) * v[r]
        if dwe != 0.0 or dwn != 0.0:
            # wind shear: the air-relative velocity changes with height by -dw/du
            for r in range(3):
                a[3 + r, 2] -= a[3 + r, 3] * dwe + a[3 + r, 4] * dwn
    elif kind == COORDINATED_TURN:
        w = x[7]
        a[3, 4] = -w
        a[3, 7] = -x[4]
        a[4, 3] = w
        a[4, 7] = x[3]


@njit(cache=True, inline="always")
def _noise(kind, h, d, q_acc, q_extra, q):
    for i in range(d):
        for j in range(d):
            q[i, j] = 0.0
    qa = q_acc * q_acc
    for i in range(3):
        q[i, i] = qa * h**3 / 3.0
        q[i, 3 + i] = qa * h**2 / 2.0
        q[3 + i, i] = qa * h**2 / 2.0
        q[3 + i, 3 + i] = qa * h
    if kind == BALLISTIC:
        q[6, 6] = q_extra * q_extra * h
    elif kind == COORDINATED_TURN:
        q[7, 7] = q_extra * q_extra * h


@njit(cache=True, inline="always")
def _transition(a, hr, d, ah, phi):
    """``phi = I + A h + (A h)^2 / 2`` for one substep of length ``hr``."""
    for i in range(d):
        for j in range(d):
            ah[i, j] = a[i, j] * hr
    for i in range(d):
        for j in range(d):
            acc = 0.0
            for k in range(d):
                acc += ah[i, k] * ah[k, j]
            phi[i, j] = (1.0 if i == j else 0.0) + ah[i, j] + 0.5 * acc


@njit(cache=True, inline="always")
def _rk4_general(kind, xr, hr, air, k1, k2, k3, k4, xs):
    """One RK4 step of the state ``xr`` (in place) with the model's derivative."""
    d = xr.size
    _deriv(kind, xr, air, k1)
    for j in range(d):
        xs[j] = xr[j] + 0.5 * hr * k1[j]
    _deriv(kind, xs, air, k2)
    for j in range(d):
        xs[j] = xr[j] + 0.5 * hr * k2[j]
    _deriv(kind, xs, air, k3)
    for j in range(d):
        xs[j] = xr[j] + hr * k3[j]
    _deriv(kind, xs, air, k4)
    for j in range(d):
        xr[j] = xr[j] + hr / 6.0 * (k1[j] + 2 * k2[j] + 2 * k3[j] + k4[j])


@njit(cache=True, inline="always")
def _propagate_cov(phi, pr, q, tmp, d):
    """``P <- phi P phi^T + Q`` in place."""
    for i in range(d):
        for j in range(d):
            acc = 0.0
            for k in range(d):
                acc += phi[i, k] * pr[k, j]
            tmp[i, j] = acc
    for i in range(d):
        for j in range(d):
            acc = 0.0
            for k in range(d):
                acc += tmp[i, k] * phi[j, k]
            pr[i, j] = acc + q[i, j]


@njit(cache=True, inline="always")
def _symmetrise(pr, d):
    """``P <- (P + P^T) / 2`` in place."""
    for i in range(d):
        for j in range(i, d):
            s = 0.5 * (pr[i, j] + pr[j, i])
            pr[i, j] = s
            pr[j, i] = s


@njit(cache=True)
def ekf_predict_rows(kind, x, p, n_steps, h, air, q_acc, q_extra):
    """EKF prediction of rows of ``x`` (m, d) and ``p`` (m, d, d): ``n_steps[r]`` substeps
    of ``h[r]``, each RK4 on the state and ``I + A h + (A h)^2 / 2`` on the covariance plus
    the process noise; finally the covariance is symmetrised."""
    m, d = x.shape
    xo = x.copy()
    po = p.copy()
    a = np.empty((d, d))
    ah = np.empty((d, d))
    phi = np.empty((d, d))
    q = np.empty((d, d))
    tmp = np.empty((d, d))
    k1, k2, k3, k4 = np.empty(d), np.empty(d), np.empty(d), np.empty(d)
    xs = np.empty(d)
    for r in range(m):
        hr = h[r]
        xr = xo[r]
        pr = po[r]
        for _ in range(n_steps[r]):
            _noise(kind, abs(hr), d, q_acc, q_extra, q)
            _jacobian(kind, xr, air, a)
            _transition(a, hr, d, ah, phi)
            _rk4_general(kind, xr, hr, air, k1, k2, k3, k4, xs)
            _propagate_cov(phi, pr, q, tmp, d)
        _symmetrise(pr, d)
    return xo, po


@njit(cache=True)
def imm_mix_rows(xm, pm, w):
    """IMM interaction of rows: mixed means ``x0[n, j] = sum_i w[n, i, j] xm[n, i]`` and
    covariances ``P0[n, j] = sum_i w[n, i, j] (P[n, i] + (xm[n, i] - x0[n, j])(...)^T)``
    for states ``xm`` (n, r, d), covariances ``pm`` (n, r, d, d) and mixing weights ``w``
    (n, r, r). The two sums of the covariance are added at the end and every sum runs over
    ``i`` in order, as ``opencram.track.imm.IMM.mix_reference`` does, so the results are
    the same numbers."""
    n, r, d = xm.shape
    x0 = np.empty((n, r, d))
    p0 = np.empty((n, r, d, d))
    dev = np.empty((r, d))
    for k in range(n):
        for j in range(r):
            for a in range(d):
                acc = 0.0
                for i in range(r):
                    acc += w[k, i, j] * xm[k, i, a]
                x0[k, j, a] = acc
            for i in range(r):
                for a in range(d):
                    dev[i, a] = xm[k, i, a] - x0[k, j, a]
            for a in range(d):
                for b in range(d):
                    spread = 0.0
                    own = 0.0
                    for i in range(r):
                        own += w[k, i, j] * pm[k, i, a, b]
                        spread += w[k, i, j] * dev[i, a] * dev[i, b]
                    p0[k, j, a, b] = own + spread
    return x0, p0


@njit(cache=True)
def imm_combine_rows(xm, pm, mu):
    """IMM combination of rows: the mixture mean ``x[n] = sum_j mu[n, j] xm[n, j]`` and
    covariance ``P[n] = sum_j mu[n, j] (P[n, j] + (xm[n, j] - x[n])(...)^T)``, summed in
    the order of ``opencram.track.imm.IMM.combine_reference`` (the same numbers)."""
    n, r, d = xm.shape
    x = np.empty((n, d))
    p = np.empty((n, d, d))
    dev = np.empty((r, d))
    for k in range(n):
        for a in range(d):
            acc = 0.0
            for j in range(r):
                acc += mu[k, j] * xm[k, j, a]
            x[k, a] = acc
        for j in range(r):
            for a in range(d):
                dev[j, a] = xm[k, j, a] - x[k, a]
        for a in range(d):
            for b in range(d):
                own = 0.0
                spread = 0.0
                for j in range(r):
                    own += mu[k, j] * pm[k, j, a, b]
                    spread += mu[k, j] * dev[j, a] * dev[j, b]
                p[k, a, b] = own + spread
    return x, p
