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
        "96fd609c25bfd675f8dbfc8411f8ac59db678bf2576204c7ba0aada5e20b9879",
        "8be0213d7c489cb672dda63e7906efc9defc9c85c4c51b1b163ce3071ad1f2ef",
        "7146b1584b7d250653430d38514f37dc45c91b068f7fbfa8910c9c133e287845",
    ),
    "grad-salvo": (
        "98c361619f1a159bd669948bf2874c0cdfa5736cd2bb00240cc9debaf2d3c729",
        "6b967b4d74d51cfb434e0468f0910b0bda36931a3107eea3a70c5b78bcd69da5",
        "2c1f6e9583610062f33c29f6ef95590572a35e39c5fa5ca1baa17cc14a5a648e",
    ),
    "mortar-barrage": (
        "7687caa1fe673dc324b35f2c5ddb235b6a262e1354bb8f59c5d4ffb09e5c0a5f",
        "2bb4c043f9c9f44f8c366da130d554871f23815a4df60d6dd66048d10385462c",
        "5113f05a04b247d8dcce630db98ee527412d3b15da89dab42760cd687e289cb1",
    ),
    "drone-attack": (
        "1b29298c7626226c196647736faedf8a964f47d4dda2dd3b03cca7515b074754",
        "a884a72d20b2c11346b2f3bc543052b4fcf2ba1a678e931fd6d22e5fdba164b8",
        "959445b70fee265aac3f9886cb23f27bbcd184a3e5e7a9843afcadbc28a4d943",
    ),
    "baghdad-airport": (
        "74b7d54db3b125ee909232b698d125afe80fa0fc760de06bdb743030b7209c91",
        "a6278810015198c3ef1440d3716dd8fc3c3b754162bee26edf81364fc5a5623d",
        "b986e673925dd74d9d07369b8b953ad6aec4ef4bf9859cf9aa4f3fe7de7963b0",
    ),
    "erbil-airport": (
        "af864fa55c36ef396a16db6b813dbd48c52e4d20d8a5e833f90580c83991c710",
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
