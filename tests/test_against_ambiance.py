"""Our ICAO standard atmosphere against the independent ``ambiance`` package."""

import ambiance
import numpy as np

from opencram.physics.atmosphere import isa
from opencram.physics.environment import Environment

ALT_M = np.array(
    [
        -1000.0,
        0.0,
        34.0,
        1500.0,
        5000.0,
        10999.0,
        11000.0,
        15000.0,
        20000.0,
        25000.0,
        32000.0,
        40000.0,
        47000.0,
        51000.0,
        60000.0,
        71000.0,
        80000.0,
    ]
)


def test_density_and_speed_of_sound_match_ambiance():
    t_k, p_pa, rho, a = isa(ALT_M)
    ref = ambiance.Atmosphere(ALT_M)
    np.testing.assert_allclose(rho, ref.density, rtol=1e-5)
    np.testing.assert_allclose(a, ref.speed_of_sound, rtol=1e-6)
    np.testing.assert_allclose(t_k, ref.temperature, rtol=1e-6)
    np.testing.assert_allclose(p_pa, ref.pressure, rtol=1e-5)


def test_sea_level_values():
    _, p, rho, a = isa(0.0)
    assert abs(rho - 1.225) < 1e-4 and abs(p - 101325.0) < 1e-6 and abs(a - 340.294) < 1e-3


def test_environment_table_matches_ambiance_between_grid_points():
    alt = np.random.default_rng(1).uniform(-900.0, 60000.0, 2000)
    env = Environment(site_alt_m=0.0)
    rho, a, wind = env.air(alt)
    ref = ambiance.Atmosphere(alt)
    np.testing.assert_allclose(rho, ref.density, rtol=1e-4)
    np.testing.assert_allclose(a, ref.speed_of_sound, rtol=1e-4)
    assert wind.shape == (2000, 3) and not wind.any()
