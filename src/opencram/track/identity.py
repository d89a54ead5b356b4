"""Identity of tracks: which are friendly aircraft, and which slow level tracks threaten
a protected zone. One set of pure functions, batched over tracks, called by the engine's
track stage and by the live service alike.

**Friendly.** A track is friendly when

1. a plot it was updated with carried an SSR Mode 3/A code (CAT048 I048/070, the plot
   CSV's ``mode3a`` column, a simulated radar declared ``ssr``) that is in the list of
   friendly codes; or
2. one of its updates lies within ``gate_m`` (3-D distance, m; horizontal when the
   report gives no height) and ``gate_s`` (s, data time) of a friendly position report
   (the TAK server's own ``a-f-A`` feed).

Friendliness is kept: once a track is friendly it stays friendly until it ends (a code
heard once identifies the aircraft; a transponder is not read on every scan). A friendly
track is reported as class ``friendly`` (CoT ``a-f-A``) and is never predicted, warned on,
engaged or advised on.

**Threat to a protected zone** (used by :mod:`opencram.track.classify` for slow level
tracks without friendly information): the track is over a protected zone, or it is
closing on one and the ground under its straight path over the next
:data:`THREAT_HORIZON_S` comes within :data:`THREAT_MARGIN_M` of it (closing: the path
comes nearer to the zone than the track is now, so an aircraft leaving a helipad beside a
protected zone is no threat). The horizon is three times the drone corridor's
(``predict.corridor``, 60 s), and the margin three times the corridor's cross-track sigma
(100 m), so that a track whose corridor could put probability on a protected zone is a
threat well before, and a drone on its last leg is a drone some minutes out (with 90 s the
built-in drone attacks were first warned 13 to 38 s later than with every slow track a
drone; with 180 s, 0 to 13 s later).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
import shapely

MODE3A_PATTERN = re.compile(r"[0-7]{4}")
THREAT_HORIZON_S = 180.0  # how far ahead a straight path is tested against protected zones
THREAT_MARGIN_M = 300.0  # how near the protected zone that path must come
CLOSING_M = 1.0  # nearer than now by this much: the track is closing on the zone
FRIENDLY_GATE_M = 500.0  # default gate around a friendly position report (3-D, m)
FRIENDLY_GATE_S = 10.0  # default time gate around a friendly position report (s)
NO_CODE = -1  # the Mode 3/A value of a plot or track without one


def parse_mode3a(text: str) -> int:
    """The value of a Mode 3/A code written as four octal digits (``"4521"`` is
    ``0o4521``); ValueError naming the text otherwise."""
    s = str(text).strip()
    if not MODE3A_PATTERN.fullmatch(s):
        raise ValueError(f"'{s[:20]}' is not a Mode 3/A code (four octal digits 0-7, e.g. 4521)")
    return int(s, 8)


def format_mode3a(code: int) -> str:
    """Four octal digits of a code value (``0o4521`` -> ``"4521"``); empty for none."""
    return "" if code < 0 else f"{int(code):04o}"


def parse_code_list(text: str, label: str = "friendly codes") -> frozenset[int]:
    """Codes from a comma- or whitespace-separated list (``"1200,4521"``); a ``#`` starts
    a comment to the end of its line (for code files). ValueError names the bad entry."""
    codes = set()
    for line in text.splitlines():
        for item in re.split(r"[,\s]+", line.split("#", 1)[0]):
            if item:
                try:
                    codes.add(parse_mode3a(item))
                except ValueError as exc:
                    raise ValueError(f"{label}: {exc}") from None
    return frozenset(codes)


@dataclass(frozen=True)
class FriendlyPositions:
    """Friendly position reports: ``pos_enu_m`` (k, 3) at data times ``t_s`` (k,)."""

    pos_enu_m: np.ndarray = field(default_factory=lambda: np.zeros((0, 3)))
    t_s: np.ndarray = field(default_factory=lambda: np.zeros(0))


def friendly_mask(
    mode3a: np.ndarray,
    pos_enu_m: np.ndarray,
    t_s: np.ndarray,
    codes: frozenset[int],
    positions: FriendlyPositions | None = None,
    gate_m: float = FRIENDLY_GATE_M,
    gate_s: float = FRIENDLY_GATE_S,
) -> np.ndarray:
    """Which of n track updates (code ``mode3a`` (n,), -1 none; position (n, 3); time
    (n,)) are friendly by the module's rules 1 and 2 (without the memory of earlier
    updates)."""
    mode3a = np.asarray(mode3a, dtype=np.int64).reshape(-1)
    by_code = np.isin(mode3a, np.fromiter(codes, np.int64, len(codes))) & (mode3a >= 0)
    if positions is None or not len(positions.t_s) or not mode3a.size:
        return by_code
    pos = np.asarray(pos_enu_m, dtype=float).reshape(-1, 3)
    dt = np.abs(np.asarray(t_s, dtype=float)[:, None] - positions.t_s[None, :])
    diff = pos[:, None, :] - positions.pos_enu_m[None, :, :]
    d2 = np.sum(np.nan_to_num(diff**2, nan=0.0), axis=2)  # no height: horizontal only
    near = (dt <= gate_s) & (d2 <= gate_m**2)
    return by_code | near.any(axis=1)


def protected_area(polygons_enu: Sequence):
    """The union of the protected zones' shapely polygons in ENU metres (None: none)."""
    polys = [p if p.is_valid else p.buffer(0) for p in polygons_enu]
    if not polys:
        return None
    area = shapely.union_all(polys)
    shapely.prepare(area)
    return area


