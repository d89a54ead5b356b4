"""The interactive map's data (opencram.analysis.report.webmap), without a browser: it
survives being inlined in a <script> element whatever the names hold, and carries each
site layer with its source; a scenario's layers are read back from its own files."""

from __future__ import annotations

import json

from opencram.analysis.report.webmap import map_data, map_json, site_layers
from opencram.interop.runview import RunView
from opencram.scenario.layers import LayerShapes
from opencram.scenario.load import load

RIVER = LayerShapes(
    name="River </script><!-- & co",
    kind="water",
    source="OpenStreetMap contributors (ODbL)",
    polygons=(((33.30, 44.39), (33.30, 44.40), (33.31, 44.40), (33.30, 44.39)),),
    lines=(),
)


def _view() -> RunView:
    scenario = load("green-zone").scenario
    return RunView(scenario, {"threats": [], "end_time_s": 12.5}, (), {})


def test_map_json_cannot_close_its_script_element_and_round_trips():
    data = map_data(_view(), (RIVER,))
    text = map_json(data)
    assert "</" not in text and "<!--" not in text and "&" not in text
    back = json.loads(text)
    assert back == json.loads(json.dumps(data))
    (layer,) = back["layers"]
    assert layer["name"] == RIVER.name and layer["source"] == RIVER.source
    assert layer["polygons"] == [[list(p) for p in RIVER.polygons[0]]]
    assert back["end_s"] == 12.5 and back["site"]["ll"] == [33.307577, 44.390259]


def test_site_layers_are_read_from_the_scenarios_own_folder(tmp_path):
    river = {
        "type": "Polygon",
        "coordinates": [[[44.39, 33.30], [44.40, 33.30], [44.40, 33.31], [44.39, 33.30]]],
    }
    (tmp_path / "river.geojson").write_text(json.dumps(river))
    doc = (
        "name: l\nsite: {lat: 33.3076, lon: 44.3903, alt_m: 34}\n"
        "layers:\n  - {name: R, kind: water, geojson: river.geojson, source: drawn}\n"
        "threats:\n  - type: mortar-82mm\n    launch: {lat: 33.28, lon: 44.40}\n"
        "    aim: {lat: 33.30, lon: 44.396}\n"
    )
    (tmp_path / "s.yaml").write_text(doc)
    loaded = load(str(tmp_path / "s.yaml"))
    (layer,) = site_layers(loaded.scenario, loaded.source)
    assert layer == loaded.layers[0]
    assert layer.polygons[0][0] == (33.30, 44.39)
    assert (
        site_layers(load("green-zone").scenario, "builtin:green-zone") == load("green-zone").layers
    )
