"""The multi-target tracker: sequential multi-radar fusion of plots into tracks, batched
over tracks, from components in Stone Soup's vocabulary:

* filter (predictor and updater): :mod:`opencram.track.filters` (EKF, CKF or IMM, picked
  once from :attr:`TrackerConfig.filter`);
* hypothesiser and associator: :mod:`opencram.track.association` (chi-square gate, then
  global nearest neighbour) or :mod:`opencram.track.jpda` (JPDA by belief propagation);
* initiator: :class:`opencram.track.initiator.TwoPointInitiator` (two-point start with a
  speed and Doppler check; M-of-N confirmation is counted here, on update);
* deleter: :class:`opencram.track.deleter.Deleter` (landed, coasted, unconfirmed in time,
  duplicate).

Plots are queued (:class:`opencram.track.buffer.PlotBuffer`) and processed in windows of
measurement time; re-sent plots are dropped (:class:`opencram.track.buffer.RepeatFilter`);
inside a window each sensor's plots are one frame per revisit (a single frame for a
radar whose revisit period is not shorter than the window, one per 0.05 s for a 20 Hz
radar), applied in time order: associate and update (in passes, so that every plot of an
object is used), start tracks from the plots left that lie in no confirmed track's gate;
at the window's end, delete. A track is confirmed when it has its plots and moves
(:func:`is_moving`). Plots that arrive late (up to the sensors' latency) are sorted in
first.

A driver feeds plots with :meth:`Tracker.add` and moves time on with :meth:`Tracker.step`
(or, to choose its own latency, :meth:`Tracker.flush` and :meth:`Tracker.maintain`), and
calls :meth:`Tracker.finish` at the end of a recording.
"""

from __future__ import annotations

import numpy as np

from opencram.sense.plots import Plots
from opencram.track.association import Assignment, GNNAssociator, PDAWeights
from opencram.track.buffer import PlotBuffer, RepeatFilter
from opencram.track.config import TrackerConfig, TrackerSensor
from opencram.track.deleter import Deleter
from opencram.track.filters import FilterUpdate, make_filter
from opencram.track.initiator import TwoPointInitiator
from opencram.track.jpda import JPDAAssociator
from opencram.track.measurement import Frame, frame_of, plot_rcs_dbsm
from opencram.track.models import (
    KAPPA_MAX_CM2_PER_KG,
    KAPPA_MIN_CM2_PER_KG,
    MIN_SPEED_MPS,
    BallisticModel,
)
from opencram.track.tracks import CONFIRMED, TENTATIVE, TrackTable, TrackUpdate, UpdateLog

__all__ = [
    "CONFIRMED",
    "TENTATIVE",
    "TrackTable",
    "TrackUpdate",
    "Tracker",
    "TrackerConfig",
    "TrackerSensor",
    "UpdateLog",
]

# Running RCS estimate: exponential smoothing, weights of the old estimate and of the
# newest plot (a memory of about five plots, enough to average out RCS fluctuation).
RCS_OLD_WEIGHT = 0.8
RCS_NEW_WEIGHT = 0.2
# A high-rate sensor's window is split into revisits (Tracker._revisits): a new frame
# starts at the first plot this fraction of the revisit period or more after the current
# frame's first, so timing jitter of up to a quarter period never puts two plots of one
# object in one frame.
REVISIT_SPLIT_FRACTION = 0.75
# Association passes per frame at most (Tracker._associate): the second and later take the
# further plots of an object in one frame, in time order. 12 covers a 20 Hz radar whose
# revisit period was not given (ten plots of each object in a 0.5 s window); the bound
# keeps a flood of plots from costing more passes.
MAX_PASSES = 12


