"""Compiled RK4 step for batched point-mass flights (numba).

The numpy form (``opencram.physics.trajectory.acceleration`` and ``rk4_step_reference``)
is the reference that reads like the physics; ``tests/test_against_scipy.py`` checks the
integrator against ``solve_ivp`` and ``tests/test_batched.py`` this kernel against the
numpy step. It exists because flights step a handful of projectiles many times, where
numpy's per-call overhead dominates (docs/benchmarks.md).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit


@njit(cache=True)
def _accel(t, px, py, pz, vx, vy, vz, j, prm, env, out):
    """Acceleration of projectile ``j`` into out[0:3] (same terms as the numpy version)."""
    mass, burn_rate, burn_time, thrust_n, ff, area, table, on = prm
    (
        rho_tab,
        rho_d,
        a_tab,
        a_d,
        site_alt,
        amin,
        amax,
        astep,
        wind_alt,
        wind_vel,
        cd_tab,
        mach_step,
        mach_max,
        g0,
        r_earth,
    ) = env
    alt = site_alt + pz
    x = (min(max(alt, amin), amax) - amin) / astep
    i = min(int(x), rho_tab.size - 2)
    f = x - i
    rho = rho_tab[i] + f * rho_d[i]
    a_sound = a_tab[i] + f * a_d[i]
    if wind_alt.size == 1:
        wx, wy, wz = wind_vel[0, 0], wind_vel[0, 1], wind_vel[0, 2]
    else:
        wx = np.interp(alt, wind_alt, wind_vel[:, 0])
        wy = np.interp(alt, wind_alt, wind_vel[:, 1])
        wz = np.interp(alt, wind_alt, wind_vel[:, 2])
    ax, ay, az = vx - wx, vy - wy, vz - wz
    speed = math.sqrt(ax * ax + ay * ay + az * az)
    xm = min(max(speed / a_sound, 0.0), mach_max) / mach_step
    i0 = min(int(xm), cd_tab.shape[1] - 2)
    fm = xm - i0
    row = table[j]
    cd = ff[j] * ((1.0 - fm) * cd_tab[row, i0] + fm * cd_tab[row, i0 + 1])
    m = mass[j] - burn_rate[j] * min(max(t, 0.0), burn_time[j])
    thrust = thrust_n[j] if on[j] else 0.0
    inv_speed = 1.0 / max(speed, 1e-9) if speed > 0 else 0.0
    k = (thrust * inv_speed - 0.5 * rho * speed * cd * area[j]) / m
    out[0] = k * ax
    out[1] = k * ay
    out[2] = k * az - g0 * (r_earth / (r_earth + alt)) ** 2


@njit(cache=True)
def rk4_rows(t, pos, vel, h, prm, env):
    """One RK4 step of ``h[j]`` from flight time ``t[j]`` for every projectile; the motor
    state (``prm``'s last entry) is held over the step. Returns new positions and
    velocities (n, 3)."""
    n = pos.shape[0]
    p_out = np.empty_like(pos)
    v_out = np.empty_like(vel)
    a1, a2, a3, a4 = np.empty(3), np.empty(3), np.empty(3), np.empty(3)
    for j in range(n):
        hj, tj = h[j], t[j]
        p, v = pos[j], vel[j]
        _accel(tj, p[0], p[1], p[2], v[0], v[1], v[2], j, prm, env, a1)
        v2 = (v[0] + 0.5 * hj * a1[0], v[1] + 0.5 * hj * a1[1], v[2] + 0.5 * hj * a1[2])
        p2 = (p[0] + 0.5 * hj * v[0], p[1] + 0.5 * hj * v[1], p[2] + 0.5 * hj * v[2])
        _accel(tj + 0.5 * hj, p2[0], p2[1], p2[2], v2[0], v2[1], v2[2], j, prm, env, a2)
        v3 = (v[0] + 0.5 * hj * a2[0], v[1] + 0.5 * hj * a2[1], v[2] + 0.5 * hj * a2[2])
        p3 = (p[0] + 0.5 * hj * v2[0], p[1] + 0.5 * hj * v2[1], p[2] + 0.5 * hj * v2[2])
        _accel(tj + 0.5 * hj, p3[0], p3[1], p3[2], v3[0], v3[1], v3[2], j, prm, env, a3)
        v4 = (v[0] + hj * a3[0], v[1] + hj * a3[1], v[2] + hj * a3[2])
        p4 = (p[0] + hj * v3[0], p[1] + hj * v3[1], p[2] + hj * v3[2])
        _accel(tj + hj, p4[0], p4[1], p4[2], v4[0], v4[1], v4[2], j, prm, env, a4)
        for c in range(3):
            p_out[j, c] = p[c] + hj / 6.0 * (v[c] + 2 * v2[c] + 2 * v3[c] + v4[c])
            v_out[j, c] = v[c] + hj / 6.0 * (a1[c] + 2 * a2[c] + 2 * a3[c] + a4[c])
    return p_out, v_out
