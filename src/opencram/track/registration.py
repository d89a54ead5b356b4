"""Sensor registration: each radar's systematic errors estimated from the rounds it has
tracked, saved to a small YAML file, and taken out of its plots before tracking
(docs/registration.md; issue 13, point 4).

The error model (the same one the simulated radars add, ``sense.radar.biased_aer``): a
radar reports, for a target at true range r, azimuth az and elevation el::

    r'  = r  + b_r
    az' = az + b_az + a tan(el)        (a mount levelling error: the "tilt" term)
    el' = el + b_el

with ``b = (b_r, b_az, b_el, a)`` per sensor (metres and radians here; the file and the
scenario give the angles in milliradians).

Estimation (:func:`estimate_registration`): a batched Gauss-Newton least squares over the
plots of the confirmed ballistic tracks, jointly in every sensor's bias vector ``b_s`` and
every track's ballistic arc ``x_k`` (its state ``[e, n, u, ve, vn, vu, kappa]`` at a
reference time ``t_k``, the middle of its plots, flown to each plot time by the tracker's
own ballistic model). For plot i of track k seen by sensor s at time t_i::

    d_i = p(x_k, t_i - t_k) - s_pos
    h_i = [|d_i| + b_r,  azimuth(d_i) + b_az + a tan(el(d_i)),  el(d_i) + b_el]
    e_i = z_i - h_i          (azimuth wrapped to (-pi, pi])

and the cost is ``sum_i e_i^T W_i e_i + sum_s b_s^T P^-1 b_s`` with a weak prior P (so a
direction the data do not fix stays at 0 and shows a standard error near the prior's).
Linearising, ``e_i ~ e_i - A_i dx_k - B_i db_s`` with A_i = dh_i/dx_k (finite differences,
all tracks at once) and B_i = dh_i/db_s = [[1,0,0,0], [0,1,0,tan el_i], [0,0,1,0]]. The
normal equations have the block structure of bundle adjustment::

    U_k = sum_{i in k} A_i^T W_i A_i        C_ks = sum_{i in k, s} A_i^T W_i B_i
    V_s = sum_{i in s} B_i^T W_i B_i + P^-1
    g_k = sum_{i in k} A_i^T W_i e_i        g_s = sum_{i in s} B_i^T W_i e_i - P^-1 b_s

and the arcs are eliminated by the Schur complement (a 7 x 7 solve per track, batched)::

    S  = V - sum_k C_k^T U_k^-1 C_k
    db = S^-1 (g_b - sum_k C_k^T U_k^-1 g_k)
    dx_k = U_k^-1 (g_k - C_k db)

``S^-1`` at convergence is the covariance of the biases with every arc a nuisance
parameter: its diagonal gives the standard errors reported.

Weights ``W_i = diag(w_ij / (sigma_sj^2 f_sj))``: ``sigma_sj`` is sensor s's noise on axis
j re-estimated from the residuals each iteration (1.4826 times their median absolute
value, so a sensors file's sigma need not be right); ``w_ij`` is Huber's weight
``min(1, k / |e_ij / sigma_sj|)`` (spikes, the acquisition transient), 0 beyond
``reject_sigma``; ``f_sj = (1 + rho) / (1 - rho)`` inflates the noise by the effective
sample size of errors correlated in time, rho the lag-1 autocorrelation of consecutive
residuals of one track on that axis (20 Hz radars report their tracking loop's output).

What the data make observable: with one sensor, a common azimuth offset ``b_az`` turns every
arc about the vertical through the radar, which leaves a ballistic arc ballistic: it is
**not** observable (the tilt ``a`` is, from the elevation change along each arc; the range
and elevation offsets are, weakly, from gravity and the arc's shape, and they trade off
against the arc's drag). A second sensor seeing the same rounds from elsewhere fixes
``b_az`` too. A term whose standard error is above ``max_sigma`` (5 m, 1 mrad, 1 mrad,
2 mrad) would do more harm than good if applied: it is held at 0, the others are fitted
again (until no more term needs holding), and it is reported ``observable: false`` with its
standard error from the last fit it was free in.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Literal

import numpy as np
import yaml
from pydantic import Field, ValidationError

from opencram.errors import UserError
from opencram.fileio import atomic_write_text
from opencram.geo import azimuth_rad
from opencram.scenario.schema import (
    MAX_SENSORS,
    BiasAngleMrad,
    BiasRangeM,
    Model,
    Name,
    non_negative_up_to,
    whole_between,
)
from opencram.sense.plots import Plots
from opencram.track.classify import BALLISTIC_CLASSES
from opencram.track.history import confirmed_updates, track_classes
from opencram.track.manager import Tracker
from opencram.yamlio import problem_at, read_yaml_file, read_yaml_mapping, validation_problems

TERMS = ("bias_range_m", "bias_azimuth_mrad", "bias_elevation_mrad", "tilt_azimuth_mrad")
"""The four terms of a sensor's registration, as named in the file and the scenario."""
FILE_TO_SI = np.array([1.0, 1e-3, 1e-3, 1e-3])  # file units (m, mrad) to m, rad
FORMAT = "opencram-registration 1"
N_ARC = 7  # arc parameters per track: the ballistic state at its reference time
# finite-difference steps of the arc parameters: m, m/s, cm²/kg
_ARC_STEP = np.array([1.0, 1.0, 1.0, 0.05, 0.05, 0.05, 0.01])
# Levenberg damping of the arc blocks (keeps a nearly flat drag direction solvable)
_ARC_DAMPING = np.array([1e-6, 1e-6, 1e-6, 1e-4, 1e-4, 1e-4, 1e-2])
_MAD_TO_SIGMA = 1.4826
_HELD_PRIOR_INV = 1e12  # a held term's prior: 1 µm, 1 µrad
_MAX_RHO = 0.99  # lag-1 autocorrelation cap (inflation at most 199)


