"""benchmarks/run_all.py (``make bench``) covers every benchmark: each
``benchmarks/bench_*.py`` has an entry in its ``BENCHMARKS`` register, so a new benchmark
cannot be left out of the run that reproduces docs/benchmarks.md. Bounded: nothing here
runs a benchmark, only the register and ``--list``."""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
from pathlib import Path

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


def load_run_all(folder: Path = BENCHMARKS):
    spec = importlib.util.spec_from_file_location(f"run_all_{id(folder)}", folder / "run_all.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def test_every_bench_file_has_an_entry():
    run_all = load_run_all()
    assert run_all.missing_scripts() == [], (
        f"benchmarks/run_all.py BENCHMARKS has no entry for {run_all.missing_scripts()}: "
        "add one (its arguments, docs section and a --quick form)"
    )


def test_every_entry_names_an_existing_script_with_a_section():
    run_all = load_run_all()
    for e in run_all.BENCHMARKS:
        assert (BENCHMARKS / e.script).is_file(), e.script
        assert e.section.startswith("docs/"), e
        assert e.quick is not None or e.note, f"{e.script}: no quick form and no reason"


def test_a_new_bench_file_without_an_entry_is_named(tmp_path):
    shutil.copy(BENCHMARKS / "run_all.py", tmp_path / "run_all.py")
    for e in load_run_all().BENCHMARKS:
        (tmp_path / e.script).write_text("")
    (tmp_path / "bench_new_thing.py").write_text("")
    assert load_run_all(tmp_path).missing_scripts() == ["bench_new_thing.py"]
    done = subprocess.run(
        [sys.executable, str(tmp_path / "run_all.py"), "--list"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode != 0
    assert "bench_new_thing.py" in done.stderr


def test_list_prints_every_entry_full_and_quick():
    run_all = load_run_all()
    for flags, n in (([], len(run_all.BENCHMARKS)), (["--quick"], None)):
        done = subprocess.run(
            [sys.executable, str(BENCHMARKS / "run_all.py"), "--list", *flags],
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        lines = done.stdout.splitlines()
        expected = n if n is not None else sum(e.quick is not None for e in run_all.BENCHMARKS)
        assert len(lines) == expected
        assert {line.split()[0] for line in lines} <= run_all.covered_scripts()
