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
