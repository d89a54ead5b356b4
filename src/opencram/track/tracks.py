"""The tracker's records: the table of live tracks (arrays, a row per track) and the log
of every filter update (one batch of arrays per frame, read as :class:`TrackUpdate`)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np

from opencram.track.imm import IMM_DIM, N_MODES
from opencram.track.models import DIM

TENTATIVE, CONFIRMED = 0, 1  # values of TrackTable.status


@dataclass
class TrackTable:
    """All live tracks as arrays (row per track).

    ``x`` (n, 7) and ``p`` (n, 7, 7) are the ballistic state ``[e, n, u, ve, vn, vu, kappa]``
    (ENU m, m/s, cm²/kg) and its covariance at ``t_s`` (s), the time of the last plot;
    ``status`` is :data:`TENTATIVE` or :data:`CONFIRMED`; ``hits`` counts the plots in the
    track (the two that started it included); ``born_s`` is when it started. ``xm``, ``pm``
    and ``mu`` are the IMM's per-model states, covariances and mode probabilities (zeros
    with the other filters); ``rcs_dbsm`` the running RCS estimate (NaN until known);
    ``mode3a`` the last SSR Mode 3/A code its plots carried (-1 none yet).

    Noise and lock (issue 13 point 3; :mod:`opencram.track.noise`,
    :mod:`opencram.track.lock`): ``last_e`` (n, 3) is the standardised residual of the
    last plot (NaN before one), ``last_t_s`` and ``last_sensor`` its time and sensor (for
    the lag-1 correlation); ``cusum`` and ``low_snr_run`` the lock tests' state;
    ``good_x``, ``good_p``, ``good_t_s`` the last good state; ``lock_lost`` whether the
    radar has lost the round (the track is then no longer updated).
    """

    id: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    x: np.ndarray = field(default_factory=lambda: np.zeros((0, DIM)))
    p: np.ndarray = field(default_factory=lambda: np.zeros((0, DIM, DIM)))
    t_s: np.ndarray = field(default_factory=lambda: np.zeros(0))
    status: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int8))
    hits: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    born_s: np.ndarray = field(default_factory=lambda: np.zeros(0))
    xm: np.ndarray = field(default_factory=lambda: np.zeros((0, N_MODES, IMM_DIM)))
    pm: np.ndarray = field(default_factory=lambda: np.zeros((0, N_MODES, IMM_DIM, IMM_DIM)))
    mu: np.ndarray = field(default_factory=lambda: np.zeros((0, N_MODES)))
    rcs_dbsm: np.ndarray = field(default_factory=lambda: np.zeros(0))
    mode3a: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    last_e: np.ndarray = field(default_factory=lambda: np.zeros((0, 3)))
    last_t_s: np.ndarray = field(default_factory=lambda: np.zeros(0))
    last_sensor: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    last_z: np.ndarray = field(default_factory=lambda: np.zeros((0, 3)))
    prev_z: np.ndarray = field(default_factory=lambda: np.zeros((0, 3)))
    prev_t_s: np.ndarray = field(default_factory=lambda: np.zeros(0))
    prev_sensor: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    cusum: np.ndarray = field(default_factory=lambda: np.zeros(0))
    low_snr_run: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    good_x: np.ndarray = field(default_factory=lambda: np.zeros((0, DIM)))
    good_p: np.ndarray = field(default_factory=lambda: np.zeros((0, DIM, DIM)))
    good_t_s: np.ndarray = field(default_factory=lambda: np.zeros(0))
    lock_lost: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))

    FIELDS = (
        "id",
        "x",
        "p",
        "t_s",
        "status",
        "hits",
        "born_s",
        "xm",
        "pm",
        "mu",
        "rcs_dbsm",
        "mode3a",
        "last_e",
        "last_t_s",
        "last_sensor",
        "last_z",
        "prev_z",
        "prev_t_s",
        "prev_sensor",
        "cusum",
        "low_snr_run",
        "good_x",
        "good_p",
        "good_t_s",
        "lock_lost",
    )

    @classmethod
    def start(cls, ids, x, p, t_s, modes) -> TrackTable:
        """New tentative tracks ``ids`` (n,) from their start states ``x`` (n, 7), ``p``
        and times ``t_s`` (two plots each), with the filter's per-model ``modes``."""
        n = ids.size
        return cls(
            id=ids,
            x=x,
            p=p,
            t_s=t_s,
            status=np.full(n, TENTATIVE, dtype=np.int8),
            hits=np.full(n, 2, dtype=np.int64),
            born_s=t_s.copy(),
            xm=modes.xm,
            pm=modes.pm,
            mu=modes.mu,
            rcs_dbsm=np.full(n, np.nan),
            mode3a=np.full(n, -1, dtype=np.int64),
            last_e=np.full((n, 3), np.nan),
            last_t_s=np.full(n, np.nan),
            last_sensor=np.full(n, -1, dtype=np.int64),
            last_z=np.full((n, 3), np.nan),
            prev_z=np.full((n, 3), np.nan),
            prev_t_s=np.full(n, np.nan),
            prev_sensor=np.full(n, -1, dtype=np.int64),
            cusum=np.zeros(n),
            low_snr_run=np.zeros(n, dtype=np.int64),
            good_x=x.copy(),
            good_p=p.copy(),
            good_t_s=t_s.copy(),
            lock_lost=np.zeros(n, dtype=bool),
        )

    def __len__(self) -> int:
        return int(self.id.size)

    def keep(self, mask: np.ndarray) -> None:
        """Keep only the rows where ``mask`` is true."""
        if mask.all():
            return
        for name in self.FIELDS:
            setattr(self, name, getattr(self, name)[mask])

    def append(self, other: TrackTable) -> None:
        """Add the rows of ``other`` after these."""
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
    mode3a: int = -1  # the last SSR Mode 3/A code its plots carried (-1 none)
    lock_lost: bool = False  # the radar lost the round: x, p are the last good state flown on


