"""Tracking metrics against hand-computed values, the chi-square law and one-at-a-time calls."""

import math

import numpy as np
import pytest

from opencram.analysis.metrics import (
    NO_TRACK,
    assigned_pairs,
    gospa,
    gospa_series,
    latest_estimates,
    nees,
    nees_interval,
    position_rmse,
    score_tracks,
    track_breaks_and_swaps,
    track_id_changes,
)

# ------------------------------------------------------------------------------------------
# GOSPA, hand-computed
# ------------------------------------------------------------------------------------------


def test_gospa_both_empty_is_zero():
    g = gospa(np.zeros((0, 3)), np.zeros((0, 3)), c=10.0)
    assert (g.distance, g.localisation, g.missed, g.false) == (0.0, 0.0, 0.0, 0.0)
    assert g.assignment.shape == (0,)


def test_gospa_one_pair_inside_cutoff():
    g = gospa([[0.0, 0.0]], [[3.0, 4.0]], c=10.0, p=2.0)
    assert g.distance == pytest.approx(5.0)
    assert g.localisation == pytest.approx(25.0)
    assert (g.missed, g.false) == (0.0, 0.0)
    assert g.assignment.tolist() == [0]


def test_gospa_pair_beyond_cutoff_is_one_missed_and_one_false():
    g = gospa([[0.0, 0.0]], [[20.0, 0.0]], c=10.0, p=2.0)
    # c^p / 2 = 50 each; distance = sqrt(100) = c
    assert (g.localisation, g.missed, g.false) == (0.0, 50.0, 50.0)
    assert g.distance == pytest.approx(10.0)
    assert g.assignment.tolist() == [-1]
    assert (g.n_missed, g.n_false) == (1, 1)


@pytest.mark.parametrize(("p", "loc", "false"), [(1.0, 1.0 + 2.0, 2.5), (2.0, 1.0 + 4.0, 12.5)])
def test_gospa_two_truths_three_estimates(p, loc, false):
    truth = [[0.0, 0.0], [10.0, 0.0]]
    est = [[100.0, 100.0], [1.0, 0.0], [10.0, 2.0]]
    g = gospa(truth, est, c=5.0, p=p)
    assert g.localisation == pytest.approx(loc)
    assert g.missed == 0.0
    assert g.false == pytest.approx(false)
    assert g.distance == pytest.approx((loc + false) ** (1 / p))
    assert g.assignment.tolist() == [1, 2]


def test_gospa_only_estimates_or_only_truths():
    est = [[0.0, 0.0, 0.0], [1.0, 1.0, 1.0], [5.0, 5.0, 5.0]]
    g = gospa(np.zeros((0, 3)), est, c=4.0, p=2.0)
    assert (g.localisation, g.missed, g.false) == (0.0, 0.0, 24.0)
    assert g.distance == pytest.approx(math.sqrt(24.0))
    g = gospa(est, [], c=4.0, p=2.0)
    assert (g.localisation, g.missed, g.false) == (0.0, 24.0, 0.0)
    assert g.assignment.tolist() == [-1, -1, -1]


def test_gospa_assignment_is_optimal_not_greedy():
    # Greedy nearest-first would pair truth x=2 with estimate x=1.9 (cost 0.01 + 16).
    truth = [[0.0], [2.0]]
    est = [[1.9], [4.0]]
    g = gospa(truth, est, c=10.0, p=2.0)
    assert g.assignment.tolist() == [0, 1]
    assert g.localisation == pytest.approx(1.9**2 + 2.0**2)


def test_gospa_alpha_other_than_two_has_distance_but_no_decomposition():
    truth = [[0.0, 0.0]]
    est = [[3.0, 4.0], [50.0, 0.0]]
    g1 = gospa(truth, est, c=10.0, p=1.0, alpha=1.0)
    assert g1.distance == pytest.approx(5.0 + 10.0)  # c^p / alpha for the extra estimate
    assert math.isnan(g1.localisation) and math.isnan(g1.missed) and math.isnan(g1.false)
    g2 = gospa(truth, est, c=10.0, p=1.0, alpha=2.0)
    assert g2.distance == pytest.approx(5.0 + 5.0)


