r"""Guarded linear algebra on covariance matrices, batched: every solve, log determinant
and Cholesky factor the tracker takes goes through here (issue 17: a raw
``np.linalg.solve`` on the sum of two degenerate covariances stopped the live service).

A covariance ``A`` (symmetric, positive semi-definite in exact arithmetic) can reach the
tracker singular or indefinite: a sensor sigma of 1e-300 squares to zero, repeated updates
with one plot at one instant collapse a block, rounding makes a tiny eigenvalue negative.
The fast path is the plain one (LU solve, ``slogdet``, Cholesky), so well-posed inputs give
bit-identical results. Only the matrices where it fails (singular, not definite, or giving
a non-finite result) are repaired, one by one, by flooring their eigenvalues::

    A = V diag(w) V^T                       symmetric eigen-decomposition of (A + A^T) / 2
    w_floor = max(EIG_FLOOR_REL * max(w), EIG_FLOOR_ABS)
    A~ = V diag(max(w, w_floor)) V^T        the repaired matrix (condition <= 1e9)
    A~^-1 b = V diag(1 / max(w, w_floor)) V^T b,   ln det A~ = sum ln max(w, w_floor)

A matrix with a non-finite entry has no repair: its results are NaN (a NaN distance fails
every gate test, so such a pair never associates), and no exception is raised.
"""

from __future__ import annotations

import numpy as np

# Eigenvalue floor of a repaired matrix: at least EIG_FLOOR_REL times its largest (a
# condition number of 1e9, well inside double precision), and at least EIG_FLOOR_ABS (the
# variance of 1 micrometre or 1 microradian: below any radar's accuracy).
EIG_FLOOR_REL = 1e-9
EIG_FLOOR_ABS = 1e-12

__all__ = ["chol_cov", "logdet_cov", "max_eig_cov", "solve_cov", "solve_cov_vec"]


def _bad_rows(a: np.ndarray) -> np.ndarray:
    """Matrices (n,) of a stack (n, d, d) that are not comfortably positive definite:
    a non-finite entry, or a smallest eigenvalue at or below the floor."""
    finite = np.isfinite(a).all(axis=(-1, -2))
    bad = ~finite
    if finite.any():
        w = np.linalg.eigvalsh(0.5 * (a[finite] + np.swapaxes(a[finite], -1, -2)))
        floor = np.maximum(EIG_FLOOR_REL * w[:, -1], EIG_FLOOR_ABS)
        bad[finite] = w[:, 0] <= floor
    return bad


def _floored_eig(a: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Floored eigenvalues (n, d), eigenvectors (n, d, d) and the finite mask (n,) of a
    stack of matrices (module docstring); non-finite matrices get NaN eigenvalues."""
    finite = np.isfinite(a).all(axis=(-1, -2))
    n, d = a.shape[0], a.shape[-1]
    w = np.full((n, d), np.nan)
    v = np.tile(np.eye(d), (n, 1, 1))
    if finite.any():
        wf, vf = np.linalg.eigh(0.5 * (a[finite] + np.swapaxes(a[finite], -1, -2)))
        floor = np.maximum(EIG_FLOOR_REL * wf[:, -1:], EIG_FLOOR_ABS)
        w[finite], v[finite] = np.maximum(wf, floor), vf
    return w, v, finite


def _flat(a: np.ndarray, b: np.ndarray | None = None):
    """``a`` (..., d, d) and ``b`` (..., d, k) as stacks (n, d, d), (n, d, k)."""
    d = a.shape[-1]
    a2 = a.reshape(-1, d, d)
    return a2 if b is None else (a2, b.reshape(a2.shape[0], d, -1))


def _repaired_solve(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``A~^-1 b`` for stacks (n, d, d), (n, d, k) by floored eigenvalues."""
    w, v, finite = _floored_eig(a)
    vt_b = np.swapaxes(v, -1, -2) @ b
    out = v @ (vt_b / w[:, :, None])
    out[~finite] = np.nan
    return out


def solve_cov(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``A^-1 b`` for covariances ``a`` (..., d, d) and right-hand sides ``b`` (..., d, k),
    guarded: where the plain solve fails, the repaired ``A~`` of the module docstring."""
    try:
        with np.errstate(all="ignore"):
            x = np.linalg.solve(a, b)
        if np.isfinite(x).all():
            return x
    except np.linalg.LinAlgError:
        pass
    a2, b2 = _flat(a, b)
    out = np.empty(b2.shape)
    bad = _bad_rows(a2)
    good = ~bad
    if good.any():
        with np.errstate(all="ignore"):
            out[good] = np.linalg.solve(a2[good], b2[good])
    # a matrix that passed the eigenvalue test may still give a non-finite solve
    bad |= ~np.isfinite(out).all(axis=(-1, -2))
    if bad.any():
        out[bad] = _repaired_solve(a2[bad], b2[bad])
    return out.reshape(b.shape)


def solve_cov_vec(a: np.ndarray, v: np.ndarray) -> np.ndarray:
    """``A^-1 v`` for vectors ``v`` (..., d) (:func:`solve_cov`)."""
    return solve_cov(a, v[..., None])[..., 0]


def logdet_cov(a: np.ndarray) -> np.ndarray:
    """``ln det A`` (...,) of covariances, guarded: where ``slogdet`` finds a determinant
    that is not positive and finite, that of the repaired ``A~``."""
    with np.errstate(all="ignore"):
        sign, logdet = np.linalg.slogdet(a)
    bad = (sign <= 0) | ~np.isfinite(logdet)
    if not bad.any():
        return logdet
    w, _, finite = _floored_eig(a[bad].reshape(-1, a.shape[-1], a.shape[-1]))
    fixed = np.where(finite, np.sum(np.log(np.where(finite[:, None], w, 1.0)), axis=-1), np.nan)
    logdet = logdet.copy()
    logdet[bad] = fixed
    return logdet


def chol_cov(p: np.ndarray) -> np.ndarray:
    """Lower Cholesky factors (n, d, d) of covariances (n, d, d), guarded: the factor of
    the repaired ``A~`` where ``p`` is not positive definite (NaN where not finite)."""
    try:
        return np.linalg.cholesky(p)
    except np.linalg.LinAlgError:
        pass
    out = np.empty_like(p, dtype=float)
    bad = _bad_rows(p)
    good = ~bad
    if good.any():
        try:
            out[good] = np.linalg.cholesky(p[good])
        except np.linalg.LinAlgError:  # rounding: eigenvalues pass, factorisation fails
            bad = np.ones_like(bad)
    if bad.any():
        w, v, finite = _floored_eig(p[bad])
        rep = v @ (np.where(finite[:, None], w, 1.0)[..., None] * np.swapaxes(v, -1, -2))
        fac = np.linalg.cholesky(0.5 * (rep + np.swapaxes(rep, -1, -2)))
        fac[~finite] = np.nan
        out[bad] = fac
    return out


def max_eig_cov(p: np.ndarray) -> np.ndarray:
    """Largest eigenvalue (n,) of symmetric matrices (n, d, d); ``inf`` where an entry is
    not finite (a bound that such a matrix passes for everything, so nothing is skipped
    for it; its NaN distances then fail the gate)."""
    finite = np.isfinite(p).all(axis=(-1, -2))
    out = np.full(p.shape[0], np.inf)
    if finite.any():
        out[finite] = np.linalg.eigvalsh(p[finite])[:, -1]
    return out
