"""The one engage decision (engage.plan.plan_engagements) on a tracked rocket headed for a
protected zone: the engine's options and the live advice's agree when every gun is ready;
a no-fire sector and a weapons hold keep a gun from the threat; the live Advisor is the
same decision."""

import numpy as np
import pytest
import yaml

from opencram.c2.stages import PredictStage, SenseStage, TrackStage
from opencram.c2.world import compile_world
from opencram.engage.context import EngageContext
from opencram.engage.firecontrol import build_guns
from opencram.engage.plan import (
    ADVICE_OPTIONS,
    ENGINE_OPTIONS,
    GunState,
    Threats,
    plan_engagements,
)
from opencram.live.advice import Advisor
from opencram.scenario.load import parse
from opencram.track.manager import TrackerConfig
from opencram.warn.cache import ZoneProbabilityCache

EMBASSY = [[33.30111, 44.39117], [33.30111, 44.40083], [33.29689, 44.40083], [33.29689, 44.39117]]


def _doc(weapons):
    return {
        "name": "plan-test",
        "site": {"lat": 33.307577, "lon": 44.390259, "alt_m": 34.0},
        "zones": [{"name": "Embassy", "kind": "protected", "value": 10, "polygon": EMBASSY}],
        "sensors": [{"id": "r1", "lat": 33.2985, "lon": 44.3945}],
        "weapons": weapons,
        "threats": [
            {
                "id": "rk",
                "type": "rocket-107mm",
                "launch": {"lat": 33.25139, "lon": 44.39194},
                "aim": {"lat": 33.299, "lon": 44.396},
            }
        ],
        "simulation": {"duration_s": 90, "seed": 7},
    }


G1 = {"id": "g1", "lat": 33.3000, "lon": 44.3935}
G2 = {"id": "g2", "lat": 33.3010, "lon": 44.3990}


class Picture:
    """The tracked picture of the scenario at the first time the rocket is offered."""

    def __init__(self, weapons):
        world = compile_world(parse(yaml.safe_dump(_doc(weapons)), "plan-test"))
        sense = SenseStage(world, np.random.default_rng([7, 1]))
        track = TrackStage(world, sense.radars, TrackerConfig())
        predict = PredictStage(world.frame, track.tracker.model)
        s = world.scenario
        self.ctx = EngageContext(world.frame, world.zones, s.engagement, world.env)
        self.guns = build_guns(s.weapons, world.frame, s.site.alt_m, world.env)
        self.tracker = track.tracker
        cache = ZoneProbabilityCache(world.zones, world.zones.indices("protected"))
        first_s = np.inf
        for t in np.arange(0.0, 60.0, 0.05):
            track.step(float(t), sense.step(float(t)))
            predict.step(float(t), track.new_confirmed, track.new_dropped)
            if predict.current:
                first_s = min(first_s, float(t))
            if t >= first_s + 3.0:  # a few seconds on, so the impact is well known
                break
        self.t_s = float(t)
        self.current = dict(predict.current)
        ids = sorted(self.current)
        p = cache.rows(self.current, ids)
        tr = self.tracker
        self.threats = Threats.of(ids, self.current, tr.tracks, tr.model, p)

    def plan(self, state=None, options=ENGINE_OPTIONS):
        state = state or GunState.all_ready(self.guns)
        return plan_engagements(self.t_s, self.threats, self.guns, state, self.ctx, options)


@pytest.fixture(scope="module")
def two_guns():
    return Picture([G1, G2])


def test_the_engine_and_the_advice_agree_when_every_gun_is_ready(two_guns):
    engine = two_guns.plan(options=ENGINE_OPTIONS)
    advice = two_guns.plan(options=ADVICE_OPTIONS)
    assert engine.assignments, "a rocket headed for the embassy is engaged"
    assert [(a.gun, a.track_id) for a in engine.assignments] == [
        (a.gun, a.track_id) for a in advice.assignments
    ]
    for e, a in zip(engine.assignments, advice.assignments, strict=True):
        assert e.fire_s == a.fire_s  # no slew: both fire after the reaction time
        assert e.rounds == a.rounds
        # the engine interpolates the threat's path, the advice integrates it
        assert e.intercept_s == pytest.approx(a.intercept_s, abs=0.01)
        assert e.p_kill == pytest.approx(a.p_kill, abs=1e-3)


