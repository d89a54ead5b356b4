"""The fuzz generators shared by the bounded fuzz tests (``tests/test_fuzz_*.py``) and the
full-size run (``benchmarks/fuzz_all.py``), so both draw from one place:

- live input: the pool of valid CAT048 datagrams, a dense stream of valid plots (a target
  flying past and clutter) on a clock advancing ``STEP_S`` per example, hypothesis
  strategies for mutated, truncated, oversized and random datagrams and plot CSV lines, and
  ``feed_example``, one example fed into a :class:`~opencram.live.service.LiveService` and
  stepped;
- recorded files: a seeded mutator (``mutate``) of a valid plot CSV and sensors YAML, and
  the checks of what the readers return (``check_plot_csv``, ``check_sensors_yaml``);
- scenarios: hypothesis mutations of numeric fields of a short green-zone
  (``MUTATIONS``, ``mutated_scenario``) and ``validate_then_run``.
"""

from __future__ import annotations

import copy
import json
import math
from pathlib import Path

import numpy as np
import yaml
from hypothesis import strategies as st

from opencram.errors import UserError
from opencram.interop.asterix import encode_cat048
from opencram.scenario import schema
from opencram.scenario.load import builtin_dir, builtin_text, parse
from opencram.scenario.schema import Scenario
from opencram.sense.plots import SensorSpec, read_plot_file, read_sensors_yaml

# --- live input (CAT048 datagrams and plot CSV lines) ---------------------------------------

SPECS = [
    SensorSpec("r1", 33.3, 44.4, 34.0, 10.0, 2.0, 2.0, scan_s=1.0, sigma_range_rate_mps=1.0),
    SensorSpec("r2", 33.31, 44.41, 34.0, 10.0, 2.0, 2.0, scan_s=1.0),
]
_rng = np.random.default_rng(0)
VALID = [
    encode_cat048(
        sac=0,
        sic=int(s),
        tod_s=_rng.uniform(0, 100, n),
        range_m=_rng.uniform(1, 20_000, n),
        az_rad=_rng.uniform(0, 7, n),
        height_m=_rng.uniform(-100, 9000, n),
        range_rate_mps=_rng.uniform(-600, 600, n),
        snr_db=_rng.uniform(-10, 60, n),
        mode3a=_rng.integers(-1, 4096, n),
        track_number=_rng.integers(-1, 4096, n),
    )[0]
    for s, n in ((1, 1), (2, 3), (1, 5), (3, 2), (2, 1))
]
VALID_LINES = [
    b"12.5,r1,4831.047,182.5,1.25,-312.4,26.4",
    b"13,r2,900,0,0",
    b"time_s,sensor,range_m,azimuth_deg,elevation_deg",
]
RADAR_1 = ("10.0.0.1", 8600)
FUZZER = ("10.9.9.9", 9999)
STEP_S = 0.5  # data and wall time per example
PLOTS_PER_EXAMPLE = 8
DATAGRAMS_PER_EXAMPLE = 80  # junk, with one valid datagram amid them
LINES_PER_EXAMPLE = 120


def valid_stream(examples: int, seed: int = 11, t0_s: float = 5000.0) -> list[bytes]:
    """One datagram per example: a target flying past radar r1 at 250 m/s and clutter,
    stamped on a clock advancing STEP_S per example."""
    r = np.random.default_rng(seed)
    out = []
    for k in range(examples):
        t = t0_s + k * STEP_S
        x = -8000.0 + 250.0 * ((k * STEP_S) % 64.0)
        pos = np.array([x, 3000.0, 1200.0])
        n = PLOTS_PER_EXAMPLE
        clutter_m = r.uniform(1000, 15_000, n - 1)
        rng_m = np.r_[np.linalg.norm(pos), clutter_m]
        out += encode_cat048(
            sac=0,
            sic=1,
            tod_s=np.full(n, t),
            range_m=rng_m,
            az_rad=np.r_[np.arctan2(pos[0], pos[1]) % (2 * np.pi), r.uniform(0, 6.28, n - 1)],
            height_m=np.r_[34.0 + pos[2], 34.0 + clutter_m * r.uniform(0.01, 0.3, n - 1)],
        )
    return out