# --- records ------------------------------------------------------------------------------


@dataclass(frozen=True)
class SensorRegistration:
    """One sensor's estimated systematic errors, in the file's units (m, mrad), with their
    standard errors (NaN: not estimated) and whether the data fixed each term."""

    id: str
    estimate: tuple[float, float, float, float]
    sigma: tuple[float, float, float, float] = (np.nan,) * 4
    observable: tuple[bool, bool, bool, bool] = (True,) * 4
    tracks: int = 0
    plots: int = 0

    def as_dict(self) -> dict:
        """The sensor's entry in a registration file."""
        d: dict = {"id": self.id}
        d.update({t: round(float(v), 4) + 0.0 for t, v in zip(TERMS, self.estimate, strict=True)})
        if np.isfinite(self.sigma).all():
            d["sigma"] = {t: round(float(v), 4) for t, v in zip(TERMS, self.sigma, strict=True)}
        d["observable"] = {t: bool(v) for t, v in zip(TERMS, self.observable, strict=True)}
        d["tracks"], d["plots"] = int(self.tracks), int(self.plots)
        return d


@dataclass(frozen=True)
class Registration:
    """Every registered sensor's errors, and when and from what they were estimated."""

    sensors: tuple[SensorRegistration, ...]
    created_utc: str = ""
    source: dict = field(default_factory=dict)

    def biases_si(self, sensor_ids) -> np.ndarray:
        """``(len(sensor_ids), 4)`` biases in m and rad, in the order of ``sensor_ids``
        (zeros for a sensor the registration does not name)."""
        out = np.zeros((len(sensor_ids), 4))
        row = {s: k for k, s in enumerate(sensor_ids)}
        for r in self.sensors:
            if r.id in row:
                out[row[r.id]] = np.asarray(r.estimate, float) * FILE_TO_SI
        return out

    def as_dict(self) -> dict:
        doc: dict = {"format": FORMAT, "created_utc": self.created_utc}
        if self.source:
            doc["source"] = dict(self.source)
        doc["sensors"] = [s.as_dict() for s in self.sensors]
        return doc


# --- the correction -----------------------------------------------------------------------


def correct_plots(plots: Plots, bias_si: np.ndarray | None) -> Plots:
    """``plots`` with their sensors' systematic errors taken out (the inverse of the error
    model in the module docstring)::

        el = el' - b_el,   az = az' - b_az - a tan(el),   r = max(r' - b_r, 0)

    ``bias_si`` ``(n_sensors, 4)`` is indexed by ``plots.sensor`` (``Registration.biases_si``).
    The one correction ``opencram track`` and the live service both apply; with None or all
    zeros the plots come back as they are."""
    if bias_si is None or not len(plots) or not np.any(bias_si):
        return plots
    b = np.asarray(bias_si, float)[plots.sensor]
    el = plots.el_rad - b[:, 2]
    az = np.mod(plots.az_rad - b[:, 1] - b[:, 3] * np.tan(el), 2 * np.pi)
    rng = np.maximum(plots.range_m - b[:, 0], 0.0)
    return Plots(
        time_s=plots.time_s,
        sensor=plots.sensor,
        range_m=rng,
        az_rad=az,
        el_rad=el,
        range_rate_mps=plots.range_rate_mps,
        snr_db=plots.snr_db,
        arrival_s=plots.arrival_s,
        truth_id=plots.truth_id,
        mode3a=plots.mode3a,
    )


