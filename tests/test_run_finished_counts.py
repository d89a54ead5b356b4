"""The closing ``run_finished`` counts (issue 15 point 8: "in_flight_at_end counts rounds
still flying"): rounds that landed, were destroyed in the air, and were still flying.

The expected counts are read from the run's other events (one ``launch`` per round, one
``impact`` per round that landed, one killing ``engagement_result`` per round destroyed),
which the engine writes in separate places from the closing count; a run cut short by a
shortened duration leaves rounds in the air.
"""

from __future__ import annotations

import pytest

from opencram.c2.engine import run
from opencram.c2.world import compile_world
from opencram.scenario.load import builtin_dir, builtin_text, parse


def counts_from_events(events) -> tuple[int, int, int]:
    launched = sum(e.kind == "launch" for e in events)
    landed = sum(e.kind == "impact" for e in events)
    destroyed = len({e.track_id for e in events if e.kind == "engagement_result" and e.killed})
    return landed, destroyed, launched - landed - destroyed


@pytest.mark.parametrize("duration_s", [None, 25.0])
def test_green_zone_counts_agree_with_the_event_log(duration_s):
    text = builtin_text("green-zone")
    if duration_s is not None:
        assert "  duration_s: 120\n" in text
        text = text.replace("  duration_s: 120\n", f"  duration_s: {duration_s}\n")
    loaded = parse(text, "green-zone", builtin_dir())
    events = run(compile_world(loaded)).events
    done = events[-1]
    assert done.kind == "run_finished"
    landed, destroyed, flying = counts_from_events(events[:-1])
    assert (done.n_impacts, done.n_destroyed, done.n_in_flight) == (landed, destroyed, flying)
    # the reported attack: one rocket destroyed in the air, the other landed
    if duration_s is None:
        assert (landed, destroyed, flying) == (1, 1, 0)
    else:
        assert flying >= 1 and landed == 0
