"""The radar model: detection probability against closed forms, scipy quadrature and
Albersheim's equation; the scan (timing, coverage, noise, false alarms) against the
statistics it is meant to have."""

import dataclasses
import itertools

import numpy as np
import pytest
from scipy import integrate, optimize, special, stats

from opencram.geo import LocalFrame, unit_vector_from_az_el
from opencram.scenario.schema import FieldOfView, Sensor
from opencram.sense.radar import (
    RadarModel,
    detection_probability,
    false_alarms,
    scan,
    snr_db,
)

FRAME = LocalFrame(33.3, 44.4, 34.0)


def make_radar(**changes) -> RadarModel:
    sensor = Sensor(id="r1", lat=33.3, lon=44.4, sigma_range_rate_mps=None)
    base = RadarModel.from_schema(sensor, FRAME, 34.0)
    return dataclasses.replace(base, **changes)


def static_truth(pos_enu_m, vel_enu_mps=None, active=None):
    """A truth function for objects moving in straight lines from time 0."""
    pos0 = np.asarray(pos_enu_m, dtype=float)
    vel = np.zeros_like(pos0) if vel_enu_mps is None else np.asarray(vel_enu_mps, dtype=float)
    act = np.ones(len(pos0), bool) if active is None else np.asarray(active, bool)
    calls = []

    def fn(t_s):
        t = np.asarray(t_s, dtype=float)
        calls.append(t.copy())
        return pos0 + vel * t[:, None], vel.copy(), act.copy()

    fn.calls = calls
    return fn


def ring(radar, range_m, n, el_rad=0.2, az_rad=None):
    """``n`` points at one range from the radar, spread evenly in azimuth."""
    az = np.linspace(0, 2 * np.pi, n, endpoint=False) if az_rad is None else np.asarray(az_rad)
    return radar.pos_enu_m + range_m * unit_vector_from_az_el(az, el_rad)


# --- detection probability --------------------------------------------------------------

SNRS_DB = np.linspace(-10, 30, 41)


@pytest.mark.parametrize("pfa", [1e-3, 1e-6, 1e-9])
@pytest.mark.parametrize("swerling", [1, 2])
def test_swerling_1_and_2_equal_the_closed_form_pfa_power(pfa, swerling):
    snr = 10 ** (SNRS_DB / 10)
    expected = pfa ** (1 / (1 + snr))
    np.testing.assert_allclose(detection_probability(SNRS_DB, pfa, swerling), expected, rtol=1e-12)


@pytest.mark.parametrize("swerling, shape", [(1, 1), (3, 2)])
def test_fluctuating_pd_equals_steady_pd_averaged_over_rcs_by_scipy_quadrature(swerling, shape):
    # Swerling 1: RCS exponential (gamma shape 1); Swerling 3: chi-square 4 dof (shape 2)
    pfa = 1e-6
    for s_db in (0.0, 8.0, 13.0, 20.0, 30.0):
        mean = 10 ** (s_db / 10)
        rcs = stats.gamma(shape, scale=mean / shape)

        def integrand(x, rcs=rcs):
            return stats.ncx2.sf(-2 * np.log(pfa), 2, 2 * x) * rcs.pdf(x)

        edges = [0.0, *rcs.ppf([0.01, 0.5, 0.99]), np.inf]
        expected = sum(integrate.quad(integrand, a, b)[0] for a, b in itertools.pairwise(edges))
        got = detection_probability(s_db, pfa, swerling)
        assert got == pytest.approx(expected, abs=2e-6), s_db
        assert detection_probability(s_db, pfa, swerling + 1) == got


def test_swerling_0_rises_from_pfa_to_one():
    pfa = 1e-6
    pd = detection_probability(SNRS_DB, pfa, 0)
    assert np.all(np.diff(pd) >= 0)
    assert np.all(np.diff(pd[pd < 0.999]) > 0)
    assert detection_probability(-np.inf, pfa, 0) == pytest.approx(pfa, rel=1e-9)
    assert detection_probability(-40.0, pfa, 0) == pytest.approx(pfa, rel=1e-2)
    assert detection_probability(25.0, pfa, 0) > 1 - 1e-9
    assert detection_probability(200.0, pfa, 0) == 1.0


