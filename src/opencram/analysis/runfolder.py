"""A run folder: everything ``opencram run`` writes, the folder written whole.

summary.json    per-threat outcome (deterministic for a scenario and seed)
events.jsonl    the typed event log, one JSON object per line
report.html     self-contained offline report (its figures also as figures/*.png)
scenario.yaml   the scenario as run, for reproduction
manifest.json   size and SHA-256 of every other file (written last; readers check it)

Every file is written into a hidden temporary folder beside the run folder, which then
replaces it in one rename (:func:`opencram.fileio.replace_folder`): a run killed or failing
half-way leaves the previous run's folder as it was, never a mix of two runs. An existing
``--out`` folder is replaced only if it is empty or a run folder.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from opencram.analysis.report import build_report
from opencram.analysis.summary import build_summary
from opencram.analysis.trackfile import build_track_output
from opencram.c2.engine import RunResult, end_time_s, run
from opencram.c2.world import compile_world
from opencram.errors import UserError
from opencram.fileio import (
    atomic_write_bytes,
    atomic_write_json,
    atomic_write_text,
    replace_folder,
)
from opencram.interop.asterix import export_recording
from opencram.progress import ProgressReporter, reporter
from opencram.runs import MANIFEST_FILE, write_manifest
from opencram.scenario.load import load
from opencram.sense.plots import sensor_specs_from_scenario, write_plots_csv, write_sensors_yaml


@dataclass(frozen=True)
class RunOutput:
    folder: Path
    result: RunResult
    summary: dict[str, Any]


def events_jsonl(result: RunResult) -> str:
    return "".join(e.model_dump_json() + "\n" for e in result.events)


def write_tracking_files(folder: Path, result: RunResult) -> None:
    world = result.world
    ids = [r.id for r in result.tracker.sensors]
    write_plots_csv(folder / "plots.csv", result.plots, ids)
    write_sensors_yaml(folder / "sensors.yaml", sensor_specs_from_scenario(world.scenario))
    atomic_write_json(
        folder / "tracks.json",
        build_track_output(result.tracker, world.frame, history=True),
    )


def write_asterix_recording(path: Path, result: RunResult) -> None:
    """The run's plots as a CAT048 recording (opencram.interop.asterix, docs/interfaces.md)."""
    specs = sensor_specs_from_scenario(result.world.scenario)
    try:
        export_recording(path, result.plots, [s.alt_m for s in specs], simulated=True)
    except OSError as exc:
        raise UserError(f"--export-asterix {path}: cannot write: {exc.strerror or exc}") from None


def portable_scenario(loaded, folder: Path) -> dict:
    """The scenario as run, for ``scenario.yaml``: zone and site-layer GeoJSON files are
    copied into the run folder (``zones/``, ``layers/``) and the copy's path written in,
    so the folder replays and exports on its own."""
    doc = loaded.scenario.model_dump(mode="json")
    for k, zone in enumerate(doc.get("zones", [])):
        if zone.get("geojson"):
            src = Path(zone["geojson"])
            src = src if src.is_absolute() else Path(loaded.base_dir) / src
            rel = Path("zones") / f"{k:02d}-{src.name}"
            atomic_write_bytes(folder / rel, src.read_bytes())
            zone["geojson"] = rel.as_posix()
    for k, layer in enumerate(doc.get("layers", [])):
        src = Path(layer["geojson"])
        src = src if src.is_absolute() else Path(loaded.base_dir) / src
        rel = Path("layers") / f"{k:02d}-{src.name}"
        atomic_write_bytes(folder / rel, src.read_bytes())
        layer["geojson"] = rel.as_posix()
    return doc


def execute(
    scenario: str,
    out_dir: Path | None = None,
    seed: int | None = None,
    *,
    on_progress: ProgressReporter | None = None,
    stream=None,
    export_asterix: Path | None = None,
    tiles=None,
) -> RunOutput:
    """Simulate and write the run folder. ``on_progress`` hears the simulated seconds done
    of the run's length. ``stream``, a text file object, receives every event as a JSON
    line as soon as the engine produces it (flushed per tick). ``tiles``: the report map's
    base map (an :data:`opencram.tiles.TileSource`)."""
    loaded = load(scenario)
    folder = Path(out_dir) if out_dir is not None else Path("runs") / loaded.scenario.name
    check_out_folder(folder)
    world = compile_world(loaded, seed)
    end = end_time_s(world)
    on_events = None
    if stream is not None:

        def on_events(evs, fh=stream):
            if evs:
                fh.write("".join(e.model_dump_json() + "\n" for e in evs))
                fh.flush()

    bar = reporter(on_progress)
    bar.start(f"simulating {loaded.scenario.name} (s)", end)
    result = run(world, on_tick=lambda t, _end: bar.update(t), on_events=on_events)
    bar.finish()
    summary = build_summary(result, loaded.layers)

    def fill(tmp: Path) -> None:
        write_run_files(tmp, loaded, result, summary, tiles)

    try:
        replace_folder(folder, fill)
    except OSError as exc:
        raise UserError(f"--out {folder}: cannot write: {exc.strerror or exc}") from None
    if export_asterix is not None:
        write_asterix_recording(Path(export_asterix), result)
    return RunOutput(folder, result, summary)


def check_out_folder(folder: Path) -> None:
    """``--out`` must be new, empty or a run folder: it is replaced whole."""
    if not folder.exists():
        return
    if not folder.is_dir():
        raise UserError(f"--out {folder}: exists and is not a folder")
    names = {p.name for p in folder.iterdir()}
    if names and not (MANIFEST_FILE in names or {"summary.json", "events.jsonl"} <= names):
        raise UserError(
            f"--out {folder}: not empty and not a run folder; it would be replaced whole, "
            "so give a new or empty folder"
        )


def write_run_files(
    folder: Path, loaded, result: RunResult, summary: dict[str, Any], tiles=None
) -> None:
    """Every file of a run folder into ``folder``, ``manifest.json`` last."""
    atomic_write_json(folder / "summary.json", summary)
    atomic_write_text(folder / "events.jsonl", events_jsonl(result))
    atomic_write_text(
        folder / "scenario.yaml",
        yaml.safe_dump(portable_scenario(loaded, folder), sort_keys=False),
    )
    if result.tracker is not None:
        write_tracking_files(folder, result)
    report = build_report(result, summary, tiles=tiles)
    for name, png in report.figures.items():
        atomic_write_bytes(folder / "figures" / f"{name}.png", png)
    atomic_write_text(folder / "report.html", report.html)
    write_manifest(folder)
