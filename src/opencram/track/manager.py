"""The multi-target tracker: gating, global-nearest-neighbour association, track start,
confirmation and deletion, and sequential multi-radar fusion, batched over tracks.

Component split (after Stone Soup's vocabulary, in plain functions over arrays):

* predictor: :class:`opencram.track.models.BallisticModel` (EKF) or
  :func:`opencram.track.ckf.ckf_predict`;
* updater: :func:`opencram.track.ekf.ekf_update` or :func:`opencram.track.ckf.ckf_update`;
* hypothesiser: :func:`opencram.track.association.gate_costs` (chi-square gate on the
  innovation of every track-plot pair);
* associator: :func:`opencram.track.association.gnn_assign` (scipy's
  ``linear_sum_assignment``);
* initiator: two-point start from unassociated plots, then M updates within a window to
  confirm (M-of-N in time);
* deleter: no update for ``coast_s``, or predicted below ground.

Plots are processed in windows of measurement time; inside a window, each sensor's plots
are one frame, applied sensor by sensor in time order (sequential fusion). Plots that
arrive late (up to the sensors' latency) are buffered and sorted before processing.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass, field

import numpy as np

from opencram.track.association import gate_costs, gate_pairs, gnn_assign
from opencram.track.ckf import ckf_predict, ckf_update
from opencram.track.ekf import ekf_update
from opencram.track.imm import IMM, IMM_DIM
from opencram.track.jpda import association_marginals, pda_update
from opencram.track.measurement import (
    innovation,
    measurement_jacobian,
    noise_cov,
    predict_measurement,
)
from opencram.track.models import DIM, BallisticModel

TENTATIVE, CONFIRMED = 0, 1


@dataclass(frozen=True)
class TrackerSensor:
    """What the tracker knows of a radar: where it is and how noisy it is."""

    id: str
    pos_enu_m: np.ndarray
    sigma_range_m: float
    sigma_az_rad: float
    sigma_el_rad: float
    sigma_range_rate_mps: float | None = None
    scan_s: float = 1.0
    latency_s: float = 0.0
    # (range m, RCS m², SNR dB) of the radar equation, to estimate RCS from plot SNR
    reference: tuple[float, float, float] | None = None


@dataclass(frozen=True)
class TrackerConfig:
    filter: str = "imm"  # "ekf", "ckf" (ballistic only) or "imm" (ballistic, CV, CT)
    association: str = "gnn"  # "gnn" or "jpda" (JPDA updates with the EKF)
    detection_prob: float = 0.9  # JPDA: probability a track's object is detected per scan
    clutter_density: float = 1e-5  # JPDA: false plots per m·rad² of range-azimuth-elevation
    gate_prob: float = 0.999  # chi-square gate probability (3 or 4 degrees of freedom)
    confirm_hits: int = 5  # M plots (the two that start a track count) of ...
    confirm_window_s: float = 3.5  # ... N scans (in time)
    coast_s: float = 3.5  # delete a confirmed track not updated for this long
    init_window_s: float = 2.5  # pair a new plot with unused plots this recent
    init_min_dt_s: float = 0.5
    init_candidates: int = 3  # tentative tracks one new plot may start
    merge_chi2: float = 11.34  # 99 % of chi-square(3): positions this close are one object
    init_speed_mps: tuple[float, float] = (15.0, 1500.0)
    kappa_prior: float = 1.5  # cm²/kg
    kappa_prior_sd: float = 1.5
    ground_margin_m: float = -30.0  # predicted below this height: the round has landed
    window_s: float = 0.5  # processing window of measurement time
    q_acc_mps2: float = 1.0
    q_kappa: float = 0.05


@dataclass
class TrackTable:
    """All live tracks as arrays (row per track)."""

    id: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    x: np.ndarray = field(default_factory=lambda: np.zeros((0, DIM)))
    p: np.ndarray = field(default_factory=lambda: np.zeros((0, DIM, DIM)))
    t_s: np.ndarray = field(default_factory=lambda: np.zeros(0))
    status: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int8))
    hits: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    born_s: np.ndarray = field(default_factory=lambda: np.zeros(0))
    # IMM only: per-model states, covariances and mode probabilities
    xm: np.ndarray = field(default_factory=lambda: np.zeros((0, 3, IMM_DIM)))
    pm: np.ndarray = field(default_factory=lambda: np.zeros((0, 3, IMM_DIM, IMM_DIM)))
    mu: np.ndarray = field(default_factory=lambda: np.zeros((0, 3)))
    rcs_dbsm: np.ndarray = field(default_factory=lambda: np.zeros(0))  # running mean, NaN

    FIELDS = ("id", "x", "p", "t_s", "status", "hits", "born_s", "xm", "pm", "mu", "rcs_dbsm")

    def __len__(self) -> int:
        return int(self.id.size)

    def keep(self, mask: np.ndarray) -> None:
        if mask.all():
            return
        for name in self.FIELDS:
            setattr(self, name, getattr(self, name)[mask])

    def append(self, other: TrackTable) -> None:
        for name in self.FIELDS:
            setattr(self, name, np.concatenate([getattr(self, name), getattr(other, name)]))


@dataclass(frozen=True)
class TrackUpdate:
    """One filter update of one track (what the outputs and metrics read)."""

    track_id: int
    t_s: float
    x: np.ndarray  # (7,)
    p: np.ndarray  # (7, 7)
    confirmed: bool
    sensor: int
    truth_id: int  # the plot's true object in simulation (-1 false alarm or unknown)
    mode_prob: tuple[float, float, float] | None = None  # IMM: ballistic, CV, CT
    n_updates: int = 0  # plots in the track so far, counting the two that started it
    rcs_dbsm: float = float("nan")  # running RCS estimate from plot SNR, if known


class UpdateLog:
    """Every filter update, stored as one batch of arrays per frame (no per-track objects
    on the hot path); indexing or iterating gives :class:`TrackUpdate` records."""

    def __init__(self) -> None:
        self._batches: list[dict[str, np.ndarray | None]] = []
        self._offsets: list[int] = []
        self._n = 0

    def append_batch(self, **arrays) -> None:
        self._batches.append(arrays)
        self._offsets.append(self._n)
        self._n += len(arrays["track_id"])

    def __len__(self) -> int:
        return self._n

    def _record(self, b: dict, k: int) -> TrackUpdate:
        mu = b["mode_prob"]
        return TrackUpdate(
            int(b["track_id"][k]),
            float(b["t_s"][k]),
            b["x"][k].copy(),
            b["p"][k].copy(),
            bool(b["confirmed"][k]),
            int(b["sensor"][k]),
            int(b["truth_id"][k]),
            None if mu is None else tuple(float(v) for v in mu[k]),
            int(b["n_updates"][k]),
            float(b["rcs_dbsm"][k]),
        )

    def __iter__(self):
        for b in self._batches:
            for k in range(len(b["track_id"])):
                yield self._record(b, k)

    def __getitem__(self, idx):
        if isinstance(idx, slice):
            start, stop, step = idx.indices(self._n)
            if step != 1:
                return list(self)[idx]
            out = []
            first = max(0, int(np.searchsorted(self._offsets, start, side="right")) - 1)
            for bi in range(first, len(self._batches)):
                b, off = self._batches[bi], self._offsets[bi]
                if off >= stop:
                    break
                for k in range(max(start - off, 0), min(stop - off, len(b["track_id"]))):
                    out.append(self._record(b, k))
            return out
        if idx < 0:
            idx += self._n
        bi = int(np.searchsorted(self._offsets, idx, side="right")) - 1
        return self._record(self._batches[bi], idx - self._offsets[bi])

    def __eq__(self, other) -> bool:
        if isinstance(other, list):
            return list(self) == other
        return NotImplemented

    def arrays(self, name: str) -> np.ndarray:
        """One field of every update, concatenated (e.g. ``arrays("t_s")``)."""
        parts = [b[name] for b in self._batches]
        if not parts:
            return np.zeros(0)
        return np.concatenate(parts)


class Tracker:
    """Feed plots with :meth:`add` (any order within the latency), call :meth:`advance`
    with the current time; read :attr:`tracks` and :attr:`updates`."""

    def __init__(
        self,
        sensors: list[TrackerSensor],
        config: TrackerConfig | None = None,
        model: BallisticModel | None = None,
    ) -> None:
        self.sensors = sensors
        self.config = config or TrackerConfig()
        self.model = model or BallisticModel(
            q_acc_mps2=self.config.q_acc_mps2, q_kappa=self.config.q_kappa
        )
        self.imm = IMM(ballistic=self.model)
        if self.config.association == "jpda" and self.config.filter != "ekf":
            raise ValueError("JPDA association works with the ekf filter")
        self.sensor_pos = np.array([s.pos_enu_m for s in sensors], dtype=float).reshape(-1, 3)
        self.max_latency_s = max((s.latency_s for s in sensors), default=0.0)
        self.tracks = TrackTable()
        self.updates = UpdateLog()
        self.deleted: list[tuple[int, float, str]] = []  # (track id, time, reason)
        self.n_late_dropped = 0
        self._next_id = 1
        self._buffer: list = []  # Plots batches not yet processed
        self._buffer_min_s = np.inf  # earliest measurement time in the buffer
        self._processed_to_s = -np.inf
        self._pool = None  # unassociated plots kept for track start: dict of arrays

    # --- input ---------------------------------------------------------------------

    def add(self, plots) -> None:
        """Queue plots (an :class:`opencram.sense.plots.Plots` batch)."""
        if len(plots):
            self._buffer.append(plots)
            self._buffer_min_s = min(self._buffer_min_s, float(plots.time_s.min()))

    def advance(self, now_s: float) -> None:
        """Process every queued plot measured before ``now_s - max latency``, then end
        tracks that have coasted too long or landed by then."""
        until = now_s - self.max_latency_s
        self._flush(until)
        self._maintain(until)

    def finish(self) -> None:
        """Process everything still queued (end of a recording)."""
        self._flush(np.inf)

    def _flush(self, until_s: float) -> None:
        """Process the queued plots of every whole window (of ``window_s`` on an absolute time
        grid) that ends by ``until_s``; so the result does not depend on how plots were
        chunked on arrival."""
        from opencram.sense.plots import Plots

        if not self._buffer:
            return
        w = self.config.window_s
        cut = np.floor(until_s / w) * w if np.isfinite(until_s) else np.inf
        if self._buffer_min_s >= cut and self._buffer_min_s >= self._processed_to_s:
            return  # no window has closed on a queued plot (and none is late): nothing to do
        allp = Plots.concat(self._buffer).sorted_by("time_s")
        late = allp.time_s < self._processed_to_s
        if late.any():  # older than what was already processed: beyond the latency
            self.n_late_dropped += int(late.sum())
            allp = allp.take(np.flatnonzero(~late))
        ready = allp.time_s < cut
        rest = allp.take(np.flatnonzero(~ready))
        self._buffer = [rest] if len(rest) else []
        self._buffer_min_s = float(rest.time_s.min()) if len(rest) else np.inf
        todo = allp.take(np.flatnonzero(ready))
        if not len(todo):
            return
        k = np.floor(todo.time_s / w).astype(np.int64)
        bounds = np.flatnonzero(np.diff(k)) + 1
        for sel in np.split(np.arange(len(todo)), bounds):
            self._process_window(todo.take(sel))
        self._processed_to_s = (
            float((k[-1] + 1) * w) if np.isfinite(cut) else float(todo.time_s[-1])
        )

    # --- one window ------------------------------------------------------------------

    def _process_window(self, plots) -> None:
        order = []
        for s in np.unique(plots.sensor):
            sel = np.flatnonzero(plots.sensor == s)
            order.append((float(np.median(plots.time_s[sel])), sel))
        for _, sel in sorted(order, key=lambda o: o[0]):
            self._process_frame(plots.take(sel))
        self._maintain(float(plots.time_s.max()))

    def _frame_arrays(self, plots):
        s = plots.sensor
        z = np.stack([plots.range_m, plots.az_rad, plots.el_rad, plots.range_rate_mps], axis=-1)
        sens = [self.sensors[i] for i in s]
        r = noise_cov(
            [q.sigma_range_m for q in sens],
            [q.sigma_az_rad for q in sens],
            [q.sigma_el_rad for q in sens],
            [q.sigma_range_rate_mps or 1.0 for q in sens],
            ~np.isnan(plots.range_rate_mps)
            & np.array([q.sigma_range_rate_mps is not None for q in sens], dtype=bool),
        )
        return z, r, self.sensor_pos[s]

    def _process_frame(self, plots) -> None:
        cfg = self.config
        z, r, spos = self._frame_arrays(plots)
        assigned_plot = np.zeros(len(plots), dtype=bool)
        if len(self.tracks):
            t_ref = float(np.median(plots.time_s))
            tr = self.tracks
            x_ref, p_ref = self._predict(np.arange(len(tr)), t_ref - tr.t_s)
            if cfg.association == "jpda":
                assigned_plot = self._update_jpda(x_ref, p_ref, t_ref, plots, z, r, spos)
                self._start_tracks(
                    plots.take(np.flatnonzero(~assigned_plot)),
                    z[~assigned_plot],
                    spos[~assigned_plot],
                )
                return
            cost, _ = gate_costs(x_ref, p_ref, t_ref, z, r, spos, plots.time_s, cfg.gate_prob)
            # confirmed tracks choose first; tentative ones share what is left
            conf = tr.status == CONFIRMED
            ti, pj = gnn_assign(np.where(conf[:, None], cost, np.inf))
            free = np.ones(len(plots), dtype=bool)
            free[pj] = False
            ti2, pj2 = gnn_assign(np.where(~conf[:, None] & free[None, :], cost, np.inf))
            ti, pj = np.concatenate([ti, ti2]), np.concatenate([pj, pj2])
            if ti.size:
                self._update(ti, pj, plots, z, r, spos)
                assigned_plot[pj] = True
        self._start_tracks(
            plots.take(np.flatnonzero(~assigned_plot)), z[~assigned_plot], spos[~assigned_plot]
        )

    def _update_jpda(self, x_ref, p_ref, t_ref, plots, z, r, spos) -> np.ndarray:
        """JPDA: marginal association probabilities by belief propagation, then a PDA update
        of every track with gated plots. Returns which plots are taken (probability >= 0.5
        of belonging to some track); the rest may start tracks."""
        cfg = self.config
        tr = self.tracks
        n, m = len(tr), len(plots)
        ti, pj, _, _, d2_3, logdet3, ok = gate_pairs(
            x_ref, p_ref, t_ref, z, r, spos, plots.time_s, cfg.gate_prob
        )
        ti, pj, d2_3, logdet3 = ti[ok], pj[ok], d2_3[ok], logdet3[ok]
        taken = np.zeros(m, dtype=bool)
        if ti.size == 0:
            return taken
        pd, pg = cfg.detection_prob, cfg.gate_prob
        density = np.exp(-0.5 * d2_3 - 0.5 * logdet3 - 1.5 * np.log(2 * np.pi))
        w = pd * density / (cfg.clutter_density * (1.0 - pd * pg))
        beta, beta0 = association_marginals(ti, pj, w, n, m)
        taken = np.bincount(pj, beta, minlength=m) >= 0.5
        # each track is updated at the time of its most probable plot
        order = np.lexsort((-beta, ti))
        first = np.r_[True, ti[order][1:] != ti[order][:-1]]
        best = order[first]  # pair index of each updated track's best plot
        upd = ti[best]
        row_of = np.full(n, -1)
        row_of[upd] = np.arange(upd.size)
        dt = plots.time_s[pj[best]] - tr.t_s[upd]
        x, p = self.model.propagate(tr.x[upd], tr.p[upd], dt)
        s_best = spos[pj[best]]
        h = measurement_jacobian(x, s_best, x.shape[1])
        rows = row_of[ti]
        nu = innovation(z[pj].copy(), predict_measurement(x[rows], s_best[rows]))
        x, p = pda_update(x, p, h, r[pj[best]], nu, rows, beta, beta0[upd])
        self._commit(upd, pj[best], plots, x, p, None)
        return taken

    def _predict(self, idx, dt):
        """Predicted 7-column states and covariances of tracks ``idx`` by ``dt`` (for gating)."""
        tr = self.tracks
        if self.config.filter == "imm":
            xm, pm, c = self.imm.predict(tr.xm[idx], tr.pm[idx], tr.mu[idx], dt)
            x, p = IMM.combine(xm, pm, c)
            return x[:, :7], p[:, :7, :7]
        return self.model.propagate(tr.x[idx], tr.p[idx], dt)

    def _update(self, ti, pj, plots, z, r, spos) -> None:
        tr = self.tracks
        dt = plots.time_s[pj] - tr.t_s[ti]
        mu = None
        if self.config.filter == "imm":
            xm, pm, c = self.imm.predict(tr.xm[ti], tr.pm[ti], tr.mu[ti], dt)
            xm, pm, mu = self.imm.update(xm, pm, c, z[pj], r[pj], spos[pj])
            tr.xm[ti], tr.pm[ti], tr.mu[ti] = xm, pm, mu
            x8, p8 = IMM.combine(xm, pm, mu)
            x, p = x8[:, :7], p8[:, :7, :7]
        elif self.config.filter == "ckf":
            x, p = ckf_predict(self.model, tr.x[ti], tr.p[ti], dt)
            x, p, _, _ = ckf_update(x, p, z[pj], r[pj], spos[pj])
        else:
            x, p = self.model.propagate(tr.x[ti], tr.p[ti], dt)
            x, p, _, _ = ekf_update(x, p, z[pj], r[pj], spos[pj])
        self._commit(ti, pj, plots, x, p, mu)

    def _commit(self, ti, pj, plots, x, p, mu) -> None:
        """Store updated states of tracks ``ti`` made from plots ``pj``; count hits, RCS,
        confirmation, and log the updates."""
        tr = self.tracks
        x[:, 6] = np.clip(x[:, 6], 0.0, 50.0)
        tr.x[ti], tr.p[ti], tr.t_s[ti] = x, p, plots.time_s[pj]
        tr.hits[ti] += 1
        rcs = self._rcs_dbsm(plots.take(pj))
        known = np.isfinite(rcs)
        old = tr.rcs_dbsm[ti]
        tr.rcs_dbsm[ti] = np.where(
            known, np.where(np.isfinite(old), 0.8 * old + 0.2 * rcs, rcs), old
        )
        promote = (tr.status[ti] == TENTATIVE) & (tr.hits[ti] >= self.config.confirm_hits)
        tr.status[ti[promote]] = CONFIRMED
        self.updates.append_batch(
            track_id=tr.id[ti],
            t_s=plots.time_s[pj],
            x=x,
            p=p,
            confirmed=tr.status[ti] == CONFIRMED,
            sensor=plots.sensor[pj],
            truth_id=plots.truth_id[pj],
            mode_prob=mu,
            n_updates=tr.hits[ti],
            rcs_dbsm=tr.rcs_dbsm[ti],
        )

    def _rcs_dbsm(self, plots) -> np.ndarray:
        """RCS (dBsm) implied by each plot's SNR through its radar's range equation."""
        out = np.full(len(plots), np.nan)
        for k, sensor in enumerate(self.sensors):
            if sensor.reference is None:
                continue
            sel = plots.sensor == k
            r_ref, rcs_ref, snr_ref = sensor.reference
            with np.errstate(divide="ignore", invalid="ignore"):
                out[sel] = (
                    plots.snr_db[sel]
                    - snr_ref
                    + 10 * np.log10(rcs_ref)
                    - 40 * np.log10(r_ref / plots.range_m[sel])
                )
        return out

    # --- track start -----------------------------------------------------------------

    def _start_tracks(self, plots, z, spos) -> None:
        from opencram.sense.plots import plots_to_enu

        cfg = self.config
        if not len(plots):
            return
        pos = plots_to_enu(plots, self.sensor_pos)
        cov = _position_cov(plots, self.sensors)
        t = plots.time_s
        pool = self._pool
        if pool is not None:
            keep = pool["t"] > t.max() - cfg.init_window_s
            pool = {k: v[keep] for k, v in pool.items()}
        used_new = np.zeros(len(plots), dtype=bool)
        if pool is not None and pool["t"].size:
            dt = t[:, None] - pool["t"][None, :]
            dp = pos[:, None, :] - pool["pos"][None, :, :]
            speed = np.linalg.norm(dp, axis=-1) / np.where(dt > 0, dt, np.inf)
            ok = (dt >= cfg.init_min_dt_s) & (speed >= cfg.init_speed_mps[0])
            ok &= speed <= cfg.init_speed_mps[1]
            # with Doppler, the pair's velocity must agree with the new plot's range rate
            rr = plots.range_rate_mps
            has_rr = ~np.isnan(rr)
            if has_rr.any():
                los = (pos - spos) / np.maximum(plots.range_m, 1.0)[:, None]
                v_pair = dp / np.where(dt > 0, dt, np.inf)[..., None]
                radial = np.einsum("nkd,nd->nk", v_pair, los)
                sig = np.array([self.sensors[i].sigma_range_rate_mps or 0.0 for i in plots.sensor])
                tol = 3.0 * sig + 0.1 * np.abs(rr) + 15.0  # gravity and noise over the pair
                ok &= ~has_rr[:, None] | (np.abs(radial - rr[:, None]) <= tol[:, None])
            # every plausible pair (up to init_candidates per new plot, nearest first) starts
            # a tentative track: in a salvo the nearest earlier plot is often another round,
            # so the tracks that keep finding plots decide (and duplicates are merged)
            dist = np.where(ok, np.linalg.norm(dp, axis=-1), np.inf)
            k = min(cfg.init_candidates, dist.shape[1])
            near = np.argsort(dist, axis=1)[:, :k]
            ni = np.repeat(np.arange(dist.shape[0]), k)
            pk = near.reshape(-1)
            good = np.isfinite(dist[ni, pk])
            ni, pk = ni[good], pk[good]
            if ni.size:
                dtt = dt[ni, pk]
                vel = dp[ni, pk] / dtt[:, None]
                vel[:, 2] -= 0.5 * 9.80665 * dtt  # first-order gravity correction
                x = np.zeros((ni.size, DIM))
                x[:, 0:3], x[:, 3:6], x[:, 6] = pos[ni], vel, cfg.kappa_prior
                p = np.zeros((ni.size, DIM, DIM))
                p[:, 0:3, 0:3] = cov[ni]
                p[:, 0:3, 3:6] = cov[ni] / dtt[:, None, None]
                p[:, 3:6, 0:3] = p[:, 0:3, 3:6]
                p[:, 3:6, 3:6] = (cov[ni] + pool["cov"][pk]) / dtt[:, None, None] ** 2
                p[:, 3:6, 3:6] += np.eye(3) * (5.0 + 9.80665 * dtt[:, None, None]) ** 2
                p[:, 6, 6] = cfg.kappa_prior_sd**2
                ids = np.arange(self._next_id, self._next_id + ni.size)
                self._next_id += ni.size
                xm, pm, mu = self.imm.init(x, p)
                new = TrackTable(
                    id=ids,
                    x=x,
                    p=p,
                    t_s=t[ni],
                    status=np.zeros(ni.size, dtype=np.int8),
                    hits=np.full(ni.size, 2, dtype=np.int64),
                    born_s=t[ni],
                    xm=xm,
                    pm=pm,
                    mu=mu,
                    rcs_dbsm=np.full(ni.size, np.nan),
                )
                self.tracks.append(new)
                used_new[ni] = True
        fresh = {"t": t[~used_new], "pos": pos[~used_new], "cov": cov[~used_new]}
        if pool is None:
            self._pool = fresh
        else:
            self._pool = {k: np.concatenate([pool[k], fresh[k]]) for k in pool}

    # --- deletion ---------------------------------------------------------------------

    def _duplicates(self, now_s: float) -> np.ndarray:
        """Duplicate tracks, compared at ``now_s`` (positions moved on linearly: tracks
        updated within the same window are at most a scan apart)."""
        tr = self.tracks
        x = tr.x.copy()
        x[:, :3] += x[:, 3:6] * (now_s - tr.t_s)[:, None]
        return _duplicate_mask(x, tr.p, tr.hits, tr.status, self.config.merge_chi2)

    def _maintain(self, now_s: float) -> None:
        cfg = self.config
        tr = self.tracks
        if not len(tr):
            return
        stale_tent = (tr.status == TENTATIVE) & (now_s - tr.born_s > cfg.confirm_window_s)
        coasted = (tr.status == CONFIRMED) & (now_s - tr.t_s > cfg.coast_s)
        landed = tr.x[:, 2] < cfg.ground_margin_m
        # fly on to now only the tracks that could be below the margin by now
        near = _may_reach_height(self.model, tr.x, now_s - tr.t_s, cfg.ground_margin_m)
        if near.any():
            x_now = self.model.propagate_state(tr.x[near], now_s - tr.t_s[near])
            landed[near] |= x_now[:, 2] < cfg.ground_margin_m
        gone = stale_tent | coasted | landed | self._duplicates(now_s)
        for i in np.flatnonzero(gone & (tr.status == CONFIRMED)):
            reason = "landed" if landed[i] else ("coasted" if coasted[i] else "merged")
            self.deleted.append((int(tr.id[i]), now_s, reason))
        tr.keep(~gone)


_DENSEST: dict[int, float] = {}


def _densest_air(env) -> float:
    """The largest air density of the environment's table (at its lowest altitude)."""
    key = id(env)
    if key not in _DENSEST:
        _DENSEST[key] = float(env.density_and_gradient(np.array([-1e9]))[0][0])
        weakref.finalize(env, _DENSEST.pop, key, None)
    return _DENSEST[key]


