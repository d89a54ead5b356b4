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
        "7053641f983723287d8005f2d27b2b8c36c4214e83a838c1f4062c2e52f39d27",
        "3e8845b2ccabf50794e27e5a230b618701ed03d9f6645e6836bdddeb6041ec12",
        "92058bfb5dc7182d4f1b9e56968debc60cd274ccfe796503550ae63c1a808115",
    ),
    "grad-salvo": (
        "12c112eb0240a8304ff563ac40b7a2ff8af71ff3e7c817fbdefc4793c7f8f910",
        "ecfcc43c4a64ee40fde84866c5fdd245332f64d198790929f3870318a20ded62",
        "08f8c85258713368a1c35b94d771a29e87e190850e0b685f84aead2b81d42919",
    ),
    "mortar-barrage": (
        "0b705b3fda5a488ee1c5980d2109241bdb19906345d0f1bd72546de26b12fc6e",
        "619e306b96f349099c50a4fd7ff9d5b47f22927c4134420ad6eac6a0d2e529cf",
        "3a1486546d47b65ed2e3e795d10af97b387cd82ed2a509cec303e5748be97ae6",
    ),
    "drone-attack": (
        "63339cd98f910be127611b4a6f09cc353bd36e7a732aa97170ba01e63714f2fa",
        "a884a72d20b2c11346b2f3bc543052b4fcf2ba1a678e931fd6d22e5fdba164b8",
        "959445b70fee265aac3f9886cb23f27bbcd184a3e5e7a9843afcadbc28a4d943",
    ),
    "baghdad-airport": (
        "f654bb0b48a26fc2a83019584e3aab4cf12dbfcb77296034ecc7e5f211e54541",
        "a6278810015198c3ef1440d3716dd8fc3c3b754162bee26edf81364fc5a5623d",
        "b986e673925dd74d9d07369b8b953ad6aec4ef4bf9859cf9aa4f3fe7de7963b0",
    ),
    "erbil-airport": (
        "aea212dda9da5793c70b5cb2fcb856c150915cd0f27ec0a00f8d153948e726f9",
        "2159be1cc2ea5d6585e91aa8fbf05f2f461d6fea870a615a0b8e717bf5a3c4f8",
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
