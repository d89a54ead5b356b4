"""``opencram track`` as a user runs it, against Stone Soup's tracker, on one plot file.

Issue 14, point 1: every figure is CPU time (user + system), the sides are paired in one
run with interleaved repeats (min and median of ``--repeats``, at least 3), and each side
does what its user would do:

* ``opencram track --history`` (IMM, the default; and ``--filter ekf``): the **whole
  process**, interpreter start, imports, reading the CSV, tracking, impact and origin
  prediction and the JSON output, measured with ``resource.getrusage(RUSAGE_CHILDREN)``;
* opencram's **tracker alone** (IMM and EKF): ``Tracker.add`` + ``finish`` on the same plots,
  no prediction, no output (``time.process_time`` around those calls, in its own process);
* **Stone Soup**'s loop alone (``bench_vs_stonesoup.run_stonesoup``: EKF on opencram's
  ballistic dynamics, GNN, multi-measurement initiator, time deleter), timed around the loop
  only: building its ``Detection`` objects is not counted.

The plots: a generated scenario of ``--threats`` ballistic rounds (rockets and mortar bombs
from several launch points, default 60) seen by ``--radars`` radars (default 2) with clutter,
simulated by opencram's own radar model and written as the documented plot CSV. Two
versions of the same plots are run, because the issue asks for both:

* ``per-plot``: each plot keeps the time it was measured (as a rotating radar stamps it);
* ``per-scan``: every plot of one radar's scan carries that scan's median time, as a radar
  that reports one time per scan would. Both trackers see the same timestamps.

Accuracy (RMSE and GOSPA against the truth, with the scoring of bench_vs_stonesoup.py) comes
from the tracker-alone runs (the command line runs the same tracker on the same plots).

    .venv/bin/python benchmarks/bench_track_file.py                  # 60 threats, 3 repeats
    .venv/bin/python benchmarks/bench_track_file.py --threats 20 --repeats 3 --times per-scan
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import yaml

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import bench_vs_stonesoup as vs  # noqa: E402  (the benchmark folder is not a package)

TIMES = ("per-plot", "per-scan")


# --- the plot file ------------------------------------------------------------------------


def scenario(threats: int, radars: int, seed: int, clutter: float) -> dict:
    """``threats`` rounds of the stress mix (82 and 120 mm mortar bombs, 107 and 122 mm
    rockets, 2.5 to 14 km out), ten per launcher except the last, launchers taken in turn
    from each type, seen by the first ``radars`` of three radars."""
    d = vs.stress_scenario(seed, clutter)
    # launchers taken round-robin over the four types, so any count mixes them
    by_type = [d["threats"][k : k + 5] for k in range(0, len(d["threats"]), 5)]
    rounds = []
    for t in (t for group in zip(*by_type, strict=True) for t in group):
        left = threats - sum(r["salvo"]["count"] for r in rounds)
        if left <= 0:
            break
        rounds.append({**t, "salvo": {**t["salvo"], "count": min(left, t["salvo"]["count"])}})
    d["threats"] = rounds
    d["sensors"] = d["sensors"][:radars]
    d["name"] = f"track-file-{threats}"
    return d


def one_time_per_scan(case: vs.Case) -> vs.Case:
    """Every plot of a radar's scan period stamped with that scan's median plot time."""
    periods = []
    for t_end, plots in case.periods:
        t = plots.time_s.copy()
        for s in np.unique(plots.sensor):
            sel = plots.sensor == s
            t[sel] = np.median(t[sel])
        periods.append((t_end, replace(plots, time_s=t)))
    return replace(case, periods=periods)


def write_inputs(folder: Path, d: dict, seed: int) -> dict[str, vs.Case]:
    """Simulate once; write the scenario, sensors file and both plot CSVs."""
    from opencram.sense.plots import (
        Plots,
        sensor_specs_from_scenario,
        write_plots_csv,
        write_sensors_yaml,
    )

    case = vs.simulate(d["name"], d, seed, range_rate=False)
    cases = {"per-plot": case, "per-scan": one_time_per_scan(case)}
    (folder / "scenario.yaml").write_text(yaml.safe_dump(d))
    write_sensors_yaml(folder / "sensors.yaml", sensor_specs_from_scenario(case.world.scenario))
    ids = [r.id for r in case.world.scenario.sensors]
    for name, c in cases.items():
        write_plots_csv(folder / f"{name}.csv", Plots.concat([p for _, p in c.periods]), ids)
    return cases


def load_case(folder: Path, times: str, seed: int) -> vs.Case:
    """The case again in a worker process: same scenario and seed give the same plots."""
    d = yaml.safe_load((folder / "scenario.yaml").read_text())
    case = vs.simulate(d["name"], d, seed, range_rate=False)
    return one_time_per_scan(case) if times == "per-scan" else case


# --- the workers (each in its own process) -------------------------------------------------


def worker(side: str, folder: Path, times: str, seed: int) -> dict:
    """Run one side in this process; CPU of the timed part only, plus its accuracy."""
    from opencram.track.manager import TrackerConfig
    from opencram.track.models import BallisticModel

    case = load_case(folder, times, seed)
    n = len(case.periods)
    if side == "stonesoup":
        dets = vs.detections_of(case, vs.stonesoup_measurement_models(case))
        c0 = time.process_time()
        res = vs.run_stonesoup(case, n, vs.SSConfig(), dets=dets)
        cpu = time.process_time() - c0
    else:
        c0 = time.process_time()
        res = vs.run_opencram(case, side.removeprefix("tracker-"), n)
        cpu = time.process_time() - c0
    tcfg = TrackerConfig()
    model = BallisticModel(q_acc_mps2=tcfg.q_acc_mps2, q_kappa=tcfg.q_kappa)
    sc = vs.score(case, res, n, model)
    return {
        "cpu_s": cpu,
        "rmse_m": sc.rmse_m,
        "gospa_m": sc.mean_gospa_m,
        "confirmed": res.n_confirmed,
    }


def child_cpu(cmd: list[str]) -> tuple[float, str]:
    """CPU seconds (user + system) of one child process, and its standard output."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{done.stderr}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return cpu, done.stdout


