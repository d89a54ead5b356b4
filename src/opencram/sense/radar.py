"""A surveillance radar, batched over targets: detection by the radar equation and the
Swerling models, measurement noise, false alarms and a rotating (or sector) scan.

Defaults (``opencram.scenario.schema.Sensor``) describe a lightweight counter-mortar radar
such as the LCMR. The public figures behind them (docs/sources/site-and-systems.md §4,
source [34], StrategyPage 2004; repeated in the project reference file
threats-and-systems.md): the LCMR covers 360°, locates mortar firing points out to about
7 km, usually within 100 m, and produces about one false alarm per 5–6 hours of
operation. We take 7 km as the reference range (``reference_range_m``) and 360° as the
default field of view.

No public source gives its rotation or update rate, measurement noise, detection margin
or the radar cross-section of the rounds, so these defaults are **our assumptions**, to be
varied in sensitivity runs:

- a 1 s scan (``scan_s``);
- 1-sigma noise of about 10 m in range and 2 mrad in azimuth and elevation (2 mrad at
  7 km is 14 m across the beam, in keeping with a firing point located within 100 m once
  a trajectory is fitted through many plots);
- 13 dB single-look SNR on a 0.01 m² target at 7 km, Swerling 1, Pfa 1e-6, so that a
  small mortar bomb is seen about half the time at the cited 7 km;
- coverage 300 m to 10 km in range and 0.5° to 85° in elevation;
- no false plots by default. The LCMR's one false alarm per 5–6 h counts false weapon
  locations reported after tracking, so it only bounds the plot-level rate from below
  (at a 1 s scan it would be about 5e-5 per scan); set ``false_alarm_rate_per_scan``.

Conventions: positions are ENU metres at the site, azimuths clockwise from true north,
elevations above the local horizontal, times in seconds. A 360° radar's beam turns
clockwise from north once per ``scan_s``; a sector radar sweeps its sector clockwise from
the left (anticlockwise) edge once per ``scan_s``. Each object is looked at once per scan,
when the beam passes its azimuth.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy.stats import ncx2

from opencram.geo import LocalFrame, azimuth_rad
from opencram.physics.environment import FlatTerrain
from opencram.physics.terrain import line_of_sight
from opencram.sense.plots import Plots

TWO_PI = 2.0 * np.pi
# above this SNR (120 dB) a detection is certain; scipy's ncx2 also loses accuracy beyond it
_SNR_LINEAR_CAP = 1e12

TruthFn = Callable[[np.ndarray], tuple[np.ndarray, np.ndarray, np.ndarray]]


@dataclass(frozen=True)
class RadarModel:
    """One radar, in the local frame and SI units (angles in radians)."""

    id: str
    pos_enu_m: np.ndarray  # (3,)
    scan_s: float
    boresight_az_rad: float
    fov_width_rad: float  # 2π = all round
    range_min_m: float
    range_max_m: float
    el_min_rad: float
    el_max_rad: float
    sigma_range_m: float
    sigma_az_rad: float
    sigma_el_rad: float
    sigma_range_rate_mps: float | None
    reference_range_m: float
    reference_rcs_m2: float
    reference_snr_db: float
    swerling: int
    pfa: float
    false_alarms_per_scan: float
    latency_s: float
    ssr: bool = False  # reads SSR Mode 3/A codes (plots of coded objects carry them)
    # systematic errors (docs/registration.md): range (m), azimuth and elevation offsets and
    # the azimuth tilt per unit tan(elevation) (rad)
    bias_range_m: float = 0.0
    bias_az_rad: float = 0.0
    bias_el_rad: float = 0.0
    tilt_az_rad: float = 0.0

    @property
    def all_round(self) -> bool:
        return self.fov_width_rad >= TWO_PI - 1e-9

    @property
    def sweep_start_az_rad(self) -> float:
        """Azimuth where each scan starts: north for an all-round radar, else the sector's
        left edge."""
        if self.all_round:
            return 0.0
        return float(np.mod(self.boresight_az_rad - 0.5 * self.fov_width_rad, TWO_PI))

    @staticmethod
    def from_schema(sensor, frame: LocalFrame, ground_alt_m: float, terrain=None) -> RadarModel:
        """From a scenario ``Sensor``; a sensor without ``alt_m`` stands at ``ground_alt_m``,
        or on ``terrain`` (a DEM) where one is given."""
        alt_m = ground_alt_m if sensor.alt_m is None else sensor.alt_m
        pos = np.asarray(frame.to_enu(sensor.lat, sensor.lon, alt_m), float).reshape(3)
        if sensor.alt_m is None and _uneven(terrain) is not None:
            pos[2] = float(terrain.height_up_m(pos[0], pos[1]))
        return RadarModel(
            id=sensor.id,
            pos_enu_m=pos,
            scan_s=float(sensor.scan_s),
            boresight_az_rad=float(np.radians(sensor.fov.boresight_az_deg)),
            fov_width_rad=float(np.radians(sensor.fov.width_deg)),
            range_min_m=float(sensor.range_min_m),
            range_max_m=float(sensor.range_max_m),
            el_min_rad=float(np.radians(sensor.elevation_min_deg)),
            el_max_rad=float(np.radians(sensor.elevation_max_deg)),
            sigma_range_m=float(sensor.sigma_range_m),
            sigma_az_rad=float(sensor.sigma_azimuth_mrad) * 1e-3,
            sigma_el_rad=float(sensor.sigma_elevation_mrad) * 1e-3,
            sigma_range_rate_mps=(
                None if sensor.sigma_range_rate_mps is None else float(sensor.sigma_range_rate_mps)
            ),
            reference_range_m=float(sensor.reference_range_m),
            reference_rcs_m2=float(sensor.reference_rcs_m2),
            reference_snr_db=float(sensor.reference_snr_db),
            swerling=int(sensor.swerling),
            pfa=float(sensor.pfa),
            false_alarms_per_scan=float(sensor.false_alarm_rate_per_scan),
            latency_s=float(sensor.latency_s),
            ssr=bool(sensor.ssr),
            bias_range_m=float(sensor.bias_range_m),
            bias_az_rad=float(sensor.bias_azimuth_mrad) * 1e-3,
            bias_el_rad=float(sensor.bias_elevation_mrad) * 1e-3,
            tilt_az_rad=float(sensor.tilt_azimuth_mrad) * 1e-3,
        )


# --- detection ---------------------------------------------------------------------------


def snr_db(radar: RadarModel, range_m, rcs_m2) -> np.ndarray:
    """Expected single-look SNR (dB) by the radar equation, scaled from the reference point:
    SNR grows with RCS and falls with the fourth power of range."""
    r = np.asarray(range_m, dtype=float)
    s = np.asarray(rcs_m2, dtype=float)
    with np.errstate(divide="ignore"):
        return (
            radar.reference_snr_db
            + 10.0 * np.log10(s / radar.reference_rcs_m2)
            + 40.0 * np.log10(radar.reference_range_m / r)
        )


def detection_probability(snr_db, pfa: float, swerling: int) -> np.ndarray:
    """Single-look probability of detection with a square-law detector at false-alarm
    probability ``pfa``, for mean SNR ``snr_db`` (any shape).

    - Swerling 0 (steady target): Marcum Q, i.e. the tail of a noncentral chi-square with
      2 degrees of freedom, threshold -2 ln(pfa) and noncentrality 2·SNR.
    - Swerling 1 and 2 (exponentially distributed RCS; identical for one look): the steady
      Pd averaged over that RCS has the closed form pfa^(1/(1+SNR)).
    - Swerling 3 and 4 (chi-square RCS with 4 degrees of freedom): averaging gives
      exp(-T/(1+SNR/2))·(1 + (SNR/2)·T/(1+SNR/2)²) with T = -ln(pfa). (The test output
      under the fluctuating RCS has Laplace transform (1+s)/(1+a·s)², a = 1+SNR/2, which
      splits into an exponential and a gamma(2) tail.)
    """
    snr = np.minimum(np.power(10.0, np.asarray(snr_db, dtype=float) / 10.0), _SNR_LINEAR_CAP)
    t = -np.log(pfa)
    if swerling == 0:
        pd = ncx2.sf(2.0 * t, 2, 2.0 * snr)
    elif swerling in (1, 2):
        pd = np.exp(-t / (1.0 + snr))
    elif swerling in (3, 4):
        a = 1.0 + 0.5 * snr
        pd = np.exp(-t / a) * (1.0 + (a - 1.0) * t / (a * a))
    else:
        raise ValueError(f"swerling must be 0 to 4, not {swerling!r}")
    return np.asarray(pd, dtype=float)


# --- geometry ----------------------------------------------------------------------------


def _aer(radar: RadarModel, pos_enu_m: np.ndarray):
    """Azimuth, elevation (rad), slant range (m) and offset ``(n, 3)`` of positions
    ``(n, 3)`` from the radar, with pymap3d's ``enu2aer`` conventions; NaN gives NaN."""
    d = np.asarray(pos_enu_m, dtype=float) - radar.pos_enu_m
    horiz_m = np.hypot(d[:, 0], d[:, 1])
    return azimuth_rad(d), np.arctan2(d[:, 2], horiz_m), np.hypot(horiz_m, d[:, 2]), d