class UpdateLog:
    """Every filter update, stored as one batch of arrays per frame (no per-track objects
    on the hot path); indexing or iterating gives :class:`TrackUpdate` records."""

    def __init__(self) -> None:
        self._batches: list[dict[str, np.ndarray | None]] = []
        self._offsets: list[int] = []
        self._n = 0

    def append_batch(self, **arrays) -> None:
        """Add one frame's updates: arrays named as the fields of :class:`TrackUpdate`."""
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
            int(b["mode3a"][k]) if "mode3a" in b else -1,
            bool(b["lock_lost"][k]) if "lock_lost" in b else False,
        )

    def __iter__(self) -> Iterator[TrackUpdate]:
        for b in self._batches:
            for k in range(len(b["track_id"])):
                yield self._record(b, k)

    def _slice(self, start: int, stop: int) -> list[TrackUpdate]:
        out = []
        first = max(0, int(np.searchsorted(self._offsets, start, side="right")) - 1)
        for bi in range(first, len(self._batches)):
            b, off = self._batches[bi], self._offsets[bi]
            if off >= stop:
                break
            for k in range(max(start - off, 0), min(stop - off, len(b["track_id"]))):
                out.append(self._record(b, k))
        return out

    def __getitem__(self, idx):
        if isinstance(idx, slice):
            start, stop, step = idx.indices(self._n)
            return list(self)[idx] if step != 1 else self._slice(start, stop)
        if idx < 0:
            idx += self._n
        bi = int(np.searchsorted(self._offsets, idx, side="right")) - 1
        return self._record(self._batches[bi], idx - self._offsets[bi])

    def __eq__(self, other) -> bool:
        if isinstance(other, list):
            return list(self) == other
        return NotImplemented

    def arrays(self, name: str) -> np.ndarray:
        """One field of every update, concatenated (e.g. ``arrays("t_s")``); empty for
        ``mode_prob`` without an IMM."""
        parts = [b[name] for b in self._batches if b[name] is not None]
        if not parts:
            return np.zeros(0)
        return np.concatenate(parts)
