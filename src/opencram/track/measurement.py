"""Radar measurements of a track state: range, azimuth, elevation, and range rate.

``z = [range_m, az_rad, el_rad, range_rate_mps]`` seen from a sensor at ``sensor_enu_m``;
azimuth clockwise from north, elevation above the local horizontal (of the site frame: over
a few km the tilt between the sensor's and the site's horizontal is below 1 mrad and is
neglected). A plot without range rate carries NaN there; its row then gets a huge variance
and a zero innovation, so one batched update serves both kinds of plot.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from opencram.sense.plots import Plots
from opencram.track.config import TrackerSensor

MEAS_DIM = 4
# Range-rate variance of a plot without range rate, (m/s)²: a standard deviation of 1e6 m/s,
# so the row carries no information but S stays invertible.
NO_INFO_VAR = 1e12
# Floors against 0/0 for a target at the antenna (range, m) and straight above it (squared
# horizontal distance, m²), where the range rate and the azimuth are undefined.
MIN_RANGE_M = 1e-9
MIN_HORIZ2_M2 = 1e-12


def predict_measurement(x: np.ndarray, sensor_enu_m: np.ndarray) -> np.ndarray:
    """h(x) (m, 4) for states (m, >=6) and sensor positions (m, 3)."""
    d = x[:, 0:3] - sensor_enu_m
    horiz = np.hypot(d[:, 0], d[:, 1])
    rng = np.sqrt(horiz**2 + d[:, 2] ** 2)
    az = np.mod(np.arctan2(d[:, 0], d[:, 1]), 2 * np.pi)
    el = np.arctan2(d[:, 2], horiz)
    rr = np.einsum("ij,ij->i", d, x[:, 3:6]) / np.maximum(rng, MIN_RANGE_M)
    return np.stack([rng, az, el, rr], axis=-1)


def measurement_jacobian(x: np.ndarray, sensor_enu_m: np.ndarray, dim: int = 7) -> np.ndarray:
    """H = dh/dx (m, 4, dim)."""
    d = x[:, 0:3] - sensor_enu_m
    v = x[:, 3:6]
    de, dn, du = d[:, 0], d[:, 1], d[:, 2]
    h2 = np.maximum(de**2 + dn**2, MIN_HORIZ2_M2)
    hz = np.sqrt(h2)
    r2 = h2 + du**2
    r = np.sqrt(r2)
    m = x.shape[0]
    jac = np.zeros((m, MEAS_DIM, dim))
    jac[:, 0, 0:3] = d / r[:, None]
    jac[:, 1, 0] = dn / h2
    jac[:, 1, 1] = -de / h2
    jac[:, 2, 0] = -de * du / (r2 * hz)
    jac[:, 2, 1] = -dn * du / (r2 * hz)
    jac[:, 2, 2] = hz / r2
    rr = np.einsum("ij,ij->i", d, v) / r
    jac[:, 3, 0:3] = (v - (rr / r)[:, None] * d) / r[:, None]
    jac[:, 3, 3:6] = d / r[:, None]
    return jac


def innovation(z: np.ndarray, z_pred: np.ndarray) -> np.ndarray:
    """z - h(x) with the azimuth wrapped to (-pi, pi] and absent range rates zeroed."""
    nu = z - z_pred
    nu[..., 1] = np.mod(nu[..., 1] + np.pi, 2 * np.pi) - np.pi
    nu[..., 3] = np.where(np.isnan(z[..., 3]), 0.0, nu[..., 3])
    return nu


def noise_cov(sig_r, sig_az, sig_el, sig_rr, has_rr) -> np.ndarray:
    """Diagonal R (m, 4, 4); rows without range rate get an uninformative variance."""
    sig_r = np.asarray(sig_r, dtype=float)
    m = sig_r.shape[0]
    out = np.zeros((m, MEAS_DIM, MEAS_DIM))
    out[:, 0, 0] = sig_r**2
    out[:, 1, 1] = np.asarray(sig_az) ** 2
    out[:, 2, 2] = np.asarray(sig_el) ** 2
    out[:, 3, 3] = np.where(has_rr, np.asarray(sig_rr) ** 2, NO_INFO_VAR)
    return out


@dataclass(frozen=True)
class Frame:
    """One sensor frame of plots as the filters read it: the plots, their measurements
    ``z`` (m, 4), noise ``r`` (m, 4, 4) and the position of each plot's sensor (m, 3)."""

    plots: Plots
    z: np.ndarray
    r: np.ndarray
    sensor_enu_m: np.ndarray

    def without(self, taken: np.ndarray) -> Frame:
        """The plots where ``taken`` (m,) is false."""
        return self.take(np.flatnonzero(~taken))

    def take(self, idx: np.ndarray) -> Frame:
        """The plots at indices ``idx``."""
        return Frame(self.plots.take(idx), self.z[idx], self.r[idx], self.sensor_enu_m[idx])