flip = st.tuples(st.integers(0, 1 << 16), st.integers(0, 255))  # anywhere in the datagram


@st.composite
def mutated(draw):
    data = bytearray(draw(st.sampled_from(VALID)))
    for i, b in draw(st.lists(flip, max_size=4)):
        data[i % len(data)] = b
    cut = draw(st.integers(0, len(data)))
    return bytes(data[: max(cut, draw(st.sampled_from([cut, len(data)])))])


datagrams = st.one_of(
    st.binary(max_size=48),
    mutated(),
    st.binary(max_size=40).map(lambda b: b"\x30" + (len(b) + 3).to_bytes(2, "big") + b),
    st.sampled_from(VALID),
    st.sampled_from([b"", bytes(70_000), b"\x30\x00\x03" * 300]),
)


@st.composite
def csv_lines(draw):
    kind = draw(st.integers(0, 3))
    if kind == 0:
        return draw(st.binary(max_size=60))
    if kind == 1:
        return draw(st.text(max_size=60)).encode("utf-8", "surrogatepass")
    cells = draw(st.sampled_from(VALID_LINES)).split(b",")
    i = draw(st.integers(0, len(cells) - 1))
    cells[i] = draw(st.sampled_from([b"", b"nan", b"inf", b"-1", b"1e309", b"x", b"999"]))
    if kind == 3:
        cells = cells[: draw(st.integers(0, len(cells)))]
    return b",".join(cells)


example_datagrams = st.lists(
    datagrams, min_size=DATAGRAMS_PER_EXAMPLE, max_size=DATAGRAMS_PER_EXAMPLE
)
example_lines = st.lists(csv_lines(), min_size=LINES_PER_EXAMPLE, max_size=LINES_PER_EXAMPLE)


def feed_example(svc, k: int, valid: bytes, dgs: list[bytes], lines: list[bytes]) -> set:
    """Example ``k``: the junk datagrams from the fuzzer's address with radar r1's valid
    datagram amid them, the CSV lines, then one step of the service at wall time
    ``k * STEP_S``. Returns the ids of the tracks the step published."""
    ingest = svc.ingest
    for i, d in enumerate(dgs):
        ingest.put_datagram(d, FUZZER)
        if i == len(dgs) // 2:  # the valid datagram amid the junk
            ingest.put_datagram(valid, RADAR_1)
    for line in lines:
        ingest.put_csv_line(line, "fuzz")
    wall = k * STEP_S
    svc.note_input(wall)
    out = svc.step(wall)  # decode and track whatever was accepted: must not raise
    return {e["track_id"] for e in map(json.loads, out.events) if e["kind"] == "track"}


def draw_datagram(r: np.random.Generator) -> bytes:
    """A datagram mutated anywhere, from the fuzz pool, without hypothesis."""
    data = bytearray(VALID[int(r.integers(len(VALID)))])
    for _ in range(int(r.integers(1, 5))):
        data[int(r.integers(len(data)))] = int(r.integers(256))
    return bytes(data[: int(r.integers(1, len(data) + 1))])


# --- recorded files (plot CSV, sensors YAML) ------------------------------------------------

IDS = ["r1", 'say "hi", r2']
QUOTED_R2 = '"say ""hi"", r2"'


def _valid_row(k: int) -> str:
    sensor = "r1" if k % 3 else QUOTED_R2
    rate = "" if k % 4 == 0 else f"{-50 + k:.3f}"
    snr = "" if k % 5 == 0 else "20.00"
    polar = f"{3000 + 40 * k:.3f},{(10 + k) % 360:.6f},{2 + 0.1 * k:.6f}"
    return f"{100 + k * 0.5:.6f},{sensor},{polar},{rate},{snr}\n"


