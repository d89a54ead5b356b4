"""Radar plots: the batch type passed from sense to track, and the two files that carry
recorded data into opencram (a plot CSV and a sensors YAML; see docs/interfaces.md).

A *plot* is one detection from one scan: slant range, azimuth (clockwise from true north)
and elevation (above the local horizontal) seen from the sensor, with an optional radial
velocity and signal-to-noise ratio. Inside opencram angles are radians; the files use
degrees (and milliradians for angle noise), as operators do.
"""

from __future__ import annotations

import csv
import dataclasses
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from itertools import islice
from math import isfinite
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import yaml
from pydantic import Field, ValidationError

from opencram.errors import UserError
from opencram.fileio import atomic_write_text
from opencram.geo import LocalFrame, unit_vector_from_az_el
from opencram.progress import ProgressReporter, reporter
from opencram.scenario.schema import (
    MAX_RANGE_M,
    MAX_SENSORS,
    MAX_SNR_DB,
    MAX_SPEED_MPS,
    MIN_SNR_DB,
    Altitude,
    LatencyS,
    Latitude,
    Longitude,
    Model,
    Name,
    ScanS,
    SigmaAngleMrad,
    SigmaRangeM,
    SigmaRateMps,
    span,
)
from opencram.yamlio import problem_at, read_yaml_file, read_yaml_mapping, validation_problems

# --- the batch type ----------------------------------------------------------------------

_INT_FIELDS = ("sensor", "truth_id", "mode3a")


@dataclass(frozen=True)
class Plots:
    """A batch of radar plots; every field is an array of shape ``(n,)``.

    ``time_s`` is when the measurement was made and ``arrival_s`` when it reaches the
    tracker (measurement time plus the sensor's latency). ``sensor`` indexes the sensor
    list in use. ``range_rate_mps`` and ``snr_db`` are NaN where the sensor gives none.
    ``truth_id`` is the index of the true object, or -1 for a false alarm or recorded data.
    ``mode3a`` is the SSR Mode 3/A code the plot carried (its value: octal ``4521`` is
    ``0o4521``), or -1 for none (a primary-only plot); left out, every plot has none.
    """

    time_s: np.ndarray
    sensor: np.ndarray
    range_m: np.ndarray
    az_rad: np.ndarray
    el_rad: np.ndarray
    range_rate_mps: np.ndarray
    snr_db: np.ndarray
    arrival_s: np.ndarray
    truth_id: np.ndarray
    mode3a: np.ndarray | None = None

    def __post_init__(self) -> None:
        if self.mode3a is None:
            object.__setattr__(self, "mode3a", np.full(np.size(self.time_s), -1))
        n = None
        for f in dataclasses.fields(self):
            dtype = np.int64 if f.name in _INT_FIELDS else np.float64
            a = np.asarray(getattr(self, f.name), dtype=dtype).reshape(-1)
            object.__setattr__(self, f.name, a)
            if n is None:
                n = a.shape[0]
            elif a.shape[0] != n:
                raise ValueError(f"Plots.{f.name} has {a.shape[0]} entries, expected {n}")

    def __len__(self) -> int:
        return int(self.time_s.shape[0])

    @staticmethod
    def empty() -> Plots:
        return Plots(**{f.name: np.empty(0) for f in dataclasses.fields(Plots)})

    @staticmethod
    def concat(batches: Sequence[Plots]) -> Plots:
        """All plots of ``batches`` in order (no sorting)."""
        if not batches:
            return Plots.empty()
        return Plots(
            **{
                f.name: np.concatenate([getattr(b, f.name) for b in batches])
                for f in dataclasses.fields(Plots)
            }
        )

    def take(self, idx) -> Plots:
        """The plots at ``idx`` (integer indices or a boolean mask)."""
        return Plots(**{f.name: getattr(self, f.name)[idx] for f in dataclasses.fields(self)})

    def sorted_by(self, field: str = "time_s") -> Plots:
        """A copy sorted by one field; stable, so equal keys keep their order."""
        return self.take(np.argsort(getattr(self, field), kind="stable"))


def plots_to_enu(plots: Plots, sensor_pos_enu_m) -> np.ndarray:
    """Plot positions ``(n, 3)`` in the local ENU frame. ``sensor_pos_enu_m`` ``(k, 3)`` holds
    the position of each sensor that ``plots.sensor`` indexes. Same convention as pymap3d's
    ``aer2enu``: east = r·cos(el)·sin(az), north = r·cos(el)·cos(az), up = r·sin(el)."""
    origin = np.asarray(sensor_pos_enu_m, dtype=float).reshape(-1, 3)[plots.sensor]
    return origin + plots.range_m[:, None] * unit_vector_from_az_el(plots.az_rad, plots.el_rad)


# --- plot CSV ----------------------------------------------------------------------------

