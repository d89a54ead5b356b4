"""Tracking recorded plots: ``opencram track PLOTS.csv --sensors SENSORS.yaml --out OUT.json``.

The local frame's origin is the first sensor in the sensors file, and the ground (where
tracks of landed rounds end) is the plane through it.

The plots are read (sorted by time), then fed to the tracker a slice at a time with a
:meth:`~opencram.track.manager.Tracker.flush` up to the next slice's first time: the
tracker's windows lie on an absolute time grid and a window is processed only once every
plot in it has been added, so the tracks are the same as from adding every plot at once;
in between, progress is reported and Ctrl-C is heard.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

from opencram.analysis.trackfile import write_track_output
from opencram.geo import LocalFrame
from opencram.progress import ProgressReporter, reporter
from opencram.sense.plots import PlotFile, Plots, read_plot_file, read_sensors_yaml
from opencram.track.history import SpilledUpdateLog
from opencram.track.manager import Tracker, TrackerConfig
from opencram.track.sensors import tracker_sensors_from_specs


@dataclass(frozen=True)
class OfflineResult:
    """What :func:`track_files` did: the file written (``out_json``) with its confirmed
    tracks' classes in id order, the plots read and bad rows skipped, the tracker after its
    last plot (its update log closed: the updates are in the file), and what the plot
    file's reader found. :attr:`output` reads the file back (the whole document in memory:
    for tests and small files)."""

    out_json: Path
    classes: list[str]
    n_plots: int
    n_bad: int
    tracker: Tracker
    read: PlotFile | None = None

    @cached_property
    def output(self) -> dict[str, Any]:
        """The document written, read back from :attr:`out_json`."""
        return json.loads(Path(self.out_json).read_text())


FEED_PLOTS = 2_000  # plots added to the tracker between two flushes


def feed_tracker(tracker: Tracker, plots: Plots, on_progress: ProgressReporter | None) -> None:
    """Track time-sorted ``plots`` to the end, a slice at a time (see the module
    docstring); ``on_progress`` hears the plots added."""
    bar = reporter(on_progress)
    n = len(plots)
    bar.start("tracking (plots)", n)
    for start in range(0, n, FEED_PLOTS):
        stop = min(start + FEED_PLOTS, n)
        tracker.add(plots.take(slice(start, stop)))
        if stop < n:
            tracker.flush(float(plots.time_s[stop]))
        bar.update(stop)
    tracker.finish()
    bar.finish()


def track_files(
    plots_csv: Path,
    sensors_yaml: Path,
    out_json: Path,
    *,
    history: bool = False,
    skip_bad: bool = False,
    filter_name: str = "imm",
    association: str = "gnn",
    on_progress: ProgressReporter | None = None,
) -> OfflineResult:
    """Track a plot CSV with the sensors of a sensors YAML file and write the track output
    file ``out_json`` (atomically); see the module docstring for the frame. ``on_progress``
    hears the megabytes read, then the plots tracked."""
    specs = read_sensors_yaml(sensors_yaml)
    frame = LocalFrame(specs[0].lat, specs[0].lon, specs[0].alt_m)
    sensors = tracker_sensors_from_specs(specs, frame)
    got = read_plot_file(
        plots_csv,
        [s.id for s in specs],
        skip_bad=skip_bad,
        latency_s=[s.latency_s for s in specs],
        on_progress=on_progress,
    )
    plots, n_bad = got.plots, got.n_bad
    tracker = Tracker(sensors, TrackerConfig(filter=filter_name, association=association))
    updates = SpilledUpdateLog()
    tracker.updates = updates  # spilled to disk as it grows (docs/reliability.md, memory)
    try:
        feed_tracker(tracker, plots, on_progress)
        extra = {
            "input": {
                "plots_file": str(plots_csv),
                "sensors_file": str(sensors_yaml),
                "plots": len(plots),
                "bad_rows_skipped": n_bad,
            }
        }
        classes = write_track_output(
            out_json, tracker, frame, updates, history=history, extra=extra
        )
    finally:
        updates.close()
    return OfflineResult(Path(out_json), classes, len(plots), n_bad, tracker, got)