def test_gospa_is_symmetric_and_decomposes():
    rng = np.random.default_rng(3)
    x = rng.uniform(0, 30, (6, 3))
    y = rng.uniform(0, 30, (4, 3))
    a = gospa(x, y, c=8.0, p=2.0)
    b = gospa(y, x, c=8.0, p=2.0)
    assert a.distance == pytest.approx(b.distance)
    assert (a.missed, a.false) == (b.false, b.missed)
    assert a.distance**2 == pytest.approx(a.localisation + a.missed + a.false)


def test_gospa_rejects_bad_input():
    with pytest.raises(ValueError, match="c must be > 0"):
        gospa([[0.0]], [[0.0]], c=0.0)
    with pytest.raises(ValueError, match="p must be"):
        gospa([[0.0]], [[0.0]], c=1.0, p=0.5)
    with pytest.raises(ValueError, match="alpha"):
        gospa([[0.0]], [[0.0]], c=1.0, alpha=3.0)
    with pytest.raises(ValueError, match="3-D"):
        gospa([[0.0, 0.0, 0.0]], [[0.0, 0.0]], c=1.0)


def test_gospa_series_equals_one_time_at_a_time():
    rng = np.random.default_rng(11)
    truths = [rng.uniform(0, 20, (n, 2)) for n in (0, 3, 5, 2)]
    ests = [rng.uniform(0, 20, (n, 2)) for n in (2, 0, 5, 4)]
    s = gospa_series([0.0, 1.0, 2.0, 3.0], truths, ests, c=6.0, p=2.0)
    for k, (x, y) in enumerate(zip(truths, ests, strict=True)):
        g = gospa(x, y, c=6.0, p=2.0)
        assert s.distance[k] == g.distance
        assert (s.localisation[k], s.missed[k], s.false[k]) == (g.localisation, g.missed, g.false)
        np.testing.assert_array_equal(s.assignments[k], g.assignment)


# ------------------------------------------------------------------------------------------
# Track continuity, hand-made sequences
# ------------------------------------------------------------------------------------------

U = NO_TRACK  # unassigned
A, B, C, D, E, F = 10, 11, 12, 13, 14, 15
# Per truth, the track assigned at each time (None = truth not alive then).
SEQUENCES = {
    1: [A, A, U, U, A, B, B, U],  # gap (break), A→B (swap), gap to the end (break)
    2: [U, U, C, C, C, None, None, None],  # late initiation: neither
    3: [D, E, D, None, None, None, None, None],  # two swaps
    4: [F, None, F, None, F, F, None, None],  # not alive in between: neither
    5: [None, None, A, U, B, U, U, B],  # gap, swap, gap: two breaks, one swap
}
EXPECTED = {1: (2, 1), 2: (0, 0), 3: (0, 2), 4: (0, 0), 5: (2, 1)}


def by_time(sequences):
    n_times = len(next(iter(sequences.values())))
    truth_ids, track_ids = [], []
    for k in range(n_times):
        alive = [(i, s[k]) for i, s in sequences.items() if s[k] is not None][::-1]
        truth_ids.append(np.array([i for i, _ in alive], dtype=int))
        track_ids.append(np.array([t for _, t in alive], dtype=int))
    return truth_ids, track_ids


def test_breaks_and_swaps_on_hand_made_sequences():
    truth_ids, track_ids = by_time(SEQUENCES)
    breaks, swaps = track_breaks_and_swaps(truth_ids, track_ids)
    assert breaks == sum(b for b, _ in EXPECTED.values())
    assert swaps == sum(s for _, s in EXPECTED.values())
    assert track_id_changes(truth_ids, track_ids) == {i: s for i, (_, s) in EXPECTED.items()}


