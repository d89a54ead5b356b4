"""Plot CSV and sensors YAML files (docs/interfaces.md): round trips, one-line errors naming
file, line and column, and the polar-to-ENU conversion against geo.LocalFrame.aer
(pymap3d)."""

import textwrap

import numpy as np
import pytest

from opencram.errors import UserError
from opencram.geo import LocalFrame
from opencram.scenario.load import parse
from opencram.sense.plots import (
    Plots,
    SensorSpec,
    plots_to_enu,
    read_plots_csv,
    read_sensors_yaml,
    sensor_positions_enu_m,
    sensor_specs_from_scenario,
    write_plots_csv,
    write_sensors_yaml,
)

IDS = ["lcmr-1", "lcmr-2"]


def sample_plots(n=50, seed=0, range_rate=True, snr=True) -> Plots:
    rng = np.random.default_rng(seed)
    t = np.sort(rng.uniform(0, 100, n))
    rr = rng.normal(0, 50, n) if range_rate else np.full(n, np.nan)
    s = rng.uniform(5, 40, n) if snr else np.full(n, np.nan)
    return Plots(
        time_s=t,
        sensor=rng.integers(0, 2, n),
        range_m=rng.uniform(300, 10_000, n),
        az_rad=rng.uniform(0, 2 * np.pi, n),
        el_rad=rng.uniform(-0.1, 1.5, n),
        range_rate_mps=rr,
        snr_db=s,
        arrival_s=t,
        truth_id=np.full(n, -1),
    )


def assert_same_plots(a: Plots, b: Plots) -> None:
    assert len(a) == len(b)
    np.testing.assert_allclose(b.time_s, a.time_s, atol=1e-6)
    np.testing.assert_array_equal(b.sensor, a.sensor)
    np.testing.assert_allclose(b.range_m, a.range_m, atol=1e-3)
    np.testing.assert_allclose(b.az_rad, a.az_rad, atol=1e-7)
    np.testing.assert_allclose(b.el_rad, a.el_rad, atol=1e-7)
    np.testing.assert_allclose(b.range_rate_mps, a.range_rate_mps, atol=1e-3)
    np.testing.assert_allclose(b.snr_db, a.snr_db, atol=0.01)


# --- Plots -------------------------------------------------------------------------------


def test_plots_concat_take_and_stable_sort():
    a, b = sample_plots(5, 1), sample_plots(3, 2)
    both = Plots.concat([a, b])
    assert len(both) == 8 and len(Plots.empty()) == 0 and len(Plots.concat([])) == 0
    np.testing.assert_array_equal(both.take(np.arange(5, 8)).range_m, b.range_m)
    s = both.sorted_by("time_s")
    assert np.all(np.diff(s.time_s) >= 0)
    same_time = Plots.concat([a.take([0]), b.take([0])])
    same_time = Plots(**{**same_time.__dict__, "time_s": np.zeros(2)})
    np.testing.assert_array_equal(same_time.sorted_by().range_m, same_time.range_m)
    assert both.sensor.dtype == np.int64 and both.truth_id.dtype == np.int64
    with pytest.raises(ValueError, match="entries"):
        Plots(**{**a.__dict__, "range_m": np.zeros(2)})


def test_plots_to_enu_inverts_local_frame_aer():
    frame = LocalFrame(33.3, 44.4, 34.0)
    sensors = np.array([[0.0, 0.0, 2.0], [400.0, -1000.0, 5.0]])
    rng = np.random.default_rng(4)
    points = rng.uniform([-8000, -8000, 0], [8000, 8000, 3000], (20, 3))
    which = np.arange(20) % 2
    az, el, r = frame.aer(points, sensors[which])
    n = len(points)
    plots = Plots(
        time_s=np.zeros(n),
        sensor=which,
        range_m=r,
        az_rad=az,
        el_rad=el,
        range_rate_mps=np.full(n, np.nan),
        snr_db=np.full(n, np.nan),
        arrival_s=np.zeros(n),
        truth_id=np.arange(n),
    )
    np.testing.assert_allclose(plots_to_enu(plots, sensors), points, atol=1e-6)


