"""Tracking recorded plots: ``opencram track PLOTS.csv --sensors SENSORS.yaml --out OUT.json``.

The local frame's origin is the first sensor in the sensors file, and the ground (where
tracks of landed rounds end) is the plane through it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from opencram.fileio import atomic_write_json
from opencram.geo import LocalFrame
from opencram.sense.plots import SensorSpec, read_plots_csv, read_sensors_yaml
from opencram.track.manager import Tracker, TrackerConfig, TrackerSensor
from opencram.track.output import build_track_output


def tracker_sensors_from_specs(specs: list[SensorSpec], frame: LocalFrame) -> list[TrackerSensor]:
    out = []
    for s in specs:
        out.append(
            TrackerSensor(
                id=s.id,
                pos_enu_m=np.asarray(frame.to_enu(s.lat, s.lon, s.alt_m), dtype=float),
                sigma_range_m=s.sigma_range_m,
                sigma_az_rad=s.sigma_azimuth_mrad * 1e-3,
                sigma_el_rad=s.sigma_elevation_mrad * 1e-3,
                sigma_range_rate_mps=s.sigma_range_rate_mps,
                scan_s=s.scan_s or 1.0,
                latency_s=s.latency_s,
            )
        )
    return out


@dataclass(frozen=True)
class OfflineResult:
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
