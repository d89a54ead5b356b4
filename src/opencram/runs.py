"""Reading a run folder back: the one reader of what ``opencram run`` wrote, used by the TAK
sender, the exports and the console's replay.

A run folder holds ``events.jsonl`` (the typed event log), ``summary.json`` (per-threat
outcome) and ``scenario.yaml`` (the scenario as run, its GeoJSON zone files copied into
``zones/``). :meth:`RunFolder.open` checks the folder; each file is read when asked for.
Every problem is a one-line :class:`~opencram.errors.UserError` naming the folder, or the
file and line.

``opencram run`` writes the folder whole (:func:`opencram.fileio.replace_folder`) with
``manifest.json`` last: the size and SHA-256 of every other file in it. A folder with a
manifest is opened only if every file matches it (a file missing, changed or left from
another run is refused in one line). A folder without one was put together by hand (or by
a version before manifests) and is read as it is.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from opencram.c2.events import Event, parse_event
from opencram.errors import UserError
from opencram.fileio import atomic_write_json, read_user_text
from opencram.scenario.load import LoadedScenario, builtin_dir, parse
from opencram.scenario.zonefiles import ZoneRings

EVENTS_FILE = "events.jsonl"
SUMMARY_FILE = "summary.json"
SCENARIO_FILE = "scenario.yaml"
MANIFEST_FILE = "manifest.json"
MANIFEST_FORMAT = 1
MAX_EVENTS_BYTES = 2 * 1024**3  # an event log is read whole; 2 GiB is a very long run
_HASH_BLOCK = 1 << 20


def file_digest(path: Path) -> str:
    """SHA-256 of a file, hex."""
    h = hashlib.sha256()
    with path.open("rb") as fh:
        while block := fh.read(_HASH_BLOCK):
            h.update(block)
    return h.hexdigest()


def write_manifest(folder: Path) -> None:
    """Write ``manifest.json``: size and SHA-256 of every file under ``folder`` (relative
    POSIX paths, sorted). Written last, it marks the folder complete."""
    files = {}
    for p in sorted(folder.rglob("*")):
        if p.is_file() and p.name != MANIFEST_FILE:
            files[p.relative_to(folder).as_posix()] = {
                "bytes": p.stat().st_size,
                "sha256": file_digest(p),
            }
    atomic_write_json(folder / MANIFEST_FILE, {"format": MANIFEST_FORMAT, "files": files})


def _manifest_files(folder: Path) -> dict[str, Any] | None:
    """The manifest's file list, or None when the folder has no manifest."""
    path = folder / MANIFEST_FILE
    if not path.exists():
        return None
    try:
        doc = json.loads(read_user_text(path))
    except json.JSONDecodeError as exc:
        raise UserError(f"{path}:{exc.lineno}: not valid JSON: {exc.msg}") from None
    files = doc.get("files") if isinstance(doc, dict) else None
    if not isinstance(files, dict) or not all(isinstance(v, dict) for v in files.values()):
        raise UserError(f"{path}: not an opencram run manifest (no 'files' mapping)")
    return files


def check_complete(folder: Path) -> None:
    """Refuse, in one line, a folder whose manifest does not match its files."""
    files = _manifest_files(folder)
    if files is None:
        return
    for name, want in files.items():
        p = folder / name
        if not p.is_file():
            raise UserError(
                f"{folder}: incomplete run folder: {name} is missing (listed in {MANIFEST_FILE})"
            )
        if p.stat().st_size != want.get("bytes") or file_digest(p) != want.get("sha256"):
            raise UserError(
                f"{folder}: incomplete or mixed run folder: {name} is not the file the run "
                f"wrote (its digest differs from {MANIFEST_FILE}); run the scenario again"
            )


@dataclass(frozen=True)
class RunFolder:
    """A run folder on disk (see the module docstring)."""

    path: Path

    @classmethod
    def open(cls, path: str | Path) -> RunFolder:
        """The run folder at ``path``; a missing path or a file is a ``UserError``."""
        folder = Path(path)
        if not folder.exists():
            raise UserError(f"{folder}: run folder not found")
        if not folder.is_dir():
            raise UserError(f"{folder}: not a folder (give the folder 'opencram run' wrote)")
        check_complete(folder)
        return cls(folder)

    @property
    def events_path(self) -> Path:
        return self.path / EVENTS_FILE

    @property
    def summary_path(self) -> Path:
        return self.path / SUMMARY_FILE

    @property
    def scenario_path(self) -> Path:
        return self.path / SCENARIO_FILE

    def events(self) -> list[Event]:
        """The typed events of ``events.jsonl``, in file order."""
        return read_events(self.events_path)

    def summary(self) -> dict[str, Any]:
        """``summary.json``, checked to be an opencram summary (it has a ``threats`` list)."""
        return read_summary(self.summary_path)

    def scenario(self) -> LoadedScenario:
        """``scenario.yaml``, loaded and checked, with its zones' rings read."""
        return read_run_scenario(self.scenario_path)

    def zone_rings(self) -> dict[str, ZoneRings]:
        """Zone name -> its (lat, lon) rings, from ``scenario.yaml``."""
        loaded = self.scenario()
        return dict(zip((z.name for z in loaded.scenario.zones), loaded.zone_rings, strict=True))


def read_events(path: Path) -> list[Event]:
    """The typed events of an events file (JSON lines; blank lines skipped); a line that
    is not an opencram event is a ``UserError`` naming the file and line."""
    text = read_user_text(path, max_bytes=MAX_EVENTS_BYTES)
    events = []
    for n, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            events.append(parse_event(line))
        except ValidationError as exc:
            err = exc.errors()[0]
            where = ".".join(str(p) for p in err.get("loc", ())) or "line"
            raise UserError(f"{path}:{n}: not an opencram event: {where}: {err['msg']}") from None
    return events


def read_summary(path: Path) -> dict[str, Any]:
    """A run's ``summary.json``; missing, unreadable, not JSON or without a ``threats``
    list is a ``UserError`` naming the file (and line)."""
    try:
        summary = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UserError(f"{path}: file not found (not an opencram run folder?)") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError(f"{path}: cannot read: {exc}") from None
    except json.JSONDecodeError as exc:
        raise UserError(f"{path}:{exc.lineno}: not valid JSON: {exc.msg}") from None
    if not isinstance(summary, dict) or not isinstance(summary.get("threats"), list):
        raise UserError(f"{path}: not an opencram summary (no 'threats' list)")
    return summary


def read_run_scenario(path: Path) -> LoadedScenario:
    """A run's ``scenario.yaml``. Its GeoJSON zone files are relative to the folder; a run
    of a built-in scenario written before they were copied there finds them with the
    built-ins."""
    text = read_user_text(path)
    try:
        return parse(text, str(path), path.parent)
    except UserError as first:
        try:
            return parse(text, str(path), builtin_dir())
        except UserError:
            raise first from None
