"""Weather from a file (issue 18 point 4): a layered METCM-like profile replaces the ISA.

Authorities: a scipy ``solve_ivp`` integration written here (its own density from the
table, p / (R T) with temperature linear and ln p linear in altitude, and its own drag and
gravity terms) for the cross-wind deflection, and the ``ambiance`` package's standard
atmosphere for a table that should fly like the ISA.
"""

import ambiance
import numpy as np
import pytest
from scipy.integrate import solve_ivp

from opencram.errors import UserError
from opencram.physics.drag import cd_standard
from opencram.physics.environment import Environment, Wind
from opencram.physics.fire import launch_states
from opencram.physics.threats import library
from opencram.physics.trajectory import fly
from opencram.physics.weather import load_weather

R_DRY = 287.05287  # J/(kg K), ICAO Doc 7488
G0 = 9.80665
R_EARTH = 6_371_008.8  # IUGG mean radius, the engine's gravity fall-off radius

# layers: alt m, wind from deg, speed m/s, temperature K, pressure hPa (a made-up day)
LAYERS = [
    (0.0, 270.0, 10.0, 291.0, 1010.0),
    (1000.0, 270.0, 10.0, 284.0, 897.0),
    (2000.0, 270.0, 10.0, 277.5, 793.0),
    (3000.0, 270.0, 10.0, 271.0, 700.0),
    (4500.0, 270.0, 10.0, 262.0, 577.0),
    (7000.0, 270.0, 10.0, 246.0, 408.0),
]


def _write_csv(path, layers):
    rows = ["alt_m,wind_from_deg,wind_speed_mps,temperature_k,pressure_hpa"]
    rows += [",".join(f"{v:.6f}" for v in r) for r in layers]
    path.write_text("\n".join(rows) + "\n")
    return path


def _env_of(profile, site_alt_m):
    wind = Wind.from_direction(profile.wind_from_deg, profile.wind_speed_mps, profile.alt_m)
    return Environment(site_alt_m=site_alt_m, wind=wind, weather=profile)


def _reference_density_and_sound(alt_m):
    """The test's own reading of LAYERS: T linear, ln p linear (inside the table)."""
    z = np.array([r[0] for r in LAYERS])
    t = np.interp(alt_m, z, [r[3] for r in LAYERS])
    p = np.exp(np.interp(alt_m, z, np.log([100.0 * r[4] for r in LAYERS])))
    return p / (R_DRY * t), np.sqrt(1.4 * R_DRY * t)


def _reference_flight(pos0, vel0, mass_kg, area_m2, form_factor, table, site_alt_m):
    """Impact point by solve_ivp: drag 0.5 rho |v - w| (v - w) Cd(M) A / m, w = 10 m/s to
    the east at every height, gravity g0 (R / (R + h))^2."""
    wind = np.array([10.0, 0.0, 0.0])

    def rhs(_t, y):
        alt = site_alt_m + y[2]
        rho, a = _reference_density_and_sound(alt)
        v_air = y[3:] - wind
        speed = np.linalg.norm(v_air)
        cd = form_factor * float(cd_standard(np.array([table]), np.array([speed / a]))[0])
        acc = -0.5 * rho * speed * cd * area_m2 / mass_kg * v_air
        acc[2] -= G0 * (R_EARTH / (R_EARTH + alt)) ** 2
        return np.concatenate([y[3:], acc])

    def ground(_t, y):
        return y[2]

    ground.terminal, ground.direction = True, -1
    sol = solve_ivp(
        rhs, (0, 200), np.r_[pos0, vel0], method="DOP853", rtol=1e-10, atol=1e-8, events=ground
    )
    return sol.y_events[0][0][:3]


