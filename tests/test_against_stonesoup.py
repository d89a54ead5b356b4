"""Our GOSPA against Stone Soup's ``GOSPAMetric`` (an independent implementation).

Stone Soup reports the GOSPA components as p-th powers (distance**p = localisation + missed
+ false) with alpha = 2, the same convention as ``opencram.analysis.metrics.GospaResult``.
"""

from datetime import datetime, timedelta

import numpy as np
import pytest

from opencram.analysis.metrics import gospa, gospa_series

pytest.importorskip(
    "stonesoup",
    reason="stonesoup is the reference for GOSPA; install the test extra (pip install -e .[test])",
)

from stonesoup.metricgenerator.ospametric import GOSPAMetric
from stonesoup.types.array import StateVector
from stonesoup.types.groundtruth import GroundTruthPath, GroundTruthState
from stonesoup.types.state import State
from stonesoup.types.track import Track

T0 = datetime(2024, 1, 1)
TOL = 1e-9


def random_sets(rng, n_truth, n_est, dim=3, spread_m=40.0, noise_m=4.0, far=0):
    """Truths, and estimates near some of them plus clutter; ``far`` estimates beyond c."""
    truth = rng.uniform(-spread_m, spread_m, (n_truth, dim))
    near = truth[rng.permutation(n_truth)[: min(n_truth, n_est - far)]]
    near = near + rng.normal(0.0, noise_m, near.shape)
    clutter = rng.uniform(-spread_m, spread_m, (max(0, n_est - far - len(near)), dim))
    distant = rng.uniform(1e4, 2e4, (far, dim))
    est = np.concatenate([near, clutter, distant]).reshape(-1, dim)
    return truth, est[rng.permutation(len(est))]


def stonesoup_gospa(truth, est, c, p, when=T0):
    metric = GOSPAMetric(c=c, p=p)
    truth_states = [GroundTruthState(StateVector(x), timestamp=when) for x in truth]
    est_states = [State(StateVector(y), timestamp=when) for y in est]
    value, assignment = metric.compute_gospa_metric(est_states, truth_states)
    return value.value, np.asarray(assignment, dtype=int)


# Both sets empty is left out: Stone Soup needs at least one state to know the time (our
# value, 0, is checked in test_metrics.py).
CASES = [
    # (n_truth, n_est, far estimates, c [m], p)
    (5, 5, 0, 10.0, 2.0),
    (8, 4, 0, 10.0, 2.0),
    (3, 9, 0, 15.0, 1.0),
    (0, 6, 0, 10.0, 2.0),
    (6, 0, 0, 10.0, 2.0),
    (6, 6, 3, 10.0, 2.0),
    (7, 5, 2, 25.0, 3.0),
    (1, 1, 0, 5.0, 1.5),
    (12, 12, 0, 8.0, 2.0),
]


@pytest.mark.parametrize(("n_truth", "n_est", "far", "c", "p"), CASES)
def test_gospa_components_match_stonesoup(n_truth, n_est, far, c, p):
    rng = np.random.default_rng(1000 * n_truth + 10 * n_est + far)
    for _ in range(5):
        truth, est = random_sets(rng, n_truth, n_est, far=far)
        ours = gospa(truth, est, c=c, p=p, alpha=2.0)
        ref, ref_assignment = stonesoup_gospa(truth, est, c, p)
        for name in ("distance", "localisation", "missed", "false"):
            assert getattr(ours, name) == pytest.approx(ref[name], rel=TOL, abs=TOL), name
        if n_truth and n_est:
            np.testing.assert_array_equal(ours.assignment, ref_assignment)


def test_gospa_series_matches_stonesoup_over_time():
    """Paths that start, stop and skip times, scored at every time either side reports."""
    rng = np.random.default_rng(7)
    c, p = 12.0, 2.0
    n_times, n_truth, n_tracks = 12, 5, 6
    truth_alive = rng.random((n_times, n_truth)) < 0.7
    track_alive = rng.random((n_times, n_tracks)) < 0.6
    truth_xyz = rng.uniform(-50.0, 50.0, (n_times, n_truth, 3))
    owner = rng.integers(0, n_truth, n_tracks)
    track_xyz = truth_xyz[:, owner] + rng.normal(0.0, 5.0, (n_times, n_tracks, 3))

    def when(k):
        return T0 + timedelta(seconds=int(k))

    paths = [GroundTruthPath() for _ in range(n_truth)]
    for i, path in enumerate(paths):
        for k in np.flatnonzero(truth_alive[:, i]):
            path.append(GroundTruthState(StateVector(truth_xyz[k, i]), timestamp=when(k)))
    tracks = [Track() for _ in range(n_tracks)]
    for j, track in enumerate(tracks):
        for k in np.flatnonzero(track_alive[:, j]):
            track.append(State(StateVector(track_xyz[k, j]), timestamp=when(k)))
    paths = [x for x in paths if len(x)]
    tracks = [x for x in tracks if len(x)]

    metric = GOSPAMetric(c=c, p=p)
    ref = metric.compute_over_time(
        *metric.extract_states(tracks, True), *metric.extract_states(paths, True)
    )
    ref_by_time = {m.timestamp: m.value for m in ref.value}

    times = [k for k in range(n_times) if truth_alive[k].any() or track_alive[k].any()]
    ours = gospa_series(
        times,
        [truth_xyz[k, truth_alive[k]] for k in times],
        [track_xyz[k, track_alive[k]] for k in times],
        c=c,
        p=p,
    )
    assert sorted(ref_by_time) == [when(k) for k in times]
    for i, k in enumerate(times):
        value = ref_by_time[when(k)]
        for name in ("distance", "localisation", "missed", "false"):
            assert getattr(ours, name)[i] == pytest.approx(value[name], rel=TOL, abs=TOL)
