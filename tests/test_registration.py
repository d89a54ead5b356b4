"""Sensor registration (issue 13 point 4), the fast part: the simulated radars' systematic
errors against their written model, the correction against its inverse, the registration
file and the bias fields against their one-line errors, and the live service's hook.

The estimator against known truths (our own simulator, and the independent mismatch world)
is in tests/test_registration_worlds.py."""

from __future__ import annotations

import dataclasses
import subprocess
import sys

import numpy as np
import pytest
import yaml

from opencram.c2.world import compile_world
from opencram.errors import UserError
from opencram.geo import LocalFrame, unit_vector_from_az_el
from opencram.live.service import LiveService, ServeConfig
from opencram.scenario.load import builtin_dir, builtin_text, parse
from opencram.scenario.schema import Sensor
from opencram.sense.plots import SensorSpec, write_sensors_yaml
from opencram.sense.radar import RadarModel, biased_aer, scan
from opencram.track.registration import (
    Registration,
    SensorRegistration,
    combine,
    correct_plots,
    read_registration,
    write_registration,
)

FRAME = LocalFrame(33.3, 44.4, 34.0)
BIAS = {"bias_range_m": 12.0, "bias_az_rad": 6e-3, "bias_el_rad": -3e-3, "tilt_az_rad": -35e-3}


def _radar(**changes) -> RadarModel:
    sensor = Sensor(id="r1", lat=33.3, lon=44.4, sigma_range_rate_mps=None)
    return dataclasses.replace(RadarModel.from_schema(sensor, FRAME, 34.0), **changes)


def _targets(radar: RadarModel, n: int = 40) -> np.ndarray:
    az = np.linspace(0.1, 6.0, n)
    el = np.linspace(0.05, 1.3, n)  # tan(el) from 0.05 to 3.6: the tilt term varies
    return radar.pos_enu_m + 4000.0 * unit_vector_from_az_el(az, el)


def _scan(radar: RadarModel, pos: np.ndarray):
    def truth(t_s):
        return pos, np.zeros_like(pos), np.ones(len(pos), bool)

    return scan(radar, 0.0, truth, 10.0, np.arange(len(pos)), np.random.default_rng(7))


def test_biased_radar_differs_from_the_unbiased_by_exactly_the_error_model():
    """Same seed, same draws: the biased radar's plots are the unbiased ones plus
    b_r, b_az + a tan(el) and b_el (the model in sense.radar.biased_aer), so the biases
    draw no random number (built-in outputs keep their bytes)."""
    plain, biased = _radar(), _radar(**BIAS)
    pos = _targets(plain)
    p0, p1 = _scan(plain, pos), _scan(biased, pos)
    assert len(p0) == len(p1) == len(pos)
    d = p1.range_m - p0.range_m
    np.testing.assert_allclose(d, BIAS["bias_range_m"], atol=1e-9)
    np.testing.assert_allclose(p1.el_rad - p0.el_rad, BIAS["bias_el_rad"], atol=1e-12)
    true_el = np.arctan2(
        pos[:, 2] - plain.pos_enu_m[2], np.hypot(*(pos - plain.pos_enu_m)[:, :2].T)
    )
    want = BIAS["bias_az_rad"] + BIAS["tilt_az_rad"] * np.tan(true_el[p0.truth_id])
    got = np.mod(p1.az_rad - p0.az_rad + np.pi, 2 * np.pi) - np.pi
    np.testing.assert_allclose(got, want, atol=1e-12)


def test_zero_biases_give_the_plots_bit_for_bit():
    pos = _targets(_radar())
    p0, p1 = _scan(_radar(), pos), _scan(_radar(tilt_az_rad=0.0, bias_range_m=0.0), pos)
    for f in ("range_m", "az_rad", "el_rad", "time_s"):
        assert np.array_equal(getattr(p0, f), getattr(p1, f))