VALID_CSV = (
    "time_s,sensor,range_m,azimuth_deg,elevation_deg,range_rate_mps,snr_db\n"
    + "".join(_valid_row(k) for k in range(24))
).encode()
VALID_YAML = b"""\
sensors:
  - id: r1
    lat: 33.2985
    lon: 44.3945
    alt_m: 36.0
    sigma_range_m: 10
    sigma_azimuth_mrad: 2
    sigma_elevation_mrad: 2
    scan_s: 1.0
  - {id: r2, lat: 33.30, lon: 44.40, alt_m: 40, sigma_range_m: 5, sigma_azimuth_mrad: 1,
     sigma_elevation_mrad: 1, sigma_range_rate_mps: 0.5, latency_s: 0.2}
"""
TOKENS = [
    b'"', b",", b"\n", b"\r\n", b"\r", b"", b"nan", b"inf", b"-inf", b"1e300", b"-1e300",
    b"1e-300", b"9" * 400, b"-", b".", b"e", b"\x00", b"\xff", b"\xef\xbb\xbf", b" ",
    b'""', b"r1", b"r2", b"0x10", b"1_000", b"\t", b"\xc3\xa9", b":", b"- ", b"{", b"[",
    b"&a", b"*a", b"!!python/object", b"~", b".inf", b"true", b"'", b"#", b"---", b"%",
]  # fmt: skip


# whole cells put in place of a cell: numbers at, just past and far past the limits
CELLS = [
    b"1e300", b"-1e300", b"1e-300", b"nan", b"inf", b"-0", b"1e7", b"1000000.001", b"360",
    b"360.0000001", b"-90.5", b"90", b"1e10", b"1.7e9", b"-5000.5", b"100.01", b"",
    b"x" * 140_000,  # past the csv module's field size limit
]  # fmt: skip


def replace_cell(rng: np.random.Generator, data: bytes) -> bytes:
    lines = data.split(b"\n")
    i = int(rng.integers(len(lines)))
    cells = lines[i].split(b",")
    cells[int(rng.integers(len(cells)))] = CELLS[int(rng.integers(len(CELLS)))]
    lines[i] = b",".join(cells)
    return b"\n".join(lines)


def _edit_lines(rng: np.random.Generator, data: bytes, double: bool) -> bytes:
    lines = data.split(b"\n")
    i, j = (int(x) for x in rng.integers(len(lines), size=2))
    if double:
        lines.insert(i, lines[j])
    else:
        lines[i], lines[j] = lines[j], lines[i]
    return b"\n".join(lines)


def mutate(rng: np.random.Generator, data: bytes) -> bytes:
    """One to five random edits of ``data``."""
    for _ in range(int(rng.integers(1, 6))):
        op = int(rng.integers(7))
        pos = int(rng.integers(len(data) + 1))
        if op == 6:
            data = replace_cell(rng, data)
        elif op == 0:  # insert a token
            data = data[:pos] + TOKENS[int(rng.integers(len(TOKENS)))] + data[pos:]
        elif op == 1:  # delete a span
            data = data[:pos] + data[pos + int(rng.integers(1, 40)) :]
        elif op == 2:  # replace one byte by any byte
            data = data[:pos] + bytes([int(rng.integers(256))]) + data[pos + 1 :]
        elif op == 3:  # cut the file
            data = data[:pos]
        else:  # double (4) or swap (5) lines
            data = _edit_lines(rng, data, op == 4)
    return data


def one_line_problems(exc: UserError) -> None:
    assert exc.problems, "a UserError with no problem"
    for p in exc.problems:
        assert isinstance(p, str) and p and "\n" not in p and "\r" not in p, repr(p)


def _check_plots(got) -> None:
    p = got.plots
    assert got.n_bad >= 0 and np.all(np.diff(p.time_s) >= 0)
    assert set(p.sensor.tolist()) <= {0, 1}
    for values, low, high in (
        (p.time_s, -1e10, 1e10),
        (p.range_m, 0.0, schema.MAX_RANGE_M),
        (np.degrees(p.az_rad), 0.0, 360.0 + 1e-9),
        (np.degrees(p.el_rad), -90.0 - 1e-9, 90.0 + 1e-9),
    ):
        assert np.isfinite(values).all() and ((values >= low) & (values <= high)).all()
    for values, low, high in (
        (p.range_rate_mps, -schema.MAX_SPEED_MPS, schema.MAX_SPEED_MPS),
        (p.snr_db, schema.MIN_SNR_DB, schema.MAX_SNR_DB),
    ):
        v = values[~np.isnan(values)]
        assert np.isfinite(v).all() and ((v >= low) & (v <= high)).all()


