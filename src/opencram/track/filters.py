"""The tracker's state filters behind one small protocol, batched over tracks.

A :class:`TrackFilter` starts per-track filter state, predicts tracks for gating and
updates tracks with one plot each. :func:`make_filter` picks the filter once, at the
tracker's construction, from :attr:`TrackerConfig.filter`:

* :class:`EKFFilter`: ballistic model, :func:`opencram.track.models.propagate_ekf` and
  :func:`opencram.track.ekf.ekf_update`; also the PDA update of JPDA association;
* :class:`CKFFilter`: ballistic model, :func:`opencram.track.ckf.ckf_predict` and
  :func:`opencram.track.ckf.ckf_update` (gating uses the EKF prediction, which is cheaper
  and close enough for a chi-square gate);
* :class:`IMMFilter`: :class:`opencram.track.imm.IMM` of ballistic, nearly constant
  velocity and coordinated-turn EKFs; its per-model states live in the track table.

Every filter reports the 7-column ballistic state ``[e, n, u, ve, vn, vu, kappa]``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np

from opencram.track.association import near_plot_rows
from opencram.track.ckf import ckf_predict, ckf_update
from opencram.track.config import FilterName
from opencram.track.ekf import ekf_update
from opencram.track.imm import IMM, IMM_DIM, N_MODES
from opencram.track.jpda import pda_update
from opencram.track.measurement import innovation, measurement_jacobian, predict_measurement
from opencram.track.models import DIM, BallisticModel
from opencram.track.tracks import TrackTable


@dataclass(frozen=True)
class ModeState:
    """IMM state of some tracks: per-model states (n, 3, 8), covariances (n, 3, 8, 8) and
    mode probabilities (n, 3) (ballistic, CV, CT)."""

    xm: np.ndarray
    pm: np.ndarray
    mu: np.ndarray


@dataclass(frozen=True)
class FilterUpdate:
    """Posterior of updated tracks: 7-column states (n, 7), covariances (n, 7, 7) and,
    for the IMM, the per-model state to store."""

    x: np.ndarray
    p: np.ndarray
    modes: ModeState | None = None


class TrackFilter(Protocol):
    """What the tracker needs of a filter (all batched over track rows)."""

    def start(self, x: np.ndarray, p: np.ndarray) -> ModeState:
        """Per-model state of new tracks from their 7-column start (n, 7), (n, 7, 7)."""
        ...

    def predict(
        self, tracks: TrackTable, rows: np.ndarray, dt_s: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """7-column states and covariances of ``tracks`` rows ``rows`` predicted by dt_s (s)
        (for gating: the table is not changed)."""
        ...

    def update(
        self,
        tracks: TrackTable,
        rows: np.ndarray,
        dt_s: np.ndarray,
        z: np.ndarray,
        r: np.ndarray,
        sensor_enu_m: np.ndarray,
    ) -> FilterUpdate:
        """Predict rows ``rows`` by dt_s to their plots and update each with its plot
        ``z`` (n, 4) of noise ``r`` (n, 4, 4) from a sensor at ``sensor_enu_m`` (n, 3)."""
        ...


def _no_modes(n: int) -> ModeState:
    """Zero IMM state for filters that keep none (the table keeps one layout)."""
    return ModeState(
        np.zeros((n, N_MODES, IMM_DIM)),
        np.zeros((n, N_MODES, IMM_DIM, IMM_DIM)),
        np.zeros((n, N_MODES)),
    )


@dataclass(frozen=True)
class EKFFilter:
    """Extended Kalman filter on the ballistic model (robust update with ``robust_dof``)."""

    model: BallisticModel
    robust_dof: float | None = None

    def start(self, x, p) -> ModeState:
        return _no_modes(x.shape[0])

    def predict(self, tracks, rows, dt_s):
        return self.model.propagate(tracks.x[rows], tracks.p[rows], dt_s)

    def near_plots(self, tracks, rows, t_ref, frame, gate_prob):
        """Which ``rows`` may gate a plot of ``frame`` at ``t_ref`` (the others need no
        prediction): :func:`opencram.track.association.near_plot_rows`."""
        noise = (self.model.q_acc_mps2, self.model.q_kappa, 0.0)
        x, p, dt = tracks.x[rows, None], tracks.p[rows, None], t_ref - tracks.t_s[rows]
        return near_plot_rows(x, p, dt, t_ref, frame, gate_prob, noise)

    def update(self, tracks, rows, dt_s, z, r, sensor_enu_m) -> FilterUpdate:
        x, p = self.model.propagate(tracks.x[rows], tracks.p[rows], dt_s)
        x, p, _, _ = ekf_update(x, p, z, r, sensor_enu_m, self.robust_dof)
        return FilterUpdate(x, p)

    def update_pda(self, tracks, rows, dt_s, z_pairs, r, sensor_enu_m, pair_row, beta, beta0):
        """PDA update (:func:`opencram.track.jpda.pda_update`) of rows ``rows``, each
        predicted by dt_s to the time of its most probable plot, seen from that plot's
        sensor ``sensor_enu_m`` with noise ``r``; ``z_pairs`` (k, 4) are the gated plots,
        ``pair_row`` (k,) the position in ``rows`` of each pair's track, ``beta`` (k,) the
        pairs' association probabilities and ``beta0`` (n,) each track's miss
        probability."""
        x, p = self.model.propagate(tracks.x[rows], tracks.p[rows], dt_s)
        h = measurement_jacobian(x, sensor_enu_m, x.shape[1])
        nu = innovation(z_pairs, predict_measurement(x[pair_row], sensor_enu_m[pair_row]))
        x, p = pda_update(x, p, h, r, nu, pair_row, beta, beta0)
        return FilterUpdate(x, p)


@dataclass(frozen=True)
class CKFFilter:
    """Cubature Kalman filter on the ballistic model."""

    model: BallisticModel

    def start(self, x, p) -> ModeState:
        return _no_modes(x.shape[0])

    def predict(self, tracks, rows, dt_s):
        return self.model.propagate(tracks.x[rows], tracks.p[rows], dt_s)

    def near_plots(self, tracks, rows, t_ref, frame, gate_prob):
        """Which ``rows`` may gate a plot of ``frame`` at ``t_ref`` (the others need no
        prediction): :func:`opencram.track.association.near_plot_rows`."""
        noise = (self.model.q_acc_mps2, self.model.q_kappa, 0.0)
        x, p, dt = tracks.x[rows, None], tracks.p[rows, None], t_ref - tracks.t_s[rows]
        return near_plot_rows(x, p, dt, t_ref, frame, gate_prob, noise)

    def update(self, tracks, rows, dt_s, z, r, sensor_enu_m) -> FilterUpdate:
        x, p = ckf_predict(self.model, tracks.x[rows], tracks.p[rows], dt_s)
        x, p, _, _ = ckf_update(x, p, z, r, sensor_enu_m)
        return FilterUpdate(x, p)


@dataclass(frozen=True)
class IMMFilter:
    """Interacting multiple model filter: ballistic, nearly constant velocity, turn."""

    imm: IMM

    def start(self, x, p) -> ModeState:
        return ModeState(*self.imm.init(x, p))

    def near_plots(self, tracks, rows, t_ref, frame, gate_prob):
        """Which ``rows`` may gate a plot of ``frame`` at ``t_ref`` (the others need no
        prediction): :func:`opencram.track.association.near_plot_rows` over the modes."""
        models = self.imm.models
        noise = (
            max(m.q_acc_mps2 for m in models),
            self.imm.ballistic.q_kappa,
            self.imm.ct.q_omega_radps,
        )
        dt = t_ref - tracks.t_s[rows]
        return near_plot_rows(tracks.xm[rows], tracks.pm[rows], dt, t_ref, frame, gate_prob, noise)

    def predict(self, tracks, rows, dt_s):
        xm, pm, c = self.imm.predict(tracks.xm[rows], tracks.pm[rows], tracks.mu[rows], dt_s)
        x, p = IMM.combine(xm, pm, c)
        return x[:, :DIM], p[:, :DIM, :DIM]

    def update(self, tracks, rows, dt_s, z, r, sensor_enu_m) -> FilterUpdate:
        xm, pm, c = self.imm.predict(tracks.xm[rows], tracks.pm[rows], tracks.mu[rows], dt_s)
        xm, pm, mu = self.imm.update(xm, pm, c, z, r, sensor_enu_m)
        x8, p8 = IMM.combine(xm, pm, mu)
        return FilterUpdate(x8[:, :DIM], p8[:, :DIM, :DIM], ModeState(xm, pm, mu))


def make_filter(
    name: FilterName, model: BallisticModel, robust_dof: float | None = None
) -> EKFFilter | CKFFilter | IMMFilter:
    """The filter called ``name`` on the ballistic ``model``; ``robust_dof``: the degrees
    of freedom of the robust update (EKF and IMM; the CKF keeps the plain update)."""
    if name == "imm":
        return IMMFilter(IMM(ballistic=model, robust_dof=robust_dof))
    if name == "ckf":
        return CKFFilter(model)
    return EKFFilter(model, robust_dof)
