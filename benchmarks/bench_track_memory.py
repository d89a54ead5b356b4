"""Peak memory of ``opencram track`` against the length of the plot file (issue 17, Deliver
point 5: memory bounded on 2M-row files).

Each figure is the **whole process**'s peak resident set (``ru_maxrss`` of
``resource.getrusage(RUSAGE_CHILDREN)``, read in a small wrapper process that starts one
``opencram track`` and waits for it, so every figure comes from a process of its own) and
its CPU time (user + system).

The plot files are generated with numpy (:func:`write_plot_file`): one radar with a 1 s scan,
``OBJECTS`` objects in the air at any time, each flying straight at 60 to 250 m/s for
``LIFE_S`` seconds at 300 to 3,000 m up (a confirmed track each), and ``CLUTTER`` false
plots per scan uniform in range and azimuth. The rows are in time order, as a recorder
writes them.

    PYTHONPATH=src .venv/bin/python benchmarks/bench_track_memory.py --rows 200000,1000000,2000000
    PYTHONPATH=src .venv/bin/python benchmarks/bench_track_memory.py --rows 20000 --keep /tmp/p
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

HEADER = "time_s,sensor,range_m,azimuth_deg,elevation_deg,range_rate_mps,snr_db"
SENSORS = """\
sensors:
  - {id: r1, lat: 33.3, lon: 44.4, alt_m: 34, sigma_range_m: 10, sigma_azimuth_mrad: 2,
     sigma_elevation_mrad: 2, sigma_range_rate_mps: 1.0, scan_s: 1.0}
