r"""Interacting multiple model (IMM) filter, batched over tracks: ballistic, nearly constant
velocity and coordinated turn, for threats that may not be ballistic (drones) and for
aircraft. Stone Soup has no IMM; this one follows Bar-Shalom, Li & Kirubarajan (2001), ch. 11.

Each track carries one state per model in a shared 8-column layout
``[e, n, u, ve, vn, vu, kappa, omega]`` (kappa used by the ballistic model, omega, the turn
rate in rad/s, by the turn model), so that mixing is consistent. With models
``j = 1..r``, Markov switching ``pi[i, j] = P(model j at k | model i at k-1)`` and mode
probabilities ``mu_i``, one cycle is::

    interaction (mixing)
        c_j         = sum_i pi[i, j] mu_i                      predicted mode probability
        w[i, j]     = pi[i, j] mu_i / c_j                      mixing weights
        x0_j        = sum_i w[i, j] x_i
        P0_j        = sum_i w[i, j] (P_i + (x_i - x0_j)(x_i - x0_j)^T)
    model-matched filtering
        x_j^-, P_j^- = EKF prediction of (x0_j, P0_j) with model j  (models.propagate_ekf)
        x_j, P_j     = EKF update with the plot                     (ekf.ekf_update)
        Lambda_j     = N(nu_j; 0, S_j)                              innovation likelihood
    mode probability update
        mu_j        = Lambda_j c_j / sum_l Lambda_l c_l            (then floored, see below)
    combination (output only; the model states are kept apart)
        x           = sum_j mu_j x_j
        P           = sum_j mu_j (P_j + (x_j - x)(x_j - x)^T)

The combined estimate's first 7 columns are the track's ballistic state. The likelihood is
evaluated in logs without the common ``(2 pi)^(-d/2)`` factor (it cancels in the ratio).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from opencram.track.ekf import ekf_update
from opencram.track.linalg import logdet_cov, solve_cov_vec
from opencram.track.models import (
    KAPPA_MAX_CM2_PER_KG,
    KAPPA_MIN_CM2_PER_KG,
    BallisticModel,
    ConstantVelocityModel,
    CoordinatedTurnModel,
    _kernels,
    propagate_ekf,
)

IMM_DIM = 8
N_MODES = 3
MODEL_NAMES = ("ballistic", "cv", "ct")

# Default switching: a ballistic round stays ballistic (0.97, the rest split evenly), a
# drone or aircraft keeps its mode (0.94) and turns or straightens (0.05) far more readily
# than it turns ballistic (0.01). Mean sojourn 1 / (1 - stay): some 33 and 17 updates.
STAY_BALLISTIC = 0.97
STAY_MANOEUVRE = 0.94
SWITCH_CV_CT = 0.05
TO_BALLISTIC = 0.01
# Mode probabilities a new track starts with: most radar threats here are rounds.
PRIOR_MODE_PROB = (0.6, 0.3, 0.1)
# Turn-rate standard deviation a new track starts with, rad/s (about 3 deg/s: a gentle
# turn; the turn model's random walk takes it from there).
OMEGA_PRIOR_SD_RADPS = 0.05
# No mode probability goes below this after an update: a model that fell to zero could
# never win again (the product Lambda c stays zero), so the IMM could not switch back.
MODE_PROB_FLOOR = 1e-6
# Guard for divisions by, and logs of, a predicted mode probability c_j of zero (a
# transition matrix with a zero column): far below any real value (with the floor above
# and the default transition, c_j >= 1e-8), and above the smallest normal double (2.2e-308).
PROB_TINY = 1e-300


def _default_transition() -> np.ndarray:
    leave = (1 - STAY_BALLISTIC) / 2
    return np.array(
        [
            [STAY_BALLISTIC, leave, leave],
            [TO_BALLISTIC, STAY_MANOEUVRE, SWITCH_CV_CT],
            [TO_BALLISTIC, SWITCH_CV_CT, STAY_MANOEUVRE],
        ]
    )


def _clip_kappa(x: np.ndarray) -> None:
    """Clip the kappa column of model states (n, r, d) in place."""
    x[:, :, 6] = np.clip(x[:, :, 6], KAPPA_MIN_CM2_PER_KG, KAPPA_MAX_CM2_PER_KG)


@dataclass(frozen=True)
class IMM:
    """Model set and Markov switching matrix ``transition[i, j] = P(j at k+1 | i at k)``."""

    ballistic: BallisticModel = field(default_factory=BallisticModel)
    cv: ConstantVelocityModel = field(default_factory=ConstantVelocityModel)
    ct: CoordinatedTurnModel = field(default_factory=CoordinatedTurnModel)
    transition: np.ndarray = field(default_factory=_default_transition)
    prior: tuple[float, float, float] = PRIOR_MODE_PROB
    robust_dof: float | None = None
    """Student-t degrees of freedom of each model's robust EKF update
    (:func:`opencram.track.ekf.ekf_update`); None: the plain update."""

    @property
    def models(self):
        return (self.ballistic, self.cv, self.ct)

    def init(self, x7: np.ndarray, p7: np.ndarray):
        """Model-conditioned states (n, 3, 8), covariances (n, 3, 8, 8) and mode
        probabilities (n, 3) from a 7-column start (turn rate 0, sd
        :data:`OMEGA_PRIOR_SD_RADPS`)."""
        n = x7.shape[0]
        x = np.zeros((n, IMM_DIM))
        x[:, :7] = x7
        p = np.zeros((n, IMM_DIM, IMM_DIM))
        p[:, :7, :7] = p7
        p[:, 7, 7] = OMEGA_PRIOR_SD_RADPS**2
        xm = np.repeat(x[:, None], N_MODES, axis=1)
        pm = np.repeat(p[:, None], N_MODES, axis=1)
        mu = np.tile(np.asarray(self.prior, dtype=float), (n, 1))
        return xm, pm, mu

    def mixing_weights(self, mu):
        """Predicted mode probabilities ``c_j = sum_i pi[i, j] mu_i`` (n, r) and mixing
        weights ``w[i, j] = pi[i, j] mu_i / c_j`` (n, r, r)."""
        c = mu @ self.transition  # (n, 3)
        w = mu[:, :, None] * self.transition[None, :, :] / np.maximum(c[:, None, :], PROB_TINY)
        return c, w

    def mix(self, xm, pm, mu):
        """Interaction step: mixed initial conditions ``x0_j = sum_i w[i, j] x_i``,
        ``P0_j = sum_i w[i, j] (P_i + (x_i - x0_j)(x_i - x0_j)^T)`` per model and the
        predicted mode probabilities ``c_j`` (module docstring), compiled
        (``opencram.track._kernels.imm_mix_rows``: the same numbers as
        :meth:`mix_reference`)."""
        c, w = self.mixing_weights(mu)
        x0, p0 = _kernels().imm_mix_rows(_f64(xm), _f64(pm), w)
        return x0, p0, c

    def mix_reference(self, xm, pm, mu):
        """:meth:`mix` in numpy (the reference the kernel is tested against)."""
        c, w = self.mixing_weights(mu)
        x0 = np.einsum("nij,nid->njd", w, xm)
        d = xm[:, :, None, :] - x0[:, None, :, :]  # (n, i, j, d)
        p0 = np.einsum("nij,nide->njde", w, pm) + np.einsum("nij,nijd,nije->njde", w, d, d)
        return x0, p0, c

    def predict(self, xm, pm, mu, dt_s):
        """Mix, then predict each model by dt_s (n,). Returns (xm, pm, c)."""
        x0, p0, c = self.mix(xm, pm, mu)
        out_x, out_p = np.empty_like(x0), np.empty_like(p0)
        for j, model in enumerate(self.models):
            out_x[:, j], out_p[:, j] = propagate_ekf(model, x0[:, j], p0[:, j], dt_s)
        _clip_kappa(out_x)
        return out_x, out_p, c

    def update(self, xm, pm, c, z, r, sensor_enu_m):
        """Model-matched EKF updates, and the mode probabilities
        ``mu_j = Lambda_j c_j / sum_l Lambda_l c_l`` from the innovation likelihoods,
        floored at :data:`MODE_PROB_FLOOR` and renormalised."""
        n = xm.shape[0]
        new_x, new_p = np.empty_like(xm), np.empty_like(pm)
        loglik = np.empty((n, N_MODES))
        for j in range(N_MODES):
            x, p, nu, s = ekf_update(xm[:, j], pm[:, j], z, r, sensor_enu_m, self.robust_dof)
            new_x[:, j], new_p[:, j] = x, p
            logdet = logdet_cov(s)
            d2 = np.einsum("ni,ni->n", nu, solve_cov_vec(s, nu))
            loglik[:, j] = -0.5 * (d2 + logdet)
        _clip_kappa(new_x)
        logw = loglik + np.log(np.maximum(c, PROB_TINY))
        logw -= logw.max(axis=1, keepdims=True)  # the largest weight is exp(0): no underflow
        mu = np.exp(logw)
        mu /= mu.sum(axis=1, keepdims=True)
        mu = np.maximum(mu, MODE_PROB_FLOOR)
        mu /= mu.sum(axis=1, keepdims=True)
        return new_x, new_p, mu

    @staticmethod
    def combine(xm, pm, mu):
        """Mixture mean ``x = sum_j mu_j x_j`` (n, 8) and covariance
        ``P = sum_j mu_j (P_j + (x_j - x)(x_j - x)^T)`` (n, 8, 8): the combination step,
        compiled (``opencram.track._kernels.imm_combine_rows``: the same numbers as
        :meth:`combine_reference`)."""
        return _kernels().imm_combine_rows(_f64(xm), _f64(pm), _f64(mu))

    @staticmethod
    def combine_reference(xm, pm, mu):
        """:meth:`combine` in numpy (the reference the kernel is tested against)."""
        x = np.einsum("nj,njd->nd", mu, xm)
        d = xm - x[:, None, :]
        p = np.einsum("nj,njde->nde", mu, pm) + np.einsum("nj,njd,nje->nde", mu, d, d)
        return x, p


def _f64(a: np.ndarray) -> np.ndarray:
    """``a`` as a C-contiguous float array (what the compiled kernels take)."""
    return np.ascontiguousarray(a, dtype=float)