def test_swerling_0_equals_the_rician_tail_integrated_by_scipy():
    # Pd of a steady target = P(|signal + noise| > threshold), a Rician tail
    pfa = 1e-6
    b = np.sqrt(-2 * np.log(pfa))
    for s_db in (0.0, 8.0, 12.0, 16.0):
        a = np.sqrt(2 * 10 ** (s_db / 10))

        def rice_pdf(r, a=a):
            return r * np.exp(-0.5 * (r - a) ** 2) * special.i0e(r * a)

        expected = integrate.quad(rice_pdf, b, np.inf)[0]
        assert detection_probability(s_db, pfa, 0) == pytest.approx(expected, rel=1e-7)


def test_swerling_0_snr_needed_for_pd_09_matches_the_sdr_package_exact_value():
    # sdr.min_snr(0.9, 1e-6, detector="square-law") = 13.1835 dB (sdr documentation)
    ours_db = optimize.brentq(lambda s: detection_probability(s, 1e-6, 0) - 0.9, 0, 30)
    assert ours_db == pytest.approx(13.1835, abs=0.001)


@pytest.mark.parametrize("pd", [0.5, 0.7, 0.9])
@pytest.mark.parametrize("pfa", [1e-4, 1e-6, 1e-7])
def test_swerling_0_snr_needed_matches_albersheim_within_its_stated_accuracy(pd, pfa):
    # Albersheim's empirical equation, one pulse; stated accurate to 0.2 dB (it drifts
    # further than that below Pd 0.3, so those are left out)
    a = np.log(0.62 / pfa)
    b = np.log(pd / (1 - pd))
    albersheim_db = (6.2 + 4.54 / np.sqrt(1.44)) * np.log10(a + 0.12 * a * b + 1.7 * b)
    ours_db = optimize.brentq(lambda s: detection_probability(s, pfa, 0) - pd, -10, 40)
    assert ours_db == pytest.approx(albersheim_db, abs=0.2)


def test_fluctuating_targets_need_more_snr_than_steady_at_high_pd():
    at_20db = [detection_probability(20.0, 1e-6, s) for s in (0, 3, 1)]
    assert at_20db[0] > at_20db[1] > at_20db[2]


def test_batched_snr_and_pd_equal_one_at_a_time_calls():
    radar = make_radar()
    rng = np.random.default_rng(3)
    range_m = rng.uniform(300, 10_000, 50)
    rcs_m2 = rng.uniform(0.001, 1.0, 50)
    batch = snr_db(radar, range_m, rcs_m2)
    single = np.array([snr_db(radar, r, s) for r, s in zip(range_m, rcs_m2, strict=True)])
    np.testing.assert_array_equal(batch, single)
    for sw in range(5):
        pd_batch = detection_probability(batch, 1e-6, sw)
        pd_single = np.array([detection_probability(s, 1e-6, sw) for s in batch])
        np.testing.assert_allclose(pd_batch, pd_single, rtol=1e-13)


def test_snr_follows_the_radar_equation_from_the_reference_point():
    radar = make_radar()
    assert snr_db(radar, radar.reference_range_m, radar.reference_rcs_m2) == pytest.approx(13.0)
    # half the range: +12.04 dB; ten times the RCS: +10 dB
    half = snr_db(radar, radar.reference_range_m / 2, radar.reference_rcs_m2 * 10)
    assert half == pytest.approx(13.0 + 40 * np.log10(2) + 10.0)


