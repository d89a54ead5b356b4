"""Guarding a campaign folder: one campaign at a time, and failed runs run again.

``campaign.lock`` holds an advisory lock (``fcntl.flock``) for as long as a campaign runs
on the folder. The kernel drops it when that process ends, however it ends, so a killed
campaign never leaves a stale lock; a second campaign on the folder is refused in one
line. (Part files are numbered one past the highest on disk, so two writers at once could
overwrite each other's parts.)

``--retry-failed`` takes the failed runs out of the results (after appending their rows
to ``failures.jsonl``, which keeps every failure ever recorded), so the campaign runs
them again as if they had never run.
"""

from __future__ import annotations

import fcntl
import io
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from opencram.campaign.store import Store
from opencram.errors import UserError
from opencram.fileio import atomic_write_bytes, atomic_write_text

LOCK_FILE = "campaign.lock"
FAILURES_LOG = "failures.jsonl"


@contextmanager
def campaign_lock(folder: Path) -> Iterator[None]:
    """Hold ``folder``'s campaign lock for the ``with`` block; a ``UserError`` if another
    process holds it."""
    path = Path(folder) / LOCK_FILE
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise UserError(f"--out {folder}: cannot write: {exc.strerror or exc}") from None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode("ascii", "replace").strip() or "?"
            raise UserError(
                f"--out {folder}: another campaign (process {holder}) is running on this "
                "folder; wait for it to end or use another --out folder"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        yield
    finally:
        os.close(fd)  # releases the lock


def _write_parquet(path: Path, table: pa.Table) -> None:
    buf = io.BytesIO()
    pq.write_table(table, buf, compression="zstd")
    atomic_write_bytes(path, buf.getvalue())


def _log_failures(folder: Path, rows: list[dict]) -> None:
    """Append ``rows`` to ``failures.jsonl`` (atomically; a row already there once, from a
    retry interrupted before it took the rows out, is not written twice)."""
    path = folder / FAILURES_LOG
    old = path.read_text(encoding="utf-8") if path.exists() else ""
    have = set(old.splitlines())
    new = [line for line in (json.dumps(r, sort_keys=True) for r in rows) if line not in have]
    if new:
        atomic_write_text(path, old + "".join(f"{line}\n" for line in new))


def retire_failed(store: Store) -> int:
    """Take the failed runs out of ``store`` so that they count as not yet run; returns how
    many. Their rows are appended to ``failures.jsonl`` first, then the results are
    consolidated and written again without them (each file atomically: a kill in between
    leaves the failures in the results, and the next retry takes them out)."""
    runs, threats = store.consolidate()
    failed = pc.fill_null(pc.equal(runs.column("status"), "failed"), False)
    n = int(pc.sum(failed).as_py() or 0)
    if not n:
        return 0
    gone = runs.filter(failed)
    _log_failures(store.folder, gone.to_pylist())
    keys = pc.binary_join_element_wise(
        threats.column("layout"), pc.cast(threats.column("run"), pa.string()), "\x1f"
    )
    gone_keys = pc.binary_join_element_wise(
        gone.column("layout"), pc.cast(gone.column("run"), pa.string()), "\x1f"
    )
    # threats first: runs.parquet is what marks runs finished
    _write_parquet(
        store.folder / "threats.parquet", threats.filter(pc.invert(pc.is_in(keys, gone_keys)))
    )
    _write_parquet(store.folder / "runs.parquet", runs.filter(pc.invert(failed)))
    return n
