"""Localised warning: the alert state machine, its replay, and the built-in scenarios'
warnings (no zone hit without an alert)."""

import dataclasses
import itertools

import numpy as np
import pytest

from opencram.c2.engine import run
from opencram.c2.world import compile_world
from opencram.scenario.load import load
from opencram.warn.alerts import AlertBoard
from opencram.warn.metrics import alert_episodes, score_warnings, trade_off


class _Zones:
    names = ("a", "b", "p")
    kinds = ("warning", "warning", "protected")


def test_alert_board_raises_updates_and_clears_with_hysteresis():
    board = AlertBoard(_Zones(), threshold=0.1)
    assert board.names == ["a", "b"]  # protected zones get no alerts
    steps = [
        ([[0.05, 0.0]], []),
        ([[0.12, 0.0]], [("a", "raised")]),
        ([[0.30, 0.0]], [("a", "updated")]),
        ([[0.07, 0.0]], [("a", "updated")]),  # still above half the threshold
        ([[0.04, 0.0]], [("a", "cleared")]),
    ]
    for t, (p, expected) in enumerate(steps):
        out = board.step(float(t), np.array(p), [7], np.array([10.0]))
        assert [(o[0], o[1]) for o in out] == expected
    times = np.array(board.history_t)
    assert alert_episodes(times, np.array(board.history_p), 0.1) == [(0, 1.0, 4.0)]


def test_several_threats_combine():
    board = AlertBoard(_Zones(), threshold=0.18)
    out = board.step(0.0, np.array([[0.1, 0.0], [0.1, 0.0]]), [1, 2], np.array([5.0, 6.0]))
    assert out[0][:2] == ("a", "raised") and out[0][2] == pytest.approx(0.19)
    assert out[0][3] == [1, 2] and out[0][4] == 5.0


@pytest.fixture(
    scope="module", params=["green-zone", "mortar-barrage", "grad-salvo", "drone-attack"]
)
def builtin_run(request):
    """A built-in scenario with its guns removed: warnings are judged on every threat,
    including those the guns would have destroyed."""
    loaded = load(request.param)
    unarmed = loaded.scenario.model_copy(update={"weapons": []})
    return run(compile_world(dataclasses.replace(loaded, scenario=unarmed)))


def test_no_zone_is_hit_without_an_alert(builtin_run):
    score = score_warnings(builtin_run)
    assert score.missed == []
    assert score.warning_times_s, "every built-in scenario hits a warning zone"
    assert min(w for _, _, w in score.warning_times_s) > 10.0


def test_replayed_alerts_equal_the_live_events(builtin_run):
    times, names, p = builtin_run.alert_history
    eps = alert_episodes(times, p, builtin_run.world.scenario.warning.threshold)
    raised = sorted(
        (e.zone, e.t_s)
        for e in builtin_run.events
        if e.kind == "zone_alert" and e.state == "raised"
    )
    assert sorted((names[z], round(t0, 4)) for z, t0, _ in eps) == raised


def test_green_zone_warns_the_zone_hit_at_least_15_s_ahead():
    # without its guns, so that both rockets land (one in the embassy)
    import yaml

    from opencram.scenario.load import builtin_dir, builtin_text, parse

    doc = yaml.safe_load(builtin_text("green-zone"))
    doc["weapons"] = []
    result = run(compile_world(parse(yaml.safe_dump(doc), "green-zone-unarmed", builtin_dir())))
    score = score_warnings(result)
    hit = {t: w for z, t, w in score.warning_times_s if z == "International Zone"}
    assert hit["rocket-1"] >= 15.0 and hit["rocket-2"] >= 15.0
    rows = trade_off(result)
    assert [r["threshold"] for r in rows] == sorted(r["threshold"] for r in rows)
    # a higher threshold never gives more false alerts here
    fa = [r["false_alerts"] for r in rows]
    assert all(a >= b for a, b in itertools.pairwise(fa))
