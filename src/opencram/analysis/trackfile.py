"""The track output file (``opencram track --out`` and ``tracks.json`` in a run folder).

Written here, after tracking, because each listed update of a ballistic track carries its
predicted impact and origin (:mod:`opencram.predict.ground`), which build on the tracker.

Schema: docs/track-output.schema.json. Only tracks that were confirmed are listed; each
lists its updates (all of them with ``history``, else only the last), including the
updates before confirmation. Every update carries its class probabilities and the
probability of its ballistic hypothesis; every update whose ballistic hypothesis was not
ruled out (``predict.prediction.predicted_ballistically``) carries its impact and origin,
whatever the track's class: a prediction a track made is never dropped because the track
was later reclassified.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from opencram import __version__
from opencram.fileio import atomic_write_chunks
from opencram.geo import LocalFrame
from opencram.predict.ground import ellipse95, predict_impact, predict_origin
from opencram.predict.prediction import predicted_ballistically
from opencram.track.classify import CLASSES, MIN_UPDATES, class_probabilities
from opencram.track.history import UPDATE_DTYPE, SpilledUpdateLog, log_rows
from opencram.track.manager import Tracker


def _r(x, nd: int) -> float:
    v = round(float(x), nd)
    return 0.0 if v == 0 else v


def _ground_points(frame, t_s, pos_en, cov_en, ok) -> list[dict | None]:
    """Predicted ground points (impact or origin) as the file writes them, None where not
    ``ok``: one geodetic conversion and one ellipse computation for the whole batch
    (``t_s`` (n,), ``pos_en`` (n, 2), ``cov_en`` (n, 2, 2), ``ok`` (n,))."""
    out: list[dict | None] = [None] * len(ok)
    idx = np.flatnonzero(ok)  # failed predictions may hold NaN: left out of the batch
    if idx.size == 0:
        return out
    lat, lon, alt = frame.to_geodetic(np.c_[pos_en[idx], np.zeros(idx.size)])
    a, b, o = ellipse95(cov_en[idx])
    # one conversion to Python floats per column, not one numpy scalar per value
    cols = [np.atleast_1d(c).tolist() for c in (t_s[idx], lat, lon, alt, a, b, o)]
    for i, t, la, lo, al, ma, mi, an in zip(idx.tolist(), *cols, strict=True):
        out[i] = {
            "time_s": _r(t, 3),
            "lat": _r(la, 7),
            "lon": _r(lo, 7),
            "alt_m": _r(al, 2),
            "ellipse95": {
                "semi_major_m": _r(ma, 2),
                "semi_minor_m": _r(mi, 2),
                "orientation_deg": _r(an, 2),
            },
        }
    return out


def _class_prob(row: np.ndarray) -> dict[str, float]:
    return {n: _r(row[j], 4) for j, n in enumerate(CLASSES)}


def _col(rows: np.ndarray, name: str, idx=None) -> np.ndarray:
    """One field of update records as a contiguous array (of the rows ``idx``)."""
    return np.ascontiguousarray(rows[name] if idx is None else rows[name][idx])


def _class_probs(tracker, rows: np.ndarray, has_modes: bool, idx=None):
    """Class probabilities of the update records ``rows`` (of the rows ``idx``), batched."""
    mu = _col(rows, "mode_prob", idx) if has_modes else None
    return class_probabilities(
        _col(rows, "x", idx),
        _col(rows, "n_updates", idx),
        mu,
        _col(rows, "rcs_dbsm", idx),
        tracker.model,
    )


def _track_prob(prob: np.ndarray, n_updates: np.ndarray, starts, counts) -> list[np.ndarray]:
    """Each track's class probabilities (:mod:`opencram.track.history`): the mean over its
    updates with at least ``MIN_UPDATES`` behind them, else its last update's."""
    out = []
    for a, n in zip(starts.tolist(), counts.tolist(), strict=True):
        sub = prob[a : a + n]
        mature = n_updates[a : a + n] >= MIN_UPDATES
        out.append(sub[mature].mean(axis=0) if mature.any() else sub[-1])
    return out


