r"""Online estimate of each sensor's measurement noise from the tracker's own residuals
(issue 13 point 3), batched over plots, with the sensors file's sigmas as the prior.

**Which estimator, and why.** After a track's update with a plot ``z`` of noise ``R``,
the posterior residual ``eps = z - h(x^+)`` has, for a filter whose ``R`` is right,
covariance ``R - H P^+ H^T`` (Mohamed & Schwarz, "Adaptive Kalman filtering for
INS/GPS", J. Geodesy 73, 1999; the same estimator with a forgetting factor is
Akhlaghi, Zhou & Huang, "Adaptive adjustment of noise covariance in Kalman filter for
dynamic state estimation", IEEE PESGM 2017). So each plot gives the sample, per axis
``i`` (range, azimuth, elevation)::

    q_i = (eps_i^2 + (H P^+ H^T)_ii) / g_i

with ``g_i`` the plot's own factor on the sensor's variance (its SNR weight,
:func:`snr_factor`), so ``q_i`` estimates the sensor's base variance ``sigma_i^2``.
Unlike the innovation form (``nu nu^T - H P^- H^T``) it is a sum of non-negative terms,
never a negative variance, and it needs only what the tracker holds after an update
(no change to the filters). If ``R`` is wrong the estimate moves ``R`` towards the truth
and the truth is its fixed point (scalar case: with ``a = H P^- H^T``, ``E q = R^2 (a +
R_true) / (a + R)^2 + a R / (a + R)``, since ``eps = R S^-1 nu``, which equals ``R``
only at ``R = R_true``).

**Recursion** (per sensor and axis; ``lambda`` the forgetting factor, ``w`` a plot's
weight)::

    A <- lambda^(w n) A + w sum_k min(q_k, c^2 sigma^2) / kappa(c)
    W <- lambda^(w n) W + w n
    sigma^2 = A / W,  bounded to [sigma_0^2 / F^2, F^2 sigma_0^2]

started at ``A = N_0 sigma_0^2``, ``W = N_0`` (the sensors file's ``sigma_0`` worth
:data:`PRIOR_PLOTS` plots, so a few plots cannot swing it; the prior is forgotten at the
data's rate, so after a few memories the data rule). Each sample is winsorised at
``c = ``:data:`WINSOR_SIGMAS` of the current estimate (a range spike of 6 sigma counts
as 3), and ``kappa(c) = E min(z^2, c^2)`` for a standard normal ``z`` corrects the bias
that leaves on Gaussian data. ``F`` is :data:`SIGMA_FACTOR_MAX`.

**Correlated errors** (issue 13 point 2). The lag-1 correlation ``rho`` of each sensor's
standardised residuals ``e = eps / sigma`` is estimated from consecutive plots of the
same confirmed track (at most :data:`LAG1_MAX_GAP_REVISITS` revisits apart)::

    C1 <- lambda^(w n) C1 + w sum e_k e_{k-1}
    C0 <- lambda^(w n) C0 + w sum (e_k^2 + e_{k-1}^2) / 2
    rho = C1 / C0   (started at the prior's rho from noise_corr_s, weight N_0)

and each plot's weight is its effective sample size ``w = (1 - rho) / (1 + rho)`` (the
AR(1) effective sample size: Wilks, *Statistical Methods in the Atmospheric Sciences*,
section 5.2.4), so a run of correlated plots moves the estimate no faster than the
independent errors among them would. The update's correlation inflation
(:func:`opencram.track.measurement.correlation_inflation`) uses the larger of the
configured ``rho`` and the estimated one when the estimate is clearly positive
(:data:`RHO_SIGNIFICANT`): a radar whose file states no correlation but whose residuals
show it is inflated too.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from opencram.track.config import TrackerSensor

N_AXES = 3  # range, azimuth, elevation
# Weight of the sensors file's sigmas, in independent plots: 10 (at a lag-1 correlation of
# 0.8, 90 plots or 4.5 s of a 20 Hz radar; 10 s of a 1 s one) must agree before the
# estimate moves halfway to what they say.
PRIOR_PLOTS = 10.0
# Memory of the estimate, in (effective) plots: lambda = 1 - 1 / memory. 400 plots are
# 20 s of a 20 Hz radar's plots of one round, long enough that the estimate of a sigma
# has a sampling error of a few per cent, short enough to follow a change within a flight.
MEMORY_PLOTS = 400.0
FORGET = 1.0 - 1.0 / MEMORY_PLOTS
# The estimate stays within this factor of the sensors file's sigma either way: issue 13
# measured data-sheet sigmas off by 3-17x on recorded radars.
SIGMA_FACTOR_MAX = 20.0
# Samples are winsorised at this many sigmas of the current estimate (an isolated 30 m
# range spike on a 5 m radar counts as a 3 sigma plot).
WINSOR_SIGMAS = 3.0
# Consecutive plots of a track at most this many revisit periods apart are a lag-1 pair.
LAG1_MAX_GAP_REVISITS = 1.5
# The estimated lag-1 correlation is used in the update's inflation only above this
# (for independent errors, the estimate from ~400 plots scatters by about 0.05).
RHO_SIGNIFICANT = 0.2
# A driver reports a sensor's noise again when an estimated sigma has moved by more than
# this fraction since it last did (the live service's sensor_noise event).
NOISE_REPORT_CHANGE = 0.1
# Estimated correlations are clipped to [0, RHO_MAX] (rho -> 1 would inflate without
# bound; 0.95 at 20 Hz is a correlation time of 1 s).
RHO_MAX = 0.95


def winsor_bias(c: float) -> float:
    """``E min(z^2, c^2)`` for a standard normal ``z``:
    ``(2 Phi(c) - 1) - 2 c phi(c) + 2 c^2 (1 - Phi(c))``."""
    phi = math.exp(-0.5 * c * c) / math.sqrt(2.0 * math.pi)
    tail = 0.5 * math.erfc(c / math.sqrt(2.0))
    return (1.0 - 2.0 * tail) - 2.0 * c * phi + 2.0 * c * c * tail


WINSOR_KAPPA = winsor_bias(WINSOR_SIGMAS)


@dataclass(frozen=True)
class NoiseSample:
    """Residual samples of some plots (m of them): sensor index (m,), residuals ``eps``
    (m, 3) and ``diag(H P^+ H^T)`` (m, 3) in range m, azimuth rad, elevation rad, the
    plots' variance factors ``g`` (m, 3), and each plot's track's previous standardised
    residual (m, 3), NaN where there is no lag-1 pair, the second difference of the plot
    with its track's two before it (m, 3), NaN where there are not three at one revisit,
    and whether each plot's sensor is a tracking radar (m,) (its variance then comes from
    the second differences alone)."""

    sensor: np.ndarray
    eps: np.ndarray
    hph: np.ndarray
    factor: np.ndarray
    prev_e: np.ndarray
    d2: np.ndarray
    high_rate: np.ndarray


@dataclass(frozen=True)
class SensorNoise:
    """The report of one sensor's noise: prior (sensors file) and estimated sigmas of
    range (m), azimuth and elevation (mrad), the estimated lag-1 correlation of its
    residuals per axis, and the (effective) plots behind the estimate."""

    sensor: str
    prior_sigma: tuple[float, float, float]
    sigma: tuple[float, float, float]
    lag1_corr: tuple[float, float, float]
    plots: float

    def as_dict(self) -> dict:
        """The JSON form (docs/track-output.md)."""
        return {
            "sensor": self.sensor,
            "prior": _sigma_dict(self.prior_sigma),
            "estimate": _sigma_dict(self.sigma),
            "lag1_corr": dict(zip(("range", "azimuth", "elevation"), self.lag1_corr, strict=True)),
            "plots": round(self.plots, 1),
        }


def _sigma_dict(s: tuple[float, float, float]) -> dict:
    return {"range_m": s[0], "azimuth_mrad": s[1], "elevation_mrad": s[2]}


class NoiseEstimator:
    """Per-sensor estimate of the range, azimuth and elevation noise (module docstring)."""

    def __init__(self, sensors: list[TrackerSensor]) -> None:
        self.ids = [s.id for s in sensors]
        prior = np.array(
            [[s.sigma_range_m, s.sigma_az_rad, s.sigma_el_rad] for s in sensors], dtype=float
        ).reshape(-1, N_AXES)
        self.prior_var = prior**2
        rho0 = np.array([_prior_rho(s) for s in sensors], dtype=float)
        self.prior_rho = np.repeat(rho0[:, None], N_AXES, axis=1).reshape(-1, N_AXES)
        k = len(sensors)
        self._a = PRIOR_PLOTS * self.prior_var
        self._w = np.full((k, N_AXES), PRIOR_PLOTS)
        self._c1 = PRIOR_PLOTS * self.prior_rho
        self._c0 = np.full((k, N_AXES), PRIOR_PLOTS)
        self._plots = np.zeros(k)

    def var(self) -> np.ndarray:
        """Estimated variances (k, 3), bounded to the factor range of the prior."""
        lo, hi = self.prior_var / SIGMA_FACTOR_MAX**2, self.prior_var * SIGMA_FACTOR_MAX**2
        # floored at the smallest normal float: a sigma of 1e-300 squares to 0
        return np.maximum(np.clip(self._a / self._w, lo, hi), np.finfo(float).tiny)

    def sigma(self) -> np.ndarray:
        """Estimated standard deviations (k, 3): range m, azimuth rad, elevation rad."""
        return np.sqrt(self.var())

    def rho(self) -> np.ndarray:
        """Estimated lag-1 correlation of the residuals (k, 3), in [0, RHO_MAX]."""
        return np.clip(self._c1 / self._c0, 0.0, RHO_MAX)

    def rho_for_inflation(self) -> np.ndarray:
        """The lag-1 correlation (k, 3) the update's inflation uses: the configured one, or
        the estimated one where that is larger and above :data:`RHO_SIGNIFICANT`."""
        est = self.rho()
        return np.maximum(self.prior_rho, np.where(est > RHO_SIGNIFICANT, est, 0.0))

    def rho_for_differences(self) -> np.ndarray:
        """The lag-1 correlation (k, 3) behind the second-difference variance: the
        configured one where the sensor states one (``noise_corr_s``), else the estimated
        one above :data:`RHO_SIGNIFICANT` (the residuals' correlation is the filter's view
        of the errors': it runs high when the track is slow to follow, low when it follows
        the errors)."""
        est = self.rho()
        return np.where(
            self.prior_rho > 0.0, self.prior_rho, np.where(est > RHO_SIGNIFICANT, est, 0.0)
        )

    def observe(self, s: NoiseSample) -> None:
        """Fold in the samples of one batch of plots (module docstring: recursion)."""
        if s.sensor.size == 0:
            return
        k = len(self.ids)
        var = self.var()[s.sensor]
        q, w = self._samples(s, var)
        n_w = _per_sensor(s.sensor, w, k)
        decay = FORGET**n_w
        self._a = decay * self._a + _per_sensor(s.sensor, w * q, k)
        self._w = decay * self._w + n_w
        e = np.clip(self.standardised(s.sensor, s.eps, s.factor), -WINSOR_SIGMAS, WINSOR_SIGMAS)
        pair = np.isfinite(s.prev_e)
        e_prev = np.where(pair, s.prev_e, 0.0)
        w_pair = pair * _ess_weight(self.rho()[s.sensor])
        self._c1 = decay * self._c1 + _per_sensor(s.sensor, w_pair * e * e_prev, k)
        half = 0.5 * (e**2 + e_prev**2)
        self._c0 = decay * self._c0 + _per_sensor(s.sensor, w_pair * half, k)
        self._plots += np.bincount(s.sensor, minlength=k)

    def _samples(self, s: NoiseSample, var: np.ndarray):
        """Variance samples ``q`` (m, 3), winsorised and bias-corrected, and their weights
        (m, 3): the second-difference form where ``s.d2`` is known, else the residual
        form (module docstring)."""
        rho = self.rho_for_differences()[s.sensor]
        use_d2 = np.isfinite(s.d2)
        d2_gain = d2_variance_factor(rho)
        q_res = (s.eps**2 + s.hph) / s.factor
        q_d2 = np.where(use_d2, s.d2, 0.0) ** 2 / (s.factor * d2_gain)
        q = np.where(use_d2, q_d2, q_res)
        q = np.minimum(q, WINSOR_SIGMAS**2 * var) / WINSOR_KAPPA
        w_res = _ess_weight(self.rho()[s.sensor])
        w = np.where(
            use_d2, _ess_weight(d2_lag1_corr(rho)), np.where(s.high_rate[:, None], 0.0, w_res)
        )
        return q, w

    def standardised(self, sensor: np.ndarray, eps: np.ndarray, factor: np.ndarray):
        """Residuals (m, 3) over the current sigma of their sensor and plot factor."""
        return eps / np.sqrt(np.maximum(self.var()[sensor] * factor, np.finfo(float).tiny))

    def report(self) -> list[SensorNoise]:
        """Each sensor's prior and estimated sigmas (range m, angles mrad)."""
        unit = np.array([1.0, 1e3, 1e3])
        est, prior, rho = self.sigma() * unit, np.sqrt(self.prior_var) * unit, self.rho()
        return [
            SensorNoise(
                self.ids[k],
                tuple(round(float(v), 4) for v in prior[k]),
                tuple(round(float(v), 4) for v in est[k]),
                tuple(round(float(v), 3) for v in rho[k]),
                float(self._plots[k]),
            )
            for k in range(len(self.ids))
        ]


