"""Calibration of the impact and origin predictions against simulated truth.

A Monte Carlo of 200 seeded runs of one 107 mm rocket (the Green Zone threat) fired at the
US Embassy with realistic dispersion and watched by one radar: each seed changes the round's
dispersion and the radar's noise. Every prediction made on every update of the confirmed
track is scored: is the true impact (origin) inside the predicted 95 % ellipse?
"""

import numpy as np
import pytest
import yaml

from opencram.c2.engine import run
from opencram.c2.world import compile_world
from opencram.predict.ground import inside_ellipse95
from opencram.scenario.load import parse

N_RUNS = 200
SCENARIO = {
    "name": "calibration",
    "site": {"lat": 33.307577, "lon": 44.390259, "alt_m": 34.0},
    "sensors": [{"id": "r1", "lat": 33.2985, "lon": 44.3945}],
    "threats": [
        {
            "id": "r",
            "type": "rocket-107mm",
            "launch": {"lat": 33.2490, "lon": 44.3965},
            "aim": {"lat": 33.2990, "lon": 44.3960},
            "dispersion": {"azimuth_mrad": 5, "elevation_mrad": 5, "velocity_pct": 1},
        }
    ],
    "simulation": {"duration_s": 60},
}


@pytest.fixture(scope="module")
def calibration_runs():
    loaded = parse(yaml.safe_dump(SCENARIO), "calibration")
    rows = {
        k: []
        for k in (
            "run",
            "impact",
            "impact_cov",
            "impact_ok",
            "origin",
            "origin_cov",
            "origin_ok",
            "true_impact",
            "true_origin",
        )
    }
    for seed in range(1000, 1000 + N_RUNS):
        result = run(compile_world(loaded, seed))
        truth = result.world.truth
        for row in result.predictions:
            rows["run"].append(seed)
            rows["impact"].append(row.impact_en_m)
            rows["impact_cov"].append(row.impact_cov_en_m2)
            rows["impact_ok"].append(row.impact_ok)
            rows["origin"].append(row.origin_en_m)
            rows["origin_cov"].append(row.origin_cov_en_m2)
            rows["origin_ok"].append(row.origin_ok)
            rows["true_impact"].append(truth.impact_points()[row.truth_id, :2])
            rows["true_origin"].append(truth.rounds[row.truth_id].launch_enu_m[:2])
    return {k: np.array(v) for k, v in rows.items()}


def test_every_run_was_tracked_and_predicted(calibration_runs):
    assert len(np.unique(calibration_runs["run"])) == N_RUNS
    assert calibration_runs["impact_ok"].mean() > 0.99


def test_impact_ellipses_hold_between_90_and_98_percent(calibration_runs):
    c = calibration_runs
    ok = c["impact_ok"]
    inside = inside_ellipse95(c["true_impact"][ok], c["impact"][ok], c["impact_cov"][ok])
    assert 0.90 <= inside.mean() <= 0.98, f"{inside.mean():.3f} of true impacts inside"


def test_origin_ellipses_hold_between_90_and_98_percent(calibration_runs):
    """The origin covariance carries an empirical scale fitted on other seeds
    (opencram.predict.ground.ORIGIN_VARIANCE_SCALE); these seeds check it."""
    c = calibration_runs
    ok = c["origin_ok"]
    inside = inside_ellipse95(c["true_origin"][ok], c["origin"][ok], c["origin_cov"][ok])
    assert 0.90 <= inside.mean() <= 0.98, f"{inside.mean():.3f} of true origins inside"
