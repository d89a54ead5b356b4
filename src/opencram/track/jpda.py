"""Joint probabilistic data association (JPDA) for dense salvos, batched.

Marginal association probabilities come from loopy belief propagation on the bipartite
track-plot graph (Williams & Lau, "Approximate evaluation of marginal association
probabilities with belief propagation", IEEE TAES 2014), which approximates the exact JPDA
marginals closely at a cost linear in the gated pairs, instead of enumerating joint events.
Each track is then updated with the probabilistic data association (PDA) combination of
its gated plots (Bar-Shalom, Daum & Huang, "The probabilistic data association filter",
IEEE Control Systems 2009).

For track t with gated plots j (innovation ``nu_tj``, covariance ``S_t``), detection
probability ``P_D``, gate probability ``P_G`` and clutter density ``lambda``::

    likelihood ratio   w_tj  = P_D N(nu_tj; 0, S_t) / (lambda (1 - P_D P_G))
    belief propagation (messages per gated pair, iterated to a fixed point)
                       mu_tj = w_tj / (1 + sum_{j' != j} w_tj' nu_tj')     track -> plot
                       nu_tj = 1 / (1 + sum_{t' != t} mu_t'j)              plot -> track
    marginals          beta_tj = w_tj nu_tj / (1 + sum_j' w_tj' nu_tj')
                       beta_t0 = 1 / (1 + sum_j' w_tj' nu_tj')             track missed

    PDA update         K      = P^- H^T S^-1
                       nu_t   = sum_j beta_tj nu_tj                        combined innovation
                       x      = x^- + K nu_t
                       P^c    = P^- - K S K^T
                       P~     = K (sum_j beta_tj nu_tj nu_tj^T - nu_t nu_t^T) K^T   spread
                       P      = beta_t0 P^- + (1 - beta_t0) P^c + P~

The density uses the range-azimuth-elevation part of the innovation (3 degrees of
freedom), the frame of ``lambda``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from opencram.track.association import Assignment, PDAWeights, gate_pairs
from opencram.track.linalg import solve_cov
from opencram.track.measurement import Frame

# Belief propagation stops when no plot -> track message moves by more than BP_TOL (the
# messages are probabilities-like, in [0, 1]), or after BP_MAX_ITERATIONS sweeps (it
# converges in a few tens on dense salvos).
BP_MAX_ITERATIONS = 100
BP_TOL = 1e-9
# A plot is taken (may not start a track) when it is at least as likely to belong to some
# track as not.
TAKEN_PROB = 0.5
# ln (2 pi)^(3/2): the normalisation of the 3-dimensional Gaussian density.
LOG_NORM_3D = 1.5 * np.log(2 * np.pi)


def association_marginals(
    ti: np.ndarray,
    pj: np.ndarray,
    w: np.ndarray,
    n_tracks: int,
    n_plots: int,
    *,
    iterations: int = BP_MAX_ITERATIONS,
    tol: float = BP_TOL,
) -> tuple[np.ndarray, np.ndarray]:
    """Marginal probabilities that track ``ti[k]`` made plot ``pj[k]`` (k,), and that each
    track made none (n_tracks,).

    ``w[k]`` is the likelihood ratio of the pair against the track being missed,
    ``P_D N(nu; 0, S) / (lambda (1 - P_D P_G))``, for gated pairs only.
    """
    if ti.size == 0:
        return np.zeros(0), np.ones(n_tracks)
    nu = np.ones(ti.size)  # message plot -> track, per pair
    for _ in range(iterations):
        wn = w * nu
        row = np.bincount(ti, wn, minlength=n_tracks)  # sum over a track's plots
        mu = w / (1.0 + row[ti] - wn)  # track -> plot
        col = np.bincount(pj, mu, minlength=n_plots)  # sum over a plot's tracks
        nu_new = 1.0 / (1.0 + col[pj] - mu)
        done = np.max(np.abs(nu_new - nu)) < tol
        nu = nu_new
        if done:
            break
    wn = w * nu
    row = np.bincount(ti, wn, minlength=n_tracks)
    beta = wn / (1.0 + row[ti])
    beta0 = 1.0 / (1.0 + row)
    return beta, beta0


def pda_update(x, p, h, r, nu_pairs, ti, beta, beta0):
    """PDA update of the tracks that have gated plots.

    ``x`` (n, d), ``p`` (n, d, d) are predicted states and covariances, ``h`` (n, 4, d)
    their measurement Jacobians and ``r`` (n, 4, 4) the measurement noise of each track's
    sensor; ``nu_pairs`` (k, 4) the innovation of each gated pair, ``ti`` (k,) its track,
    ``beta`` (k,) its marginal probability and ``beta0`` (n,) each track's miss probability.
    """
    n = x.shape[0]
    ht = np.swapaxes(h, 1, 2)
    s = h @ p @ ht + r
    k = solve_cov(s, (p @ ht).swapaxes(1, 2)).swapaxes(1, 2)
    nu_bar = np.zeros((n, 4))
    np.add.at(nu_bar, ti, beta[:, None] * nu_pairs)
    spread = np.zeros((n, 4, 4))
    np.add.at(spread, ti, beta[:, None, None] * nu_pairs[:, :, None] * nu_pairs[:, None, :])
    spread -= nu_bar[:, :, None] * nu_bar[:, None, :]
    x_new = x + np.einsum("nij,nj->ni", k, nu_bar)
    kt = np.swapaxes(k, 1, 2)
    p_c = p - k @ s @ kt
    b0 = beta0[:, None, None]
    p_new = b0 * p + (1.0 - b0) * p_c + k @ spread @ kt
    return x_new, 0.5 * (p_new + np.swapaxes(p_new, 1, 2))


@dataclass(frozen=True)
class JPDAAssociator:
    """JPDA by belief propagation: soft association of every gated pair; each track with
    gated plots is updated at the time of its most probable plot (PDA update,
    :meth:`opencram.track.filters.EKFFilter.update_pda`)."""

    gate_prob: float
    detection_prob: float
    clutter_density: float

    def associate(self, confirmed, x_ref, p_ref, t_ref, frame: Frame) -> Assignment:
        """Soft-assign ``frame`` to the tracks predicted to ``t_ref`` (``confirmed`` is
        not used: every track competes alike)."""
        n, m = x_ref.shape[0], len(frame.plots)
        ti, pj, _, _, d2_3, logdet3, ok = gate_pairs(
            x_ref,
            p_ref,
            t_ref,
            frame.z,
            frame.r,
            frame.sensor_enu_m,
            frame.plots.time_s,
            self.gate_prob,
        )
        ti, pj, d2_3, logdet3 = ti[ok], pj[ok], d2_3[ok], logdet3[ok]
        if ti.size == 0:
            none = np.zeros(0, dtype=np.intp)
            return Assignment(none, none, np.zeros(m, dtype=bool))
        pd, pg = self.detection_prob, self.gate_prob
        density = np.exp(-0.5 * d2_3 - 0.5 * logdet3 - LOG_NORM_3D)
        w = pd * density / (self.clutter_density * (1.0 - pd * pg))
        beta, beta0 = association_marginals(ti, pj, w, n, m)
        taken = np.bincount(pj, beta, minlength=m) >= TAKEN_PROB
        # each track is updated at the time of its most probable plot
        order = np.lexsort((-beta, ti))
        first = np.r_[True, ti[order][1:] != ti[order][:-1]]
        best = order[first]  # pair index of each updated track's best plot
        return Assignment(ti[best], pj[best], taken, PDAWeights(ti, pj, beta, beta0), ti, pj)
