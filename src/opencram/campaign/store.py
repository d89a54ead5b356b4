"""Campaign results on disk: Parquet parts written atomically, a manifest, and resume.

Layout of a campaign folder::

    campaign.json            the settings (scenario, variations, layouts, seed); a re-run
                             must match them to resume
    parts/NNNNNN-threats.parquet   rows of the runs finished since the previous part
    parts/NNNNNN-runs.parquet      one row per run of that part: written last, it marks
                                   the part complete
    runs.parquet, threats.parquet  all rows, sorted by layout, run (and threat), written
                                   when the campaign ends
    summary.json, report.html

Every file is written to a temporary name, flushed and renamed (:mod:`opencram.fileio`),
so a kill leaves either a whole part or none. A threats part without its runs part (the
kill fell between the two renames) is ignored and its runs are done again. A run is
finished when its row is in a runs part or in ``runs.parquet``; failed runs are finished
too (their error and seed are in the row).
"""

from __future__ import annotations

import io
import json
import re
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from opencram.campaign.worker import LEADS_S
from opencram.errors import UserError
from opencram.fileio import atomic_write_bytes, atomic_write_json

MANIFEST = "campaign.json"
FORMAT_VERSION = 2  # 2: column descriptions, own-track warning, typed varied columns

DESCRIPTION = b"description"  # the key of each Parquet field's description (metadata)
VARY_PREFIX = "vary."  # varied inputs: "vary." + the concrete field path, one column each


def _field(name: str, kind: pa.DataType, description: str) -> pa.Field:
    return pa.field(name, kind, metadata={DESCRIPTION: description.encode()})


RUN_SCHEMA = pa.schema(
    [
        _field("layout", pa.string(), "layout name (`base` without --layouts)"),
        _field("run", pa.int64(), "run number, 0 to N-1"),
        _field("seed", pa.int64(), "simulation seed of the run: the campaign seed plus `run`"),
        _field("status", pa.string(), "`ok`, or `failed` (the run raised an error)"),
        _field("error", pa.string(), "the error of a failed run, with where it was raised"),
        _field(
            "variant",
            pa.string(),
            "the drawn values as JSON, by concrete field path (also in the `vary.*` columns)",
        ),
        _field("n_threats", pa.int64(), "threats in the run"),
        _field("intercepted", pa.int64(), "threats destroyed in the air"),
        _field("leakers_protected", pa.int64(), "threats that landed in a protected zone"),
        _field("false_alerts", pa.int64(), "alert episodes on zones that no threat hit"),
        _field(
            "missed_warnings",
            pa.int64(),
            "warning zones hit with no alert up at the impact (one per zone and threat)",
        ),
        _field(
            "alerts_raised",
            pa.int64(),
            "false alerts plus warned zone hits (an alert that warned two threats counts twice)",
        ),
        _field("rounds_fired", pa.int64(), "gun rounds fired in the run"),
        _field("bursts", pa.int64(), "bursts fired in the run"),
        _field("end_time_s", pa.float64(), "simulated end time of the run (s)"),
        _field("cpu_s", pa.float64(), "CPU time of the run in its worker (s)"),
    ]
)


def _error_fields(lead: str) -> list[pa.Field]:
    """The impact and origin error columns at one lead (``20s`` …, or ``first``)."""
    if lead == "first":
        made = ("first impact prediction", "first origin estimate")
    else:
        when = f"made (by measurement time) {lead[:-1]} s or more before its undisturbed impact"
        made = (f"latest impact prediction {when}", f"latest origin estimate {when}")
    return [
        _field(
            f"impact_err_m_{lead}",
            pa.float64(),
            f"horizontal distance (m) from the {made[0]} to where the threat would have "
            "landed undisturbed",
        ),
        _field(
            f"origin_err_m_{lead}",
            pa.float64(),
            f"horizontal distance (m) from the {made[1]} to the true launch point",
        ),
    ]


_errs = [f for lead in (*(f"{x:g}s" for x in LEADS_S), "first") for f in _error_fields(lead)]

