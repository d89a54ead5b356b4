"""The scenario format: valid files load, and every problem in a bad file is reported as one
line naming the file, line and field path."""

import json
import textwrap

import pytest
import yaml

from opencram.c2.world import compile_world
from opencram.errors import UserError
from opencram.scenario.load import builtin_names, builtin_text, load, parse

BASE = """
name: t
site: {lat: 33.3, lon: 44.4, alt_m: 34}
zones:
  - name: embassy
    kind: protected
    polygon: [[33.299, 44.395], [33.299, 44.397], [33.301, 44.397], [33.301, 44.395]]
threats:
  - type: rocket-107mm
    launch: {lat: 33.26, lon: 44.40}
    aim: {lat: 33.30, lon: 44.396}
  - type: mortar-82mm
    launch: {lat: 33.28, lon: 44.40}
    aim: {lat: 33.30, lon: 44.396}
"""


def problems(text: str, base_dir=None) -> list[str]:
    with pytest.raises(UserError) as exc:
        loaded = parse(textwrap.dedent(text), "s.yaml", base_dir)
        compile_world(loaded)
    return list(exc.value.problems)


def test_builtins_are_the_four_required_and_all_compile():
    assert {"green-zone", "mortar-barrage", "grad-salvo", "drone-attack"} <= set(builtin_names())
    for name in builtin_names():
        world = compile_world(load(name))
        assert world.truth.rounds


def test_builtin_counts_match_their_descriptions():
    def n_rounds(name):
        return len(compile_world(load(name)).truth.rounds)

    assert n_rounds("mortar-barrage") == 6
    assert n_rounds("grad-salvo") == 20
    assert n_rounds("drone-attack") == 2
    gz = load("green-zone").scenario
    assert [t.type for t in gz.threats] == ["rocket-107mm", "rocket-107mm"]
    kinds = {z.kind for z in gz.zones}
    assert {"protected", "warning"} <= kinds and gz.weapons and gz.sensors
    assert any("Unknown Soldier" in z.name for z in gz.zones if z.kind == "protected")


def test_latitude_out_of_range_names_the_field_path_and_line():
    text = BASE.replace("launch: {lat: 33.28, lon: 44.40}", "launch: {lat: 133.28, lon: 44.40}")
    (line,) = problems(text)
    assert line.startswith("s.yaml:13: ")
    assert line.endswith("threats[1].launch.lat: must be between -90 and 90")


def test_unknown_key_is_an_error_with_a_suggestion():
    text = BASE.replace(
        "    aim: {lat: 33.30, lon: 44.396}\n  - type: mortar",
        "    aimpoint: {lat: 33.30, lon: 44.396}\n  - type: mortar",
    )
    out = problems(text)
    assert any("threats[0].aimpoint: unknown key (did you mean 'aim'?)" in p for p in out)


def test_every_problem_is_reported_at_once():
    text = BASE.replace("kind: protected", "kind: protcted").replace("lon: 44.4,", "lon: 444.4,")
    out = problems(text)
    assert any(p.endswith("site.lon: must be between -180 and 180") for p in out)
    assert any("zones[0].kind: must be 'protected', 'warning' or 'no-fire'" in p for p in out)
    assert len(out) == 2


def test_missing_required_field():
    out = problems(BASE.replace("site: {lat: 33.3, lon: 44.4, alt_m: 34}\n", ""))
    assert out == ["s.yaml:2: site: required"] or any(p.endswith("site: required") for p in out)


def test_wrong_type_and_aim_or_angles():
    text = BASE.replace("alt_m: 34}", "alt_m: high}")
    assert any(p.endswith("site.alt_m: must be a number") for p in problems(text))
    text = BASE.replace(
        "    aim: {lat: 33.30, lon: 44.396}\n  - type: mortar",
        "    azimuth_deg: 10\n  - type: mortar",
    )
    assert any("threats[0]: give 'aim'" in p for p in problems(text))


def test_unknown_threat_type_suggests_the_closest():
    out = problems(BASE.replace("type: rocket-107mm", "type: rocket-107"))
    assert any(
        "threats[0].type: unknown threat type 'rocket-107' (did you mean 'rocket-107mm'?)" in p
        for p in out
    )