def d2_variance_factor(rho: np.ndarray) -> np.ndarray:
    """``Var(e_k - 2 e_{k-1} + e_{k-2}) / sigma^2 = 2 (1 - rho) (3 - rho)`` for an AR(1)
    error series of lag-1 correlation ``rho`` (6 for independent errors)."""
    return 2.0 * (1.0 - rho) * (3.0 - rho)


def d2_lag1_corr(rho: np.ndarray) -> np.ndarray:
    """Lag-1 correlation of the second differences of an AR(1) series:
    ``(-4 + 7 rho - 4 rho^2 + rho^3) / (2 (1 - rho) (3 - rho))`` (-2/3 for independent
    errors)."""
    return (-4.0 + 7.0 * rho - 4.0 * rho**2 + rho**3) / d2_variance_factor(rho)


def _ess_weight(rho: np.ndarray) -> np.ndarray:
    """Effective samples per sample of a variance estimate from squares of a Gaussian
    series of lag-1 correlation ``rho`` (the squares correlate as ``rho^2``):
    ``(1 - rho^2) / (1 + rho^2)``."""
    return (1.0 - rho**2) / (1.0 + rho**2)


def _prior_rho(s: TrackerSensor) -> float:
    """The lag-1 correlation the sensor's ``noise_corr_s`` implies at its revisit."""
    if s.noise_corr_s <= 0.0:
        return 0.0
    return float(np.exp(-s.scan_s / s.noise_corr_s))


