"""How far opencram's impact prediction is from the information limit (issue 13 point 5).

For each cell of clean rounds (the mismatch suite's independent world with every radar
reality off: white noise of the sigmas in the sensors file, first plot 2 s after launch),
this runs, as a user would,

    opencram track plots.csv --sensors sensors.yaml --history --out tracks.json

scores it (``opencram.analysis.score``), and computes for every round the posterior
Cramér-Rao bound of its impact point (``opencram.predict.crb``) along its true path: the
state bound after each plot of its radar, then ``G P G^T`` of the impact at 5, 10 and 20 s
after the first plot. The bound's model is the tracker's ballistic model with no process
noise, linearised on the true path with the drag parameter the true drag implies there
(``kappa = rho_true Cd(M) A / (m rho_model)``): the limit for an estimator that knows the
dynamics up to one drag parameter. The world's drag varies with Mach, so the bound is the
limit of a matched model, and lower than any tracker of this model can reach on it.

Reported per cell and time: the RMS impact error of the tracker's latest prediction at
that time over the rounds, the RMS of the bound's radial error over the same rounds, and
their ratio (1 would be an efficient estimator).

    PYTHONPATH=src .venv/bin/python benchmarks/bench_crb.py              # every cell
    PYTHONPATH=src .venv/bin/python benchmarks/bench_crb.py --cells m120-6km-clean --rounds 4
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import bench_mismatch as bm  # noqa: E402  (the benchmark folder is not a package)
import mismatch_world as mw  # noqa: E402
from opencram.analysis.score import read_truth, score  # noqa: E402
from opencram.predict.crb import impact_bound, rms_radius_m, state_bound  # noqa: E402
from opencram.track.config import TrackerConfig  # noqa: E402
from opencram.track.models import KAPPA_SCALE, BallisticModel  # noqa: E402

REPORT_AT_S = (5.0, 10.0, 20.0)
CELLS = {
    c.name: c
    for c in (
        replace(bm.CELLS["m120-6km-clean"], rounds=12),
        replace(bm.CELLS["m82-3km-all"], name="m82-3km-clean", real=mw.NONE, rounds=12),
        replace(bm.CELLS["r107-7km-all"], name="r107-7km-clean", real=mw.NONE, rounds=12),
        replace(bm.CELLS["grad-15km-all"], name="grad-15km-clean", real=mw.NONE, rounds=12),
    )
}
# The prior before the first plot: no knowledge of position or velocity, the tracker's
# own prior on the drag parameter (the same information a new track starts with).
PRIOR_POS_SD_M = 1e4
PRIOR_VEL_SD_MPS = 1e3


@dataclass
class CellCrb:
    name: str
    rounds: int
    rms_err_m: dict[str, float | None]
    rms_bound_m: dict[str, float | None]
    ratio: dict[str, float | None]
    n_at: dict[str, int]


def true_states(shot: mw.Shot, t_abs: np.ndarray, model: BallisticModel) -> np.ndarray:
    """(K, 7) true position, velocity and the drag parameter the true drag implies."""
    rnd = mw.ROUNDS[shot.round_key]
    area = math.pi * rnd.diameter_m**2 / 4.0
    y = shot.flight.sol.sol(t_abs - shot.launch_t_s).T  # (K, 6)
    kappa = np.empty(t_abs.size)
    rho_model = model.air_density(y[:, 2])[0]
    for k in range(t_abs.size):  # benchmark set-up, not a hot path
        rho, a = mw.air(float(y[k, 2]))
        speed = float(np.linalg.norm(y[k, 3:6]))
        cd = mw.cd_of_mach(speed / a, rnd.cd_sub)
        kappa[k] = rho * cd * area / (rnd.mass(float(t_abs[k] - shot.launch_t_s)) * rho_model[k])
    return np.column_stack([y, kappa / KAPPA_SCALE])


def padded(world: mw.World, model: BallisticModel):
    """Every round's plots as padded (n, K) arrays for :func:`state_bound`."""
    plots = [p for p in world.plots if p.sensor.startswith("trk-")]
    k_len = max(p.t.size for p in plots)
    n = len(plots)
    t = np.zeros((n, k_len))
    valid = np.zeros((n, k_len), bool)
    x = np.zeros((n, k_len, 7))
    sensor = np.zeros((n, k_len, 3))
    sigma = np.ones((n, k_len, 3))
    for i, (p, shot, radar) in enumerate(zip(plots, world.shots, world.radars, strict=True)):
        m = p.t.size
        t[i, :m], t[i, m:] = p.t, p.t[-1]
        valid[i, :m] = True
        x[i, :m] = true_states(shot, p.t, model)
        x[i, m:] = x[i, m - 1]
        sensor[i] = radar.enu_m
        s = radar.sigma_true
        sigma[i] = (s[0], s[1] * 1e-3, s[2] * 1e-3)
    return t, valid, x, sensor, sigma