def test_aim_point_beyond_reach_is_reported_with_its_path():
    text = BASE.replace("launch: {lat: 33.28, lon: 44.40}", "launch: {lat: 33.20, lon: 44.40}")
    (line,) = problems(text)
    assert "threats[1].aim:" in line and "outside the reach of mortar-82mm" in line


def test_invalid_yaml_names_the_line():
    (line,) = problems("name: t\nsite: {lat: 1\n  lon: [\n")
    assert line.startswith("s.yaml:") and "invalid YAML" in line


def test_self_intersecting_polygon_is_rejected():
    bow = "[[33.299, 44.395], [33.301, 44.397], [33.299, 44.397], [33.301, 44.395]]"
    text = BASE.replace(
        "[[33.299, 44.395], [33.299, 44.397], [33.301, 44.397], [33.301, 44.395]]", bow
    )
    assert any("zones[0].polygon: invalid polygon" in p for p in problems(text))


def test_zone_from_geojson_file(tmp_path):
    gj = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": {},
                "geometry": {
                    "type": "Polygon",
                    "coordinates": [
                        [
                            [44.395, 33.299],
                            [44.397, 33.299],
                            [44.397, 33.301],
                            [44.395, 33.301],
                            [44.395, 33.299],
                        ]
                    ],
                },
            }
        ],
    }
    (tmp_path / "embassy.geojson").write_text(json.dumps(gj))
    text = BASE.replace(
        "    polygon: [[33.299, 44.395], [33.299, 44.397], [33.301, 44.397], [33.301, 44.395]]",
        "    geojson: embassy.geojson",
    )
    (tmp_path / "s.yaml").write_text(textwrap.dedent(text))
    world = compile_world(load(str(tmp_path / "s.yaml")))
    assert world.zones.zones_at(*world.frame.to_enu(33.300, 44.396, 34.0)[:2]) == ["embassy"]
    # the run folder carries its own copy of the zone file, so it reloads on its own
    from opencram.analysis.runfolder import portable_scenario

    folder = tmp_path / "run"
    doc = portable_scenario(load(str(tmp_path / "s.yaml")), folder)
    assert doc["zones"][0]["geojson"] == "zones/00-embassy.geojson"
    (folder / "scenario.yaml").write_text(yaml.safe_dump(doc))
    (tmp_path / "embassy.geojson").unlink()
    again = compile_world(load(str(folder / "scenario.yaml")))
    assert again.zones.zones_at(*again.frame.to_enu(33.300, 44.396, 34.0)[:2]) == ["embassy"]
    with pytest.raises(UserError) as exc:
        load(str(tmp_path / "s.yaml"))
    assert "zones[0].geojson: file not found" in exc.value.problems[0]


def test_show_text_round_trips():
    for name in builtin_names():
        data = yaml.safe_load(builtin_text(name))
        assert data["name"] == name


def test_salvo_ids_and_dispersion_are_seeded():
    text = BASE.replace(
        "    aim: {lat: 33.30, lon: 44.396}\n  - type: mortar",
        "    aim: {lat: 33.30, lon: 44.396}\n    salvo: {count: 3, interval_s: 2}\n"
        "    dispersion: {azimuth_mrad: 10, elevation_mrad: 10, velocity_pct: 1}\n  - type: mortar",
    )
    loaded = parse(textwrap.dedent(text), "s.yaml")
    a = compile_world(loaded, seed=1).truth
    b = compile_world(loaded, seed=1).truth
    c = compile_world(loaded, seed=2).truth
    assert [r.id for r in a.rounds][:3] == [
        "rocket-107mm-1-1",
        "rocket-107mm-1-2",
        "rocket-107mm-1-3",
    ]
    assert [r.launch_t_s for r in a.rounds][:3] == [0.0, 2.0, 4.0]
    assert (a.impact_points() == b.impact_points()).all()
    assert not (a.impact_points() == c.impact_points()).all()


def test_sensor_and_weapon_limits_must_be_in_order():
    text = (
        BASE
        + """sensors: [{id: r, lat: 33.3, lon: 44.4, range_min_m: 9000, range_max_m: 5000}]
weapons: [{id: g, lat: 33.3, lon: 44.4, min_elevation_deg: 80, max_elevation_deg: 10}]
"""
    )
    out = problems(text)
    assert any("sensors[0]: range_min_m must be less than range_max_m" in p for p in out)
    assert any(
        "weapons[0]: min_elevation_deg must be less than max_elevation_deg" in p for p in out
    )