def check_plot_csv(path: Path, data: bytes) -> str:
    """Read ``data`` as a plot CSV both ways (stop at the first bad row, skip bad rows):
    "p" for plots within the documented limits, "e" for a one-line-per-problem error."""
    path.write_bytes(data)
    outcome = ""
    for skip_bad in (False, True):
        try:
            got = read_plot_file(path, IDS, skip_bad=skip_bad)
        except UserError as exc:
            one_line_problems(exc)
            outcome += "e"
            continue
        _check_plots(got)
        outcome += "p"
    return outcome


def check_sensors_yaml(path: Path, data: bytes) -> str:
    path.write_bytes(data)
    try:
        specs = read_sensors_yaml(path)
    except UserError as exc:
        one_line_problems(exc)
        return "e"
    assert 1 <= len(specs) <= schema.MAX_SENSORS
    for s in specs:
        assert schema.MIN_SIGMA_RANGE_M <= s.sigma_range_m <= schema.MAX_SIGMA_RANGE_M
        assert schema.MIN_SIGMA_ANGLE_MRAD <= s.sigma_azimuth_mrad <= schema.MAX_SIGMA_ANGLE_MRAD
        assert all(np.isfinite([s.lat, s.lon, s.alt_m, s.latency_s]))
    return "s"


# --- scenarios ------------------------------------------------------------------------------


def _base() -> dict:
    g = yaml.safe_load(builtin_text("green-zone"))
    g["simulation"]["duration_s"] = 6
    g["threats"][0]["time_s"], g["threats"][1]["time_s"] = 0.5, 1.0
    return Scenario.model_validate(g).model_dump(mode="python")


BASE = _base()
BASE_TEXT = yaml.safe_dump(BASE).encode()


def _numeric_paths(d, path=()):
    if isinstance(d, dict):
        for k, v in d.items():
            yield from _numeric_paths(v, (*path, k))
    elif isinstance(d, list):
        for i, v in enumerate(d):
            yield from _numeric_paths(v, (*path, i))
    elif isinstance(d, int | float) and not isinstance(d, bool):
        yield path


PATHS = [p for p in _numeric_paths(BASE) if "polygon" not in p]
EXTREMES = [0, -1, 1e-300, 5e-324, 1e-9, 1e300, 1e308, math.inf, -math.inf, math.nan]
EXTREMES += [True, False, 10**30, 2**63, 1e-3, 0.05, 0.1, 600, 1000, 5000, 20000, 36000, 1e6]
VALUES = st.one_of(
    st.sampled_from(EXTREMES),
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(min_value=-(10**20), max_value=10**20),
)
MUTATIONS = st.lists(st.tuples(st.sampled_from(PATHS), VALUES), min_size=1, max_size=3)


def mutated_scenario(mutations) -> str:
    d = copy.deepcopy(BASE)
    for path, value in mutations:
        cur = d
        for p in path[:-1]:
            cur = cur[p]
        cur[path[-1]] = value
    return yaml.safe_dump(d)


def validate_scenario(text: str):
    """What ``scenario validate`` does (load, then compile): the world, or None when the
    file is refused with a one-line-per-problem UserError."""
    from opencram.c2.world import compile_world  # deferred: numpy, pymap3d

    try:
        return compile_world(parse(text, "fuzz.yaml", builtin_dir()))
    except UserError as exc:
        one_line_problems(exc)
        return None


def run_world(world, out_dir: Path | None) -> None:
    """``opencram run`` on a compiled world: the run and every output built from it."""
    from opencram.analysis.runfolder import events_jsonl, write_tracking_files
    from opencram.analysis.summary import build_summary
    from opencram.c2.engine import run

    result = run(world)
    build_summary(result)
    events_jsonl(result)
    if result.tracker is not None and out_dir is not None:
        write_tracking_files(out_dir, result)
