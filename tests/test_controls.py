"""Operator controls take effect in the running simulation and are logged as events."""

from __future__ import annotations

from opencram.c2.controls import OperatorControls
from opencram.c2.engine import run
from opencram.c2.world import compile_world
from opencram.scenario.load import load


def _run(controls=None, on_events=None):
    world = compile_world(load("green-zone"))
    return run(world, on_events=on_events, controls=controls)


def _kinds(result, kind):
    return [e for e in result.events if e.kind == kind]


def test_weapons_hold_on_every_gun_stops_all_engagements():
    c = OperatorControls()
    c.request("weapons_hold", "*")
    res = _run(c)
    acts = _kinds(res, "operator")
    assert [(a.action, a.target, a.accepted) for a in acts] == [("weapons_hold", "*", True)]
    assert not _kinds(res, "engagement")
    assert {e.state for e in _kinds(res, "gun")} == {"hold"}
    held = _kinds(res, "engagement_withheld")
    assert held and all(e.reason == "weapons hold (operator)" for e in held)
    # both rockets land: nothing destroyed them
    assert len(_kinds(res, "impact")) == 2


def test_default_run_engages_and_reports_gun_states():
    res = _run()
    eng = _kinds(res, "engagement")
    assert eng, "green-zone engages rocket-1"
    assert all(any(f.kind == "debris" for f in e.footprints) for e in eng)
    states = [(e.gun, e.state) for e in _kinds(res, "gun")]
    assert ("lpws-1", "engaging") in states and ("lpws-1", "ready") in states


def test_actions_mid_run_unknown_targets_are_refused_not_fatal():
    c = OperatorControls()
    sent = {"done": False}

    def on_events(evs):
        for e in evs:
            if e.kind == "zone_alert" and e.state == "raised" and not sent["done"]:
                sent["done"] = True
                c.request("ack_alert", e.zone)
                c.request("ack_alert", "no-such-zone")
                c.request("weapons_hold", "no-such-gun")
                c.request("mark_friendly", "abc")

    res = _run(c, on_events)
    acts = {(a.action, a.target): a for a in _kinds(res, "operator")}
    assert len(acts) == 4
    zone = next(e.zone for e in _kinds(res, "zone_alert") if e.state == "raised")
    assert acts[("ack_alert", zone)].accepted
    assert not acts[("ack_alert", "no-such-zone")].accepted
    assert "no-such-gun" in acts[("weapons_hold", "no-such-gun")].note
    assert not acts[("mark_friendly", "abc")].accepted


def test_marking_the_engaged_track_friendly_stops_fire_and_warnings():
    first = _run()
    tid = _kinds(first, "engagement")[0].track_id
    c = OperatorControls()
    state = {"done": False}

    def on_events(evs):
        for e in evs:
            if e.kind == "track" and e.track_id == tid and not state["done"]:
                state["done"] = True
                c.request("mark_friendly", str(tid))

    res = _run(c, on_events)
    assert [a.accepted for a in _kinds(res, "operator")] == [True]
    assert all(e.track_id != tid for e in _kinds(res, "engagement"))
    t_mark = _kinds(res, "operator")[0].t_s
    later = [e for e in _kinds(res, "zone_alert") if e.t_s > t_mark and e.state != "cleared"]
    assert all(tid not in e.track_ids for e in later)


def test_unknown_action_is_a_value_error():
    import pytest

    with pytest.raises(ValueError, match="action"):
        OperatorControls().request("fire_everything", "*")
