"""The live advice's friendly-aircraft hold (``opencram.live.advice.friendly_check``):
friendly tracks flown straight on, and friendly position reports, against the line of fire
from a gun to its aim point, with the clearance. The expected answers are worked out here
by hand from the geometry (a point's distance from a segment), not from the code."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from opencram.live.advice import friendly_check
from opencram.track.identity import FriendlyPositions

GUN = np.array([0.0, 0.0, 0.0])
AIM = np.array([1000.0, 0.0, 500.0])  # the rounds fly on to twice this length
CLEAR_M = 300.0


def _tracks(rows):
    """A track table of (id, position, velocity, time) rows."""
    ids = np.array([r[0] for r in rows], dtype=np.int64)
    x = np.zeros((len(rows), 7))
    for k, (_, pos, vel, _) in enumerate(rows):
        x[k, 0:3], x[k, 3:6] = pos, vel
    return SimpleNamespace(id=ids, x=x, t_s=np.array([r[3] for r in rows], float))


def test_no_friendly_gives_no_check():
    tracks = _tracks([(1, (500.0, 0.0, 250.0), (0.0, 0.0, 0.0), 10.0)])
    assert friendly_check(tracks, set(), None, CLEAR_M) is None
    assert friendly_check(tracks, {7}, FriendlyPositions(), CLEAR_M) is None


def test_a_friendly_track_on_the_line_of_fire_holds_and_one_far_off_does_not():
    # track 1 hovers on the line (0 m off), track 2 is 1 km to the north of it
    tracks = _tracks(
        [(1, (500.0, 0.0, 250.0), (0.0, 0.0, 0.0), 10.0),
         (2, (500.0, 1000.0, 250.0), (0.0, 0.0, 0.0), 10.0)]
    )  # fmt: skip
    assert friendly_check(tracks, {1}, None, CLEAR_M)(GUN, AIM, 10.0, 14.0)
    assert not friendly_check(tracks, {2}, None, CLEAR_M)(GUN, AIM, 10.0, 14.0)
    # 250 m off is inside a 300 m clearance, 350 m off is not
    near = _tracks([(3, (500.0, 250.0, 250.0), (0.0, 0.0, 0.0), 10.0)])
    far = _tracks([(4, (500.0, 350.0, 250.0), (0.0, 0.0, 0.0), 10.0)])
    assert friendly_check(near, {3}, None, CLEAR_M)(GUN, AIM, 10.0, 14.0)
    assert not friendly_check(far, {4}, None, CLEAR_M)(GUN, AIM, 10.0, 14.0)


def test_a_friendly_flying_into_the_line_while_the_rounds_fly_holds():
    # 1 km north of the line at t = 10 s, flying south at 50 m/s: on the line at t = 30 s
    tracks = _tracks([(5, (500.0, 1000.0, 250.0), (0.0, -50.0, 0.0), 10.0)])
    check = friendly_check(tracks, {5}, None, CLEAR_M)
    assert not check(GUN, AIM, 10.0, 12.0)  # still 900 m off when the rounds are gone
    assert check(GUN, AIM, 26.0, 34.0)  # crosses the line during this burst


def test_a_reported_position_holds_where_it_was_reported():
    tracks = _tracks([])
    reports = FriendlyPositions(np.array([[1500.0, 100.0, 750.0]]), np.array([9.0]))
    # beyond the aim point, on the rounds' path to their self-destruct (100 m off)
    assert friendly_check(tracks, set(), reports, CLEAR_M)(GUN, AIM, 10.0, 14.0)
    behind = FriendlyPositions(np.array([[-800.0, 0.0, 100.0]]), np.array([9.0]))
    assert not friendly_check(tracks, set(), behind, CLEAR_M)(GUN, AIM, 10.0, 14.0)
