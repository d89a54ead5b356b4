"""``opencram run``: the run folder, determinism, and the command line's error handling."""

import json
import re

import numpy as np
import yaml

from opencram.analysis.runfolder import execute
from opencram.analysis.summary import build_summary
from opencram.c2.engine import run
from opencram.c2.events import parse_event
from opencram.c2.world import compile_world
from opencram.cli.run import threat_line
from opencram.scenario.load import builtin_dir, builtin_text, parse


def test_green_zone_run_folder(tmp_path):
    res = execute("green-zone", tmp_path / "gz", on_progress=None)
    folder = res.folder
    for name in ("summary.json", "events.jsonl", "report.html", "scenario.yaml"):
        assert (folder / name).stat().st_size > 0
    summary = json.loads((folder / "summary.json").read_text())
    assert summary["scenario"] == "green-zone" and summary["seed"] == 7
    threats = {t["id"]: t for t in summary["threats"]}
    assert set(threats) == {"rocket-1", "rocket-2"}
    for t in threats.values():
        assert t["launch"]["lat"] and t["launch"]["time_s"] >= 0
    # the reported event: one rocket destroyed in the air over the zone, the other not
    # engaged, landing near the monument outside every protected zone
    r1, r2 = threats["rocket-1"], threats["rocket-2"]
    assert r1["outcome"] == "intercepted" and r1["impact"] is None
    assert r1["intercept"]["alt_m"] > 100 and r1["intercept"]["gun"].startswith("lpws")
    assert r2["outcome"] == "not_engaged" and r2["impact"] is not None
    assert "outside the protected zones" in r2["not_engaged_reason"]
    protected = {z["name"]: z for z in summary["zones"] if z["kind"] == "protected"}
    assert not set(r2["zones"]) & set(protected)
    assert r2["zones"] == ["International Zone"]
    # the terminal line names the zone's kind: International Zone is a warning zone
    kinds = {z["name"]: z["kind"] for z in summary["zones"]}
    assert kinds["International Zone"] == "warning"
    line = threat_line(r2, kinds)
    assert line.endswith(": lands in warning zone International Zone") and "->" not in line
    # one landed, one destroyed in the air: nothing is still flying at the end
    assert summary["totals"] == {
        "threats": 2,
        "impacts": 1,
        "intercepted": 1,
        "in_flight_at_end": 0,
        "impacts_in_protected_zones": 0,
    }
    html = (folder / "report.html").read_text()
    assert "<h2>Engagements</h2>" in html and "intercepted" in html


def test_events_are_typed_and_in_time_order(tmp_path):
    res = execute("mortar-barrage", tmp_path / "mb", on_progress=None)
    lines = (res.folder / "events.jsonl").read_text().splitlines()
    events = [parse_event(line) for line in lines]
    times = [e.t_s for e in events]
    assert times == sorted(times)
    kinds = [e.kind for e in events]
    assert kinds[0] == "run_started" and kinds[-1] == "run_finished"
    killed = sum(1 for e in events if e.kind == "engagement_result" and e.killed)
    assert kinds.count("launch") == 6 and kinds.count("impact") + killed == 6
    assert "truth" in kinds and "engagement" in kinds


def test_same_seed_gives_byte_identical_summary(tmp_path):
    # drone-attack: the quickest built-in with engagements (grad-salvo's seeded outputs are
    # pinned by tests/test_same_outputs.py)
    a = execute("drone-attack", tmp_path / "a", on_progress=None)
    b = execute("drone-attack", tmp_path / "b", on_progress=None)
    c = execute("drone-attack", tmp_path / "c", seed=99, on_progress=None)
    sa = (a.folder / "summary.json").read_bytes()
    assert sa == (b.folder / "summary.json").read_bytes()
    assert sa != (c.folder / "summary.json").read_bytes()
    assert (a.folder / "events.jsonl").read_bytes() == (b.folder / "events.jsonl").read_bytes()