# --- the plots of the arcs ------------------------------------------------------------------


@dataclass(frozen=True)
class RegistrationOptions:
    """Settings of :func:`estimate_registration` (see the module docstring)."""

    min_plots: int = 30  # a track with fewer plots is not used
    min_span_s: float = 5.0  # nor one shorter than this
    iterations: int = 10
    huber_k: float = 2.0
    reject_sigma: float = 6.0
    prior_sigma: tuple[float, float, float, float] = (100.0, 0.1, 0.1, 0.1)  # m, rad
    # a term whose standard error is above this (m, mrad) is held at 0: too loosely fixed by
    # the data to help (module docstring)
    max_sigma: tuple[float, float, float, float] = (5.0, 1.0, 1.0, 2.0)
    classes: tuple[str, ...] = tuple(c for c in BALLISTIC_CLASSES if c != "unknown")
    skip_first_s: float = 2.5  # each sensor's first plots on a round (acquisition)
    merge_gate_m: float = 150.0  # tracks of one round: their paths agree this closely
    merge_gap_s: float = 5.0  # or one starts within this of the other's end


@dataclass(frozen=True)
class ArcPlots:
    """The plots of the rounds used, as arrays over plots ``(n,)`` sorted by round, sensor
    and time, and each round's starting arc ``x0 (K, 7)`` at ``t_ref_s (K,)``."""

    track: np.ndarray  # index 0..K-1 of the plot's track
    sensor: np.ndarray
    t_s: np.ndarray
    z: np.ndarray  # (n, 3) range m, az rad, el rad
    x0: np.ndarray
    t_ref_s: np.ndarray


def _match_plots(plots: Plots, sensor, t_s, pos_enu_m, sensor_pos) -> np.ndarray:
    """Index into ``plots`` of each update's plot: the same sensor and time (to 1 µs); of
    several, the one nearest the update's position; -1 if none."""
    order = np.lexsort((plots.time_s, plots.sensor))
    key_s, key_t = plots.sensor[order], plots.time_s[order]
    lo = np.searchsorted(key_s, sensor, "left")
    hi = np.searchsorted(key_s, sensor, "right")
    out = np.full(sensor.size, -1)
    first = np.empty(sensor.size, dtype=np.int64)
    for s in np.unique(sensor):  # a loop over sensors, not plots
        m = sensor == s
        first[m] = lo[m] + np.searchsorted(key_t[lo[m][0] : hi[m][0]], t_s[m] - 1e-6)
    cand = first[:, None] + np.arange(4)[None, :]
    ok = cand < hi[:, None]
    cand = np.minimum(cand, len(plots) - 1)
    ok &= (key_s[cand] == sensor[:, None]) & (np.abs(key_t[cand] - t_s[:, None]) <= 1e-6)
    if not ok.any():
        return out
    p = plots.take(order[cand.ravel()])
    pos = _plot_enu(p, sensor_pos).reshape(*cand.shape, 3)
    dist = np.where(ok, np.linalg.norm(pos - pos_enu_m[:, None, :], axis=2), np.inf)
    best = np.argmin(dist, axis=1)
    found = ok[np.arange(sensor.size), best]
    out[found] = order[cand[np.arange(sensor.size), best]][found]
    return out


def _plot_enu(p: Plots, sensor_pos: np.ndarray) -> np.ndarray:
    ce = np.cos(p.el_rad)
    u = np.column_stack([ce * np.sin(p.az_rad), ce * np.cos(p.az_rad), np.sin(p.el_rad)])
    return sensor_pos[p.sensor] + p.range_m[:, None] * u


def _track_updates(tracker: Tracker, classes: tuple[str, ...]) -> dict[int, list]:
    by_track = confirmed_updates(tracker)
    names = track_classes(tracker, by_track) if by_track else {}
    return {k: v for k, v in by_track.items() if names.get(k) in classes}


