"""20 Hz plot streams of ballistic rounds as a counter-battery radar's own tracking loop
reports them (issue 13): errors correlated in time, an acquisition transient, isolated
range spikes, and either a loss-of-lock tail or post-impact ground clutter.

The truth is flown here with a plain point-mass integrator of our own (exponential air,
constant drag parameter, fixed-step RK4), independent of opencram.physics and of the
tracker's model, so the tracker meets dynamics it was not written against.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from opencram.sense.plots import Plots
from opencram.track.config import TrackerSensor

RATE_HZ = 20.0
DT_S = 1.0 / RATE_HZ
G_MPS2 = 9.80665
RHO0_KGPM3 = 1.225
SCALE_HEIGHT_M = 8500.0  # exponential air: rho = rho0 exp(-h / H)
KAPPA_M2PKG = 1.2e-4  # Cd A / m of a 120 mm-class round, m²/kg (order of magnitude)

# Plot errors (issue 13's figures for the recorded radar): AR(1) with this lag-1
# coefficient at 20 Hz, and these short-term standard deviations.
AR1_RHO = 0.8
SIGMA_RANGE_M = 5.0
SIGMA_ANGLE_RAD = 0.4e-3
# Acquisition transient: about 20 mrad at the first plot, 2-4 mrad for about 2.5 s.
TRANSIENT_FIRST_RAD = 20e-3
TRANSIENT_FIRST_DECAY_S = 0.1
TRANSIENT_RAD = 3e-3
TRANSIENT_S = 2.5
# Isolated range spikes of 25-35 m, on this fraction of the plots.
SPIKE_FRACTION = 0.01
SPIKE_M = (25.0, 35.0)
# Loss of lock at this height on the way down; the loop then reports, for TAIL_S, a range
# walking back at TAIL_RANGE_RATE_MPS and angles drifting, at an SNR of 0-5 dB.
LOCK_LOSS_HEIGHT_M = 1200.0
TAIL_S = 4.0
TAIL_RANGE_RATE_MPS = -60.0
TAIL_DRIFT_RADPS = 4e-3
# Ground clutter after impact: high SNR for CLUTTER_S.
CLUTTER_S = 6.0
SNR_TRACK_DB = (20.0, 30.0)
SNR_TAIL_DB = (0.0, 5.0)
# truth ids of the plots that are not the round's
TAIL_ID = 100
CLUTTER_ID = 200


def fly(pos_m, vel_mps, t_end_s: float, dt_s: float = DT_S):
    """Point-mass flight with quadratic drag in exponential air, fixed-step RK4: times (k,)
    and ENU positions (k, 3) until the ground (the last step cut at height 0)."""

    def acc(p, v):
        rho = RHO0_KGPM3 * np.exp(-p[2] / SCALE_HEIGHT_M)
        return -0.5 * rho * KAPPA_M2PKG * np.linalg.norm(v) * v - np.array([0.0, 0.0, G_MPS2])

    p, v = np.asarray(pos_m, float), np.asarray(vel_mps, float)
    ts, ps = [0.0], [p.copy()]
    t = 0.0
    while t < t_end_s and p[2] >= 0.0:
        k1p, k1v = v, acc(p, v)
        k2p, k2v = v + 0.5 * dt_s * k1v, acc(p + 0.5 * dt_s * k1p, v + 0.5 * dt_s * k1v)
        k3p, k3v = v + 0.5 * dt_s * k2v, acc(p + 0.5 * dt_s * k2p, v + 0.5 * dt_s * k2v)
        k4p, k4v = v + dt_s * k3v, acc(p + dt_s * k3p, v + dt_s * k3v)
        p = p + dt_s / 6 * (k1p + 2 * k2p + 2 * k3p + k4p)
        v = v + dt_s / 6 * (k1v + 2 * k2v + 2 * k3v + k4v)
        t += dt_s
        ts.append(t)
        ps.append(p.copy())
    return np.array(ts), np.array(ps)


def ar1(rng: np.random.Generator, n: int, sigma: float, rho: float = AR1_RHO) -> np.ndarray:
    """A stationary AR(1) series of n values with standard deviation sigma."""
    out = np.empty(n)
    e = rng.normal(0.0, sigma * np.sqrt(1 - rho**2), n)
    out[0] = rng.normal(0.0, sigma)
    for k in range(1, n):
        out[k] = rho * out[k - 1] + e[k]
    return out


def polar(pos_m: np.ndarray):
    """Range, azimuth (clockwise from north), elevation of ENU positions from the origin."""
    r = np.linalg.norm(pos_m, axis=1)
    az = np.mod(np.arctan2(pos_m[:, 0], pos_m[:, 1]), 2 * np.pi)
    el = np.arctan2(pos_m[:, 2], np.hypot(pos_m[:, 0], pos_m[:, 1]))
    return r, az, el


@dataclass(frozen=True)
class Round:
    """A round to fly: launch point and velocity (ENU), launch time, first plot after."""

    launch_m: tuple[float, float, float]
    vel_mps: tuple[float, float, float]
    launch_s: float = 0.0
    first_plot_after_s: float = 6.0
    ending: str = "tail"  # "tail" (loss of lock) or "clutter" (followed to the ground)


def _errors(rng, n):
    """Range, azimuth, elevation errors of n plots from acquisition on."""
    t = np.arange(n) * DT_S
    transient = TRANSIENT_FIRST_RAD * np.exp(-t / TRANSIENT_FIRST_DECAY_S)
    transient += TRANSIENT_RAD * np.clip(1 - t / TRANSIENT_S, 0, None)
    ang = rng.uniform(0, 2 * np.pi)  # the transient's direction, fixed over the acquisition
    d_r = ar1(rng, n, SIGMA_RANGE_M)
    spike = rng.random(n) < SPIKE_FRACTION
    d_r[spike] += rng.choice([-1.0, 1.0], spike.sum()) * rng.uniform(*SPIKE_M, spike.sum())
    d_az = ar1(rng, n, SIGMA_ANGLE_RAD) + transient * np.cos(ang)
    d_el = ar1(rng, n, SIGMA_ANGLE_RAD) + transient * np.sin(ang)
    return d_r, d_az, d_el, spike


def round_plots(rng: np.random.Generator, rnd: Round, truth_id: int):
    """The 20 Hz plots of one round: its own (``truth_id``), then its tail or clutter;
    also the true times and positions of its own plots, and which of them are spikes."""
    t_fl, pos = fly(rnd.launch_m, rnd.vel_mps, 300.0)
    t_abs = t_fl + rnd.launch_s
    first = int(np.searchsorted(t_fl, rnd.first_plot_after_s))
    descending = np.r_[False, np.diff(pos[:, 2]) < 0]
    if rnd.ending == "tail":
        last = int(np.flatnonzero(descending & (pos[:, 2] < LOCK_LOSS_HEIGHT_M))[0])
    else:
        last = len(t_fl) - 1
    idx = np.arange(first, last)
    n = idx.size
    r, az, el = polar(pos[idx])
    d_r, d_az, d_el, spike = _errors(rng, n)
    own = _plots(t_abs[idx], r + d_r, az + d_az, el + d_el, SNR_TRACK_DB, truth_id, rng)
    if rnd.ending == "tail":
        extra = _tail(rng, t_abs[last - 1], r[-1] + d_r[-1], az[-1] + d_az[-1], el[-1] + d_el[-1])
    else:
        extra = _clutter(rng, t_abs[-1], pos[-1])
    return own, extra, t_abs[idx], pos[idx], spike


def _tail(rng, t0, r0, az0, el0) -> Plots:
    """Loss-of-lock tail: range walking back, angles drifting, SNR 0-5 dB."""
    t = t0 + DT_S * np.arange(1, int(TAIL_S * RATE_HZ) + 1)
    dt = t - t0
    drift = rng.choice([-1.0, 1.0], 2) * TAIL_DRIFT_RADPS
    n = t.size
    r = r0 + TAIL_RANGE_RATE_MPS * dt + ar1(rng, n, 3 * SIGMA_RANGE_M)
    az = az0 + drift[0] * dt + ar1(rng, n, 3 * SIGMA_ANGLE_RAD)
    el = el0 + drift[1] * dt + ar1(rng, n, 3 * SIGMA_ANGLE_RAD)
    return _plots(t, r, az, el, SNR_TAIL_DB, TAIL_ID, rng)


def _clutter(rng, t_impact, impact_m) -> Plots:
    """Ground clutter at the impact point for CLUTTER_S, at a high SNR."""
    t = t_impact + DT_S * np.arange(1, int(CLUTTER_S * RATE_HZ) + 1)
    n = t.size
    r, az, el = polar(np.repeat(impact_m[None, :] * [1, 1, 0], n, axis=0))
    r = r + ar1(rng, n, 2 * SIGMA_RANGE_M)
    az = az + ar1(rng, n, 2 * SIGMA_ANGLE_RAD)
    el = el + ar1(rng, n, 2 * SIGMA_ANGLE_RAD)
    return _plots(t, r, az, el, SNR_TRACK_DB, CLUTTER_ID, rng)


def _plots(t, r, az, el, snr_range, truth_id, rng) -> Plots:
    n = len(t)
    return Plots(
        time_s=t,
        sensor=np.zeros(n, dtype=np.int64),
        range_m=r,
        az_rad=np.mod(az, 2 * np.pi),
        el_rad=el,
        range_rate_mps=np.full(n, np.nan),
        snr_db=rng.uniform(*snr_range, n),
        arrival_s=t,
        truth_id=np.full(n, truth_id, dtype=np.int64),
    )


def radar(*, corr: bool = True, snr_floor: bool = True) -> TrackerSensor:
    """The tracker's view of the 20 Hz radar: its short-term noise, its revisit period, the
    correlation time of its errors (from the lag-1 coefficient: tau = -dt / ln rho) and
    its detection threshold as the start SNR floor."""
    return TrackerSensor(
        id="cbr",
        pos_enu_m=np.zeros(3),
        sigma_range_m=SIGMA_RANGE_M,
        sigma_az_rad=SIGMA_ANGLE_RAD,
        sigma_el_rad=SIGMA_ANGLE_RAD,
        scan_s=DT_S,
        noise_corr_s=-DT_S / np.log(AR1_RHO) if corr else 0.0,
        min_start_snr_db=10.0 if snr_floor else None,
    )


def track_stream(plots: Plots, sensor: TrackerSensor, config):
    """A tracker of ``sensor`` with ``config`` fed ``plots`` one second at a time (as a
    live feed would), stepped to the end and finished."""
    from opencram.track.manager import Tracker

    tracker = Tracker([sensor], config)
    for k in range(int(plots.time_s.max()) + 2):
        sel = np.flatnonzero((plots.time_s >= k) & (plots.time_s < k + 1))
        tracker.add(plots.take(sel))
        tracker.step(k + 1.0)
    tracker.finish()
    return tracker
