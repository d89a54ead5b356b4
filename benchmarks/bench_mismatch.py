"""Model mismatch (issue 13 point 6): opencram on plots of a world it was not written for.

Each cell flies its rounds with ``mismatch_world`` (scipy's solve_ivp, ISA air, a McCoy-
shaped Cd(Mach) curve, a spherical rotating Earth: no opencram code), simulates the radars
with the realities issue 13 measured on recorded logs, writes the documented plot CSV,
sensors YAML and truth YAML, then runs, as a user would,

    opencram track plots.csv --sensors sensors.yaml --history --out tracks.json

in a subprocess (its CPU from ``getrusage(RUSAGE_CHILDREN)``) and scores the file with
``opencram.analysis.score`` (what ``opencram score`` prints). Confirmed tracks per round:
each confirmed track is given to the round whose true path is nearest its updates
(median distance at the update times, within 300 m); the others are false tracks.

    PYTHONPATH=src .venv/bin/python benchmarks/bench_mismatch.py            # every cell
    PYTHONPATH=src .venv/bin/python benchmarks/bench_mismatch.py --cells m120-6km-all --rounds 2
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import mismatch_world as mw  # noqa: E402  (the benchmark folder is not a package)

TRACK_GATE_M = 300.0
REPORT_AT_S = (5.0, 10.0, 20.0)

CELLS = {
    c.name: c
    for c in (
        mw.Cell("m120-6km-clean", "m120", 6000.0, (44.0, 50.0), real=mw.NONE),
        mw.Cell("m120-6km-all", "m120", 6000.0, (44.0, 50.0)),
        mw.Cell("m82-3km-all", "m82", 3000.0, (44.0, 50.0)),
        mw.Cell("r107-7km-all", "r107", 7000.0, (8.0, 45.0)),
        mw.Cell("grad-15km-all", "grad", 15000.0, (8.0, 45.0)),
        mw.Cell(
            "m120-6km-rot",
            "m120",
            6000.0,
            (44.0, 50.0),
            tracking=False,
            rotating=mw.Rotating(),
        ),
        mw.Cell(
            "m120-6km-all+rot",
            "m120",
            6000.0,
            (44.0, 50.0),
            rotating=mw.Rotating(),
        ),
    )
}


@dataclass
class CellResult:
    name: str
    rounds: int
    plots: int
    lost: int
    tracks_per_round: list[int]
    false_tracks: int
    coverage95: float | None
    impact_m: dict[str, float | None]
    origin_m: dict[str, float | None]
    cpu_s: float


def run_track(folder: Path, plots: Path, sensors: Path) -> tuple[Path, float]:
    """``opencram track --history`` in a subprocess; its CPU seconds (user + system)."""
    out = folder / "tracks.json"
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    cmd = [sys.executable, "-m", "opencram", "track", str(plots), "--sensors", str(sensors)]
    cmd += ["--history", "--out", str(out)]
    subprocess.run(cmd, check=True, capture_output=True, text=True, env=dict(os.environ))
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return out, cpu


def track_owner(track: dict, world: mw.World) -> int | None:
    """The round whose true path is nearest the track's updates (within the gate)."""
    ups = track["updates"]
    t = np.array([u["time_s"] for u in ups])
    lat = np.array([u["lat"] for u in ups])
    lon = np.array([u["lon"] for u in ups])
    alt = np.array([u["alt_m"] for u in ups])
    e, n, u = mw.enu_of(lat, lon, alt)
    est = np.column_stack([e, n, u])
    best, best_d = None, TRACK_GATE_M
    for k, shot in enumerate(world.shots):
        inside = (t >= shot.launch_t_s) & (t <= shot.t_impact + 1.0)
        if inside.sum() < max(1, t.size // 2):
            continue
        d = float(np.median(np.linalg.norm(est[inside] - shot.pos(t[inside]), axis=1)))
        if d < best_d:
            best, best_d = k, d
    return best


def tracks_per_round(doc: dict, world: mw.World) -> tuple[list[int], int]:
    counts = [0] * len(world.shots)
    false = 0
    for tr in doc["tracks"]:
        k = track_owner(tr, world)
        if k is None:
            false += 1
        else:
            counts[k] += 1
    return counts, false


def run_cell(cell: mw.Cell, folder: Path) -> CellResult:
    from opencram.analysis.score import read_truth, score, summary

    world = mw.build(cell)
    plots, sensors, truth = mw.write_files(world, folder)
    out, cpu = run_track(folder, plots, sensors)
    doc = json.loads(out.read_text())
    s = summary(score(doc, read_truth(truth)))
    counts, false = tracks_per_round(doc, world)
    return CellResult(
        cell.name,
        s["rounds"],
        sum(p.t.size for p in world.plots),
        s["lost"],
        counts,
        false,
        s["coverage95"],
        s["median_impact_err_m"],
        s["median_origin_err_m"],
        round(cpu, 2),
    )


def fmt(x: float | None) -> str:
    return "–" if x is None else f"{x:.0f}"


def table(results: list[CellResult]) -> str:
    head = (
        "| cell | rounds | plots | lost | confirmed tracks per round (max) | false tracks "
        "| coverage95 | impact err 5/10/20 s (m) | origin err 5/10/20 s (m) | CPU s |"
    )
    rows = [head, "|" + "---|" * 10]
    for r in results:
        tpr = f"{np.mean(r.tracks_per_round):.2f} ({max(r.tracks_per_round)})"
        cov = "–" if r.coverage95 is None else f"{r.coverage95:.2f}"
        imp = " / ".join(fmt(r.impact_m[f"{t:g}s"]) for t in REPORT_AT_S)
        org = " / ".join(fmt(r.origin_m[f"{t:g}s"]) for t in REPORT_AT_S)
        rows.append(
            f"| {r.name} | {r.rounds} | {r.plots} | {r.lost} | {tpr} | {r.false_tracks} "
            f"| {cov} | {imp} | {org} | {r.cpu_s:.1f} |"
        )
    return "\n".join(rows)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cells", nargs="*", default=list(CELLS), choices=list(CELLS))
    ap.add_argument("--rounds", type=int, default=None, help="rounds per cell (default 8)")
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--keep", type=Path, default=None, help="keep each cell's files here")
    ap.add_argument("--json", type=Path, default=None, help="write the results here")
    args = ap.parse_args()
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        base = args.keep or Path(tmp)
        for name in args.cells:
            cell = CELLS[name]
            if args.rounds is not None:
                cell = replace(cell, rounds=args.rounds)
            if args.seed is not None:
                cell = replace(cell, seed=args.seed)
            r = run_cell(cell, base / name)
            print(json.dumps(r.__dict__), flush=True)
            results.append(r)
    print(table(results))
    if args.json:
        args.json.write_text(json.dumps([r.__dict__ for r in results], indent=1))


if __name__ == "__main__":
    main()