THREAT_SCHEMA = pa.schema(
    [
        _field("layout", pa.string(), "layout name (`base` without --layouts)"),
        _field("run", pa.int64(), "run number, 0 to N-1"),
        _field("seed", pa.int64(), "simulation seed of the run"),
        _field("threat_index", pa.int64(), "position of the threat among the run's rounds"),
        _field("threat_id", pa.string(), "threat id (salvo rounds numbered, e.g. `grad-20`)"),
        _field("threat_type", pa.string(), "threat type from the library (e.g. `rocket-107mm`)"),
        _field("category", pa.string(), "`rocket`, `mortar`, `artillery` or `drone`"),
        _field("launch_time_s", pa.float64(), "launch time (s from scenario start)"),
        _field("launch_lat", pa.float64(), "launch point latitude (degrees, WGS-84)"),
        _field("launch_lon", pa.float64(), "launch point longitude (degrees, WGS-84)"),
        _field("outcome", pa.string(), "`intercepted`, `leaked` or `not_engaged`"),
        _field("not_engaged_reason", pa.string(), "why a `not_engaged` threat was not engaged"),
        _field(
            "threatened_protected",
            pa.bool_(),
            "its undisturbed flight would have landed in a protected zone",
        ),
        _field("threatened_zone", pa.string(), "that protected zone"),
        _field("impact_time_s", pa.float64(), "impact time (s); null if destroyed or in flight"),
        _field("impact_lat", pa.float64(), "impact latitude (degrees)"),
        _field("impact_lon", pa.float64(), "impact longitude (degrees)"),
        _field("impact_zone", pa.string(), "first zone hit (grown by the lethal radius)"),
        _field("impact_zones", pa.list_(pa.string()), "every zone hit"),
        _field("leaked_protected", pa.bool_(), "it landed in a protected zone"),
        _field("leak_zone", pa.string(), "the protected zone it landed in"),
        _field("first_plot_s", pa.float64(), "time of its first radar plot (s)"),
        _field("first_confirmed_s", pa.float64(), "time its first track was confirmed (s)"),
        _field(
            "warning_s",
            pa.float64(),
            "zone warning (s): the shortest, over the warning zones it hit, time from the "
            "raise of the zone's alert up at its impact (whichever track raised it) to impact",
        ),
        _field("warning_zones", pa.list_(pa.string()), "the warning zones it hit with an alert up"),
        _field(
            "warning_times_s",
            pa.list_(pa.float64()),
            "zone warning (s) on each of `warning_zones`, in order",
        ),
        _field(
            "own_track_warning_s",
            pa.float64(),
            "own-track warning (s): the shortest, over the warning zones it hit, time from the "
            "first alert listing one of its own tracks to impact; null if none did",
        ),
        _field(
            "own_track_warning_times_s",
            pa.list_(pa.float64()),
            "own-track warning (s) on each of `warning_zones`, in order (null: not by its own "
            "track)",
        ),
        _field(
            "missed_warning_zones",
            pa.list_(pa.string()),
            "warning zones it hit with no alert up at its impact",
        ),
        _field("bursts", pa.int64(), "bursts fired at it"),
        _field("rounds_fired", pa.int64(), "gun rounds fired at it"),
        _field("intercept_time_s", pa.float64(), "time it was destroyed (s)"),
        _field("intercept_alt_m", pa.float64(), "height of the kill (m above the ellipsoid)"),
        _field("intercept_gun", pa.string(), "the gun that destroyed it"),
        *_errs,
    ]
)

_PART = re.compile(r"^(\d{6})-(runs|threats)\.parquet$")


def _table(rows: list[dict[str, Any]], schema: pa.Schema) -> pa.Table:
    cols = {f.name: [r.get(f.name) for r in rows] for f in schema}
    return pa.Table.from_pydict(cols, schema=schema)


def _is_number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def _value_kind(values: list[Any]) -> pa.DataType:
    """The Arrow type of one varied input's drawn values (None: not drawn in that run)."""
    present = [v for v in values if v is not None]
    if present and all(isinstance(v, bool) for v in present):
        return pa.bool_()
    if all(isinstance(v, int) and not isinstance(v, bool) for v in present):
        return pa.int64()
    if all(_is_number(v) for v in present):
        return pa.float64()
    return pa.string()