def test_radar_from_scenario_sensor_converts_units_and_stands_on_the_ground():
    s = Sensor(
        id="q",
        lat=33.31,
        lon=44.41,
        fov=FieldOfView(boresight_az_deg=90, width_deg=90),
        sigma_azimuth_mrad=3,
        false_alarm_rate_per_scan=0.5,
        sigma_range_rate_mps=None,
    )
    r = RadarModel.from_schema(s, FRAME, 34.0)
    np.testing.assert_allclose(r.pos_enu_m, FRAME.to_enu(33.31, 44.41, 34.0))
    assert r.boresight_az_rad == pytest.approx(np.pi / 2)
    assert r.fov_width_rad == pytest.approx(np.pi / 2)
    assert r.sweep_start_az_rad == pytest.approx(np.pi / 4)
    assert r.sigma_az_rad == pytest.approx(0.003)
    assert r.false_alarms_per_scan == 0.5
    assert r.sigma_range_rate_mps is None
    high = RadarModel.from_schema(s.model_copy(update={"alt_m": 80.0}), FRAME, 34.0)
    np.testing.assert_allclose(high.pos_enu_m, FRAME.to_enu(33.31, 44.41, 80.0))


# --- the scan ----------------------------------------------------------------------------


def test_monte_carlo_detection_rate_is_within_binomial_bounds_of_pd():
    radar = make_radar(swerling=1)
    range_m = 7_500.0
    n = 6_000
    truth = static_truth(ring(radar, range_m, n))
    pd = float(detection_probability(snr_db(radar, range_m, 0.01), radar.pfa, 1))
    assert 0.2 < pd < 0.8
    plots = scan(radar, 0.0, truth, 0.01, np.arange(n), np.random.default_rng(7))
    k = int((plots.truth_id >= 0).sum())
    assert abs(k - n * pd) < 4.5 * np.sqrt(n * pd * (1 - pd))
    assert len(np.unique(plots.truth_id)) == len(plots)  # one look per object per scan


def test_measurement_noise_has_the_configured_sigmas():
    radar = make_radar(swerling=0, sigma_range_m=12.0, sigma_az_rad=0.003, sigma_el_rad=0.002)
    radar = dataclasses.replace(radar, sigma_range_rate_mps=1.5)
    n = 20_000
    az = np.linspace(0, 2 * np.pi, n, endpoint=False)
    pos = ring(radar, 2_000.0, n, el_rad=0.3, az_rad=az)
    vel = 50.0 * unit_vector_from_az_el(az, 0.3)  # flying straight away: range rate +50
    truth = static_truth(pos, vel)
    plots = scan(radar, 0.0, truth, 1.0, np.arange(n), np.random.default_rng(11))
    assert len(plots) == n  # SNR ~ 60 dB: every object seen
    i = plots.truth_id
    t = plots.time_s
    true_pos = pos[i] + vel[i] * t[:, None]
    true_range = np.linalg.norm(true_pos - radar.pos_enu_m, axis=1)
    d_az = np.angle(np.exp(1j * (plots.az_rad - az[i])))
    residuals = {
        "range": (plots.range_m - true_range, 12.0),
        "az": (d_az, 0.003),
        "el": (plots.el_rad - 0.3, 0.002),
        "range_rate": (plots.range_rate_mps - 50.0, 1.5),
    }
    for name, (r, sigma) in residuals.items():
        assert np.std(r) == pytest.approx(sigma, rel=0.04), name
        assert abs(np.mean(r)) < 4 * sigma / np.sqrt(n), name