def _may_reach_height(model, x: np.ndarray, dt_s: np.ndarray, height_m: float) -> np.ndarray:
    """Tracks (n,) that could be below ``height_m`` after ``dt_s`` of ballistic flight.

    A conservative bound, so skipping the others changes no result: with drag (kappa >= 0)
    the speed grows by at most g dt, so the vertical acceleration is at most
    A = g + rho_max kappa |v|max^2 / 2 and the height at dt at least
    u + v_u dt - A dt^2 / 2; 1 m of slack covers the integrator's error. Tracks with a
    negative kappa or a negative dt are always flown."""
    from opencram.physics.atmosphere import G0_MPS2
    from opencram.track.models import KAPPA_SCALE

    dt = np.asarray(dt_s, dtype=float)
    rho_max = _densest_air(model.env)
    kap = x[:, 6] * KAPPA_SCALE
    v_max = np.sqrt(np.einsum("ij,ij->i", x[:, 3:6], x[:, 3:6])) + 1.01 * G0_MPS2 * dt
    acc = 1.01 * G0_MPS2 + 0.5 * rho_max * kap * v_max**2
    low = x[:, 2] + x[:, 5] * dt - 0.5 * acc * dt**2
    return (kap < 0) | (dt < 0) | (low < height_m + 1.0)