def test_report_is_self_contained(tmp_path):
    res = execute("drone-attack", tmp_path / "d", on_progress=None)
    html = (res.folder / "report.html").read_text()
    # map, timeline, engagements, collateral map, alerts, trade-off, GOSPA, altitude
    assert html.count("data:image/png;base64,") == 8
    assert not re.search(r"""(src|href)=["']https?:""", html)
    assert "drone-1" in html and "Altitude over time" in html and "GOSPA over time" in html


def test_cli_run_and_scenario_commands(cli, tmp_path):
    r = cli("run", "mortar-barrage", "--out", str(tmp_path / "m"), "--seed", "4")
    assert r.returncode == 0, r.stderr
    assert "intercepted t=" in r.stdout and "impact t=" in r.stdout
    assert json.loads((tmp_path / "m" / "summary.json").read_text())["seed"] == 4
    r = cli("scenario", "list")
    assert r.returncode == 0 and "green-zone" in r.stdout and "grad-salvo" in r.stdout
    r = cli("scenario", "show", "green-zone")
    assert r.returncode == 0 and r.stdout.startswith("# The reported event")
    r = cli("scenario", "validate", "drone-attack")
    assert r.returncode == 0 and "valid" in r.stdout


def test_cli_user_errors_are_one_line_exit_2(cli, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "name: x\nsite: {lat: 33.3, lon: 44.4}\nthreats:\n  - type: mortar-82mm\n"
        "    launch: {lat: 33.3, lon: 44.4}\n    aim: {lat: 33.31, lon: 44.4}\n"
        "  - type: mortar-82mm\n    launch: {lat: 95.0, lon: 44.4}\n"
        "    aim: {lat: 33.31, lon: 44.4}\n"
    )
    r = cli("scenario", "validate", str(bad))
    assert r.returncode == 2
    assert r.stderr.strip() == f"error: {bad}:8: threats[1].launch.lat: must be between -90 and 90"
    r = cli("run", "green-zon")
    assert r.returncode == 2 and "did you mean 'green-zone'" in r.stderr
    assert "Traceback" not in r.stderr
    r = cli("scenario", "validate", str(tmp_path / "missing.yaml"))
    assert r.returncode == 2 and "file not found" in r.stderr and "Traceback" not in r.stderr
    r = cli("run", "--seed", "-3")
    assert r.returncode == 2 and "Traceback" not in r.stderr


def test_live_event_stream_equals_the_event_log(cli, tmp_path):
    r = cli("run", "mortar-barrage", "--out", str(tmp_path / "m"), "--stream", "-")
    assert r.returncode == 0, r.stderr
    assert r.stdout == (tmp_path / "m" / "events.jsonl").read_text()
    kinds = {parse_event(line).kind for line in r.stdout.splitlines()}
    assert {"track", "impact_predicted", "respond", "zone_alert"} <= kinds


def test_in_flight_at_end_counts_only_rounds_still_flying():
    """Green-zone cut at 28 s: rocket-1 was destroyed at 22 s, rocket-2 (truth: lands at
    34 s) is still flying. The authority is the truth trajectory's impact time."""
    doc = yaml.safe_load(builtin_text("green-zone"))
    doc["simulation"]["duration_s"] = 28.0
    result = run(compile_world(parse(yaml.safe_dump(doc), "green-zone-28s", builtin_dir())))
    summary = build_summary(result)
    flying = [
        r.id
        for r, t_imp, t_kill in zip(
            result.world.truth.rounds,
            result.world.truth.impact_times(),
            result.kills_s,
            strict=True,
        )
        if t_imp > result.end_s and not np.isfinite(t_kill)
    ]
    assert flying == ["rocket-2"]
    tot = summary["totals"]
    assert tot["in_flight_at_end"] == len(flying) == 1
    assert tot["intercepted"] == 1 and tot["impacts"] == 0