def bounds_at(world: mw.World) -> dict[str, list[float | None]]:
    """Each round's RMS radial impact bound at the report times (None past its flight)."""
    model = BallisticModel(q_acc_mps2=0.0, q_kappa=0.0)
    t, valid, x, sensor, sigma = padded(world, model)
    n = t.shape[0]
    p0 = np.zeros((n, 7, 7))
    p0[:, :3, :3] = np.eye(3) * PRIOR_POS_SD_M**2
    p0[:, 3:6, 3:6] = np.eye(3) * PRIOR_VEL_SD_MPS**2
    p0[:, 6, 6] = TrackerConfig().kappa_prior_sd ** 2
    p = state_bound(model, x, t, valid, sensor, sigma, p0)
    ground = np.array([s.pos(np.array([s.t_impact]))[0][2] for s in world.shots])
    out: dict[str, list[float | None]] = {}
    for tau in REPORT_AT_S:
        at = t[:, :1] + tau
        k = np.sum(valid & (t <= at + 1e-9), axis=1) - 1
        inside = (t[np.arange(n), k] >= at[:, 0] - 0.1) & (k >= 0)
        rows = np.arange(n)
        cov, ok = impact_bound(model, x[rows, k], p[rows, k], ground)
        r = rms_radius_m(cov)
        out[f"{tau:g}s"] = [float(r[i]) if inside[i] and ok[i] else None for i in range(n)]
    return out


def rms(values: list[float]) -> float | None:
    return float(np.sqrt(np.mean(np.square(values)))) if values else None


def run_cell(cell: mw.Cell, folder: Path) -> CellCrb:
    world = mw.build(cell)
    plots, sensors, truth = mw.write_files(world, folder)
    out, _ = bm.run_track(folder, plots, sensors)
    scores = score(json.loads(out.read_text()), read_truth(truth))
    bounds = bounds_at(world)
    err, bnd, ratio, n_at = {}, {}, {}, {}
    for tau in REPORT_AT_S:
        key = f"{tau:g}s"
        pairs = [
            (s.at(tau), b)
            for s, b in zip(scores, bounds[key], strict=True)
            if s.at(tau) is not None and b is not None
        ]
        e = rms([a for a, _ in pairs])
        b = rms([b for _, b in pairs])
        err[key], bnd[key], n_at[key] = e, b, len(pairs)
        ratio[key] = None if not e or not b else e / b
    return CellCrb(cell.name, cell.rounds, err, bnd, ratio, n_at)


def table(results: list[CellCrb]) -> str:
    def f(x, fmt="{:.1f}"):
        return "–" if x is None else fmt.format(x)

    rows = [
        "| cell | rounds | RMS impact error 5/10/20 s (m) | RMS bound 5/10/20 s (m) "
        "| ratio 5/10/20 s | rounds scored 5/10/20 s |",
        "|---|---|---|---|---|---|",
    ]
    for r in results:
        ks = [f"{t:g}s" for t in REPORT_AT_S]
        rows.append(
            f"| {r.name} | {r.rounds} | {' / '.join(f(r.rms_err_m[k]) for k in ks)} "
            f"| {' / '.join(f(r.rms_bound_m[k]) for k in ks)} "
            f"| {' / '.join(f(r.ratio[k], '{:.1f}') for k in ks)} "
            f"| {' / '.join(str(r.n_at[k]) for k in ks)} |"
        )
    return "\n".join(rows)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cells", nargs="*", default=list(CELLS), choices=list(CELLS))
    ap.add_argument("--rounds", type=int, default=None, help="rounds per cell (default 12)")
    ap.add_argument("--json", type=Path, default=None, help="write the results here")
    args = ap.parse_args()
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.cells:
            cell = CELLS[name] if args.rounds is None else replace(CELLS[name], rounds=args.rounds)
            r = run_cell(cell, Path(tmp) / name)
            print(json.dumps(r.__dict__), flush=True)
            results.append(r)
    print(table(results))
    if args.json:
        args.json.write_text(json.dumps([r.__dict__ for r in results], indent=1))


if __name__ == "__main__":
    main()
