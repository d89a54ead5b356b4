"""Motion models for tracking, batched over tracks.

The ballistic state of a track is ``x = [e, n, u, ve, vn, vu, kappa]`` (ENU metres, m/s)
with ``kappa`` the drag parameter ``Cd A / m`` in cm²/kg (1e-4 m²/kg): a radar cannot know
a round's drag, so it is estimated. Dynamics::

    dp/dt = v
    dv/dt = -0.5 rho(u) (kappa * 1e-4) |v - w(u)| (v - w(u)) - g z
    dkappa/dt = 0 (+ random walk)

with the air density ``rho`` and wind ``w`` of the model's environment: the met the
defender has (a scenario's ``environment.met`` profile), or by default the standard
atmosphere and no wind.

``propagate`` integrates the state with RK4 in substeps and the covariance with the
second-order transition matrix ``I + A h + A^2 h^2 / 2`` of the Jacobian ``A``, adding
piecewise-constant white-acceleration noise on velocity and a random walk on kappa.
Every function takes arrays of shape (n, 7) and (n, 7, 7) and per-track step lengths (n,).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from opencram.physics import environment as env_mod
from opencram.physics.atmosphere import G0_MPS2
from opencram.physics.environment import Environment

DIM = 7
KAPPA_SCALE = 1e-4  # state units (cm²/kg) to m²/kg
MAX_SUBSTEP_S = 0.5  # longest RK4 substep, s (see substeps)
# Most substeps of one prediction: 2000 of MAX_SUBSTEP_S is 1000 s, five times the longest
# ballistic flight; a longer prediction takes longer substeps instead (less accurate, but
# bounded: issue 17 saw a plot stamped far from the others ask for about 3e9 substeps).
MAX_SUBSTEPS = 2000
# Speed floor of the drag Jacobian (its v v^T / |v| term), m/s: a state at rest.
MIN_SPEED_MPS = 1e-6
# Bounds the filters clip kappa to after each step (cm²/kg): drag never pushes a round
# forward, so kappa is not negative; 50 is more than an order of magnitude above the rounds'
# kappa (of order 1, the tracker's prior is 1.5), so a larger value only comes from a filter
# that lost its drag estimate, and clipping keeps it from flying the track into the ground.
KAPPA_MIN_CM2_PER_KG = 0.0
KAPPA_MAX_CM2_PER_KG = 50.0
# Process noise defaults, shared by BallisticModel and opencram.track.config.TrackerConfig
# (the tracker's ballistic model): white acceleration m/s² per sqrt(s), kappa random walk
# cm²/kg per sqrt(s).
DEFAULT_Q_ACC_MPS2 = 1.0
DEFAULT_Q_KAPPA = 0.05


def _calm_wind_tables() -> tuple[np.ndarray, ...]:
    n = round((env_mod.AIR_TABLE_MAX_M - env_mod.AIR_TABLE_MIN_M) / env_mod.AIR_TABLE_STEP_M) + 1
    out = (np.zeros(n), np.zeros(n - 1), np.zeros(n), np.zeros(n - 1))
    for arr in out:
        arr.setflags(write=False)
    return out


_CALM_WIND = _calm_wind_tables()  # east, east slope, north, north slope: all zero


def _kernels():
    """The compiled kernels module, imported on first use."""
    from opencram.track import _kernels  # deferred: numba is heavy to import (about 1 s)

    return _kernels


@dataclass(frozen=True)
class BallisticModel:
    """Ballistic motion with an estimated drag parameter.

    ``q_acc_mps2`` is the spectral density scale of the white acceleration noise (m/s^2 per
    sqrt(s)); ``q_kappa`` the random-walk rate of kappa (cm²/kg per sqrt(s)).
    """

    env: Environment = field(default_factory=Environment)
    q_acc_mps2: float = DEFAULT_Q_ACC_MPS2
    q_kappa: float = DEFAULT_Q_KAPPA

    def air_density(self, up_m):
        """Density and its height derivative at ENU heights."""
        return self.env.density_and_gradient(up_m)

    def wind(self, up_m) -> tuple[np.ndarray, np.ndarray]:
        """Wind velocity (m, 3) and its height derivative (m, 3) at ENU heights, from the
        5 m wind table the compiled kernels read (:meth:`air_table`)."""
        we, we_d, wn, wn_d = self._wind_tables
        if we is _CALM_WIND[0]:
            zero = np.zeros((np.size(up_m), 3))
            return zero, zero
        alt = self.env.site_alt_m + np.asarray(up_m, dtype=float)
        lo, hi, step = env_mod.AIR_TABLE_MIN_M, env_mod.AIR_TABLE_MAX_M, env_mod.AIR_TABLE_STEP_M
        xx = (np.minimum(np.maximum(alt, lo), hi) - lo) / step
        i = np.minimum(xx.astype(np.intp), we.size - 2)
        f = xx - i
        zero = np.zeros_like(f)
        w = np.stack([we[i] + f * we_d[i], wn[i] + f * wn_d[i], zero], axis=-1)
        dw = np.stack([we_d[i] / step, wn_d[i] / step, zero], axis=-1)
        return w, dw

    @cached_property
    def _wind_tables(self) -> tuple[np.ndarray, ...]:
        """East and north wind on the 5 m grid of the density table, and their neighbour
        differences (shared zero tables when calm)."""
        if self.env.wind.is_calm:
            return _CALM_WIND
        alt = np.arange(
            env_mod.AIR_TABLE_MIN_M,
            env_mod.AIR_TABLE_MAX_M + env_mod.AIR_TABLE_STEP_M,
            env_mod.AIR_TABLE_STEP_M,
        )
        w = self.env.wind.at(alt)
        out = []
        for k in range(2):
            tab = np.ascontiguousarray(w[:, k], dtype=float)
            out += [tab, tab[1:] - tab[:-1]]
        return tuple(out)

    def deriv(self, x: np.ndarray) -> np.ndarray:
        """dx/dt for states (m, 7)."""
        rho, _ = self.air_density(x[:, 2])
        v = x[:, 3:6]
        vr = v - self.wind(x[:, 2])[0]
        speed = np.sqrt(np.einsum("ij,ij->i", vr, vr))
        k = 0.5 * rho * x[:, 6] * KAPPA_SCALE * speed
        out = np.empty_like(x)
        out[:, 0:3] = v
        out[:, 3:6] = -k[:, None] * vr
        out[:, 5] -= G0_MPS2
        out[:, 6:] = 0.0
        return out

    @property
    def dim(self) -> int:
        return DIM

    def jacobian(self, x: np.ndarray) -> np.ndarray:
        """A = d(dx/dt)/dx, shape (m, 7, 7)."""
        m, dim = x.shape
        rho, d_rho = self.air_density(x[:, 2])
        w, dw = self.wind(x[:, 2])
        v = x[:, 3:6] - w  # air-relative velocity
        speed = np.maximum(np.sqrt(np.einsum("ij,ij->i", v, v)), MIN_SPEED_MPS)
        kap = x[:, 6] * KAPPA_SCALE
        a = np.zeros((m, dim, dim))
        a[:, 0, 3] = a[:, 1, 4] = a[:, 2, 5] = 1.0
        # d(dv/dt)/dv = -0.5 rho kappa (|v_r| I + v_r v_r^T / |v_r|), v_r = v - w(u)
        outer = v[:, :, None] * v[:, None, :] / speed[:, None, None]
        a[:, 3:6, 3:6] = (-0.5 * rho * kap)[:, None, None] * (
            speed[:, None, None] * np.eye(3) + outer
        )
        # d/du: the density's change, and the wind shear's (v_r changes by -dw/du)
        a[:, 3:6, 2] = (-0.5 * d_rho * kap * speed)[:, None] * v
        a[:, 3:6, 2] -= np.einsum("mij,mj->mi", a[:, 3:6, 3:6], dw)
        a[:, 3:6, 6] = (-0.5 * rho * KAPPA_SCALE * speed)[:, None] * v
        return a

    def process_noise(self, h: np.ndarray, dim: int = DIM) -> np.ndarray:
        """Q (m, dim, dim) for step lengths h (m,)."""
        out = _white_acc_noise(h, dim, self.q_acc_mps2)
        out[:, 6, 6] = self.q_kappa**2 * h
        return out

    def step_state_reference(self, x: np.ndarray, h: np.ndarray) -> np.ndarray:
        """One RK4 step of the state for step lengths h (m,), in numpy: the reference
        that the compiled ``step_state`` is tested against."""
        hc = h[:, None]
        k1 = self.deriv(x)
        k2 = self.deriv(x + 0.5 * hc * k1)
        k3 = self.deriv(x + 0.5 * hc * k2)
        k4 = self.deriv(x + hc * k3)
        return x + hc / 6.0 * (k1 + 2 * k2 + 2 * k3 + k4)

    def air_table(self) -> tuple:
        """The density and wind tables and constants the compiled kernels use
        (opencram.track._kernels): the environment's weather profile if it has one, else
        its standard atmosphere; its wind (zero tables when calm)."""
        rho, _, rho_d, _ = self.env.tables()
        return (
            rho,
            rho_d,
            float(self.env.site_alt_m),
            env_mod.AIR_TABLE_MIN_M,
            env_mod.AIR_TABLE_MAX_M,
            env_mod.AIR_TABLE_STEP_M,
            G0_MPS2,
            KAPPA_SCALE,
            *self._wind_tables,
        )

    def step_state(self, x: np.ndarray, h: np.ndarray) -> np.ndarray:
        """One RK4 step of the state for step lengths h (m,)."""
        x = np.ascontiguousarray(x, dtype=float)
        h = np.ascontiguousarray(np.broadcast_to(np.asarray(h, dtype=float), (x.shape[0],)))
        return _kernels().rk4_rows(x, h, np.ones(x.shape[0], dtype=np.int64), self.air_table())

    def propagate_state(self, x: np.ndarray, dt_s: np.ndarray) -> np.ndarray:
        """States (m, 7) advanced by dt_s (m,) (may be negative: backwards in time)."""
        x = np.ascontiguousarray(x, dtype=float)
        n_i, h_i = substeps(np.broadcast_to(np.asarray(dt_s, dtype=float), (x.shape[0],)))
        return _kernels().rk4_rows(
            x, np.ascontiguousarray(h_i), n_i.astype(np.int64), self.air_table()
        )

    def propagate(self, x: np.ndarray, p: np.ndarray, dt_s: np.ndarray):
        """EKF prediction of states (m, d) and covariances (m, d, d) by dt_s (m,)."""
        return propagate_ekf(self, x, p, dt_s)


def substeps(dt_s) -> tuple[np.ndarray, np.ndarray]:
    """Per-track substep count and length: at most MAX_SUBSTEP_S each (up to MAX_SUBSTEPS
    of them; a longer gap takes longer ones), so a track's result does not depend on
    which other tracks share its batch."""
    dt = np.asarray(dt_s, dtype=float)
    n = np.clip(np.ceil(np.abs(np.nan_to_num(dt)) / MAX_SUBSTEP_S), 1, MAX_SUBSTEPS)
    n = n.astype(np.int64)
    return n, dt / n


def propagate_ekf(model, x: np.ndarray, p: np.ndarray, dt_s: np.ndarray):
    """EKF prediction: RK4 on the state and ``I + A h + (A h)^2 / 2`` on the covariance,
    in substeps. The three models here run compiled (``opencram.track._kernels``); any
    other model exposing ``deriv``, ``jacobian`` and ``process_noise`` runs the numpy
    :func:`propagate_ekf_reference`, which the kernel is tested against."""
    kern = _kernels()
    if isinstance(model, BallisticModel):
        kind, air, q_extra = kern.BALLISTIC, model.air_table(), model.q_kappa
    elif isinstance(model, CoordinatedTurnModel):
        kind, air, q_extra = kern.COORDINATED_TURN, _NO_AIR, model.q_omega_radps
    elif isinstance(model, ConstantVelocityModel):
        kind, air, q_extra = kern.CONSTANT_VELOCITY, _NO_AIR, 0.0
    else:
        return propagate_ekf_reference(model, x, p, dt_s)
    x = np.ascontiguousarray(x, dtype=float)
    n_i, h_i = substeps(np.broadcast_to(np.asarray(dt_s, dtype=float), (x.shape[0],)))
    return kern.ekf_predict_rows(
        kind,
        x,
        np.ascontiguousarray(p, dtype=float),
        n_i.astype(np.int64),
        np.ascontiguousarray(h_i),
        air,
        float(model.q_acc_mps2),
        float(q_extra),
    )


def propagate_ekf_reference(model, x: np.ndarray, p: np.ndarray, dt_s: np.ndarray):
    """EKF prediction in numpy with any model exposing ``deriv``, ``jacobian``,
    ``process_noise``: RK4 on the state and ``I + A h + (A h)^2 / 2`` on the covariance,
    in substeps."""
    n_i, h_i = substeps(dt_s)
    dim = x.shape[1]
    eye = np.eye(dim)
    for k in range(int(n_i.max(initial=0))):
        h = np.where(k < n_i, h_i, 0.0)  # each track takes its own number of substeps
        q = model.process_noise(np.abs(h), dim)
        a = model.jacobian(x)
        ah = a * h[:, None, None]
        phi = eye + ah + 0.5 * ah @ ah
        hc = h[:, None]
        k1 = model.deriv(x)
        k2 = model.deriv(x + 0.5 * hc * k1)
        k3 = model.deriv(x + 0.5 * hc * k2)
        k4 = model.deriv(x + hc * k3)
        x = x + hc / 6.0 * (k1 + 2 * k2 + 2 * k3 + k4)
        p = phi @ p @ np.swapaxes(phi, 1, 2) + q
    return x, 0.5 * (p + np.swapaxes(p, 1, 2))


@dataclass(frozen=True)
class ConstantVelocityModel:
    """Nearly constant velocity: white acceleration noise, the extra states held."""

    q_acc_mps2: float = 1.0

    def deriv(self, x):
        out = np.zeros_like(x)
        out[:, 0:3] = x[:, 3:6]
        return out

    def jacobian(self, x):
        m, dim = x.shape
        a = np.zeros((m, dim, dim))
        a[:, 0, 3] = a[:, 1, 4] = a[:, 2, 5] = 1.0
        return a

    def process_noise(self, h, dim=DIM):
        return _white_acc_noise(h, dim, self.q_acc_mps2)


@dataclass(frozen=True)
class CoordinatedTurnModel:
    """Horizontal coordinated turn at the estimated rate ``omega`` (state column 7, rad/s)
    with level-ish vertical motion; needs an 8-column state."""

    q_acc_mps2: float = 1.0
    q_omega_radps: float = 0.02

    def deriv(self, x):
        out = np.zeros_like(x)
        w = x[:, 7]
        out[:, 0:3] = x[:, 3:6]
        out[:, 3] = -w * x[:, 4]
        out[:, 4] = w * x[:, 3]
        return out

    def jacobian(self, x):
        m, dim = x.shape
        a = np.zeros((m, dim, dim))
        a[:, 0, 3] = a[:, 1, 4] = a[:, 2, 5] = 1.0
        w = x[:, 7]
        a[:, 3, 4] = -w
        a[:, 3, 7] = -x[:, 4]
        a[:, 4, 3] = w
        a[:, 4, 7] = x[:, 3]
        return a

    def process_noise(self, h, dim=DIM + 1):
        out = _white_acc_noise(h, dim, self.q_acc_mps2)
        out[:, 7, 7] = self.q_omega_radps**2 * h
        return out


def _white_acc_noise(h, dim, q_acc):
    """Piecewise white-acceleration noise on position and velocity (Bar-Shalom et al. 2001,
    6.2.2) for step lengths h (m,), zero on the other states."""
    q = q_acc**2
    m = h.shape[0]
    out = np.zeros((m, dim, dim))
    i3 = np.eye(3)
    out[:, 0:3, 0:3] = (q * h**3 / 3.0)[:, None, None] * i3
    out[:, 0:3, 3:6] = (q * h**2 / 2.0)[:, None, None] * i3
    out[:, 3:6, 0:3] = out[:, 0:3, 3:6]
    out[:, 3:6, 3:6] = (q * h)[:, None, None] * i3
    return out


def propagate_to_height(
    model: BallisticModel,
    x: np.ndarray,
    height_up_m: float = 0.0,
    *,
    backward: bool = False,
    max_time_s: float = 200.0,
    step_s: float = 0.25,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Fly ballistic states (m, >=7) forward (or backward in time) until they cross
    ``height_up_m`` (scalar or per state) descending (ascending, going backward). Returns
    the states at the
    crossing (m, d), the signed time to reach it (m,), and whether it was reached (m,).
    The crossing is interpolated linearly inside the last step.
    """
    x = np.ascontiguousarray(x, dtype=float)
    hgt = np.ascontiguousarray(np.broadcast_to(np.asarray(height_up_m, dtype=float), x.shape[:1]))
    out, t, done = _kernels().to_height_rows(
        x,
        hgt,
        -1.0 if backward else 1.0,
        float(step_s),
        int(np.ceil(max_time_s / step_s)),
        model.air_table(),
    )
    return out, t, done


# a placeholder density table for the compiled kernels of models without drag (the same
# types as BallisticModel.air_table, so one compiled version serves all three models)
_NO_AIR = (np.zeros(2), np.zeros(1), 0.0, 0.0, 1.0, 1.0, 0.0, 0.0)
_NO_AIR = (*_NO_AIR, *(np.zeros(2), np.zeros(1)) * 2)  # and calm wind tables
