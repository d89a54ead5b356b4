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

from typing import Any

import numpy as np

from opencram import __version__
from opencram.geo import LocalFrame
from opencram.predict.ground import ellipse95, predict_impact, predict_origin
from opencram.predict.prediction import predicted_ballistically
from opencram.track.classify import CLASSES
from opencram.track.history import (
    confirmed_updates,
    track_class_probabilities,
    update_class_probabilities,
)
from opencram.track.manager import Tracker


def _r(x: float, nd: int) -> float:
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


def _ground_predictions(tracker, frame, listed, p_ballistic):
    """Impact and origin (dicts or None) for every listed update whose ballistic hypothesis
    is not ruled out (``p_ballistic``: (track id, index) -> probability), keyed by (track
    id, index in its listed updates); computed in one batch."""
    keys, xs, ps, ts = [], [], [], []
    for tid, ups in listed.items():
        for k, u in enumerate(ups):
            if not predicted_ballistically(p_ballistic[tid, k]):
                continue
            keys.append((tid, k))
            xs.append(u.x)
            ps.append(u.p)
            ts.append(u.t_s)
    if not keys:
        return {}
    x, p, t = np.array(xs), np.array(ps), np.array(ts)
    imp = predict_impact(tracker.model, x, p)
    org = predict_origin(tracker.model, x, p)
    impacts = _ground_points(
        frame, t + imp.dt_s, imp.pos_en_m, imp.cov_en_m2, imp.ok & (imp.dt_s > 0)
    )
    origins = _ground_points(frame, t + org.dt_s, org.pos_en_m, org.cov_en_m2, org.ok)
    return dict(zip(keys, zip(impacts, origins, strict=True), strict=True))


def build_track_output(
    tracker: Tracker,
    frame: LocalFrame,
    *,
    history: bool,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The track output document (docs/track-output.schema.json) of a tracker's history:
    positions geodetic through ``frame``, every update of each confirmed track with
    ``history`` (else its last), ``extra`` keys added at the top level."""
    by_track = confirmed_updates(tracker)
    track_prob = track_class_probabilities(tracker, by_track)
    listed = {tid: (by_track[tid] if history else by_track[tid][-1:]) for tid in by_track}
    keys = [(tid, k) for tid in sorted(listed) for k in range(len(listed[tid]))]
    cp = update_class_probabilities(tracker, [listed[t][k] for t, k in keys])
    row = {key: i for i, key in enumerate(keys)}
    p_ballistic = {key: float(cp.ballistic[i]) for key, i in row.items()}
    ground = _ground_predictions(tracker, frame, listed, p_ballistic)
    # every listed update's position in one geodetic conversion, in the order of ``keys``
    pos = np.array([listed[t][k].x[:3] for t, k in keys]).reshape(-1, 3)
    lat, lon, alt = (np.atleast_1d(c).tolist() for c in frame.to_geodetic(pos))
    tracks = []
    for tid in sorted(by_track):
        ups = listed[tid]
        updates = []
        for k, u in enumerate(ups):
            i = row[tid, k]
            updates.append(
                {
                    "time_s": _r(u.t_s, 6),
                    "lat": _r(lat[i], 7),
                    "lon": _r(lon[i], 7),
                    "alt_m": _r(alt[i], 2),
                    "vel_enu_mps": [_r(v, 3) for v in u.x[3:6]],
                    "pos_sigma_m": _r(np.sqrt(np.trace(u.p[:3, :3])), 3),
                    "kappa_cm2pkg": _r(u.x[6], 4),
                    "sensor": tracker.sensors[u.sensor].id,
                    "confirmed": u.confirmed,
                    "class": CLASSES[int(np.argmax(cp.prob[row[tid, k]]))],
                    "class_prob": _class_prob(cp.prob[row[tid, k]]),
                    "ballistic_prob": _r(p_ballistic[tid, k], 4),
                    "impact": ground.get((tid, k), (None, None))[0],
                    "origin": ground.get((tid, k), (None, None))[1],
                }
            )
            if u.lock_lost:
                updates[-1]["lock_lost"] = True
        allu = by_track[tid]
        track = {
            "id": int(tid),
            "class": CLASSES[int(np.argmax(track_prob[tid]))],
            "class_prob": _class_prob(track_prob[tid]),
            "first_time_s": _r(allu[0].t_s, 6),
            "last_time_s": _r(allu[-1].t_s, 6),
            "n_updates": len(allu),
            "updates": updates,
        }
        lost = [u.t_s for u in allu if u.lock_lost]
        if lost:
            track["lock_lost_s"] = _r(lost[0], 6)
        tracks.append(track)
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
