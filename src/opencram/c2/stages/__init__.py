"""The engine's stage drivers, one module each: sensing, tracking, prediction, warning and
engagement. Each is stepped by the engine with the current time and returns the events it
produced; the rules they apply live in the stage packages (``sense``, ``track``,
``predict``, ``warn``, ``engage``).

- :mod:`~opencram.c2.stages.sense`: every radar scans the truth on its own clock; plots
  reach the tracker after their latency;
- :mod:`~opencram.c2.stages.track`: the tracker fed with arriving plots, and the events of
  its confirmed tracks (shared with the live service);
- :mod:`~opencram.c2.stages.predict`: impact point and origin of each confirmed ballistic
  track, a corridor for each drone;
- :mod:`~opencram.c2.stages.warn`: zone alerts from the current impact predictions;
- :mod:`~opencram.c2.stages.engage`: the guns deciding, firing and resolving bursts.
"""

from opencram.c2.stages.engage import EngageStage
from opencram.c2.stages.predict import PredictStage
from opencram.c2.stages.sense import SenseStage
from opencram.c2.stages.track import TrackStage, confirmed_track_events, tracker_sensors
from opencram.c2.stages.warn import WarnStage

__all__ = [
    "EngageStage",
    "PredictStage",
    "SenseStage",
    "TrackStage",
    "WarnStage",
    "confirmed_track_events",
    "tracker_sensors",
]