def sweep_fraction(radar: RadarModel, az_rad) -> np.ndarray:
    """How far through its scan (0 to 1) the beam is when it points at ``az_rad``; above 1
    outside a sector radar's field of view."""
    off = np.mod(np.asarray(az_rad, dtype=float) - radar.sweep_start_az_rad, TWO_PI)
    return off / (TWO_PI if radar.all_round else radar.fov_width_rad)


def in_coverage(radar: RadarModel, az_rad, el_rad, range_m) -> np.ndarray:
    """True where a point (azimuth, elevation, range) is inside the radar's field of view,
    range and elevation limits."""
    r = np.asarray(range_m, dtype=float)
    el = np.asarray(el_rad, dtype=float)
    return (
        (sweep_fraction(radar, az_rad) <= 1.0)
        & (r >= radar.range_min_m)
        & (r <= radar.range_max_m)
        & (el >= radar.el_min_rad)
        & (el <= radar.el_max_rad)
    )


def _uneven(terrain):
    """``terrain`` unless it is absent or flat (then line of sight is not tested: on flat
    ground the elevation limit already keeps the beam above it)."""
    return None if terrain is None or isinstance(terrain, FlatTerrain) else terrain


def biased_aer(
    radar: RadarModel, range_m: np.ndarray, az_rad: np.ndarray, el_rad: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """True range, azimuth and elevation with the radar's systematic errors added::

        range' = range + b_r
        az'    = az + b_az + a * tan(el)      (a mount levelling error, issue 13)
        el'    = el + b_el

    (``bias_range_m``, ``bias_az_rad``, ``tilt_az_rad``, ``bias_el_rad``). With every bias 0
    the values come back unchanged, bit for bit; no random number is drawn."""
    az = az_rad + radar.bias_az_rad
    if radar.tilt_az_rad:
        az = az + radar.tilt_az_rad * np.tan(el_rad)
    return range_m + radar.bias_range_m, az, el_rad + radar.bias_el_rad


def _fold_az_el(az_rad: np.ndarray, el_rad: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Bring a noisy elevation back into [-π/2, π/2] (over the zenith flips the azimuth)."""
    over = el_rad > 0.5 * np.pi
    under = el_rad < -0.5 * np.pi
    el = np.where(over, np.pi - el_rad, np.where(under, -np.pi - el_rad, el_rad))
    return np.mod(az_rad + np.pi * (over | under), TWO_PI), el


# --- one scan ----------------------------------------------------------------------------


def scan(
    radar: RadarModel,
    t_scan_start_s: float,
    truth_fn: TruthFn,
    rcs_m2,
    object_ids,
    rng: np.random.Generator,
    *,
    sensor_index: int = 0,
    terrain=None,
    mode3a=None,
) -> Plots:
    """The plots of one full scan starting at ``t_scan_start_s``, sorted by measurement time.

    ``truth_fn(t_s)`` maps per-object times ``(n,)`` to true positions ``(n, 3)``, velocities
    ``(n, 3)`` and in-flight flags ``(n,)``. It is called twice: at the scan start, to find
    when the beam passes each object, and at those times. ``rcs_m2`` (scalar or ``(n,)``) is
    each object's mean RCS and ``object_ids`` ``(n,)`` its truth id. ``sensor_index`` goes
    into ``Plots.sensor``. An object not in flight at the scan start is not seen in this scan.
    On a DEM ``terrain`` an object is not seen when the straight line to it passes under
    the ground (:func:`opencram.physics.terrain.line_of_sight`, batched over objects).
    ``mode3a`` ``(n,)``: each object's SSR Mode 3/A code (-1 none); a radar with ``ssr``
    puts it on the object's plots (false plots and other radars' plots carry none). It
    draws nothing from ``rng``.
    """
    ids = np.asarray(object_ids, dtype=np.int64).reshape(-1)
    n = ids.size
    t0_s = float(t_scan_start_s)
    rcs = np.broadcast_to(np.asarray(rcs_m2, dtype=float), (n,))

    pos0, _, active0 = truth_fn(np.full(n, t0_s))
    az0, _, _, _ = _aer(radar, np.asarray(pos0, dtype=float).reshape(n, 3))
    frac0 = sweep_fraction(radar, az0)
    looked = np.asarray(active0, dtype=bool) & (frac0 <= 1.0)  # NaN compares False
    t_look_s = t0_s + np.where(looked, frac0, 0.0) * radar.scan_s

    pos, vel, active = truth_fn(t_look_s)
    az, el, range_m, d = _aer(radar, np.asarray(pos, dtype=float).reshape(n, 3))
    seen = looked & np.asarray(active, dtype=bool) & in_coverage(radar, az, el, range_m)
    if _uneven(terrain) is not None and seen.any():
        vis = np.flatnonzero(seen)
        p_vis = np.asarray(pos, dtype=float).reshape(n, 3)[vis]
        seen[vis] = line_of_sight(terrain, radar.pos_enu_m, p_vis)
    idx = np.flatnonzero(seen)
    snr = snr_db(radar, range_m[idx], rcs[idx])
    hit = rng.random(idx.size) < detection_probability(snr, radar.pfa, radar.swerling)
    idx, snr = idx[hit], snr[hit]

    m = idx.size
    noise = rng.standard_normal((m, 3))
    seen_r, seen_az, seen_el = biased_aer(radar, range_m[idx], az[idx], el[idx])
    meas_range_m = np.maximum(seen_r + radar.sigma_range_m * noise[:, 0], 0.0)
    meas_az, meas_el = _fold_az_el(
        seen_az + radar.sigma_az_rad * noise[:, 1], seen_el + radar.sigma_el_rad * noise[:, 2]
    )
    if radar.sigma_range_rate_mps is None:
        range_rate = np.full(m, np.nan)
    else:
        vel_d = np.asarray(vel, dtype=float).reshape(n, 3)[idx]
        radial_mps = np.einsum("ij,ij->i", vel_d, d[idx]) / np.maximum(range_m[idx], 1e-9)
        range_rate = radial_mps + radar.sigma_range_rate_mps * rng.standard_normal(m)
    targets = Plots(
        time_s=t_look_s[idx],
        sensor=np.full(m, sensor_index),
        range_m=meas_range_m,
        az_rad=meas_az,
        el_rad=meas_el,
        range_rate_mps=range_rate,
        snr_db=snr,
        arrival_s=t_look_s[idx] + radar.latency_s,
        truth_id=ids[idx],
        mode3a=(
            np.asarray(mode3a, dtype=np.int64)[idx] if radar.ssr and mode3a is not None else None
        ),
    )
    false_plots = false_alarms(radar, t0_s, rng, sensor_index=sensor_index)
    return Plots.concat([targets, false_plots]).sorted_by("time_s")


def false_alarms(
    radar: RadarModel, t_scan_start_s: float, rng: np.random.Generator, *, sensor_index: int = 0
) -> Plots:
    """False plots of one scan: a Poisson number (mean ``false_alarms_per_scan``) spread
    uniformly through the surveillance volume: range density ∝ r², azimuth uniform in the
    field of view, elevation density ∝ cos(el) (sin(el) uniform). Each is timed when the
    beam points at its azimuth, which makes the times uniform over the scan.

    A false plot's ``snr_db`` is the level of the noise spike that crossed the threshold
    (threshold plus an exponential excess, in noise-power units); its range rate, when the
    radar measures one, is zero-mean noise like slow clutter."""
    k = int(rng.poisson(radar.false_alarms_per_scan))
    u = rng.random((k, 3))
    r0, r1 = radar.range_min_m, radar.range_max_m
    range_m = np.cbrt(r0**3 + u[:, 0] * (r1**3 - r0**3))
    width = TWO_PI if radar.all_round else radar.fov_width_rad
    az = np.mod(radar.sweep_start_az_rad + u[:, 1] * width, TWO_PI)
    s0, s1 = np.sin(radar.el_min_rad), np.sin(radar.el_max_rad)
    el = np.arcsin(s0 + u[:, 2] * (s1 - s0))
    time_s = t_scan_start_s + u[:, 1] * radar.scan_s
    level = -np.log(radar.pfa) + rng.standard_exponential(k)
    if radar.sigma_range_rate_mps is None:
        range_rate = np.full(k, np.nan)
    else:
        range_rate = radar.sigma_range_rate_mps * rng.standard_normal(k)
    return Plots(
        time_s=time_s,
        sensor=np.full(k, sensor_index),
        range_m=range_m,
        az_rad=az,
        el_rad=el,
        range_rate_mps=range_rate,
        snr_db=10.0 * np.log10(level),
        arrival_s=time_s + radar.latency_s,
        truth_id=np.full(k, -1),
    )
