"""The JSON writer alone (a part, not a whole process): the standard library's indented
encoder against ``opencram.jsonout.dumps_indented`` (orjson), on the documents opencram
writes, with the bytes compared.

Issue 14 point 2. Documents: the ``opencram track --history`` output of
``bench_track_file.py``'s plots (``--threats`` rounds, 2 radars), and the ``summary.json``
and ``tracks.json`` of a green-zone run. CPU time (``time.process_time``) of encoding only
(no file write), the two encoders interleaved, min and median of ``--repeats``.

    .venv/bin/python benchmarks/bench_json.py
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))


def track_document(threats: int, folder: Path) -> dict:
    """The track file of ``threats`` rounds as built in memory by ``opencram track``."""
    import bench_track_file as btf
    from opencram.analysis import offline

    btf.write_inputs(folder, btf.scenario(threats, 2, 0, 5.0), 0)
    captured = {}
    write = offline.atomic_write_json
    offline.atomic_write_json = lambda path, obj: (
        captured.setdefault("doc", obj),
        write(path, obj),
    )
    try:
        offline.track_files(
            folder / "per-plot.csv", folder / "sensors.yaml", folder / "out.json", history=True
        )
    finally:
        offline.atomic_write_json = write
    return captured["doc"]


def green_zone_documents() -> dict[str, dict]:
    from opencram.analysis.summary import build_summary
    from opencram.analysis.trackfile import build_track_output
    from opencram.c2.engine import run
    from opencram.c2.world import compile_world
    from opencram.scenario.load import load

    loaded = load("green-zone")
    result = run(compile_world(loaded))
    return {
        "green-zone summary.json": build_summary(result, loaded.layers),
        "green-zone tracks.json": build_track_output(
            result.tracker, result.world.frame, history=True
        ),
    }


def time_one(fn, obj) -> float:
    c0 = time.process_time()
    fn(obj)
    return time.process_time() - c0


def compare(name: str, obj, repeats: int) -> None:
    from opencram.jsonout import dumps_indented, stdlib_indented

    same = dumps_indented(obj) == stdlib_indented(obj)
    size = len(stdlib_indented(obj))
    t = {"stdlib": [], "orjson": []}
    for _ in range(repeats):
        t["stdlib"].append(time_one(stdlib_indented, obj))
        t["orjson"].append(time_one(dumps_indented, obj))
    s, o = np.array(t["stdlib"]), np.array(t["orjson"])
    r = s / o
    print(
        f"{name:<34} {size / 1e6:6.2f} MB  stdlib {s.min() * 1e3:7.1f} / "
        f"{np.median(s) * 1e3:7.1f} ms  orjson {o.min() * 1e3:6.1f} / "
        f"{np.median(o) * 1e3:6.1f} ms  ratio {r.min():5.1f}x / {np.median(r):5.1f}x  "
        f"same bytes: {same}"
    )
    if not same:
        raise SystemExit(f"FAIL: {name}: the bytes differ")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threats", type=int, default=60)
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()
    if args.repeats < 3:
        raise SystemExit("--repeats: at least 3")
    with tempfile.TemporaryDirectory() as tmp:
        docs = {f"track --history, {args.threats} threats": track_document(args.threats, Path(tmp))}
    docs |= green_zone_documents()
    print(f"CPU of encoding, min / median of {args.repeats} interleaved repeats")
    for name, obj in docs.items():
        compare(name, obj, args.repeats)


if __name__ == "__main__":
    main()
