"""``opencram track`` on recorded plot files, and its output against the JSON Schema."""

import json
from pathlib import Path

import jsonschema
import pytest

from opencram.analysis.runfolder import execute

SCHEMA = json.loads(
    (Path(__file__).parent.parent / "docs" / "track-output.schema.json").read_text()
)


@pytest.fixture(scope="module")
def run_folder(tmp_path_factory):
    return execute("mortar-barrage", tmp_path_factory.mktemp("mb") / "run", on_progress=None).folder


def test_run_folder_tracks_json_follows_the_schema(run_folder):
    doc = json.loads((run_folder / "tracks.json").read_text())
    jsonschema.validate(doc, SCHEMA)
    assert len(doc["tracks"]) == 6
    assert {t["class"] for t in doc["tracks"]} == {"mortar"}
    assert all(len(t["updates"]) == t["n_updates"] for t in doc["tracks"])
    # every update of a mortar track carries an impact and an origin with 95 % ellipses
    last = [t["updates"][-1] for t in doc["tracks"]]
    assert all(u["impact"] and u["origin"] for u in last)
    # rounds followed down near the ground (not shot down high up) have tight ellipses
    low = [u for u in last if u["alt_m"] < 500.0]
    assert len(low) >= 3
    assert all(u["impact"]["ellipse95"]["semi_major_m"] < 30 for u in low)
    # class probabilities on the track and on every update, summing to 1
    for t in doc["tracks"]:
        assert abs(sum(t["class_prob"].values()) - 1.0) < 1e-3
        assert max(t["class_prob"], key=t["class_prob"].get) == t["class"]
        for u in t["updates"]:
            assert abs(sum(u["class_prob"].values()) - 1.0) < 1e-3
            assert (u["impact"] is not None) or u["ballistic_prob"] <= 0.05 or u["alt_m"] < 50
    assert all(u["origin"]["time_s"] < u["time_s"] < u["impact"]["time_s"] for u in last)


def test_track_command_on_the_run_plots(cli, run_folder, tmp_path):
    out = tmp_path / "t.json"
    r = cli(
        "track",
        str(run_folder / "plots.csv"),
        "--sensors",
        str(run_folder / "sensors.yaml"),
        "--out",
        str(out),
    )
    assert r.returncode == 0, r.stderr
    assert "6 confirmed tracks (6 mortar)" in r.stdout
    doc = json.loads(out.read_text())
    jsonschema.validate(doc, SCHEMA)
    assert all(len(t["updates"]) == 1 for t in doc["tracks"])  # no --history: last only
    r = cli(
        "track",
        str(run_folder / "plots.csv"),
        "--sensors",
        str(run_folder / "sensors.yaml"),
        "--out",
        str(out),
        "--history",
        "--filter",
        "ekf",
    )
    assert r.returncode == 0, r.stderr
    doc = json.loads(out.read_text())
    assert doc["filter"] == "ekf" and all(len(t["updates"]) > 20 for t in doc["tracks"])
    r = cli(
        "track",
        str(run_folder / "plots.csv"),
        "--sensors",
        str(run_folder / "sensors.yaml"),
        "--out",
        str(out),
        "--filter",
        "ekf",
        "--association",
        "jpda",
    )
    assert r.returncode == 0, r.stderr
    doc = json.loads(out.read_text())
    jsonschema.validate(doc, SCHEMA)
    assert doc["association"] == "jpda" and len(doc["tracks"]) == 6
    r = cli(
        "track",
        str(run_folder / "plots.csv"),
        "--sensors",
        str(run_folder / "sensors.yaml"),
        "--out",
        str(out),
        "--association",
        "jpda",
    )
    assert (
        r.returncode == 2
        and r.stderr.strip() == "error: --association jpda: works with --filter ekf"
    )


def test_track_command_bad_rows(cli, run_folder, tmp_path):
    lines = (run_folder / "plots.csv").read_text().splitlines()
    lines.insert(5, "12.0,lcmr-embassy,1000,not-a-number,10,,")
    lines.insert(9, "13.0,no-such-radar,1000,10,10,,")
    bad = tmp_path / "bad.csv"
    bad.write_text("\n".join(lines) + "\n")
    out = tmp_path / "t.json"
    r = cli("track", str(bad), "--sensors", str(run_folder / "sensors.yaml"), "--out", str(out))
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert r.stderr.startswith(f"error: {bad}:6: azimuth_deg: 'not-a-number' is not a number")
    assert not out.exists()
    r = cli(
        "track",
        str(bad),
        "--sensors",
        str(run_folder / "sensors.yaml"),
        "--out",
        str(out),
        "--skip-bad",
    )
    assert r.returncode == 0 and "2 bad rows skipped" in r.stdout
    assert json.loads(out.read_text())["input"]["bad_rows_skipped"] == 2
