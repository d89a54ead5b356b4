"""Interacting multiple model (IMM) filter, batched over tracks: ballistic, nearly constant
velocity and coordinated turn, for threats that may not be ballistic (drones) and for
aircraft. Stone Soup has no IMM; this one follows Bar-Shalom, Li & Kirubarajan (2001), ch. 11.

Each track carries one state per model in a shared 8-column layout
``[e, n, u, ve, vn, vu, kappa, omega]`` (kappa used by the ballistic model, omega, the turn
rate in rad/s, by the turn model), so that mixing is consistent. The combined estimate is
the probability-weighted mixture; its first 7 columns are the track's ballistic state.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from opencram.track.ekf import ekf_update
from opencram.track.models import (
    BallisticModel,
    ConstantVelocityModel,
    CoordinatedTurnModel,
    propagate_ekf,
)

IMM_DIM = 8
MODEL_NAMES = ("ballistic", "cv", "ct")


def _default_transition() -> np.ndarray:
    stay = 0.97
    return np.array(
        [[stay, (1 - stay) / 2, (1 - stay) / 2], [0.01, 0.94, 0.05], [0.01, 0.05, 0.94]]
    )


@dataclass(frozen=True)
class IMM:
    """Model set and Markov switching matrix ``transition[i, j] = P(j at k+1 | i at k)``."""

    ballistic: BallisticModel = field(default_factory=BallisticModel)
    cv: ConstantVelocityModel = field(default_factory=ConstantVelocityModel)
    ct: CoordinatedTurnModel = field(default_factory=CoordinatedTurnModel)
    transition: np.ndarray = field(default_factory=_default_transition)
    prior: tuple[float, float, float] = (0.6, 0.3, 0.1)

    @property
    def models(self):
        return (self.ballistic, self.cv, self.ct)

    def init(self, x7: np.ndarray, p7: np.ndarray):
        """Model-conditioned states (n, 3, 8), covariances (n, 3, 8, 8) and mode
        probabilities (n, 3) from a 7-column start."""
        n = x7.shape[0]
        x = np.zeros((n, IMM_DIM))
        x[:, :7] = x7
        p = np.zeros((n, IMM_DIM, IMM_DIM))
        p[:, :7, :7] = p7
        p[:, 7, 7] = 0.05**2
        xm = np.repeat(x[:, None], 3, axis=1)
        pm = np.repeat(p[:, None], 3, axis=1)
        mu = np.tile(np.asarray(self.prior, dtype=float), (n, 1))
        return xm, pm, mu

    def mix(self, xm, pm, mu):
        """IMM interaction step: mixed initial conditions per model and predicted weights."""
        c = mu @ self.transition  # (n, 3): predicted mode probabilities
        w = mu[:, :, None] * self.transition[None, :, :] / np.maximum(c[:, None, :], 1e-300)
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
        out_x[:, :, 6] = np.clip(out_x[:, :, 6], 0.0, 50.0)
        return out_x, out_p, c

    def update(self, xm, pm, c, z, r, sensor_enu_m):
        """Model-matched EKF updates and mode probabilities from the innovation likelihoods."""
        n = xm.shape[0]
        new_x, new_p = np.empty_like(xm), np.empty_like(pm)
        loglik = np.empty((n, 3))
        for j in range(3):
            x, p, nu, s = ekf_update(xm[:, j], pm[:, j], z, r, sensor_enu_m)
            new_x[:, j], new_p[:, j] = x, p
            _, logdet = np.linalg.slogdet(s)
            d2 = np.einsum("ni,ni->n", nu, np.linalg.solve(s, nu[..., None])[..., 0])
            loglik[:, j] = -0.5 * (d2 + logdet)
        new_x[:, :, 6] = np.clip(new_x[:, :, 6], 0.0, 50.0)
        logw = loglik + np.log(np.maximum(c, 1e-300))
        logw -= logw.max(axis=1, keepdims=True)
        mu = np.exp(logw)
        mu /= mu.sum(axis=1, keepdims=True)
        mu = np.maximum(mu, 1e-6)
        mu /= mu.sum(axis=1, keepdims=True)
        return new_x, new_p, mu

    @staticmethod
    def combine(xm, pm, mu):
        """Mixture mean (n, 8) and covariance (n, 8, 8)."""
        x = np.einsum("nj,njd->nd", mu, xm)
        d = xm - x[:, None, :]
        p = np.einsum("nj,njde->nde", mu, pm) + np.einsum("nj,njd,nje->nde", mu, d, d)
        return x, p