def test_coverage_masks_exclude_objects_outside_fov_range_and_elevation():
    radar = make_radar(
        boresight_az_rad=np.pi / 2,
        fov_width_rad=np.pi / 2,  # sector from 45° to 135°
        range_min_m=500.0,
        range_max_m=5_000.0,
        el_min_rad=np.radians(1.0),
        el_max_rad=np.radians(60.0),
    )
    cases = [  # (az_deg, el_deg, range_m, active, expected seen)
        (90, 10, 3_000, True, True),
        (50, 2, 600, True, True),
        (130, 59, 4_900, True, True),
        (30, 10, 3_000, True, False),  # left of the sector
        (140, 10, 3_000, True, False),  # right of the sector
        (270, 10, 3_000, True, False),  # behind
        (90, 10, 400, True, False),  # too near
        (90, 10, 5_200, True, False),  # too far
        (90, 0.5, 3_000, True, False),  # too low
        (90, 65, 3_000, True, False),  # too high
        (90, 10, 3_000, False, False),  # not in flight
    ]
    az, el, rng_m, active, seen = (np.array(c) for c in zip(*cases, strict=True))
    pos = radar.pos_enu_m + rng_m[:, None] * unit_vector_from_az_el(np.radians(az), np.radians(el))
    truth = static_truth(pos, active=active)
    plots = scan(radar, 0.0, truth, 100.0, np.arange(len(cases)), np.random.default_rng(0))
    assert sorted(plots.truth_id.tolist()) == np.flatnonzero(seen).tolist()


def test_rotating_scan_sees_each_object_when_the_beam_passes_its_azimuth():
    radar = make_radar(scan_s=2.0, latency_s=0.3)
    az = np.radians([0.0, 90.0, 180.0, 270.0, 45.0])
    truth = static_truth(ring(radar, 3_000.0, 5, az_rad=az))
    plots = scan(radar, 10.0, truth, 1.0, np.arange(5), np.random.default_rng(1))
    by_id = plots.time_s[np.argsort(plots.truth_id)]
    np.testing.assert_allclose(by_id, 10.0 + 2.0 * np.array([0.0, 0.25, 0.5, 0.75, 0.125]))
    np.testing.assert_allclose(plots.arrival_s, plots.time_s + 0.3)
    assert np.all(np.diff(plots.time_s) >= 0)
    # truth asked once at the scan start and once at the look times
    assert len(truth.calls) == 2
    np.testing.assert_array_equal(truth.calls[0], np.full(5, 10.0))


def test_sector_scan_sweeps_from_its_left_edge():
    radar = make_radar(boresight_az_rad=np.pi, fov_width_rad=np.pi / 2, scan_s=1.0)
    az = np.radians([135.0, 180.0, 224.0])
    truth = static_truth(ring(radar, 3_000.0, 3, az_rad=az))
    plots = scan(radar, 0.0, truth, 1.0, np.arange(3), np.random.default_rng(1))
    np.testing.assert_allclose(plots.time_s, [0.0, 0.5, 89 / 90], atol=1e-12)


def test_moving_object_is_measured_where_it_is_at_the_look_time():
    radar = make_radar(sigma_range_m=1e-6, sigma_az_rad=1e-9, sigma_el_rad=1e-9)
    start = ring(radar, 3_000.0, 1, az_rad=[np.pi / 2])
    vel = np.array([[0.0, 0.0, 100.0]])
    plots = scan(radar, 4.0, static_truth(start, vel), 1.0, [0], np.random.default_rng(2))
    assert plots.time_s[0] == pytest.approx(4.25)
    expected = start[0] + vel[0] * 4.25
    assert plots.range_m[0] == pytest.approx(np.linalg.norm(expected - radar.pos_enu_m), abs=1e-3)


