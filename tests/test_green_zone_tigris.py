"""The green-zone site's Tigris layer: an impact in the river is an outcome (issue 18 point
5, issue 16 point 2), and a run folder carries the layer with it.

The mid-river point is the 14th of July Bridge's published coordinate (33 deg 17' 44" N,
44 deg 24' 0" E, German Wikipedia; docs/sources/site-and-systems.md [71]): a bridge's
infobox point lies on the river it crosses. The land point is the Monument to the Unknown
Soldier's (section 2.1), inland on the Karkh bank. Neither comes from the layer's file.
"""

from __future__ import annotations

import json
import shutil

import pytest
import yaml

from opencram.analysis.runfolder import execute
from opencram.analysis.summary import build_summary
from opencram.c2.engine import run
from opencram.c2.world import compile_world
from opencram.cli.run import threat_line
from opencram.console.session import Session
from opencram.scenario.load import builtin_dir, load, parse

BRIDGE_14_JULY = (33.0 + 17 / 60 + 44 / 3600, 44.0 + 24 / 60)
UNKNOWN_SOLDIER = (33.30859, 44.38920)
DORA = (33.25139, 44.39194)


def _two_rockets_scenario() -> str:
    """Two 107 mm rockets from Dora without dispersion, one at each point; no sensors or
    guns, so both land where they were aimed."""
    layer = builtin_dir() / "green-zone-tigris.geojson"
    doc = {
        "name": "tigris-outcome",
        "site": {"lat": 33.307577, "lon": 44.390259, "alt_m": 34.0},
        "layers": [{"name": "Tigris", "kind": "water", "geojson": str(layer)}],
        "threats": [
            {
                "id": "into-river",
                "type": "rocket-107mm",
                "launch": {"lat": DORA[0], "lon": DORA[1]},
                "aim": {"lat": BRIDGE_14_JULY[0], "lon": BRIDGE_14_JULY[1]},
                "time_s": 1.0,
            },
            {
                "id": "on-land",
                "type": "rocket-107mm",
                "launch": {"lat": DORA[0], "lon": DORA[1]},
                "aim": {"lat": UNKNOWN_SOLDIER[0], "lon": UNKNOWN_SOLDIER[1]},
                "time_s": 2.0,
            },
        ],
        "simulation": {"dt_s": 0.05, "duration_s": 90, "seed": 1},
    }
    return yaml.safe_dump(doc, sort_keys=False)


def test_a_round_aimed_mid_river_lands_in_the_tigris_and_one_aimed_at_land_does_not():
    loaded = parse(_two_rockets_scenario(), "tigris-outcome")
    summary = build_summary(run(compile_world(loaded)), loaded.layers)
    by_id = {t["id"]: t for t in summary["threats"]}
    river, land = by_id["into-river"]["impact"], by_id["on-land"]["impact"]
    # both landed close to their aim: the outcome is about the point, not a stray round
    assert river["miss_from_aim_m"] < 30 and land["miss_from_aim_m"] < 30
    assert river["water"] == "Tigris"
    assert land["water"] is None
    assert threat_line(by_id["into-river"], {}).endswith("lands in the Tigris")
    assert threat_line(by_id["on-land"], {}).endswith("lands on open ground")


def test_without_a_water_layer_an_impact_carries_no_water_field():
    doc = yaml.safe_load(_two_rockets_scenario())
    doc["layers"][0]["kind"] = "other"
    loaded = parse(yaml.safe_dump(doc), "tigris-as-other")
    summary = build_summary(run(compile_world(loaded)), loaded.layers)
    assert all("water" not in t["impact"] for t in summary["threats"])


@pytest.fixture(scope="module")
def green_zone_folder(tmp_path_factory):
    """A green-zone run folder, moved away from where it was written (so nothing can be
    read from the package through a path left behind)."""
    written = execute("green-zone", tmp_path_factory.mktemp("w") / "gz", on_progress=None)
    moved = tmp_path_factory.mktemp("m") / "gz"
    shutil.move(str(written.folder), moved)
    return moved, written.summary


def test_the_run_folder_holds_the_layer_file_and_names_it(green_zone_folder):
    folder, summary = green_zone_folder
    doc = yaml.safe_load((folder / "scenario.yaml").read_text())
    (layer,) = doc["layers"]
    assert layer["geojson"] == "layers/00-green-zone-tigris.geojson"
    original = (builtin_dir() / "green-zone-tigris.geojson").read_bytes()
    assert (folder / layer["geojson"]).read_bytes() == original
    reread = load(str(folder / "scenario.yaml"))
    assert [(x.name, x.kind) for x in reread.layers] == [("Tigris", "water")]
    # every landed round of the run says whether it fell in the river
    assert all("water" in t["impact"] for t in summary["threats"] if t["impact"])


def test_export_and_replay_read_the_green_zone_folder_with_its_layer(green_zone_folder, cli):
    folder, _ = green_zone_folder
    out = folder.parent / "run.geojson"
    r = cli("export", str(folder), "--format", "geojson", "--out", str(out))
    assert r.returncode == 0, r.stderr
    assert json.loads(out.read_text())["type"] == "FeatureCollection"
    session = Session.replay(folder, paused=True)
    assert session.end_s > 0