# --- plot CSV ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "range_rate, snr, header",
    [
        (True, True, "time_s,sensor,range_m,azimuth_deg,elevation_deg,range_rate_mps,snr_db"),
        (False, False, "time_s,sensor,range_m,azimuth_deg,elevation_deg"),
        (True, False, "time_s,sensor,range_m,azimuth_deg,elevation_deg,range_rate_mps"),
        (False, True, "time_s,sensor,range_m,azimuth_deg,elevation_deg,snr_db"),
    ],
)
def test_plot_csv_round_trip_with_and_without_optional_columns(tmp_path, range_rate, snr, header):
    plots = sample_plots(range_rate=range_rate, snr=snr)
    path = tmp_path / "plots.csv"
    write_plots_csv(path, plots, IDS)
    text = path.read_text()
    assert text.splitlines()[0] == header
    back, skipped = read_plots_csv(path, IDS)
    assert skipped == 0
    assert_same_plots(plots, back)
    assert np.all(back.truth_id == -1)
    write_plots_csv(tmp_path / "again.csv", back, IDS)
    assert (tmp_path / "again.csv").read_text() == text  # deterministic, fixed decimals


def test_plot_csv_empty_cells_are_absent_values_and_columns_may_come_in_any_order(tmp_path):
    path = tmp_path / "p.csv"
    path.write_text(
        "snr_db,sensor,time_s,elevation_deg,azimuth_deg,range_rate_mps,range_m\n"
        "20.5,lcmr-2,3.0,10,90,,1000\n"
        "\n"
        ",lcmr-1,1.0,5,360,-3.5,2000\n"
    )
    plots, skipped = read_plots_csv(path, IDS, latency_s=[0.5, 0.25])
    assert skipped == 0
    np.testing.assert_array_equal(plots.time_s, [1.0, 3.0])  # sorted by time
    np.testing.assert_array_equal(plots.sensor, [0, 1])
    np.testing.assert_array_equal(plots.arrival_s, [1.5, 3.25])
    np.testing.assert_allclose(plots.az_rad, [2 * np.pi, np.pi / 2])
    np.testing.assert_array_equal(plots.range_rate_mps, [-3.5, np.nan])
    np.testing.assert_array_equal(plots.snr_db, [np.nan, 20.5])


def test_plot_csv_sensor_ids_that_need_quoting_round_trip(tmp_path):
    ids = ["radar, north", 'the "big" one']
    plots = sample_plots(10)
    write_plots_csv(tmp_path / "q.csv", plots, ids)
    back, _ = read_plots_csv(tmp_path / "q.csv", ids)
    assert_same_plots(plots, back)


GOOD = "1.0,lcmr-1,1500.0,45.0,10.0,-20.0,18.0"
BAD_ROWS = [
    ("1.0,lcmr-1,1500.0,45.0,10.0,-20.0", "expected 7 columns (time_s,sensor,range_m,"),
    ("1.0,lcmr-1,1500.0,abc,10.0,-20.0,18.0", "azimuth_deg: 'abc' is not a number"),
    ("x1,lcmr-1,1500.0,45.0,10.0,-20.0,18.0", "time_s: 'x1' is not a number"),
    ("1.0,lcmr-1,nan,45.0,10.0,-20.0,18.0", "range_m: 'nan' is not a finite number"),
    ("1.0,lcmr-1,1500.0,45.0,10.0,inf,18.0", "range_rate_mps: 'inf' is not a finite number"),
    ("1.0,lcmr-9,1500.0,45.0,10.0,-20.0,18.0", "sensor: unknown sensor id 'lcmr-9' (known: "),
    ("1.0,lcmr-1,-5.0,45.0,10.0,-20.0,18.0", "range_m: '-5.0' is outside 0 to 1000000"),
    ("1.0,lcmr-1,1500.0,360.5,10.0,-20.0,18.0", "azimuth_deg: '360.5' is outside 0 to 360"),
    ("1.0,lcmr-1,1500.0,-0.1,10.0,-20.0,18.0", "azimuth_deg: '-0.1' is outside 0 to 360"),
    ("1.0,lcmr-1,1500.0,45.0,90.5,-20.0,18.0", "elevation_deg: '90.5' is outside -90 to 90"),
    ("1.0,lcmr-1,,45.0,10.0,-20.0,18.0", "range_m: missing value"),
    ("1.0,lcmr-1,1500.0,45.0,10.0,-20.0,loud", "snr_db: 'loud' is not a number"),
]


def write_with_bad_row(path, bad: str, before: int = 3, after: int = 2) -> None:
    header = "time_s,sensor,range_m,azimuth_deg,elevation_deg,range_rate_mps,snr_db"
    path.write_text("\n".join([header] + [GOOD] * before + [bad] + [GOOD] * after) + "\n")


@pytest.mark.parametrize("bad, message", BAD_ROWS)
def test_plot_csv_bad_row_gives_one_line_naming_file_line_and_column(tmp_path, bad, message):
    path = tmp_path / "plots.csv"
    write_with_bad_row(path, bad)
    with pytest.raises(UserError) as exc:
        read_plots_csv(path, IDS)
    problems = exc.value.problems
    assert len(problems) == 1 and "\n" not in problems[0]
    assert problems[0].startswith(f"{path}:5: {message}")


