"""What the tracker is told: each radar's position and noise (:class:`TrackerSensor`) and
the tracker's settings (:class:`TrackerConfig`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

import numpy as np

from opencram.track.models import DEFAULT_Q_ACC_MPS2, DEFAULT_Q_KAPPA

FilterName = Literal["imm", "ekf", "ckf"]
AssociationName = Literal["gnn", "jpda"]


@dataclass(frozen=True)
class TrackerSensor:
    """What the tracker knows of a radar: where it is and how noisy it is."""

    id: str
    """The radar's name (as in the scenario or the sensors file)."""
    pos_enu_m: np.ndarray
    """Antenna position (3,) in the site's ENU frame, m."""
    sigma_range_m: float
    """Standard deviation of the range measurement, m."""
    sigma_az_rad: float
    """Standard deviation of the azimuth measurement, rad."""
    sigma_el_rad: float
    """Standard deviation of the elevation measurement, rad."""
    sigma_range_rate_mps: float | None = None
    """Standard deviation of the Doppler range rate, m/s; None: the radar measures none."""
    scan_s: float = 1.0
    """Revisit period, s."""
    latency_s: float = 0.0
    """Longest delay from measurement to arrival at the tracker, s."""
    reference: tuple[float, float, float] | None = None
    """(range m, RCS m², SNR dB) of one point of the radar equation, to estimate RCS from
    plot SNR; None: no RCS estimate."""
    noise_corr_s: float = 0.0
    """Correlation time tau, s, of the plot errors (0: independent from plot to plot). A
    radar that reports its own tracking loop's output at a high rate has errors
    correlated over tau; the tracker then inflates the noise of each plot so that a run of
    plots carries the information of the independent ones among them (see
    :func:`opencram.track.measurement.correlation_inflation`)."""
    min_start_snr_db: float | None = None
    """Plots with an SNR below this, dB, may update a track but never start one (a
    tracking radar keeps reporting its loop's output after losing lock, at an SNR below
    its detection threshold); None: every plot may start a track. The same threshold
    detects loss of lock (:mod:`opencram.track.lock`): a confirmed track whose plots stay
    below it stops updating."""
    snr_ref_db: float | None = None
    """SNR, dB, at which the sigmas above hold; with it, each plot's range and angle
    variances are scaled by ``10^((snr_ref_db - snr) / 10)`` (bounded:
    :func:`opencram.track.noise.snr_factor`), as a radar's thermal errors are; None: no
    SNR weighting (a simulated radar whose noise does not depend on SNR)."""


