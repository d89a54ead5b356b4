import subprocess
import sys

import pytest


def run_cli(*args: str, cwd=None) -> subprocess.CompletedProcess:
    """Run the opencram command line in a fresh interpreter, as a user would."""
    return subprocess.run(
        [sys.executable, "-m", "opencram", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=300,
    )


@pytest.fixture
def cli():
    return run_cli


@pytest.fixture(scope="session")
def green_zone_recording(tmp_path_factory):
    """A green-zone run folder (default seed) with its ASTERIX recording ``p.ast``, made
    once for the tests that replay it into ``opencram serve``."""
    from typer.testing import CliRunner

    from opencram.cli import app

    folder = tmp_path_factory.mktemp("gz")
    res = CliRunner().invoke(
        app,
        [
            "run",
            "green-zone",
            "--out",
            str(folder),
            "-q",
            "--export-asterix",
            str(folder / "p.ast"),
        ],
    )
    assert res.exit_code == 0, res.output
    return folder
