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
        "ccf108d9aebf7b37b4cd694d166f23f05b9079ef3b09a1cdaba55b0636664452",
        "faabaae665e9a7c862d4b3eb93567f43e58babc426c1c79c88b7910946831da8",
        "7146b1584b7d250653430d38514f37dc45c91b068f7fbfa8910c9c133e287845",
    ),
    "grad-salvo": (
        "1f7436c96b12456ea9ced65c598a5e1857b7a687879c7b1a636f7b7b9b53b2cc",
        "365bc31aefc028e66f962e4527e6a3e9d7910e30ddfa700ba03b526751bc7e82",
        "2c1f6e9583610062f33c29f6ef95590572a35e39c5fa5ca1baa17cc14a5a648e",
    ),
    "mortar-barrage": (
        "0e22ff1175e139263ebcdf73ff00ab37ebe3a430152e702e51ced2109a2a73e6",
        "bb609f7da20199d6603556591134a7a7ab5dfe4d94c62a46bc8bad3fe9eeb891",
        "5113f05a04b247d8dcce630db98ee527412d3b15da89dab42760cd687e289cb1",
    ),
    "drone-attack": (
        "b5b7caef1740448c3819b4b0356f490ed3a5fe516d8fc2a61d4436d9997d61bf",
        "881415bd783b902e059c56f6dcb18d88c7562aa091f03a849b5c50e8bb3c9f89",
        "959445b70fee265aac3f9886cb23f27bbcd184a3e5e7a9843afcadbc28a4d943",
    ),
}
SEEDS = {"green-zone": 7, "grad-salvo": 3, "mortar-barrage": 11, "drone-attack": 5}


@pytest.mark.parametrize("scenario", sorted(DIGESTS))
def test_outputs_unchanged(scenario, tmp_path):
    res = execute(scenario, tmp_path / scenario, seed=SEEDS[scenario], on_progress=None)
    got = tuple(hashlib.sha256((res.folder / n).read_bytes()).hexdigest() for n in FILES)
    for name, want, have in zip(FILES, DIGESTS[scenario], got, strict=True):
        assert have == want, f"{scenario}/{name} changed"
