"""A Monte Carlo campaign: N seeded variants of a scenario (for each layout), run in
parallel, results saved as they finish, resumable, summarised and reported.

See docs/campaigns.md for the command, the ``--vary`` syntax and the layouts file.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from opencram.campaign.executor import execute
from opencram.campaign.store import Store
from opencram.campaign.vary import (
    Vary,
    apply_overrides,
    check_varies,
    parse_vary,
)
from opencram.campaign.worker import Task
from opencram.errors import UserError
from opencram.fileio import atomic_write_json, atomic_write_text, read_user_text
from opencram.progress import DelayedProgress

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
    import copy

    from pydantic import ValidationError

    from opencram.scenario.load import (
        _at,
        _data_path,
        path_str,
        pydantic_message,
        read_yaml_mapping,
    )
    from opencram.scenario.schema import Scenario

    label = str(path)
    text = read_user_text(path, f"--layouts {path}")
    data, lines = read_yaml_mapping(
        text, label, "a layouts file maps layout names to overrides (name: {KEY: value})"
    )
    out: dict[str, dict[str, Any]] = {}
    problems = []
    for name, ov in data.items():
        name = str(name)
        if ov is None:
            ov = {}
        if not isinstance(ov, dict):
            problems.append(_at(label, lines, (name,), "overrides must be a mapping KEY: value"))
            continue
        trial = copy.deepcopy(base)
        for key, value in ov.items():
            try:
                apply_overrides(trial, {key: value}, "")
            except UserError as exc:
                msg = exc.problems[0].lstrip(": ")
                problems.append(f"{label}:{lines.get((name, key), '?')}: {name}: {msg}")
        if problems:
            continue
        try:
            Scenario.model_validate(trial)
        except ValidationError as exc:
            for err in exc.errors(include_url=False):
                keep_last = err["type"] in ("missing", "extra_forbidden")
                loc = _data_path(tuple(err["loc"]), trial, keep_last)
                line = lines.get((name,), "?")
                msg = pydantic_message(err, loc)
                problems.append(f"{label}:{line}: {name}: {path_str(loc)}: {msg}")
            continue
        out[name] = dict(ov)
    if problems:
        raise UserError(*problems)
    if not out:
        raise UserError(f"{label}:1: no layouts in the file")
    return out


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
    progress: bool = True,
    report: bool = True,
    log=None,
) -> CampaignOutput:
    """Run (or resume) a campaign and write its results, summary and report."""
    from opencram.scenario.load import load

    if runs < 1:
        raise UserError("--runs: must be at least 1")
    loaded = load(scenario)
    base = loaded.scenario.model_dump(mode="json")
    vs: list[Vary] = [parse_vary(v) for v in varies]
    layouts = read_layouts(layouts_file, base) if layouts_file else {BASE_LAYOUT: {}}
    import copy

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
    done = store.finished()
    names = list(layouts)
    tasks = [
        Task(base, str(loaded.base_dir), loaded.source, name, layouts[name], tuple(vs), seed, r)
        for r in range(runs)
        for name in names
        if (name, r) not in done
    ]
    total = runs * len(names)
    skipped = total - len(tasks)
    if log is not None and skipped:
        log(f"resuming {folder}: {skipped} of {total} runs already finished, {len(tasks)} to run")
    buffer: list[dict[str, Any]] = []
    last_flush = time.monotonic()
    ran = 0

    def flush() -> None:
        nonlocal last_flush
        if buffer:
            store.write_part(buffer)
            buffer.clear()
        last_flush = time.monotonic()

    desc = f"campaign {loaded.scenario.name} (runs)"
    # a campaign is long: the bar shows at once, starting from the runs done before
    with DelayedProgress(desc, total, enabled=progress, done=skipped, show_after_s=0.0) as bar:

        def on_result(res: dict[str, Any]) -> None:
            nonlocal ran
            buffer.append(res)
            ran += 1
            if time.monotonic() - last_flush >= FLUSH_S:
                flush()
            bar.update(skipped + ran)

        try:
            execute(tasks, on_result, executor=executor, workers=workers, address=address)
        except KeyboardInterrupt:
            flush()
            raise
        except OSError as exc:
            raise UserError(f"--out {folder}: cannot write: {exc.strerror or exc}") from None
        flush()
    runs_t, threats_t = store.consolidate()
    # only the runs asked for now count (a folder may hold more from a larger --runs)
    import pyarrow.compute as pc

    want = pc.less(runs_t.column("run"), runs)
    runs_t = runs_t.filter(want)
    threats_t = threats_t.filter(pc.less(threats_t.column("run"), runs))
    from opencram.campaign.summary import summarize

    summary = summarize(runs_t, threats_t, names, {**settings, "runs": runs})
    atomic_write_json(folder / "summary.json", summary)
    if report:
        from opencram.campaign.report import render_campaign_report

        atomic_write_text(folder / "report.html", render_campaign_report(summary, threats_t))
    return CampaignOutput(folder, summary, skipped, ran)
