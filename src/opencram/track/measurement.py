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
from opencram.track.noise import NoiseEstimator, snr_factor

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
    snr_factor: np.ndarray | None = None
    """Each plot's SNR variance factor (m,) (:func:`opencram.track.noise.snr_factor`)."""

    def without(self, taken: np.ndarray) -> Frame:
        """The plots where ``taken`` (m,) is false."""
        return self.take(np.flatnonzero(~taken))

    def take(self, idx: np.ndarray) -> Frame:
        """The plots at indices ``idx``."""
        g = None if self.snr_factor is None else self.snr_factor[idx]
        return Frame(self.plots.take(idx), self.z[idx], self.r[idx], self.sensor_enu_m[idx], g)


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


def inflation_of_rho(rho: np.ndarray) -> np.ndarray:
    """``(1 + rho) / (1 - rho)``: :func:`correlation_inflation` from the lag-1 correlation."""
    return (1.0 + rho) / (1.0 - rho)


def frame_of(
    plots: Plots,
    sensors: list[TrackerSensor],
    sensor_enu_m: np.ndarray,
    noise: NoiseEstimator | None = None,
    table: SensorTable | None = None,
) -> Frame:
    """The measurements and noise of ``plots`` from ``sensors`` at ``sensor_enu_m`` (k, 3).

    Each plot's range and angle variances are its sensor's (the online estimate of
    ``noise`` when given, else the sensors' sigmas), times the correlation inflation
    (:func:`correlation_inflation`; with ``noise``, of the lag-1 correlation of
    :meth:`NoiseEstimator.rho_for_inflation`), times the plot's SNR factor
    (:func:`opencram.track.noise.snr_factor`, sensors with ``snr_ref_db``). ``table``:
    :func:`sensor_table` of ``sensors``, when the caller keeps it."""
    s = plots.sensor
    z = np.stack([plots.range_m, plots.az_rad, plots.el_rad, plots.range_rate_mps], axis=-1)
    table = table or sensor_table(sensors)
    if noise is None:
        var, infl = table.var, table.inflation
    else:
        var, infl = noise.var(), inflation_of_rho(noise.rho_for_inflation())
    g = snr_factor(plots.snr_db, table.snr_ref_db[s])
    sig = np.sqrt(var[s] * infl[s] * g[:, None])
    has_rr = ~np.isnan(plots.range_rate_mps) & table.has_rr[s]
    r = noise_cov(sig[:, 0], sig[:, 1], sig[:, 2], table.sigma_rr[s], has_rr)
    return Frame(plots, z, r, sensor_enu_m[s], g)


@dataclass(frozen=True)
class SensorTable:
    """The sensors' noise as arrays (k,) or (k, 3)."""

    var: np.ndarray
    inflation: np.ndarray
    sigma_rr: np.ndarray
    has_rr: np.ndarray
    snr_ref_db: np.ndarray


def sensor_table(sensors: list[TrackerSensor]) -> SensorTable:
    """The noise of ``sensors`` as arrays."""
    sig = np.array(
        [[q.sigma_range_m, q.sigma_az_rad, q.sigma_el_rad] for q in sensors], dtype=float
    ).reshape(-1, 3)
    infl = np.array([correlation_inflation(q.scan_s, q.noise_corr_s) for q in sensors])
    return SensorTable(
        sig**2,
        np.repeat(infl[:, None], 3, axis=1).reshape(-1, 3),
        np.array([q.sigma_range_rate_mps or 1.0 for q in sensors], dtype=float),
        np.array([q.sigma_range_rate_mps is not None for q in sensors], dtype=bool),
        np.array([np.nan if q.snr_ref_db is None else q.snr_ref_db for q in sensors]),
    )


def transient_var_rad2(age_s: np.ndarray) -> np.ndarray:
    """Extra angle variance (rad²) of a tracking radar's plots ``age_s`` after it acquired
    the round, while its servo settles (issue 13, measured on recorded firings: angle
    errors of about 20 mrad at the first plot, then 2-4 mrad for about 2.5 s)::

        sigma_t^2 = (A0 exp(-age / T0))^2 + A1^2 min(1, exp(-(age - T1) / T2))

    with A0 = :data:`TRANSIENT_FIRST_RAD`, T0 = :data:`TRANSIENT_FIRST_DECAY_S`,
    A1 = :data:`TRANSIENT_SETTLE_RAD`, T1 = :data:`TRANSIENT_SETTLE_S` and
    T2 = :data:`TRANSIENT_FADE_S`. Added to the plot's azimuth and elevation variances,
    an independent error on top of the loop's noise."""
    age = np.maximum(np.asarray(age_s, dtype=float), 0.0)
    first = (TRANSIENT_FIRST_RAD * np.exp(-age / TRANSIENT_FIRST_DECAY_S)) ** 2
    settle = TRANSIENT_SETTLE_RAD**2 * np.minimum(
        1.0, np.exp(-(age - TRANSIENT_SETTLE_S) / TRANSIENT_FADE_S)
    )
    return first + settle


# The acquisition transient (transient_var_rad2): 20 mrad at the first plot (issue 13),
# falling with a time constant of a quarter second (five plots at 20 Hz: the servo's
# first swing). The 2-4 mrad that follow for about 2.5 s are NOT down-weighted
# (TRANSIENT_SETTLE_RAD = 0), measured on the 20 Hz test streams (4 seeds, the round's
# confirmed updates): with 2 mrad held 2.5 s the position error 1-3 s after the first
# plot was 9.5 m RMS (coverage of the 95 % ellipsoid 0.83) against 5.2 m (0.99) without,
# and with 3 mrad a round's track split in two. The track's start pair (the initiator's)
# already carries the transient, and down-weighting the plots that follow only slows its
# correction; the settle term waits for a start that avoids the transient's plots.
TRANSIENT_FIRST_RAD = 20e-3
TRANSIENT_FIRST_DECAY_S = 0.25
TRANSIENT_SETTLE_RAD = 0.0
TRANSIENT_SETTLE_S = 2.5
TRANSIENT_FADE_S = 0.5
# Plots this long after acquisition are past the transient (the settle time plus four
# fade constants: the extra variance is below 2 % of its settled value): the noise
# estimate and the lock test take them.
TRANSIENT_END_S = TRANSIENT_SETTLE_S + 4 * TRANSIENT_FADE_S


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
