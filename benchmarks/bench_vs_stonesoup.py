"""opencram's tracker against a Stone Soup tracker on the same simulated radar plots.

Both trackers get the same plots, scan period by scan period, in one process:

* **grad**: the built-in ``grad-salvo`` scenario (20 x 122 mm rockets, 2 radars) with
  clutter (``false_alarm_rate_per_scan`` per radar, default 5);
* **stress**: a generated scenario of 200 ballistic rounds (107 mm and 122 mm rockets,
  82 mm and 120 mm mortars) from 20 launch points 2.5 to 14 km out, launched over about
  60 s at points around the site, seen by 3 radars with clutter.

opencram runs ``Tracker(tracker_sensors(radars), TrackerConfig(filter="ekf"))`` (and
``"imm"``). Stone Soup runs a hand loop over its own components: an EKF
(``ExtendedKalmanPredictor``, ``ExtendedKalmanUpdater`` in Joseph form) on a transition
model with opencram's ballistic dynamics and process noise (7 states with the drag
parameter kappa, Jacobian by Stone Soup's finite differences), one
``CartesianToElevationBearingRangeRate`` model per radar (``CartesianToElevationBearingRange``
with ``--no-range-rate``, which also drops range rate from opencram's plots),
``DistanceHypothesiser`` with the ``Mahalanobis`` measure gated at opencram's chi-square
probability, ``GNNWith2DAssignment`` behind Stone Soup's detection k-d tree (a prefilter that
leaves the result unchanged here and saves time), ``MultiMeasurementInitiator`` and
``UpdateTimeDeleter``. Stone Soup's angles: bearing anticlockwise from east, so
bearing = pi/2 - azimuth; state order ``[e, ve, n, vn, u, vu, kappa]``.

Each scan period, every radar's plots of that period are one batch of Stone Soup
``Detection`` objects, each with its own timestamp (``DistanceHypothesiser`` predicts every
track to each detection's own time), associated radar by radar. A confirmed Stone Soup
track is not given a prediction when it misses, so the deleter works on time since the last
update (3.5 s, opencram's ``coast_s``). Stone Soup keeps tracks and detections in Python
sets, so its result can differ slightly from run to run (ordering of ties).

Scoring is the same for both: confirmed-track estimates, each track's latest one no older
than 1.5 scans + 0.5 s, predicted to the truth sample times (once a second) with opencram's
``BallisticModel.propagate_state`` (``opencram.analysis.tracking.track_samples``), against
``truth_samples``, with ``score_tracks`` (GOSPA c = 100 m, p = 2; breaks; swaps). Wall time
is the tracker's own per scan period (opencram ``add`` + ``step``; Stone Soup's loop),
not the plot simulation nor building the input objects.

    .venv/bin/python benchmarks/bench_vs_stonesoup.py                 # both cases
    .venv/bin/python benchmarks/bench_vs_stonesoup.py --case grad --seed 1
    .venv/bin/python benchmarks/bench_vs_stonesoup.py --case stress --ss-scans 20
    .venv/bin/python benchmarks/bench_vs_stonesoup.py --no-range-rate
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from types import SimpleNamespace

import numpy as np
import yaml
from scipy.stats import chi2
from stonesoup.base import Property
from stonesoup.dataassociator.neighbour import GNNWith2DAssignment
from stonesoup.dataassociator.tree import DetectionKDTreeGNN2D
from stonesoup.deleter.time import UpdateTimeDeleter
from stonesoup.hypothesiser.distance import DistanceHypothesiser
from stonesoup.initiator.simple import MultiMeasurementInitiator
from stonesoup.measures import Mahalanobis
from stonesoup.models.base import TimeVariantModel
from stonesoup.models.measurement.nonlinear import (
    CartesianToElevationBearingRange,
    CartesianToElevationBearingRangeRate,
)
from stonesoup.models.transition.nonlinear import GaussianTransitionModel
from stonesoup.predictor.kalman import ExtendedKalmanPredictor
from stonesoup.types.angle import Bearing, Elevation
from stonesoup.types.array import CovarianceMatrix, StateVector, StateVectors
from stonesoup.types.detection import Detection
from stonesoup.types.state import GaussianState
from stonesoup.updater.kalman import ExtendedKalmanUpdater

from opencram.analysis.metrics import TrackScore, score_tracks
from opencram.analysis.tracking import GOSPA_C_M, GOSPA_P, track_samples, truth_samples
from opencram.c2.stages import SenseStage, tracker_sensors
from opencram.c2.world import compile_world
from opencram.scenario.load import builtin_text, parse
from opencram.sense.plots import Plots
from opencram.track.manager import Tracker, TrackerConfig
from opencram.track.models import BallisticModel

T0 = datetime(2024, 1, 1)
SENSE_DT_S = 0.1
# Stone Soup state order [e, ve, n, vn, u, vu, kappa]; opencram's is [e, n, u, ve, vn, vu, kappa]
SS_FROM_OC = np.array([0, 3, 1, 4, 2, 5, 6])  # ss[i] = oc[SS_FROM_OC[i]]
OC_FROM_SS = np.argsort(SS_FROM_OC)  # oc[i] = ss[OC_FROM_SS[i]]
SS_POS = (0, 2, 4)
SS_VEL = (1, 3, 5)


# --- the cases -------------------------------------------------------------------------


def grad_scenario(clutter: float) -> dict:
    d = yaml.safe_load(builtin_text("grad-salvo"))
    for s in d["sensors"]:
        s["false_alarm_rate_per_scan"] = clutter
    return d


# (type, launch distance range km, rounds per launcher, seconds between rounds)
STRESS_MIX = (
    ("mortar-82mm", (2.5, 3.5), 10, 2.5),
    ("mortar-120mm", (4.0, 6.5), 10, 3.0),
    ("rocket-107mm", (5.0, 7.5), 10, 0.6),
    ("rocket-122mm-grad", (9.0, 14.0), 10, 0.5),
)


def stress_scenario(seed: int, clutter: float) -> dict:
    """200 rounds: per type of STRESS_MIX five launchers of ten rounds, each at its own
    bearing and distance, starting at a random time in the first 35 s, aimed within 1.5 km
    of the site."""
    from opencram.geo import LocalFrame

    d = yaml.safe_load(builtin_text("grad-salvo"))
    d["name"] = "stress-200"
    d["description"] = "200 mixed rockets and mortar bombs from 20 launch points"
    site = d["site"]
    frame = LocalFrame(site["lat"], site["lon"], site["alt_m"])
    d["sensors"] = [
        {"id": "lcmr-embassy", "lat": 33.2985, "lon": 44.3945},
        {"id": "lcmr-palace", "lat": 33.3045, "lon": 44.4075},
        {"id": "lcmr-north", "lat": 33.3180, "lon": 44.3850},
    ]
    for s in d["sensors"]:
        s["false_alarm_rate_per_scan"] = clutter
    rng = np.random.default_rng([seed, 7])

    def geo(e: float, n: float) -> dict:
        lat, lon, _ = frame.to_geodetic(np.array([[e, n, 0.0]]))
        return {"lat": round(float(lat[0]), 6), "lon": round(float(lon[0]), 6)}

    threats = []
    for type_id, (r0, r1), count, interval in STRESS_MIX:
        for k in range(5):
            bearing = rng.uniform(0.0, 2 * np.pi)
            dist = 1000.0 * rng.uniform(r0, r1)
            aim = rng.uniform(-1500.0, 1500.0, 2) * [1.0, 0.7]
            launch = aim + dist * np.array([np.sin(bearing), np.cos(bearing)])
            threats.append(
                {
                    "id": f"{type_id.split('-')[1]}-{k + 1}",
                    "type": type_id,
                    "launch": geo(*launch),
                    "aim": geo(*aim),
                    "time_s": round(float(rng.uniform(1.0, 35.0)), 2),
                    "salvo": {"count": count, "interval_s": interval},
                    "dispersion": {"azimuth_mrad": 6, "elevation_mrad": 6, "velocity_pct": 1},
                }
            )
    d["threats"] = threats
    d["weapons"] = []
    return d


@dataclass
class Case:
    name: str
    world: object
    radars: list
    scan_s: float
    periods: list[tuple[float, Plots]]  # (period end time, plots of the period)
    range_rate: bool


def simulate(name: str, d: dict, seed: int, range_rate: bool = False) -> Case:
    world = compile_world(parse(yaml.safe_dump(d), name), seed=seed)
    impact = world.truth.impact_times()
    end_s = float(np.ceil(np.max(impact[np.isfinite(impact)]) + 5.0))
    stage = SenseStage(world, np.random.default_rng([seed, 1]))
    for t in np.arange(0.0, end_s + 1e-9, SENSE_DT_S):
        stage.step(float(t))
    plots = stage.recorded()
    if not range_rate:  # dropped for both trackers
        plots = replace(plots, range_rate_mps=np.full(len(plots), np.nan))
    scan_s = {r.scan_s for r in stage.radars}
    if len(scan_s) != 1:
        raise SystemExit("every radar must have the same scan_s for this benchmark")
    scan_s = scan_s.pop()
    k = np.floor(plots.time_s / scan_s + 1e-9).astype(np.int64)
    periods = []
    for j in range(round(end_s / scan_s)):
        periods.append(((j + 1) * scan_s, plots.take(np.flatnonzero(k == j))))
    return Case(name, world, stage.radars, scan_s, periods, range_rate)


# --- results and scoring -----------------------------------------------------------------


@dataclass
class Result:
    label: str
    scan_ms: np.ndarray
    rows_t: list = field(default_factory=list)  # confirmed estimates: time ...
    rows_id: list = field(default_factory=list)  # ... track id ...
    rows_x: list = field(default_factory=list)  # ... state [e, n, u, ve, vn, vu, kappa]
    n_confirmed: int = 0
    score: TrackScore | None = None


def score(case: Case, res: Result, n_periods: int, model: BallisticModel) -> TrackScore:
    """The same for both trackers: the estimates go through opencram's ``track_samples``
    (latest confirmed estimate per track, predicted to each sample time)."""
    end_s = n_periods * case.scan_s
    times = np.arange(0.0, end_s + 1e-9, 1.0)
    ups = [
        SimpleNamespace(confirmed=True, t_s=t, track_id=i, x=x)
        for t, i, x in zip(res.rows_t, res.rows_id, res.rows_x, strict=True)
    ]
    max_age = 1.5 * case.scan_s + 0.5
    t_t, t_i, t_p = truth_samples(case.world, times)
    k_t, k_i, k_p = track_samples(SimpleNamespace(updates=ups, model=model), times, max_age)
    return score_tracks(t_t, t_i, t_p, k_t, k_i, k_p, c=GOSPA_C_M, p=GOSPA_P, match_dt_s=1e-6)


# --- opencram ------------------------------------------------------------------------------


def run_opencram(case: Case, filt: str, n_periods: int) -> Result:
    tracker = Tracker(tracker_sensors(case.radars), TrackerConfig(filter=filt))
    times = []
    for t_end, plots in case.periods[:n_periods]:
        t0 = time.perf_counter()
        tracker.add(plots)
        tracker.step(t_end)
        times.append(time.perf_counter() - t0)
    tracker.finish()
    res = Result(f"opencram {filt}", 1e3 * np.array(times))
    conf = [u for u in tracker.updates if u.confirmed]
    res.rows_t = [u.t_s for u in conf]
    res.rows_id = [u.track_id for u in conf]
    res.rows_x = [u.x for u in conf]
    res.n_confirmed = len({u.track_id for u in conf})
    return res


# --- Stone Soup ------------------------------------------------------------------------------


class BallisticTransition(GaussianTransitionModel, TimeVariantModel):
    """opencram's ballistic dynamics as a Stone Soup transition model, state
    ``[e, ve, n, vn, u, vu, kappa]``: RK4 through ``BallisticModel.propagate_state``,
    process noise from ``BallisticModel.process_noise``. The EKF Jacobian is Stone Soup's
    finite-difference one (``Model.jacobian``)."""

    q_acc_mps2: float = Property(default=2.0, doc="white acceleration noise (m/s^2/sqrt(s))")
    q_kappa: float = Property(default=0.05, doc="kappa random walk (cm^2/kg/sqrt(s))")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._ballistic = BallisticModel(q_acc_mps2=self.q_acc_mps2, q_kappa=self.q_kappa)

    @property
    def ndim_state(self) -> int:
        return 7

    def function(self, state, noise=False, time_interval=None, **kwargs):
        sv = np.asarray(state.state_vector, dtype=float)
        m = sv.shape[1]
        x = sv[OC_FROM_SS].T  # (m, 7) in opencram's order
        dt = time_interval.total_seconds()
        out = self._ballistic.propagate_state(x, np.full(m, dt)).T[SS_FROM_OC]
        out = out.view(StateVector) if m == 1 else out.view(StateVectors)
        if isinstance(noise, bool) or noise is None:
            noise = self.rvs(num_samples=m, time_interval=time_interval) if noise else 0
        return out + noise

    def covar(self, time_interval, **kwargs):
        h = np.array([abs(time_interval.total_seconds())])
        q = self._ballistic.process_noise(h)[0]
        return CovarianceMatrix(q[np.ix_(SS_FROM_OC, SS_FROM_OC)])


@dataclass(frozen=True)
class SSConfig:
    prior_speed_sd_mps: float = 300.0  # per axis, around zero: a single plot gives no velocity
    min_points: int = 5  # plots to confirm, like opencram's confirm_hits
    hold_s: float = 2.5  # tentative (holding) tracks die without an update for this long
    coast_s: float = 3.5  # confirmed tracks die without an update for this long
    kd_tree_m: float | None = 3000.0  # prefilter pairs with Stone Soup's detection k-d tree


def detections_of(case: Case, models) -> list[list[set]]:
    """Per period, per radar (in time order) a set of Stone Soup detections."""
    out = []
    for _, plots in case.periods:
        batches = []
        for s in np.unique(plots.sensor):
            sel = np.flatnonzero(plots.sensor == s)
            dets = set()
            for j in sel:
                z = [Elevation(plots.el_rad[j]), Bearing(np.pi / 2 - plots.az_rad[j])]
                z.append(plots.range_m[j])
                if case.range_rate:
                    z.append(plots.range_rate_mps[j])
                z = StateVector(z)
                dets.add(
                    Detection(
                        z,
                        timestamp=T0 + timedelta(seconds=float(plots.time_s[j])),
                        measurement_model=models[s],
                    )
                )
            batches.append((float(np.median(plots.time_s[sel])), dets))
        out.append([b for _, b in sorted(batches, key=lambda b: b[0])])
    return out


def stonesoup_measurement_models(case: Case) -> list:
    """One Stone Soup measurement model per radar (polar, with range rate if measured)."""
    models = []
    for r in case.radars:
        var = [r.sigma_el_rad**2, r.sigma_az_rad**2, r.sigma_range_m**2]
        common = {
            "ndim_state": 7,
            "mapping": SS_POS,
            "translation_offset": StateVector(r.pos_enu_m),
        }
        if case.range_rate:
            var.append(r.sigma_range_rate_mps**2)
            models.append(
                CartesianToElevationBearingRangeRate(
                    noise_covar=np.diag(var), velocity_mapping=SS_VEL, **common
                )
            )
        else:
            models.append(CartesianToElevationBearingRange(noise_covar=np.diag(var), **common))
    return models


@dataclass
class StoneSoupTracker:
    """Stone Soup's components set up as our tracker's defaults."""

    updater: ExtendedKalmanUpdater
    associator: object
    initiator: MultiMeasurementInitiator
    deleter: UpdateTimeDeleter


def stonesoup_tracker(case: Case, cfg: SSConfig, tcfg: TrackerConfig) -> StoneSoupTracker:
    transition = BallisticTransition(q_acc_mps2=tcfg.q_acc_mps2, q_kappa=tcfg.q_kappa)
    predictor = ExtendedKalmanPredictor(transition)
    updater = ExtendedKalmanUpdater(
        measurement_model=None, use_joseph_cov=True, force_symmetric_covariance=True
    )
    gate = float(np.sqrt(chi2.ppf(tcfg.gate_prob, 4 if case.range_rate else 3)))

    def associator():
        hyp = DistanceHypothesiser(predictor, updater, Mahalanobis(), missed_distance=gate)
        if cfg.kd_tree_m is None:
            return GNNWith2DAssignment(hyp)
        return DetectionKDTreeGNN2D(hyp, predictor, updater, max_distance=cfg.kd_tree_m)

    v2 = cfg.prior_speed_sd_mps**2
    prior = GaussianState(
        StateVector([0.0, 0.0, 0.0, 0.0, 0.0, 0.0, tcfg.kappa_prior]),
        CovarianceMatrix(np.diag([0.0, v2, 0.0, v2, 0.0, v2, tcfg.kappa_prior_sd**2])),
    )
    initiator = MultiMeasurementInitiator(
        prior_state=prior,
        deleter=UpdateTimeDeleter(time_since_update=timedelta(seconds=cfg.hold_s)),
        data_associator=associator(),
        updater=updater,
        min_points=cfg.min_points,
    )
    deleter = UpdateTimeDeleter(time_since_update=timedelta(seconds=cfg.coast_s))
    return StoneSoupTracker(updater, associator(), initiator, deleter)


def run_stonesoup(
    case: Case,
    n_periods: int,
    cfg: SSConfig = SSConfig(),
    verbose: bool = False,
    dets: list | None = None,
) -> Result:
    """Stone Soup's loop over the scan periods; ``dets`` (from :func:`detections_of`) may be
    built beforehand so that a caller can time the loop alone."""
    ss = stonesoup_tracker(case, cfg, TrackerConfig())
    if dets is None:  # input conversion, not timed
        dets = detections_of(case, stonesoup_measurement_models(case))
    res = Result("Stone Soup EKF", np.zeros(0))
    ids: dict = {}

    def record(track):
        st = track.state
        res.rows_t.append((st.timestamp - T0).total_seconds())
        res.rows_id.append(ids[track])
        res.rows_x.append(np.asarray(st.state_vector, dtype=float).ravel()[OC_FROM_SS])

    def frame(tracks, batch):
        t_ref = sorted(d.timestamp for d in batch)[len(batch) // 2]
        used = set()
        for track, hyp in ss.associator.associate(tracks, batch, t_ref).items():
            if hyp:
                track.append(ss.updater.update(hyp))
                used.add(hyp.measurement)
                record(track)
        for track in ss.initiator.initiate(batch - used, t_ref):
            ids[track] = len(ids) + 1
            tracks.add(track)
            record(track)

    tracks: set = set()
    times = []
    for k in range(n_periods):
        t0 = time.perf_counter()
        for batch in dets[k]:
            frame(tracks, batch)
        tracks -= ss.deleter.delete_tracks(
            tracks, timestamp=T0 + timedelta(seconds=case.periods[k][0])
        )
        times.append(time.perf_counter() - t0)
        if verbose:
            print(
                f"  Stone Soup scan {k + 1}/{n_periods}: {times[-1]:.2f} s, "
                f"{len(tracks)} tracks, {len(ss.initiator.holding_tracks)} tentative",
                file=sys.stderr,
                flush=True,
            )
    res.scan_ms = 1e3 * np.array(times)
    res.n_confirmed = len(ids)
    return res


# --- output --------------------------------------------------------------------------------


def table(case: Case, results: list[Result], n_periods: int) -> None:
    n_plots = sum(len(p) for _, p in case.periods[:n_periods])
    n_false = sum(int((p.truth_id < 0).sum()) for _, p in case.periods[:n_periods])
    print(
        f"\n== {case.name}: {len(case.world.truth.rounds)} rounds, {len(case.radars)} radars, "
        f"{n_periods} scan periods of {case.scan_s:g} s, {n_plots} plots "
        f"({n_false} false) ==",
        flush=True,
    )
    head = (
        f"{'tracker':<16} {'confirmed':>9} {'GOSPA m':>8} {'RMSE m':>6} {'missed':>6} "
        f"{'false':>6} {'breaks':>6} {'swaps':>5} {'ms/scan':>9} {'p99 ms':>9}"
    )
    print(head)
    print("-" * len(head))
    for r in results:
        s = r.score
        g = s.gospa
        print(
            f"{r.label:<16} {r.n_confirmed:>9d} {s.mean_gospa_m:>8.1f} {s.rmse_m:>6.1f} "
            f"{np.mean(g.n_missed):>6.2f} {np.mean(g.n_false):>6.2f} {s.breaks:>6d} "
            f"{s.swaps:>5d} {np.mean(r.scan_ms):>9.2f} {np.percentile(r.scan_ms, 99):>9.2f}"
        )


NOTES = """\
notes: same plots for both trackers: {rr}.
  Stone Soup: EKF on opencram's ballistic dynamics and process noise (RK4; 7 states
  with kappa; Jacobian by finite differences);
  {meas} per radar;
  DistanceHypothesiser + Mahalanobis gated at chi2.ppf({gate}, {dof});
  GNNWith2DAssignment behind its detection k-d tree ({kd:g} m ball);
  MultiMeasurementInitiator (min_points {mp}; prior velocity 0 +- {v:g} m/s per axis{rv};
  kappa {k:g} +- {ks:g}; tentative tracks dropped after {hold:g} s without a plot);
  UpdateTimeDeleter {coast:g} s. Each radar's plots of a scan period are one batch;
  every detection keeps its own timestamp.
  GOSPA (c = {c:g} m, p = {p:g}) once a second against every round in flight, including
  rounds not yet in radar cover, on each confirmed track's latest estimate (at most
  1.5 scans + 0.5 s old) predicted to the sample time with opencram's BallisticModel:
  the same code for both. missed / false: mean rounds without a track within c, and
  tracks without a round, per sample. ms/scan: tracker time per scan period (all radars'
  plots), mean and 99th percentile; plot simulation and input conversion excluded."""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--case", choices=("grad", "stress", "all"), default="all")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--max-scans", type=int, default=None, help="scan periods per case")
    ap.add_argument("--clutter", type=float, default=5.0, help="false plots per radar scan")
    ap.add_argument(
        "--ss-scans",
        type=int,
        default=50,
        help="scan periods Stone Soup runs on the stress case (default 50: the ramp up and "
        "the first of the busiest scans, which take it tens of seconds each)",
    )
    ap.add_argument(
        "--no-range-rate", action="store_true", help="drop the plots' range rate for both"
    )
    ap.add_argument("--no-imm", action="store_true", help="skip the opencram IMM line")
    ap.add_argument("--verbose", action="store_true", help="Stone Soup progress on stderr")
    args = ap.parse_args()

    rr = not args.no_range_rate
    tcfg, sscfg = TrackerConfig(), SSConfig()
    print(
        NOTES.format(
            rr="range, azimuth, elevation and range rate"
            if rr
            else "range rate dropped (NaN) for both: range, azimuth, elevation only",
            meas="CartesianToElevationBearingRangeRate"
            if rr
            else "CartesianToElevationBearingRange",
            rv=",\n  plus the plot's radial velocity" if rr else "",
            gate=tcfg.gate_prob,
            dof=4 if rr else 3,
            kd=sscfg.kd_tree_m,
            mp=sscfg.min_points,
            v=sscfg.prior_speed_sd_mps,
            k=tcfg.kappa_prior,
            ks=tcfg.kappa_prior_sd,
            hold=sscfg.hold_s,
            coast=sscfg.coast_s,
            c=GOSPA_C_M,
            p=GOSPA_P,
        )
    )
    cases = ["grad", "stress"] if args.case == "all" else [args.case]
    model = BallisticModel(q_acc_mps2=tcfg.q_acc_mps2, q_kappa=tcfg.q_kappa)
    filters = ["ekf"] if args.no_imm else ["ekf", "imm"]
    for name in cases:
        if name == "grad":
            d = grad_scenario(args.clutter)
        else:
            d = stress_scenario(args.seed, args.clutter)
        t0 = time.perf_counter()
        case = simulate(name, d, args.seed, range_rate=rr)
        n = len(case.periods)
        n = n if args.max_scans is None else min(args.max_scans, n)
        print(f"\n[{name}: world and plots simulated in {time.perf_counter() - t0:.1f} s]")
        n_ss = n if name != "stress" else min(n, args.ss_scans)
        ss = run_stonesoup(case, n_ss, sscfg, verbose=args.verbose)
        ours_full = [run_opencram(case, f, n) for f in filters]
        ours_same = ours_full if n_ss == n else [run_opencram(case, f, n_ss) for f in filters]
        for r in [ss, *ours_same]:
            r.score = score(case, r, n_ss, model)
        if n_ss != n:
            print(
                f"Stone Soup runs the first {n_ss} of {n} scan periods; both are scored on those:"
            )
        table(case, [ss, *ours_same], n_ss)
        for r in ours_same:
            print(
                f"wall time per scan, Stone Soup / {r.label}: mean "
                f"{np.mean(ss.scan_ms) / np.mean(r.scan_ms):.0f}x, p99 "
                f"{np.percentile(ss.scan_ms, 99) / np.percentile(r.scan_ms, 99):.0f}x"
            )
        if n_ss != n:
            print(f"opencram alone on all {n} scan periods:")
            for r in ours_full:
                r.score = score(case, r, n, model)
            table(case, ours_full, n)


if __name__ == "__main__":
    main()
