"""Tracking recorded plots: ``opencram track PLOTS.csv --sensors SENSORS.yaml --out OUT.json``.

The local frame's origin is the first sensor in the sensors file, and the ground (where
tracks of landed rounds end) is the plane through it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from opencram.analysis.trackfile import build_track_output
from opencram.fileio import atomic_write_json
from opencram.geo import LocalFrame
from opencram.sense.plots import read_plots_csv, read_sensors_yaml
from opencram.track.manager import Tracker, TrackerConfig
from opencram.track.sensors import tracker_sensors_from_specs


@dataclass(frozen=True)
class OfflineResult:
    """What :func:`track_files` wrote (``output``), the plots read and bad rows skipped,
    and the tracker after its last plot."""

    output: dict[str, Any]
    n_plots: int
    n_bad: int
    tracker: Tracker


def track_files(
    plots_csv: Path,
    sensors_yaml: Path,
    out_json: Path,
    *,
    history: bool = False,
    skip_bad: bool = False,
    filter_name: str = "imm",
    association: str = "gnn",
) -> OfflineResult:
    """Track a plot CSV with the sensors of a sensors YAML file and write the track output
    file ``out_json`` (atomically); see the module docstring for the frame."""
    specs = read_sensors_yaml(sensors_yaml)
    frame = LocalFrame(specs[0].lat, specs[0].lon, specs[0].alt_m)
    sensors = tracker_sensors_from_specs(specs, frame)
    plots, n_bad = read_plots_csv(
        plots_csv, [s.id for s in specs], skip_bad=skip_bad, latency_s=[s.latency_s for s in specs]
    )
    tracker = Tracker(sensors, TrackerConfig(filter=filter_name, association=association))
    tracker.add(plots)
    tracker.finish()
    out = build_track_output(
        tracker,
        frame,
        history=history,
        extra={
            "input": {
                "plots_file": str(plots_csv),
                "sensors_file": str(sensors_yaml),
                "plots": len(plots),
                "bad_rows_skipped": n_bad,
            }
        },
    )
    atomic_write_json(out_json, out)
    return OfflineResult(out, len(plots), n_bad, tracker)
