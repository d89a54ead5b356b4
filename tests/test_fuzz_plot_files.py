"""Fuzzing the two recorded-data readers, the plot CSV and the sensors YAML: whatever the
bytes, the reader gives plots (or sensors) within the documented limits, or a
:class:`~opencram.errors.UserError` whose every problem is one line; never another
exception.

Two sources of inputs: a seeded mutator (``MUTANTS`` mutants of a valid file each, with
CSV- and YAML-shaped damage: quotes, commas, line ends, NUL and non-UTF-8 bytes, byte-order
marks, ``nan``/``inf``/``1e300``, huge numbers, lines cut, doubled and swapped), and
hypothesis (arbitrary bytes and text, derandomised so every run draws the same inputs).

Faults seeded by hand to check that this file catches them (each made this file fail,
then was undone):

- ``_chunks`` without its ``except UnicodeDecodeError``: a mutant with a ``\\xff`` byte
  raised ``UnicodeDecodeError`` (caught in the first few hundred CSV mutants);
- ``_quoted_records`` without its ``except csv.Error``: a mutant with a quote and a cell of
  140,000 characters raised ``_csv.Error: field larger than field limit (131072)``;
- ``COLUMN_LIMITS`` without the ``range_m`` upper bound: a mutant with ``1e300`` in the
  range column came back as a plot, failing the check of returned plots against the
  documented limits (taken from the scenario schema, not from ``COLUMN_LIMITS``).
"""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from opencram.errors import UserError
from opencram.scenario import schema
from opencram.sense.plots import read_plot_file, read_sensors_yaml

MUTANTS = 3000  # per reader
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
            lines = data.split(b"\n")
            i, j = (int(x) for x in rng.integers(len(lines), size=2))
            if op == 4:
                lines.insert(i, lines[j])
            else:
                lines[i], lines[j] = lines[j], lines[i]
            data = b"\n".join(lines)
    return data


def one_line_problems(exc: UserError) -> None:
    assert exc.problems, "a UserError with no problem"
    for p in exc.problems:
        assert isinstance(p, str) and p and "\n" not in p and "\r" not in p, repr(p)


def check_plot_csv(path, data: bytes) -> str:
    """Read ``data`` as a plot CSV both ways (stop at the first bad row, skip bad rows)."""
    path.write_bytes(data)
    outcome = ""
    for skip_bad in (False, True):
        try:
            got = read_plot_file(path, IDS, skip_bad=skip_bad)
        except UserError as exc:
            one_line_problems(exc)
            outcome += "e"
            continue
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
        outcome += "p"
    return outcome


def check_sensors_yaml(path, data: bytes) -> str:
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


def test_seeded_mutants_of_a_plot_csv(tmp_path):
    rng = np.random.default_rng(17)
    assert check_plot_csv(tmp_path / "p.csv", VALID_CSV) == "pp"
    seen = [check_plot_csv(tmp_path / "p.csv", mutate(rng, VALID_CSV)) for _ in range(MUTANTS)]
    # the mutants reach both outcomes, and bad rows skipped after an error
    assert {"pp", "ee", "ep"} <= set(seen)


def test_seeded_mutants_of_a_sensors_yaml(tmp_path):
    rng = np.random.default_rng(17)
    assert check_sensors_yaml(tmp_path / "s.yaml", VALID_YAML) == "s"
    seen = [
        check_sensors_yaml(tmp_path / "s.yaml", mutate(rng, VALID_YAML)) for _ in range(MUTANTS)
    ]
    assert {"s", "e"} <= set(seen)


FUZZ = settings(
    max_examples=300,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)


@FUZZ
@given(data=st.binary(max_size=3000) | st.text(max_size=1500).map(lambda s: s.encode()))
def test_any_bytes_as_a_plot_csv(tmp_path, data):
    check_plot_csv(tmp_path / "p.csv", data)


@FUZZ
@given(data=st.binary(max_size=2000) | st.text(max_size=1500).map(lambda s: s.encode()))
def test_any_bytes_as_a_sensors_yaml(tmp_path, data):
    check_sensors_yaml(tmp_path / "s.yaml", data)