def path_threatens(x: np.ndarray, area, horizon_s: float = THREAT_HORIZON_S) -> np.ndarray:
    """Which of n states ``x`` (n, >= 6: ENU position, velocity) threaten ``area`` (a
    shapely geometry in ENU metres; None: nothing is protected, so no track threatens):
    over one, or closing on one, their straight ground path over ``horizon_s`` coming
    within :data:`THREAT_MARGIN_M` of it (the module notes)."""
    x = np.asarray(x, dtype=float).reshape(-1, x.shape[-1] if np.ndim(x) else 1)
    n = x.shape[0]
    if area is None or n == 0:
        return np.zeros(n, dtype=bool)
    start = x[:, :2]
    end = start + horizon_s * x[:, 3:5]
    lines = shapely.linestrings(np.stack([start, end], axis=1))
    d_path = shapely.distance(lines, area)
    d_now = shapely.distance(shapely.points(start), area)
    closing = (d_path < d_now - CLOSING_M) | (d_now <= 0.0)
    return np.asarray((d_path <= THREAT_MARGIN_M) & closing, dtype=bool)


class FriendlyWatch:
    """The friendly rules with their memory: the codes, the latest position reports and
    the tracks found friendly so far (kept until they end)."""

    def __init__(
        self,
        codes: Iterable[int] = (),
        *,
        gate_m: float = FRIENDLY_GATE_M,
        gate_s: float = FRIENDLY_GATE_S,
        keep_s: float = 60.0,
    ) -> None:
        self.codes = frozenset(int(c) for c in codes)
        self.gate_m = float(gate_m)
        self.gate_s = float(gate_s)
        self.keep_s = float(keep_s)  # position reports older than this are forgotten
        self.positions = FriendlyPositions()
        self.friendly: set[int] = set()

    @property
    def informed(self) -> bool:
        """Whether there is any friendly information (codes or positions)."""
        return bool(self.codes) or len(self.positions.t_s) > 0

    def add_positions(self, pos_enu_m: np.ndarray, t_s: np.ndarray) -> None:
        """Friendly position reports (k, 3) at data times (k,); older ones than
        ``keep_s`` before the newest are forgotten."""
        pos = np.concatenate(
            [self.positions.pos_enu_m, np.asarray(pos_enu_m, float).reshape(-1, 3)]
        )
        t = np.concatenate([self.positions.t_s, np.asarray(t_s, float).reshape(-1)])
        keep = t >= t.max() - self.keep_s if t.size else np.zeros(0, bool)
        self.positions = FriendlyPositions(pos[keep], t[keep])

    def mark(self, track_id, mode3a, pos_enu_m, t_s) -> np.ndarray:
        """Which of n updates (track ids (n,), codes, positions, times) are of friendly
        tracks, remembering the newly friendly ones."""
        ids = np.asarray(track_id, dtype=np.int64).reshape(-1)
        now = friendly_mask(
            mode3a, pos_enu_m, t_s, self.codes, self.positions, self.gate_m, self.gate_s
        )
        self.friendly.update(int(i) for i in ids[now])
        return np.isin(ids, np.fromiter(self.friendly, np.int64, len(self.friendly)))

    def forget(self, track_ids: Iterable[int]) -> None:
        """Tracks that ended."""
        self.friendly.difference_update(int(i) for i in track_ids)
