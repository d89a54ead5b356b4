"""Real-time capacity of the tracker: many simultaneous ballistic threats, three radars
with clutter, 1 s scans. Reports the tracker's CPU time per scan (mean, p50, p99, max;
``time.process_time``, BLAS threads pinned to 1), and tracking quality; ``--sweep``
gives the cost per scan against the clutter density instead.

    .venv/bin/python benchmarks/bench_tracker_capacity.py --threats 500 --filter imm
    .venv/bin/python benchmarks/bench_tracker_capacity.py --threats 60 --filter imm \
        --sweep 0,10,25,50,100
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

import argparse
import time

import numpy as np

from opencram.analysis.tracking import score_run
from opencram.c2.stages import SenseStage, tracker_sensors
from opencram.sense.plots import Plots
from opencram.track.history import confirmed_updates
from opencram.track.manager import Tracker, TrackerConfig
from scenarios import many_threats


def simulate(threats: int, clutter: float, seed: int):
    """The world, its recorded plots, the radars' sense stage and the end time (s)."""
    world = many_threats(threats, seed=seed, clutter_per_scan=clutter)
    stage = SenseStage(world, np.random.default_rng([seed, 1]))
    impacts = world.truth.impact_times()
    end = float(np.nanmax(np.where(np.isfinite(impacts), impacts, 0.0))) + 3.0
    for t in np.arange(0.0, end, 0.25):
        stage.step(float(t))
    return world, stage.recorded(), stage, end


def track_scans(plots, stage, filter_name: str, end: float):
    """The tracker fed scan by scan (1 s of plots each): its CPU time per scan (s, from
    ``time.process_time``), live tracks after each scan, and the tracker."""
    tracker = Tracker(tracker_sensors(stage.radars), TrackerConfig(filter=filter_name))
    per_scan, n_live = [], []
    for k in range(int(np.ceil(end))):
        sel = np.flatnonzero((plots.time_s >= k) & (plots.time_s < k + 1))
        batch = plots.take(sel) if sel.size else Plots.empty()
        s = time.process_time()
        tracker.add(batch)
        tracker.step(float(k + 1))
        per_scan.append(time.process_time() - s)
        n_live.append(len(tracker.tracks))
    tracker.finish()
    return np.array(per_scan), np.array(n_live), tracker


def sweep(args) -> None:
    """Tracker CPU per scan against the false plots per radar scan (one world per level):
    the mean and p99 per scan, and the mean divided by the plots per scan, which stays
    level if the cost grows no faster than linearly in plots."""
    print(
        f"clutter sweep: threats {args.threats}, radars 3 (1 s scans), filter {args.filter}, "
        f"seed {args.seed}; CPU per scan (time.process_time)"
    )
    print("false/radar/scan  plots/scan  mean ms  p99 ms  peak tracks  us per plot")
    for level in (float(c) for c in args.sweep.split(",")):
        _, plots, stage, end = simulate(args.threats, level, args.seed)
        cpu, n_live, _ = track_scans(plots, stage, args.filter, end)
        ms = cpu * 1000
        per_scan = len(plots) / np.ceil(end)
        print(
            f"{level:16g}  {per_scan:10.0f}  {ms.mean():7.1f}  {np.percentile(ms, 99):6.1f}"
            f"  {n_live.max():11d}  {ms.mean() * 1000 / per_scan:11.1f}"
        )


def _near_bound_off() -> None:
    """Every filter keeps every row in ``near_plots`` (no track is left unpredicted)."""
    from opencram.track import filters

    for cls in (filters.EKFFilter, filters.CKFFilter, filters.IMMFilter):
        cls.near_plots = lambda self, tracks, rows, *args: np.ones(len(rows), dtype=bool)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threats", type=int, default=500)
    ap.add_argument("--filter", default="ekf", choices=["ekf", "ckf", "imm"])
    ap.add_argument("--clutter", type=float, default=10.0, help="false plots per radar scan")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument(
        "--sweep", default="", help="comma-separated clutter levels: the clutter-density curve"
    )
    ap.add_argument(
        "--no-near-bound",
        action="store_true",
        help="predict every predictable track to every frame (the near-plot bound off: the "
        "before side of issue 14 point 4)",
    )
    args = ap.parse_args()
    if args.no_near_bound:
        _near_bound_off()
    if args.sweep:
        sweep(args)
        return
    t0 = time.process_time()
    world, plots, stage, end = simulate(args.threats, args.clutter, args.seed)
    t_sim = time.process_time() - t0
    cpu, n_live, tracker = track_scans(plots, stage, args.filter, end)
    ms = cpu * 1000
    busy = n_live >= 0.8 * n_live.max()
    score = score_run(world, tracker, end)
    print(
        f"threats {args.threats}, radars 3 (1 s scans), clutter {args.clutter:g}/radar/scan, "
        f"filter {args.filter}, seed {args.seed}"
    )
    print(
        f"plots {len(plots)} ({int(np.sum(plots.truth_id < 0))} false) over {end:.0f} s; "
        f"simulation {t_sim:.1f} s CPU"
    )
    print(f"peak live tracks {n_live.max()}; confirmed tracks {len(confirmed_updates(tracker))}")
    print(
        f"tracker CPU per scan (all scans): mean {ms.mean():.1f} ms, p50 "
        f"{np.percentile(ms, 50):.1f} ms, p99 {np.percentile(ms, 99):.1f} ms, max {ms.max():.1f} ms"
    )
    print(
        f"tracker CPU per scan (scans with >= 80% of peak tracks, n={busy.sum()}): "
        f"p99 {np.percentile(ms[busy], 99):.1f} ms"
    )
    print(
        f"mean GOSPA {score.mean_gospa_m:.1f} m (c = 100 m), breaks {score.breaks}, "
        f"swaps {score.swaps}, position RMSE {score.rmse_m:.1f} m"
    )


if __name__ == "__main__":
    main()
