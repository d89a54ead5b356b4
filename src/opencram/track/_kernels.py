"""Compiled inner loops for the ballistic track model (numba).

The numpy form of these loops (``BallisticModel.deriv`` and the RK4 step in
``opencram.track.models``) is the reference: it is what the maths reads like, and
``tests/test_batched.py`` checks these kernels against it. The kernels exist because the
tracker, the impact and origin predictions and fire control integrate a few states at a
time over many short steps, where numpy's per-call overhead dominates (profile in
docs/benchmarks.md).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit


@njit(cache=True)
def _accel(up, vx, vy, vz, kap, air, out):
    """Drag and gravity acceleration into out[0:3]; ``air`` packs the density table."""
    rho_tab, rho_slope, site_alt, amin, amax, astep, g, kscale = air
    alt = site_alt + up
    xx = (min(max(alt, amin), amax) - amin) / astep
    i = min(int(xx), rho_tab.size - 2)
    rho = rho_tab[i] + (xx - i) * rho_slope[i]
    sp = math.sqrt(vx * vx + vy * vy + vz * vz)
    k = 0.5 * rho * kap * kscale * sp
    out[0] = -k * vx
    out[1] = -k * vy
    out[2] = -k * vz - g


@njit(cache=True)
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
