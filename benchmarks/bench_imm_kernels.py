"""The IMM's compiled interaction and combination (``opencram.track._kernels``) against their
numpy references (``IMM.mix_reference``, ``IMM.combine_reference``), on the row counts the
tracker predicts per frame. CPU time (``time.process_time``), the two sides interleaved in
each repeat; min and median of ``--repeats``. BLAS threads pinned to 1.

    .venv/bin/python benchmarks/bench_imm_kernels.py --rows 60,600 --repeats 5
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

import argparse
import statistics
import time

import numpy as np

from opencram.track.imm import IMM


def rows(n: int, seed: int = 0):
    """Random IMM rows (per-model states, covariances, mode probabilities)."""
    rng = np.random.default_rng(seed)
    xm = rng.normal(size=(n, 3, 8)) * 1e3
    a = rng.normal(size=(n, 3, 8, 8))
    return xm, a @ np.swapaxes(a, -1, -2), rng.dirichlet([1.0, 1.0, 1.0], size=n)


def cpu_per_call(fn, args: tuple, calls: int) -> float:
    """CPU seconds per call of ``fn(*args)`` over ``calls`` calls."""
    t = time.process_time()
    for _ in range(calls):
        fn(*args)
    return (time.process_time() - t) / calls


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", default="60,600", help="comma-separated row counts")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--calls", type=int, default=50, help="calls per timed repeat")
    args = ap.parse_args()
    imm = IMM()
    for n in (int(v) for v in args.rows.split(",")):
        data = rows(n)
        sides = {
            "mix numpy": imm.mix_reference,
            "mix compiled": imm.mix,
            "combine numpy": IMM.combine_reference,
            "combine compiled": IMM.combine,
        }
        for fn in sides.values():
            fn(*data)  # warm up (compile or load the cache)
        times = {k: [] for k in sides}
        for _ in range(args.repeats):
            for k, fn in sides.items():
                times[k].append(cpu_per_call(fn, data, args.calls))
        for k, v in times.items():
            print(
                f"rows {n:5d}  {k:17s} min {min(v) * 1e6:9.1f} us  "
                f"median {statistics.median(v) * 1e6:9.1f} us  ({args.repeats} repeats)"
            )


if __name__ == "__main__":
    main()
