"""Every benchmark behind docs/benchmarks.md (and docs/reliability.md's load figures), one
after the other, each as its own process: ``make bench`` runs this.

``BENCHMARKS`` below is the register: one entry per run that produces a recorded figure,
naming the script, its arguments, the section of the docs it fills and the arguments of a
smoke run (``--quick``: the same code on a small case, to show it still runs; its figures
mean nothing). Every ``benchmarks/bench_*.py`` must appear in it:
``tests/test_run_all.py`` fails naming any that does not. To add a benchmark, add its
entries here (with a ``quick`` form, or ``quick=None`` and the reason in ``note``) and its
figures to docs/benchmarks.md.

    .venv/bin/python benchmarks/run_all.py --list          # what would run
    .venv/bin/python benchmarks/run_all.py --quick         # smoke run of every entry
    .venv/bin/python benchmarks/run_all.py                 # every figure (hours)
    .venv/bin/python benchmarks/run_all.py --only bench_track_file.py,bench_cli_cpu.py
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
SRC = HERE.parent / "src"


@dataclass(frozen=True)
class Entry:
    script: str  # a file in benchmarks/
    args: tuple[str, ...]  # the arguments of the recorded figure
    section: str  # where the figure is recorded
    quick: tuple[str, ...] | None  # the smoke run's arguments; None: not smoke-run
    note: str = ""


BENCH = "docs/benchmarks.md"
BENCHMARKS: tuple[Entry, ...] = (
    Entry("bench_trajectories.py", (), f"{BENCH}: Batched trajectories",
          ("--n", "200", "--scipy-max-n", "20")),
    Entry("bench_tracker_capacity.py", ("--threats", "500"), f"{BENCH}: tracker capacity (EKF)",
          ("--threats", "20")),
    Entry("bench_tracker_capacity.py", ("--threats", "500", "--filter", "imm", "--clutter", "10"),
          f"{BENCH}: tracker capacity (IMM), issue 14 point 4",
          ("--threats", "20", "--filter", "imm")),
    Entry("bench_tracker_capacity.py", ("--threats", "60", "--filter", "imm", "--sweep",
          "0,10,25,50,100"), f"{BENCH}: the clutter curve",
          ("--threats", "10", "--filter", "imm", "--sweep", "0,10")),
    Entry("bench_imm_kernels.py", ("--rows", "60,600", "--repeats", "5"),
          f"{BENCH}: IMM mixing and combination kernels", ("--rows", "60", "--repeats", "3",
          "--calls", "5")),
    Entry("bench_cli_cpu.py", ("--repeats", "5"), f"{BENCH}: Start-up CPU; green-zone run",
          ("--repeats", "3", "--cases", "help,track-empty"),
          "before/after figures: add --src before=OLD/src --src after=src"),
    Entry("bench_json.py", (), f"{BENCH}: JSON output (a part)", ("--threats", "6")),
    Entry("bench_prediction_accuracy.py", (), f"{BENCH}: Prediction accuracy and calibration",
          ("--rounds", "3", "--types", "rocket-107mm")),
    Entry("bench_vs_stonesoup.py", (), f"{BENCH}: Peer comparison (issue 3, superseded)",
          ("--case", "grad", "--max-scans", "5")),
    Entry("bench_vs_stonesoup.py", ("--case", "grad", "--no-range-rate"),
          f"{BENCH}: Peer comparison without range rate", None, "the quick form above covers it"),
    Entry("bench_campaign.py", (), f"{BENCH}: Campaigns",
          ("--runs", "2", "--cpu-runs", "1", "--no-ray")),
    Entry("bench_mismatch.py", (), f"{BENCH}: Model mismatch",
          ("--cells", "m120-6km-clean", "--rounds", "1")),
    Entry("bench_mismatch.py", ("--what-if",), f"{BENCH}: Model mismatch, what-if",
          ("--cells", "m120-6km-clean", "--rounds", "1", "--what-if")),
    Entry("bench_track_file.py", ("--threats", "60", "--repeats", "3", "--times", "both"),
          f"{BENCH}: opencram track against Stone Soup (issue 14 point 1)",
          ("--threats", "2", "--repeats", "3", "--times", "per-scan")),
    Entry("bench_serve_flood.py", ("--rates", "250,500,1000", "--seconds", "5"),
          "docs/reliability.md: load on opencram serve", ("--rates", "50", "--seconds", "1")),
    Entry("bench_registration.py", ("--rounds", "8", "--real", "clean"),
          f"{BENCH}: Sensor registration", ("--rounds", "2", "--real", "clean")),
    Entry("bench_registration.py", ("--rounds", "8", "--real", "all"),
          f"{BENCH}: Sensor registration", None, "the quick form above covers it"),
    Entry("bench_registration.py", ("--rounds", "8", "--real", "all", "--rot"),
          f"{BENCH}: Sensor registration", None, "the quick form above covers it"),
    Entry("bench_crb.py", (), f"{BENCH}: Impact error against the Cramér-Rao bound",
          ("--cells", "m120-6km-clean", "--rounds", "2")),
    Entry("fuzz_all.py", ("--out", "runs/fuzz-out"), "docs/reliability.md: Figures (fuzzing)",
          ("--out", "runs/fuzz-quick", "--scale", "0.002"),
          "resumes from its checkpoint in --out: remove the folder for a fresh run"),
    Entry("soak_serve.py", ("--minutes", "10", "--out", "runs/soak10.csv"),
          "docs/reliability.md: Figures (soak)", ("--minutes", "0.5", "--every", "5",
          "--out", "runs/soak-quick.csv")),
    Entry("bench_track_memory.py", ("--rows", "20000,80000,200000,500000"),
          "docs/reliability.md: Peak RSS against file length", ("--rows", "5000")),
    Entry("bench_track_memory.py", ("--rows", "1000000,2000000", "--modes", "plain"),
          "docs/reliability.md: Peak RSS against file length", None,
          "the quick form above covers it"),
    Entry("campaign_kills.py", ("--runs", "12", "--rounds", "4", "--every", "4"),
          "docs/reliability.md: Figures (worker kills)", ("--runs", "2", "--rounds", "1")),
)  # fmt: skip


def covered_scripts() -> set[str]:
    return {e.script for e in BENCHMARKS}


def missing_scripts() -> list[str]:
    """``bench_*.py`` files of this folder with no entry in ``BENCHMARKS``."""
    return sorted(p.name for p in HERE.glob("bench_*.py") if p.name not in covered_scripts())


def command(e: Entry, quick: bool) -> list[str]:
    args = e.quick if quick else e.args
    return [sys.executable, str(HERE / e.script), *(args or ())]


def run_entry(e: Entry, quick: bool) -> tuple[int, float]:
    """Exit status and CPU seconds of one entry, its output passed through."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(SRC), str(HERE), env.get("PYTHONPATH", "")) if p
    )
    cmd = command(e, quick)
    print(f"\n=== {' '.join([Path(cmd[1]).name, *cmd[2:]])}   [{e.section}]", flush=True)
    c0 = os.times()
    rc = subprocess.run(cmd, cwd=HERE, env=env, check=False).returncode
    c1 = os.times()
    return rc, (c1.children_user - c0.children_user) + (c1.children_system - c0.children_system)


