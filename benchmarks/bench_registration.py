"""Sensor registration (issue 13 point 4) on the independent mismatch world.

The world (benchmarks/mismatch_world.py: scipy's solve_ivp, its own drag law, atmosphere
and spherical rotating Earth, no opencram code) is built with every radar reality of issue 13
but its own random tilt; the benchmark then gives each radar a **known** error, so the truth
is the one set here, not the estimator's:

* every 20 Hz tracking radar: azimuth tilt ``TILT_MRAD`` x tan(elevation) (issue 13's
  recorded mount levelling error is -30 to -44 mrad);
* with ``--rot``, the 1 Hz rotating radar also has an azimuth offset ``ROT_AZ_MRAD`` and a
  range offset ``ROT_RANGE_M``.

Then, as a user does, ``opencram track --estimate-registration reg.yaml`` (in process:
``analysis.offline.track_files``) on world A; the estimates against the truth; and on a
second world B (other rounds, same radar errors) the impact error with and without
``--registration reg.yaml``: the median total error and its sideways part (across the line
of fire) 5, 10 and 20 s after the first plot.

    PYTHONPATH=src .venv/bin/python benchmarks/bench_registration.py --rounds 8
    PYTHONPATH=src .venv/bin/python benchmarks/bench_registration.py --rounds 8 --rot
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import bench_mismatch as bm  # noqa: E402  (the benchmark folder is not a package)
import mismatch_world as mw  # noqa: E402

TILT_MRAD = -35.0
ROT_AZ_MRAD = 8.0
ROT_RANGE_M = 15.0
REPORT_AT_S = (5.0, 10.0, 20.0)


def truth_of(sensor_id: str) -> np.ndarray:
    """The error given to a sensor (file units: m, mrad): range, az, el, tilt."""
    if sensor_id.startswith("trk"):
        return np.array([0.0, 0.0, 0.0, TILT_MRAD])
    return np.array([ROT_RANGE_M, ROT_AZ_MRAD, 0.0, 0.0])


REALITIES = {
    "all": replace(mw.ALL, tilt=False),  # every reality of issue 13 but the world's own tilt
    "clean": replace(mw.NONE, late_first_plot=True),  # white noise, one track per round
}


def biased_world(rounds: int, seed: int, rot: bool, real: str = "all") -> mw.World:
    """The mismatch world's 120 mm cell with the realities ``REALITIES[real]`` (never its
    own tilt), then the known errors of :func:`truth_of` added to each radar's plots."""
    name = "m120-6km-all+rot" if rot else "m120-6km-all"
    cell = replace(bm.CELLS[name], rounds=rounds, seed=seed, real=REALITIES[real])
    w = mw.build(cell)
    for p in w.plots:
        b = truth_of(p.sensor)
        p.rng = p.rng + b[0]
        p.el = p.el + b[2] * 1e-3
        p.az = np.mod(p.az + b[1] * 1e-3 + b[3] * 1e-3 * np.tan(p.el), 2 * np.pi)
    return w


def sideways_m(doc: dict, truth_path: Path) -> dict[str, float | None]:
    """Median over rounds of the impact error across the line of fire (origin to impact),
    at each of ``REPORT_AT_S`` after the first plot."""
    from opencram.analysis.score import match, offsets_en_m, predictions_of, read_truth

    rounds = read_truth(truth_path)
    impacts = predictions_of(doc, "impact")
    matched = match(rounds, impacts)
    out: dict[str, list[float]] = {f"{t:g}s": [] for t in REPORT_AT_S}
    for r in rounds:
        tid = matched.get(r.id)
        if tid is None or r.origin is None:
            continue
        p = impacts[tid]
        fire = offsets_en_m(r.impact, [r.origin[0]], [r.origin[1]])[0]
        across = np.array([-fire[1], fire[0]]) / np.linalg.norm(fire)
        err = offsets_en_m(r.impact, p.lat, p.lon)
        for t in REPORT_AT_S:
            k = np.flatnonzero(p.t_since_first_s <= t + 1e-9)
            if k.size:
                out[f"{t:g}s"].append(abs(float(err[k[-1]] @ across)))
    return {k: (round(float(np.median(v)), 1) if v else None) for k, v in out.items()}


@dataclass
class Result:
    cell: str
    rounds: int
    estimates: list[dict]
    tilt_err_mrad: dict
    impact_m: dict
    sideways_m: dict
    estimate_cpu_s: float


def track(folder: Path, w: mw.World, reg_in: Path | None = None, reg_out: Path | None = None):
    from opencram.analysis.offline import track_files
    from opencram.analysis.score import read_truth, score, summary

    plots, sensors, truth = mw.write_files(w, folder)
    out = folder / ("tracks-registered.json" if reg_in else "tracks.json")
    res = track_files(
        plots, sensors, out, history=True, registration=reg_in, registration_out=reg_out
    )
    s = summary(score(res.output, read_truth(truth)))
    return res, s["median_impact_err_m"], sideways_m(res.output, truth)


def estimate_rows(reg) -> tuple[list[dict], dict]:
    rows, tilt_err = [], []
    for s in reg.sensors:
        err = np.asarray(s.estimate) - truth_of(s.id)
        rows.append(
            {
                "id": s.id,
                "estimate": [round(v, 2) for v in s.estimate],
                "sigma": [round(v, 2) for v in s.sigma],
                "error": [round(float(v), 2) for v in err],
                "observable": list(s.observable),
                "plots": s.plots,
            }
        )
        if s.id.startswith("trk") and s.observable[3]:
            tilt_err.append(abs(float(err[3])))
    te = np.array(tilt_err)
    stats = {"median": None, "max": None, "sensors": 0}
    if te.size:
        stats = {
            "median": round(float(np.median(te)), 2),
            "max": round(float(te.max()), 2),
            "sensors": int(te.size),
        }
    return rows, stats


def run(
    rounds: int, rot: bool, base: Path, seeds: tuple[int, int] = (1, 2), real: str = "all"
) -> Result:
    """Estimate on world ``seeds[0]``, apply on world ``seeds[1]``."""
    reg_path = base / "registration.yaml"
    t0 = time.process_time()
    w_a = biased_world(rounds, seeds[0], rot, real)
    res_a, _, _ = track(base / "a", w_a, reg_out=reg_path)
    cpu = time.process_time() - t0
    rows, tilt = estimate_rows(res_a.registration)
    w_b = biased_world(rounds, seeds[1], rot, real)
    _, imp0, side0 = track(base / "b", w_b)
    _, imp1, side1 = track(base / "b", w_b, reg_in=reg_path)
    return Result(
        f"m120-6km-{real}" + ("+rot" if rot else ""),
        rounds,
        rows,
        tilt,
        {"without": imp0, "with": imp1},
        {"without": side0, "with": side1},
        round(cpu, 1),
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=8)
    ap.add_argument("--rot", action="store_true", help="add the 1 Hz rotating radar")
    ap.add_argument("--seeds", type=int, nargs=2, default=(1, 2), help="worlds A and B")
    ap.add_argument("--real", choices=list(REALITIES), default="all")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        r = run(args.rounds, args.rot, Path(tmp), tuple(args.seeds), args.real)
    print(json.dumps(r.__dict__))


if __name__ == "__main__":
    main()
