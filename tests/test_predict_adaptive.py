"""The error-controlled flight to the ground of impact and origin prediction: the compiled
kernel (opencram.predict._kernels) against its numpy reference, and both against a fine
fixed-step RK4 flight (the stated tolerance: within 0.1 m on the crossing point)."""

import numpy as np
import pytest

from opencram.predict.ground import fly_to_height, fly_to_height_reference
from opencram.track.models import BallisticModel, propagate_to_height

MODEL = BallisticModel()


def _states(n, seed):
    """Rounds in flight on real trajectories (so every one has an origin and an impact):
    launched from the ground at 100-700 m/s and 20-75 degrees with drag parameters
    0.3-2.5 cm²/kg (mortar bombs, rockets, shells), caught 2-25 s after launch."""
    rng = np.random.default_rng(seed)
    speed = rng.uniform(100.0, 700.0, n)
    el = np.radians(rng.uniform(20.0, 75.0, n))
    az = rng.uniform(0.0, 2 * np.pi, n)
    v = speed[:, None] * np.column_stack(
        [np.cos(el) * np.sin(az), np.cos(el) * np.cos(az), np.sin(el)]
    )
    pos = np.column_stack([rng.uniform(-8e3, 8e3, (n, 2)), np.zeros(n)])
    launch = np.column_stack([pos, v, rng.uniform(0.3, 2.5, n)])
    x = MODEL.propagate_state(launch, rng.uniform(2.0, 25.0, n))
    return x[x[:, 2] > 20.0]


@pytest.mark.parametrize("backward", [False, True])
def test_compiled_flight_to_the_ground_equals_the_numpy_reference(backward):
    x = _states(60, 1)
    height = np.where(np.arange(len(x)) % 3 == 0, 10.0, 0.0)  # per-row heights too
    out, t, ok = fly_to_height(MODEL, x, height, backward=backward)
    ref_out, ref_t, ref_ok = fly_to_height_reference(MODEL, x, height, backward=backward)
    assert ok.sum() > 40
    np.testing.assert_array_equal(ok, ref_ok)
    np.testing.assert_allclose(out, ref_out, rtol=1e-9, atol=1e-6)
    np.testing.assert_allclose(t, ref_t, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(out[ok, 2], height[ok], atol=1e-6)  # on the height


@pytest.mark.parametrize("backward", [False, True])
def test_error_controlled_crossing_is_within_a_tenth_of_a_metre_of_a_fine_flight(backward):
    x = _states(200, 2)
    out, t, ok = fly_to_height(MODEL, x, 0.0, backward=backward)
    fine, t_fine, ok_fine = propagate_to_height(MODEL, x, 0.0, backward=backward, step_s=0.002)
    both = ok & ok_fine
    assert both.sum() > 150
    np.testing.assert_array_equal(ok, ok_fine)
    miss_m = np.linalg.norm(out[both, :2] - fine[both, :2], axis=1)
    assert miss_m.max() < 0.1
    assert np.abs(t[both] - t_fine[both]).max() < 1e-3


def test_states_below_the_ground_or_never_reaching_it_come_back_not_reached():
    x = _states(6, 3)[:4]
    x[0, 2] = -50.0  # already under the ground
    x[1, 5] = abs(x[1, 5])  # climbing but asked for a height above any apogee
    height = np.array([0.0, 1e5, 0.0, 0.0])
    out, _, ok = fly_to_height(MODEL, x, height, backward=False)
    assert not ok[0] and not ok[1] and ok[2] and ok[3]
    np.testing.assert_array_equal(out[:2], x[:2])


@pytest.mark.parametrize("backward", [False, True])
def test_compiled_flight_in_a_sheared_wind_equals_the_numpy_reference(tmp_path, backward):
    """With a defender's met (wind from the west growing with height) the compiled flight
    drags on the air-relative velocity as the numpy reference (``BallisticModel.deriv``)
    does; and the wind moves the impacts, so a kernel ignoring it fails."""
    from opencram.physics.environment import Environment, Wind
    from opencram.physics.weather import load_weather

    rows = ["alt_m,wind_from_deg,wind_speed_mps,temperature_k,pressure_hpa"]
    rows += [f"{z},270,{5 + 6 * k},{291 - 6.5 * z / 1000},{1010 * (1 - z / 44300) ** 5.26}"
             for k, z in enumerate((0.0, 1000.0, 2000.0, 3000.0, 5000.0, 8000.0))]  # fmt: skip
    path = tmp_path / "met.csv"
    path.write_text("\n".join(rows) + "\n")
    prof = load_weather(path)
    wind = Wind.from_direction(prof.wind_from_deg, prof.wind_speed_mps, prof.alt_m)
    model = BallisticModel(Environment(site_alt_m=50.0, wind=wind, weather=prof))
    x = _states(40, 4)
    out, t, ok = fly_to_height(model, x, 0.0, backward=backward)
    ref_out, ref_t, ref_ok = fly_to_height_reference(model, x, 0.0, backward=backward)
    np.testing.assert_array_equal(ok, ref_ok)
    np.testing.assert_allclose(out, ref_out, rtol=1e-9, atol=1e-6)
    np.testing.assert_allclose(t, ref_t, rtol=1e-9, atol=1e-9)
    calm, _, calm_ok = fly_to_height(MODEL, x, 0.0, backward=backward)
    both = ok & calm_ok
    assert np.median(np.abs(out[both, 0] - calm[both, 0])) > 5.0  # the wind moves them east
