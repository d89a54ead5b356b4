"""The ``--vary KEY=DISTRIBUTION`` parser and its application to the scenario data; draws
checked against numpy's generator called directly with the documented seeds."""

from __future__ import annotations

import copy

import numpy as np
import pytest

from opencram.campaign.vary import (
    apply_overrides,
    apply_varies,
    check_varies,
    parse_distribution,
    parse_path,
    parse_vary,
)
from opencram.errors import UserError
from opencram.scenario.load import load


@pytest.fixture(scope="module")
def base():
    return load("green-zone").scenario.model_dump(mode="json")


def test_paths():
    assert parse_path("threats[0].launch.lat") == ("threats", 0, "launch", "lat")
    assert parse_path("threats[*].salvo.count") == ("threats", "*", "salvo", "count")
    assert parse_path("environment.wind.speed_mps") == ("environment", "wind", "speed_mps")
    for bad in ("", "threats[x].lat", "a..b", "threats[0]lat"):
        with pytest.raises(ValueError):
            parse_path(bad)


def test_distributions():
    d = parse_distribution("normal(33.25, 0.002)")
    assert (d.name, d.params, d.relative) == ("normal", (33.25, 0.002), False)
    assert parse_distribution("+uniform(-1,1)").relative
    assert parse_distribution("choice(1,2,4)").params == (1, 2, 4)
    assert parse_distribution("choice(rocket-107mm, 'rocket-122mm')").params == (
        "rocket-107mm",
        "rocket-122mm",
    )
    assert parse_distribution("4.5").params == (4.5,)
    assert parse_distribution("const(3)").params == (3,)
    for bad, why in (
        ("gauss(0,1)", "unknown distribution"),
        ("normal(1)", "takes 2 values"),
        ("uniform(3,1)", "LOW must not exceed HIGH"),
        ("normal(0,-1)", "standard deviation"),
        ("uniform(a,1)", "not a finite number"),
        ("triangular(0,5,1)", "LOW <= MODE <= HIGH"),
        ("+choice(a,b)", "must be numbers"),
        ("randint(0,2.5)", "integers"),
    ):
        with pytest.raises(ValueError, match=why):
            parse_distribution(bad)


def test_draws_follow_the_documented_seeds(base):
    vs = [
        parse_vary("environment.wind.speed_mps=uniform(0,10)"),
        parse_vary("threats[*].launch.lat=+normal(0,0.002)"),
        parse_vary("threats[*].salvo.count=choice(1,2,4)"),
    ]
    data = copy.deepcopy(base)
    drawn = apply_varies(data, vs, 7, 3)
    # option k draws from default_rng([seed, run, k]); [*] draws once per element
    wind = np.random.default_rng([7, 3, 0]).uniform(0, 10)
    g = np.random.default_rng([7, 3, 1])
    lat = [base["threats"][i]["launch"]["lat"] + g.normal(0, 0.002) for i in range(2)]
    g = np.random.default_rng([7, 3, 2])
    count = [(1, 2, 4)[int(g.integers(3))] for _ in range(2)]
    assert data["environment"]["wind"]["speed_mps"] == pytest.approx(wind, abs=1e-9)
    assert [t["launch"]["lat"] for t in data["threats"]] == pytest.approx(lat, abs=1e-9)
    assert [t["salvo"]["count"] for t in data["threats"]] == count
    assert drawn["threats[1].salvo.count"] == count[1]
    assert set(drawn) == {
        "environment.wind.speed_mps",
        "threats[0].launch.lat",
        "threats[1].launch.lat",
        "threats[0].salvo.count",
        "threats[1].salvo.count",
    }
    # same seed and run: same values; another run: others
    again = copy.deepcopy(base)
    assert apply_varies(again, vs, 7, 3) == drawn
    other = copy.deepcopy(base)
    assert apply_varies(other, vs, 7, 4) != drawn
    # common random numbers: an option's draws do not depend on the other options
    alone = copy.deepcopy(base)
    apply_varies(alone, [vs[1], vs[0]], 7, 3)
    assert alone["environment"]["wind"]["speed_mps"] != data["environment"]["wind"]["speed_mps"]
    alone = copy.deepcopy(base)
    apply_varies(alone, [vs[0]], 7, 3)
    assert alone["environment"]["wind"]["speed_mps"] == data["environment"]["wind"]["speed_mps"]


def test_bad_options_are_one_line_errors(base):
    cases = [
        ("threats[0].launch.latt=normal(0,1)", "threats[0].launch.latt: no such field; known:"),
        ("threats[5].launch.lat=normal(0,1)", "threats[5]: index out of range (2 items)"),
        ("threats[0].salvo=choice(1,2)", "threats[0].salvo is a section; vary one of its"),
        ("environment.wind_layers[0].speed_mps=1", "environment.wind_layers is not set"),
        ("threats[0].type=+normal(0,1)", "is 'rocket-107mm', not a number to add to"),
        ("zones[*].namez=x", "zones[0].namez: no such field"),
    ]
    for opt, msg in cases:
        with pytest.raises(UserError) as exc:
            check_varies(base, [parse_vary(opt)])
        (line,) = exc.value.problems
        assert line.startswith(f"--vary {opt.split('=')[0]}: ")
        assert msg in line
    with pytest.raises(UserError, match="expected KEY=DISTRIBUTION"):
        parse_vary("threats[0].launch.lat")
    with pytest.raises(UserError, match=r"--vary x=nope\(1\): unknown distribution"):
        parse_vary("x=nope(1)")


def test_overrides_set_values_and_sections(base):
    data = copy.deepcopy(base)
    apply_overrides(data, {"weapons[*].lat": 33.31, "sensors": []}, "layouts.yaml: a")
    assert [w["lat"] for w in data["weapons"]] == [33.31, 33.31]
    assert data["sensors"] == []
    with pytest.raises(UserError, match=r"^layouts.yaml: a: weapons\[2\]: index out of range"):
        apply_overrides(data, {"weapons[2].lat": 1.0}, "layouts.yaml: a")
