"""The command line reads right at 80 columns (issue 16 point 5): flags show no value
placeholder, help is wrapped by the terminal, and ``threats list`` keeps every id whole.

Each check runs the real ``opencram`` entry point in a subprocess with ``COLUMNS=80``, as a
user's terminal would set it; the expected ids come from the threat library file, not from
the command under test.
"""

from __future__ import annotations

import itertools
import os
import subprocess
import sys

import pytest
import yaml

from opencram.cli import app, tidy_help

WIDTH = 80


def opencram(*args: str) -> str:
    env = {**os.environ, "COLUMNS": str(WIDTH), "TERM": "dumb", "NO_COLOR": "1"}
    done = subprocess.run(
        [sys.executable, "-m", "opencram.cli", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def command_paths() -> list[tuple[str, ...]]:
    import typer

    root = tidy_help(typer.main.get_command(app))
    paths: list[tuple[str, ...]] = [()]
    for name, sub in root.commands.items():
        paths.append((name,))
        paths.extend((name, leaf) for leaf in getattr(sub, "commands", {}))
    return paths


@pytest.mark.parametrize("path", command_paths(), ids=lambda p: " ".join(p) or "opencram")
def test_help_has_no_bool_placeholder_and_fits_80_columns(path):
    text = opencram(*path, "--help")
    assert "<bool>" not in text
    assert max(len(line) for line in text.splitlines()) <= WIDTH


def test_command_list_has_no_hard_line_breaks_from_docstrings():
    text = opencram("--help")
    lines = text.splitlines()
    # a command's summary continues on the next line only when the terminal wraps it,
    # i.e. the line before it is full (within the box padding), never half empty
    body = [line for line in lines if line.startswith("│ ")]
    for before, after in itertools.pairwise(body):
        if after.startswith("│           ") and after.strip("│ "):
            assert len(before.rstrip("│ ").rstrip()) > WIDTH - 20, (before, after)


def test_threats_list_keeps_every_id_whole_at_80_columns():
    from importlib.resources import files

    data = yaml.safe_load(files("opencram.physics").joinpath("data/threats.yaml").read_text())
    ids = list(data["threats"])
    text = opencram("threats", "list")
    lines = text.splitlines()
    assert max(len(line) for line in lines) <= WIDTH
    firsts = {line.split()[0] for line in lines[1:] if line.strip()}
    assert set(ids) <= firsts, sorted(set(ids) - firsts)
