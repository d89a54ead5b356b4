"""Alerts that stay true (issue 15 point 5): an alert up is re-sent when its contributing
tracks, its probability (by ``P_STEP``) or its predicted impact time (by more than
``IMPACT_STEP_S``) change, and a destroyed track leaves it in the tick its kill is
confirmed.

The AlertBoard checks use hand-made probabilities, so their expected values are the rule
written in ``opencram.warn.alerts`` (regression guards of that rule). The green-zone check
is judged against the simulation's truth: which round each track followed (the plots' true
object) and when rocket-2 really lands (its ``impact`` event, from the flown trajectory).
"""

from __future__ import annotations

import numpy as np
import pytest

from opencram.c2.engine import run
from opencram.c2.stages.warn import WarnStage
from opencram.c2.world import compile_world
from opencram.predict.prediction import Prediction
from opencram.scenario.load import load
from opencram.warn.alerts import IMPACT_STEP_S, P_STEP, AlertBoard


class _Zones:
    names = ("a", "p")
    kinds = ("warning", "protected")


def _step(board, t, rows, ids, tti):
    """One tick: ``rows`` are each track's probability for zone a; returns (state, tracks,
    time to impact) of zone a's alert, or None when nothing is sent."""
    p = np.array(rows, dtype=float).reshape(len(ids), 1)
    out = board.step(float(t), p, list(ids), np.array(tti, dtype=float))
    assert len(out) <= 1
    return None if not out else (out[0][1], out[0][3], out[0][4])


def test_a_countdown_running_with_the_clock_is_no_change():
    board = AlertBoard(_Zones(), threshold=0.1)
    assert _step(board, 0.0, [0.5], [7], [10.0]) == ("raised", [7], 10.0)
    # the predicted impact stays at t = 10 s (within IMPACT_STEP_S): nothing re-sent
    assert _step(board, 1.0, [0.5], [7], [9.0]) is None
    assert _step(board, 2.0, [0.5], [7], [8.0 + 0.9 * IMPACT_STEP_S]) is None
    # the predicted impact moves to 11.5 s: re-sent with the new time to impact
    assert _step(board, 3.0, [0.5], [7], [8.5]) == ("updated", [7], 8.5)
    # ... and compared with what was last sent (11.5 s), not with the first alert
    assert _step(board, 4.0, [0.5], [7], [7.5 + 0.5 * IMPACT_STEP_S]) is None


def test_probability_is_re_sent_beyond_its_step_only():
    board = AlertBoard(_Zones(), threshold=0.1)
    _step(board, 0.0, [0.5], [7], [10.0])
    assert _step(board, 1.0, [0.5 + 0.5 * P_STEP], [7], [9.0]) is None
    assert _step(board, 2.0, [0.5 + P_STEP], [7], [8.0])[0] == "updated"


def test_contributors_joining_and_leaving_are_re_sent_and_the_last_clears():
    board = AlertBoard(_Zones(), threshold=0.1)
    assert _step(board, 0.0, [0.9], [2], [16.0]) == ("raised", [2], 16.0)
    # a second track joins with the same zone probability (rounded), impact later
    assert _step(board, 1.0, [0.9, 0.001], [2, 4], [15.0, 20.0]) == ("updated", [2, 4], 15.0)
    # track 2 leaves (destroyed): the alert now names track 4 and its own impact
    assert _step(board, 2.0, [0.95], [4], [19.0]) == ("updated", [4], 19.0)
    # track 4 leaves too: no contributor, probability 0, the all-clear
    assert _step(board, 3.0, [], [], []) == ("cleared", [], None)


def test_the_time_to_impact_is_the_next_impact_still_ahead():
    board = AlertBoard(_Zones(), threshold=0.1)
    # track 2's predicted impact has passed (kept within the grace); track 4's is ahead
    assert _step(board, 0.0, [0.5, 0.5], [2, 4], [-1.5, 6.0]) == ("raised", [2, 4], 6.0)
    board = AlertBoard(_Zones(), threshold=0.1)
    # every impact has passed: the latest, overdue
    assert _step(board, 0.0, [0.5, 0.5], [2, 4], [-1.5, -0.5]) == ("raised", [2, 4], -0.5)
    board = AlertBoard(_Zones(), threshold=0.1)
    # a drone's corridor has no impact time (NaN): listed, but gives no time
    assert _step(board, 0.0, [0.5], [9], [np.nan]) == ("raised", [9], None)
    assert _step(board, 5.0, [0.5], [9], [np.nan]) is None  # nothing changed


def _pred(track_id: int, measured_s: float) -> Prediction:
    return Prediction(
        track_id=track_id,
        track_class="rocket",
        measured_s=measured_s,
        impact_s=measured_s + 10.0,
        impact_en_m=np.zeros(2),
        impact_cov_en_m2=np.eye(2),
    )


