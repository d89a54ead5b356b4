"""CPU of whole ``opencram`` processes, as a user starts them, for one or more source trees.

Issue 14, points 5 and 7: each command runs as its own process (``python -m opencram ...``),
its CPU (user + system) read with ``resource.getrusage(RUSAGE_CHILDREN)``; the trees
(``--src``, e.g. the commit before a change and after it) are paired and interleaved, the
order alternating from repeat to repeat, and each figure is the min and median of
``--repeats`` (at least 3). One untimed warm-up run of every command and tree first loads
numba's cache (or compiles it, the first time a tree runs).

Commands (``--cases``):

* ``help``: ``opencram --help``;
* ``track-empty``: ``opencram track`` on a plot file holding only its header, with a
  one-radar sensors file;
* ``run-green-zone``: ``opencram run green-zone -q`` with its report, into a fresh folder.

    .venv/bin/python benchmarks/bench_cli_cpu.py                         # this tree
    .venv/bin/python benchmarks/bench_cli_cpu.py --src before=/tmp/base/src --src after=src
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
CASES = ("help", "track-empty", "run-green-zone")
SENSORS = (
    "sensors:\n- id: r1\n  lat: 34.5\n  lon: 69.2\n  alt_m: 1800.0\n  sigma_range_m: 10.0\n"
    "  sigma_azimuth_mrad: 2.0\n  sigma_elevation_mrad: 2.0\n  scan_s: 1.0\n"
)


def command(case: str, folder: Path) -> list[str]:
    if case == "help":
        return ["--help"]
    if case == "track-empty":
        plots, sensors, out = (str(folder / f) for f in ("empty.csv", "s.yaml", "o.json"))
        return ["track", plots, "--sensors", sensors, "--out", out]
    return ["run", "green-zone", "-q", "--out", str(folder / "green-zone")]


def child_cpu(cmd: list[str], src: str) -> float:
    """CPU seconds (user + system) of one child process run with ``src`` on its path."""
    env = dict(os.environ, PYTHONPATH=src)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} (PYTHONPATH={src}) failed:\n{done.stderr}")
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def measure(cases, trees: dict[str, str], repeats: int, folder: Path) -> dict:
    """{case: {tree: [cpu, ...]}}, repeats interleaved over trees with alternating order."""
    cpu = {c: {t: [] for t in trees} for c in cases}
    names = list(trees)
    for k in range(-1, repeats):  # k = -1: the warm-up
        for case in cases:
            for t in names if k % 2 == 0 else names[::-1]:
                shutil.rmtree(folder / "green-zone", ignore_errors=True)
                cmd = [sys.executable, "-m", "opencram", *command(case, folder)]
                s = child_cpu(cmd, trees[t])
                if k >= 0:
                    cpu[case][t].append(s)
    return cpu


def report(cpu: dict, trees: dict[str, str]) -> None:
    names = list(trees)
    print(f"{'command':<34}" + "".join(f"{t + ' min, median':>26}" for t in names))
    for case, by_tree in cpu.items():
        cols = "".join(
            f"{min(v):>15.3f} s, {np.median(v):.3f} s".rjust(26) for v in by_tree.values()
        )
        print(f"{case:<34}{cols}")
        if len(names) == 2:
            r = np.array(by_tree[names[0]]) / np.array(by_tree[names[1]])
            print(
                f"  {names[0]} / {names[1]}: paired ratio min {r.min():.2f}x, "
                f"median {np.median(r):.2f}x"
            )


def parse_trees(values: list[str] | None) -> dict[str, str]:
    if not values:
        return {"this": str(HERE.parent / "src")}
    trees = {}
    for v in values:
        name, sep, path = v.partition("=")
        if not sep or not Path(path).is_dir():
            raise SystemExit(f"--src {v}: expected NAME=FOLDER with an existing folder")
        trees[name] = str(Path(path).resolve())
    return trees


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--src", action="append", help="NAME=FOLDER of a source tree (repeatable)")
    ap.add_argument("--cases", default=",".join(CASES), help=f"comma-separated: {CASES}")
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()
    cases = [c for c in args.cases.split(",") if c]
    if bad := [c for c in cases if c not in CASES]:
        raise SystemExit(f"--cases: unknown {bad}; choose from {CASES}")
    if args.repeats < 3:
        raise SystemExit("--repeats: at least 3 (min and median of paired repeats)")
    trees = parse_trees(args.src)
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / "empty.csv").write_text("time_s,sensor,range_m,azimuth_deg,elevation_deg\n")
        (folder / "s.yaml").write_text(SENSORS)
        print(f"machine load {os.getloadavg()[0]:.1f}; {args.repeats} paired repeats, CPU")
        cpu = measure(cases, trees, args.repeats, folder)
    report(cpu, trees)


if __name__ == "__main__":
    main()
