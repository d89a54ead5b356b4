r"""Loss of lock of a tracking radar on a round (issue 13 point 3), batched over tracks.

A counter-battery radar reports its own tracking loop's output; when the loop loses the
round (on recorded firings 0.9-1.4 km up) the plots keep coming at an SNR of 0-5 dB, the
range walking backwards and the angles drifting. A track fed those plots follows them
away from the round, and its impact prediction with it. Two tests, either of which
declares the lock lost:

* **SNR**: :data:`LOW_SNR_PLOTS` plots in a row below the sensor's detection threshold
  (``TrackerSensor.min_start_snr_db``; no test for a sensor without one).
* **Silence after low SNR**: a track whose last plot was below the threshold and that
  has had no plot for :data:`SILENT_REVISITS` revisits (the tail left its gate first).
* **Residuals walking away**: a one-sided CUSUM (Page, "Continuous inspection schemes",
  Biometrika 41, 1954) of the plot's normalised squared residual per axis::

      d_k = (1 / 3) sum_i eps_i^2 / (sigma_i^2 g_i)      (range, azimuth, elevation)
      C_k = max(0, C_{k-1} + min(d_k, D_MAX) - 1 - DRIFT)
      lost when C_k > H

  with ``DRIFT`` = :data:`CUSUM_DRIFT`, ``H`` = :data:`CUSUM_THRESHOLD`, and each step's
  ``d`` capped at :data:`CUSUM_STEP_MAX` so one spike cannot trip it alone. For white
  errors of the stated size ``E d`` is below 1 (the posterior residual is smaller than
  the plot's error), so ``C`` stays near 0; a run of plots the model cannot follow
  drives it up by ``d - 1 - DRIFT`` a plot.

The state kept for the prediction is the track's **last good** one: its state at the last
update with an SNR at or above the threshold (or unknown) and ``C = 0`` (the CUSUM's own
estimate of when a change began: its last zero). When the lock is lost the track is set
back to that state, flown on by the ballistic model alone, and is no longer updated.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# Plots in a row below the detection threshold that mean the loop has lost the round: 5
# at 20 Hz is a quarter second; a plot or two of low SNR (a fade) does not stop a track.
LOW_SNR_PLOTS = 5
# A confirmed track whose last plot was below the threshold and that has had no plot for
# this many revisits has lost lock too (the tail left its gate before the run was long
# enough): half a second at 20 Hz; for a 1 s radar, longer than a track may coast, so the
# rule never fires there.
SILENT_REVISITS = 10
# CUSUM of the normalised squared residual: allowance per plot (above its mean of 1 for
# errors of the stated size) and the alarm threshold. With d capped at 9 (3 sigma on
# average over the axes), the alarm needs at least three plots far off in a row, or a
# longer run of moderately bad ones (d = 4 for 8 plots).
CUSUM_DRIFT = 1.0
CUSUM_THRESHOLD = 16.0
CUSUM_STEP_MAX = 9.0
# The CUSUM's variances are floored at (1 mm)² in range and (1 µrad)² in angle, far below
# any radar's noise: a sensor stated noiseless (sigma 1e-300) would otherwise see its
# rounding errors as walking residuals and lose lock on every track.
CUSUM_VAR_FLOOR = np.array([1e-3, 1e-6, 1e-6]) ** 2


@dataclass(frozen=True)
class LockStep:
    """Lock state after one batch of updates (n tracks): the CUSUM (n,), the run of low-SNR
    plots (n,), whether each update is a good one to keep (n,) and whether the lock is
    now lost (n,)."""

    cusum: np.ndarray
    low_snr_run: np.ndarray
    good: np.ndarray
    lost: np.ndarray


def lock_step(
    cusum: np.ndarray,
    low_snr_run: np.ndarray,
    d: np.ndarray,
    snr_db: np.ndarray,
    threshold_db: np.ndarray,
) -> LockStep:
    """One update of the lock tests (module docstring) for tracks with CUSUM ``cusum``
    (n,) and low-SNR runs ``low_snr_run`` (n,), given each plot's normalised squared
    residual ``d`` (n,), SNR ``snr_db`` (n,) and its sensor's threshold ``threshold_db``
    (n,; NaN: no SNR test)."""
    c = np.maximum(0.0, cusum + np.minimum(d, CUSUM_STEP_MAX) - 1.0 - CUSUM_DRIFT)
    low = snr_db < threshold_db  # False where either is NaN
    run = np.where(low, low_snr_run + 1, 0)
    lost = (run >= LOW_SNR_PLOTS) | (c > CUSUM_THRESHOLD)
    good = ~low & (c == 0.0)
    return LockStep(c, run, good, lost)