def test_a_destroyed_track_stops_contributing_until_seen_flying_after_the_look():
    warn = WarnStage(_Zones(), threshold=0.1, kill_look_s=1.2)
    warn.confirm_kills(20.0, [2])
    old = {2: _pred(2, 21.0), 4: _pred(4, 20.0)}  # measured within the look: a ghost
    assert sorted(warn.contributing(old)) == [4]
    later = {2: _pred(2, 21.3), 4: _pred(4, 20.0)}  # still flying after the look
    assert sorted(warn.contributing(later)) == [2, 4]
    assert sorted(warn.contributing({4: _pred(4, 20.0)})) == [4]  # dropped: forgotten
    assert warn.destroyed == {}


# --- the green-zone case of issue 15 ----------------------------------------------------


@pytest.fixture(scope="module")
def green_zone():
    return run(compile_world(load("green-zone")))


def _tracks_of(result, round_index: int) -> set[int]:
    """The tracks whose plots were mostly of the true round ``round_index``."""
    u = result.tracker.updates
    ids, truth = u.arrays("track_id"), u.arrays("truth_id")
    return {
        int(t)
        for t in np.unique(ids)
        if np.bincount(truth[(ids == t) & (truth >= 0)], minlength=2).argmax() == round_index
    }


def _alert_up(events, zone: str, t_s: float):
    """The last alert event on ``zone`` at or before ``t_s``, if it is not the all-clear."""
    last = None
    for e in events:
        if e.kind == "zone_alert" and e.zone == zone and e.t_s <= t_s:
            last = e
    return None if last is None or last.state == "cleared" else last


def test_green_zone_alert_drops_the_destroyed_rocket_and_names_the_real_threat(green_zone):
    ev = green_zone.events
    rounds = [r.id for r in green_zone.world.truth.rounds]
    kills = {e.track_id: e.t_s for e in ev if e.kind == "engagement_result" and e.killed}
    rocket1 = _tracks_of(green_zone, rounds.index("rocket-1"))
    rocket2 = _tracks_of(green_zone, rounds.index("rocket-2"))
    destroyed = rocket1 & set(kills)
    assert destroyed, "green-zone's guns destroy rocket-1"
    for tid in destroyed:
        after = [e for e in ev if e.kind == "zone_alert" and e.t_s >= kills[tid]]
        assert after and all(tid not in e.track_ids for e in after)
    impact = next(e for e in ev if e.kind == "impact" and e.threat_id == "rocket-2")
    assert "International Zone" in impact.zones
    for before in (4.0, 3.4, 3.0):  # T+30.4 s was 3.3 s before rocket-2 landed
        up = _alert_up(ev, "International Zone", impact.t_s - before)
        assert up is not None and set(up.track_ids) & rocket2
        assert not set(up.track_ids) & rocket1
        assert abs(up.t_s + up.time_to_impact_s - impact.t_s) <= 1.0


# --- warning per threat (issue 15 point 6) -----------------------------------------------


def test_a_threat_is_credited_only_from_its_own_tracks_alert():
    from types import SimpleNamespace as E

    from opencram.warn.per_threat import threat_warnings

    alerts = [
        E(t_s=9.0, zone="IZ", state="raised", track_ids=[2]),
        E(t_s=13.0, zone="IZ", state="updated", track_ids=[2, 4]),
        E(t_s=22.2, zone="IZ", state="updated", track_ids=[4]),
        E(t_s=34.0, zone="IZ", state="cleared", track_ids=[]),
    ]
    got = threat_warnings(alerts, [("r2", 33.7, ("IZ", "open"))], {"r2": [4]})
    assert [(w.zone, w.own_warning_s, w.zone_warning_s) for w in got] == [("IZ", 20.7, 24.7)]


def test_green_zone_rocket_2_is_warned_no_longer_than_it_was_seen():
    """Without the guns both rockets land in the International Zone. Authority: the truth
    (rocket-2's first plot and its impact event); its own warning cannot exceed the time
    from its first plot to its impact."""
    import dataclasses

    from opencram.warn.per_threat import threat_warnings

    loaded = load("green-zone")
    unarmed = loaded.scenario.model_copy(update={"weapons": []})
    res = run(compile_world(dataclasses.replace(loaded, scenario=unarmed)))
    rounds = [r.id for r in res.world.truth.rounds]
    hits = [(e.threat_id, e.t_s, tuple(e.zones)) for e in res.events if e.kind == "impact"]
    tracks = {r: _tracks_of(res, k) for k, r in enumerate(rounds)}
    got = {w.threat_id: w for w in threat_warnings(res.events, hits, tracks)}
    plots = res.plots
    first_plot = float(plots.time_s[plots.truth_id == rounds.index("rocket-2")].min())
    t_imp = next(t for th, t, _ in hits if th == "rocket-2")
    w = got["rocket-2"]
    assert w.own_warning_s is not None and w.zone_warning_s is not None
    assert w.own_warning_s <= t_imp - first_plot < w.zone_warning_s