@dataclass(frozen=True)
class _TrackPath:
    """One confirmed track's updates: times (m,), sensors (m,), states (m, 7)."""

    t_s: np.ndarray
    sensor: np.ndarray
    x: np.ndarray


def _paths(tracker: Tracker, classes: tuple[str, ...]) -> list[_TrackPath]:
    chosen = _track_updates(tracker, classes)
    out = []
    for tid in sorted(chosen):  # a loop over tracks to gather them, once
        ups = chosen[tid]
        out.append(
            _TrackPath(
                np.array([u.t_s for u in ups]),
                np.array([u.sensor for u in ups]),
                np.array([u.x for u in ups]),
            )
        )
    return out


def _same_round(model, a: _TrackPath, b: _TrackPath, gate_m: float, max_gap_s: float) -> bool:
    """Whether two tracks follow one round: where their times overlap, their positions
    agree within ``gate_m`` (median of ten times); where ``b`` starts after ``a`` ends
    (within ``max_gap_s``), ``a``'s last state flown to ``b``'s first time lands there."""
    lo, hi = max(a.t_s[0], b.t_s[0]), min(a.t_s[-1], b.t_s[-1])
    if hi - lo > 0.0:
        t = np.linspace(lo, hi, 10)
        pa = np.column_stack([np.interp(t, a.t_s, a.x[:, j]) for j in range(3)])
        pb = np.column_stack([np.interp(t, b.t_s, b.x[:, j]) for j in range(3)])
        return bool(np.median(np.linalg.norm(pa - pb, axis=1)) < gate_m)
    first, second = (a, b) if a.t_s[-1] <= b.t_s[0] else (b, a)
    gap = second.t_s[0] - first.t_s[-1]
    if gap > max_gap_s:
        return False
    flown = model.propagate_state(first.x[-1:], np.array([gap]))[0, :3]
    return bool(np.linalg.norm(flown - second.x[0, :3]) < gate_m)


def round_groups(model, paths: list[_TrackPath], options) -> np.ndarray:
    """A group label per track: tracks of one round (on one sensor split in two, or on two
    sensors) share one arc, which is what makes the sensors' offsets observable against
    each other. Union-find over the pairs that pass :func:`_same_round`."""
    label = np.arange(len(paths))

    def root(i: int) -> int:
        while label[i] != i:
            i = label[i]
        return i

    t0 = np.array([p.t_s[0] for p in paths])
    t1 = np.array([p.t_s[-1] for p in paths])
    near = (t0[None, :] <= t1[:, None] + options.merge_gap_s) & (
        t1[None, :] >= t0[:, None] - options.merge_gap_s
    )
    for i, j in zip(*np.nonzero(np.triu(near, 1)), strict=True):  # pairs close in time only
        if root(i) != root(j) and _same_round(
            model, paths[i], paths[j], options.merge_gate_m, options.merge_gap_s
        ):
            label[root(j)] = root(i)
    return np.array([root(i) for i in range(len(paths))])


def _after_acquisition(plots: Plots, idx: np.ndarray, skip_s: float) -> np.ndarray:
    """The plots ``idx`` of one round less each sensor's first ``skip_s`` seconds on it (the
    antenna servo settling: issue 13 measured angle errors of about 20 mrad at the first
    plot and 2-4 mrad for about 2.5 s, correlated, which a robust weight does not see)."""
    if skip_s <= 0.0 or not idx.size:
        return idx
    s, t = plots.sensor[idx], plots.time_s[idx]
    first = np.full(int(s.max()) + 1, np.inf)
    np.minimum.at(first, s, t)
    return idx[t >= first[s] + skip_s]