def run_side(side: str, folder: Path, times: str, seed: int) -> dict:
    if side.startswith("cli-"):
        cmd = [sys.executable, "-m", "opencram.cli", "track", str(folder / f"{times}.csv")]
        cmd += ["--sensors", str(folder / "sensors.yaml"), "--history"]
        cmd += ["--out", str(folder / f"out-{side}-{times}.json")]
        cmd += ["--filter", side.removeprefix("cli-")]
        cpu, _ = child_cpu(cmd)
        return {"cpu_s": cpu}
    cmd = [sys.executable, __file__, "--worker", side, "--folder", str(folder)]
    cmd += ["--times", times, "--seed", str(seed)]
    _, out = child_cpu(cmd)
    return json.loads(out.strip().splitlines()[-1])


# --- the report ------------------------------------------------------------------------------

SIDES = ("cli-imm", "cli-ekf", "tracker-imm", "tracker-ekf", "stonesoup")
LABELS = {
    "cli-imm": "opencram track --history (IMM), whole process",
    "cli-ekf": "opencram track --history --filter ekf, whole process",
    "tracker-imm": "opencram tracker alone (IMM)",
    "tracker-ekf": "opencram tracker alone (EKF)",
    "stonesoup": "Stone Soup tracker loop alone (EKF)",
}


def report(times: str, runs: dict[str, list[dict]]) -> None:
    cpu = {s: np.array([r["cpu_s"] for r in runs[s]]) for s in runs}
    print(f"\n-- {times} times: CPU seconds over {len(cpu['stonesoup'])} paired repeats --")
    print(f"{'side':<54} {'min':>7} {'median':>7} {'RMSE m':>7} {'GOSPA m':>8} {'tracks':>6}")
    for s in SIDES:
        acc = runs[s][0]
        rm = f"{acc['rmse_m']:7.1f}" if "rmse_m" in acc else f"{'':>7}"
        go = f"{acc['gospa_m']:8.1f}" if "gospa_m" in acc else f"{'':>8}"
        nt = f"{acc['confirmed']:6d}" if "confirmed" in acc else f"{'':>6}"
        print(f"{LABELS[s]:<54} {cpu[s].min():7.2f} {np.median(cpu[s]):7.2f} {rm} {go} {nt}")
    ss = cpu["stonesoup"]
    for s in SIDES[:-1]:
        ratio = ss / cpu[s]  # paired: repeat k of one side against repeat k of the other
        print(
            f"Stone Soup loop / {LABELS[s]}: paired ratio min {ratio.min():.1f}x, "
            f"median {np.median(ratio):.1f}x"
        )
    rm_ss = runs["stonesoup"][0]["rmse_m"]
    for s in ("tracker-imm", "tracker-ekf"):
        print(f"RMSE {LABELS[s]} / Stone Soup: {runs[s][0]['rmse_m'] / rm_ss:.2f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threats", type=int, default=60)
    ap.add_argument("--radars", type=int, default=2, choices=(1, 2, 3))
    ap.add_argument("--clutter", type=float, default=5.0, help="false plots per radar scan")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--times", choices=(*TIMES, "both"), default="both")
    ap.add_argument("--worker", choices=SIDES[2:], help=argparse.SUPPRESS)
    ap.add_argument("--folder", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        print(json.dumps(worker(args.worker, args.folder, args.times, args.seed)))
        return
    if args.repeats < 3:
        raise SystemExit("--repeats: at least 3 (min and median of paired repeats)")
    os.environ.setdefault("OMP_NUM_THREADS", "1")  # children inherit: one core each
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        d = scenario(args.threats, args.radars, args.seed, args.clutter)
        cases = write_inputs(folder, d, args.seed)
        c = cases["per-plot"]
        n_plots = sum(len(p) for _, p in c.periods)
        print(
            f"{len(c.world.truth.rounds)} rounds, {len(c.radars)} radars, {len(c.periods)} "
            f"scan periods of {c.scan_s:g} s, {n_plots} plots (clutter {args.clutter:g} per "
            f"radar scan), seed {args.seed}; machine load {os.getloadavg()[0]:.1f}"
        )
        for times in TIMES if args.times == "both" else (args.times,):
            runs: dict[str, list[dict]] = {s: [] for s in SIDES}
            for k in range(args.repeats):
                for s in SIDES if k % 2 == 0 else SIDES[::-1]:  # interleaved, order alternated
                    runs[s].append(run_side(s, folder, times, args.seed))
            report(times, runs)


if __name__ == "__main__":
    main()
