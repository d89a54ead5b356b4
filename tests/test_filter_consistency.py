"""Filter consistency: the normalised estimation error squared (NEES) over 100 seeded runs.

Truth follows the tracker's own ballistic model with process noise drawn from the filter's
Q (Bar-Shalom, Li and Kirubarajan 2001, section 5.4: a consistent filter's NEES is
chi-square with as many degrees of freedom as the state). 100 runs are one batch of 100
tracks, so this also exercises the batched code.
"""

import numpy as np
import pytest

from opencram.analysis.metrics import nees, nees_interval
from opencram.track.ckf import ckf_predict, ckf_update
from opencram.track.ekf import ekf_update
from opencram.track.measurement import noise_cov, predict_measurement
from opencram.track.models import BallisticModel

N_RUNS = 100
N_STEPS = 25
DT_S = 1.0
SENSOR = np.array([0.0, 0.0, 0.0])
SIG = (10.0, 2e-3, 2e-3, 1.0)


def _run(filter_name: str, seed: int, filter_q_acc_mps2: float = 2.0):
    rng = np.random.default_rng(seed)
    model = BallisticModel(q_acc_mps2=2.0, q_kappa=0.05)  # truth
    filt = BallisticModel(q_acc_mps2=filter_q_acc_mps2, q_kappa=0.05)
    # a 107 mm-like rocket 5 km out, climbing towards the sensor
    x_true = np.tile([500.0, -5000.0, 300.0, -10.0, 250.0, 120.0, 1.5], (N_RUNS, 1))
    p0 = np.diag([30.0, 30.0, 30.0, 15.0, 15.0, 15.0, 0.5]) ** 2
    x_est = x_true + rng.multivariate_normal(np.zeros(7), p0, N_RUNS)
    p_est = np.repeat(p0[None], N_RUNS, axis=0)
    r = noise_cov(*(np.full(N_RUNS, s) for s in SIG), np.ones(N_RUNS, dtype=bool))
    spos = np.tile(SENSOR, (N_RUNS, 1))
    dt = np.full(N_RUNS, DT_S)
    q = model.process_noise(dt)
    for _ in range(N_STEPS):
        x_true = model.propagate_state(x_true, dt)
        x_true += np.array([rng.multivariate_normal(np.zeros(7), qi) for qi in q])
        z = predict_measurement(x_true, spos) + rng.normal(0.0, 1.0, (N_RUNS, 4)) * SIG
        if filter_name == "ckf":
            x_est, p_est = ckf_predict(filt, x_est, p_est, dt)
            x_est, p_est, _, _ = ckf_update(x_est, p_est, z, r, spos)
        else:
            x_est, p_est = filt.propagate(x_est, p_est, dt)
            x_est, p_est, _, _ = ekf_update(x_est, p_est, z, r, spos)
    return nees(x_est - x_true, p_est)


@pytest.mark.parametrize("filter_name", ["ekf", "ckf"])
def test_mean_nees_inside_its_95_percent_interval(filter_name):
    e = _run(filter_name, seed=2026)
    lo, hi = nees_interval(N_RUNS, 7, 0.95)
    assert lo <= e.mean() <= hi, f"mean NEES {e.mean():.2f} outside [{lo:.2f}, {hi:.2f}]"


def test_a_mistuned_filter_fails_the_same_check():
    """The check has teeth: a filter assuming 10x less process-noise sigma than the truth
    has is overconfident, one assuming 4x more is too cautious; both fall outside."""
    lo, hi = nees_interval(N_RUNS, 7, 0.95)
    assert _run("ekf", seed=2026, filter_q_acc_mps2=0.2).mean() > hi
    assert _run("ekf", seed=2026, filter_q_acc_mps2=8.0).mean() < lo