@pytest.mark.parametrize("truth", sorted(SEQUENCES))
def test_breaks_and_swaps_of_each_truth_alone(truth):
    assert track_breaks_and_swaps(*by_time({truth: SEQUENCES[truth]})) == EXPECTED[truth]


def test_breaks_and_swaps_edge_cases():
    assert track_breaks_and_swaps([], []) == (0, 0)
    assert track_id_changes([], []) == {}
    with pytest.raises(ValueError, match="more than once"):
        track_breaks_and_swaps([np.array([1, 1])], [np.array([A, B])])
    with pytest.raises(ValueError, match="assigned track ids"):
        track_breaks_and_swaps([np.array([1, 2])], [np.array([A])])


# ------------------------------------------------------------------------------------------
# RMSE and NEES
# ------------------------------------------------------------------------------------------


def test_position_rmse_over_assigned_pairs():
    truth = np.array([[0.0, 0.0, 0.0], [10.0, 0.0, 0.0], [50.0, 50.0, 0.0]])
    est = np.array([[10.0, 0.0, 0.0], [3.0, 4.0, 0.0], [90.0, 90.0, 0.0]])
    g = gospa(truth, est, c=6.0)
    assert g.assignment.tolist() == [1, 0, -1]
    x, y = assigned_pairs(truth, est, g.assignment)
    assert position_rmse(x, y) == pytest.approx(math.sqrt((25.0 + 0.0) / 2))
    assert math.isnan(position_rmse(np.zeros((0, 3)), np.zeros((0, 3))))


def random_covariances(rng, n, k):
    a = rng.normal(size=(n, k, k))
    return a @ a.transpose(0, 2, 1) + 0.1 * np.eye(k)


def test_nees_batched_equals_one_row_at_a_time():
    rng = np.random.default_rng(5)
    cov = random_covariances(rng, 50, 4)
    err = rng.normal(size=(50, 4))
    batched = nees(err, cov)
    one_at_a_time = [float(e @ np.linalg.inv(P) @ e) for e, P in zip(err, cov, strict=True)]
    np.testing.assert_allclose(batched, one_at_a_time, rtol=1e-10)
    assert nees(err[:1], cov[:1])[0] == pytest.approx(one_at_a_time[0], rel=1e-12)


def test_nees_of_gaussian_errors_averages_the_dimension():
    rng = np.random.default_rng(2024)
    n, dim = 2000, 3
    cov = random_covariances(rng, n, dim)
    err = (np.linalg.cholesky(cov) @ rng.normal(size=(n, dim, 1)))[..., 0]
    mean = nees(err, cov).mean()
    lo, hi = nees_interval(n, dim)
    assert lo < mean < hi
    assert mean == pytest.approx(dim, abs=0.15)


def test_nees_interval_closed_forms():
    # One run, two dimensions: chi-square(2) has quantile -2 ln(1 - q).
    lo, hi = nees_interval(1, 2, conf=0.95)
    assert lo == pytest.approx(-2 * math.log(0.975))
    assert hi == pytest.approx(-2 * math.log(0.025))
    # Many runs: close to dim ± 1.96 sqrt(2 dim / N).
    lo, hi = nees_interval(2000, 3, conf=0.95)
    half = 1.959964 * math.sqrt(2 * 3 / 2000)
    assert lo == pytest.approx(3 - half, abs=2e-3)
    assert hi == pytest.approx(3 + half, abs=2e-3)


# ------------------------------------------------------------------------------------------
# Aligning tracker output with truth
# ------------------------------------------------------------------------------------------


def test_latest_estimates_batched_equals_one_at_a_time():
    rng = np.random.default_rng(9)
    track_times = np.round(rng.uniform(0, 20, 80), 1)
    track_ids = rng.integers(0, 6, 80)
    sample_t = np.arange(0.0, 21.0, 1.0)
    idx, row = latest_estimates(sample_t, track_times, track_ids, max_age_s=2.5)
    got = set(zip(idx.tolist(), row.tolist(), strict=True))
    expected = set()
    for j, t in enumerate(sample_t):
        for tid in np.unique(track_ids):
            rows = np.flatnonzero((track_ids == tid) & (track_times <= t))
            if rows.size:
                latest = rows[track_times[rows] == track_times[rows].max()][-1]
                if t - track_times[latest] <= 2.5:
                    expected.add((j, int(latest)))
    assert got == expected


