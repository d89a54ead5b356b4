"""Regression guard: the built-in scenarios' outputs, byte for byte.

The digests were recorded from the code before the layout redesign (issue 12), which moved
code without changing any algorithm. They prove nothing about correctness (the expected
values come from this code); they prove that a change of layout changed no output. Update
a digest only in a commit that says which behaviour changed and why.
"""

import hashlib

import pytest

from opencram.analysis.runfolder import execute

FILES = ("events.jsonl", "summary.json", "tracks.json")

DIGESTS = {
    "green-zone": (
        "0386d1a9b1c7105e0608cff4efdbcefc4307f5b3dd3032022cdda175c447af34",
        "faabaae665e9a7c862d4b3eb93567f43e58babc426c1c79c88b7910946831da8",
        "d023ebe91798ecdceeec5661fbde8e478e99b0f64cc0b169034d091acd8bc408",
    ),
    "grad-salvo": (
        "7f70604ec9f9c378a0ce996956202434f02a7ce7801e823f21acc7955779d9d6",
        "d267888e42f4be5204c90190fc885f42aab8d4f33d5b1e023cd646f408536a7a",
        "63c0dd29ad18be20e4ee8ed800139f687dfa06fc42fe400e35aaecb890abd18e",
    ),
    "mortar-barrage": (
        "545e966390b0e73ddd338d3236770c92dff885672736f2cca99fc00d50d7b13d",
        "141c431628ac6dae9b449dbe48f0007b00ea5ad26af1de4a5e13951fb52a4f60",
        "102112a499ecc590bfb6dc23c9b24fd2fd39cbb6a42ac2148372bf7b661e4ec7",
    ),
    "drone-attack": (
        "1c96c30002b63b2646fd2655e8b7fedb2346a411fe54e4fb01c093767e734b09",
        "ef88a8dd2689447a798865ab55ab5e065d74075e33efeb4c04e487c97d1c6aee",
        "38d447d47cec55b9ac1c9fd58e1bcf99d040cf4ff1688ead6f16d984287bc79f",
    ),
}
SEEDS = {"green-zone": 7, "grad-salvo": 3, "mortar-barrage": 11, "drone-attack": 5}


@pytest.mark.parametrize("scenario", sorted(DIGESTS))
def test_outputs_unchanged(scenario, tmp_path):
    res = execute(scenario, tmp_path / scenario, seed=SEEDS[scenario], on_progress=None)
    got = tuple(hashlib.sha256((res.folder / n).read_bytes()).hexdigest() for n in FILES)
    for name, want, have in zip(FILES, DIGESTS[scenario], got, strict=True):
        assert have == want, f"{scenario}/{name} changed"
