"""A run folder is written whole (issue 17): a run killed or failing while it replaces an
existing folder leaves the old folder exactly as it was, or the new one complete; readers
refuse a folder whose files do not match its manifest, in one line."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import opencram.analysis.runfolder as runfolder
from opencram.errors import UserError
from opencram.runs import MANIFEST_FILE, RunFolder
from test_campaign import quick_scenario


def digests(folder: Path) -> dict[str, str]:
    return {
        p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def hidden_beside(folder: Path) -> list[Path]:
    return [p for p in folder.parent.iterdir() if p.name.startswith(f".{folder.name}.")]


@pytest.fixture(scope="module")
def quick(tmp_path_factory):
    return quick_scenario(tmp_path_factory.mktemp("scn"))


@pytest.fixture(scope="module")
def seed3(quick, tmp_path_factory):
    """A complete run folder of the quick scenario with seed 3, and its files' digests."""
    folder = tmp_path_factory.mktemp("runs") / "run"
    runfolder.execute(str(quick), folder, seed=3)
    return folder, digests(folder)


def copy_of(seed3, tmp_path: Path) -> Path:
    folder, _ = seed3
    dst = tmp_path / "run"
    for name, _ in digests(folder).items():
        (dst / name).parent.mkdir(parents=True, exist_ok=True)
        (dst / name).write_bytes((folder / name).read_bytes())
    return dst


def test_the_manifest_lists_every_file_and_the_reader_checks_it(seed3):
    folder, files = seed3
    manifest = json.loads((folder / MANIFEST_FILE).read_text())
    assert set(manifest["files"]) == set(files) - {MANIFEST_FILE}
    assert {"events.jsonl", "summary.json", "tracks.json", "report.html"} <= set(files)
    for name, entry in manifest["files"].items():
        assert entry["sha256"] == files[name]
    assert RunFolder.open(folder).summary()["seed"] == 3
    assert not hidden_beside(folder)


def test_a_crash_in_the_report_leaves_the_old_folder_as_it_was(seed3, tmp_path, monkeypatch):
    folder = copy_of(seed3, tmp_path)
    before = digests(folder)

    def broken(*args, **kwargs):
        raise RuntimeError("report failed")

    monkeypatch.setattr(runfolder, "build_report", broken)
    with pytest.raises(RuntimeError, match="report failed"):
        runfolder.execute("green-zone", folder, seed=7)
    assert digests(folder) == before
    assert not hidden_beside(folder)


def test_a_run_killed_while_replacing_a_folder_leaves_old_or_new_never_mixed(
    seed3, quick, tmp_path
):
    folder = copy_of(seed3, tmp_path)
    old = digests(folder)
    cmd = [sys.executable, "-m", "opencram", "run", str(quick), "--seed", "7", "--out",
           str(folder), "-q"]  # fmt: skip
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 300
        # kill it while it writes: once its temporary folder holds the event log
        while not any((p / "events.jsonl").exists() for p in hidden_beside(folder)):
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "never started writing"
            time.sleep(0.005)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    finally:
        if proc.poll() is None:
            proc.kill()
    now = digests(folder)
    if now != old:  # the kill came after the swap: then the new folder is whole
        assert json.loads((folder / "summary.json").read_text())["seed"] == 7
    assert RunFolder.open(folder).summary()["seed"] in (3, 7)
    # the next run cleans nothing it should not and completes the folder
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    assert RunFolder.open(folder).summary()["seed"] == 7


def test_export_refuses_a_mixed_or_incomplete_folder_in_one_line(seed3, tmp_path, cli):
    folder = copy_of(seed3, tmp_path)
    events = (folder / "events.jsonl").read_text().splitlines()
    (folder / "events.jsonl").write_text("\n".join(events[: len(events) // 2]) + "\n")
    r = cli("export", str(folder), "--out", str(tmp_path / "x"))
    assert r.returncode == 2 and r.stderr.count("\n") == 1, r.stderr
    assert "incomplete or mixed run folder: events.jsonl is not the file the run wrote" in r.stderr
    (folder / "events.jsonl").unlink()
    with pytest.raises(UserError, match=r"incomplete run folder: events\.jsonl is missing"):
        RunFolder.open(folder)
    (folder / MANIFEST_FILE).write_text("[1, 2")
    with pytest.raises(UserError, match=r"manifest.json:1: not valid JSON"):
        RunFolder.open(folder)


def test_out_must_be_new_empty_or_a_run_folder(tmp_path):
    keep = tmp_path / "mine"
    keep.mkdir()
    (keep / "thesis.tex").write_text("years of work")
    with pytest.raises(UserError, match="not empty and not a run folder"):
        runfolder.execute("green-zone", keep)
    assert (keep / "thesis.tex").read_text() == "years of work"