"""
OBJECTS = 8  # objects in the air at any time
LIFE_S = 120  # seconds each object is seen (one plot per scan)
CLUTTER = 2  # false plots per scan
BLOCK_SCANS = 5_000  # scans generated and written at a time

# the wrapper: run one command, print its peak RSS (KiB on Linux) and CPU seconds
_WRAPPER = (
    "import json, resource, subprocess, sys\n"
    "r = subprocess.run(sys.argv[1:], capture_output=True, text=True)\n"
    "u = resource.getrusage(resource.RUSAGE_CHILDREN)\n"
    "print(json.dumps({'rc': r.returncode, 'maxrss_kib': u.ru_maxrss,\n"
    "  'cpu_s': u.ru_utime + u.ru_stime, 'stdout': r.stdout, 'stderr': r.stderr[-2000:]}))\n"
)


def _scan_rows(rng: np.random.Generator, scans: np.ndarray) -> np.ndarray:
    """Rows (time, range, azimuth, elevation, range rate, snr) of the scans ``scans``
    (integers, 1 s apart): every object in the air and the clutter, in time order."""
    t_scan = scans.astype(float)
    # object k starts at scan k * LIFE_S / OBJECTS (mod its life); its track is a seeded line
    k = np.arange(OBJECTS)
    phase = (t_scan[:, None] + k[None, :] * (LIFE_S // OBJECTS)) % LIFE_S  # (s, k)
    life_no = (t_scan[:, None] + k[None, :] * (LIFE_S // OBJECTS)) // LIFE_S
    # one object's parameters from its (life number, slot): a cheap integer hash
    key = (life_no * OBJECTS + k[None, :]).astype(np.uint64)
    u = ((key * np.uint64(2654435761) + np.uint64(12345)) % np.uint64(1 << 20)) / float(1 << 20)
    v = ((key * np.uint64(40503) + np.uint64(977)) % np.uint64(1 << 20)) / float(1 << 20)
    heading = 2 * np.pi * u
    speed = 60.0 + 190.0 * v
    height = 300.0 + 2700.0 * ((u + v) % 1.0)
    start_e = -0.5 * LIFE_S * speed * np.sin(heading) + 2000.0 * (v - 0.5)
    start_n = -0.5 * LIFE_S * speed * np.cos(heading) + 2000.0 * (u - 0.5)
    e = start_e + speed * np.sin(heading) * phase
    n = start_n + speed * np.cos(heading) * phase
    r = np.sqrt(e**2 + n**2 + height**2)
    ve, vn = speed * np.sin(heading), speed * np.cos(heading)
    rr = (e * ve + n * vn) / r
    obj = np.stack(
        [
            (t_scan[:, None] + 0.01 * k[None, :]).ravel(),  # each at its own beam time
            (r + rng.normal(0, 10.0, r.shape)).ravel(),
            ((np.degrees(np.arctan2(e, n)) + rng.normal(0, 0.1146, r.shape)) % 360.0).ravel(),
            np.minimum(
                np.degrees(np.arcsin(height / r)) + rng.normal(0, 0.1146, r.shape), 90.0
            ).ravel(),
            (rr + rng.normal(0, 1.0, r.shape)).ravel(),
            rng.uniform(15.0, 30.0, r.size),
        ],
        axis=1,
    )
    m = scans.size * CLUTTER
    clutter = np.stack(
        [
            np.repeat(t_scan, CLUTTER) + rng.uniform(0.0, 0.99, m),
            rng.uniform(1000.0, 30000.0, m),
            rng.uniform(0.0, 360.0, m),
            rng.uniform(0.5, 20.0, m),
            rng.normal(0.0, 30.0, m),
            rng.uniform(10.0, 14.0, m),
        ],
        axis=1,
    )
    rows = np.concatenate([obj, clutter])
    return rows[np.argsort(rows[:, 0], kind="stable")]


def write_plot_file(path: Path, n_rows: int, seed: int = 1) -> None:
    """A time-ordered plot CSV of ``n_rows`` rows (see the module docstring)."""
    rng = np.random.default_rng(seed)
    per_scan = OBJECTS + CLUTTER
    n_scans = -(-n_rows // per_scan)
    written = 0
    with path.open("w") as fh:
        fh.write(HEADER + "\n")
        for first in range(0, n_scans, BLOCK_SCANS):
            rows = _scan_rows(rng, np.arange(first, min(first + BLOCK_SCANS, n_scans)) + 100)
            rows = rows[: n_rows - written]
            written += rows.shape[0]
            text = "\n".join(
                f"{t:.6f},r1,{r:.3f},{a:.6f},{e:.6f},{v:.3f},{s:.2f}" for t, r, a, e, v, s in rows
            )
            fh.write(text + "\n")


def measure(plots: Path, sensors: Path, out: Path, history: bool) -> dict:
    """Peak RSS (MB) and CPU time (s) of one ``opencram track`` process."""
    cmd = [sys.executable, "-m", "opencram", "track", str(plots), "--sensors", str(sensors),
           "--out", str(out), *(["--history"] if history else [])]  # fmt: skip
    got = subprocess.run(
        [sys.executable, "-c", _WRAPPER, *cmd], capture_output=True, text=True, check=True
    )
    r = json.loads(got.stdout)
    if r["rc"] != 0:
        raise SystemExit(f"opencram track failed: {r['stderr']}")
    return {
        "peak_rss_mb": r["maxrss_kib"] / 1024,
        "cpu_s": r["cpu_s"],
        "out_mb": out.stat().st_size / 1e6,
        "line": r["stdout"].strip(),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rows", default="200000,1000000,2000000", help="comma-separated")
    ap.add_argument("--modes", default="plain,history", help="plain and/or history")
    ap.add_argument("--keep", type=Path, default=None, help="folder to keep the files in")
    args = ap.parse_args()
    folder = args.keep or Path(tempfile.mkdtemp(prefix="bench_track_memory_"))
    folder.mkdir(parents=True, exist_ok=True)
    sensors = folder / "sensors.yaml"
    sensors.write_text(SENSORS)
    print("| rows | --history | peak RSS (MB) | CPU (s) | output (MB) | opencram's line |")
    print("|---|---|---|---|---|---|")
    for n in (int(x) for x in args.rows.split(",")):
        plots = folder / f"plots_{n}.csv"
        if not plots.exists():
            write_plot_file(plots, n)
        for mode in args.modes.split(","):
            r = measure(plots, sensors, folder / f"tracks_{n}_{mode}.json", mode == "history")
            print(
                f"| {n:,} | {'yes' if mode == 'history' else 'no'} | {r['peak_rss_mb']:.0f} | "
                f"{r['cpu_s']:.0f} | {r['out_mb']:.1f} | {r['line']} |",
                flush=True,
            )
        if args.keep is None:
            plots.unlink()
    if args.keep is None:
        for f in folder.iterdir():
            f.unlink()
        os.rmdir(folder)


if __name__ == "__main__":
    main()
