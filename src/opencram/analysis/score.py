"""Scoring a track file against surveyed truth (``opencram score``; issue 13 point 7).

A range officer checking the system on their own recordings has a track file (``opencram
track --out``, or a run folder's ``tracks.json``) and the surveyed impact (and firing)
points of the rounds fired. This module matches rounds to tracks and measures, for every
listed update that carries a prediction, against the time since the track's first update
(its first plot):

* the **impact error**: horizontal distance from the predicted impact point to the
  surveyed one (metres, in the local east-north plane at the surveyed point);
* whether the surveyed point lies inside the update's **95 % ellipse**: with the offset
  ``d`` = truth - prediction (east, north) and the ellipse's major-axis unit vector
  ``u = (sin o, cos o)`` (``o`` clockwise from north) and minor-axis ``v = (cos o, -sin o)``,
  inside when ``(d.u / a)^2 + (d.v / b)^2 <= 1`` for semi-axes ``a``, ``b``;
* the **origin error**, where a firing point is given.

The truth file (YAML; docs/score.md)::

    rounds:
      - id: round-1
        impact: {lat: 33.3064, lon: 44.3855, alt_m: 34}
        origin: {lat: 33.2516, lon: 44.3917, alt_m: 34}   # optional
        track: 4                                           # optional

A round without ``track`` is matched to the confirmed track whose last impact prediction
lies nearest its impact point, one track per round (scipy's ``linear_sum_assignment``),
within ``MATCH_GATE_M``. A round no track predicted within that gate is **lost**.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

import numpy as np
from pydantic import Field, ValidationError

from opencram.errors import UserError
from opencram.fileio import atomic_write_bytes, atomic_write_json, atomic_write_text
from opencram.scenario.schema import Altitude, Latitude, Longitude, Model, Name
from opencram.yamlio import read_yaml_file, read_yaml_mapping, validation_problems

MATCH_GATE_M = 3000.0
"""A round is matched only to a track whose last impact prediction is this close (m)."""
REPORT_AT_S = (5.0, 10.0, 20.0)
"""Times after the first plot at which errors are reported (the latest prediction at or
before each)."""
COVERAGE_AFTER_S = 3.0
"""Ellipse coverage counts predictions from this long after the first plot (issue 13's
mismatch-suite rule: a track's first seconds are not yet a fit)."""
MAX_ROUNDS = 10_000


class _Point(Model):
    lat: Latitude
    lon: Longitude
    alt_m: Altitude = 0.0


class _Round(Model):
    id: Name
    impact: _Point
    origin: _Point | None = None
    track: Annotated[int, Field(ge=0)] | None = None


class _TruthFile(Model):
    rounds: Annotated[list[_Round], Field(min_length=1, max_length=MAX_ROUNDS)]


@dataclass(frozen=True)
class TruthRound:
    """One surveyed round: impact (and firing) point, geodetic; an optional track id."""

    id: str
    impact: tuple[float, float, float]
    origin: tuple[float, float, float] | None
    track: int | None


def read_truth(path: str | Path) -> list[TruthRound]:
    """Read and check a truth file; every problem one ``FILE:LINE: path: message`` line."""
    label = str(path)
    text = read_yaml_file(path, label)
    data, lines = read_yaml_mapping(text, label, "expected a mapping with a 'rounds:' list")
    try:
        parsed = _TruthFile.model_validate(data)
    except ValidationError as exc:
        raise UserError(*validation_problems(exc, data, lines, label)) from None
    ids = [r.id for r in parsed.rounds]
    dup = sorted({i for i in ids if ids.count(i) > 1})
    if dup:
        raise UserError(f"{label}: duplicate round id {', '.join(map(repr, dup))}")

    def geo(p: _Point | None):
        return None if p is None else (p.lat, p.lon, p.alt_m)

    return [TruthRound(r.id, geo(r.impact), geo(r.origin), r.track) for r in parsed.rounds]


# --- the track file ----------------------------------------------------------------------


@dataclass
class TrackPredictions:
    """A track's listed updates with a prediction, as arrays: time since its first update
    (s), predicted point (lat, lon deg) and ellipse (semi-axes m, orientation deg)."""

    track_id: int
    t_since_first_s: np.ndarray
    lat: np.ndarray
    lon: np.ndarray
    ellipse: np.ndarray  # (n, 3): semi_major_m, semi_minor_m, orientation_deg


def read_track_file(path: str | Path) -> dict[str, Any]:
    """A track output file (docs/track-output.schema.json), with a one-line error if it is
    not one."""
    try:
        doc = json.loads(Path(path).read_text())
    except FileNotFoundError:
        raise UserError(f"{path}: file not found") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise UserError(f"{path}: not a track output file ({exc})") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("tracks"), list):
        raise UserError(f"{path}: not a track output file (no 'tracks' list)")
    return doc