def _common_kind(kinds: list[pa.DataType]) -> pa.DataType:
    """One type for a varied input typed differently in two parts (e.g. ``choice(1,2.5)``
    drew only whole numbers in one): float64 for numbers, else string."""
    if all(k == kinds[0] for k in kinds):
        return kinds[0]
    if all(k in (pa.int64(), pa.float64()) for k in kinds):
        return pa.float64()
    return pa.string()


def vary_field(path: str, kind: pa.DataType) -> pa.Field:
    """The column of one varied input, named after its concrete field path."""
    return _field(VARY_PREFIX + path, kind, f"the value drawn for `{path}` (--vary)")


def _text(v: Any) -> str | None:
    return v if v is None or isinstance(v, str) else json.dumps(v)


def runs_table(rows: list[dict[str, Any]]) -> pa.Table:
    """Run rows as a table: the fixed columns, then one typed column per varied input
    (its values read from the row's ``variant`` JSON), sorted by path."""
    table = _table(rows, RUN_SCHEMA)
    drawn = [json.loads(r.get("variant") or "{}") for r in rows]
    for path in sorted({k for d in drawn for k in d}):
        values = [d.get(path) for d in drawn]
        kind = _value_kind(values)
        if kind == pa.string():
            values = [_text(v) for v in values]
        table = table.append_column(vary_field(path, kind), pa.array(values, type=kind))
    return table


def _concat_runs(tables: list[pa.Table]) -> pa.Table:
    """Run tables whose varied columns may differ: each brought to the union of the
    varied columns (null where a table lacks one), with one type per column."""
    kinds: dict[str, list[pa.DataType]] = {}
    for t in tables:
        for f in t.schema:
            if f.name.startswith(VARY_PREFIX):
                kinds.setdefault(f.name, []).append(f.type)
    extra = [vary_field(n[len(VARY_PREFIX) :], _common_kind(k)) for n, k in sorted(kinds.items())]
    schema = pa.schema([*RUN_SCHEMA, *extra])
    out = []
    for t in tables:
        cols = [
            t.column(f.name).cast(f.type) if f.name in t.column_names else pa.nulls(len(t), f.type)
            for f in schema
        ]
        out.append(pa.Table.from_arrays(cols, schema=schema))
    return pa.concat_tables(out) if out else schema.empty_table()


def _write_table(path: Path, table: pa.Table) -> None:
    buf = io.BytesIO()
    pq.write_table(table, buf, compression="zstd")
    atomic_write_bytes(path, buf.getvalue())