@pytest.mark.parametrize("bad, message", BAD_ROWS)
def test_plot_csv_skip_bad_skips_and_counts_bad_rows(tmp_path, bad, message):
    path = tmp_path / "plots.csv"
    write_with_bad_row(path, bad)
    plots, skipped = read_plots_csv(path, IDS, skip_bad=True)
    assert (len(plots), skipped) == (5, 1)


def test_plot_csv_reports_the_first_bad_row_and_counts_the_rest(tmp_path):
    path = tmp_path / "p.csv"
    lines = [
        "time_s,sensor,range_m,azimuth_deg,elevation_deg",
        "1,lcmr-1,100,10,5",
        "",
        "2,lcmr-1,100,10,500",  # line 4: elevation
        "3,lcmr-1,100",  # line 5: too few columns
        "4,nobody,100,10,5",  # line 6: sensor
        "5,lcmr-2,100,10,5",
    ]
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(UserError) as exc:
        read_plots_csv(path, IDS)
    assert exc.value.problems == (
        f"{path}:4: elevation_deg: '500' is outside -90 to 90 (and 2 more bad rows)",
    )
    plots, skipped = read_plots_csv(path, IDS, skip_bad=True)
    assert skipped == 3
    np.testing.assert_array_equal(plots.time_s, [1.0, 5.0])
    # a short row before the first bad value is reported first
    lines[3], lines[4] = lines[4], lines[3]
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(UserError, match=r"p\.csv:4: expected 5 columns .* found 3 \(and 2"):
        read_plots_csv(path, IDS)


@pytest.mark.parametrize(
    "header, message",
    [
        ("time_s,sensor,range_m,azimuth_deg", "missing column 'elevation_deg'"),
        ("time_s,sensor,range_m,azimuth_deg,elevation_deg,doppler", "unknown column 'doppler'"),
        ("time_s,sensor,range_m,azimuth_deg,elevation_deg,snr_db,snr_db", "'snr_db' appears twice"),
    ],
)
def test_plot_csv_header_problems_name_the_header(tmp_path, header, message):
    path = tmp_path / "p.csv"
    path.write_text(header + "\n1,lcmr-1,100,10,5\n")
    with pytest.raises(UserError) as exc:
        read_plots_csv(path, IDS)
    (line,) = exc.value.problems
    assert line.startswith(f"{path}:1: header: ") and message in line
    assert "expected time_s,sensor,range_m,azimuth_deg,elevation_deg" in line


def test_plot_csv_missing_or_empty_file_is_a_user_error(tmp_path):
    with pytest.raises(UserError, match="file not found"):
        read_plots_csv(tmp_path / "nothing.csv", IDS)
    (tmp_path / "empty.csv").write_text("\n\n")
    with pytest.raises(UserError, match="empty file"):
        read_plots_csv(tmp_path / "empty.csv", IDS)
    (tmp_path / "header.csv").write_text("time_s,sensor,range_m,azimuth_deg,elevation_deg\n")
    plots, skipped = read_plots_csv(tmp_path / "header.csv", IDS)
    assert len(plots) == 0 and skipped == 0


# --- sensors YAML ------------------------------------------------------------------------

SENSORS = """\
sensors:
  - id: lcmr-1
    lat: 33.2985
    lon: 44.3945
    alt_m: 36.0
    sigma_range_m: 10
    sigma_azimuth_mrad: 2
    sigma_elevation_mrad: 2
  - id: lcmr-2
    lat: 33.3045
    lon: 44.4075
    alt_m: 40.0
    sigma_range_m: 15
    sigma_azimuth_mrad: 3
    sigma_elevation_mrad: 3
    scan_s: 1.0
    sigma_range_rate_mps: 0.5
    latency_s: 0.2
"""


def sensor_problems(tmp_path, text: str) -> tuple[str, ...]:
    path = tmp_path / "s.yaml"
    path.write_text(text)
    with pytest.raises(UserError) as exc:
        read_sensors_yaml(path)
    return tuple(p.replace(str(path), "s.yaml") for p in exc.value.problems)


