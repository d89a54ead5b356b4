"""Tracking performance metrics: GOSPA, track continuity, position RMSE and NEES.

Everything here is a small pure function over numpy arrays. Positions are in the local ENU
frame in metres, so distances, the GOSPA cut-off ``c`` and the GOSPA distance itself are in
metres; the GOSPA *components* are ``p``-th powers of metres (see :class:`GospaResult`).

GOSPA
    The generalised optimal sub-pattern assignment metric of Rahmathullah, García-Fernández
    and Svensson, "Generalized optimal sub-pattern assignment metric", FUSION 2017
    (arXiv:1601.05585). For truths ``X`` and estimates ``Y`` with ``|X| <= |Y|``::

        d = ( min_π  Σ_i min(‖x_i − y_π(i)‖, c)^p  +  c^p / α · (|Y| − |X|) )^(1/p)

    and symmetrically when there are more truths. With ``α = 2`` the same value splits into
    a localisation term (Σ ‖x − y‖^p over truth/estimate pairs closer than ``c``), a missed
    term (``c^p/2`` per truth left without an estimate) and a false term (``c^p/2`` per
    estimate left without a truth). A pair at ``c`` or beyond costs ``c^p`` whether it is
    kept or split into one missed and one false, so it is reported as unassigned.

Track continuity
    Read from per-time assignments of truths to track ids (``NO_TRACK`` = unassigned); see
    :func:`track_breaks_and_swaps` for the definitions.

NEES
    Normalised estimation error squared ``eᵀ P⁻¹ e``; for a consistent filter it follows a
    chi-square law with ``dim`` degrees of freedom, and the mean over ``N`` independent runs
    satisfies ``N · mean ~ χ²(N · dim)`` (Bar-Shalom, Li and Kirubarajan, *Estimation with
    Applications to Tracking and Navigation*, 2001, §5.4).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.optimize import linear_sum_assignment
from scipy.stats import chi2

NO_TRACK = -1
"""Track id meaning "no track assigned" in per-time assignment arrays."""

_TIME_TOL_S = 1e-9  # estimates stamped this little after a sample time still count as "at" it


# --------------------------------------------------------------------------------------------
# GOSPA
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class GospaResult:
    """GOSPA between one set of truths and one set of estimates.

    ``distance`` is in the units of the positions (metres). With ``alpha = 2`` the other
    three terms are its ``p``-th power split up, ``distance**p == localisation + missed +
    false`` (the convention of Stone Soup's ``GOSPAMetric``); for other ``alpha`` they are
    NaN. ``assignment[i]`` is the row of the estimate assigned to truth ``i``, or -1 if
    truth ``i`` has no estimate closer than ``c``.
    """

    distance: float
    localisation: float
    missed: float
    false: float
    assignment: np.ndarray  # (n_truth,) int
    n_missed: int  # truths without an estimate closer than c
    n_false: int  # estimates without a truth closer than c


@dataclass(frozen=True)
class GospaSeries:
    """GOSPA at a sequence of times; each array has shape ``(n_times,)``."""

    t_s: np.ndarray
    distance: np.ndarray
    localisation: np.ndarray
    missed: np.ndarray
    false: np.ndarray
    n_missed: np.ndarray
    n_false: np.ndarray
    assignments: tuple[np.ndarray, ...]  # one GospaResult.assignment per time


def _as_points(pos: np.ndarray, name: str, dim: int | None = None) -> np.ndarray:
    """``pos`` as a float ``(n, d)`` array; an empty input of any shape becomes ``(0, d)``."""
    a = np.asarray(pos, dtype=float)
    if a.size == 0:
        return a.reshape(0, dim if dim is not None else (a.shape[-1] if a.ndim == 2 else 0))
    if a.ndim != 2:
        raise ValueError(f"{name} must have shape (n, d), got {a.shape}")
    return a


def _check_gospa_parameters(c: float, p: float, alpha: float) -> None:
    if not c > 0:
        raise ValueError(f"GOSPA cut-off c must be > 0, got {c}")
    if not 1 <= p < np.inf:
        raise ValueError(f"GOSPA exponent p must be in [1, inf), got {p}")
    if not 0 < alpha <= 2:
        raise ValueError(f"GOSPA alpha must be in (0, 2], got {alpha}")


def pairwise_distances(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Euclidean distances ``(m, n)`` between the rows of ``a (m, d)`` and ``b (n, d)``."""
    return np.linalg.norm(a[:, None, :] - b[None, :, :], axis=-1)


def gospa(
    truth_pos: np.ndarray,
    est_pos: np.ndarray,
    *,
    c: float,
    p: float = 2.0,
    alpha: float = 2.0,
) -> GospaResult:
    """GOSPA between truths ``(m, d)`` and estimates ``(n, d)``; either set may be empty.

    ``c`` is the cut-off distance (same units as the positions), ``p`` the exponent
    (``1 <= p``) and ``alpha`` in ``(0, 2]``; the missed/false decomposition needs
    ``alpha = 2``. The best assignment minimises ``Σ min(d, c)^p`` over one-to-one pairings
    (``scipy.optimize.linear_sum_assignment``).
    """
    _check_gospa_parameters(c, p, alpha)
    x = _as_points(truth_pos, "truth_pos")
    y = _as_points(est_pos, "est_pos", dim=x.shape[1] if x.size else None)
    if x.size and y.size and x.shape[1] != y.shape[1]:
        raise ValueError(f"truth_pos is {x.shape[1]}-D but est_pos is {y.shape[1]}-D")
    m, n = len(x), len(y)
    c_p = float(c) ** p

    assignment = np.full(m, -1, dtype=int)
    pair_cost = np.zeros(0)
    close = np.zeros(0, dtype=bool)
    if m and n:
        dist = pairwise_distances(x, y)
        cost = np.minimum(dist, c) ** p
        rows, cols = linear_sum_assignment(cost)
        pair_cost = cost[rows, cols]
        close = dist[rows, cols] < c
        assignment[rows[close]] = cols[close]
    n_pairs = int(np.count_nonzero(assignment >= 0))

    if alpha == 2:
        localisation = float(pair_cost[close].sum()) if n_pairs else 0.0
        missed = c_p / 2 * (m - n_pairs)
        false = c_p / 2 * (n - n_pairs)
        total = localisation + missed + false
    else:
        localisation = missed = false = float("nan")
        total = float(pair_cost.sum()) + c_p / alpha * abs(m - n)
    return GospaResult(
        distance=total ** (1 / p),
        localisation=localisation,
        missed=missed,
        false=false,
        assignment=assignment,
        n_missed=m - n_pairs,
        n_false=n - n_pairs,
    )


def gospa_series(
    times: Sequence[float] | np.ndarray,
    truth_by_time: Sequence[np.ndarray],
    est_by_time: Sequence[np.ndarray],
    *,
    c: float,
    p: float = 2.0,
    alpha: float = 2.0,
) -> GospaSeries:
    """GOSPA at each time: ``truth_by_time[k] (m_k, d)`` against ``est_by_time[k] (n_k, d)``."""
    t_s = np.asarray(times, dtype=float).reshape(-1)
    if not len(t_s) == len(truth_by_time) == len(est_by_time):
        raise ValueError(
            f"times ({len(t_s)}), truth_by_time ({len(truth_by_time)}) and est_by_time "
            f"({len(est_by_time)}) must have the same length"
        )
    results = [
        gospa(x, y, c=c, p=p, alpha=alpha) for x, y in zip(truth_by_time, est_by_time, strict=True)
    ]

    def column(name: str, dtype: type = float) -> np.ndarray:
        return np.array([getattr(r, name) for r in results], dtype=dtype)

    return GospaSeries(
        t_s=t_s,
        distance=column("distance"),
        localisation=column("localisation"),
        missed=column("missed"),
        false=column("false"),
        n_missed=column("n_missed", int),
        n_false=column("n_false", int),
        assignments=tuple(r.assignment for r in results),
    )


# --------------------------------------------------------------------------------------------
# Track continuity
# --------------------------------------------------------------------------------------------


def _samples_by_truth(
    truth_ids_by_time: Sequence[np.ndarray], assigned_track_ids_by_time: Sequence[np.ndarray]
) -> tuple[np.ndarray, np.ndarray]:
    """Flatten per-time arrays into (truth id, track id) samples sorted by truth, then time."""
    if len(truth_ids_by_time) != len(assigned_track_ids_by_time):
        raise ValueError(
            f"{len(truth_ids_by_time)} times of truth ids but "
            f"{len(assigned_track_ids_by_time)} times of assigned track ids"
        )
    truths = [np.asarray(a, dtype=int).reshape(-1) for a in truth_ids_by_time]
    tracks = [np.asarray(a, dtype=int).reshape(-1) for a in assigned_track_ids_by_time]
    for k, (a, b) in enumerate(zip(truths, tracks, strict=True)):
        if a.shape != b.shape:
            raise ValueError(f"time {k}: {a.size} truth ids but {b.size} assigned track ids")
        if np.unique(a).size != a.size:
            raise ValueError(f"time {k}: a truth id appears more than once")
    if not truths:
        return np.zeros(0, dtype=int), np.zeros(0, dtype=int)
    time_idx = np.repeat(np.arange(len(truths)), [a.size for a in truths])
    truth_id = np.concatenate(truths)
    track_id = np.concatenate(tracks)
    order = np.lexsort((time_idx, truth_id))
    return truth_id[order], track_id[order]


def _break_and_swap_flags(
    truth_id: np.ndarray, track_id: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Flags over samples sorted by truth then time.

    Returns ``breaks (n-1,)`` (a gap starts at sample ``i+1``), and the truth ids and flags
    of swaps among the assigned samples only.
    """
    assigned = track_id != NO_TRACK
    same_truth = truth_id[1:] == truth_id[:-1]
    breaks = same_truth & assigned[:-1] & ~assigned[1:]
    truth_a, track_a = truth_id[assigned], track_id[assigned]
    swaps = (truth_a[1:] == truth_a[:-1]) & (track_a[1:] != track_a[:-1])
    return breaks, truth_a[1:], swaps


def track_breaks_and_swaps(
    truth_ids_by_time: Sequence[np.ndarray], assigned_track_ids_by_time: Sequence[np.ndarray]
) -> tuple[int, int]:
    """Count track breaks and track swaps from per-time truth-to-track assignments.

    ``truth_ids_by_time[k]`` holds the ids of the truths alive (sampled) at time ``k`` and
    ``assigned_track_ids_by_time[k]`` the track id assigned to each of them, ``NO_TRACK``
    (-1) if none. Times must be in increasing order. Each truth is followed over its own
    samples, so a truth absent from a time is not alive then and that time is skipped.

    - A **break** is a truth that is assigned at one of its samples and unassigned at its
      next sample. A run of unassigned samples counts once however long it lasts, including
      a run that lasts until the truth's last sample. Unassigned samples before a truth's
      first assignment (track initiation delay) are not breaks.
    - A **swap** is a change of the assigned track id between two consecutive *assigned*
      samples of a truth, whether or not unassigned samples lie between them. Track ``A``,
      gap, track ``B`` is one break and one swap; ``A``, gap, ``A`` is a break only.
    """
    truth_id, track_id = _samples_by_truth(truth_ids_by_time, assigned_track_ids_by_time)
    breaks, _, swaps = _break_and_swap_flags(truth_id, track_id)
    return int(breaks.sum()), int(swaps.sum())


def track_id_changes(
    truth_ids_by_time: Sequence[np.ndarray], assigned_track_ids_by_time: Sequence[np.ndarray]
) -> dict[int, int]:
    """Swaps per truth: how often each truth's assigned track id changed (see
    :func:`track_breaks_and_swaps`). Every truth that appears is a key, with 0 if none."""
    truth_id, track_id = _samples_by_truth(truth_ids_by_time, assigned_track_ids_by_time)
    _, swap_truth, swaps = _break_and_swap_flags(truth_id, track_id)
    ids = np.unique(truth_id)
    counts = np.bincount(np.searchsorted(ids, swap_truth[swaps]), minlength=ids.size)
    return {int(i): int(n) for i, n in zip(ids, counts, strict=True)}


# --------------------------------------------------------------------------------------------
# Position error and consistency
# --------------------------------------------------------------------------------------------


def assigned_pairs(
    truth_pos: np.ndarray, est_pos: np.ndarray, assignment: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Rows of truths and of their assigned estimates (``GospaResult.assignment``), paired."""
    assignment = np.asarray(assignment, dtype=int)
    has = assignment >= 0
    return np.asarray(truth_pos, dtype=float)[has], np.asarray(est_pos, dtype=float)[
        assignment[has]
    ]


def position_rmse(truth_pos: np.ndarray, est_pos: np.ndarray) -> float:
    """Root mean square position error ``sqrt(mean ‖x − y‖²)`` over paired rows ``(k, d)``.

    Row ``i`` of ``truth_pos`` is paired with row ``i`` of ``est_pos`` (see
    :func:`assigned_pairs`). NaN when there are no pairs.
    """
    x = np.asarray(truth_pos, dtype=float)
    y = np.asarray(est_pos, dtype=float)
    if x.shape != y.shape:
        raise ValueError(f"truth_pos {x.shape} and est_pos {y.shape} must be paired row by row")
    if x.size == 0:
        return float("nan")
    err = (x - y).reshape(len(x), -1)
    return float(np.sqrt(np.mean(np.sum(err**2, axis=1))))


def nees(err: np.ndarray, cov: np.ndarray) -> np.ndarray:
    """Normalised estimation error squared ``eᵀ P⁻¹ e`` of each row: ``err (n, k)``,
    ``cov (n, k, k)`` → ``(n,)``. Solves with each covariance rather than inverting it."""
    e = np.asarray(err, dtype=float)
    P = np.asarray(cov, dtype=float)
    if e.ndim != 2 or P.shape != (*e.shape, e.shape[1]):
        raise ValueError(f"err must be (n, k) and cov (n, k, k); got {e.shape} and {P.shape}")
    return np.einsum("ni,ni->n", e, np.linalg.solve(P, e[..., None])[..., 0])


def nees_interval(mean_of: int, dim: int, conf: float = 0.95) -> tuple[float, float]:
    """Two-sided ``conf`` interval for the mean NEES of ``mean_of`` independent runs.

    For a consistent estimator of a ``dim``-dimensional state ``mean_of · mean NEES`` is
    χ² with ``mean_of · dim`` degrees of freedom; the interval is its central quantiles
    divided by ``mean_of``.
    """
    if mean_of < 1 or dim < 1:
        raise ValueError(f"mean_of and dim must be >= 1, got {mean_of} and {dim}")
    if not 0 < conf < 1:
        raise ValueError(f"conf must be in (0, 1), got {conf}")
    dof = mean_of * dim
    tail = (1 - conf) / 2
    lo, hi = chi2.ppf([tail, 1 - tail], dof) / mean_of
    return float(lo), float(hi)


# --------------------------------------------------------------------------------------------
# Scoring a tracker against truth
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TrackScore:
    """How well tracker output follows the truth (see :func:`score_tracks`)."""

    mean_gospa_m: float  # mean over the truth sample times of the GOSPA distance
    gospa: GospaSeries  # per truth sample time
    breaks: int
    swaps: int
    rmse_m: float  # position RMSE over all assigned truth/track pairs at all times
    n_pairs: int  # number of those pairs
    assigned_track_ids: tuple[np.ndarray, ...]  # per time, per truth (NO_TRACK if none)
    truth_ids: tuple[np.ndarray, ...]  # per time, the truths sampled then


def _group_rows(time_idx: np.ndarray, n_times: int) -> list[np.ndarray]:
    """Row indices for each time index ``0..n_times-1`` (stable within a time)."""
    if n_times == 0:
        return []
    order = np.argsort(time_idx, kind="stable")
    bounds = np.searchsorted(time_idx[order], np.arange(1, n_times))
    return np.split(order, bounds)


def latest_estimates(
    sample_t_s: np.ndarray,
    track_times: np.ndarray,
    track_ids: np.ndarray,
    *,
    max_age_s: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Each track's latest estimate at or before each sample time, if not too old.

    Returns ``(sample_idx, row)``: for every (sample time, track) pair whose latest
    estimate at or before the sample time is at most ``max_age_s`` old, the index of the
    sample time and the row of that estimate in the track arrays. "At or before" allows
    1 ns of rounding. If a track has several rows at one time the last of them in input
    order is used.
    """
    t = np.asarray(sample_t_s, dtype=float)
    tt = np.asarray(track_times, dtype=float)
    uniq, trk = np.unique(np.asarray(track_ids, dtype=int), return_inverse=True)
    n_t, n_u, n_rows = t.size, uniq.size, tt.size
    # Merge the estimates with one query per (track, sample time); sorting by track, time,
    # then estimates before queries, puts each query just after its latest estimate.
    q_trk = np.repeat(np.arange(n_u), n_t)
    q_t = np.tile(t + _TIME_TOL_S, n_u)
    all_trk = np.concatenate([trk, q_trk])
    all_t = np.concatenate([tt, q_t])
    is_query = np.concatenate([np.zeros(n_rows, bool), np.ones(q_trk.size, bool)])
    order = np.lexsort((is_query, all_t, all_trk))
    sorted_pos = np.arange(order.size)
    last_est = np.maximum.accumulate(np.where(is_query[order], -1, sorted_pos))
    q_at = is_query[order]
    query = order[q_at] - n_rows  # query number: track-major, sample-minor
    cand = last_est[q_at]
    row = np.where(cand >= 0, order[np.maximum(cand, 0)], -1)
    ok = (row >= 0) & (trk[np.maximum(row, 0)] == q_trk[query])
    ok &= t[query % n_t] - tt[np.maximum(row, 0)] <= max_age_s
    return query[ok] % n_t, row[ok]


def score_tracks(
    truth_times: np.ndarray,
    truth_ids: np.ndarray,
    truth_pos: np.ndarray,
    track_times: np.ndarray,
    track_ids: np.ndarray,
    track_pos: np.ndarray,
    *,
    c: float,
    p: float = 2.0,
    alpha: float = 2.0,
    match_dt_s: float,
) -> TrackScore:
    """Score tracker output against truth at the truth sample times.

    Inputs are flat arrays with one row per sample: truth ``truth_times (N,)`` [s],
    ``truth_ids (N,)`` int, ``truth_pos (N, d)`` [m]; tracker output ``track_times (M,)``
    [s], ``track_ids (M,)`` int (not ``NO_TRACK``), ``track_pos (M, d)`` [m]. Rows may come
    in any order; a truth id may appear at most once per time.

    At each distinct truth time the truths sampled then are compared with every track's
    latest estimate at or before that time; estimates older than ``match_dt_s`` are dropped
    (the track is taken as not reporting). GOSPA (``c`` in metres, ``p``, ``alpha``) gives the
    per-time distance and the truth-to-track assignment, from which come the breaks and
    swaps (:func:`track_breaks_and_swaps`) and the RMSE over all assigned pairs.
    """
    t_truth = np.asarray(truth_times, dtype=float).reshape(-1)
    id_truth = np.asarray(truth_ids, dtype=int).reshape(-1)
    x_truth = _as_points(truth_pos, "truth_pos")
    t_trk = np.asarray(track_times, dtype=float).reshape(-1)
    id_trk = np.asarray(track_ids, dtype=int).reshape(-1)
    dim = x_truth.shape[1] if x_truth.size else None
    x_trk = _as_points(track_pos, "track_pos", dim=dim)
    if not t_truth.size == id_truth.size == len(x_truth):
        raise ValueError("truth_times, truth_ids and truth_pos must have the same number of rows")
    if not t_trk.size == id_trk.size == len(x_trk):
        raise ValueError("track_times, track_ids and track_pos must have the same number of rows")
    if np.any(id_trk == NO_TRACK):
        raise ValueError(f"track id {NO_TRACK} is reserved for 'no track'")
    if match_dt_s < 0:
        raise ValueError(f"match_dt_s must be >= 0, got {match_dt_s}")

    sample_t_s, truth_time_idx = np.unique(t_truth, return_inverse=True)
    n_t = sample_t_s.size
    truth_rows = _group_rows(truth_time_idx, n_t)
    est_time_idx, est_row = latest_estimates(sample_t_s, t_trk, id_trk, max_age_s=match_dt_s)
    est_rows = [est_row[g] for g in _group_rows(est_time_idx, n_t)]

    series = gospa_series(
        sample_t_s,
        [x_truth[r] for r in truth_rows],
        [x_trk[r] for r in est_rows],
        c=c,
        p=p,
        alpha=alpha,
    )
    ids_by_time = tuple(id_truth[r] for r in truth_rows)
    assigned_ids = tuple(
        np.where(a >= 0, id_trk[e][np.maximum(a, 0)], NO_TRACK)
        if e.size
        else np.full_like(a, NO_TRACK)
        for a, e in zip(series.assignments, est_rows, strict=True)
    )
    breaks, swaps = track_breaks_and_swaps(ids_by_time, assigned_ids)

    pairs = [
        assigned_pairs(x_truth[tr], x_trk[er], a)
        for tr, er, a in zip(truth_rows, est_rows, series.assignments, strict=True)
    ]
    d = x_truth.shape[1]
    paired_truth = np.concatenate([pt for pt, _ in pairs]) if pairs else np.zeros((0, d))
    paired_est = np.concatenate([pe for _, pe in pairs]) if pairs else np.zeros((0, d))

    return TrackScore(
        mean_gospa_m=float(series.distance.mean()) if n_t else float("nan"),
        gospa=series,
        breaks=breaks,
        swaps=swaps,
        rmse_m=position_rmse(paired_truth, paired_est),
        n_pairs=len(paired_truth),
        assigned_track_ids=assigned_ids,
        truth_ids=ids_by_time,
    )
