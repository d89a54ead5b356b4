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
        "ce716936b287f699a8ea68e5210b07c5a927c5d82e9757a6fa63fa2de21cf2af",
        "faabaae665e9a7c862d4b3eb93567f43e58babc426c1c79c88b7910946831da8",
        "7146b1584b7d250653430d38514f37dc45c91b068f7fbfa8910c9c133e287845",
    ),
    "grad-salvo": (
        "744357c194a0544ce98fb7b08e4566e823150eec3e07fd4ba054eadd99866f73",
        "365bc31aefc028e66f962e4527e6a3e9d7910e30ddfa700ba03b526751bc7e82",
        "2c1f6e9583610062f33c29f6ef95590572a35e39c5fa5ca1baa17cc14a5a648e",
    ),
    "mortar-barrage": (
        "a2f9f6a522e444e12cd456d9aec4d14d86b8719eab81cb000f2b6fafa4611c74",
        "bb609f7da20199d6603556591134a7a7ab5dfe4d94c62a46bc8bad3fe9eeb891",
        "5113f05a04b247d8dcce630db98ee527412d3b15da89dab42760cd687e289cb1",
    ),
    "drone-attack": (
        "7274da5966f0b565ba8b36ee7a04258839eb71c0d11b4ead1514979bdc98cc02",
        "ef88a8dd2689447a798865ab55ab5e065d74075e33efeb4c04e487c97d1c6aee",
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