def test_correct_plots_inverts_the_error_model():
    """correct_plots(biased_aer(x)) = x: the one correction both opencram track and the
    live service apply takes the simulated errors out again."""
    radar = _radar(**BIAS)
    rng = np.random.default_rng(3)
    r, az, el = rng.uniform(500, 9000, 50), rng.uniform(0, 2 * np.pi, 50), rng.uniform(0, 1.4, 50)
    rb, azb, elb = biased_aer(radar, r, az, el)
    pos = radar.pos_enu_m + rb[:, None] * unit_vector_from_az_el(azb, elb)
    plots = _scan(_radar(sigma_range_m=1e-3, sigma_az_rad=1e-9, sigma_el_rad=1e-9), pos)
    table = np.array([[BIAS["bias_range_m"], BIAS["bias_az_rad"], BIAS["bias_el_rad"], -35e-3]])
    fixed = correct_plots(plots, table)
    k = plots.truth_id
    np.testing.assert_allclose(fixed.range_m, r[k], atol=0.01)
    np.testing.assert_allclose(fixed.el_rad, el[k], atol=1e-8)
    np.testing.assert_allclose(np.mod(fixed.az_rad - az[k] + 1, 2 * np.pi) - 1, 0.0, atol=1e-8)
    assert correct_plots(plots, np.zeros((1, 4))) is plots


def _scenario_problems(field: str, value) -> list[str]:
    d = yaml.safe_load(builtin_text("green-zone"))
    d["sensors"][0][field] = value
    with pytest.raises(UserError) as exc:
        compile_world(parse(yaml.safe_dump(d), "s.yaml", builtin_dir()))
    return list(exc.value.problems)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("tilt_azimuth_mrad", 500.0, "must be between -100 and 100"),
        ("bias_azimuth_mrad", float("nan"), "must be a finite number"),
        ("bias_range_m", 5000.0, "must be between -1000 and 1000"),
        ("bias_elevation_mrad", True, "must be a number, not true or false"),
    ],
)
def test_bias_fields_are_refused_in_one_line_naming_the_field(field, value, message):
    (line,) = _scenario_problems(field, value)
    assert line.startswith("s.yaml:") and f"sensors[0].{field}" in line and message in line


REG = Registration(
    (
        SensorRegistration(
            "r1",
            (1.5, 0.0, -0.25, -35.2),
            (0.3, 90.0, 0.2, 0.4),
            (True, False, True, True),
            4,
            1200,
        ),
        SensorRegistration(
            "r2", (-2.0, 6.0, 0.5, 0.1), (0.5, 0.4, 0.3, 0.6), (True, True, True, True), 4, 300
        ),
    ),
    "2026-12-02T04:00:00Z",
    {"plots_file": "plots.csv"},
)


def test_registration_file_round_trip(tmp_path):
    p = tmp_path / "reg.yaml"
    write_registration(p, REG)
    back = read_registration(p, ["r1", "r2", "r3"])
    assert back == REG
    b = back.biases_si(["r3", "r2"])  # in the caller's order; an unregistered sensor: 0
    np.testing.assert_allclose(b, [[0, 0, 0, 0], [-2.0, 6e-3, 0.5e-3, 0.1e-3]])


@pytest.mark.parametrize(
    ("edit", "want"),
    [
        (lambda d: d["sensors"][0].update(tilt_azimuth_mrad="x"), "sensors[0].tilt_azimuth_mrad"),
        (lambda d: d["sensors"][1].update(bias_range_m=1e9), "sensors[1].bias_range_m"),
        (lambda d: d["sensors"][0]["sigma"].update(bias_range_m=-1), "sensors[0].sigma"),
        (lambda d: d["sensors"][0].update(tilt=1), "sensors[0].tilt"),
        (lambda d: d.update(format="v2"), "format"),
        (lambda d: d["sensors"][1].update(id="nope"), "'nope' is not in the sensors file"),
        (lambda d: d["sensors"][1].update(id="r1"), "duplicate id 'r1'"),
    ],
)
def test_bad_registration_file_is_one_line_naming_the_field(tmp_path, edit, want):
    d = REG.as_dict()
    edit(d)
    p = tmp_path / "reg.yaml"
    p.write_text(yaml.safe_dump(d, sort_keys=False))
    with pytest.raises(UserError) as exc:
        read_registration(p, ["r1", "r2"])
    (line,) = exc.value.problems
    assert line.startswith(f"{p}:") and want in line


def test_opencram_track_refuses_a_bad_registration_file_in_one_line(tmp_path):
    spec = SensorSpec("r1", 33.3, 44.4, 34.0, 10.0, 2.0, 2.0)
    write_sensors_yaml(tmp_path / "s.yaml", [spec])
    (tmp_path / "p.csv").write_text("time_s,sensor,range_m,azimuth_deg,elevation_deg\n")
    (tmp_path / "r.yaml").write_text(f"format: {REG.as_dict()['format']}\nsensors: [{{id: r9}}]\n")
    cmd = [sys.executable, "-m", "opencram", "track", str(tmp_path / "p.csv"), "--sensors"]
    cmd += [str(tmp_path / "s.yaml"), "--out", str(tmp_path / "t.json"), "--registration"]
    run = subprocess.run([*cmd, str(tmp_path / "r.yaml")], capture_output=True, text=True)
    assert run.returncode == 2
    assert "Traceback" not in run.stderr
    assert "sensors[0].id: 'r9' is not in the sensors file" in run.stderr