def test_crosswind_deflection_matches_solve_ivp_within_one_percent(tmp_path):
    profile = load_weather(_write_csv(tmp_path / "met.csv", LAYERS))
    site_alt_m = 150.0
    env = _env_of(profile, site_alt_m)
    t = library()["mortar-120mm"]
    pos0, vel0, params = launch_states([t], np.zeros((1, 3)), np.radians([0.0]), np.radians([60]))
    f = fly(pos0, vel0, params, env, dt_s=0.01)
    ref = _reference_flight(
        pos0[0],
        vel0[0],
        float(params.mass_kg[0]),
        float(params.area_m2[0]),
        float(params.form_factor[0]),
        int(params.drag_table[0]),
        site_alt_m,
    )
    deflection_m, ref_deflection_m = f.impact_pos_enu_m[0, 0], ref[0]
    assert ref_deflection_m > 20.0  # the wind blows the round east measurably
    assert abs(deflection_m - ref_deflection_m) < 0.01 * ref_deflection_m
    assert abs(f.impact_pos_enu_m[0, 1] - ref[1]) < 0.002 * ref[1]


def test_isa_table_from_ambiance_flies_like_the_standard_atmosphere(tmp_path):
    alt = np.arange(-500.0, 25_001.0, 250.0)
    atm = ambiance.Atmosphere(alt)
    rows = ["alt_m,wind_from_deg,wind_speed_mps,temperature_c,pressure_hpa"]
    for h, tk, p in zip(alt, atm.temperature, atm.pressure, strict=True):
        rows.append(f"{h},0,0,{tk - 273.15:.6f},{p / 100.0:.6f}")
    path = tmp_path / "isa.csv"
    path.write_text("\n".join(rows) + "\n")
    profile = load_weather(path)
    lib = library()
    types = [lib["mortar-81mm"], lib["artillery-155mm"], lib["rocket-122mm-grad"]]
    az, qe = np.radians([0.0, 90.0, 200.0]), np.radians([65.0, 40.0, 45.0])
    pos0, vel0, params = launch_states(types, np.zeros((3, 3)), az, qe)
    std = fly(pos0, vel0, params, Environment(site_alt_m=300.0))
    met = fly(pos0, vel0, params, _env_of(profile, 300.0))
    rng_m = np.hypot(std.impact_pos_enu_m[:, 0], std.impact_pos_enu_m[:, 1])
    miss_m = np.linalg.norm(met.impact_pos_enu_m - std.impact_pos_enu_m, axis=1)
    assert np.all(miss_m < 1e-4 * rng_m + 0.5), miss_m


def test_yaml_table_and_celsius_read_like_csv(tmp_path):
    csv_profile = load_weather(_write_csv(tmp_path / "met.csv", LAYERS))
    lines = ["layers:"]
    for h, frm, spd, tk, p in LAYERS:
        lines.append(
            f"  - {{alt_m: {h}, wind_from_deg: {frm}, wind_speed_mps: {spd}, "
            f"temperature_c: {tk - 273.15}, pressure_hpa: {p}}}"
        )
    (tmp_path / "met.yaml").write_text("\n".join(lines) + "\n")
    yaml_profile = load_weather(tmp_path / "met.yaml")
    np.testing.assert_allclose(yaml_profile.temperature_k, csv_profile.temperature_k)
    np.testing.assert_allclose(yaml_profile.pressure_pa, csv_profile.pressure_pa)
    rho, a = yaml_profile.density_and_sound(np.array([0.0, 2500.0]))
    ref_rho, ref_a = _reference_density_and_sound(np.array([0.0, 2500.0]))
    np.testing.assert_allclose(rho, ref_rho, rtol=1e-12)
    np.testing.assert_allclose(a, ref_a, rtol=1e-12)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("alt_m,wind_from_deg,wind_speed_mps,pressure_hpa\n0,0,1,1000\n", "temperature"),
        ("alt_m,wind_from_deg,wind_speed_mps,temperature_k,pressure_hpa\n0,0,x,288,1000\n", "x"),
        (
            "alt_m,wind_from_deg,wind_speed_mps,temperature_k,pressure_hpa\n"
            "100,0,1,288,1000\n50,0,1,288,990\n",
            "increase",
        ),
    ],
)
def test_bad_weather_file_is_one_line_user_error_naming_the_file(tmp_path, text, message):
    path = tmp_path / "bad.csv"
    path.write_text(text)
    with pytest.raises(UserError) as err:
        load_weather(path)
    assert "bad.csv" in str(err.value) and message in str(err.value)
    assert "\n" not in str(err.value)


