"""Runs lost under repeated worker kills (issue 17, "Figures to report"; docs/reliability.md).

A campaign of ``--runs`` short runs (green-zone without the helicopter, 0.1 s clock, as in
``tests/test_campaign.py``) on the local pool with two workers. In each round a worker is
SIGKILLed every ``--every`` seconds (as repeated out-of-memory kills would do) while the
campaign runs; every other round the campaign's own process is SIGKILLed as well, part way.
Then the campaign is resumed with ``--retry-failed``, and killed again, until a round ends
with every run recorded ``ok`` or ``--rounds`` is spent; a last resume with no kills
follows if needed. Lost runs: the runs of the campaign not recorded ``ok`` at the end (a
run recorded twice would show as a count over ``--runs``).

    nice -n 10 python benchmarks/campaign_kills.py --runs 12 --rounds 4
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pyarrow.parquet as pq

# the tests' quick scenario and /proc helpers, one copy (tests/ is not a package)
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from test_campaign import quick_scenario
from test_campaign_faults import children


def group_members(pgid: int) -> list[int]:
    """Live processes of process group ``pgid`` (from /proc)."""
    out = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if fields[0] != "Z" and int(fields[2]) == pgid:
                out.append(int(entry.name))
    return out


def workers_of(pid: int) -> list[int]:
    """The pool's workers: children of the campaign's forkserver."""
    return [w for c in children(pid) for w in children(c)]


def start(scn: Path, out: Path, runs: int) -> subprocess.Popen:
    cmd = [
        sys.executable, "-m", "opencram", "campaign", str(scn), "--runs", str(runs),
        "--executor", "local", "--workers", "2", "--out", str(out), "-q", "--retry-failed",
    ]  # fmt: skip
    return subprocess.Popen(
        cmd,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


def kill_round(proc: subprocess.Popen, every_s: float, kill_parent_after: int | None) -> dict:
    """SIGKILL a worker every ``every_s`` until the campaign ends (and the campaign itself
    after ``kill_parent_after`` worker kills)."""
    kills = {"workers": 0, "parent": 0, "left_behind": 0}
    while proc.poll() is None:
        time.sleep(every_s)
        ws = workers_of(proc.pid)
        if ws:
            try:
                os.kill(ws[0], signal.SIGKILL)
                kills["workers"] += 1
            except ProcessLookupError:
                pass
        if kill_parent_after is not None and kills["workers"] >= kill_parent_after:
            os.kill(proc.pid, signal.SIGKILL)
            kills["parent"] += 1
            break
    proc.wait()
    deadline = time.monotonic() + 15.0  # the pool and its helpers die with the parent
    while (left := group_members(proc.pid)) and time.monotonic() < deadline:
        time.sleep(0.2)
    kills["left_behind"] = len(left)
    with contextlib.suppress(ProcessLookupError):  # what it left behind (it should not)
        os.killpg(proc.pid, signal.SIGKILL)
    return kills


def recorded(out: Path) -> tuple[int, int]:
    """Runs recorded ok, and runs recorded at all (consolidated file or parts)."""
    files = [out / "runs.parquet", *sorted(out.glob("parts/*-runs.parquet"))]
    rows = [r for f in files if f.exists() for r in pq.read_table(f).to_pylist()]
    ok = {r["run"] for r in rows if r["status"] == "ok"}
    return len(ok), len(rows)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=12)
    ap.add_argument("--rounds", type=int, default=4)
    ap.add_argument("--every", type=float, default=1.0, help="seconds between worker kills")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="campaign-kills-"))
    scn, out = quick_scenario(tmp), tmp / "c"
    log = []
    for k in range(args.rounds):
        proc = start(scn, out, args.runs)
        kills = kill_round(proc, args.every, 3 if k % 2 else None)
        ok, rows = recorded(out)
        err = proc.stderr.read().strip().splitlines()
        log.append({"round": k, "exit": proc.returncode, **kills, "ok": ok, "rows": rows})
        log[-1]["stderr_tail"] = err[-1:]
        print(json.dumps(log[-1]), flush=True)
        if ok == args.runs and not kills["parent"]:
            break
    proc = start(scn, out, args.runs)  # the last resume, no kills
    _, err = proc.communicate(timeout=1800)
    ok, rows = recorded(out)
    final = pq.read_table(out / "runs.parquet").to_pylist()
    result = {
        "runs": args.runs,
        "rounds": log,
        "worker_kills": sum(r["workers"] for r in log),
        "parent_kills": sum(r["parent"] for r in log),
        "left_behind": sum(r["left_behind"] for r in log),
        "final_exit": proc.returncode,
        "ok": ok,
        "rows_in_runs_parquet": len(final),
        "lost": args.runs - len({r["run"] for r in final if r["status"] == "ok"}),
        "failures_logged": sum(1 for _ in (out / "failures.jsonl").open())
        if (out / "failures.jsonl").exists()
        else 0,
        "stderr_tail": err.strip().splitlines()[-1:] if err.strip() else [],
    }
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