def _ground_predictions(tracker, frame, rows, listed, p_ballistic):
    """Impact and origin (dicts or None) of each listed update record (``listed``: indices
    into ``rows``), None where its ballistic hypothesis is ruled out; one batch."""
    out = [(None, None)] * listed.size
    fly = np.flatnonzero([predicted_ballistically(p) for p in p_ballistic.tolist()])
    if not fly.size:
        return out
    sel = listed[fly]
    x, p, t = _col(rows, "x", sel), _col(rows, "p", sel), _col(rows, "t_s", sel)
    imp = predict_impact(tracker.model, x, p)
    org = predict_origin(tracker.model, x, p)
    impacts = _ground_points(
        frame, t + imp.dt_s, imp.pos_en_m, imp.cov_en_m2, imp.ok & (imp.dt_s > 0)
    )
    origins = _ground_points(frame, t + org.dt_s, org.pos_en_m, org.cov_en_m2, org.ok)
    for k, i in enumerate(fly.tolist()):
        out[i] = (impacts[k], origins[k])
    return out


def _update_entries(tracker, frame, rows, listed, cp, ground) -> list[dict]:
    """The file's entry of each listed update record (``listed``: indices into ``rows``)."""
    lat, lon, alt = (
        np.atleast_1d(c).tolist() for c in frame.to_geodetic(_col(rows, "x", listed)[:, :3])
    )
    out = []
    for i, j in enumerate(listed.tolist()):
        u = rows[j]
        x, p = u["x"], u["p"]
        out.append(
            {
                "time_s": _r(u["t_s"], 6),
                "lat": _r(lat[i], 7),
                "lon": _r(lon[i], 7),
                "alt_m": _r(alt[i], 2),
                "vel_enu_mps": [_r(v, 3) for v in x[3:6]],
                "pos_sigma_m": _r(np.sqrt(np.trace(p[:3, :3])), 3),
                "kappa_cm2pkg": _r(x[6], 4),
                "sensor": tracker.sensors[int(u["sensor"])].id,
                "confirmed": bool(u["confirmed"]),
                "class": CLASSES[int(np.argmax(cp.prob[i]))],
                "class_prob": _class_prob(cp.prob[i]),
                "ballistic_prob": _r(cp.ballistic[i], 4),
                "impact": ground[i][0],
                "origin": ground[i][1],
            }
        )
        if u["lock_lost"]:
            out[-1]["lock_lost"] = True
    return out


def track_entries(
    tracker: Tracker, frame: LocalFrame, rows: np.ndarray, has_modes: bool, *, history: bool
) -> list[dict[str, Any]]:
    """The file's entries of the tracks whose every update is in ``rows`` (update records,
    :data:`opencram.track.history.UPDATE_DTYPE`, grouped by track in ascending id and in
    time order inside a track), every update listed with ``history``, else the last.
    Each track's entry depends on its own updates only, so tracks may come in any
    grouping (:func:`write_track_output` builds them a group at a time)."""
    if not rows.size:
        return []
    ids, starts, counts = np.unique(rows["track_id"], return_index=True, return_counts=True)
    cp_all = _class_probs(tracker, rows, has_modes)
    track_prob = _track_prob(cp_all.prob, _col(rows, "n_updates"), starts, counts)
    listed = np.arange(rows.size) if history else starts + counts - 1
    cp = _class_probs(tracker, rows, has_modes, listed)
    ground = _ground_predictions(tracker, frame, rows, listed, cp.ballistic)
    entries = _update_entries(tracker, frame, rows, listed, cp, ground)
    tracks, first = [], 0
    for k, (tid, a, n) in enumerate(
        zip(ids.tolist(), starts.tolist(), counts.tolist(), strict=True)
    ):
        m = n if history else 1
        track = {
            "id": int(tid),
            "class": CLASSES[int(np.argmax(track_prob[k]))],
            "class_prob": _class_prob(track_prob[k]),
            "first_time_s": _r(rows["t_s"][a], 6),
            "last_time_s": _r(rows["t_s"][a + n - 1], 6),
            "n_updates": int(n),
            "updates": entries[first : first + m],
        }
        lost = np.flatnonzero(rows["lock_lost"][a : a + n])
        if lost.size:
            track["lock_lost_s"] = _r(rows["t_s"][a + lost[0]], 6)
        tracks.append(track)
        first += m
    return tracks


def _document(tracker: Tracker, frame: LocalFrame, tracks, extra) -> dict[str, Any]:
    out: dict[str, Any] = {
        "opencram_version": __version__,
        "frame": {"lat": frame.lat_deg, "lon": frame.lon_deg, "alt_m": frame.alt_m},
        "filter": tracker.config.filter,
        "association": tracker.config.association,
        "late_plots_dropped": tracker.n_late_dropped,
        "sensor_noise": [n.as_dict() for n in tracker.noise.report()],
        "tracks": tracks,
    }
    if extra:
        out.update(extra)
    return out


