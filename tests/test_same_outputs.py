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
        "4cb0de7aeb149ab80f833db6e7f2672a9a5eb7d8ab50e1eb2b8bb6996d0cc374",
        "e361a3b0aad66e7325b12a3b2f4a322503da8e86b864e779b3d2378bca6b3df7",
        "d023ebe91798ecdceeec5661fbde8e478e99b0f64cc0b169034d091acd8bc408",
    ),
    "grad-salvo": (
        "3b918aeb564ccb2273ef9f420a9228026ced88225fc20fd42e62cf2c4bd3a4ee",
        "4d35730b61296e36887a0aa0d06fcac832107455c318e617e08b2f0fb09cb867",
        "63c0dd29ad18be20e4ee8ed800139f687dfa06fc42fe400e35aaecb890abd18e",
    ),
    "mortar-barrage": (
        "957453c3da843a573c2cde8301b364803f884252fc3cb84ac2ce9ed014c36832",
        "8731c28528c1067e00076b0fab54ee69a5bda5b06ab5b2cd9d075541fa2a6d86",
        "102112a499ecc590bfb6dc23c9b24fd2fd39cbb6a42ac2148372bf7b661e4ec7",
    ),
    "drone-attack": (
        "85914b552a398d2087b2936e318eaf475fb68d7b98825c491ab201307e8f1728",
        "6f1e9e06831626aaf9443eabfa398c825032932b0861875db5879092146d043b",
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