def selected(only: str | None, quick: bool) -> list[Entry]:
    entries = [e for e in BENCHMARKS if not (quick and e.quick is None)]
    if only:
        names = set(only.split(","))
        if unknown := names - covered_scripts():
            raise SystemExit(f"--only: no entry for {sorted(unknown)}")
        entries = [e for e in entries if e.script in names]
    return entries


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="smoke run: small cases, no figures")
    ap.add_argument("--list", action="store_true", help="print the commands and stop")
    ap.add_argument("--only", help="comma-separated script names")
    args = ap.parse_args()
    if missing := missing_scripts():
        raise SystemExit(f"benchmarks/run_all.py: no entry for {', '.join(missing)}")
    entries = selected(args.only, args.quick)
    if args.list:
        for e in entries:
            cmd = command(e, args.quick)
            print(f"{' '.join([Path(cmd[1]).name, *cmd[2:]]):<78} {e.section}")
        return
    t0 = time.monotonic()
    failed = []
    for e in entries:
        rc, cpu = run_entry(e, args.quick)
        print(f"--- exit {rc}, CPU {cpu:.1f} s (this benchmark and its children)", flush=True)
        if rc != 0:
            failed.append(e.script)
    print(f"\n{len(entries)} benchmark runs in {time.monotonic() - t0:.0f} s wall")
    if failed:
        raise SystemExit(f"failed: {', '.join(failed)}")


if __name__ == "__main__":
    main()
