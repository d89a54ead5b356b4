"""Compiled RK4 step for batched point-mass flights (numba).

The numpy form (``opencram.physics.trajectory.acceleration`` and ``rk4_step_reference``)
is the reference that reads like the physics; ``tests/test_against_scipy.py`` checks the
integrator against ``solve_ivp`` and ``tests/test_batched.py`` this kernel against the
numpy step. It exists because flights step a handful of projectiles many times, where
numpy's per-call overhead dominates (docs/benchmarks.md).

Speed notes (issue 14): the parameter and table tuples are unpacked once per call, not
once per acceleration (unpacking a tuple of arrays inside the row loop costs a reference
count per array per evaluation), each row's parameters are read once into scalars, and the
acceleration is inlined and returns scalars rather than writing a scratch array, so the
four stages stay in registers. The arithmetic, and its order, is the numpy reference's.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit


@njit(inline="always")
def _accel(t, px, py, pz, vx, vy, vz, row, air, wind, drag):
    """Acceleration (ax, ay, az) of one projectile (same terms as the numpy version).

    ``row`` is the projectile's (mass, burn rate, burn time, thrust, form factor, area,
    drag-table row); ``air``, ``wind`` and ``drag`` the unpacked tables of the environment;
    ``air`` ends with the Earth's angular velocity in ENU (zeros without a latitude).
    """
    mass, burn_rate, burn_time, thrust, ff, area, table = row
    rho_tab, rho_d, a_tab, a_d, site_alt, amin, amax, astep, g0, r_earth, ox, oy, oz = air
    wind_alt, wind_vel = wind
    cd_tab, mach_step, mach_max = drag
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
    cd = ff * ((1.0 - fm) * cd_tab[table, i0] + fm * cd_tab[table, i0 + 1])
    m = mass - burn_rate * min(max(t, 0.0), burn_time)
    inv_speed = 1.0 / max(speed, 1e-9) if speed > 0 else 0.0
    k = (thrust * inv_speed - 0.5 * rho * speed * cd * area) / m
    # rotating frame: -2 Omega x v - Omega x (Omega x r) (all zero without a latitude)
    qx, qy, qz = oy * pz - oz * py, oz * px - ox * pz, ox * py - oy * px
    rx = -2.0 * (oy * vz - oz * vy) - (oy * qz - oz * qy)
    ry = -2.0 * (oz * vx - ox * vz) - (oz * qx - ox * qz)
    rz = -2.0 * (ox * vy - oy * vx) - (ox * qy - oy * qx)
    return k * ax + rx, k * ay + ry, k * az - g0 * (r_earth / (r_earth + alt)) ** 2 + rz


@njit(inline="always")
def _rk4_into(t, pos, vel, h, prm, on, env, p_out, v_out):
    """One RK4 step of ``h[j]`` from ``t[j]`` for every row into ``p_out``, ``v_out``."""
    mass, burn_rate, burn_time, thrust_n, ff, area, table = prm
    (rho_tab, rho_d, a_tab, a_d, site_alt, amin, amax, astep) = env[:8]
    wind = (env[8], env[9])
    drag = (env[10], env[11], env[12])
    g0, r_earth, ox, oy, oz = env[13], env[14], env[15], env[16], env[17]
    air = (rho_tab, rho_d, a_tab, a_d, site_alt, amin, amax, astep, g0, r_earth, ox, oy, oz)
    for j in range(pos.shape[0]):
        hj, tj, hh = h[j], t[j], 0.5 * h[j]
        thrust = thrust_n[j] if on[j] else 0.0
        row = (mass[j], burn_rate[j], burn_time[j], thrust, ff[j], area[j], table[j])
        px, py, pz = pos[j, 0], pos[j, 1], pos[j, 2]
        vx, vy, vz = vel[j, 0], vel[j, 1], vel[j, 2]
        # stage 1 at (p, v); stage 2 at (p + h/2 v, v + h/2 a1); and so on
        a1x, a1y, a1z = _accel(tj, px, py, pz, vx, vy, vz, row, air, wind, drag)
        bx, by, bz = vx + hh * a1x, vy + hh * a1y, vz + hh * a1z
        a2x, a2y, a2z = _accel(
            tj + hh, px + hh * vx, py + hh * vy, pz + hh * vz, bx, by, bz, row, air, wind, drag
        )
        cx, cy, cz = vx + hh * a2x, vy + hh * a2y, vz + hh * a2z
        a3x, a3y, a3z = _accel(
            tj + hh, px + hh * bx, py + hh * by, pz + hh * bz, cx, cy, cz, row, air, wind, drag
        )
        dx, dy, dz = vx + hj * a3x, vy + hj * a3y, vz + hj * a3z
        a4x, a4y, a4z = _accel(
            tj + hj, px + hj * cx, py + hj * cy, pz + hj * cz, dx, dy, dz, row, air, wind, drag
        )
        w = hj / 6.0
        p_out[j, 0] = px + w * (vx + 2 * bx + 2 * cx + dx)
        p_out[j, 1] = py + w * (vy + 2 * by + 2 * cy + dy)
        p_out[j, 2] = pz + w * (vz + 2 * bz + 2 * cz + dz)
        v_out[j, 0] = vx + w * (a1x + 2 * a2x + 2 * a3x + a4x)
        v_out[j, 1] = vy + w * (a1y + 2 * a2y + 2 * a3y + a4y)
        v_out[j, 2] = vz + w * (a1z + 2 * a2z + 2 * a3z + a4z)


@njit(cache=True)
def rk4_rows(t, pos, vel, h, prm, env):
    """One RK4 step of ``h[j]`` from flight time ``t[j]`` for every projectile; the motor
    state (``prm``'s last entry) is held over the step. Returns new positions and
    velocities (n, 3)."""
    p_out = np.empty_like(pos)
    v_out = np.empty_like(vel)
    _rk4_into(t, pos, vel, h, prm[:7], prm[7], env, p_out, v_out)
    return p_out, v_out


@njit(cache=True)
def grid_steps(k0, k_end, dt, pos, vel, prm, env, ground_up, apogee):
    """Whole grid steps ``k * dt -> (k + 1) * dt`` of every row from ``k0``, on flat ground
    at ``ground_up``, until one of: a row lands in the step (status 1), a motor would burn
    out inside the next step (status 2: that step is not taken), or ``k_end`` (status 0).

    ``prm`` is the parameter tuple without the motor state, which is set per step as
    ``t < burn time`` (as the numpy loop does). ``apogee`` (n,) is raised in place to each
    step's height. Returns (status, k, pos, vel, new_pos, new_vel): for status 1 the states
    before and after step ``k``; otherwise ``new_*`` equal the states at step ``k``.
    """
    n = pos.shape[0]
    burn_time = prm[2]
    t = np.empty(n)
    h = np.full(n, dt)
    on = np.empty(n, dtype=np.bool_)
    p_cur, v_cur = pos.copy(), vel.copy()
    p_new, v_new = np.empty_like(pos), np.empty_like(vel)
    for k in range(k0, k_end):
        t0 = k * dt
        for j in range(n):
            if burn_time[j] > t0 and burn_time[j] < t0 + dt:
                return 2, k, p_cur, v_cur, p_cur, v_cur
        for j in range(n):
            t[j] = t0
            on[j] = t0 < burn_time[j]
        _rk4_into(t, p_cur, v_cur, h, prm, on, env, p_new, v_new)
        hit = False
        for j in range(n):
            apogee[j] = max(apogee[j], p_new[j, 2])
            if p_new[j, 2] <= ground_up and v_new[j, 2] < 0:
                hit = True
        if hit:
            return 1, k, p_cur, v_cur, p_new, v_new
        p_cur, p_new = p_new, p_cur
        v_cur, v_new = v_new, v_cur
    return 0, k_end, p_cur, v_cur, p_cur, v_cur