def correlation_inflation(revisit_s: float, corr_s: float) -> float:
    """Variance factor ``(1 + rho) / (1 - rho)`` with ``rho = exp(-revisit_s / corr_s)``
    for plots whose errors are a first-order autoregressive process of correlation time
    ``corr_s`` sampled every ``revisit_s`` (1 when ``corr_s`` is 0).

    n plots of such errors average to the variance of ``n (1 - rho) / (1 + rho)``
    independent ones (the effective sample size of an AR(1) series: Wilks, *Statistical
    Methods in the Atmospheric Sciences*, section 5.2.4), so a filter that takes every plot
    as independent with its variance multiplied by this factor gains, over a run of plots,
    the information they hold, and its gate stays honest about the slow wander of the
    errors. (Exact treatments augment the state with the error or difference successive
    plots; this keeps the filters as they are.)"""
    if corr_s <= 0.0:
        return 1.0
    rho = float(np.exp(-revisit_s / corr_s))
    return (1.0 + rho) / (1.0 - rho)


def frame_of(plots: Plots, sensors: list[TrackerSensor], sensor_enu_m: np.ndarray) -> Frame:
    """The measurements and noise of ``plots`` from ``sensors`` at ``sensor_enu_m`` (k, 3);
    range and angle variances are multiplied by each sensor's
    :func:`correlation_inflation`."""
    s = plots.sensor
    z = np.stack([plots.range_m, plots.az_rad, plots.el_rad, plots.range_rate_mps], axis=-1)
    sens = [sensors[i] for i in s]
    infl = np.sqrt([correlation_inflation(q.scan_s, q.noise_corr_s) for q in sens])
    r = noise_cov(
        np.array([q.sigma_range_m for q in sens]) * infl,
        np.array([q.sigma_az_rad for q in sens]) * infl,
        np.array([q.sigma_el_rad for q in sens]) * infl,
        [q.sigma_range_rate_mps or 1.0 for q in sens],
        ~np.isnan(plots.range_rate_mps)
        & np.array([q.sigma_range_rate_mps is not None for q in sens], dtype=bool),
    )
    return Frame(plots, z, r, sensor_enu_m[s])


def plot_rcs_dbsm(plots: Plots, sensors: list[TrackerSensor]) -> np.ndarray:
    """RCS (dBsm) implied by each plot's SNR through its radar's range equation
    (``SNR ∝ RCS / R^4`` through the radar's reference point); NaN where not known."""
    out = np.full(len(plots), np.nan)
    for k, sensor in enumerate(sensors):
        if sensor.reference is None:
            continue
        sel = plots.sensor == k
        r_ref, rcs_ref, snr_ref = sensor.reference
        with np.errstate(divide="ignore", invalid="ignore"):
            out[sel] = (
                plots.snr_db[sel]
                - snr_ref
                + 10 * np.log10(rcs_ref)
                - 40 * np.log10(r_ref / plots.range_m[sel])
            )
    return out
