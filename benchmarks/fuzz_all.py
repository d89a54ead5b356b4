"""The full-size fuzz run (issue 17, "Figures to report"; docs/reliability.md): the same
generators as the bounded fuzz tests (``tests/fuzzgen.py``) driven to a million inputs and
more across five families:

- ``asterix_live``: examples of 80 junk CAT048 datagrams (hypothesis: mutated anywhere,
  truncated, oversized, random) with one valid datagram of 8 plots amid them and 120 junk
  plot CSV lines, into a :class:`LiveService`, stepped with data and wall time advancing
  0.5 s per example; every valid plot must be accepted;
- ``asterix_decode``: datagrams (mutated valid ones, random bytes, block headers with
  random bodies) straight into ``decode_cat048`` and ``peek_sensor``;
- ``plot_csv``: mutants of a valid plot CSV read by ``read_plot_file`` both ways (stop at
  the first bad row, ``--skip-bad``) from a small temporary file;
- ``sensors_yaml``: mutants of a valid sensors file read by ``read_sensors_yaml``;
- ``scenario_yaml``: scenarios validated as ``scenario validate`` does (load, compile):
  half numeric fields set to extremes (hypothesis), half byte mutants of the file; the
  first few valid ones of each chunk are also run, with every output built.

A **crash** is any exception other than the documented :class:`UserError` (one line per
problem); a **violation** is a check of the result failing (a plot outside the documented
limits, a UserError problem over several lines, a valid live plot not accepted). Each is
saved to ``OUT/crashes/`` with its traceback. Work is done in chunks, each seeded from
(``--seed``, family, chunk number) with its own fresh service, so a run cut off resumes
where it stopped (``OUT/checkpoint.json``, written atomically after every chunk) and draws
the same inputs as an uncut run.

    nice -n 10 python benchmarks/fuzz_all.py --out fuzz-out            # 1M inputs
    nice -n 10 python benchmarks/fuzz_all.py --out fuzz-out --scale 0.01  # a quick look
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
import traceback
import zlib
from pathlib import Path

import numpy as np
from hypothesis import HealthCheck, Phase, given, seed, settings

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

import fuzzgen as fg
from opencram.errors import UserError
from opencram.fileio import atomic_write_bytes, atomic_write_json
from opencram.interop.asterix import decode_cat048, peek_sensor
from opencram.live.service import LiveService, ServeConfig
from opencram.scenario.load import builtin_dir, load

# family: (chunks at scale 1, work units per chunk)
PLAN = {
    "asterix_live": (30, 100),  # examples: 81 datagrams and 120 CSV lines each
    "asterix_decode": (10, 20_000),  # datagrams
    "plot_csv": (75, 2_000),  # files
    "sensors_yaml": (30, 2_000),  # files
    "scenario_yaml": (60, 100),  # files
}
RUNS_PER_CHUNK = 2  # valid scenarios run to the end in each scenario chunk


class Recorder:
    """Counts and saves what failed."""

    def __init__(self, out: Path, family: str, chunk: int):
        self.dir = out / "crashes"
        self.family, self.chunk = family, chunk
        self.crashes = self.violations = 0

    def failed(self, data: bytes, exc: BaseException, i: int) -> None:
        kind = "violation" if isinstance(exc, AssertionError) else "crash"
        if kind == "crash":
            self.crashes += 1
        else:
            self.violations += 1
        self.dir.mkdir(parents=True, exist_ok=True)
        stem = self.dir / f"{self.family}-{self.chunk:04d}-{i:06d}-{kind}"
        atomic_write_bytes(stem.with_suffix(".bin"), data)
        tb = "".join(traceback.format_exception(exc))
        atomic_write_bytes(stem.with_suffix(".txt"), tb.encode())
        print(f"{kind}: {stem}.bin: {type(exc).__name__}: {str(exc)[:200]}", flush=True)


def chunk_seed(base: int, family: str, chunk: int) -> int:
    return (base * 1_000_003 + zlib.crc32(family.encode()) * 1009 + chunk) % 2**32


def _hyp(n: int, s: int):
    """A seeded hypothesis run of ``n`` examples, generation only (nothing to shrink:
    failures are caught and recorded inside the example)."""

    def wrap(f):
        return seed(s)(
            settings(
                max_examples=n,
                deadline=None,
                database=None,
                phases=[Phase.generate],
                suppress_health_check=list(HealthCheck),
            )(f)
        )

    return wrap


def _live_input(valid: bytes, dgs, lines) -> bytes:
    return json.dumps(
        {
            "valid": valid.hex(),
            "datagrams": [d.hex() for d in dgs],
            "lines": [x.hex() for x in lines],
        }
    ).encode()


def live_chunk(rec: Recorder, n: int, s: int) -> dict:
    stream = fg.valid_stream(n, seed=s)
    state = {"svc": LiveService(fg.SPECS, config=ServeConfig(idle_s=1e9)), "k": 0}
    counts = {"datagrams": 0, "csv_lines": 0}

    @_hyp(n, s)
    @given(fg.example_datagrams, fg.example_lines)
    def feed(dgs, lines):
        k = state["k"]
        if k >= n:
            return
        state["k"] += 1
        counts["datagrams"] += len(dgs) + 1
        counts["csv_lines"] += len(lines)
        try:
            fg.feed_example(state["svc"], k, stream[k], dgs, lines)
        except Exception as exc:  # a crash: record it, carry on with a fresh service
            rec.failed(_live_input(stream[k], dgs, lines), exc, k)
            state["svc"] = LiveService(fg.SPECS, config=ServeConfig(idle_s=1e9))

    feed()
    svc = state["svc"]
    try:
        svc.finish()
        got = svc.ingest.plots_by_sensor[0]
        if rec.crashes == 0:
            want = state["k"] * fg.PLOTS_PER_EXAMPLE
            assert got == want, f"{got} of {want} valid plots accepted"
    except Exception as exc:
        rec.failed(b"", exc, n)
    return counts


def _junk_datagram(r: np.random.Generator, stream: list[bytes]) -> bytes:
    kind = int(r.integers(4))
    if kind == 0:
        return fg.draw_datagram(r)
    if kind == 1:
        return fg.mutate(r, stream[int(r.integers(len(stream)))])
    if kind == 2:
        return r.integers(0, 256, int(r.integers(0, 300)), dtype=np.uint8).tobytes()
    body = r.integers(0, 256, int(r.integers(0, 200)), dtype=np.uint8).tobytes()
    return bytes([48]) + (len(body) + 3).to_bytes(2, "big") + body


def decode_chunk(rec: Recorder, n: int, s: int) -> dict:
    r = np.random.default_rng(s)
    stream = fg.valid_stream(50, seed=s)
    for i in range(n):
        d = _junk_datagram(r, stream)
        try:
            peek_sensor(d)
            decode_cat048(d)
        except Exception as exc:
            rec.failed(d, exc, i)
    return {"datagrams": n}


def file_chunk(rec: Recorder, n: int, s: int, check, valid: bytes, tmp: Path) -> None:
    r = np.random.default_rng(s)
    for i in range(n):
        data = (
            fg.mutate(r, valid)
            if i % 10
            else r.integers(0, 256, int(r.integers(0, 3000)), dtype=np.uint8).tobytes()
        )
        try:
            check(tmp, data)
        except Exception as exc:
            rec.failed(data, exc, i)


def plot_csv_chunk(rec: Recorder, n: int, s: int, tmp: Path) -> dict:
    file_chunk(rec, n, s, fg.check_plot_csv, fg.VALID_CSV, tmp / "p.csv")
    return {"files": n}


def sensors_yaml_chunk(rec: Recorder, n: int, s: int, tmp: Path) -> dict:
    file_chunk(rec, n, s, fg.check_sensors_yaml, fg.VALID_YAML, tmp / "s.yaml")
    return {"files": n}


def _validate_file(path: Path, data: bytes):
    """``scenario validate FILE``: the world, or None if refused with a UserError."""
    from opencram.c2.world import compile_world  # deferred: numpy, pymap3d

    path.write_bytes(data)
    try:
        return compile_world(load(str(path)))
    except UserError as exc:
        fg.one_line_problems(exc)
        return None


def scenario_chunk(rec: Recorder, n: int, s: int, tmp: Path) -> dict:
    for f in builtin_dir().glob("*.geojson"):  # the layer files the scenario names
        if not (tmp / f.name).exists():
            shutil.copy(f, tmp / f.name)
    r = np.random.default_rng(s)
    counts = {"files": 0, "valid": 0, "runs": 0}

    def one(i: int, data: bytes) -> None:
        counts["files"] += 1
        try:
            world = _validate_file(tmp / "scenario.yaml", data)
            if world is None:
                return
            counts["valid"] += 1
            if counts["runs"] < RUNS_PER_CHUNK:
                counts["runs"] += 1
                fg.run_world(world, Path(tempfile.mkdtemp(dir=tmp)))
        except Exception as exc:
            rec.failed(data, exc, i)

    @_hyp(n // 2, s)
    @given(fg.MUTATIONS)
    def numeric(mutations):
        if counts["files"] < n // 2:
            one(counts["files"], fg.mutated_scenario(mutations).encode())

    numeric()
    while counts["files"] < n:
        one(counts["files"], fg.mutate(r, fg.BASE_TEXT))
    return counts


def run_chunk(family: str, rec: Recorder, n: int, s: int, tmp: Path) -> dict:
    if family == "asterix_live":
        return live_chunk(rec, n, s)
    if family == "asterix_decode":
        return decode_chunk(rec, n, s)
    if family == "plot_csv":
        return plot_csv_chunk(rec, n, s, tmp)
    if family == "sensors_yaml":
        return sensors_yaml_chunk(rec, n, s, tmp)
    return scenario_chunk(rec, n, s, tmp)


def fresh_state(base_seed: int) -> dict:
    fams = {
        f: {"chunks": 0, "counts": {}, "crashes": 0, "violations": 0, "cpu_s": 0.0} for f in PLAN
    }
    return {"seed": base_seed, "families": fams}


def add_chunk(st: dict, counts: dict, rec: Recorder, cpu_s: float) -> None:
    st["chunks"] += 1
    for k, v in counts.items():
        st["counts"][k] = st["counts"].get(k, 0) + v
    st["crashes"] += rec.crashes
    st["violations"] += rec.violations
    st["cpu_s"] = round(st["cpu_s"] + cpu_s, 2)


def inputs(st: dict) -> int:
    """Inputs of a family: datagrams, CSV lines and files (scenario runs are not extra)."""
    c = st["counts"]
    return c.get("datagrams", 0) + c.get("csv_lines", 0) + c.get("files", 0)


def summary(state: dict) -> dict:
    fams = state["families"]
    return {
        "inputs": sum(inputs(f) for f in fams.values()),
        "crashes": sum(f["crashes"] for f in fams.values()),
        "violations": sum(f["violations"] for f in fams.values()),
        "cpu_s": round(sum(f["cpu_s"] for f in fams.values()), 1),
        "by_family": {k: {"inputs": inputs(f), **f} for k, f in fams.items()},
    }


def pending(state: dict, scale: float) -> list[str]:
    """Families with chunks left, in round-robin order (a run cut short covers all)."""
    fams = state["families"]
    return [
        f for f, (chunks, _) in PLAN.items() if fams[f]["chunks"] < max(1, round(chunks * scale))
    ]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=Path("fuzz-out"))
    ap.add_argument("--seed", type=int, default=17)
    ap.add_argument("--scale", type=float, default=1.0, help="fraction of the chunks to run")
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    ckpt = args.out / "checkpoint.json"
    state = json.loads(ckpt.read_text()) if ckpt.exists() else fresh_state(args.seed)
    if state["seed"] != args.seed:
        raise SystemExit(f"{ckpt}: seed {state['seed']}, not {args.seed}: use another --out")
    with tempfile.TemporaryDirectory() as tmp:
        while todo := pending(state, args.scale):
            for family in todo:
                st = state["families"][family]
                chunk = st["chunks"]
                rec = Recorder(args.out, family, chunk)
                t0 = time.process_time()
                counts = run_chunk(
                    family, rec, PLAN[family][1], chunk_seed(args.seed, family, chunk), Path(tmp)
                )
                add_chunk(st, counts, rec, time.process_time() - t0)
                atomic_write_json(ckpt, state)
                print(
                    f"{family} chunk {chunk}: {inputs(st)} inputs, {st['crashes']} crashes, "
                    f"{st['violations']} violations, {st['cpu_s']} CPU s",
                    flush=True,
                )
    print(json.dumps(summary(state)), flush=True)


if __name__ == "__main__":
    main()