class Store:
    """The results folder of one campaign."""

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)
        self.parts = self.folder / "parts"

    # ---- manifest ----------------------------------------------------------------------

    def open(self, settings: dict[str, Any]) -> None:
        """Create the folder, or check that an existing campaign has the same settings."""
        if self.folder.exists() and not self.folder.is_dir():
            raise UserError(f"--out {self.folder}: exists and is not a folder")
        path = self.folder / MANIFEST
        want = {"format": FORMAT_VERSION, **settings}
        if path.exists():
            try:
                have = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError) as exc:
                raise UserError(f"{path}: unreadable campaign manifest ({exc})") from None
            diff = sorted(k for k in set(have) | set(want) if have.get(k) != want.get(k))
            if diff:
                raise UserError(
                    f"--out {self.folder}: holds a campaign with other settings "
                    f"({', '.join(diff)} differ); use another --out folder to start afresh"
                )
            return
        if self.folder.exists() and any(self.folder.iterdir()):
            raise UserError(
                f"--out {self.folder}: not empty and not a campaign folder (no {MANIFEST})"
            )
        try:
            atomic_write_json(path, want)
        except OSError as exc:
            raise UserError(f"--out {self.folder}: cannot write: {exc.strerror or exc}") from None

    # ---- parts ---------------------------------------------------------------------------

    def _part_numbers(self) -> tuple[set[int], set[int]]:
        runs, threats = set(), set()
        if self.parts.is_dir():
            for p in self.parts.iterdir():
                m = _PART.match(p.name)
                if m:
                    (runs if m.group(2) == "runs" else threats).add(int(m.group(1)))
        return runs, threats

    def write_part(self, results: list[dict[str, Any]]) -> None:
        """Write the rows of some finished runs as one part (threats first, runs last)."""
        if not results:
            return
        runs, threats = self._part_numbers()
        n = max(runs | threats, default=-1) + 1
        rows_t = [row for r in results for row in r["threats"]]
        _write_table(self.parts / f"{n:06d}-threats.parquet", _table(rows_t, THREAT_SCHEMA))
        _write_table(self.parts / f"{n:06d}-runs.parquet", runs_table([r["run"] for r in results]))

    def _complete_parts(self) -> list[int]:
        runs, threats = self._part_numbers()
        return sorted(runs & threats)

    def read(self) -> tuple[pa.Table, pa.Table]:
        """All rows written so far (consolidated files and complete parts), each run once:
        the first copy of a run (layout, run) wins."""
        run_paths = (
            [self.folder / "runs.parquet"] if (self.folder / "runs.parquet").exists() else []
        )
        thr_paths = [self.folder / "threats.parquet"]
        thr_paths = [p for p in thr_paths if p.exists()]
        for n in self._complete_parts():
            run_paths.append(self.parts / f"{n:06d}-runs.parquet")
            thr_paths.append(self.parts / f"{n:06d}-threats.parquet")
        runs = _concat_runs([pq.read_table(p) for p in run_paths])
        thr_tabs = [pq.read_table(p, schema=THREAT_SCHEMA) for p in thr_paths]
        threats = pa.concat_tables(thr_tabs) if thr_tabs else THREAT_SCHEMA.empty_table()
        return _dedupe(runs, threats)

    def finished(self) -> set[tuple[str, int]]:
        """(layout, run) of every finished run, ok or failed."""
        runs, _ = self.read()
        return set(
            zip(runs.column("layout").to_pylist(), runs.column("run").to_pylist(), strict=True)
        )

    def consolidate(self) -> tuple[pa.Table, pa.Table]:
        """Write runs.parquet and threats.parquet with every row, sorted; then remove the
        parts they contain. Returns the two tables."""
        runs, threats = self.read()
        runs = runs.sort_by([("layout", "ascending"), ("run", "ascending")])
        threats = threats.sort_by(
            [("layout", "ascending"), ("run", "ascending"), ("threat_index", "ascending")]
        )
        included = self._complete_parts()
        # threats first: runs.parquet is what marks runs finished
        _write_table(self.folder / "threats.parquet", threats)
        _write_table(self.folder / "runs.parquet", runs)
        for n in included:
            (self.parts / f"{n:06d}-runs.parquet").unlink(missing_ok=True)
            (self.parts / f"{n:06d}-threats.parquet").unlink(missing_ok=True)
        # orphan threat parts (their runs part never landed) belong to no finished run
        _, thr = self._part_numbers()
        for n in thr:
            if not (self.parts / f"{n:06d}-runs.parquet").exists():
                (self.parts / f"{n:06d}-threats.parquet").unlink(missing_ok=True)
        return runs, threats


def _dedupe(runs: pa.Table, threats: pa.Table) -> tuple[pa.Table, pa.Table]:
    keys = list(zip(runs.column("layout").to_pylist(), runs.column("run").to_pylist(), strict=True))
    seen: set = set()
    keep = []
    for i, k in enumerate(keys):
        if k not in seen:
            seen.add(k)
            keep.append(i)
    if len(keep) != len(keys):
        runs = runs.take(keep)
    tk = list(
        zip(
            threats.column("layout").to_pylist(),
            threats.column("run").to_pylist(),
            threats.column("threat_index").to_pylist(),
            strict=True,
        )
    )
    seen_t: set = set()
    keep_t = []
    for i, k in enumerate(tk):
        if k[:2] in seen and k not in seen_t:
            seen_t.add(k)
            keep_t.append(i)
    if len(keep_t) != len(tk):
        threats = threats.take(keep_t)
    return runs, threats