def test_the_advisor_publishes_the_decision(two_guns):
    advisor = Advisor(two_guns.guns, two_guns.ctx)
    out = advisor.advise(two_guns.t_s, two_guns.current, two_guns.tracker)
    plan = two_guns.plan(options=ADVICE_OPTIONS)
    assert {(a["gun"], a["track_id"]) for a in out} == {
        (a.gun, a.track_id) for a in plan.assignments
    }
    for row in out:
        a = next(a for a in plan.assignments if a.gun == row["gun"])
        assert row["p_kill"] == round(a.p_kill, 4)
        assert row["fire_s"] == round(a.fire_s, 3) and row["rounds"] == a.rounds
    assert advisor.withheld == []


def test_a_gun_on_weapons_hold_is_not_used(two_guns):
    free = two_guns.plan()
    used = {a.gun for a in free.assignments}
    assert used, "some gun engages"
    held_gun = sorted(used)[0]
    hold = np.array([g.id == held_gun for g in two_guns.guns])
    state = GunState.all_ready(two_guns.guns)
    state = GunState(ready_s=state.ready_s, ammo=state.ammo, hold=hold)
    plan = two_guns.plan(state)
    assert held_gun not in {a.gun for a in plan.assignments}
    assert plan.assignments, "the other gun takes the threat"
    # with every gun held, fire is withheld on the threat, by no gun in particular
    all_held = GunState(ready_s=state.ready_s, ammo=state.ammo, hold=np.ones(2, bool))
    plan = two_guns.plan(all_held)
    assert not plan.assignments
    assert plan.withheld and all(n.gun is None for n in plan.withheld)
    assert {n.reason for n in plan.withheld} == {"weapons hold (operator)"}


def test_a_no_fire_sector_holds_the_pair():
    # g1 may not fire anywhere but due north; the rocket comes from the south
    sector = {"from_deg": 10, "to_deg": 350}
    pic = Picture([{**G1, "no_fire_sectors": [sector]}])
    plan = pic.plan()
    assert not plan.assignments
    held = [n for n in plan.withheld if n.gun == "g1"]
    assert held and all("no-fire sector of g1" in n.reason for n in held)


def test_a_threat_away_from_the_protected_zones_is_not_a_candidate(two_guns):
    far = Threats(
        track_id=two_guns.threats.track_id,
        impact_s=two_guns.threats.impact_s,
        impact_cov_en_m2=two_guns.threats.impact_cov_en_m2,
        p_protected=np.zeros_like(two_guns.threats.p_protected),
        motion=two_guns.threats.motion,
        x=two_guns.threats.x,
        p=two_guns.threats.p,
        t_state_s=two_guns.threats.t_state_s,
    )
    plan = plan_engagements(
        two_guns.t_s, far, two_guns.guns, GunState.all_ready(two_guns.guns), two_guns.ctx
    )
    assert not plan.assignments and not plan.withheld
    assert all("outside the protected zones" in n.reason for n in plan.notes)


def test_busy_or_empty_guns_are_not_free(two_guns):
    ready = GunState.all_ready(two_guns.guns)
    busy = GunState(ready_s=np.full(2, two_guns.t_s + 1.0), ammo=ready.ammo, hold=ready.hold)
    empty = GunState(ready_s=ready.ready_s, ammo=np.zeros(2, np.int64), hold=ready.hold)
    for state in (busy, empty):
        plan = two_guns.plan(state)
        assert not plan.assignments and not plan.withheld
        assert {n.reason for n in plan.notes} == {"no gun free"}