class Tracker:
    """Multi-target tracker over ``sensors``; read :attr:`tracks` (live tracks),
    :attr:`updates` (every filter update) and :attr:`deleted` (ended confirmed tracks)."""

    def __init__(
        self,
        sensors: list[TrackerSensor],
        config: TrackerConfig | None = None,
        model: BallisticModel | None = None,
    ) -> None:
        self.sensors = sensors
        self.config = cfg = config or TrackerConfig()
        self.model = model or BallisticModel(q_acc_mps2=cfg.q_acc_mps2, q_kappa=cfg.q_kappa)
        self.filter = make_filter(cfg.filter, self.model, cfg.robust_dof)
        if cfg.association == "jpda":
            self.associator = JPDAAssociator(cfg.gate_prob, cfg.detection_prob, cfg.clutter_density)
            self._update = self._update_pda
        else:
            self.associator = GNNAssociator(cfg.gate_prob)
            self._update = self._update_assigned
        self.sensor_pos = np.array([s.pos_enu_m for s in sensors], dtype=float).reshape(-1, 3)
        self.initiator = TwoPointInitiator(cfg, sensors, self.sensor_pos)
        self.deleter = Deleter(cfg, self.model)
        self.max_latency_s = max((s.latency_s for s in sensors), default=0.0)
        """The longest sensor latency, s: :meth:`step` waits this long for late plots."""
        self.tracks = TrackTable()
        self.updates = UpdateLog()
        self.deleted: list[tuple[int, float, str]] = []  # (track id, time s, reason)
        self.next_track_id = 1
        """The id the next new track gets (ids count up from it). A driver that replaces
        its tracker may carry this over so that track ids are never reused."""
        self._buffer = PlotBuffer(cfg.window_s)
        self._repeats = RepeatFilter(cfg.init_window_s)

    @property
    def n_late_dropped(self) -> int:
        """Plots dropped because they arrived after their window was processed."""
        return self._buffer.n_late_dropped

    @property
    def n_resent_dropped(self) -> int:
        """Plots dropped as sent again (:class:`opencram.track.buffer.RepeatFilter`)."""
        return self._repeats.n_dropped

    # --- the driver's seams ------------------------------------------------------------

    def add(self, plots: Plots) -> None:
        """Queue plots (any order, up to the sensors' latency late)."""
        self._buffer.add(plots)

    def step(self, now_s: float) -> None:
        """Move the tracker on to ``now_s`` (s of measurement time): process every queued
        plot measured before ``now_s - max_latency_s`` (:meth:`flush`), then end the
        tracks that have coasted or landed by then (:meth:`maintain`)."""
        until = now_s - self.max_latency_s
        self.flush(until)
        self.maintain(until)

    def flush(self, until_s: float) -> None:
        """Process the queued plots of every whole window (of ``window_s`` on an absolute
        time grid) that ends by ``until_s``; ``inf`` processes everything queued."""
        for window in self._buffer.closed_windows(until_s):
            self._process_window(window)

    def maintain(self, until_s: float) -> None:
        """Delete the tracks that have ended by ``until_s`` (unconfirmed in time, coasted,
        landed, duplicate); confirmed ones are logged in :attr:`deleted`."""
        if not len(self.tracks):
            return
        deletion = self.deleter.select(self.tracks, until_s)
        self.deleted.extend(deletion.ended)
        self.tracks.keep(~deletion.gone)

    def finish(self) -> None:
        """Process everything still queued (end of a recording): :meth:`flush` with no
        time limit."""
        self.flush(np.inf)

    # --- the main loop -----------------------------------------------------------------

    def _process_window(self, plots: Plots) -> None:
        """One window: re-sent plots dropped (:class:`RepeatFilter`); each sensor's
        plots as frames (one per revisit, see :meth:`_revisits`), all in time order; then
        deletion."""
        plots = self._repeats.drop(plots)
        if not len(plots):
            return
        order = []
        for s in np.unique(plots.sensor):
            sel = np.flatnonzero(plots.sensor == s)
            for sub in self._revisits(plots.time_s[sel], int(s)):
                order.append((float(np.median(plots.time_s[sel[sub]])), sel[sub]))
        for _, sel in sorted(order, key=lambda o: o[0]):
            self._process_frame(frame_of(plots.take(sel), self.sensors, self.sensor_pos))
        self.maintain(float(plots.time_s.max()))

    def _revisits(self, t_s: np.ndarray, sensor: int) -> list[np.ndarray]:
        """A sensor's plots in a window (times ``t_s`` sorted) split into revisits: one
        frame when its revisit period ``scan_s`` is not shorter than the window; else a
        new frame at the first plot :data:`REVISIT_SPLIT_FRACTION` of a period or more
        after the current frame's first, so that each frame holds at most one plot of an
        object (a 20 Hz radar gives ten of each round in a 0.5 s window)."""
        span = REVISIT_SPLIT_FRACTION * self.sensors[sensor].scan_s
        if span >= self.config.window_s or t_s.size < 2:
            return [np.arange(t_s.size)]
        out, i = [], 0
        while i < t_s.size:
            j = max(int(np.searchsorted(t_s, t_s[i] + span, side="left")), i + 1)
            out.append(np.arange(i, j))
            i = j
        return out

    def _process_frame(self, frame: Frame) -> None:
        """One frame: associate and update (:meth:`_associate`), then start tracks from
        the plots no track took or holds in its gate and that may start one."""
        taken = self._associate(frame) if len(self.tracks) else np.zeros(len(frame.plots), bool)
        self._initiate(frame.without(taken | ~self._may_start(frame.plots)))

    def _associate(self, frame: Frame) -> np.ndarray:
        """Associate ``frame`` with the tracks and update them, in passes; returns the
        plots (m,) that no track may start from: those used, and those inside the gate of a
        confirmed track (a confirmed track's own plots never seed a second track).

        The first pass offers every plot to every track that may be predicted to the
        frame (:meth:`Deleter.predictable`: no prediction over a gap longer than the track
        may live). A further pass offers the plots still free to the tracks just updated
        that hold a later one in their gate (two plots of one object in one frame, from a
        radar faster than its stated revisit or with jittered times), so every such plot
        is used, in time order. JPDA takes all its gated plots at once: one pass."""
        tr, m = self.tracks, len(frame.plots)
        taken = np.zeros(m, dtype=bool)
        held = np.zeros(m, dtype=bool)
        t_frame = float(np.median(frame.plots.time_s))
        rows = np.flatnonzero(self.deleter.predictable(tr, t_frame))
        near = getattr(self.filter, "near_plots", None)  # a filter may offer no bound
        if near is not None and self.config.association == "gnn":  # issue 14 point 4
            rows = rows[near(tr, rows, t_frame, frame, self.config.gate_prob)]
        t_plot = frame.plots.time_s
        for k in range(self._max_passes):
            free = np.flatnonzero(~taken)
            if rows.size == 0 or free.size == 0:
                break
            sub = frame.take(free)
            t_ref = float(np.median(sub.plots.time_s))
            x_ref, p_ref = self.filter.predict(tr, rows, t_ref - tr.t_s[rows])
            a = self.associator.associate(tr.status[rows] == CONFIRMED, x_ref, p_ref, t_ref, sub)
            a = _to_frame(a, rows, free, len(tr), m)
            held[a.gated_plots[tr.status[a.gated_rows] == CONFIRMED]] = True
            if k:  # a later pass only moves a track on in time
                a = _drop_earlier(a, tr.t_s, t_plot)
            if a.rows.size == 0:
                break
            self._commit(a, frame.plots, self._update(a, frame))
            taken |= a.taken
            gr, gp = a.gated_rows, a.gated_plots
            later = np.isin(gr, a.rows) & ~taken[gp] & (t_plot[gp] > tr.t_s[gr])
            rows = np.unique(gr[later])
        return taken | held

    def _may_start(self, plots: Plots) -> np.ndarray:
        """Plots (m,) that may start a track: all but those below their sensor's
        ``min_start_snr_db``."""
        ok = np.ones(len(plots), dtype=bool)
        for k, sensor in enumerate(self.sensors):
            if sensor.min_start_snr_db is not None:
                sel = plots.sensor == k
                ok[sel] = ~(plots.snr_db[sel] < sensor.min_start_snr_db)
        return ok

    @property
    def _max_passes(self) -> int:
        """Association passes per frame (:meth:`_associate`)."""
        return 1 if self.config.association == "jpda" else MAX_PASSES

    def _update_assigned(self, a: Assignment, frame: Frame) -> FilterUpdate:
        """Filter update of each assigned track with its plot."""
        dt = frame.plots.time_s[a.plots] - self.tracks.t_s[a.rows]
        return self.filter.update(
            self.tracks, a.rows, dt, frame.z[a.plots], frame.r[a.plots], frame.sensor_enu_m[a.plots]
        )

    def _update_pda(self, a: Assignment, frame: Frame) -> FilterUpdate:
        """PDA update of each track with gated plots, at the time of its best plot."""
        row_of = np.full(len(self.tracks), -1)
        row_of[a.rows] = np.arange(a.rows.size)
        dt = frame.plots.time_s[a.plots] - self.tracks.t_s[a.rows]
        pda = a.pda
        return self.filter.update_pda(
            self.tracks,
            a.rows,
            dt,
            frame.z[pda.plot],
            frame.r[a.plots],
            frame.sensor_enu_m[a.plots],
            row_of[pda.track],
            pda.beta,
            pda.beta0[a.rows],
        )

    def _commit(self, a: Assignment, plots: Plots, est: FilterUpdate) -> None:
        """Store the updated tracks: state, hits, RCS, confirmation; log the updates."""
        tr, ti, pj = self.tracks, a.rows, a.plots
        x = est.x
        x[:, 6] = np.clip(x[:, 6], KAPPA_MIN_CM2_PER_KG, KAPPA_MAX_CM2_PER_KG)
        if est.modes is not None:
            tr.xm[ti], tr.pm[ti], tr.mu[ti] = est.modes.xm, est.modes.pm, est.modes.mu
        tr.x[ti], tr.p[ti], tr.t_s[ti] = x, est.p, plots.time_s[pj]
        tr.hits[ti] += 1
        rcs = plot_rcs_dbsm(plots.take(pj), self.sensors)
        old = tr.rcs_dbsm[ti]
        smooth = RCS_OLD_WEIGHT * old + RCS_NEW_WEIGHT * rcs
        tr.rcs_dbsm[ti] = np.where(np.isfinite(rcs), np.where(np.isfinite(old), smooth, rcs), old)
        code = plots.mode3a[pj]
        tr.mode3a[ti] = np.where(code >= 0, code, tr.mode3a[ti])
        promote = (tr.status[ti] == TENTATIVE) & (tr.hits[ti] >= self.config.confirm_hits)
        promote &= is_moving(x, est.p, self.config.init_speed_mps[0])
        tr.status[ti[promote]] = CONFIRMED
        self.updates.append_batch(
            track_id=tr.id[ti],
            t_s=plots.time_s[pj],
            x=x,
            p=est.p,
            confirmed=tr.status[ti] == CONFIRMED,
            sensor=plots.sensor[pj],
            truth_id=plots.truth_id[pj],
            mode_prob=None if est.modes is None else est.modes.mu,
            n_updates=tr.hits[ti],
            rcs_dbsm=tr.rcs_dbsm[ti],
            mode3a=tr.mode3a[ti],
        )

    def _initiate(self, frame: Frame) -> None:
        """Start tentative tracks from the frame's plots that no track took."""
        new = self.initiator.initiate(frame.plots, frame.sensor_enu_m)
        if new is None:
            return
        n = new.t_s.size
        ids = np.arange(self.next_track_id, self.next_track_id + n)
        self.next_track_id += n
        modes = self.filter.start(new.x, new.p)
        self.tracks.append(
            TrackTable(
                id=ids,
                x=new.x,
                p=new.p,
                t_s=new.t_s,
                status=np.full(n, TENTATIVE, dtype=np.int8),
                hits=np.full(n, 2, dtype=np.int64),
                born_s=new.t_s.copy(),
                xm=modes.xm,
                pm=modes.pm,
                mu=modes.mu,
                rcs_dbsm=np.full(n, np.nan),
                mode3a=np.full(n, -1, dtype=np.int64),
            )
        )