def _duplicate_mask(x, p, hits, status, merge_chi2) -> np.ndarray:
    """Tracks that repeat another (same position within the gate, velocities within 3
    sigma): of each such pair, keep the confirmed one, then the one with more plots.
    Candidate pairs come from a k-d tree on position."""
    from scipy.spatial import cKDTree

    n = x.shape[0]
    out = np.zeros(n, dtype=bool)
    if n < 2:
        return out
    var = np.linalg.eigvalsh(p[:, :3, :3])[:, -1]
    radius = np.sqrt(merge_chi2 * 2.0 * var.max())
    pairs = cKDTree(x[:, :3]).query_pairs(radius, output_type="ndarray")
    if pairs.size == 0:
        return out
    i, j = pairs[:, 0], pairs[:, 1]
    dp = x[i, :3] - x[j, :3]
    d2 = np.einsum(
        "kd,kd->k", dp, np.linalg.solve(p[i, :3, :3] + p[j, :3, :3], dp[..., None])[..., 0]
    )
    dv = x[i, 3:6] - x[j, 3:6]
    sv = p[i, 3:6, 3:6] + p[j, 3:6, 3:6]
    dv2 = np.einsum("kd,kd->k", dv, np.linalg.solve(sv, dv[..., None])[..., 0])
    same = (d2 < merge_chi2) & (dv2 < 3.0 * merge_chi2)
    rank = status.astype(float) * 1e6 + hits - np.arange(n) * 1e-9  # older rows win ties
    i, j = i[same], j[same]
    out[np.where(rank[i] < rank[j], i, j)] = True
    return out


def _position_cov(plots, sensors) -> np.ndarray:
    """ENU position covariance (n, 3, 3) of plots from their polar noise."""
    r, az, el = plots.range_m, plots.az_rad, plots.el_rad
    sr = np.array([sensors[i].sigma_range_m for i in plots.sensor])
    sa = np.array([sensors[i].sigma_az_rad for i in plots.sensor])
    se = np.array([sensors[i].sigma_el_rad for i in plots.sensor])
    ca, sa_, ce, se_ = np.cos(az), np.sin(az), np.cos(el), np.sin(el)
    # d(e, n, u) / d(r, az, el) for e = r ce sa, n = r ce ca, u = r se
    j = np.zeros((r.size, 3, 3))
    j[:, 0] = np.stack([ce * sa_, r * ce * ca, -r * se_ * sa_], -1)
    j[:, 1] = np.stack([ce * ca, -r * ce * sa_, -r * se_ * ca], -1)
    j[:, 2] = np.stack([se_, np.zeros_like(r), r * ce], -1)
    d = np.zeros((r.size, 3, 3))
    d[:, 0, 0], d[:, 1, 1], d[:, 2, 2] = sr**2, sa**2, se**2
    return j @ d @ np.swapaxes(j, 1, 2)