def build_track_output(
    tracker: Tracker,
    frame: LocalFrame,
    *,
    history: bool,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The track output document (docs/track-output.schema.json) of a tracker's history
    (an in-memory :class:`~opencram.track.tracks.UpdateLog`): positions geodetic through
    ``frame``, every update of each confirmed track with ``history`` (else its last),
    ``extra`` keys added at the top level."""
    rows, has_modes = log_rows(tracker.updates)
    ever = np.unique(rows["track_id"][rows["confirmed"]])
    rows = rows[np.isin(rows["track_id"], ever)]
    rows = rows[np.argsort(rows["track_id"], kind="stable")]
    tracks = track_entries(tracker, frame, rows, has_modes, history=history)
    return _document(tracker, frame, tracks, extra)


# --- the same document, streamed (opencram track on long recordings) -----------------------

GROUP_ROWS = 20_000  # update records of finished tracks turned into entries at a time
_MARK = "@@opencram-tracks-7f3e@@"


def _last_rows(updates: SpilledUpdateLog, n_ids: int) -> tuple[np.ndarray, np.ndarray]:
    """Per track id (< ``n_ids``): the index of its last update (-1: none) and whether it
    was ever confirmed; one pass over the log."""
    last = np.full(n_ids, -1, dtype=np.int64)
    ever = np.zeros(n_ids, dtype=bool)
    off = 0
    for chunk in updates.chunks():
        tid = chunk["track_id"]
        np.maximum.at(last, tid, off + np.arange(tid.size))
        ever[tid[chunk["confirmed"]]] = True
        off += tid.size
    return last, ever


def _finished_groups(updates: SpilledUpdateLog, n_ids: int) -> Iterator[np.ndarray]:
    """The update records of the ever-confirmed tracks, a group of whole tracks at a time
    (grouped by track, in time order inside each): a track's group comes once the log has
    passed its last update, so memory holds the updates of the tracks still open at a point
    of the log, and of at most about :data:`GROUP_ROWS` finished ones."""
    last, ever = _last_rows(updates, n_ids)
    pending = np.zeros(0, dtype=UPDATE_DTYPE)
    off = 0
    for chunk in updates.chunks():
        off += chunk.size
        pending = np.concatenate([pending, chunk[ever[chunk["track_id"]]]])
        done = last[pending["track_id"]] < off
        if done.sum() >= GROUP_ROWS or (off == len(updates) and done.any()):
            group = pending[done]
            pending = pending[~done]
            yield group[np.argsort(group["track_id"], kind="stable")]


def _document_parts(head: dict[str, Any], fragments) -> Iterator[bytes]:
    """The bytes of ``json.dumps(doc, indent=2, sort_keys=True)`` for ``head`` with its
    ``tracks`` list given as ``fragments`` (each a track's ``json.dumps(..., indent=2,
    sort_keys=True)``, in order), without building the whole text."""
    text = json.dumps({**head, "tracks": [_MARK]}, indent=2, sort_keys=True, allow_nan=False)
    before, after = text.split(f'[\n    "{_MARK}"\n  ]')
    yield before.encode()
    first = True
    for frag in fragments:
        yield (b"[\n    " if first else b",\n    ") + frag.replace(b"\n", b"\n    ")
        first = False
    yield (b"[]" if first else b"\n  ]") + (after + "\n").encode()


def write_track_output(
    path: Path,
    tracker: Tracker,
    frame: LocalFrame,
    updates: SpilledUpdateLog,
    *,
    history: bool,
    extra: dict[str, Any] | None = None,
) -> list[str]:
    """Write (atomically) the document :func:`build_track_output` would give for a tracker
    whose updates are in ``updates`` (a :class:`SpilledUpdateLog`), byte for byte, without
    holding it: the tracks' entries are made a group of finished tracks at a time and kept
    as JSON text in a temporary file until they are written in id order. Returns the
    tracks' classes in id order."""
    index: dict[int, tuple[int, int, str]] = {}  # id -> offset, length, class
    with tempfile.TemporaryFile(prefix="opencram-tracks-") as frags:
        for group in _finished_groups(updates, tracker.next_track_id):
            for entry in track_entries(tracker, frame, group, updates.has_modes, history=history):
                data = json.dumps(entry, indent=2, sort_keys=True, allow_nan=False).encode()
                index[entry["id"]] = (frags.tell(), len(data), entry["class"])
                frags.write(data)

        def fragments() -> Iterator[bytes]:
            for tid in sorted(index):
                offset, size, _ = index[tid]
                frags.seek(offset)
                yield frags.read(size)

        head = _document(tracker, frame, [], extra)
        atomic_write_chunks(path, _document_parts(head, fragments()))
    return [index[tid][2] for tid in sorted(index)]