def test_scenario_weather_file_is_the_truth_environment(tmp_path):
    from opencram.c2.world import environment_of
    from opencram.scenario.load import parse

    _write_csv(tmp_path / "met.csv", LAYERS)
    text = (
        "name: met\nsite: {name: s, lat: 33.0, lon: 44.0, alt_m: 150.0}\n"
        "environment: {weather: met.csv}\n"
    )
    env = environment_of(parse(text, "met.yaml", tmp_path).scenario, tmp_path)
    rho, a, wind = env.air(np.array([850.0]))  # 1000 m above the ellipsoid
    ref_rho, ref_a = _reference_density_and_sound(np.array([1000.0]))
    np.testing.assert_allclose(rho, ref_rho, rtol=1e-6)
    np.testing.assert_allclose(a, ref_a, rtol=1e-6)
    np.testing.assert_allclose(wind[0], [10.0, 0.0, 0.0], atol=1e-12)  # from 270: to east


def test_weather_with_a_wind_is_refused():
    from opencram.scenario.load import parse

    text = (
        "name: met\nsite: {name: s, lat: 33.0, lon: 44.0, alt_m: 150.0}\n"
        "environment: {weather: met.csv, wind: {from_deg: 0, speed_mps: 3}}\n"
    )
    with pytest.raises(UserError) as err:
        parse(text, "met.yaml")
    assert "weather" in str(err.value)


def test_compiled_kernel_reads_the_weather_like_the_numpy_reference(tmp_path):
    """Kernel against its numpy reference (both ours: an agreement check, not an
    authority; the authorities are the solve_ivp and ambiance tests above)."""
    profile = load_weather(_write_csv(tmp_path / "met.csv", LAYERS))
    env = _env_of(profile, 150.0)
    lib = library()
    types = [lib["mortar-120mm"], lib["rocket-107mm"]]
    pos0, vel0, params = launch_states(
        types, np.zeros((2, 3)), np.radians([30.0, 120.0]), np.radians([55.0, 40.0])
    )
    fast = fly(pos0, vel0, params, env)
    ref = fly(pos0, vel0, params, env, compiled=False)
    np.testing.assert_allclose(fast.impact_pos_enu_m, ref.impact_pos_enu_m, atol=1e-6)


# --- the met a crew would have: the tracker's model and fire control (issue 18 point 4) ---


def _tracker_reference(x0, t_end_s, site_alt_m, wind_enu_mps):
    """The tracker's ballistic equations written out here, by solve_ivp: drag
    0.5 rho |v - w| (v - w) kappa 1e-4 with the test's own reading of LAYERS, constant
    gravity g0 (the tracker's model holds g fixed)."""

    def rhs(_t, y):
        rho, _ = _reference_density_and_sound(site_alt_m + y[2])
        v_air = y[3:6] - wind_enu_mps
        acc = -0.5 * rho * np.linalg.norm(v_air) * y[6] * 1e-4 * v_air
        acc[2] -= G0
        return np.concatenate([y[3:6], acc, [0.0]])

    sol = solve_ivp(rhs, (0, t_end_s), x0, method="DOP853", rtol=1e-11, atol=1e-9)
    return sol.y[:, -1]


def test_tracker_model_with_the_met_flies_like_solve_ivp(tmp_path):
    """BallisticModel in a met environment (density of the profile, 10 m/s wind to the
    east) against solve_ivp of the same equations: 30 s of a mortar-like state."""
    from opencram.track.models import BallisticModel

    profile = load_weather(_write_csv(tmp_path / "met.csv", LAYERS))
    model = BallisticModel(_env_of(profile, 150.0))
    x0 = np.array([0.0, 0.0, 100.0, 0.0, 150.0, 220.0, 1.2])
    ref = _tracker_reference(x0, 30.0, 150.0, np.array([10.0, 0.0, 0.0]))
    got = model.propagate_state(x0[None, :], np.array([30.0]))[0]
    calm = BallisticModel(Environment(site_alt_m=150.0, weather=profile))
    drift = got[0] - calm.propagate_state(x0[None, :], np.array([30.0]))[0, 0]
    assert drift > 30.0  # the wind carries the round east measurably
    np.testing.assert_allclose(got[:3], ref[:3], atol=0.05)
    np.testing.assert_allclose(got[3:6], ref[3:6], atol=0.005)