@dataclass(frozen=True)
class TrackerConfig:
    """The tracker's settings. Times in seconds of measurement time."""

    filter: FilterName = "imm"
    """State filter: ``"ekf"`` (extended Kalman, ballistic model), ``"ckf"`` (cubature
    Kalman, ballistic model) or ``"imm"`` (interacting multiple model: ballistic, nearly
    constant velocity and coordinated turn, each an EKF)."""
    association: AssociationName = "gnn"
    """Plot-to-track association: ``"gnn"`` (global nearest neighbour, one plot per track)
    or ``"jpda"`` (joint probabilistic data association; works with ``filter="ekf"``)."""
    detection_prob: float = 0.9
    """JPDA: probability P_D that a track's object gives a plot in a scan."""
    clutter_density: float = 1e-5
    """JPDA: density of false plots, per m·rad² of range-azimuth-elevation."""
    gate_prob: float = 0.999
    """Chi-square gate probability P_G (on 3 degrees of freedom, or 4 with range rate)."""
    confirm_hits: int = 5
    """M of the M-of-N confirmation: plots a tentative track needs (the two that start it
    count)."""
    confirm_window_s: float = 3.5
    """N of the M-of-N confirmation, as time: a tentative track older than this is dropped."""
    coast_s: float = 3.5
    """A confirmed track with no plot for this long is deleted ("coasted")."""
    init_window_s: float = 2.5
    """Track start pairs a new plot with unassociated plots at most this much older."""
    init_min_dt_s: float = 0.5
    """... and at least this much older (a shorter pair gives too poor a velocity)."""
    init_candidates: int = 3
    """Tentative tracks one new plot may start (with its nearest plausible partners)."""
    max_starts_per_frame: int = 256
    """Tentative tracks one sensor's frame (one revisit, or one window) may start at most:
    beyond it the start pairs with the largest distance between their plots are shed and
    counted (``TwoPointInitiator.n_starts_shed``), so a flood of random plots cannot fill
    the track table (issue 17). A salvo of 20 rounds and its clutter start well under it."""
    merge_chi2: float = 11.34
    """Duplicate test: tracks whose positions are within this chi-square distance (99 % of
    chi-square with 3 degrees of freedom) and whose velocities are within 3 times it are one
    object; the weaker is deleted ("merged")."""
    init_speed_mps: tuple[float, float] = (15.0, 1500.0)
    """Slowest and fastest speed, m/s, of a plausible start pair."""
    kappa_prior: float = 1.5
    """Drag parameter kappa = Cd A / m a new track starts with, cm²/kg."""
    kappa_prior_sd: float = 1.5
    """Standard deviation of that prior, cm²/kg."""
    ground_margin_m: float = -30.0
    """A track predicted below this ENU height, m, has landed and is deleted."""
    robust_dof: float | None = None
    """Robust measurement update (EKF and IMM filters): each innovation component is taken
    as Student-t with this many degrees of freedom and down-weighted accordingly, so that
    an isolated outlier (a range spike) does not drag a track
    (:func:`opencram.track.ekf.ekf_update`); None: the plain Kalman update. Small values
    (4) reject more; large ones tend to the plain update. For independent plot errors: on
    the 20 Hz test streams, whose errors wander slowly (correlated, with an acquisition
    transient), 4 split a round's track in two, as a run of same-sign innovations is
    down-weighted like outliers. Measured again with the online noise estimate (issue 13
    point 3, tests/test_high_rate_radar.py streams, 6 runs): 4 still splits a round's
    track in 4 of 6 runs; 10 splits none and cuts the drag of 30 m range spikes from
    1.73 m to 1.16 m (4: 0.92 m). Kept off by default until 10 has been run over the
    built-in scenarios' calibration tests."""
    noise_estimation: bool = False
    """Use the online estimate of each sensor's range and angle noise in later updates
    (:mod:`opencram.track.noise`; the sensors' sigmas are its prior). The estimate is
    always made and reported (track output ``sensor_noise``, the live service's
    ``sensor_noise`` events) and always standardises the loss-of-lock CUSUM; this switch
    only decides whether the updates use it. Off by default: on the model-mismatch suite's
    20 Hz cells whose errors are white while the sensors state a correlation (the
    what-if's ``noise_corr_s``), the second-difference estimate read the white errors as
    2.6x larger and the impact error at 10 s rose from 20 m to 78 m (tail cell) and 44 m
    to 74 m (misfiled-sigma cell); see docs/benchmarks.md."""
    lock_detection: bool = True
    """Detect a radar's loss of lock on a round (:mod:`opencram.track.lock`): the track
    then stops updating and keeps its last good state; False: every plot in the gate
    updates it."""
    acquisition_transient: bool = True
    """Down-weight the angles of the first seconds of a track's plots from a tracking
    radar (a sensor whose ``scan_s`` is shorter than ``window_s``), whose servo is still
    settling (:func:`opencram.track.measurement.transient_var_rad2`)."""
    window_s: float = 0.5
    """Plots are processed in windows of this much measurement time (on an absolute grid)."""
    q_acc_mps2: float = DEFAULT_Q_ACC_MPS2
    """White-acceleration noise of the ballistic model, m/s² per sqrt(s) (as
    :class:`opencram.track.models.BallisticModel`)."""
    q_kappa: float = DEFAULT_Q_KAPPA
    """Random-walk rate of kappa, cm²/kg per sqrt(s) (as the ballistic model)."""

    def __post_init__(self) -> None:
        if self.filter not in get_args(FilterName):
            raise ValueError(f"filter must be one of {get_args(FilterName)}, not {self.filter!r}")
        if self.association not in get_args(AssociationName):
            raise ValueError(
                f"association must be one of {get_args(AssociationName)}, not {self.association!r}"
            )
        if self.association == "jpda" and self.filter != "ekf":
            raise ValueError("JPDA association works with the ekf filter")
