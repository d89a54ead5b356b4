"""Analysis: a reader of the chain, turning a run into its files and scores. The run folder
that ``opencram run`` writes, the per-threat summary, the track output file, the offline
tracking of recorded plots, the tracking metrics, and the HTML report.

- :mod:`~opencram.analysis.runfolder`: a run executed and written as its folder
  (``summary.json``, ``events.jsonl``, ``report.html``, ``scenario.yaml``), atomically;
- :mod:`~opencram.analysis.summary`: ``summary.json``, the per-threat outcome built from
  the events and the truth, rounded so it is byte-identical for a scenario and seed;
- :mod:`~opencram.analysis.trackfile`: the track output file (``opencram track --out``,
  ``tracks.json``), each ballistic update with its predicted impact and origin;
- :mod:`~opencram.analysis.offline`: recorded plots tracked into that file
  (``opencram track``);
- :mod:`~opencram.analysis.tracking`: a run's tracks scored against its truth (GOSPA over
  time, breaks, swaps, RMSE);
- :mod:`~opencram.analysis.metrics`: the metrics themselves (GOSPA, track continuity,
  position RMSE, NEES) as small pure functions;
- :mod:`~opencram.analysis.report`: ``report.html``, the self-contained offline report.

Exported here, lazily (each name's module is imported when the name is first used,
:mod:`opencram.lazy`): the metrics, the offline tracking and the track file. Import the others
directly: :mod:`~opencram.analysis.summary` (``build_summary``) and
:mod:`~opencram.analysis.tracking` (``score_run``) pull the engine and its world (shapely
among them), which ``opencram track`` does not need; :mod:`~opencram.analysis.runfolder`
(``execute``) and :mod:`~opencram.analysis.report` (``build_report``) also pull matplotlib
and Jinja2, which the campaign's worker processes (through the summary) and the live
service (through the track file) do not need.
"""

from opencram.lazy import lazy_exports

_METRICS = (
    "NO_TRACK",
    "GospaResult",
    "GospaSeries",
    "TrackScore",
    "gospa",
    "gospa_series",
    "nees",
    "nees_interval",
    "position_rmse",
    "score_tracks",
    "track_breaks_and_swaps",
)
_EXPORTS = {
    **dict.fromkeys(_METRICS, "opencram.analysis.metrics"),
    "OfflineResult": "opencram.analysis.offline",
    "track_files": "opencram.analysis.offline",
    "build_track_output": "opencram.analysis.trackfile",
}
__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
