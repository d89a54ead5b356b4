"""Hostile scenario, sensors and zone files (issue 17, points 4 and 6): each is refused
with one-line UserError problems naming the file, line and field, never a traceback. The
expected limits are the named constants of opencram.scenario.schema and opencram.yamlio
(regression guards of the rule "reject, do not crash"); the YAML behaviour they guard
(aliases share nodes, the 4,300-digit int limit) is PyYAML's and CPython's own."""

import subprocess
import sys

import pytest
import yaml

from opencram.c2.world import compile_world
from opencram.errors import UserError
from opencram.scenario.load import builtin_dir, builtin_text, parse
from opencram.sense.plots import read_sensors_yaml

BASE = yaml.safe_load(builtin_text("green-zone"))


def _problems(data_or_text) -> list[str]:
    text = data_or_text if isinstance(data_or_text, str) else yaml.safe_dump(data_or_text)
    with pytest.raises(UserError) as exc:
        compile_world(parse(text, "s.yaml", builtin_dir()))
    return list(exc.value.problems)


def _with(path, value):
    d = yaml.safe_load(builtin_text("green-zone"))
    cur = d
    for p in path[:-1]:
        cur = cur[p]
    cur[path[-1]] = value
    return d


CASES = [
    (("sensors", 0, "sigma_range_m"), float("inf"), "must be a finite number"),
    (("weapons", 0, "rate_rpm"), float("inf"), "must be a finite number"),
    (("threats", 0, "time_s"), float("inf"), "must be a finite number"),
    (("threats", 0, "time_s"), 1e308, "must be at most 36000"),
    (("threats", 0, "salvo"), {"count": 2, "interval_s": float("inf")}, "finite"),
    (("weapons", 0, "ammo_rounds"), 10**23, "must be between 1 and 1000000"),
    (("sensors", 0, "false_alarm_rate_per_scan"), 1e9, "must be at most 1000"),
    (("sensors", 0, "false_alarm_rate_per_scan"), float("inf"), "finite"),
    (("sensors", 0, "reference_snr_db"), float("nan"), "must be a finite number"),
    (("sensors", 0, "lat"), True, "must be a number, not true or false"),
    (("sensors", 0, "sigma_range_m"), 1e-300, "must be between 0.001 and 10000"),
]


@pytest.mark.parametrize(("path", "value", "message"), CASES)
def test_listed_values_are_refused_in_one_line(path, value, message):
    (line,) = _problems(_with(path, value))
    assert line.startswith("s.yaml:") and message in line


def test_ten_aliased_threats_of_a_big_salvo_are_refused():
    text = (
        "name: t\nsite: {lat: 33.3, lon: 44.4}\n"
        "t: &t {type: rocket-107mm, launch: {lat: 33.26, lon: 44.40},"
        " aim: {lat: 33.30, lon: 44.396}, salvo: {count: 10000}}\n"
    )
    text = text.replace("t: &t", "threats:\n  - &t") + "".join("  - *t\n" for _ in range(9))
    out = _problems(text)
    assert out and all(p.startswith("s.yaml:") for p in out)
    assert any("must be between 1 and 1000" in p for p in out)


def test_total_rounds_and_ticks_are_bounded():
    d = _with(("threats", 0, "salvo"), {"count": 600})
    d["threats"][1]["salvo"] = {"count": 600}
    assert any("1,200 rounds in all" in p for p in _problems(d))
    d = _with(("simulation",), {"dt_s": 0.001, "duration_s": 36000})
    assert any("ticks; the limit is 720,000" in p for p in _problems(d))


def test_billion_laughs_is_refused_quickly():
    text = "name: t\nsite: {lat: 1, lon: 1}\na: &a [x,x,x,x,x,x,x,x,x,x]\n" + "".join(
        f"{c}: &{c} [{', '.join(['*' + p] * 10)}]\n"
        for p, c in zip("abcdefgh", "bcdefghi", strict=True)
    )
    (line,) = _problems(text)
    assert "more than 1,000,000 values with aliases expanded" in line


def test_deep_nesting_duplicate_keys_and_a_huge_integer():
    (line,) = _problems("name: t\nsite: " + "[" * 10_000 + "]" * 10_000)
    assert line.startswith("s.yaml:2:") and "nested deeper than 32 levels" in line
    (line,) = _problems("name: t\nsite: {lat: 1, lon: 1}\nname: u\n")
    assert line == "s.yaml:3: name: duplicate key (first on line 1)"
    (line,) = _problems("name: t\nsite: {lat: 1, lon: " + "9" * 5000 + "}\n")
    assert line.startswith("s.yaml:2:") and "integer too long" in line


def test_geojson_from_dev_zero_is_refused(tmp_path):
    zone = "{name: z, kind: warning, geojson: /dev/zero}"
    text = f"name: t\nsite: {{lat: 33.3, lon: 44.4}}\nzones: [{zone}]\n"
    (line,) = _problems(text)
    assert "zones[0].geojson" in line and "not a regular file" in line


def test_sensors_file_through_opencram_track(tmp_path):
    plots = tmp_path / "p.csv"
    plots.write_text("time_s,sensor,range_m,azimuth_deg,elevation_deg\n1.0,r,1000,10,5\n")
    for bad, msg in ((".inf", "must be a finite number"), ("1e-300", "between 0.001")):
        s = tmp_path / "s.yaml"
        s.write_text(
            "sensors:\n  - {id: r, lat: 33.3, lon: 44.4, alt_m: 34, sigma_range_m: "
            f"{bad}, sigma_azimuth_mrad: 2, sigma_elevation_mrad: 2}}\n"
        )
        with pytest.raises(UserError):
            read_sensors_yaml(s)
        r = subprocess.run(
            [
                sys.executable,
                "-m",
                "opencram",
                "track",
                str(plots),
                "--sensors",
                str(s),
                "--out",
                str(tmp_path / "t.json"),
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        assert r.returncode == 2 and "Traceback" not in r.stderr
        (line,) = r.stderr.strip().splitlines()
        assert f"{s}:2: sensors[0].sigma_range_m:" in line and msg in line