def test_compiled_tracker_kernels_with_wind_match_the_numpy_reference(tmp_path):
    """Compiled RK4 and EKF prediction with a sheared wind against the models' numpy
    reference (both ours: an agreement check; the authority is the solve_ivp test)."""
    from opencram.track.models import BallisticModel, propagate_ekf, propagate_ekf_reference

    layers = [(z, 90.0 + 20.0 * k, 5.0 + 8.0 * k, t, p) for k, (z, _, _, t, p) in enumerate(LAYERS)]
    profile = load_weather(_write_csv(tmp_path / "met.csv", layers))
    model = BallisticModel(_env_of(profile, 150.0))
    x = np.array(
        [[0.0, 0.0, 900.0, 20.0, 150.0, 120.0, 1.2], [50.0, 0.0, 2500.0, -30.0, 90.0, -40.0, 0.8]]
    )
    h = np.array([0.4, 0.3])
    np.testing.assert_allclose(
        model.step_state(x, h), model.step_state_reference(x, h), rtol=1e-12, atol=1e-9
    )
    p = np.tile(np.eye(7) * 4.0, (2, 1, 1))
    xf, pf = propagate_ekf(model, x, p, np.array([1.7, 2.2]))
    xr, pr = propagate_ekf_reference(model, x, p, np.array([1.7, 2.2]))
    np.testing.assert_allclose(xf, xr, rtol=1e-12, atol=1e-9)
    np.testing.assert_allclose(pf, pr, rtol=1e-9, atol=1e-9)


def test_wind_jacobian_matches_finite_differences(tmp_path):
    from opencram.track.models import BallisticModel

    layers = [(z, 90.0, 5.0 + 8.0 * k, t, p) for k, (z, _, _, t, p) in enumerate(LAYERS)]
    model = BallisticModel(_env_of(load_weather(_write_csv(tmp_path / "m.csv", layers)), 150.0))
    x = np.array([[0.0, 0.0, 1502.5, 20.0, 150.0, 120.0, 1.2]])
    a = model.jacobian(x)[0]
    for j in (2, 3, 4, 5, 6):
        e = np.zeros((1, 7))
        e[0, j] = 1e-4 if j != 2 else 0.5  # inside one 5 m cell of the tables
        num = (model.deriv(x + e) - model.deriv(x - e))[0] / (2 * e[0, j])
        np.testing.assert_allclose(a[3:6, j], num[3:6], rtol=1e-5, atol=1e-9)


CROSSWIND = [  # wind from the east, 20 m/s at the ground to 45 m/s at 5 km (a strong day)
    (0.0, 90.0, 20.0, 300.0, 1005.0),
    (1000.0, 90.0, 28.0, 292.0, 893.0),
    (2000.0, 90.0, 35.0, 285.0, 790.0),
    (3000.0, 90.0, 40.0, 278.0, 697.0),
    (5000.0, 90.0, 45.0, 264.0, 538.0),
]
CROSSWIND_SCENARIO = """
name: crosswind
site: {name: s, lat: 33.30, lon: 44.39, alt_m: 40.0}
sensors:
  - {id: radar, lat: 33.30, lon: 44.39, scan_s: 0.5}
threats:
  - id: bomb
    type: mortar-120mm
    launch: {lat: 33.250, lon: 44.39}
    aim: {lat: 33.300, lon: 44.392}
    time_s: 1.0
simulation: {dt_s: 0.05, duration_s: 80, seed: 3}
"""


