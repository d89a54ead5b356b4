"""Campaigns under faults (issue 17): failed runs retried on resume, workers killed one
second apart, the campaign's own process killed (nothing of it may stay behind), and two
campaigns on one folder."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest

import opencram.campaign.executor as executor_module
from opencram.campaign.executor import _failed
from opencram.campaign.resume import FAILURES_LOG, campaign_lock
from opencram.campaign.runner import run_campaign
from opencram.errors import UserError
from test_campaign import quick_scenario

GONE_WITHIN_S = 15.0


@pytest.fixture(scope="module")
def quick(tmp_path_factory):
    return quick_scenario(tmp_path_factory.mktemp("scn"))


def children(pid: int) -> list[int]:
    """Processes whose parent is ``pid`` (from /proc)."""
    out = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            out.append(int(entry.name))
    return out


def descendants(pid: int) -> list[int]:
    found, todo = [], [pid]
    while todo:
        kids = children(todo.pop())
        found += kids
        todo += kids
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def workers_of(pid: int) -> list[int]:
    """The pool's worker processes: children of the campaign's forkserver."""
    return [w for c in children(pid) for w in children(c)]


def start_campaign(quick: Path, out: Path, runs: int, *extra: str) -> subprocess.Popen:
    cmd = [
        sys.executable, "-m", "opencram", "campaign", str(quick), "--runs", str(runs),
        "--executor", "local", "--workers", "2", "--out", str(out), "-q", *extra,
    ]  # fmt: skip
    return subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True
    )


def wait_for_workers(proc: subprocess.Popen, n: int, timeout_s: float = 120.0) -> list[int]:
    deadline = time.monotonic() + timeout_s
    while len(w := workers_of(proc.pid)) < n:
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "the pool never started"
        time.sleep(0.05)
    return w


def test_failed_runs_are_retried_on_resume_and_their_errors_kept(quick, tmp_path, monkeypatch):
    out = tmp_path / "c"
    real = executor_module.run_task

    def flaky(task):  # run 1 dies the first time, as a worker killed by the kernel would
        return _failed(task, "worker process died") if task.run == 1 else real(task)

    monkeypatch.setattr(executor_module, "run_task", flaky)
    first = run_campaign(str(quick), 3, out_dir=out, executor="inline", report=False)
    assert first.summary["layouts"]["base"]["runs"]["failed"] == 1
    monkeypatch.setattr(executor_module, "run_task", real)
    # a plain resume treats the failed run as finished
    again = run_campaign(str(quick), 3, out_dir=out, executor="inline", report=False)
    assert (again.ran, again.skipped) == (0, 3)
    logged: list[str] = []
    res = run_campaign(
        str(quick), 3, out_dir=out, executor="inline", report=False, retry_failed=True,
        log=logged.append,
    )  # fmt: skip
    assert (res.ran, res.skipped) == (1, 2)
    assert logged[0] == f"retrying 1 failed runs (their errors are kept in {FAILURES_LOG})"
    runs = pq.read_table(out / "runs.parquet").to_pylist()
    assert [(r["run"], r["status"]) for r in runs] == [(0, "ok"), (1, "ok"), (2, "ok")]
    assert res.summary["layouts"]["base"]["runs"]["failed"] == 0
    (kept,) = [json.loads(line) for line in (out / FAILURES_LOG).read_text().splitlines()]
    assert (kept["run"], kept["status"], kept["error"]) == (1, "failed", "worker process died")
    threats = pq.read_table(out / "threats.parquet").to_pylist()
    assert sorted({t["run"] for t in threats}) == [0, 1, 2]


def test_a_second_campaign_on_the_same_folder_is_refused_in_one_line(quick, tmp_path):
    out = tmp_path / "c"
    run_campaign(str(quick), 1, out_dir=out, executor="inline", report=False)
    with campaign_lock(out), pytest.raises(UserError) as exc:
        run_campaign(str(quick), 2, out_dir=out, executor="inline", report=False)
    (line,) = exc.value.problems
    assert line == (
        f"--out {out}: another campaign (process {os.getpid()}) is running on this folder; "
        "wait for it to end or use another --out folder"
    )
    # the lock went with its holder: the folder is usable again
    res = run_campaign(str(quick), 2, out_dir=out, executor="inline", report=False)
    assert (res.ran, res.skipped) == (1, 1)


def test_two_workers_killed_a_second_apart_then_resume_with_retry_failed(quick, tmp_path, cli):
    out = tmp_path / "c"
    proc = start_campaign(quick, out, 4)
    try:
        first = wait_for_workers(proc, 2)
        os.kill(first[0], signal.SIGKILL)
        time.sleep(1.0)
        later = [w for w in workers_of(proc.pid) if alive(w)]
        if later:
            os.kill(later[0], signal.SIGKILL)
        _, err = proc.communicate(timeout=600)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode == 0, err
    runs = pq.read_table(out / "runs.parquet").to_pylist()
    assert sorted(r["run"] for r in runs) == [0, 1, 2, 3]
    for r in runs:
        assert r["status"] == "ok" or "worker process died" in r["error"]
    res = cli("campaign", str(quick), "--runs", "4", "--executor", "local", "--workers", "2",
              "--out", str(out), "--retry-failed")  # fmt: skip
    assert res.returncode == 0, res.stderr
    runs = pq.read_table(out / "runs.parquet").to_pylist()
    assert [(r["run"], r["status"]) for r in runs] == [(k, "ok") for k in range(4)]


def test_killing_the_campaign_leaves_no_worker_forkserver_or_tracker(quick, tmp_path):
    proc = start_campaign(quick, tmp_path / "c", 8)
    try:
        wait_for_workers(proc, 2)
        left = descendants(proc.pid)
        assert len(left) >= 4  # resource tracker, forkserver, two workers
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        deadline = time.monotonic() + GONE_WITHIN_S
        while (alive_now := [p for p in left if alive(p)]) and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        for p in descendants(proc.pid):
            os.kill(p, signal.SIGKILL)
    for p in alive_now:  # clean up before failing
        os.kill(p, signal.SIGKILL)
    assert not alive_now, f"still running {GONE_WITHIN_S} s after the campaign was killed"


def test_a_campaign_whose_every_run_failed_still_writes_its_summary(quick, tmp_path, monkeypatch):
    """Found by benchmarks/campaign_kills.py (a worker killed every second: every run of a
    round failed): the summary took the ok runs with an empty, untyped index list and
    pyarrow raised ``ArrowNotImplementedError`` (array_take on null). Fault caught: the
    untyped ``runs.take(ok)`` in ``campaign.summary.layout_summary``."""
    monkeypatch.setattr(
        executor_module, "run_task", lambda task: _failed(task, "worker process died")
    )
    res = run_campaign(str(quick), 2, out_dir=tmp_path / "c", executor="inline", report=False)
    runs = res.summary["layouts"]["base"]["runs"]
    assert runs["failed"] == 2
