"""Track start: two-point initiation from unassociated plots, with a speed and Doppler
check, batched over plot pairs. Confirmation (M of N) is counted by the tracker.

Each plot that no track takes joins a pool of recent plots (at most
``TrackerConfig.init_window_s`` old). A new plot and an earlier pooled plot at least
``init_min_dt_s`` apart form a plausible pair when the speed between them is within
``init_speed_mps`` and, where the new plot has a range rate, the pair's radial velocity
agrees with it. Every plausible pair (up to ``init_candidates`` per new plot, nearest
first) starts a tentative track: in a salvo the nearest earlier plot is often another
round, so the tracks that go on finding plots decide (and the deleter merges duplicates).
At most ``max_starts_per_frame`` pairs per sensor start tracks in one call (one frame):
beyond it the pairs whose plots lie farthest apart are shed and counted
(:attr:`TwoPointInitiator.n_starts_shed`); their new plots join the pool instead.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from opencram.physics.atmosphere import G0_MPS2
from opencram.sense.plots import Plots, plots_to_enu
from opencram.track.config import TrackerConfig, TrackerSensor
from opencram.track.measurement import correlation_inflation
from opencram.track.models import DIM

# Doppler check of a pair: |pair radial velocity - plot range rate| within this many range
# rate sigmas, plus this fraction of the range rate and this many m/s (gravity and drag
# change the velocity over the pair, which the straight-line pair velocity ignores).
DOPPLER_SIGMAS = 3.0
DOPPLER_REL_TOL = 0.1
DOPPLER_ABS_TOL_MPS = 15.0
# Velocity sd added to a new track's start, m/s: this much plus g times the pair's span
# (the pair's straight-line velocity misses a changing velocity by about g dt).
START_VEL_SD_MPS = 5.0


@dataclass(frozen=True)
class PlotPool:
    """Unassociated plots kept for track start: times (k,) s, ENU positions (k, 3) m and
    position covariances (k, 3, 3) m²."""

    t_s: np.ndarray
    pos_enu_m: np.ndarray
    cov: np.ndarray

    def recent(self, since_s: float) -> PlotPool:
        """The plots measured after ``since_s``."""
        keep = self.t_s > since_s
        return PlotPool(self.t_s[keep], self.pos_enu_m[keep], self.cov[keep])

    def plus(self, other: PlotPool) -> PlotPool:
        """These plots, then ``other``'s."""
        return PlotPool(
            np.concatenate([self.t_s, other.t_s]),
            np.concatenate([self.pos_enu_m, other.pos_enu_m]),
            np.concatenate([self.cov, other.cov]),
        )


@dataclass(frozen=True)
class NewTracks:
    """Tentative tracks to start: 7-column states (k, 7), covariances (k, 7, 7), at the
    times (k,) s of their newer plot."""

    x: np.ndarray
    p: np.ndarray
    t_s: np.ndarray


@dataclass(frozen=True)
class _Pairs:
    """Plausible start pairs: new-plot and pool indices (k,), the time from the pooled
    plot to the new one (k,) and the position difference (k, 3)."""

    new: np.ndarray
    old: np.ndarray
    dt_s: np.ndarray
    dpos_m: np.ndarray


