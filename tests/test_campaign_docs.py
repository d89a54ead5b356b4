"""The campaign tables as documented (issue 16 point 7): every Parquet column carries a
description, docs/campaigns.md's column tables list exactly the columns of a real
campaign's files (name, type and description), the varied inputs are typed columns, and
the worked DuckDB and pandas examples of the docs run on that campaign and agree.

The store's typing of varied inputs is also checked on hand-made rows, including parts
that typed one input differently."""

from __future__ import annotations

import contextlib
import io
import json
import re
import shutil
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml

from opencram.campaign.runner import run_campaign
from opencram.campaign.store import DESCRIPTION, VARY_PREFIX, Store
from opencram.scenario.load import builtin_dir, builtin_text

DOCS = Path(__file__).resolve().parents[1] / "docs" / "campaigns.md"
WIND = "environment.wind.speed_mps"
KIND_WORDS = {"string": "text", "int64": "integer", "double": "float", "bool": "boolean"}


def _kind(t: pa.DataType) -> str:
    """A column type in the words of the docs' tables."""
    return f"list of {_kind(t.value_type)}" if pa.types.is_list(t) else KIND_WORDS[str(t)]


@pytest.fixture(scope="module")
def campaign(tmp_path_factory):
    """Three runs of green-zone (without its helicopter, 45 s on a 0.1 s clock, so a run
    takes about a second) varying the wind, in ``campaigns/gz`` under a fresh folder."""
    root = tmp_path_factory.mktemp("docs-campaign")
    data = yaml.safe_load(builtin_text("green-zone"))
    data.pop("aircraft")
    data["simulation"]["duration_s"] = 45
    data["simulation"]["dt_s"] = 0.1
    scenario = root / "quick.yaml"
    scenario.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    shutil.copy(builtin_dir() / "green-zone-tigris.geojson", root)  # its site layer
    run_campaign(
        str(scenario),
        3,
        varies=(f"{WIND}=uniform(0,10)",),
        out_dir=root / "campaigns" / "gz",
        executor="inline",
        report=False,
    )
    return root


def _docs_table(heading: str) -> list[tuple[str, str, str]]:
    """(column, type, description) rows of the table after the line ``heading``."""
    text = DOCS.read_text(encoding="utf-8")
    after = text[text.index(heading) + len(heading) :]
    rows = []
    for line in after.lstrip("\n").splitlines():
        if not line.startswith("|"):
            break
        cells = [c.strip() for c in line.strip("|").split("|")]
        if cells[0] != "column" and not set(cells[0]) <= {"-"}:
            rows.append((cells[0].strip("`"), cells[1], cells[2]))
    return rows


def _described(schema: pa.Schema) -> list[tuple[str, str, str]]:
    return [
        (f.name, _kind(f.type), (f.metadata or {}).get(DESCRIPTION, b"").decode()) for f in schema
    ]


def test_every_parquet_column_has_a_description(campaign):
    for name in ("runs.parquet", "threats.parquet"):
        schema = pq.read_schema(campaign / "campaigns" / "gz" / name)
        missing = [n for n, _, d in _described(schema) if not d.strip()]
        assert not missing, f"{name}: no description for {missing}"


def test_docs_tables_list_exactly_the_parquet_columns(campaign):
    folder = campaign / "campaigns" / "gz"
    runs = _described(pq.read_schema(folder / "runs.parquet"))
    fixed = [r for r in runs if not r[0].startswith(VARY_PREFIX)]
    assert _docs_table("`runs.parquet`, one row per run:") == fixed
    threats = _described(pq.read_schema(folder / "threats.parquet"))
    assert _docs_table("`threats.parquet`, one row per run and threat:") == threats
    ((pattern, _, text),) = _docs_table("(one column per list element for a `[*]` key):")
    varied = [r for r in runs if r[0].startswith(VARY_PREFIX)]
    assert pattern == "vary.PATH" and varied == [
        (f"vary.{WIND}", "float", text.replace("PATH", WIND))
    ]


def test_varied_input_is_a_typed_column_equal_to_the_drawn_value(campaign):
    runs = pq.read_table(campaign / "campaigns" / "gz" / "runs.parquet")
    assert runs.schema.field(f"vary.{WIND}").type == pa.float64()
    drawn = [json.loads(v)[WIND] for v in runs.column("variant").to_pylist()]
    assert runs.column(f"vary.{WIND}").to_pylist() == drawn
    assert len(set(drawn)) == 3 and all(0 <= w <= 10 for w in drawn)