REQUIRED_COLUMNS = ("time_s", "sensor", "range_m", "azimuth_deg", "elevation_deg")
OPTIONAL_COLUMNS = ("range_rate_mps", "snr_db", "mode3a")
_HEADER_HELP = ",".join(REQUIRED_COLUMNS) + "".join(f"[,{c}]" for c in OPTIONAL_COLUMNS)
# decimals written per column: microseconds, millimetres, ~20 nanoradians, mm/s, 0.01 dB
_DECIMALS = {
    "time_s": 6,
    "range_m": 3,
    "azimuth_deg": 6,
    "elevation_deg": 6,
    "range_rate_mps": 3,
    "snr_db": 2,
}
MODE3A_PROBLEM = "is not a Mode 3/A code (four octal digits 0-7, e.g. 4521)"
_NOT_NUMBER, _MISSING, _NOT_FINITE, _OUT_OF_RANGE = 1, 2, 3, 4


@dataclass(frozen=True)
class ColumnLimit:
    """The valid range of a plot CSV column, in the file's units, and the words for a
    value outside it (after the quoted value: ``'-5' is outside 0 to 1000000``)."""

    low: float
    high: float
    problem: str

    def outside(self, value):
        """True where ``value`` (a number or an array) is below ``low`` or above ``high``
        (NaN is not outside: it is reported as not finite)."""
        return (value < self.low) | (value > self.high)


# Any epoch is allowed for time_s, up to Unix time in the year 2286; ranges, radial speeds
# and SNRs are bounded as in the scenario schema (a range of 1e300 m is not a plot).
MAX_ABS_TIME_S = 1e10
COLUMN_LIMITS: dict[str, ColumnLimit] = {
    "time_s": ColumnLimit(
        -MAX_ABS_TIME_S, MAX_ABS_TIME_S, f"is outside -{MAX_ABS_TIME_S:.0f} to {MAX_ABS_TIME_S:.0f}"
    ),
    "range_m": ColumnLimit(0.0, MAX_RANGE_M, f"is outside 0 to {MAX_RANGE_M:.0f}"),
    "range_rate_mps": ColumnLimit(
        -MAX_SPEED_MPS, MAX_SPEED_MPS, f"is outside -{MAX_SPEED_MPS:.0f} to {MAX_SPEED_MPS:.0f}"
    ),
    "snr_db": ColumnLimit(
        MIN_SNR_DB, MAX_SNR_DB, f"is outside {MIN_SNR_DB:.0f} to {MAX_SNR_DB:.0f}"
    ),
    "azimuth_deg": ColumnLimit(0.0, 360.0, "is outside 0 to 360"),
    "elevation_deg": ColumnLimit(-90.0, 90.0, "is outside -90 to 90"),
    "mode3a": ColumnLimit(0.0, 7777.0, MODE3A_PROBLEM),  # and octal digits: mode3a_values
}