def test_false_alarm_count_is_poisson_and_positions_fill_the_volume():
    radar = make_radar(
        false_alarms_per_scan=3.0,
        boresight_az_rad=np.radians(300.0),
        fov_width_rad=np.radians(120.0),
        sigma_range_rate_mps=2.0,
    )
    rng = np.random.default_rng(5)
    batches = [false_alarms(radar, 5.0 * k, rng) for k in range(4_000)]
    counts = np.array([len(b) for b in batches])
    assert counts.mean() == pytest.approx(3.0, abs=4 * np.sqrt(3.0 / counts.size))
    assert counts.var() == pytest.approx(3.0, rel=0.1)  # Poisson: variance = mean
    r = np.concatenate([b.range_m for b in batches])
    az = np.concatenate([b.az_rad for b in batches])
    el = np.concatenate([b.el_rad for b in batches])
    dt = np.concatenate([b.time_s - 5.0 * k for k, b in enumerate(batches)])
    assert np.all((r >= radar.range_min_m) & (r <= radar.range_max_m))
    off = np.mod(az - np.radians(240.0), 2 * np.pi)
    assert np.all(off <= np.radians(120.0))
    assert np.all((el >= radar.el_min_rad) & (el <= radar.el_max_rad))
    assert np.all((dt >= 0) & (dt < radar.scan_s))
    n = r.size
    tol = 4 / np.sqrt(12 * n)  # of the mean of a uniform(0, 1) sample
    # uniform in volume: r³ and sin(el) are uniform between their limits
    u_r = (r**3 - radar.range_min_m**3) / (radar.range_max_m**3 - radar.range_min_m**3)
    s0, s1 = np.sin(radar.el_min_rad), np.sin(radar.el_max_rad)
    for u in (u_r, (np.sin(el) - s0) / (s1 - s0), off / np.radians(120.0), dt / radar.scan_s):
        assert u.mean() == pytest.approx(0.5, abs=tol)
        assert np.mean(u < 0.25) == pytest.approx(0.25, abs=4 * np.sqrt(0.1875 / n))
    allp = [b for b in batches if len(b)]
    assert all((b.truth_id == -1).all() and np.isfinite(b.range_rate_mps).all() for b in allp)


def test_scan_includes_false_alarms_with_truth_id_minus_one():
    radar = make_radar(false_alarms_per_scan=50.0)
    truth = static_truth(ring(radar, 3_000.0, 10))
    plots = scan(radar, 0.0, truth, 1.0, np.arange(10, 20), np.random.default_rng(4))
    real = plots.truth_id >= 0
    assert sorted(plots.truth_id[real].tolist()) == list(range(10, 20))
    assert (~real).sum() > 20 and np.all(np.isnan(plots.range_rate_mps))
    assert np.all(np.diff(plots.time_s) >= 0)


def test_same_seed_gives_identical_plots():
    radar = make_radar(false_alarms_per_scan=2.0, sigma_range_rate_mps=1.0)
    pos = ring(radar, 8_000.0, 300)
    vel = np.tile([10.0, -5.0, 30.0], (300, 1))

    def run(seed):
        rng = np.random.default_rng(seed)
        truth = static_truth(pos, vel)
        return [scan(radar, float(k), truth, 0.01, np.arange(300), rng) for k in range(5)]

    a, b, c = run(42), run(42), run(43)
    for pa, pb in zip(a, b, strict=True):
        for f in dataclasses.fields(pa):
            np.testing.assert_array_equal(getattr(pa, f.name), getattr(pb, f.name))
    assert any(
        len(pa) != len(pc) or not np.array_equal(pa.range_m, pc.range_m)
        for pa, pc in zip(a, c, strict=True)
    )


def test_scan_of_a_simulated_world_plots_the_rockets_near_their_truth():
    from opencram.c2.world import compile_world
    from opencram.scenario.load import load

    world = compile_world(load("green-zone"))
    site_alt = world.scenario.site.alt_m
    radar = RadarModel.from_schema(world.scenario.sensors[0], world.frame, site_alt)
    n = len(world.truth.rounds)
    rng = np.random.default_rng(0)
    plots = [
        scan(radar, float(t), world.truth.state_at, 0.05, np.arange(n), rng) for t in range(40)
    ]
    seen = [p for p in plots if len(p)]
    assert len(seen) > 10
    for p in seen:
        pos, _, _ = world.truth.state_at(p.time_s[0] * np.ones(n))
        true = pos[p.truth_id[0]] - radar.pos_enu_m
        assert p.range_m[0] == pytest.approx(np.linalg.norm(true), abs=6 * radar.sigma_range_m)
