"""A Monte Carlo campaign: N seeded variants of a scenario (for each layout), run in
parallel, results saved as they finish, resumable, summarised and reported.

See docs/campaigns.md for the command, the ``--vary`` syntax and the layouts file.
"""

from __future__ import annotations

import copy
import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow.compute as pc
from pydantic import ValidationError

from opencram.campaign.executor import execute
from opencram.campaign.report import render_campaign_report
from opencram.campaign.resume import FAILURES_LOG, campaign_lock, retire_failed
from opencram.campaign.store import Store
from opencram.campaign.summary import summarize
from opencram.campaign.vary import (
    Vary,
    apply_overrides,
    check_varies,
    parse_vary,
)
from opencram.campaign.worker import Task
from opencram.errors import UserError
from opencram.fileio import atomic_write_json, atomic_write_text, read_user_text
from opencram.progress import ProgressReporter, reporter
from opencram.scenario.load import load, scenario_message
from opencram.scenario.schema import Scenario
from opencram.yamlio import data_path, path_str, problem_at, read_yaml_mapping

BASE_LAYOUT = "base"
FLUSH_S = 1.0  # write a part at most this often (and at the end, and on Ctrl-C)


@dataclass(frozen=True)
class CampaignOutput:
    folder: Path
    summary: dict[str, Any]
    skipped: int  # runs already finished before this call
    ran: int  # runs done by this call


def read_layouts(path: Path, base: dict) -> dict[str, dict[str, Any]]:
    """A layouts file: a YAML mapping from layout name to overrides (``KEY: value`` with
    keys as in ``--vary``; ``{}`` or nothing for the scenario as it is). Each layout is
    checked against the schema now, every problem as ``FILE:LINE: ...``."""
    label = str(path)
    text = read_user_text(path, f"--layouts {path}")
    data, lines = read_yaml_mapping(
        text, label, "a layouts file maps layout names to overrides (name: {KEY: value})"
    )
    out: dict[str, dict[str, Any]] = {}
    problems: list[str] = []
    for name, ov in data.items():
        name = str(name)
        if ov is None:
            ov = {}
        if not isinstance(ov, dict):
            problems.append(
                problem_at(label, lines, (name,), "overrides must be a mapping KEY: value")
            )
            continue
        found = layout_problems(label, lines, name, ov, base, check_schema=not problems)
        problems.extend(found)
        if not problems:
            out[name] = dict(ov)
    if problems:
        raise UserError(*problems)
    if not out:
        raise UserError(f"{label}:1: no layouts in the file")
    return out


def layout_problems(
    label: str,
    lines: dict[tuple, int],
    name: str,
    ov: dict[str, Any],
    base: dict,
    *,
    check_schema: bool = True,
) -> list[str]:
    """One layout's problems as ``FILE:LINE: NAME: ...``: overrides that do not apply to
    the scenario, then (if those all apply and ``check_schema``) what the schema rejects in
    the result."""
    problems = []
    trial = copy.deepcopy(base)
    for key, value in ov.items():
        try:
            apply_overrides(trial, {key: value}, "")
        except UserError as exc:
            msg = exc.problems[0].lstrip(": ")
            problems.append(f"{label}:{lines.get((name, key), '?')}: {name}: {msg}")
    if problems or not check_schema:
        return problems
    try:
        Scenario.model_validate(trial)
    except ValidationError as exc:
        for err in exc.errors(include_url=False):
            keep_last = err["type"] in ("missing", "extra_forbidden")
            loc = data_path(tuple(err["loc"]), trial, keep_last)
            msg = scenario_message(err, loc)
            problems.append(f"{label}:{lines.get((name,), '?')}: {name}: {path_str(loc)}: {msg}")
    return problems


def _digest(obj: Any) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True).encode()).hexdigest()[:16]


