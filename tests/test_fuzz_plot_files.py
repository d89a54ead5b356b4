"""Fuzzing the two recorded-data readers, the plot CSV and the sensors YAML: whatever the
bytes, the reader gives plots (or sensors) within the documented limits, or a
:class:`~opencram.errors.UserError` whose every problem is one line; never another
exception.

Two sources of inputs: a seeded mutator (``MUTANTS`` mutants of a valid file each, with
CSV- and YAML-shaped damage: quotes, commas, line ends, NUL and non-UTF-8 bytes, byte-order
marks, ``nan``/``inf``/``1e300``, huge numbers, lines cut, doubled and swapped), and
hypothesis (arbitrary bytes and text, derandomised so every run draws the same inputs).
The mutator and the checks are in ``tests/fuzzgen.py``, shared with ``benchmarks/fuzz_all.py``.

Faults seeded by hand to check that this file catches them (each made this file fail,
then was undone):

- ``_chunks`` without its ``except UnicodeDecodeError``: a mutant with a ``\\xff`` byte
  raised ``UnicodeDecodeError`` (caught in the first few hundred CSV mutants);
- ``_quoted_records`` without its ``except csv.Error``: a mutant with a quote and a cell of
  140,000 characters raised ``_csv.Error: field larger than field limit (131072)``;
- ``COLUMN_LIMITS`` without the ``range_m`` upper bound: a mutant with ``1e300`` in the
  range column came back as a plot, failing the check of returned plots against the
  documented limits (taken from the scenario schema, not from ``COLUMN_LIMITS``).
"""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fuzzgen import VALID_CSV, VALID_YAML, check_plot_csv, check_sensors_yaml, mutate

MUTANTS = 3000  # per reader


def test_seeded_mutants_of_a_plot_csv(tmp_path):
    rng = np.random.default_rng(17)
    assert check_plot_csv(tmp_path / "p.csv", VALID_CSV) == "pp"
    seen = [check_plot_csv(tmp_path / "p.csv", mutate(rng, VALID_CSV)) for _ in range(MUTANTS)]
    # the mutants reach both outcomes, and bad rows skipped after an error
    assert {"pp", "ee", "ep"} <= set(seen)


def test_seeded_mutants_of_a_sensors_yaml(tmp_path):
    rng = np.random.default_rng(17)
    assert check_sensors_yaml(tmp_path / "s.yaml", VALID_YAML) == "s"
    seen = [
        check_sensors_yaml(tmp_path / "s.yaml", mutate(rng, VALID_YAML)) for _ in range(MUTANTS)
    ]
    assert {"s", "e"} <= set(seen)


FUZZ = settings(
    max_examples=300,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)


@FUZZ
@given(data=st.binary(max_size=3000) | st.text(max_size=1500).map(lambda s: s.encode()))
def test_any_bytes_as_a_plot_csv(tmp_path, data):
    check_plot_csv(tmp_path / "p.csv", data)


@FUZZ
@given(data=st.binary(max_size=2000) | st.text(max_size=1500).map(lambda s: s.encode()))
def test_any_bytes_as_a_sensors_yaml(tmp_path, data):
    check_sensors_yaml(tmp_path / "s.yaml", data)
