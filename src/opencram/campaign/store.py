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
FORMAT_VERSION = 1

RUN_SCHEMA = pa.schema(
    [
        ("layout", pa.string()),
        ("run", pa.int64()),
        ("seed", pa.int64()),
        ("status", pa.string()),
        ("error", pa.string()),
        ("variant", pa.string()),
        ("n_threats", pa.int64()),
        ("intercepted", pa.int64()),
        ("leakers_protected", pa.int64()),
        ("false_alerts", pa.int64()),
        ("missed_warnings", pa.int64()),
        ("alerts_raised", pa.int64()),
        ("rounds_fired", pa.int64()),
        ("bursts", pa.int64()),
        ("end_time_s", pa.float64()),
        ("cpu_s", pa.float64()),
    ]
)

_errs = []
for _lead in (*(f"{x:g}s" for x in LEADS_S), "first"):
    _errs += [(f"impact_err_m_{_lead}", pa.float64()), (f"origin_err_m_{_lead}", pa.float64())]

THREAT_SCHEMA = pa.schema(
    [
        ("layout", pa.string()),
        ("run", pa.int64()),
        ("seed", pa.int64()),
        ("threat_index", pa.int64()),
        ("threat_id", pa.string()),
        ("threat_type", pa.string()),
        ("category", pa.string()),
        ("launch_time_s", pa.float64()),
        ("launch_lat", pa.float64()),
        ("launch_lon", pa.float64()),
        ("outcome", pa.string()),
        ("not_engaged_reason", pa.string()),
        ("threatened_protected", pa.bool_()),
        ("threatened_zone", pa.string()),
        ("impact_time_s", pa.float64()),
        ("impact_lat", pa.float64()),
        ("impact_lon", pa.float64()),
        ("impact_zone", pa.string()),
        ("impact_zones", pa.list_(pa.string())),
        ("leaked_protected", pa.bool_()),
        ("leak_zone", pa.string()),
        ("first_plot_s", pa.float64()),
        ("first_confirmed_s", pa.float64()),
        ("warning_s", pa.float64()),
        ("warning_zones", pa.list_(pa.string())),
        ("warning_times_s", pa.list_(pa.float64())),
        ("missed_warning_zones", pa.list_(pa.string())),
        ("bursts", pa.int64()),
        ("rounds_fired", pa.int64()),
        ("intercept_time_s", pa.float64()),
        ("intercept_alt_m", pa.float64()),
        ("intercept_gun", pa.string()),
        *_errs,
    ]
)

_PART = re.compile(r"^(\d{6})-(runs|threats)\.parquet$")


def _table(rows: list[dict[str, Any]], schema: pa.Schema) -> pa.Table:
    cols = {f.name: [r.get(f.name) for r in rows] for f in schema}
    return pa.Table.from_pydict(cols, schema=schema)


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
        _write_table(
            self.parts / f"{n:06d}-runs.parquet", _table([r["run"] for r in results], RUN_SCHEMA)
        )

    def _complete_parts(self) -> list[int]:
        runs, threats = self._part_numbers()
        return sorted(runs & threats)

    def read(self) -> tuple[pa.Table, pa.Table]:
        """All rows written so far (consolidated files and complete parts), each run once:
        the first copy of a run (layout, run) wins."""
        run_tabs, thr_tabs = [], []
        for name, schema, out in (
            ("runs.parquet", RUN_SCHEMA, run_tabs),
            ("threats.parquet", THREAT_SCHEMA, thr_tabs),
        ):
            p = self.folder / name
            if p.exists():
                out.append(pq.read_table(p, schema=schema))
        for n in self._complete_parts():
            run_tabs.append(pq.read_table(self.parts / f"{n:06d}-runs.parquet", schema=RUN_SCHEMA))
            thr_tabs.append(
                pq.read_table(self.parts / f"{n:06d}-threats.parquet", schema=THREAT_SCHEMA)
            )
        runs = pa.concat_tables(run_tabs) if run_tabs else RUN_SCHEMA.empty_table()
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
