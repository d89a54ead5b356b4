"""The console's replay refuses a run folder whose files do not match its manifest (issue
17 point 7: every reader checks it), in one line naming the file, as the other readers do."""

from __future__ import annotations

import pytest

from opencram.console.session import Session
from opencram.errors import UserError
from opencram.runs import write_manifest


def test_replay_of_a_folder_with_a_changed_file_is_refused_in_one_line(tmp_path):
    folder = tmp_path / "run"
    folder.mkdir()
    (folder / "events.jsonl").write_text("{}\n")
    (folder / "scenario.yaml").write_text("name: x\n")
    write_manifest(folder)
    (folder / "events.jsonl").write_text("{}\n{}\n")  # changed after the manifest
    with pytest.raises(UserError) as err:
        Session.replay(folder)
    msg = str(err.value)
    assert "\n" not in msg and "events.jsonl" in msg and "manifest.json" in msg