def _crosswind_errors(tmp_path, met: str | None):
    """(time to impact, east error, horizontal error) of every impact prediction of a run
    whose truth flies through CROSSWIND, the defender's met being ``met``."""
    from opencram.c2.engine import run
    from opencram.c2.events import ImpactPredicted
    from opencram.c2.world import compile_world
    from opencram.scenario.load import parse

    _write_csv(tmp_path / "wx.csv", CROSSWIND)
    env = "environment: {weather: wx.csv" + (f", met: {met}" if met else "") + "}\n"
    world = compile_world(parse(CROSSWIND_SCENARIO + env, "x.yaml", tmp_path))
    if met:
        assert world.met is not None and world.met.weather.digest == world.env.weather.digest
    result = run(world)
    impact = world.truth.flight.impact_pos_enu_m[0]
    rows = []
    for e in result.events:
        if isinstance(e, ImpactPredicted):
            d = np.asarray(world.frame.to_enu(e.lat, e.lon, e.alt_m))[:2] - impact[:2]
            rows.append((e.time_to_impact_s, d[0], np.hypot(*d)))
    return np.array(rows)


def test_known_met_removes_the_crosswind_bias_of_impact_predictions(tmp_path):
    """Truth flies a 120 mm bomb 5.5 km north through a 20-45 m/s wind from the east (it
    drifts west). Without the met the tracker's model has no wind: its impact predictions
    10 s or more before impact lie east of the truth by 27-164 m on average (measured: 26.7
    m at 10-20 s to go, 83 m at 20-30 s, 164 m beyond); with the met they are within 10 m
    (-8.5, -9.8, +3.5 m), and the median horizontal error at 10-30 s to go falls from
    48 m to 28 m."""
    without = _crosswind_errors(tmp_path, None)
    known = _crosswind_errors(tmp_path, "wx.csv")
    for lo, hi in ((10.0, 20.0), (20.0, 30.0), (30.0, 60.0)):
        w = without[(without[:, 0] >= lo) & (without[:, 0] < hi)]
        k = known[(known[:, 0] >= lo) & (known[:, 0] < hi)]
        assert len(w) >= 5 and len(k) >= 5
        assert w[:, 1].mean() > 20.0  # the unmodelled drift: predicted east of the truth
        assert abs(k[:, 1].mean()) < 0.4 * w[:, 1].mean()
    w = without[(without[:, 0] >= 10.0) & (without[:, 0] < 30.0)]
    k = known[(known[:, 0] >= 10.0) & (known[:, 0] < 30.0)]
    assert np.median(k[:, 2]) < 0.75 * np.median(w[:, 2])


def test_met_file_reaches_the_tracker_and_the_guns_round_table(tmp_path):
    from opencram.c2.stages.track import TrackStage
    from opencram.c2.world import compile_world
    from opencram.engage.firecontrol import GunModel
    from opencram.scenario.load import parse
    from opencram.scenario.schema import Weapon
    from opencram.track.manager import TrackerConfig

    _write_csv(tmp_path / "wx.csv", CROSSWIND)
    world = compile_world(
        parse(CROSSWIND_SCENARIO + "environment: {met: wx.csv}\n", "x.yaml", tmp_path)
    )
    assert world.env.weather is None and world.env.wind.is_calm  # truth: the ISA, calm
    stage = TrackStage(world, [], TrackerConfig())
    model = stage.tracker.model
    assert model.env is world.met
    np.testing.assert_allclose(model.wind(np.array([960.0]))[0][0], [-28.0, 0.0, 0.0], atol=1e-9)
    gun = Weapon(id="g", lat=33.3, lon=44.39)
    hot = GunModel.build(gun, np.zeros(3), world.met)
    std = GunModel.build(gun, np.zeros(3), Environment(site_alt_m=40.0))
    assert not np.array_equal(hot.range_m, std.range_m)  # thinner air on a 300 K day
    assert world.met.weather.digest != ""


def test_missing_met_file_is_one_line_user_error(tmp_path):
    from opencram.c2.world import compile_world
    from opencram.scenario.load import parse

    loaded = parse(CROSSWIND_SCENARIO + "environment: {met: nowhere.csv}\n", "x.yaml", tmp_path)
    with pytest.raises(UserError) as err:
        compile_world(loaded)
    assert "nowhere.csv" in str(err.value) and "\n" not in str(err.value)