def collect_arcs(tracker: Tracker, plots: Plots, options: RegistrationOptions) -> ArcPlots:
    """The plots each confirmed ballistic track was updated with (matched on sensor and
    time), the tracks of one round joined (:func:`round_groups`), of the rounds with at least
    ``min_plots`` over ``min_span_s``; each round's arc starts from the state of its update
    nearest the middle of its plots."""
    paths = _paths(tracker, options.classes)
    if not paths:
        return ArcPlots(*(np.zeros(0, int),) * 2, np.zeros(0), np.zeros((0, 3)), *_no_arcs())
    sensor_pos = np.array([s.pos_enu_m for s in tracker.sensors], float).reshape(-1, 3)
    group = round_groups(tracker.model, paths, options)
    rows, x0, t_ref = [], [], []
    for g in np.unique(group):  # a loop over rounds
        mine = [paths[k] for k in np.flatnonzero(group == g)]
        t = np.concatenate([p.t_s for p in mine])
        x = np.concatenate([p.x for p in mine])
        idx = _match_plots(plots, np.concatenate([p.sensor for p in mine]), t, x[:, :3], sensor_pos)
        idx = _after_acquisition(plots, np.unique(idx[idx >= 0]), options.skip_first_s)
        if idx.size < options.min_plots or np.ptp(plots.time_s[idx]) < options.min_span_s:
            continue
        idx = idx[np.lexsort((plots.time_s[idx], plots.sensor[idx]))]
        mid = int(np.argmin(np.abs(t - np.median(plots.time_s[idx]))))
        rows.append(np.column_stack([np.full(idx.size, len(x0)), idx]))
        x0.append(x[mid].copy())
        t_ref.append(t[mid])
    if not rows:
        return ArcPlots(*(np.zeros(0, int),) * 2, np.zeros(0), np.zeros((0, 3)), *_no_arcs())
    r = np.concatenate(rows)
    p = plots.take(r[:, 1])
    z = np.column_stack([p.range_m, p.az_rad, p.el_rad])
    return ArcPlots(r[:, 0], p.sensor, p.time_s, z, np.array(x0), np.array(t_ref))


def _no_arcs():
    return np.zeros((0, N_ARC)), np.zeros(0)


# --- the Gauss-Newton solve -------------------------------------------------------------------


