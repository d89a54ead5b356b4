"""Tracking recorded plots: ``opencram track PLOTS.csv --sensors SENSORS.yaml --out OUT.json``.

The local frame's origin is the first sensor in the sensors file, and the ground (where
tracks of landed rounds end) is the plane through it.

The plot file is checked whole first (bad rows, times far from their neighbours, how far
its rows go back in time), then read again a chunk at a time and let out in time order
(:class:`~opencram.sense.plots.PlotStream`), and fed to the tracker a slice at a time with a
:meth:`~opencram.track.manager.Tracker.flush` up to the next slice's first time: the
tracker's windows lie on an absolute time grid and a window is processed only once every
plot in it has been added, so the tracks are the same as from adding every plot at once;
in between, progress is reported and Ctrl-C is heard. The tracker's updates are spilled to
a temporary file and the output is written a group of finished tracks at a time
(:func:`~opencram.analysis.trackfile.write_track_output`), so memory does not grow with the
file's length (docs/reliability.md, "Memory of opencram track").
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

from opencram.analysis.trackfile import build_track_output, write_track_output
from opencram.fileio import atomic_write_json
from opencram.geo import LocalFrame
from opencram.progress import ProgressReporter, reporter
from opencram.sense.plots import (
    PlotFile,
    Plots,
    PlotStream,
    read_plot_file,
    read_sensors_yaml,
    stream_plot_file,
)
from opencram.track.history import SpilledUpdateLog
from opencram.track.manager import Tracker, TrackerConfig
from opencram.track.registration import (
    Registration,
    combine,
    correct_plots,
    estimate_registration,
    read_registration,
    write_registration,
)
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
    read: PlotStream | PlotFile | None = None
    registration: Registration | None = None  # what --estimate-registration wrote

    @cached_property
    def output(self) -> dict[str, Any]:
        """The document written, read back from :attr:`out_json`."""
        return json.loads(Path(self.out_json).read_text())


FEED_PLOTS = 2_000  # plots added to the tracker between two flushes


def feed_tracker(tracker: Tracker, plots: Plots, on_progress: ProgressReporter | None) -> None:
    """Track time-sorted ``plots`` to the end, a slice at a time (see the module
    docstring); ``on_progress`` hears the plots added."""
    feed_tracker_batches(tracker, iter([plots]), len(plots), on_progress)


def _slices(batches: Iterator[Plots], size: int) -> Iterator[Plots]:
    """The plots of ``batches`` again, in slices of ``size`` (the last one shorter)."""
    held: list[Plots] = []
    n_held = 0
    for b in batches:
        held.append(b)
        n_held += len(b)
        while n_held >= size:
            allp = Plots.concat(held)
            yield allp.take(slice(0, size))
            rest = allp.take(slice(size, None))
            held, n_held = [rest], len(rest)
    if n_held:
        yield Plots.concat(held)


def feed_tracker_batches(
    tracker: Tracker, batches: Iterator[Plots], n: int, on_progress: ProgressReporter | None
) -> None:
    """Track ``n`` time-sorted plots given as ``batches`` to the end: added
    :data:`FEED_PLOTS` at a time, each slice flushed up to the next one's first time (see
    the module docstring), so the tracks do not depend on how the batches were cut."""
    bar = reporter(on_progress)
    bar.start("tracking (plots)", n)
    done = 0
    for part in _slices(batches, FEED_PLOTS):
        if done:
            tracker.flush(float(part.time_s[0]))
        tracker.add(part)
        done += len(part)
        bar.update(done)
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
    registration: Path | None = None,
    registration_out: Path | None = None,
) -> OfflineResult:
    """Track a plot CSV with the sensors of a sensors YAML file and write the track output
    file ``out_json`` (atomically); see the module docstring for the frame. ``on_progress``
    hears the megabytes read, then the plots tracked. ``registration``: a registration file
    whose errors are taken out of the plots first; ``registration_out``: estimate each
    sensor's errors from the tracks and write them there (docs/registration.md; the
    estimate needs every plot and update, so with it the file is held in memory)."""
    specs = read_sensors_yaml(sensors_yaml)
    frame = LocalFrame(specs[0].lat, specs[0].lon, specs[0].alt_m)
    sensors = tracker_sensors_from_specs(specs, frame)
    ids = [s.id for s in specs]
    applied = None if registration is None else read_registration(registration, ids)
    biases = None if applied is None else applied.biases_si(ids)
    tracker = Tracker(sensors, TrackerConfig(filter=filter_name, association=association))
    read = {"skip_bad": skip_bad, "latency_s": [s.latency_s for s in specs]}
    extra = {
        "plots_file": str(plots_csv),
        "sensors_file": str(sensors_yaml),
        **({"registration_file": str(registration)} if registration else {}),
    }
    if registration_out is not None:
        got = read_plot_file(plots_csv, ids, **read, on_progress=on_progress)
        plots = correct_plots(got.plots, biases)
        feed_tracker(tracker, plots, on_progress)
        src = {"plots_file": str(plots_csv), "sensors_file": str(sensors_yaml)}
        reg = combine(applied, estimate_registration(tracker, plots, source=src))
        write_registration(registration_out, reg)
        info = {"input": {**extra, "plots": len(plots), "bad_rows_skipped": got.n_bad}}
        out = build_track_output(tracker, frame, history=history, extra=info)
        atomic_write_json(out_json, out)
        classes = [t["class"] for t in out["tracks"]]
        return OfflineResult(Path(out_json), classes, len(plots), got.n_bad, tracker, got, reg)
    stream = stream_plot_file(plots_csv, ids, **read, on_progress=on_progress)
    updates = SpilledUpdateLog()
    tracker.updates = updates  # spilled to disk as it grows (docs/reliability.md, memory)
    try:
        batches = (correct_plots(b, biases) for b in stream.sorted_batches())
        feed_tracker_batches(tracker, batches, stream.n_plots, on_progress)
        info = {"input": {**extra, "plots": stream.n_plots, "bad_rows_skipped": stream.n_bad}}
        classes = write_track_output(out_json, tracker, frame, updates, history=history, extra=info)
    finally:
        updates.close()
    return OfflineResult(Path(out_json), classes, stream.n_plots, stream.n_bad, tracker, stream)