class TwoPointInitiator:
    """Starts tentative tracks from pairs of unassociated plots (module docstring)."""

    def __init__(
        self, config: TrackerConfig, sensors: list[TrackerSensor], sensor_enu_m: np.ndarray
    ) -> None:
        self.config = config
        self.sensors = sensors
        self.sensor_enu_m = sensor_enu_m
        self.pool: PlotPool | None = None  # None until the first unassociated plots
        self.n_starts_shed = 0
        """Start pairs shed over ``max_starts_per_frame`` (tentative tracks not started)."""

    def initiate(self, plots: Plots, plot_sensor_enu_m: np.ndarray) -> NewTracks | None:
        """Tracks started by unassociated ``plots`` (seen from ``plot_sensor_enu_m``
        (m, 3)) with the pool; the plots that start none join the pool."""
        if not len(plots):
            return None
        pos = plots_to_enu(plots, self.sensor_enu_m)
        cov = position_cov(plots, self.sensors)
        t = plots.time_s
        pool = self.pool
        if pool is not None:
            pool = pool.recent(t.max() - self.config.init_window_s)
        used_new = np.zeros(len(plots), dtype=bool)
        new = None
        if pool is not None and pool.t_s.size:
            pairs = self._capped(self._pairs(plots, pos, plot_sensor_enu_m, pool), plots.sensor)
            if pairs.new.size:
                new = self._start(pairs, pos, cov, t, pool)
                used_new[pairs.new] = True
        fresh = PlotPool(t[~used_new], pos[~used_new], cov[~used_new])
        self.pool = fresh if pool is None else pool.plus(fresh)
        return new

    def _pairs(self, plots, pos, plot_sensor_enu_m, pool: PlotPool) -> _Pairs:
        """Plausible pairs of new plots and pooled plots, up to ``init_candidates`` per new
        plot, nearest first."""
        cfg = self.config
        dt = plots.time_s[:, None] - pool.t_s[None, :]
        dp = pos[:, None, :] - pool.pos_enu_m[None, :, :]
        speed = np.linalg.norm(dp, axis=-1) / np.where(dt > 0, dt, np.inf)
        ok = (dt >= cfg.init_min_dt_s) & (speed >= cfg.init_speed_mps[0])
        ok &= speed <= cfg.init_speed_mps[1]
        rr = plots.range_rate_mps
        has_rr = ~np.isnan(rr)
        if has_rr.any():
            ok &= ~has_rr[:, None] | self._doppler_agrees(plots, pos, plot_sensor_enu_m, dt, dp)
        dist = np.where(ok, np.linalg.norm(dp, axis=-1), np.inf)
        k = min(cfg.init_candidates, dist.shape[1])
        near = np.argsort(dist, axis=1)[:, :k]
        ni = np.repeat(np.arange(dist.shape[0]), k)
        pk = near.reshape(-1)
        good = np.isfinite(dist[ni, pk])
        ni, pk = ni[good], pk[good]
        return _Pairs(ni, pk, dt[ni, pk], dp[ni, pk])

    def _capped(self, pairs: _Pairs, sensor: np.ndarray) -> _Pairs:
        """``pairs`` with at most ``max_starts_per_frame`` per sensor of the new plot: the
        nearest pairs (stable among equal distances), in their order; the rest counted."""
        cap = self.config.max_starts_per_frame
        if pairs.new.size <= cap:
            return pairs
        s = sensor[pairs.new]
        dist = np.linalg.norm(pairs.dpos_m, axis=1)
        order = np.lexsort((dist, s))  # by sensor, then nearest first (stable)
        first = np.searchsorted(s[order], s[order], side="left")
        rank = np.empty(order.size, dtype=np.int64)
        rank[order] = np.arange(order.size) - first
        keep = rank < cap
        if keep.all():
            return pairs
        self.n_starts_shed += int((~keep).sum())
        k = np.flatnonzero(keep)
        return _Pairs(pairs.new[k], pairs.old[k], pairs.dt_s[k], pairs.dpos_m[k])

    def _doppler_agrees(self, plots, pos, plot_sensor_enu_m, dt, dp) -> np.ndarray:
        """(new, pooled) pairs whose radial velocity agrees with the new plot's range rate
        (meaningful where the new plot has one)."""
        rr = plots.range_rate_mps
        # line of sight; the 1 m floor only guards a plot at the antenna
        los = (pos - plot_sensor_enu_m) / np.maximum(plots.range_m, 1.0)[:, None]
        v_pair = dp / np.where(dt > 0, dt, np.inf)[..., None]
        radial = np.einsum("nkd,nd->nk", v_pair, los)
        sig = np.array([self.sensors[i].sigma_range_rate_mps or 0.0 for i in plots.sensor])
        tol = DOPPLER_SIGMAS * sig + DOPPLER_REL_TOL * np.abs(rr) + DOPPLER_ABS_TOL_MPS
        return np.abs(radial - rr[:, None]) <= tol[:, None]

    def _start(self, pairs: _Pairs, pos, cov, t, pool: PlotPool) -> NewTracks:
        """Start states: the newer plot's position, the pair's velocity with a first-order
        gravity correction, the kappa prior; the covariance from the two plots' position
        covariances."""
        cfg = self.config
        ni, pk, dtt = pairs.new, pairs.old, pairs.dt_s
        vel = pairs.dpos_m / dtt[:, None]
        vel[:, 2] -= 0.5 * G0_MPS2 * dtt  # first-order gravity correction
        x = np.zeros((ni.size, DIM))
        x[:, 0:3], x[:, 3:6], x[:, 6] = pos[ni], vel, cfg.kappa_prior
        p = np.zeros((ni.size, DIM, DIM))
        p[:, 0:3, 0:3] = cov[ni]
        p[:, 0:3, 3:6] = cov[ni] / dtt[:, None, None]
        p[:, 3:6, 0:3] = p[:, 0:3, 3:6]
        p[:, 3:6, 3:6] = (cov[ni] + pool.cov[pk]) / dtt[:, None, None] ** 2
        p[:, 3:6, 3:6] += np.eye(3) * (START_VEL_SD_MPS + G0_MPS2 * dtt[:, None, None]) ** 2
        p[:, 6, 6] = cfg.kappa_prior_sd**2
        return NewTracks(x, p, t[ni])


def position_cov(plots: Plots, sensors: list[TrackerSensor]) -> np.ndarray:
    """ENU position covariance (n, 3, 3) of plots from their polar noise (inflated for
    correlated errors as in :func:`opencram.track.measurement.frame_of`)."""
    r, az, el = plots.range_m, plots.az_rad, plots.el_rad
    sens = [sensors[i] for i in plots.sensor]
    infl = np.sqrt([correlation_inflation(q.scan_s, q.noise_corr_s) for q in sens])
    sr = np.array([q.sigma_range_m for q in sens]) * infl
    sa = np.array([q.sigma_az_rad for q in sens]) * infl
    se = np.array([q.sigma_el_rad for q in sens]) * infl
    ca, sa_, ce, se_ = np.cos(az), np.sin(az), np.cos(el), np.sin(el)
    # d(e, n, u) / d(r, az, el) for e = r ce sa, n = r ce ca, u = r se
    j = np.zeros((r.size, 3, 3))
    j[:, 0] = np.stack([ce * sa_, r * ce * ca, -r * se_ * sa_], -1)
    j[:, 1] = np.stack([ce * ca, -r * ce * sa_, -r * se_ * ca], -1)
    j[:, 2] = np.stack([se_, np.zeros_like(r), r * ce], -1)
    d = np.zeros((r.size, 3, 3))
    d[:, 0, 0], d[:, 1, 1], d[:, 2, 2] = sr**2, sa**2, se**2
    return j @ d @ np.swapaxes(j, 1, 2)
