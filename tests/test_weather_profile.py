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
