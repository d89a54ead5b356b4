"""Site layers (issue 16 point 2): a scenario's GeoJSON layers are read when it is loaded,
with one-line errors naming the field and line for a bad file."""

from __future__ import annotations

import json

import pytest

from opencram.errors import UserError
from opencram.scenario.load import load

SCENARIO = """\
name: layers
site: {lat: 33.3076, lon: 44.3903, alt_m: 34}
layers:
  - name: Tigris
    kind: water
    geojson: river.geojson
    source: drawn for this test
  - name: Roads
    kind: road
    geojson: roads.geojson
threats:
  - type: mortar-82mm
    launch: {lat: 33.28, lon: 44.40}
    aim: {lat: 33.30, lon: 44.396}
"""

RIVER = {
    "type": "FeatureCollection",
    "features": [
        {
            "type": "Feature",
            "properties": {"name": "Tigris"},
            "geometry": {
                "type": "Polygon",
                "coordinates": [[[44.39, 33.30], [44.40, 33.30], [44.40, 33.31], [44.39, 33.30]]],
            },
        },
        {"type": "Feature", "properties": {}, "geometry": {"type": "Point", "coordinates": [1, 2]}},
    ],
}
ROADS = {
    "type": "MultiLineString",
    "coordinates": [
        [[44.38, 33.29], [44.39, 33.30]],
        [[44.40, 33.31], [44.41, 33.32], [44.42, 33.32]],
    ],
}


def write(tmp_path, river=RIVER, roads=ROADS):
    (tmp_path / "s.yaml").write_text(SCENARIO)
    (tmp_path / "river.geojson").write_text(json.dumps(river))
    (tmp_path / "roads.geojson").write_text(json.dumps(roads) if isinstance(roads, dict) else roads)
    return str(tmp_path / "s.yaml")


def test_layers_are_read_as_lat_lon_shapes(tmp_path):
    loaded = load(write(tmp_path))
    river, roads = loaded.layers
    assert (river.name, river.kind, river.source) == ("Tigris", "water", "drawn for this test")
    # GeoJSON's [lon, lat] become (lat, lon); the point feature is ignored
    assert river.polygons == (((33.30, 44.39), (33.30, 44.40), (33.31, 44.40), (33.30, 44.39)),)
    assert river.lines == ()
    assert roads.lines[1] == ((33.31, 44.40), (33.32, 44.41), (33.32, 44.42))
    assert roads.polygons == ()


@pytest.mark.parametrize(
    ("roads", "message"),
    [
        ("{not json", "not valid GeoJSON"),
        (json.dumps({"type": "Point", "coordinates": [1, 2]}), "no polygon or line"),
        (json.dumps({"type": "LineString", "coordinates": [[44.0, 33.0]]}), "malformed"),
        (json.dumps({"type": "LineString", "coordinates": [[44.0, 95.0], [44, 33]]}), "malformed"),
        (json.dumps({"type": "LineString", "coordinates": [[True, 33.0], [44, 33]]}), "malformed"),
    ],
)
def test_bad_layer_files_are_one_line_errors_naming_the_field_and_line(tmp_path, roads, message):
    path = write(tmp_path, roads=roads)
    with pytest.raises(UserError) as exc:
        load(path)
    (problem,) = exc.value.problems
    assert problem.startswith(f"{path}:10: layers[1].geojson: ")
    assert message in problem


def test_an_unknown_layer_kind_is_refused(tmp_path):
    path = write(tmp_path)
    (tmp_path / "s.yaml").write_text(SCENARIO.replace("kind: road", "kind: motorway"))
    with pytest.raises(UserError) as exc:
        load(path)
    assert "layers[1].kind" in exc.value.problems[0]
