"""``opencram score`` (issue 13 point 7) against pyproj's geodesic, an independent geodesy.

The track file is built here: each prediction is placed with ``pyproj.Geod.fwd`` (WGS-84
geodesic, Karney's algorithm) at a chosen distance and azimuth from the surveyed point, so
the expected impact error is the distance we chose, not anything computed by the code under
test, and whether the point is inside the 95 % ellipse follows from where we put it
(along the major or the minor axis, at 0.8 or 1.25 of the semi-axis).
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from pyproj import Geod

from opencram.analysis.score import read_truth, score, summary
from opencram.errors import UserError

GEOD = Geod(ellps="WGS84")
TRUTH = (33.3064343, 44.385486, 34.0)
ORIGIN = (33.2516, 44.3917, 34.0)


def place(point, dist_m: float, az_deg: float) -> tuple[float, float]:
    """The (lat, lon) ``dist_m`` from ``point`` along the geodesic of azimuth ``az_deg``."""
    lon, lat, _ = GEOD.fwd(point[1], point[0], az_deg, dist_m)
    return lat, lon


def ground(lat, lon, t_s, a, b, o):
    return {
        "time_s": t_s,
        "lat": lat,
        "lon": lon,
        "alt_m": 34.0,
        "ellipse95": {"semi_major_m": a, "semi_minor_m": b, "orientation_deg": o},
    }


def update(t_s: float, impact, origin=None) -> dict:
    return {"time_s": t_s, "impact": impact, "origin": origin}


# (time since first plot, distance m, azimuth of the prediction from the truth, semi-major,
#  semi-minor, orientation, inside?)  The truth offset from the prediction is the reverse
#  direction; along the major axis (orientation 30 deg) or across it (120 deg).
CASES = [
    (0.0, 900.0, 30.0, 1000.0, 300.0, 30.0, True),  # 0.9 of the semi-major, along it
    (4.0, 250.0, 210.0, 200.0, 80.0, 30.0, False),  # 1.25 of the semi-major
    (6.0, 120.0, 120.0, 400.0, 150.0, 30.0, True),  # 0.8 of the semi-minor, across
    (10.0, 60.0, 300.0, 400.0, 40.0, 30.0, False),  # 1.5 of the semi-minor, across
    (15.0, 30.0, 30.0, 40.0, 20.0, 30.0, True),  # 0.75 of the semi-major
    (21.0, 12.0, 120.0, 40.0, 10.0, 30.0, False),  # 1.2 of the semi-minor
]


def track_file(cases=CASES, t0: float = 100.0, track_id: int = 4) -> dict:
    ups = []
    for t, d, az, a, b, o, _ in cases:
        lat, lon = place(TRUTH, d, az)
        olat, olon = place(ORIGIN, d / 2, az)
        ups.append(
            update(
                t0 + t,
                ground(lat, lon, t0 + 30, a, b, o),
                ground(olat, olon, t0 - 10, a, b, o),
            )
        )
    return {"tracks": [{"id": track_id, "first_time_s": t0, "updates": ups}]}


def test_errors_and_ellipse_membership_match_the_geodesic_placement():
    (s,) = score(track_file(), read_truth_from({"rounds": [{"id": "r", "impact": pt(TRUTH)}]}))
    assert s.track_id == 4
    want = np.array([c[1] for c in CASES])
    # the local east-north plane at the truth point against the geodesic: < 0.1 % at 1 km
    np.testing.assert_allclose(s.impact_err_m, want, rtol=1e-3)
    assert s.inside95.tolist() == [c[6] for c in CASES]
    assert s.at(5.0) == pytest.approx(250.0, rel=1e-3)  # latest at or before 5 s: t = 4
    assert s.at(10.0) == pytest.approx(60.0, rel=1e-3)
    assert s.at(20.0) == pytest.approx(30.0, rel=1e-3)
    # coverage counts predictions from 3 s after the first plot: 2 inside of 5
    assert s.coverage() == pytest.approx(2 / 5)


def test_origin_errors_and_the_summary():
    truth = {"rounds": [{"id": "r", "impact": pt(TRUTH), "origin": pt(ORIGIN)}]}
    res = summary(score(track_file(), read_truth_from(truth)))
    assert res["lost"] == 0 and res["rounds"] == 1
    assert res["median_origin_err_m"]["10s"] == pytest.approx(30.0, rel=1e-3)
    assert res["median_impact_err_m"]["5s"] == pytest.approx(250.0, rel=1e-3)
    assert res["coverage95"] == pytest.approx(0.4)


def test_rounds_are_matched_to_the_nearest_track_one_each_and_far_ones_are_lost():
    near = track_file(track_id=7)
    other = track_file(track_id=9)
    doc = {"tracks": near["tracks"] + other["tracks"]}
    far = place(TRUTH, 8000.0, 90.0)
    truth = {
        "rounds": [
            {"id": "here", "impact": pt(TRUTH)},
            {"id": "far", "impact": {"lat": far[0], "lon": far[1]}},
        ]
    }
    scores = {s.round_id: s for s in score(doc, read_truth_from(truth))}
    assert scores["here"].track_id in (7, 9)
    assert scores["far"].track_id is None  # 8 km from every prediction: no track
    named = {"rounds": [{"id": "here", "impact": pt(TRUTH), "track": 12}]}
    (s,) = score(doc, read_truth_from(named))
    assert s.track_id is None  # the named track made no prediction: lost


def test_bad_truth_files_give_one_line_errors(tmp_path):
    bad = tmp_path / "t.yaml"
    bad.write_text("rounds:\n  - id: a\n    impact: {lat: 133, lon: 44}\n")
    with pytest.raises(UserError) as exc:
        read_truth(bad)
    assert list(exc.value.problems) == [
        f"{bad}:3: rounds[0].impact.lat: must be between -90 and 90"
    ]
    bad.write_text(
        "rounds:\n  - {id: a, impact: {lat: 1, lon: 2}}\n  - {id: a, impact: {lat: 1, lon: 2}}\n"
    )
    with pytest.raises(UserError, match="duplicate round id 'a'"):
        read_truth(bad)


def test_the_command_writes_its_files_and_reports_errors(cli, tmp_path):
    tracks = tmp_path / "tracks.json"
    tracks.write_text(json.dumps(track_file()))
    truth = tmp_path / "truth.yaml"
    truth.write_text(f"rounds:\n  - id: r1\n    impact: {{lat: {TRUTH[0]}, lon: {TRUTH[1]}}}\n")
    done = cli("score", str(tracks), "--truth", str(truth), "--out", str(tmp_path / "s"))
    assert done.returncode == 0, done.stderr
    assert "r1" in done.stdout and "0 of 1 rounds lost" in done.stdout
    for name in ("score.json", "predictions.csv", "score.png"):
        assert (tmp_path / "s" / name).stat().st_size > 0
    tracks.write_text("[1, 2]")
    done = cli("score", str(tracks), "--truth", str(truth))
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert done.stderr.strip().splitlines() == [
        f"error: {tracks}: not a track output file (no 'tracks' list)"
    ]


def pt(p) -> dict:
    return {"lat": p[0], "lon": p[1], "alt_m": p[2]}


def read_truth_from(data: dict):
    import tempfile
    from pathlib import Path

    import yaml

    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "truth.yaml"
        path.write_text(yaml.safe_dump(data))
        return read_truth(path)
