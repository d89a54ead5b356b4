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
        "96fd609c25bfd675f8dbfc8411f8ac59db678bf2576204c7ba0aada5e20b9879",
        "faabaae665e9a7c862d4b3eb93567f43e58babc426c1c79c88b7910946831da8",
        "7146b1584b7d250653430d38514f37dc45c91b068f7fbfa8910c9c133e287845",
    ),
    "grad-salvo": (
        "98c361619f1a159bd669948bf2874c0cdfa5736cd2bb00240cc9debaf2d3c729",
        "365bc31aefc028e66f962e4527e6a3e9d7910e30ddfa700ba03b526751bc7e82",
        "2c1f6e9583610062f33c29f6ef95590572a35e39c5fa5ca1baa17cc14a5a648e",
    ),
    "mortar-barrage": (
        "7687caa1fe673dc324b35f2c5ddb235b6a262e1354bb8f59c5d4ffb09e5c0a5f",
        "bb609f7da20199d6603556591134a7a7ab5dfe4d94c62a46bc8bad3fe9eeb891",
        "5113f05a04b247d8dcce630db98ee527412d3b15da89dab42760cd687e289cb1",
    ),
    "drone-attack": (
        "1b29298c7626226c196647736faedf8a964f47d4dda2dd3b03cca7515b074754",
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