def test_score_tracks_on_a_hand_made_run():
    """Two truths along x; track A follows truth 0 then stops, B picks it up after a gap,
    C follows truth 1 a quarter second behind, and a clutter track sits far away."""
    t = np.arange(10.0)
    truth_times = np.concatenate([t, t])
    truth_ids = np.repeat([0, 1], 10)
    truth_pos = np.concatenate(
        [np.stack([t, 0 * t, 0 * t], 1), np.stack([t, 0 * t + 100.0, 0 * t], 1)]
    )
    rows = []  # (time, id, x, y, z)
    rows += [(k, A, k, 1.0, 0.0) for k in range(0, 5)]  # truth 0 + 1 m north
    rows += [(k, B, k, -1.0, 0.0) for k in range(7, 10)]  # truth 0 − 1 m north
    rows += [(k + 0.25, C, k + 0.25, 100.0, 2.0) for k in range(10)]  # truth 1 + 2 m up
    rows += [(k, D, 500.0, 500.0, 0.0) for k in range(10)]  # clutter
    track = np.array(rows)

    rng = np.random.default_rng(0)  # row order must not matter
    pt, pk = rng.permutation(len(truth_times)), rng.permutation(len(track))
    s = score_tracks(
        truth_times[pt],
        truth_ids[pt],
        truth_pos[pt],
        track[pk, 0],
        track[pk, 1].astype(int),
        track[pk, 2:],
        c=5.0,
        p=2.0,
        match_dt_s=1.5,
    )
    # Per time, Σ of localisation (d²), missed and false (c²/2 = 12.5 each):
    c_lag = 0.75**2 + 2.0**2  # C's estimate is 0.75 s old: 0.75 m behind and 2 m up
    total = np.array(
        [1 + 12.5 + 12.5]  # t=0: A; truth 1 not yet tracked; clutter
        + [1 + c_lag + 12.5] * 4  # t=1..4
        + [2 + c_lag + 12.5]  # t=5: A's 1 s old estimate at (4, 1, 0)
        + [12.5 + c_lag + 12.5]  # t=6: A too old, truth 0 missed
        + [1 + c_lag + 12.5] * 3  # t=7..9: B
    )
    np.testing.assert_allclose(s.gospa.t_s, t)
    np.testing.assert_allclose(s.gospa.distance, np.sqrt(total))
    assert s.mean_gospa_m == pytest.approx(np.sqrt(total).mean())
    np.testing.assert_array_equal(s.gospa.n_false, np.ones(10))
    assert (s.breaks, s.swaps) == (1, 1)
    assert s.n_pairs == 18
    assert s.rmse_m == pytest.approx(math.sqrt((5 * 1 + 2 + 3 * 1 + 9 * c_lag) / 18))
    per_time = zip(s.truth_ids, s.assigned_track_ids, strict=True)
    truth0 = [ids[ti.tolist().index(0)] for ti, ids in per_time]
    assert truth0 == [A] * 6 + [NO_TRACK] + [B] * 3


def test_score_tracks_without_tracks_or_truth():
    s = score_tracks([0.0, 1.0], [0, 0], [[0, 0, 0], [1, 0, 0]], [], [], [], c=4.0, match_dt_s=1)
    np.testing.assert_allclose(s.gospa.missed, [8.0, 8.0])
    assert (s.breaks, s.swaps, s.n_pairs) == (0, 0, 0)
    assert math.isnan(s.rmse_m)
    s = score_tracks([], [], [], [0.5], [3], [[0.0, 0.0, 0.0]], c=4.0, match_dt_s=1)
    assert s.gospa.distance.shape == (0,)
    assert math.isnan(s.mean_gospa_m)
