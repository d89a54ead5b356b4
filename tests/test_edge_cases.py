"""Runs a user may well try: an empty scenario, radars with nothing to see, a threat with no
zones, fire on angles with a friendly aircraft. Each must write a full run folder."""

import json
import textwrap

import pytest

from opencram.analysis.runfolder import execute

CASES = {
    "nothing": """
        name: nothing
        site: {lat: 33.3, lon: 44.4}
    """,
    "radar-no-threat": """
        name: radar-no-threat
        site: {lat: 33.3, lon: 44.4}
        sensors: [{id: r, lat: 33.3, lon: 44.4, false_alarm_rate_per_scan: 2}]
        simulation: {duration_s: 20}
    """,
    "threat-no-zone": """
        name: threat-no-zone
        site: {lat: 33.3, lon: 44.4}
        sensors: [{id: r, lat: 33.3, lon: 44.4}]
        threats: [{type: mortar-82mm, launch: {lat: 33.28, lon: 44.4},
                   aim: {lat: 33.3, lon: 44.401}}]
    """,
    "angles-and-aircraft": """
        name: angles-and-aircraft
        site: {lat: 33.3, lon: 44.4}
        threats: [{type: mortar-82mm, launch: {lat: 33.28, lon: 44.4}, azimuth_deg: 10,
                   quadrant_elevation_deg: 60, salvo: {count: 2, interval_s: 1}}]
        aircraft: [{id: h, waypoints: [{lat: 33.3, lon: 44.4}, {lat: 33.31, lon: 44.41}]}]
    """,
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_unusual_scenarios_write_a_full_run_folder(name, tmp_path):
    path = tmp_path / f"{name}.yaml"
    path.write_text(textwrap.dedent(CASES[name]))
    res = execute(str(path), tmp_path / "run", on_progress=None)
    summary = json.loads((res.folder / "summary.json").read_text())
    assert summary["scenario"] == name
    html = (res.folder / "report.html").read_text()
    assert html.startswith("<!DOCTYPE html>") and "</html>" in html
    assert (res.folder / "events.jsonl").read_text().count("\n") >= 2