def _examples() -> list[str]:
    text = DOCS.read_text(encoding="utf-8")
    part = text[text.index("## Columns") : text.index("## Interrupting and resuming")]
    return re.findall(r"```python\n(.*?)```", part, re.S)


def test_docs_examples_run_on_a_campaign_and_agree(campaign, monkeypatch):
    monkeypatch.chdir(campaign)
    blocks = _examples()
    assert len(blocks) == 3  # the description, DuckDB, pandas
    env: dict = {}
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        for code in blocks:
            exec(compile(code, str(DOCS), "exec"), env)
    assert "impact_err_m_20s - horizontal distance (m)" in out.getvalue()
    sql, pd_ = env["by_wind_sql"], env["by_wind_pandas"]
    assert list(sql.columns) == list(pd_.columns)
    assert len(sql) >= 1 and len(sql) == len(pd_)
    for col in sql.columns:
        assert np.allclose(sql[col].to_numpy(float), pd_[col].to_numpy(float), equal_nan=True)
    threats = pq.read_table(campaign / "campaigns" / "gz" / "threats.parquet")
    assert int(sql["threats"].sum()) == threats.num_rows == 3 * 2  # three runs, two rockets


def _result(run: int, variant: dict) -> dict:
    row = {"layout": "base", "run": run, "seed": run, "status": "ok", "error": None}
    return {"run": {**row, "variant": json.dumps(variant)}, "threats": []}


def test_varied_columns_are_typed_and_parts_that_differ_are_unified(tmp_path):
    store = Store(tmp_path / "c")
    store.open({"vary": ["hand-made"]})
    store.write_part(
        [
            _result(0, {"a.x": 1.5, "a.n": 3, "a.b": True, "a.s": "ekf", "a.m": 1}),
            _result(1, {"a.x": 2.5, "a.n": 4, "a.b": False, "a.s": "imm", "a.m": 2}),
        ]
    )
    part = pq.read_schema(next((tmp_path / "c" / "parts").glob("*-runs.parquet")))
    kinds = {f.name: f.type for f in part if f.name.startswith(VARY_PREFIX)}
    assert kinds == {
        "vary.a.b": pa.bool_(),
        "vary.a.m": pa.int64(),
        "vary.a.n": pa.int64(),
        "vary.a.s": pa.string(),
        "vary.a.x": pa.float64(),
    }
    # a later part drew a fraction for a.m and lacks a.b (its key resolved to nothing)
    store.write_part([_result(2, {"a.x": 0.5, "a.n": 5, "a.s": "ekf", "a.m": 2.5})])
    runs, _ = store.consolidate()
    assert runs.schema.field("vary.a.m").type == pa.float64()
    assert runs.column("vary.a.m").to_pylist() == [1.0, 2.0, 2.5]
    assert runs.column("vary.a.b").to_pylist() == [True, False, None]
    assert runs.column("vary.a.n").to_pylist() == [3, 4, 5]
    on_disk = pq.read_schema(tmp_path / "c" / "runs.parquet")
    assert on_disk.field("vary.a.m").metadata[DESCRIPTION] == b"the value drawn for `a.m` (--vary)"


def test_threat_rows_carry_the_own_track_warning_beside_the_zones(campaign):
    """rocket-2's zone alert is raised by rocket-1's track before rocket-2 is seen, so in
    every run its own-track warning is shorter than the zone's and no longer than the time
    from its first radar plot to its impact."""
    t = pq.read_table(campaign / "campaigns" / "gz" / "threats.parquet").to_pylist()
    rocket2 = [r for r in t if r["threat_id"] == "rocket-2"]
    assert len(rocket2) == 3
    for r in rocket2:
        assert len(r["own_track_warning_times_s"]) == len(r["warning_zones"]) >= 1
        assert r["own_track_warning_s"] == min(r["own_track_warning_times_s"])
        seen_for = r["impact_time_s"] - r["first_plot_s"]
        assert r["own_track_warning_s"] <= seen_for < r["warning_s"]


def test_campaign_summary_gives_both_warning_distributions():
    from opencram.campaign.summary import warning_times

    rows = pa.table(
        {
            "warning_times_s": [[20.0], [25.0, 3.0], [], [30.0]],
            "own_track_warning_times_s": [[18.0], [21.0, None], [], [26.0]],
        }
    )
    got = warning_times(rows, missed=2)
    zone, own = got["warning_time_s"], got["own_track_warning_time_s"]
    assert (zone["n"], zone["median"], zone["missed_warnings"]) == (4, 22.5, 2)
    assert (own["n"], own["median"], own["min"], own["not_by_own_track"]) == (3, 21.0, 18.0, 1)
