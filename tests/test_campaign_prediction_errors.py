"""A campaign run's prediction errors are per round: a track that follows the helicopter
(truth that is not a round) may be predicted ballistically, and must not be scored against
a round (it crashed the worker with an IndexError on green-zone seed 8). The helicopter's
SSR code is taken away here, as for an aircraft the defence has no code for: green-zone's
radars read heli-1's code, and a friendly track is never predicted."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from opencram.c2.engine import run
from opencram.c2.world import compile_world
from opencram.campaign.worker import _prediction_errors
from opencram.scenario.load import load


def test_predictions_of_a_track_on_the_helicopter_are_not_scored_against_a_round():
    loaded = load("green-zone")
    sc = loaded.scenario
    aircraft = [a.model_copy(update={"mode3a": None}) for a in sc.aircraft]
    world = compile_world(replace(loaded, scenario=sc.model_copy(update={"aircraft": aircraft})), 8)
    result = run(world)
    n_rounds = len(world.truth.rounds)
    ids = {e.truth_id for e in result.predictions}
    assert max(ids) >= n_rounds  # the case: some prediction came from the helicopter's track
    out = _prediction_errors(result, world.truth.impact_times(), world.truth.impact_points())
    assert {i for i, _ in out} <= set(range(n_rounds))
    # the rounds' own errors are still there, as finite distances
    assert any(v[0] is not None and np.isfinite(v[0]) for v in out.values())
