"""Property (issue 17, point 4): any scenario that `scenario validate` accepts (load and
compile, opencram.cli.scenario) runs to the end without an exception; anything else is
refused with a UserError. Scenarios are the built-in green-zone, made short, with one to
three numeric fields set to extreme values (0, negative, tiny, huge, inf, NaN, booleans,
big ints, values at the schema's limits). Bounded: derandomised, 40 examples of a 6 s run.
Fault it catches: drop the finite-number config or one bound from the schema (e.g. the
false-alarm ceiling) and a drawn example crashes the run."""

import copy
import math
from pathlib import Path

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from opencram.analysis.runfolder import events_jsonl, write_tracking_files
from opencram.analysis.summary import build_summary
from opencram.c2.engine import run
from opencram.c2.world import compile_world
from opencram.errors import UserError
from opencram.scenario.load import builtin_dir, builtin_text, parse
from opencram.scenario.schema import Scenario


def _base() -> dict:
    g = yaml.safe_load(builtin_text("green-zone"))
    g["simulation"]["duration_s"] = 6
    g["threats"][0]["time_s"], g["threats"][1]["time_s"] = 0.5, 1.0
    return Scenario.model_validate(g).model_dump(mode="python")


BASE = _base()


def _numeric_paths(d, path=()):
    if isinstance(d, dict):
        for k, v in d.items():
            yield from _numeric_paths(v, (*path, k))
    elif isinstance(d, list):
        for i, v in enumerate(d):
            yield from _numeric_paths(v, (*path, i))
    elif isinstance(d, int | float) and not isinstance(d, bool):
        yield path


PATHS = [p for p in _numeric_paths(BASE) if "polygon" not in p]
EXTREMES = [0, -1, 1e-300, 5e-324, 1e-9, 1e300, 1e308, math.inf, -math.inf, math.nan]
EXTREMES += [True, False, 10**30, 2**63, 1e-3, 0.05, 0.1, 600, 1000, 5000, 20000, 36000, 1e6]
VALUES = st.one_of(
    st.sampled_from(EXTREMES),
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(min_value=-(10**20), max_value=10**20),
)
MUTATIONS = st.lists(st.tuples(st.sampled_from(PATHS), VALUES), min_size=1, max_size=3)


def _mutated(mutations) -> str:
    d = copy.deepcopy(BASE)
    for path, value in mutations:
        cur = d
        for p in path[:-1]:
            cur = cur[p]
        cur[path[-1]] = value
    return yaml.safe_dump(d)


@settings(
    max_examples=40,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(MUTATIONS)
def test_validate_rejects_or_run_completes(tmp_path_factory, mutations):
    text = _mutated(mutations)
    try:
        world = compile_world(parse(text, "fuzz.yaml", builtin_dir()))
    except UserError:
        return
    result = run(world)
    build_summary(result)
    events_jsonl(result)
    if result.tracker is not None:
        write_tracking_files(Path(tmp_path_factory.mktemp("run")), result)