def test_sensors_yaml_reads_and_round_trips(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text(SENSORS)
    specs = read_sensors_yaml(path)
    assert [s.id for s in specs] == ["lcmr-1", "lcmr-2"]
    assert specs[0].scan_s is None and specs[0].latency_s == 0.0
    assert specs[1] == SensorSpec("lcmr-2", 33.3045, 44.4075, 40.0, 15, 3, 3, 1.0, 0.5, 0.2)
    write_sensors_yaml(tmp_path / "out.yaml", specs)
    assert read_sensors_yaml(tmp_path / "out.yaml") == specs


def test_sensors_yaml_errors_name_line_and_field_path(tmp_path):
    text = SENSORS.replace("lat: 33.3045", "lat: 133.3045").replace(
        "sigma_range_m: 10", "sigma_range_m: 0"
    )
    assert sensor_problems(tmp_path, text) == (
        "s.yaml:6: sensors[0].sigma_range_m: must be greater than 0",
        "s.yaml:10: sensors[1].lat: must be between -90 and 90",
    )


def test_sensors_yaml_unknown_missing_and_duplicate_fields(tmp_path):
    text = SENSORS.replace("    scan_s: 1.0\n", "    scan: 1.0\n    fov: 90\n")
    text = text.replace("    alt_m: 36.0\n", "").replace("id: lcmr-2", "id: lcmr-1")
    assert sensor_problems(tmp_path, text) == (
        "s.yaml:2: sensors[0].alt_m: required",
        "s.yaml:15: sensors[1].scan: unknown key (did you mean 'scan_s'?)",
        "s.yaml:16: sensors[1].fov: unknown key",
    )
    text = SENSORS.replace("id: lcmr-2", "id: lcmr-1")
    assert sensor_problems(tmp_path, text) == ("s.yaml:9: sensors[1].id: duplicate id 'lcmr-1'",)


@pytest.mark.parametrize(
    "text, message",
    [
        ("sensors: []\n", "s.yaml:1: sensors: needs at least one sensor"),
        ("- a\n- b\n", "s.yaml:1: expected a mapping with a 'sensors:' list"),
        ("sensors: [\n", "s.yaml:2: invalid YAML"),
        ("radars: []\n", "s.yaml:1: radars: unknown key"),
    ],
)
def test_sensors_yaml_file_level_problems(tmp_path, text, message):
    problems = sensor_problems(tmp_path, text)
    assert any(p.startswith(message) for p in problems), problems


def test_sensor_specs_from_scenario_put_ground_sensors_at_the_site_altitude(tmp_path):
    scenario = parse(
        textwrap.dedent(
            """
            name: t
            site: {lat: 33.3, lon: 44.4, alt_m: 34}
            sensors:
              - {id: a, lat: 33.30, lon: 44.39}
              - {id: b, lat: 33.31, lon: 44.40, alt_m: 60, sigma_range_rate_mps: 0.3,
                 latency_s: 0.1, scan_s: 2}
            """
        ),
        "t.yaml",
    ).scenario
    specs = sensor_specs_from_scenario(scenario)
    rr = scenario.sensors[0].sigma_range_rate_mps  # the schema default
    assert specs[0] == SensorSpec("a", 33.30, 44.39, 34.0, 10.0, 2.0, 2.0, 1.0, rr, 0.0)
    assert specs[1].alt_m == 60 and specs[1].sigma_range_rate_mps == 0.3
    write_sensors_yaml(tmp_path / "s.yaml", specs)
    assert read_sensors_yaml(tmp_path / "s.yaml") == specs
    frame = LocalFrame(33.3, 44.4, 34.0)
    pos = sensor_positions_enu_m(specs, frame)
    np.testing.assert_allclose(pos[1], frame.to_enu(33.31, 44.40, 60.0))


@pytest.mark.parametrize("quoted", [False, True])
def test_plot_csv_read_in_small_chunks_gives_the_same_plots_and_line_numbers(
    tmp_path, monkeypatch, quoted
):
    import opencram.sense.plots as plots_module

    ids = ['say "hi"', "lcmr-2"] if quoted else IDS
    plots = sample_plots(40, seed=3)
    path = tmp_path / "p.csv"
    write_plots_csv(path, plots, ids)
    whole, _ = read_plots_csv(path, ids)
    monkeypatch.setattr(plots_module, "_CHUNK_ROWS", 7)
    chunked, _ = read_plots_csv(path, ids)
    assert_same_plots(whole, chunked)
    lines = path.read_text().splitlines()
    lines[20] = lines[20].replace(",", ",,", 1)  # line 21: one cell too many
    lines[33] = "abc" + lines[33][lines[33].index(",") :]  # line 34: bad time
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(UserError) as exc:
        read_plots_csv(path, ids)
    assert exc.value.problems[0].startswith(f"{path}:21: expected 7 columns")
    assert exc.value.problems[0].endswith("found 8 (and 1 more bad rows)")
    back, skipped = read_plots_csv(path, ids, skip_bad=True)
    assert (len(back), skipped) == (38, 2)