def run_campaign(
    scenario: str,
    runs: int,
    *,
    varies: list[str] | tuple[str, ...] = (),
    layouts_file: Path | None = None,
    out_dir: Path | None = None,
    seed: int | None = None,
    executor: str = "local",
    workers: int | None = None,
    address: str | None = None,
    on_progress: ProgressReporter | None = None,
    report: bool = True,
    log=None,
    retry_failed: bool = False,
) -> CampaignOutput:
    """Run (or resume) a campaign and write its results, summary and report.
    ``on_progress`` hears the runs finished of the campaign's total, starting from those
    a resumed campaign had already done. ``retry_failed`` runs the failed runs again
    (:func:`retire_failed`). A second campaign on the same folder is refused
    (:func:`campaign_lock`)."""
    if runs < 1:
        raise UserError("--runs: must be at least 1")
    loaded = load(scenario)
    base = loaded.scenario.model_dump(mode="json")
    vs: list[Vary] = [parse_vary(v) for v in varies]
    layouts = read_layouts(layouts_file, base) if layouts_file else {BASE_LAYOUT: {}}
    for name, ov in layouts.items():
        data = copy.deepcopy(base)
        apply_overrides(data, ov, f"layout {name}")
        check_varies(data, vs)
    seed = loaded.scenario.simulation.seed if seed is None else seed
    folder = Path(out_dir) if out_dir is not None else Path("campaigns") / loaded.scenario.name
    settings = {
        "scenario": loaded.source,
        # what the file says (not the defaults, which a newer version may extend)
        "scenario_digest": _digest(loaded.scenario.model_dump(mode="json", exclude_unset=True)),
        "seed": seed,
        "vary": [v.text for v in vs],
        "layouts": layouts,
    }
    store = Store(folder)
    store.open(settings)
    names = list(layouts)

    def tasks_for(done: set[tuple[str, int]]) -> list[Task]:
        return [
            Task(base, str(loaded.base_dir), loaded.source, name, layouts[name], tuple(vs), seed, r)
            for r in range(runs)
            for name in names
            if (name, r) not in done
        ]

    with campaign_lock(folder):
        if retry_failed:
            retried = retire_failed(store)
            if log is not None and retried:
                log(f"retrying {retried} failed runs (their errors are kept in {FAILURES_LOG})")
        plan = _Plan(loaded.scenario.name, runs, names, settings, tasks_for)
        how = {"executor": executor, "workers": workers, "address": address}
        return _run_plan(store, plan, how, on_progress, log, report=report)


@dataclass(frozen=True)
class _Plan:
    """What a campaign call is to run: the scenario's name, runs per layout, the layouts,
    the settings, and the tasks not yet done given the runs finished."""

    name: str
    runs: int
    names: list[str]
    settings: dict[str, Any]
    tasks_for: Callable[[set[tuple[str, int]]], list[Task]]


def _run_plan(
    store: Store,
    plan: _Plan,
    how: dict[str, Any],
    on_progress: ProgressReporter | None,
    log,
    *,
    report: bool,
) -> CampaignOutput:
    """Run what ``store`` has not finished of ``plan``, then write the summary."""
    tasks = plan.tasks_for(store.finished())
    total = plan.runs * len(plan.names)
    skipped = total - len(tasks)
    folder = store.folder
    if log is not None and skipped:
        log(f"resuming {folder}: {skipped} of {total} runs already finished, {len(tasks)} to run")
    bar = reporter(on_progress)
    bar.start(f"campaign {plan.name} (runs)", total, done=skipped)
    ran = run_tasks(tasks, store, lambda n: bar.update(skipped + n), **how)
    bar.finish()
    summary = write_summary(store, plan.runs, plan.names, plan.settings, report=report)
    return CampaignOutput(folder, summary, skipped, ran)


def run_tasks(
    tasks: list[Task],
    store: Store,
    on_ran: Callable[[int], None],
    *,
    executor: str,
    workers: int | None,
    address: str | None,
) -> int:
    """Run ``tasks``, saving their results to ``store`` in parts (at most every
    ``FLUSH_S``, at the end, and on Ctrl-C); ``on_ran(n)`` after each of the ``n`` runs.
    Returns how many ran."""
    buffer: list[dict[str, Any]] = []
    last_flush = time.monotonic()
    ran = 0

    def flush() -> None:
        nonlocal last_flush
        if buffer:
            store.write_part(buffer)
            buffer.clear()
        last_flush = time.monotonic()

    def on_result(res: dict[str, Any]) -> None:
        nonlocal ran
        buffer.append(res)
        ran += 1
        if time.monotonic() - last_flush >= FLUSH_S:
            flush()
        on_ran(ran)

    try:
        execute(tasks, on_result, executor=executor, workers=workers, address=address)
    except KeyboardInterrupt:
        flush()
        raise
    except OSError as exc:
        raise UserError(f"--out {store.folder}: cannot write: {exc.strerror or exc}") from None
    flush()
    return ran


def write_summary(
    store: Store, runs: int, names: list[str], settings: dict[str, Any], *, report: bool
) -> dict[str, Any]:
    """Consolidate the store's results, then write summary.json (and report.html)."""
    runs_t, threats_t = store.consolidate()
    # only the runs asked for now count (a folder may hold more from a larger --runs)
    want = pc.less(runs_t.column("run"), runs)
    runs_t = runs_t.filter(want)
    threats_t = threats_t.filter(pc.less(threats_t.column("run"), runs))
    summary = summarize(runs_t, threats_t, names, {**settings, "runs": runs})
    atomic_write_json(store.folder / "summary.json", summary)
    if report:
        atomic_write_text(store.folder / "report.html", render_campaign_report(summary, threats_t))
    return summary
