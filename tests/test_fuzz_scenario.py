"""Property (issue 17, point 4): any scenario that `scenario validate` accepts (load and
compile, opencram.cli.scenario) runs to the end without an exception; anything else is
refused with a UserError. Scenarios are the built-in green-zone, made short, with one to
three numeric fields set to extreme values (0, negative, tiny, huge, inf, NaN, booleans,
big ints, values at the schema's limits). Bounded: derandomised, 40 examples of a 6 s run.
Generators in tests/fuzzgen.py (shared with benchmarks/fuzz_all.py). Fault it catches: drop
the finite-number config or one bound from the schema (e.g. the false-alarm ceiling) and a
drawn example crashes the run."""

from pathlib import Path

from hypothesis import HealthCheck, given, settings

from fuzzgen import MUTATIONS, mutated_scenario, run_world, validate_scenario


@settings(
    max_examples=40,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(MUTATIONS)
def test_validate_rejects_or_run_completes(tmp_path_factory, mutations):
    world = validate_scenario(mutated_scenario(mutations))
    if world is not None:
        run_world(world, Path(tmp_path_factory.mktemp("run")))
