"""Campaigns: rows and summary checked with DuckDB, failed runs recorded, a real SIGKILL
mid-campaign then resume, layouts with common random numbers, and user errors."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import numpy as np
import pyarrow.parquet as pq
import pytest
import yaml

from opencram.campaign.runner import run_campaign
from opencram.campaign.store import Store
from opencram.errors import UserError
from opencram.scenario.load import builtin_dir, builtin_text

VARY = ("threats[*].launch.lat=+normal(0,0.002)", "environment.wind.speed_mps=uniform(0,8)")


def quick_scenario(folder: Path) -> Path:
    """green-zone without the helicopter (a run ends once the rockets are down) and with a
    coarser clock, so a run takes about a second."""
    data = yaml.safe_load(builtin_text("green-zone"))
    data.pop("aircraft")
    data["simulation"]["duration_s"] = 45
    data["simulation"]["dt_s"] = 0.1
    path = Path(folder) / "quick.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    shutil.copy(builtin_dir() / "green-zone-tigris.geojson", folder)  # its site layer
    return path


def rows_without_timing(table) -> list[dict]:
    """Rows of a runs or threats table minus the measured CPU time, sorted."""
    rows = table.to_pylist()
    for r in rows:
        r.pop("cpu_s", None)
    return sorted(rows, key=lambda r: (r["layout"], r["run"], r.get("threat_index", -1)))


@pytest.fixture(scope="module")
def quick(tmp_path_factory):
    return quick_scenario(tmp_path_factory.mktemp("scn"))


@pytest.fixture(scope="module")
def small(quick, tmp_path_factory):
    out = tmp_path_factory.mktemp("camp") / "c"
    res = run_campaign(str(quick), 3, varies=VARY, out_dir=out, executor="inline", on_progress=None)
    return res


def test_rows_and_summary_against_duckdb(small):
    f = small.folder
    con = duckdb.connect()
    threats = f"'{f / 'threats.parquet'}'"
    runs = f"'{f / 'runs.parquet'}'"
    n, n_runs = con.execute(f"select count(*), count(distinct run) from {threats}").fetchone()
    assert (n, n_runs) == (6, 3)  # one row per run and threat
    assert con.execute(f"select count(*) from {runs} where status = 'ok'").fetchone() == (3,)
    # leakers per salvo from the threat rows equal the run rows and the summary
    per_run = con.execute(
        f"select run, sum(leaked_protected::int) from {threats} group by run order by run"
    ).fetchall()
    run_rows = con.execute(f"select run, leakers_protected from {runs} order by run").fetchall()
    assert per_run == run_rows
    s = small.summary["layouts"]["base"]
    assert s["leakers_per_salvo"]["mean"] == pytest.approx(np.mean([v for _, v in per_run]))
    k = con.execute(f"select count(*) from {threats} where outcome = 'intercepted'").fetchone()[0]
    assert s["p_intercept_all"]["k"] == k and s["p_intercept_all"]["n"] == 6
    # P(intercept) is over the engaged threats: those a burst was fired at
    k_eng, n_eng = con.execute(
        f"select count(*) filter (where outcome = 'intercepted'), count(*) from {threats} "
        "where rounds_fired > 0"
    ).fetchone()
    assert s["engaged"] == n_eng and 0 < n_eng < 6  # green-zone: rocket-2 is never engaged
    assert s["p_intercept_engaged"]["k"] == k_eng == k and s["p_intercept_engaged"]["n"] == n_eng
    med = con.execute(
        f"select quantile_cont(w, 0.5), count(*) from "
        f"(select unnest(warning_times_s) as w from {threats})"
    ).fetchone()
    assert s["warning_time_s"]["n"] == med[1]
    if med[1]:
        assert s["warning_time_s"]["median"] == pytest.approx(med[0], abs=1e-3)
        lo, hi = s["warning_time_s"]["median_ci95"]
        assert lo <= s["warning_time_s"]["median"] <= hi
    fa = con.execute(f"select avg(false_alerts) from {runs}").fetchone()[0]
    assert s["false_alerts"]["per_run"] == pytest.approx(fa, abs=1e-4)
    rounds = con.execute(f"select sum(rounds_fired), sum(bursts) from {threats}").fetchone()
    assert s["ammunition"]["rounds_total"] == rounds[0]
    if rounds[1]:
        assert s["ammunition"]["rounds_per_burst"] == pytest.approx(rounds[0] / rounds[1], 0.01)
    # the drawn variation is recorded per run, and it moved the launch points
    variants = [json.loads(v) for (v,) in con.execute(f"select variant from {runs}").fetchall()]
    assert all("environment.wind.speed_mps" in v for v in variants)
    lats = con.execute(f"select distinct launch_lat from {threats}").fetchall()
    assert len(lats) == 6
    # a Wilson interval holds its estimate
    p = s["p_intercept_engaged"]
    assert p["ci95"][0] <= p["p"] <= p["ci95"][1]
    html = (f / "report.html").read_text()
    assert html.count("data:image/png;base64,") == 6 and "Layouts ranked" in html
    assert json.loads((f / "summary.json").read_text()) == small.summary


def test_failed_run_is_recorded_and_the_campaign_goes_on(quick, tmp_path):
    opt = "environment.wind.speed_mps=choice(-1,3)"  # -1 fails the schema
    # find a campaign seed whose first 3 runs mix failures and successes
    seed = next(
        s
        for s in range(100)
        if len({int(np.random.default_rng([s, r, 0]).integers(2)) for r in range(3)}) == 2
    )
    fails = [int(np.random.default_rng([seed, r, 0]).integers(2)) == 0 for r in range(3)]
    res = run_campaign(
        str(quick), 3, varies=[opt], out_dir=tmp_path / "c", seed=seed, executor="inline",
        on_progress=None, report=False,
    )  # fmt: skip
    runs = pq.read_table(tmp_path / "c" / "runs.parquet").to_pylist()
    threats = pq.read_table(tmp_path / "c" / "threats.parquet").to_pylist()
    assert [r["status"] == "failed" for r in runs] == fails
    for r in runs:
        assert r["seed"] == seed + r["run"]
        if r["status"] == "failed":
            assert "speed_mps" in r["error"] and "0 or more" in r["error"]
            assert not [t for t in threats if t["run"] == r["run"]]
        else:
            assert r["error"] is None
            assert len([t for t in threats if t["run"] == r["run"]]) == 2
    assert res.summary["layouts"]["base"]["runs"]["failed"] == sum(fails)
    assert {f["run"] for f in res.summary["layouts"]["base"]["failed_runs"]} == {
        i for i, f in enumerate(fails) if f
    }


def _finished_rows(folder: Path) -> dict[int, dict]:
    runs, _ = Store(folder).read()
    return {r["run"]: r for r in runs.to_pylist()}


def test_sigkill_mid_campaign_then_resume(quick, tmp_path):
    out = tmp_path / "camp"
    cmd = [
        sys.executable, "-m", "opencram", "campaign", str(quick), "--runs", "4",
        "--executor", "local", "--workers", "2", "--out", str(out), "-q",
        *[a for v in VARY for a in ("--vary", v)],
    ]  # fmt: skip
    proc = subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True
    )
    try:
        deadline = time.monotonic() + 240
        while not list((out / "parts").glob("*-runs.parquet")):
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "no part written"
            time.sleep(0.05)
    finally:
        # really kill it: the command and its worker processes, no chance to clean up
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    assert proc.returncode == -signal.SIGKILL
    before = _finished_rows(out)
    assert 0 < len(before) < 4, "the kill should land mid-campaign"
    assert not (out / "runs.parquet").exists()
    res = subprocess.run([a for a in cmd if a != "-q"], capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    k = len(before)
    assert f"{k} of 4 runs already finished, {4 - k} to run" in res.stdout
    assert f"ran {4 - k} runs ({k} already done)" in res.stdout
    runs = pq.read_table(out / "runs.parquet").to_pylist()
    threats = pq.read_table(out / "threats.parquet").to_pylist()
    assert [r["run"] for r in runs] == [0, 1, 2, 3]  # none lost, none twice
    assert all(r["status"] == "ok" for r in runs)
    # the layout line: P(intercept) over the engaged threats, the pooled share labelled
    n_eng = sum(t["rounds_fired"] > 0 for t in threats)
    n_icp = sum(t["outcome"] == "intercepted" for t in threats)
    assert f"of {n_eng} engaged (pooled over all threats {n_icp}/{len(threats)} = " in res.stdout
    keys = [(t["run"], t["threat_index"]) for t in threats]
    assert sorted(keys) == [(r, i) for r in range(4) for i in range(2)]
    # runs finished before the kill were not run again: their rows, CPU time included,
    # are the ones written then
    for r in runs:
        if r["run"] in before:
            assert r == before[r["run"]]
    assert not list((out / "parts").glob("*.parquet"))
    # and a run done after the resume equals the same run done in this process
    from opencram.campaign.vary import parse_vary
    from opencram.campaign.worker import Task, run_task
    from opencram.scenario.load import load

    loaded = load(str(quick))
    last = next(r for r in range(4) if r not in before)
    task = Task(
        loaded.scenario.model_dump(mode="json"), str(loaded.base_dir), loaded.source, "base",
        {}, tuple(parse_vary(v) for v in VARY), 7, last,
    )  # fmt: skip
    mine = run_task(task)
    got = [t for t in threats if t["run"] == last]
    assert len(got) == len(mine["threats"])
    for g, m in zip(got, mine["threats"], strict=True):
        assert {k: v for k, v in g.items() if v != m[k]} == {}


def test_layouts_use_common_random_numbers_and_are_ranked(quick, tmp_path):
    lay = tmp_path / "layouts.yaml"
    lay.write_text("as-deployed: {}\nno-guns:\n  weapons: []\n", encoding="utf-8")
    res = run_campaign(
        str(quick), 2, varies=VARY, layouts_file=lay, out_dir=tmp_path / "c",
        executor="inline", on_progress=None, report=False,
    )  # fmt: skip
    t = pq.read_table(tmp_path / "c" / "threats.parquet").to_pylist()
    a = {(r["run"], r["threat_index"]): r for r in t if r["layout"] == "as-deployed"}
    b = {(r["run"], r["threat_index"]): r for r in t if r["layout"] == "no-guns"}
    assert set(a) == set(b) and len(a) == 4
    for k in a:  # same seeds: same launches, same undisturbed flights, same first plot
        for col in ("seed", "launch_lat", "threatened_zone", "first_plot_s"):
            assert a[k][col] == b[k][col], col
        assert b[k]["outcome"] != "intercepted" and b[k]["rounds_fired"] == 0
        assert b[k]["leaked_protected"] == b[k]["threatened_protected"]
    la = [sum(a[(r, i)]["leaked_protected"] for i in range(2)) for r in range(2)]
    lb = [sum(b[(r, i)]["leaked_protected"] for i in range(2)) for r in range(2)]
    assert all(x <= y for x, y in zip(la, lb, strict=True))
    rank = res.summary["ranking"]
    assert {r["layout"] for r in rank} == {"as-deployed", "no-guns"}
    if sum(lb) > sum(la):
        assert rank[0]["layout"] == "as-deployed"
        assert rank[1]["vs_best"]["mean_extra_leakers_per_salvo"] == pytest.approx(
            (sum(lb) - sum(la)) / 2
        )


def test_layouts_file_errors(quick, tmp_path):
    lay = tmp_path / "layouts.yaml"
    lay.write_text("a: {}\nb:\n  weapons[3].lat: 33.3\n", encoding="utf-8")
    with pytest.raises(UserError) as exc:
        run_campaign(str(quick), 1, layouts_file=lay, out_dir=tmp_path / "c", on_progress=None)
    assert exc.value.problems == (f"{lay}:3: b: weapons[3]: index out of range (2 items)",)
    lay.write_text("a:\n  weapons[0].lat: 300\n", encoding="utf-8")
    with pytest.raises(
        UserError, match=r"layouts.yaml:1: a: weapons\[0\].lat: must be between -90 and 90$"
    ):
        run_campaign(str(quick), 1, layouts_file=lay, out_dir=tmp_path / "c", on_progress=None)
    with pytest.raises(UserError, match=r"--layouts .*nope\.yaml: file not found"):
        run_campaign(str(quick), 1, layouts_file=tmp_path / "nope.yaml", on_progress=None)


def test_cli_user_errors(quick, tmp_path, cli):
    r = cli("campaign", str(quick), "--runs", "2", "--vary", "threats[0].lat=normal(0,1)")
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert r.stderr.strip().splitlines() == [
        "error: --vary threats[0].lat: threats[0].lat: no such field; known: aim, "
        "azimuth_deg, charge, dispersion, id, launch, quadrant_elevation_deg, salvo, speed_mps, "
        "time_s, type, waypoints"
    ]
    r = cli("campaign", str(quick), "--executor", "dask")
    assert r.returncode == 2 and "--executor dask: must be one of local, ray, inline" in r.stderr
    # a folder holding another campaign is not overwritten
    out = tmp_path / "c"
    out.mkdir()
    (out / "campaign.json").write_text(json.dumps({"format": 1, "seed": 99}))
    r = cli("campaign", str(quick), "--runs", "1", "--out", str(out))
    assert r.returncode == 2
    assert "holds a campaign with other settings" in r.stderr and "Traceback" not in r.stderr


def test_an_address_where_no_ray_cluster_answers_fails_fast(quick, tmp_path, cli):
    """``ray.init`` retries an unreachable address for minutes; the command checks the
    port first and says so in one line."""
    import socket

    with socket.socket() as s:  # a free port on loopback, closed again: nothing listens
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    r = cli(
        "campaign", str(quick), "--runs", "1", "--executor", "ray",
        "--address", f"127.0.0.1:{port}", "--out", str(tmp_path / "c"),
    )  # fmt: skip
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert r.stderr.strip().splitlines() == [
        f"error: --address 127.0.0.1:{port}: no Ray cluster answers there (Connection refused)"
    ]