def is_moving(x: np.ndarray, p: np.ndarray, min_speed_mps: float) -> np.ndarray:
    """States (n,) whose speed is above ``min_speed_mps`` by two standard deviations:
    ``|v| - 2 sqrt(u^T P_vv u) > min_speed_mps`` with ``u = v / |v|`` (one-sided, 97.7 %).
    A track is confirmed only when it is (the slowest object the tracker starts is
    ``init_speed_mps[0]``): a stationary return, such as the ground clutter a radar
    reports where a round has landed, never is, however many plots it gives."""
    v = x[:, 3:6]
    speed = np.sqrt(np.einsum("ij,ij->i", v, v))
    u = v / np.maximum(speed, MIN_SPEED_MPS)[:, None]
    var = np.einsum("ni,nij,nj->n", u, p[:, 3:6, 3:6], u)
    return speed - 2.0 * np.sqrt(np.maximum(var, 0.0)) > min_speed_mps


def _to_frame(a: Assignment, rows: np.ndarray, free: np.ndarray, n_tracks: int, m: int):
    """An assignment made on the track rows ``rows`` and the frame's plots ``free``, in
    the table's rows and the frame's plot indices (``m`` plots)."""
    pda = None
    if a.pda is not None:
        beta0 = np.ones(n_tracks)
        beta0[rows] = a.pda.beta0
        pda = PDAWeights(rows[a.pda.track], free[a.pda.plot], a.pda.beta, beta0)
    taken = np.zeros(m, dtype=bool)
    taken[free[a.taken]] = True
    return Assignment(
        rows[a.rows], free[a.plots], taken, pda, rows[a.gated_rows], free[a.gated_plots]
    )


def _drop_earlier(a: Assignment, track_t_s: np.ndarray, plot_t_s: np.ndarray) -> Assignment:
    """The assignment without the pairs whose plot is older than its track's last one."""
    ok = plot_t_s[a.plots] >= track_t_s[a.rows]
    if ok.all():
        return a
    taken = a.taken.copy()
    taken[a.plots[~ok]] = False
    return Assignment(a.rows[ok], a.plots[ok], taken, a.pda, a.gated_rows, a.gated_plots)
