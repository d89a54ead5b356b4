"""Campaign throughput: CPU per green-zone run, runs per second on 1 and 2 local worker
processes (and the scaling ratio), and Ray's overhead against the local executor.

Every figure is a wall-clock or CPU time measured here, in one process tree; the campaign
folders go to a temporary directory and are removed.

    .venv/bin/python benchmarks/bench_campaign.py              # 12 runs per configuration
    .venv/bin/python benchmarks/bench_campaign.py --runs 6     # quicker
    .venv/bin/python benchmarks/bench_campaign.py --no-ray     # local executor only
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

VARY = ("threats[*].launch.lat=+normal(0,0.002)", "environment.wind.speed_mps=uniform(0,8)")


def cpu_per_run(n: int) -> list[float]:
    """CPU seconds of single green-zone runs in this process (world, engine, rows), after
    one warm-up run (imports, aim cache)."""
    from opencram.campaign.vary import parse_vary
    from opencram.campaign.worker import Task, run_task
    from opencram.scenario.load import load

    loaded = load("green-zone")
    base = loaded.scenario.model_dump(mode="json")
    vs = tuple(parse_vary(v) for v in VARY)
    run_task(Task(base, str(loaded.base_dir), loaded.source, "base", {}, vs, 7, 1000))
    out = []
    for r in range(n):
        res = run_task(Task(base, str(loaded.base_dir), loaded.source, "base", {}, vs, 7, r))
        assert res["run"]["status"] == "ok", res["run"]["error"]
        out.append(res["run"]["cpu_s"])
    return out


def campaign_wall_s(tmp: Path, label: str, runs: int, **kw) -> float:
    from opencram.campaign.runner import run_campaign

    t0 = time.perf_counter()
    res = run_campaign(
        "green-zone",
        runs,
        varies=VARY,
        out_dir=tmp / label,
        on_progress=None,
        report=False,
        **kw,
    )
    wall = time.perf_counter() - t0
    assert res.summary["layouts"]["base"]["runs"]["ok"] == runs
    return wall


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=12, help="runs per configuration")
    ap.add_argument("--cpu-runs", type=int, default=5, help="in-process runs for CPU per run")
    ap.add_argument("--no-ray", action="store_true")
    args = ap.parse_args()

    cpu = cpu_per_run(args.cpu_runs)
    print(
        f"green-zone run, CPU in one process: median {statistics.median(cpu):.3f} s, "
        f"min {min(cpu):.3f} s, max {max(cpu):.3f} s over {len(cpu)} runs"
    )
    print(
        f"green-zone runs per CPU-second, one worker (warm, in process): "
        f"{1 / statistics.median(cpu):.2f} (median), {1 / min(cpu):.2f} (best)"
    )
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        n = args.runs
        w1 = campaign_wall_s(tmp, "local1", n, executor="local", workers=1)
        w2 = campaign_wall_s(tmp, "local2", n, executor="local", workers=2)
        print(f"local executor, 1 worker : {n} runs in {w1:6.2f} s = {n / w1:5.2f} runs/s")
        print(f"local executor, 2 workers: {n} runs in {w2:6.2f} s = {n / w2:5.2f} runs/s")
        print(f"scaling 1 -> 2 workers: {w1 / w2:.2f}x (ideal 2.00x)")
        print(
            f"load average at the end: {os.getloadavg()[0]:.1f} (wall scaling needs 2 idle cores)"
        )
        if not args.no_ray:
            import ray

            t0 = time.perf_counter()
            ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
            t_init = time.perf_counter() - t0
            try:
                wr = campaign_wall_s(tmp, "ray2", n, executor="ray")
            finally:
                ray.shutdown()
            print(f"ray.init(num_cpus=2): {t_init:.2f} s")
            print(
                f"ray executor, 2 CPUs   : {n} runs in {wr:6.2f} s = {n / wr:5.2f} runs/s "
                f"(after init); with init {n / (wr + t_init):5.2f} runs/s"
            )
            print(
                f"Ray overhead against local (2 workers): {wr - w2:+.2f} s "
                f"({(wr / w2 - 1) * 100:+.0f} %) without init, "
                f"{wr + t_init - w2:+.2f} s with init"
            )


if __name__ == "__main__":
    main()
