"""A campaign run's prediction errors are per round: a track that follows the helicopter
(truth that is not a round) may be predicted ballistically, and must not be scored against
a round (it crashed the worker with an IndexError on green-zone seed 8)."""

from __future__ import annotations

import numpy as np

from opencram.c2.engine import run
from opencram.c2.world import compile_world
from opencram.campaign.worker import _prediction_errors
from opencram.scenario.load import load


def test_predictions_of_a_track_on_the_helicopter_are_not_scored_against_a_round():
    world = compile_world(load("green-zone"), 8)
    result = run(world)
    n_rounds = len(world.truth.rounds)
    ids = {e.truth_id for e in result.predictions}
    assert max(ids) >= n_rounds  # the case: some prediction came from the helicopter's track
    out = _prediction_errors(result, world.truth.impact_times(), world.truth.impact_points())
    assert {i for i, _ in out} <= set(range(n_rounds))
    # the rounds' own errors are still there, as finite distances
    assert any(v[0] is not None and np.isfinite(v[0]) for v in out.values())