def mode3a_values(written: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Code values of Mode 3/A codes as the CSV writes them (four octal digits read as a
    decimal number: ``4521.0``), and which cells are not such a code (a digit 8 or 9, a
    fraction, out of range). NaN (an empty cell) is no code: -1, not bad."""
    w = np.asarray(written, dtype=float)
    have = np.isfinite(w)
    digits = np.where(have, w, 0.0)
    whole = np.floor(digits)
    dec = np.clip(whole, 0, 9999).astype(np.int64)
    d = np.stack([(dec // 10**k) % 10 for k in range(4)])
    bad = have & ((whole != digits) | (digits < 0) | (digits > 7777) | (d > 7).any(axis=0))
    value = (d * (8 ** np.arange(4))[:, None]).sum(axis=0)
    return np.where(have & ~bad, value, -1), bad


def _fmt(values: np.ndarray, decimals: int) -> list[str]:
    """Fixed-decimal text; NaN or infinite values become empty cells."""
    spec = f"{{:.{decimals}f}}"
    return [spec.format(v) if isfinite(v) else "" for v in values.tolist()]


def _csv_cell(text: str) -> str:
    """Quote a text cell when CSV needs it."""
    if any(c in text for c in ',"\r\n') or text != text.strip():
        return '"' + text.replace('"', '""') + '"'
    return text


def write_plots_csv(path: str | Path, plots: Plots, sensor_ids: Sequence[str]) -> None:
    """Write ``plots`` as a plot CSV (atomically), in their current order. The optional
    columns are written when any plot has a value for them; absent values are empty
    cells. ``sensor_ids[k]`` names sensor index ``k``."""
    ids = np.asarray([_csv_cell(str(s)) for s in sensor_ids] or [""], dtype=object)
    cols: dict[str, list[str]] = {
        "time_s": _fmt(plots.time_s, _DECIMALS["time_s"]),
        "sensor": ids[plots.sensor].tolist(),
        "range_m": _fmt(plots.range_m, _DECIMALS["range_m"]),
        "azimuth_deg": _fmt(np.degrees(np.mod(plots.az_rad, 2 * np.pi)), _DECIMALS["azimuth_deg"]),
        "elevation_deg": _fmt(np.degrees(plots.el_rad), _DECIMALS["elevation_deg"]),
    }
    for name in OPTIONAL_COLUMNS:
        values = getattr(plots, name)
        if name == "mode3a":
            if (values >= 0).any():
                cols[name] = [f"{v:04o}" if v >= 0 else "" for v in values.tolist()]
        elif np.isfinite(values).any():
            cols[name] = _fmt(values, _DECIMALS[name])
    for name in REQUIRED_COLUMNS:
        if name != "sensor" and "" in cols[name]:
            raise ValueError(f"write_plots_csv: {name} has NaN or infinite values")
    lines = [",".join(cols), *map(",".join, zip(*cols.values(), strict=True))]
    atomic_write_text(path, "\n".join(lines) + "\n")


_CHUNK_ROWS = 50_000  # rows parsed at a time, to bound memory on large files

# A row whose time is more than NEIGHBOUR_GAP_S from every row within NEIGHBOURS lines of
# it (file order), while those rows have close neighbours, is on another epoch or clock (a
# Unix-time row among seconds of the day): no track could join a plot an hour from any
# other, and predicting a track over such a gap is wasted work.
NEIGHBOUR_GAP_S = 3_600.0
NEIGHBOURS = 2


@dataclass(frozen=True)
class _Chunk:
    """Some records of a plot CSV: per non-blank record the line it starts on, the lines it
    spans (more than one: a quote left open swallowed the line ends) and its field count;
    per column the cells of the good-shaped records (right field count, one line)."""

    line_no: np.ndarray
    n_lines: np.ndarray
    n_fields: np.ndarray
    columns: list[Sequence[str]]

    def shape_ok(self, k: int) -> np.ndarray:
        return (self.n_fields == k) & (self.n_lines == 1)


def _has_quotes(path: Path) -> bool:
    with path.open("rb") as fh:
        while block := fh.read(1 << 20):
            if b'"' in block:
                return True
    return False


def _counted(fh, on_chars: Callable[[int], None]) -> Iterator[str]:
    """The lines of ``fh``, telling ``on_chars`` how many characters were read every
    ``_CHUNK_ROWS`` lines."""
    chars = 0
    for n, line in enumerate(fh, start=1):
        chars += len(line)
        if n % _CHUNK_ROWS == 0:
            on_chars(chars)
        yield line
    on_chars(chars)


def _open_csv(path: Path, label: str):
    if path.exists() and not path.is_file():
        raise UserError(f"{label}: not a regular file")
    try:
        quoted = _has_quotes(path)
        return quoted, path.open(encoding="utf-8-sig", newline="")
    except FileNotFoundError:
        raise UserError(f"{label}: file not found") from None
    except OSError as exc:
        raise UserError(f"{label}: cannot read: {exc.strerror or exc}") from None


def _chunks(path: Path, label: str, on_chars: Callable[[int], None] = lambda n: None) -> Iterator:
    """Read a plot CSV in chunks of rows. Yields the checked header first, then a
    :class:`_Chunk` per chunk. Files without quotes are split with str.split (fast); files
    with quotes go through the csv module."""
    quoted, fh = _open_csv(path, label)
    with fh:
        lines = _counted(fh, on_chars)
        records = _quoted_records(lines, label) if quoted else _plain_records(lines)
        header: list[str] | None = None
        try:
            for line_no, n_lines, rows in records:
                if header is None:
                    header = [c.strip() for c in _fields(rows[0])]
                    _check_header(header, label, int(line_no[0]), int(n_lines[0]))
                    yield header
                    line_no, n_lines, rows = line_no[1:], n_lines[1:], rows[1:]
                k = len(header)
                counts = (r.count(",") + 1 for r in rows) if not quoted else map(len, rows)
                n_fields = np.fromiter(counts, np.int64, len(rows))
                ok = (n_fields == k) & (n_lines == 1)
                good = (
                    rows if ok.all() else [r for r, o in zip(rows, ok.tolist(), strict=True) if o]
                )
                yield _Chunk(line_no, n_lines, n_fields, _columns(good, k))
        except UnicodeDecodeError:
            raise UserError(f"{label}: not UTF-8 text") from None
    if header is None:
        raise UserError(f"{label}: empty file; expected a header line {_HEADER_HELP}")


def _plain_records(lines: Iterator[str]) -> Iterator[tuple[np.ndarray, np.ndarray, list[str]]]:
    """Non-blank lines (without line ends) with their line numbers, in chunks."""
    first = 1
    while raw := list(islice(lines, _CHUNK_ROWS)):
        text = [s.rstrip("\r\n") for s in raw]
        keep = [i for i, s in enumerate(text) if s.strip()]
        if keep:
            yield (
                first + np.asarray(keep, dtype=np.int64),
                np.ones(len(keep), np.int64),
                [text[i] for i in keep],
            )
        first += len(raw)


def _quoted_records(
    lines: Iterator[str], label: str
) -> Iterator[tuple[np.ndarray, np.ndarray, list[list[str]]]]:
    """Non-blank rows parsed by the csv module, with the line each starts on and the lines
    it spans, in chunks."""
    reader = csv.reader(lines)
    rows: list[list[str]] = []
    line_no: list[int] = []
    n_lines: list[int] = []
    end = 0  # the line the previous record ended on
    try:
        for row in reader:
            if row and (len(row) > 1 or row[0].strip()):
                rows.append(row)
                line_no.append(end + 1)
                n_lines.append(reader.line_num - end)
                if len(rows) == _CHUNK_ROWS:
                    yield np.asarray(line_no, np.int64), np.asarray(n_lines, np.int64), rows
                    rows, line_no, n_lines = [], [], []
            end = reader.line_num
    except csv.Error as exc:
        raise UserError(f"{label}:{reader.line_num}: not valid CSV: {exc}") from None
    if rows:
        yield np.asarray(line_no, np.int64), np.asarray(n_lines, np.int64), rows


def _fields(row: str | list[str]) -> list[str]:
    return row.split(",") if isinstance(row, str) else row


def _columns(rows: list, k: int) -> list[Sequence[str]]:
    """Cells by column of rows that all have ``k`` fields."""
    if not rows:
        return [[] for _ in range(k)]
    if isinstance(rows[0], str):
        flat = ",".join(rows).split(",")
        return [flat[j::k] for j in range(k)]
    return [list(c) for c in zip(*rows, strict=True)]


def shown(text: str, limit: int = 80) -> str:
    """``text`` for a one-line message: control characters (line ends, NUL) escaped, and
    cut to ``limit`` characters."""
    out = "".join(c if c.isprintable() else repr(c)[1:-1] for c in text[:limit])
    return out + ("..." if len(text) > limit else "")


def _check_header(header: list[str], label: str, line: int, n_lines: int = 1) -> None:
    if n_lines > 1:
        raise UserError(
            f"{label}:{line}: header: a quote opened here is not closed on this line "
            f"(expected {_HEADER_HELP})"
        )
    known = REQUIRED_COLUMNS + OPTIONAL_COLUMNS
    problems = [f"unknown column '{shown(c)}'" for c in header if c not in known]
    problems += [f"column '{c}' appears twice" for c in known if header.count(c) > 1]
    problems += [f"missing column '{c}'" for c in REQUIRED_COLUMNS if c not in header]
    if problems:
        raise UserError(f"{label}:{line}: header: {'; '.join(problems)} (expected {_HEADER_HELP})")


def _parse_column(cells: Sequence[str], optional: bool) -> tuple[np.ndarray, np.ndarray]:
    """Numbers from one CSV column, and per cell a problem code (0 = fine). An empty cell in
    an optional column means "no value" (NaN), not a problem."""
    n = len(cells)
    values = np.full(n, np.nan)
    problem = np.zeros(n, dtype=np.int8)
    filled = np.ones(n, dtype=bool)
    if optional and n:
        filled = np.asarray(cells, dtype=object) != ""
    sub = cells if filled.all() else [c for c, f in zip(cells, filled.tolist(), strict=True) if f]
    try:
        values[filled] = np.array(sub, dtype=float)
    except ValueError:
        for i in np.flatnonzero(filled).tolist():
            try:
                values[i] = float(cells[i])
            except ValueError:
                if cells[i].strip():
                    problem[i] = _NOT_NUMBER
                elif optional:
                    filled[i] = False
                else:
                    problem[i] = _MISSING
    problem[(problem == 0) & filled & ~np.isfinite(values)] = _NOT_FINITE
    return values, problem


def _parse_chunk(
    header: list[str], columns: list[Sequence[str]], index: dict[str, int]
) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Values by column name, and problem codes ``(columns, rows)`` in file column order."""
    n = len(columns[0])
    values: dict[str, np.ndarray] = {}
    problem = np.zeros((len(header), n), dtype=np.int8)
    for j, (name, cells) in enumerate(zip(header, columns, strict=True)):
        if name == "sensor":
            names, inverse = np.unique(np.asarray(cells, dtype=str), return_inverse=True)
            known = np.array([index.get(s.strip(), -1) for s in names.tolist()], np.int64)
            values[name] = known[inverse.reshape(-1)] if n else np.zeros(0, np.int64)
            problem[j] = np.where(values[name] < 0, _OUT_OF_RANGE, 0)
            continue
        values[name], problem[j] = _parse_column(cells, name in OPTIONAL_COLUMNS)
        if name == "mode3a":
            values[name], outside = mode3a_values(values[name])
            problem[j][(problem[j] == 0) & outside] = _OUT_OF_RANGE
        elif name in COLUMN_LIMITS:
            outside = COLUMN_LIMITS[name].outside(values[name])
            problem[j][(problem[j] == 0) & outside] = _OUT_OF_RANGE
    return values, problem


def _problem_text(name: str, cell: str, code: int) -> str:
    s = shown(cell.strip())
    if code == _NOT_NUMBER:
        return f"'{s}' is not a number"
    if code == _MISSING:
        return "missing value"
    if code == _NOT_FINITE:
        return f"'{s}' is not a finite number"
    return f"'{s}' {COLUMN_LIMITS[name].problem}"


def _shape_text(label: str, header: list[str], chunk: _Chunk, i: int) -> str:
    """The message for record ``i`` of ``chunk`` whose shape is wrong."""
    line, n_lines = int(chunk.line_no[i]), int(chunk.n_lines[i])
    if n_lines > 1:
        return (
            f"{label}:{line}: a quote opened here is not closed on this line; its cell runs "
            f"to line {line + n_lines - 1} ({n_lines} lines lost)"
        )
    return (
        f"{label}:{line}: expected {len(header)} columns "
        f"({','.join(header)}), found {chunk.n_fields[i]}"
    )


def _first_problem(
    label: str,
    header: list[str],
    chunk: _Chunk,
    problem: np.ndarray,
    sensor_ids: Sequence[str],
) -> str:
    """The one-line message for the first bad row of a chunk."""
    shape_ok = chunk.shape_ok(len(header))
    row_bad = problem.any(axis=0)
    good_pos = np.flatnonzero(shape_ok)
    first_value = int(good_pos[np.argmax(row_bad)]) if row_bad.any() else len(shape_ok)
    bad_shape = np.flatnonzero(~shape_ok)
    if bad_shape.size and bad_shape[0] < first_value:
        return _shape_text(label, header, chunk, int(bad_shape[0]))
    r = int(np.argmax(row_bad))
    j = int(np.argmax(problem[:, r] > 0))
    name = header[j]
    cell = chunk.columns[j][r]
    if name == "sensor":
        known = ", ".join(shown(s) for s in sensor_ids) or "none"
        msg = f"unknown sensor id '{shown(cell.strip())}' (known: {known})"
    else:
        msg = _problem_text(name, cell, int(problem[j, r]))
    return f"{label}:{chunk.line_no[first_value]}: {name}: {msg}"


def isolated_times(time_s: np.ndarray, gap_s: float = NEIGHBOUR_GAP_S) -> np.ndarray:
    """Which of ``time_s`` (in file order) are more than ``gap_s`` from every time within
    ``NEIGHBOURS`` places of them while one of those has a close neighbour itself: a row on
    another epoch among rows that agree. (Two rows far apart and nothing else: neither.)"""
    t = np.asarray(time_s, dtype=float)
    near = np.zeros(t.size, dtype=bool)
    for d in range(1, NEIGHBOURS + 1):
        close = np.abs(t[d:] - t[:-d]) <= gap_s
        near[d:] |= close
        near[:-d] |= close
    beside_near = np.zeros(t.size, dtype=bool)
    for d in range(1, NEIGHBOURS + 1):
        beside_near[d:] |= near[:-d]
        beside_near[:-d] |= near[d:]
    return ~near & beside_near


@dataclass(frozen=True)
class PlotFile:
    """What :func:`read_plot_file` read: the plots sorted by time (stable), and the bad rows
    skipped (``skip_bad``) with how many of them were lost inside quotes left open (lines
    swallowed by a cell, counted as rows; ``quote_line`` is where the first such cell
    begins) and how many were times far from their neighbours' (``time_outliers``)."""

    plots: Plots
    n_bad: int
    quote_lines_lost: int = 0
    quote_line: int | None = None
    time_outliers: int = 0


class _BadRows:
    """The bad rows met so far: how many, and the message of the earliest."""

    def __init__(self) -> None:
        self.n = 0
        self.first_line = np.inf
        self.first = ""
        self.quote_lines_lost = 0
        self.quote_line: int | None = None
        self.time_outliers = 0
        self.far_lines = np.zeros(0, dtype=np.int64)  # lines of the rows far in time

    def add(self, n: int, line: float, message: Callable[[], str]) -> None:
        """``n`` more bad rows, the first on ``line``; ``message()`` is its text."""
        if n and line < self.first_line:
            self.first_line, self.first = line, message()
        self.n += n

    def add_chunk(self, label, header, chunk: _Chunk, problem, sensor_ids) -> None:
        shape_bad = ~chunk.shape_ok(len(header))
        n = int(chunk.n_lines[shape_bad].sum() + problem.any(axis=0).sum())
        if not n:
            return
        lost = chunk.n_lines > 1
        if lost.any():
            self.quote_lines_lost += int(chunk.n_lines[lost].sum())
            if self.quote_line is None:
                self.quote_line = int(chunk.line_no[np.argmax(lost)])
        row_bad = problem.any(axis=0)
        ok_lines = chunk.line_no[chunk.shape_ok(len(header))]
        line = int(np.concatenate([chunk.line_no[shape_bad], ok_lines[row_bad]]).min())
        self.add(n, line, lambda: _first_problem(label, header, chunk, problem, sensor_ids))

    def raise_unless(self, skip_bad: bool) -> None:
        if self.n and not skip_bad:
            more = f" (and {self.n - 1} more bad rows)" if self.n > 1 else ""
            raise UserError(self.first + more)


def _drop_isolated_times(label: str, cols: dict[str, np.ndarray], bad: _BadRows) -> None:
    """Count as bad, and take out of ``cols`` (file order, with ``_line``), the rows whose
    time is far from their neighbours'."""
    far = isolated_times(cols["time_s"])
    if not far.any():
        return
    i = int(np.argmax(far))
    line, t = int(cols["_line"][i]), float(cols["time_s"][i])
    bad.time_outliers = int(far.sum())
    bad.far_lines = cols["_line"][far]
    bad.add(
        int(far.sum()),
        line,
        lambda: (
            f"{label}:{line}: time_s: '{t:.6f}' is more than {NEIGHBOUR_GAP_S:.0f} s from every "
            f"row within {NEIGHBOURS} lines of it (another epoch or clock? every row must use "
            "the same one)"
        ),
    )
    for name in cols:
        cols[name] = cols[name][~far]


def _read_columns(
    path: Path,
    sensor_ids: Sequence[str],
    skip_bad: bool,
    on_chars: Callable[[int], None],
    only: Sequence[str] | None = None,
) -> tuple[list[str], dict[str, np.ndarray], _BadRows]:
    """The good rows' values by column name in file order (``_line``: their line numbers),
    and the bad rows met; with ``only``, just those columns (and ``_line``) are kept."""
    label = str(path)
    index = {s: k for k, s in enumerate(sensor_ids)}
    chunks = _chunks(path, label, on_chars)
    header: list[str] = next(chunks)
    parts: list[dict[str, np.ndarray]] = []
    bad = _BadRows()
    for chunk in chunks:
        values, problem = _parse_chunk(header, chunk.columns, index)
        bad.add_chunk(label, header, chunk, problem, sensor_ids)
        if skip_bad or not bad.n:
            keep = ~problem.any(axis=0)
            values["_line"] = chunk.line_no[chunk.shape_ok(len(header))]
            parts.append(
                {n: v[keep] for n, v in values.items() if only is None or n in (*only, "_line")}
            )
    names = [n for n in header if only is None or n in only] + ["_line"]
    empty = {n: np.zeros(0, np.int64 if n in ("sensor", "_line") else float) for n in names}
    cols = {n: np.concatenate([p[n] for p in parts]) if parts else empty[n] for n in names}
    _drop_isolated_times(label, cols, bad)
    return header, cols, bad


def read_plot_file(
    path: str | Path,
    sensor_ids: Sequence[str],
    *,
    skip_bad: bool = False,
    latency_s: Sequence[float] | None = None,
    on_progress: ProgressReporter | None = None,
) -> PlotFile:
    """Read a plot CSV (docs/interfaces.md), holding only the plots' arrays and one chunk
    of text at a time. ``on_progress`` hears the megabytes read.

    ``sensor_ids[k]`` is the id of sensor index ``k``; ``latency_s[k]``, when given, is added
    to sensor ``k``'s measurement times to get arrival times (otherwise arrival = time).
    A bad row raises :class:`UserError` with one line naming file, line and column (the
    first bad row; the count of the others is appended), unless ``skip_bad`` is set, in
    which case bad rows are skipped and counted. Blank lines are ignored. A row whose
    time is far from its neighbours' (:func:`isolated_times`) is a bad row; so is each
    line swallowed by a quote left open.
    """
    if len(set(sensor_ids)) != len(sensor_ids):
        raise ValueError("read_plot_file: sensor_ids has duplicates")
    path = Path(path)
    bar = reporter(on_progress)
    size_mb = path.stat().st_size / 1e6 if path.is_file() else 0.0
    bar.start(f"reading {path.name} (MB)", size_mb)
    header, cols, bad = _read_columns(path, sensor_ids, skip_bad, lambda n: bar.update(n / 1e6))
    bad.raise_unless(skip_bad)
    bar.finish()
    plots = _plots_of(header, cols, _lags(sensor_ids, latency_s))
    return PlotFile(
        plots.sorted_by("time_s"), bad.n, bad.quote_lines_lost, bad.quote_line, bad.time_outliers
    )


def _lags(sensor_ids: Sequence[str], latency_s: Sequence[float] | None) -> np.ndarray:
    return np.zeros(len(sensor_ids)) if latency_s is None else np.asarray(latency_s, float)


def _plots_of(header: list[str], cols: dict[str, np.ndarray], lag_s: np.ndarray) -> Plots:
    """Plots (file order) from the good rows' values by column name."""
    n = cols["time_s"].size

    def column(name: str) -> np.ndarray:
        return cols[name] if name in header else np.full(n, np.nan)

    time_s, sensor = cols["time_s"], cols["sensor"]
    return Plots(
        time_s=time_s,
        sensor=sensor,
        range_m=cols["range_m"],
        az_rad=np.radians(cols["azimuth_deg"]),
        el_rad=np.radians(cols["elevation_deg"]),
        range_rate_mps=column("range_rate_mps"),
        snr_db=column("snr_db"),
        arrival_s=time_s + lag_s[sensor] if n else time_s,
        truth_id=np.full(n, -1),
        mode3a=cols["mode3a"] if "mode3a" in header else None,
    )


# --- streaming: a plot file of any length, in time order, a batch at a time ------------------


@dataclass(frozen=True)
class PlotStream:
    """A plot CSV checked whole (:func:`stream_plot_file`; the bad rows counted as by
    :func:`read_plot_file`) and read again, a chunk at a time, by :meth:`sorted_batches`.
    ``max_back_s`` is how far a row's time goes back below the latest time before it in
    the file (0 for a file in time order); ``far_lines`` the lines of the rows dropped for
    a time far from their neighbours'."""

    path: Path
    sensor_ids: tuple[str, ...]
    lag_s: np.ndarray
    n_plots: int
    n_bad: int
    quote_lines_lost: int
    quote_line: int | None
    time_outliers: int
    max_back_s: float
    far_lines: np.ndarray

    def _file_batches(self) -> Iterator[Plots]:
        """The good rows of each chunk of the file, in file order."""
        label = str(self.path)
        index = {s: k for k, s in enumerate(self.sensor_ids)}
        chunks = _chunks(self.path, label)
        header: list[str] = next(chunks)
        for chunk in chunks:
            values, problem = _parse_chunk(header, chunk.columns, index)
            keep = ~problem.any(axis=0)
            keep &= ~np.isin(chunk.line_no[chunk.shape_ok(len(header))], self.far_lines)
            yield _plots_of(header, {n: v[keep] for n, v in values.items()}, self.lag_s)

    def sorted_batches(self) -> Iterator[Plots]:
        """Every plot, in the order of :func:`read_plot_file` (by time, stable), a batch at
        a time. A plot is let out once the file's latest time so far, less ``max_back_s``,
        is past it: no later row can come before it. Memory holds the rows of the last
        ``max_back_s`` seconds of data and one chunk (for a file in time order: one chunk)."""
        pending = Plots.empty()
        top = -np.inf
        for plots in self._file_batches():
            if not len(plots):
                continue
            top = max(top, float(plots.time_s.max()))
            both = Plots.concat([pending, plots]).sorted_by("time_s")
            k = int(np.searchsorted(both.time_s, top - self.max_back_s, side="left"))
            if k:
                yield both.take(slice(0, k))
            pending = both.take(slice(k, None))
        if len(pending):
            yield pending


def stream_plot_file(
    path: str | Path,
    sensor_ids: Sequence[str],
    *,
    skip_bad: bool = False,
    latency_s: Sequence[float] | None = None,
    on_progress: ProgressReporter | None = None,
) -> PlotStream:
    """Check a plot CSV as :func:`read_plot_file` does (the same errors, the same rows
    skipped with ``skip_bad``) holding only each good row's time and line (16 bytes a row)
    and one chunk of text, and return a :class:`PlotStream` that reads the plots again a
    chunk at a time. ``on_progress`` hears the megabytes checked."""
    if len(set(sensor_ids)) != len(sensor_ids):
        raise ValueError("stream_plot_file: sensor_ids has duplicates")
    path = Path(path)
    bar = reporter(on_progress)
    size_mb = path.stat().st_size / 1e6 if path.is_file() else 0.0
    bar.start(f"checking {path.name} (MB)", size_mb)
    _, cols, bad = _read_columns(
        path, sensor_ids, skip_bad, lambda n: bar.update(n / 1e6), only=("time_s",)
    )
    bad.raise_unless(skip_bad)
    bar.finish()
    t = cols["time_s"]
    back = float((np.maximum.accumulate(t) - t).max()) if t.size else 0.0
    return PlotStream(
        path,
        tuple(sensor_ids),
        _lags(sensor_ids, latency_s),
        int(t.size),
        bad.n,
        bad.quote_lines_lost,
        bad.quote_line,
        bad.time_outliers,
        back,
        bad.far_lines,
    )


def read_plots_csv(
    path: str | Path,
    sensor_ids: Sequence[str],
    *,
    skip_bad: bool = False,
    latency_s: Sequence[float] | None = None,
) -> tuple[Plots, int]:
    """:func:`read_plot_file`'s plots (sorted by time, stable) and count of bad rows
    skipped."""
    got = read_plot_file(path, sensor_ids, skip_bad=skip_bad, latency_s=latency_s)
    return got.plots, got.n_bad


# --- sensors YAML ------------------------------------------------------------------------


@dataclass(frozen=True)
class SensorSpec:
    """One sensor of a sensors YAML file: where it is (WGS-84 degrees, metres above the
    ellipsoid) and its 1-sigma measurement noise."""

    id: str
    lat: float
    lon: float
    alt_m: float
    sigma_range_m: float
    sigma_azimuth_mrad: float
    sigma_elevation_mrad: float
    scan_s: float | None = None
    sigma_range_rate_mps: float | None = None
    latency_s: float = 0.0
    noise_corr_s: float = 0.0
    min_start_snr_db: float | None = None


class _SensorEntry(Model):
    """One sensor of a sensors file, with the scenario's sensor limits (finite numbers, no
    true/false, noise floors and ceilings: opencram.scenario.schema, limits)."""

    id: Name
    lat: Latitude
    lon: Longitude
    alt_m: Altitude
    sigma_range_m: SigmaRangeM
    sigma_azimuth_mrad: SigmaAngleMrad
    sigma_elevation_mrad: SigmaAngleMrad
    scan_s: ScanS | None = None
    sigma_range_rate_mps: SigmaRateMps | None = None
    latency_s: LatencyS = 0.0
    noise_corr_s: LatencyS = 0.0  # correlation time of the plot errors, 0 to 60 s
    min_start_snr_db: span(MIN_SNR_DB, MAX_SNR_DB) | None = None


class _SensorsFile(Model):
    sensors: Annotated[list[_SensorEntry], Field(min_length=1, max_length=MAX_SENSORS)]


def _model_for(path: tuple) -> type[Model]:
    return _SensorEntry if any(isinstance(p, int) for p in path) else _SensorsFile


_SENSORS_MESSAGES = {"too_short": "needs at least one sensor"}


def read_sensors_yaml(path: str | Path) -> list[SensorSpec]:
    """Read and check a sensors YAML file; every problem is reported as one line
    ``FILE:LINE: sensors[i].field: message`` in a :class:`UserError`."""
    label = str(path)
    text = read_yaml_file(path, label)
    data, lines = read_yaml_mapping(text, label, "expected a mapping with a 'sensors:' list")
    try:
        parsed = _SensorsFile.model_validate(data)
    except ValidationError as exc:
        problems = validation_problems(exc, data, lines, label, _model_for, _SENSORS_MESSAGES)
        raise UserError(*problems) from None
    seen: set[str] = set()
    problems = []
    for i, s in enumerate(parsed.sensors):
        if s.id in seen:
            problems.append(
                problem_at(label, lines, ("sensors", i, "id"), f"duplicate id '{s.id}'")
            )
        seen.add(s.id)
    if problems:
        raise UserError(*problems)
    return [SensorSpec(**s.model_dump()) for s in parsed.sensors]


def write_sensors_yaml(path: str | Path, specs: Sequence[SensorSpec]) -> None:
    """Write a sensors YAML file (atomically); optional fields left unset are omitted."""
    entries: list[dict[str, Any]] = []
    for s in specs:
        d = {k: v for k, v in dataclasses.asdict(s).items() if v is not None}
        if not d.get("noise_corr_s"):
            d.pop("noise_corr_s", None)  # the default (independent errors) left unsaid
        entries.append({k: (float(v) if k != "id" else str(v)) for k, v in d.items()})
    atomic_write_text(path, yaml.safe_dump({"sensors": entries}, sort_keys=False))


def sensor_specs_from_scenario(scenario) -> list[SensorSpec]:
    """The sensors of a :class:`~opencram.scenario.schema.Scenario` as sensors-file entries
    (a sensor without ``alt_m`` stands on the ground, i.e. at the site altitude)."""
    return [
        SensorSpec(
            id=s.id,
            lat=s.lat,
            lon=s.lon,
            alt_m=scenario.site.alt_m if s.alt_m is None else s.alt_m,
            sigma_range_m=s.sigma_range_m,
            sigma_azimuth_mrad=s.sigma_azimuth_mrad,
            sigma_elevation_mrad=s.sigma_elevation_mrad,
            scan_s=s.scan_s,
            sigma_range_rate_mps=s.sigma_range_rate_mps,
            latency_s=s.latency_s,
        )
        for s in scenario.sensors
    ]


def sensor_positions_enu_m(specs: Sequence[SensorSpec], frame: LocalFrame) -> np.ndarray:
    """Positions ``(k, 3)`` of the sensors in the local ENU frame."""
    if not specs:
        return np.zeros((0, 3))
    lat = np.array([s.lat for s in specs])
    lon = np.array([s.lon for s in specs])
    alt = np.array([s.alt_m for s in specs])
    return frame.to_enu(lat, lon, alt).reshape(-1, 3)