def predictions_of(doc: dict[str, Any], kind: str) -> dict[int, TrackPredictions]:
    """Per track id, its updates carrying ``kind`` ("impact" or "origin")."""
    out = {}
    for tr in doc["tracks"]:
        t0 = float(tr["first_time_s"])
        rows = sorted((u for u in tr["updates"] if u.get(kind)), key=lambda u: u["time_s"])
        if not rows:
            continue
        g = [u[kind] for u in rows]
        out[int(tr["id"])] = TrackPredictions(
            int(tr["id"]),
            np.array([u["time_s"] - t0 for u in rows], dtype=float),
            np.array([p["lat"] for p in g], dtype=float),
            np.array([p["lon"] for p in g], dtype=float),
            np.array(
                [
                    [
                        p["ellipse95"]["semi_major_m"],
                        p["ellipse95"]["semi_minor_m"],
                        p["ellipse95"]["orientation_deg"],
                    ]
                    for p in g
                ],
                dtype=float,
            ),
        )
    return out


# --- geometry ------------------------------------------------------------------------------


def offsets_en_m(truth: tuple[float, float, float], lat, lon) -> np.ndarray:
    """(n, 2) east-north offsets (m) of the truth point from each predicted point, in the
    local plane at the truth point (pymap3d, WGS-84; heights at the truth's)."""
    import pymap3d

    e, n, _ = pymap3d.geodetic2enu(
        np.asarray(lat), np.asarray(lon), np.full(np.shape(lat), truth[2]), *truth
    )
    return -np.c_[np.atleast_1d(e), np.atleast_1d(n)]


def inside_ellipse(d_en: np.ndarray, ellipse: np.ndarray) -> np.ndarray:
    """Whether offsets ``d_en`` (n, 2) lie in ellipses (n, 3) of semi-axes and orientation
    (deg clockwise from north of the major axis); see the module docstring."""
    o = np.radians(ellipse[:, 2])
    a = np.maximum(ellipse[:, 0], 1e-9)
    b = np.maximum(ellipse[:, 1], 1e-9)
    along = d_en[:, 0] * np.sin(o) + d_en[:, 1] * np.cos(o)
    across = d_en[:, 0] * np.cos(o) - d_en[:, 1] * np.sin(o)
    return (along / a) ** 2 + (across / b) ** 2 <= 1.0


# --- scoring -------------------------------------------------------------------------------


@dataclass
class RoundScore:
    """One round's scores against its track (``track_id`` None: lost)."""

    round_id: str
    track_id: int | None
    t_since_first_s: np.ndarray = field(default_factory=lambda: np.zeros(0))
    impact_err_m: np.ndarray = field(default_factory=lambda: np.zeros(0))
    inside95: np.ndarray = field(default_factory=lambda: np.zeros(0, bool))
    semi_major_m: np.ndarray = field(default_factory=lambda: np.zeros(0))
    origin_t_s: np.ndarray = field(default_factory=lambda: np.zeros(0))
    origin_err_m: np.ndarray = field(default_factory=lambda: np.zeros(0))

    def at(self, t_s: float, origin: bool = False) -> float | None:
        """The error of the latest prediction at or before ``t_s`` after the first plot."""
        t, err = (
            (self.origin_t_s, self.origin_err_m)
            if origin
            else (self.t_since_first_s, self.impact_err_m)
        )
        k = np.flatnonzero(t <= t_s + 1e-9)
        return None if k.size == 0 else float(err[k[-1]])

    def coverage(self) -> float | None:
        sel = self.t_since_first_s >= COVERAGE_AFTER_S
        return float(np.mean(self.inside95[sel])) if sel.any() else None


def match(rounds: list[TruthRound], impacts: dict[int, TrackPredictions]) -> dict[str, int]:
    """Round id -> track id: given ids first, the rest by nearest last impact prediction
    (one track per round, within ``MATCH_GATE_M``)."""
    from scipy.optimize import linear_sum_assignment

    out = {r.id: r.track for r in rounds if r.track is not None and r.track in impacts}
    free_r = [r for r in rounds if r.track is None]
    free_t = [t for t in impacts if t not in out.values()]
    if not free_r or not free_t:
        return out
    cost = np.empty((len(free_r), len(free_t)))
    for i, r in enumerate(free_r):
        last = [impacts[t] for t in free_t]
        d = offsets_en_m(r.impact, [p.lat[-1] for p in last], [p.lon[-1] for p in last])
        cost[i] = np.hypot(d[:, 0], d[:, 1])
    rows, cols = linear_sum_assignment(np.where(cost <= MATCH_GATE_M, cost, 1e12))
    for i, j in zip(rows, cols, strict=True):
        if cost[i, j] <= MATCH_GATE_M:
            out[free_r[i].id] = free_t[j]
    return out


