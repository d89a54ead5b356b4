"""Fast start (issue 14 point 5): the light paths load no heavy library, and the lazy package
exports still give every name they list.

Each import check runs in a fresh interpreter, because the test process itself has long
loaded scipy and the rest."""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"
HEAVY = ("scipy", "numba", "matplotlib", "pyarrow", "ray", "fastapi")
LAZY_PACKAGES = ("opencram.track", "opencram.predict", "opencram.sense", "opencram.c2")


def loaded_after(code: str) -> set[str]:
    """Top-level names of the modules loaded by a fresh interpreter running ``code``."""
    names = "sorted({m.split('.')[0] for m in sys.modules})"
    probe = f"{code}\nimport sys, json\nprint(json.dumps({names}))"
    env = dict(os.environ, PYTHONPATH=str(SRC))
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, env=env, check=True
    )
    return set(json.loads(out.stdout.splitlines()[-1]))


@pytest.mark.parametrize(
    "code",
    [
        "import opencram.cli",
        "from opencram.analysis.offline import track_files",
        "from opencram.track.manager import Tracker",
        "import opencram.track, opencram.predict, opencram.sense, opencram.c2",
    ],
)
def test_light_imports_load_no_heavy_library(code):
    heavy = loaded_after(code) & set(HEAVY)
    assert not heavy, f"{code!r} loaded {sorted(heavy)}"


def test_track_of_an_empty_file_loads_no_heavy_library(tmp_path):
    csv = tmp_path / "empty.csv"
    csv.write_text("time_s,sensor,range_m,azimuth_deg,elevation_deg\n")
    yml = tmp_path / "sensors.yaml"
    yml.write_text(
        "sensors:\n- id: r1\n  lat: 34.5\n  lon: 69.2\n  alt_m: 1800.0\n  sigma_range_m: 10.0\n"
        "  sigma_azimuth_mrad: 2.0\n  sigma_elevation_mrad: 2.0\n  scan_s: 1.0\n"
    )
    out = tmp_path / "out.json"
    code = (
        "from opencram.analysis.offline import track_files\n"
        f"track_files({str(csv)!r}, {str(yml)!r}, {str(out)!r})"
    )
    heavy = loaded_after(code) & set(HEAVY)
    assert not heavy, f"tracking an empty file loaded {sorted(heavy)}"
    assert json.loads(out.read_text())["tracks"] == []


@pytest.mark.parametrize("package", LAZY_PACKAGES)
def test_lazy_exports_give_every_listed_name(package):
    pkg = importlib.import_module(package)
    assert pkg.__doc__
    for name in pkg.__all__:
        value = getattr(pkg, name)
        owner = importlib.import_module(pkg._EXPORTS[name])
        assert value is getattr(owner, name), f"{package}.{name}"
    assert set(pkg.__all__) <= set(dir(pkg))
    with pytest.raises(AttributeError):
        pkg.__getattr__("no_such_name")


def test_chi2_gate_is_scipy_stats_quantile():
    """The gate from scipy.special is the very number scipy.stats gives (the gate decides
    associations: byte-identical outputs need the same bits)."""
    from scipy.stats import chi2

    from opencram.track.association import _chi2_gate

    for prob in (0.95, 0.99, 0.999, 0.9999):
        for dof in (2, 3, 4):
            assert _chi2_gate(prob, dof) == float(chi2.ppf(prob, dof))