def _aer(d: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    horiz = np.hypot(d[..., 0], d[..., 1])
    return np.hypot(horiz, d[..., 2]), azimuth_rad(d), np.arctan2(d[..., 2], horiz)


def _predict(model, arcs: ArcPlots, x0: np.ndarray, b: np.ndarray, sensor_pos) -> np.ndarray:
    """h_i for every plot (n, 3); ``x0`` (K, 7) or perturbed copies (m, K, 7) -> (m, n, 3)."""
    lead = x0.shape[:-2]
    xs = x0[..., arcs.track, :].reshape(-1, N_ARC)
    dt = np.tile(arcs.t_s - arcs.t_ref_s[arcs.track], int(np.prod(lead, dtype=int)))
    pos = model.propagate_state(xs, dt)[:, :3].reshape(*lead, -1, 3)
    r, az, el = _aer(pos - sensor_pos[arcs.sensor])
    bs = b[arcs.sensor]
    return np.stack([r + bs[:, 0], az + bs[:, 1] + bs[:, 3] * np.tan(el), el + bs[:, 2]], -1)


def _residual(z: np.ndarray, h: np.ndarray) -> np.ndarray:
    e = z - h
    e[..., 1] = np.mod(e[..., 1] + np.pi, 2 * np.pi) - np.pi
    return e


def _arc_jacobian(model, arcs, x0, b, sensor_pos, h0) -> np.ndarray:
    """A_i = dh_i / dx_k (n, 3, 7) by forward differences, every track and parameter in
    one batch."""
    pert = np.repeat(x0[None], N_ARC, axis=0)
    pert[np.arange(N_ARC), :, np.arange(N_ARC)] += _ARC_STEP[:, None]
    h = _predict(model, arcs, pert, b, sensor_pos)  # (7, n, 3)
    dh = _residual(h, h0[None])  # h - h0 with the azimuth wrapped
    return np.transpose(dh / _ARC_STEP[:, None, None], (1, 2, 0))


def _bias_jacobian(arcs: ArcPlots, el_rad: np.ndarray) -> np.ndarray:
    """B_i = dh_i / db_s (n, 3, 4)."""
    out = np.zeros((el_rad.size, 3, 4))
    out[:, 0, 0] = out[:, 1, 1] = out[:, 2, 2] = 1.0
    out[:, 1, 3] = np.tan(el_rad)
    return out


def _lag1(e: np.ndarray, arcs: ArcPlots, n_sensors: int) -> np.ndarray:
    """Lag-1 autocorrelation (n_sensors, 3) of consecutive residuals of one round and
    sensor (plots are sorted by round, sensor and time)."""
    same = (arcs.track[1:] == arcs.track[:-1]) & (arcs.sensor[1:] == arcs.sensor[:-1])
    s = arcs.sensor[1:][same]
    num = np.zeros((n_sensors, 3))
    den = np.zeros((n_sensors, 3))
    np.add.at(num, s, e[1:][same] * e[:-1][same])
    np.add.at(den, s, 0.5 * (e[1:][same] ** 2 + e[:-1][same] ** 2))
    with np.errstate(invalid="ignore", divide="ignore"):
        rho = num / den
    return np.clip(np.nan_to_num(rho), 0.0, _MAX_RHO)


def _weights(e: np.ndarray, arcs: ArcPlots, n_sensors: int, options) -> np.ndarray:
    """W_i's diagonal (n, 3): robust scale, Huber weight and effective-sample-size
    inflation per sensor and axis (module docstring)."""
    scale = np.ones((n_sensors, 3))
    for s in np.unique(arcs.sensor):  # a loop over sensors
        scale[s] = _MAD_TO_SIGMA * np.median(np.abs(e[arcs.sensor == s]), axis=0)
    scale = np.maximum(scale, [1e-3, 1e-6, 1e-6])
    u = np.abs(e) / scale[arcs.sensor]
    w = np.minimum(1.0, options.huber_k / np.maximum(u, 1e-12))
    w[u > options.reject_sigma] = 0.0
    rho = _lag1(e * (w > 0), arcs, n_sensors)
    inflate = (1.0 + rho) / (1.0 - rho)
    return w / (scale**2 * inflate)[arcs.sensor]


@dataclass(frozen=True)
class _Normal:
    """The blocks of the normal equations (module docstring)."""

    u: np.ndarray  # (K, 7, 7)
    c: np.ndarray  # (K, 7, 4S)
    g_x: np.ndarray  # (K, 7)
    v: np.ndarray  # (4S, 4S)
    g_b: np.ndarray  # (4S,)


def _normal(arcs, a_jac, b_jac, w, e, b, n_tracks, n_sensors, prior_inv) -> _Normal:
    atw = np.transpose(a_jac, (0, 2, 1)) * w[:, None, :]  # (n, 7, 3)
    btw = np.transpose(b_jac, (0, 2, 1)) * w[:, None, :]  # (n, 4, 3)
    u = np.zeros((n_tracks, N_ARC, N_ARC))
    np.add.at(u, arcs.track, atw @ a_jac)
    u += np.diag(_ARC_DAMPING)
    g_x = np.zeros((n_tracks, N_ARC))
    np.add.at(g_x, arcs.track, np.einsum("nij,nj->ni", atw, e))
    c = np.zeros((n_tracks * n_sensors, N_ARC, 4))
    np.add.at(c, arcs.track * n_sensors + arcs.sensor, atw @ b_jac)
    c = c.reshape(n_tracks, n_sensors, N_ARC, 4).transpose(0, 2, 1, 3)
    v = np.zeros((n_sensors, 4, 4))
    np.add.at(v, arcs.sensor, btw @ b_jac)
    g = np.zeros((n_sensors, 4))
    np.add.at(g, arcs.sensor, np.einsum("nij,nj->ni", btw, e))
    g -= b * prior_inv
    v += prior_inv[:, :, None] * np.eye(4)
    v_full = np.zeros((4 * n_sensors, 4 * n_sensors))
    for s in range(n_sensors):  # block-diagonal placement, one block per sensor
        v_full[4 * s : 4 * s + 4, 4 * s : 4 * s + 4] = v[s]
    return _Normal(u, c.reshape(n_tracks, N_ARC, 4 * n_sensors), g_x, v_full, g.reshape(-1))


def _solve(nq: _Normal) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(dx (K, 7), db (4S,), S^-1) by the Schur complement (module docstring)."""
    u_inv = np.linalg.inv(nq.u)
    uc = u_inv @ nq.c  # (K, 7, 4S)
    schur = nq.v - np.einsum("kia,kib->ab", nq.c, uc)
    rhs = nq.g_b - np.einsum("kia,ki->a", uc, nq.g_x)
    cov = np.linalg.inv(schur)
    db = cov @ rhs
    dx = np.einsum("kij,kj->ki", u_inv, nq.g_x - np.einsum("kia,a->ki", nq.c, db))
    return dx, db, cov


@dataclass(frozen=True)
class Fit:
    """The solution: biases (S, 4) in m and rad with their covariance (4S, 4S), the arcs
    (K, 7), the final residuals (n, 3) and weights (n, 3)."""

    bias_si: np.ndarray
    cov_si: np.ndarray
    x0: np.ndarray
    residual: np.ndarray
    weight: np.ndarray


def fit_biases(
    model,
    arcs: ArcPlots,
    sensor_pos: np.ndarray,
    options: RegistrationOptions,
    held: np.ndarray | None = None,
) -> Fit:
    """Gauss-Newton over every arc and bias (module docstring), ``options.iterations``
    steps (stopping early once the biases move by less than 1 mm and 1 µrad). Terms where
    ``held`` (S, 4) is true are held at 0 (a prior of 1 µm or 1 nrad)."""
    n_sensors, n_tracks = sensor_pos.shape[0], arcs.x0.shape[0]
    prior_inv = np.tile(1.0 / np.asarray(options.prior_sigma, float) ** 2, (n_sensors, 1))
    if held is not None:
        prior_inv[held] = _HELD_PRIOR_INV
    x0, b = arcs.x0.copy(), np.zeros((n_sensors, 4))
    cov = np.diag(1.0 / prior_inv.ravel())
    for _ in range(options.iterations):
        h = _predict(model, arcs, x0, b, sensor_pos)
        e = _residual(arcs.z, h)
        w = _weights(e, arcs, n_sensors, options)
        el = h[:, 2] - b[arcs.sensor, 2]  # the arc's own elevation, without b_el
        nq = _normal(
            arcs,
            _arc_jacobian(model, arcs, x0, b, sensor_pos, h),
            _bias_jacobian(arcs, el),
            w,
            e,
            b,
            n_tracks,
            n_sensors,
            prior_inv,
        )
        dx, db, cov = _solve(nq)
        x0 = x0 + dx
        x0[:, 6] = np.maximum(x0[:, 6], 0.0)
        b = b + db.reshape(n_sensors, 4)
        if np.all(np.abs(db) < np.tile([1e-3, 1e-6, 1e-6, 1e-6], n_sensors)):
            break
    h = _predict(model, arcs, x0, b, sensor_pos)
    e = _residual(arcs.z, h)
    return Fit(b, cov, x0, e, _weights(e, arcs, n_sensors, options))


def fit_with_holds(model, arcs: ArcPlots, sensor_pos: np.ndarray, options) -> tuple:
    """:func:`fit_biases`, then again with every term whose standard error is above
    ``max_sigma`` held at 0, until no further term needs holding (a held term can leave a
    term correlated with it less well fixed: an azimuth offset and the tilt of a radar that
    sees a narrow band of elevations). Returns the fit, the standard errors (S, 4; a held
    term's from the last fit it was free in) and which terms were estimated."""
    limit = np.asarray(options.max_sigma) * FILE_TO_SI
    held = np.zeros((sensor_pos.shape[0], 4), dtype=bool)
    sigma_si = np.full(held.shape, np.inf)
    for _ in range(4):  # each pass holds at least one more term, or stops
        fit = fit_biases(model, arcs, sensor_pos, options, held=held if held.any() else None)
        sigma = np.sqrt(np.diag(fit.cov_si)).reshape(-1, 4)
        sigma_si = np.where(held, sigma_si, sigma)
        more = ~held & (sigma >= limit)
        if not more.any():
            break
        held |= more
    else:
        fit = fit_biases(model, arcs, sensor_pos, options, held=held)
    return fit, sigma_si, ~held


def estimate_registration(
    tracker: Tracker,
    plots: Plots,
    *,
    options: RegistrationOptions | None = None,
    source: dict | None = None,
) -> Registration:
    """Each sensor's systematic errors from the plots of the confirmed ballistic tracks of
    ``tracker`` (which was fed ``plots``), with standard errors; a sensor no usable track
    saw is left out. See the module docstring for the equations."""
    options = options or RegistrationOptions()
    arcs = collect_arcs(tracker, plots, options)
    ids = [s.id for s in tracker.sensors]
    created = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    if not arcs.x0.shape[0]:
        return Registration((), created, dict(source or {}))
    sensor_pos = np.array([s.pos_enu_m for s in tracker.sensors], float).reshape(-1, 3)
    fit, sigma_si, observable = fit_with_holds(tracker.model, arcs, sensor_pos, options)
    out = []
    for s in np.unique(arcs.sensor):  # one record per sensor seen
        mine = arcs.sensor == s
        out.append(
            SensorRegistration(
                ids[s],
                tuple(float(v) for v in fit.bias_si[s] / FILE_TO_SI),
                tuple(float(v) for v in sigma_si[s] / FILE_TO_SI),
                tuple(bool(v) for v in observable[s]),
                tracks=int(np.unique(arcs.track[mine]).size),
                plots=int(mine.sum()),
            )
        )
    return Registration(tuple(out), created, dict(source or {}))


def combine(applied: Registration | None, residual: Registration) -> Registration:
    """The registration to save after a run that applied ``applied``: its terms plus the
    ``residual`` ones estimated on the corrected plots (sigmas and counts: the residual's)."""
    if applied is None:
        return residual
    base = {s.id: np.asarray(s.estimate, float) for s in applied.sensors}
    out = [
        SensorRegistration(
            r.id,
            tuple(float(v) for v in base.get(r.id, 0.0) + np.asarray(r.estimate)),
            r.sigma,
            r.observable,
            r.tracks,
            r.plots,
        )
        for r in residual.sensors
    ]
    seen = {r.id for r in residual.sensors}
    out += [s for s in applied.sensors if s.id not in seen]
    return Registration(tuple(out), residual.created_utc, residual.source)


# --- the file ---------------------------------------------------------------------------------

SigmaValue = non_negative_up_to(1e6)


class _Sigmas(Model):
    bias_range_m: SigmaValue | None = None
    bias_azimuth_mrad: SigmaValue | None = None
    bias_elevation_mrad: SigmaValue | None = None
    tilt_azimuth_mrad: SigmaValue | None = None


class _Observable(Model):
    bias_range_m: bool = True
    bias_azimuth_mrad: bool = True
    bias_elevation_mrad: bool = True
    tilt_azimuth_mrad: bool = True


class _Entry(Model):
    id: Name
    bias_range_m: BiasRangeM = 0.0
    bias_azimuth_mrad: BiasAngleMrad = 0.0
    bias_elevation_mrad: BiasAngleMrad = 0.0
    tilt_azimuth_mrad: BiasAngleMrad = 0.0
    sigma: _Sigmas | None = None
    observable: _Observable | None = None
    tracks: whole_between(0, 10**9) = 0
    plots: whole_between(0, 10**12) = 0


class _File(Model):
    format: Literal["opencram-registration 1"]
    created_utc: str = ""
    source: dict = Field(default_factory=dict)
    sensors: Annotated[list[_Entry], Field(max_length=MAX_SENSORS)]  # empty: no correction


def _model_at(path: tuple) -> type[Model]:
    if "sigma" in path:
        return _Sigmas
    if "observable" in path:
        return _Observable
    return _Entry if any(isinstance(p, int) for p in path) else _File


def _record(e: _Entry) -> SensorRegistration:
    sig = e.sigma or _Sigmas()
    obs = e.observable or _Observable()
    return SensorRegistration(
        e.id,
        tuple(float(getattr(e, t)) for t in TERMS),
        tuple(np.nan if getattr(sig, t) is None else float(getattr(sig, t)) for t in TERMS),
        tuple(bool(getattr(obs, t)) for t in TERMS),
        int(e.tracks),
        int(e.plots),
    )


def read_registration(path: str | Path, sensor_ids=None) -> Registration:
    """Read a registration file; every problem is one line ``FILE:LINE: field: message`` in a
    :class:`UserError`. With ``sensor_ids``, each sensor named must be one of them."""
    label = str(path)
    text = read_yaml_file(path, label)
    data, lines = read_yaml_mapping(text, label, "expected a mapping with a 'sensors:' list")
    try:
        parsed = _File.model_validate(data)
    except ValidationError as exc:
        raise UserError(*validation_problems(exc, data, lines, label, _model_at)) from None
    problems, seen = [], set()
    for i, e in enumerate(parsed.sensors):
        where = ("sensors", i, "id")
        if e.id in seen:
            problems.append(problem_at(label, lines, where, f"duplicate id '{e.id}'"))
        elif sensor_ids is not None and e.id not in sensor_ids:
            problems.append(problem_at(label, lines, where, f"'{e.id}' is not in the sensors file"))
        seen.add(e.id)
    if problems:
        raise UserError(*problems)
    recs = tuple(_record(e) for e in parsed.sensors)
    return Registration(recs, parsed.created_utc, dict(parsed.source))


def write_registration(path: str | Path, reg: Registration) -> None:
    """Write a registration file (YAML, atomically)."""
    atomic_write_text(path, yaml.safe_dump(reg.as_dict(), sort_keys=False))