def score_round(
    r: TruthRound,
    track_id: int | None,
    impacts: dict[int, TrackPredictions],
    origins: dict[int, TrackPredictions],
) -> RoundScore:
    if track_id is None:
        return RoundScore(r.id, None)
    p = impacts[track_id]
    d = offsets_en_m(r.impact, p.lat, p.lon)
    s = RoundScore(
        r.id,
        track_id,
        p.t_since_first_s,
        np.hypot(d[:, 0], d[:, 1]),
        inside_ellipse(d, p.ellipse),
        p.ellipse[:, 0],
    )
    if r.origin is not None and track_id in origins:
        o = origins[track_id]
        do = offsets_en_m(r.origin, o.lat, o.lon)
        s.origin_t_s, s.origin_err_m = o.t_since_first_s, np.hypot(do[:, 0], do[:, 1])
    return s


def score(doc: dict[str, Any], rounds: list[TruthRound]) -> list[RoundScore]:
    """Every round's scores against the track file ``doc``."""
    impacts = predictions_of(doc, "impact")
    origins = predictions_of(doc, "origin")
    matched = match(rounds, impacts)  # a named track with no impact prediction: lost
    return [score_round(r, matched.get(r.id), impacts, origins) for r in rounds]


def _median(values: list[float | None]) -> float | None:
    v = [x for x in values if x is not None]
    return float(np.median(v)) if v else None


def summary(scores: list[RoundScore]) -> dict[str, Any]:
    """The figures a range officer reads: per round and pooled."""

    def r2(x):
        return None if x is None else round(x, 2)

    per_round = []
    for s in scores:
        per_round.append(
            {
                "round": s.round_id,
                "track": s.track_id,
                "lost": s.track_id is None,
                "predictions": int(s.t_since_first_s.size),
                "impact_err_m": {f"{t:g}s": r2(s.at(t)) for t in REPORT_AT_S},
                "origin_err_m": {f"{t:g}s": r2(s.at(t, origin=True)) for t in REPORT_AT_S},
                "coverage95": r2(s.coverage()),
            }
        )
    pooled = np.concatenate(
        [s.inside95[s.t_since_first_s >= COVERAGE_AFTER_S] for s in scores] or [np.zeros(0)]
    )
    return {
        "rounds": len(scores),
        "lost": sum(s.track_id is None for s in scores),
        "median_impact_err_m": {
            f"{t:g}s": r2(_median([s.at(t) for s in scores])) for t in REPORT_AT_S
        },
        "median_origin_err_m": {
            f"{t:g}s": r2(_median([s.at(t, origin=True) for s in scores])) for t in REPORT_AT_S
        },
        "coverage95": r2(float(pooled.mean())) if pooled.size else None,
        "coverage_after_s": COVERAGE_AFTER_S,
        "per_round": per_round,
    }


def update_rows(scores: list[RoundScore]) -> list[dict[str, Any]]:
    """One row per scored prediction, for the CSV."""
    rows = []
    for s in scores:
        for k in range(s.t_since_first_s.size):
            rows.append(
                {
                    "round": s.round_id,
                    "track": s.track_id,
                    "t_since_first_s": round(float(s.t_since_first_s[k]), 3),
                    "impact_err_m": round(float(s.impact_err_m[k]), 2),
                    "semi_major_m": round(float(s.semi_major_m[k]), 2),
                    "inside95": bool(s.inside95[k]),
                }
            )
    return rows


def figure(scores: list[RoundScore], path: Path) -> None:
    """Impact error (solid) and the 95 % ellipse's semi-major axis (dashed) against time
    since the first plot, one colour per round."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 4.5), dpi=110)
    for k, s in enumerate(scores):
        if s.track_id is None:
            continue
        c = f"C{k % 10}"
        ax.plot(s.t_since_first_s, s.impact_err_m, color=c, label=f"{s.round_id} error")
        ax.plot(s.t_since_first_s, s.semi_major_m, color=c, ls="--", lw=1)
    ax.set_xlabel("time since first plot (s)")
    ax.set_ylabel("metres")
    ax.set_yscale("log")
    ax.set_title("Impact error (solid) and 95 % ellipse semi-major axis (dashed)")
    ax.grid(alpha=0.3)
    if any(s.track_id is not None for s in scores):
        ax.legend(fontsize=8)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    plt.close(fig)
    atomic_write_bytes(path, buf.getvalue())


def write_outputs(scores: list[RoundScore], folder: Path) -> dict[str, Any]:
    """``score.json`` (the summary), ``predictions.csv`` (one row per scored prediction)
    and ``score.png`` (the figure) into ``folder``, each atomically; returns the summary."""
    folder.mkdir(parents=True, exist_ok=True)
    result = summary(scores)
    atomic_write_json(folder / "score.json", result)
    rows = update_rows(scores)
    head = ["round", "track", "t_since_first_s", "impact_err_m", "semi_major_m", "inside95"]
    text = io.StringIO()
    w = csv.DictWriter(text, fieldnames=head, lineterminator="\n")
    w.writeheader()
    w.writerows(rows)
    atomic_write_text(folder / "predictions.csv", text.getvalue())
    figure(scores, folder / "score.png")
    return result
