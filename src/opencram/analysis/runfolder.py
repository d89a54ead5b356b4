"""A run folder: everything ``opencram run`` writes, each file written atomically.

summary.json    per-threat outcome (deterministic for a scenario and seed)
events.jsonl    the typed event log, one JSON object per line
report.html     self-contained offline report
scenario.yaml   the scenario as run, for reproduction
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from opencram.analysis.report import render_report
from opencram.analysis.summary import build_summary
from opencram.c2.engine import RunResult, run
from opencram.c2.world import compile_world
from opencram.errors import UserError
from opencram.fileio import atomic_write_json, atomic_write_text
from opencram.progress import DelayedProgress
from opencram.scenario.load import load


@dataclass(frozen=True)
class RunOutput:
    folder: Path
    result: RunResult
    summary: dict[str, Any]


def events_jsonl(result: RunResult) -> str:
    return "".join(e.model_dump_json() + "\n" for e in result.events)


def execute(
    scenario: str, out_dir: Path | None = None, seed: int | None = None, *, progress: bool = True
) -> RunOutput:
    loaded = load(scenario)
    folder = Path(out_dir) if out_dir is not None else Path("runs") / loaded.scenario.name
    if folder.exists() and not folder.is_dir():
        raise UserError(f"--out {folder}: exists and is not a folder")
    world = compile_world(loaded, seed)
    with DelayedProgress(f"simulating {loaded.scenario.name}", 1.0, enabled=progress) as bar:
        result = run(world, on_tick=lambda t, end: bar.update(t / end if end else 1.0))
    summary = build_summary(result)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        atomic_write_json(folder / "summary.json", summary)
        atomic_write_text(folder / "events.jsonl", events_jsonl(result))
        atomic_write_text(
            folder / "scenario.yaml",
            yaml.safe_dump(loaded.scenario.model_dump(mode="json"), sort_keys=False),
        )
        atomic_write_text(folder / "report.html", render_report(result, summary))
    except OSError as exc:
        raise UserError(f"--out {folder}: cannot write: {exc.strerror or exc}") from None
    return RunOutput(folder, result, summary)
