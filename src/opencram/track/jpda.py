"""Joint probabilistic data association (JPDA) for dense salvos, batched.

Marginal association probabilities come from loopy belief propagation on the bipartite
track-plot graph (Williams & Lau, "Approximate evaluation of marginal association
probabilities with belief propagation", IEEE TAES 2014), which approximates the exact JPDA
marginals closely at a cost linear in the gated pairs, instead of enumerating joint events.
Each track is then updated with the probabilistic data association (PDA) combination of
its gated plots (Bar-Shalom, Daum & Huang, "The probabilistic data association filter",
IEEE Control Systems 2009).
"""

from __future__ import annotations

import numpy as np


def association_marginals(
    ti: np.ndarray,
    pj: np.ndarray,
    w: np.ndarray,
    n_tracks: int,
    n_plots: int,
    *,
    iterations: int = 100,
    tol: float = 1e-9,
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
    k = np.linalg.solve(s, (p @ ht).swapaxes(1, 2)).swapaxes(1, 2)
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