def test_live_service_takes_the_registration_out_of_every_plot():
    """opencram serve --registration: a CSV plot comes out of the ingest corrected by the
    same function opencram track uses."""
    spec = SensorSpec("r1", 33.3, 44.4, 34.0, 10.0, 2.0, 2.0, scan_s=1.0)
    reg = Registration((SensorRegistration("r1", (10.0, 5.0, -2.0, -35.0)),))
    svc = LiveService([spec], config=ServeConfig(registration=reg))
    plain = LiveService([spec], config=ServeConfig())
    for s in (svc, plain):
        s.ingest.put_csv_line(b"1.0,r1,3000,40,30")
    got, raw = svc.ingest.drain(1.0), plain.ingest.drain(1.0)
    want = correct_plots(raw, reg.biases_si(["r1"]))
    assert got.range_m[0] == pytest.approx(2990.0)
    assert got.el_rad[0] == pytest.approx(np.radians(30) + 2e-3)
    np.testing.assert_array_equal(got.az_rad, want.az_rad)


def test_no_ballistic_track_writes_an_empty_registration_that_reads_back(tmp_path):
    """A recording without a usable round still gives a valid file: no correction."""
    spec = SensorSpec("r1", 33.3, 44.4, 34.0, 10.0, 2.0, 2.0)
    write_sensors_yaml(tmp_path / "s.yaml", [spec])
    (tmp_path / "p.csv").write_text("time_s,sensor,range_m,azimuth_deg,elevation_deg\n")
    cmd = [sys.executable, "-m", "opencram", "track", str(tmp_path / "p.csv"), "--sensors"]
    cmd += [str(tmp_path / "s.yaml"), "--out", str(tmp_path / "t.json")]
    cmd += ["--estimate-registration", str(tmp_path / "r.yaml")]
    run = subprocess.run(cmd, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert "no confirmed ballistic track" in run.stdout
    reg = read_registration(tmp_path / "r.yaml", ["r1"])
    assert reg.sensors == () and reg.created_utc
    assert not reg.biases_si(["r1"]).any()


def test_opencram_serve_refuses_a_bad_registration_file_before_listening(tmp_path):
    spec = SensorSpec("r1", 33.3, 44.4, 34.0, 10.0, 2.0, 2.0)
    write_sensors_yaml(tmp_path / "s.yaml", [spec])
    (tmp_path / "r.yaml").write_text(
        "format: opencram-registration 1\nsensors: [{id: r1, tilt_azimuth_mrad: 300}]\n"
    )
    cmd = [sys.executable, "-m", "opencram", "serve", "--sensors", str(tmp_path / "s.yaml")]
    cmd += ["--registration", str(tmp_path / "r.yaml"), "--duration", "0"]
    run = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    assert run.returncode == 2
    assert "Traceback" not in run.stderr
    assert "r.yaml:2: sensors[0].tilt_azimuth_mrad: must be between -100 and 100" in run.stderr


def test_estimating_on_corrected_plots_saves_the_sum():
    """--registration IN with --estimate-registration OUT: OUT holds IN's terms plus the
    residual ones found on the corrected plots (sigmas and counts: the residual's), and IN's
    sensors the residual did not see."""
    applied = Registration(
        (
            SensorRegistration("r1", (1.0, 0.0, 0.5, -30.0)),
            SensorRegistration("r3", (0.0, 2.0, 0.0, 0.0)),
        )
    )
    residual = Registration(
        (SensorRegistration("r1", (0.5, 0.0, -0.25, -4.0), (0.1, 9.0, 0.1, 0.2), tracks=3),),
        "2026-12-02T05:00:00Z",
    )
    out = combine(applied, residual)
    assert [s.id for s in out.sensors] == ["r1", "r3"]
    assert out.sensors[0].estimate == (1.5, 0.0, 0.25, -34.0)
    assert out.sensors[0].sigma == (0.1, 9.0, 0.1, 0.2) and out.sensors[0].tracks == 3
    assert out.sensors[1] == applied.sensors[1]
    assert out.created_utc == residual.created_utc
    assert combine(None, residual) is residual