def _per_sensor(sensor: np.ndarray, values: np.ndarray, k: int) -> np.ndarray:
    """Sums (k, 3) of ``values`` (m, 3) over the plots of each sensor."""
    values = np.broadcast_to(values, (sensor.size, N_AXES))
    return np.stack([np.bincount(sensor, values[:, i], minlength=k) for i in range(N_AXES)], 1)


def snr_factor(snr_db: np.ndarray, ref_db: np.ndarray) -> np.ndarray:
    """Variance factor (m,) of plots of SNR ``snr_db`` against their sensor's reference
    ``ref_db`` (NaN: no SNR weighting): ``10^((ref - snr) / 10)``, the thermal part of a
    radar's range and angle errors having a variance inversely proportional to SNR
    (Skolnik, *Introduction to Radar Systems*, 3rd ed., section 6.3; Barton, *Radar
    System Analysis and Modeling*, ch. 11), clipped to [:data:`SNR_FACTOR_MIN`,
    :data:`SNR_FACTOR_MAX`]; 1 where either is unknown."""
    with np.errstate(invalid="ignore"):
        f = 10.0 ** ((ref_db - snr_db) / 10.0)
    f = np.clip(f, SNR_FACTOR_MIN, SNR_FACTOR_MAX)
    return np.where(np.isfinite(f), f, 1.0)


# A plot is trusted at most 4x (variance) beyond its sensor's sigma for a high SNR (other
# error terms, glint and servo, do not fall with SNR), and distrusted at most 100x (20 dB
# below the reference).
SNR_FACTOR_MIN = 0.25
SNR_FACTOR_MAX = 100.0
