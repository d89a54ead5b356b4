"""Regression guard: the built-in scenarios' outputs, byte for byte.

The digests were recorded from the code before the layout redesign (issue 12), which moved
code without changing any algorithm. They prove nothing about correctness (the expected
values come from this code); they prove that a change of layout changed no output. Update
a digest only in a commit that says which behaviour changed and why. Every built-in is
digested (a new built-in adds its digests in the commit that adds it).

The same runs also check one thing that is not a regression guard: no built-in misses a
warning.
"""

import hashlib
import json
from pathlib import Path

import pytest

from opencram.analysis.runfolder import execute
from opencram.scenario.load import builtin_names

FILES = ("events.jsonl", "summary.json", "tracks.json")

DIGESTS = {
    "green-zone": (
        "0fe9e458ef5ae1ed21e141a9b0852e1cc28813f7510484a232ef73c5041499b4",
        "3e8845b2ccabf50794e27e5a230b618701ed03d9f6645e6836bdddeb6041ec12",
        "6485a7fe84f79566d7d49bd71861ff68c2ff19dd49693ec3919eea523afaaaaa",
    ),
    "grad-salvo": (
        "126e22f0c0b0b9c5aca397ba11e0f124a4c12154b37af78a023f88bcaca0cab0",
        "ecfcc43c4a64ee40fde84866c5fdd245332f64d198790929f3870318a20ded62",
        "c254eafb380c7f6c9f6b0c2ddd0e5e166ee40c32a70164ab4103cf3ed8b33b07",
    ),
    "mortar-barrage": (
        "8b073bc770044b0277ab5af11093e794b378c6932910febfe6c7815f6d9586d6",
        "619e306b96f349099c50a4fd7ff9d5b47f22927c4134420ad6eac6a0d2e529cf",
        "2b4fb60c98e5fd2ee097e0f1d80b86747f7b26d4a33c548708ee486d74d8a281",
    ),
    "drone-attack": (
        "e71ad754b11390e8693a6bdd5df2bc0855b273acfce186bf10a0e4f7d6eb0e1f",
        "a884a72d20b2c11346b2f3bc543052b4fcf2ba1a678e931fd6d22e5fdba164b8",
        "959445b70fee265aac3f9886cb23f27bbcd184a3e5e7a9843afcadbc28a4d943",
    ),
    "baghdad-airport": (
        "adecac01676de088f4baad138bd276a3ec1814281dfaf40573df8a62db0430de",
        "ff3a25158903a550b6b7344be6f7ebab26421985d018192aa5183d671241ba01",
        "b986e673925dd74d9d07369b8b953ad6aec4ef4bf9859cf9aa4f3fe7de7963b0",
    ),
    "erbil-airport": (
        "2dacced0b0475e4118b47fdf63b33e11be166913a6919d490e719f2b6391140f",
        "2237af15080b2a66ea2196eea67b03bcd95cf4713a587ba6654129318c7f0379",
        "e929cd0b82c893c12fd7fd1777e01207e7aa1f78e03459882ecc33127e1a2068",
    ),
}
SEEDS = {
    "green-zone": 7,
    "grad-salvo": 3,
    "mortar-barrage": 11,
    "drone-attack": 5,
    "baghdad-airport": 3,
    "erbil-airport": 9,
}


@pytest.fixture(scope="module")
def run_folder(tmp_path_factory):
    """Each built-in run once for the module (both tests below read the same folder)."""
    done: dict[str, Path] = {}

    def get(scenario: str) -> Path:
        if scenario not in done:
            out = tmp_path_factory.mktemp(scenario) / scenario
            done[scenario] = execute(scenario, out, seed=SEEDS[scenario], on_progress=None).folder
        return done[scenario]

    return get


@pytest.mark.parametrize("scenario", sorted(DIGESTS))
def test_outputs_unchanged(scenario, run_folder):
    folder = run_folder(scenario)
    got = tuple(hashlib.sha256((folder / n).read_bytes()).hexdigest() for n in FILES)
    for name, want, have in zip(FILES, DIGESTS[scenario], got, strict=True):
        assert have == want, f"{scenario}/{name} changed"


def test_every_builtin_is_digested():
    assert sorted(DIGESTS) == builtin_names()


@pytest.mark.parametrize("scenario", sorted(DIGESTS))
def test_builtin_scenario_misses_no_warning(scenario, run_folder):
    """Not a regression guard: every threat that lands in a zone was warned there in time
    (the summary's missed warnings, computed from the impacts and the alerts)."""
    summary = json.loads((run_folder(scenario) / "summary.json").read_text())
    assert summary["warning"]["missed_warnings"] == []
