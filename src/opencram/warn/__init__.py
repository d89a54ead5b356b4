"""Warn: the sixth link of the chain, telling people in a zone that a threat will land on
them. Warning zones on the ground, the probability that each predicted impact lands in
each zone, the zones' alert state, and the warning scores of a finished run.

- :mod:`~opencram.warn.zones`: scenario zones as shapely polygons in the local ENU frame;
- :mod:`~opencram.warn.alerts`: per-zone landing probabilities (quasi-random samples of
  each impact prediction) and the alert board with its hysteresis and all-clear;
- :mod:`~opencram.warn.cache`: zone probabilities per track, recomputed only when the
  track's prediction changes (shared by the warn and engage stages);
- :mod:`~opencram.warn.metrics`: warning time, missed warnings, false alerts and the
  threshold trade-off, replayed from the probabilities a run recorded;
- :mod:`~opencram.warn.per_threat`: each threat's own warning time (from the first alert
  listing one of its own tracks) beside its zone's alert time.

Exported here: zones, metrics and the per-threat warning. Import
:mod:`~opencram.warn.alerts` (``AlertBoard``, ``zone_probabilities``,
``DEFAULT_THRESHOLD``) and :mod:`~opencram.warn.cache`
(``ZoneProbabilityCache``) directly: they need ``scipy.stats`` (over a second to import),
and :mod:`~opencram.warn.zones` is also read by light commands such as
``opencram scenario validate`` (through ``opencram.c2.world``).
"""

from opencram.warn.metrics import (
    TRADE_OFF_THRESHOLDS,
    WarningScore,
    alert_episodes,
    score_warnings,
    trade_off,
)
from opencram.warn.per_threat import ThreatWarning, threat_warnings
from opencram.warn.zones import KIND_PRIORITY, LatLonRings, ZoneSet

__all__ = [
    "KIND_PRIORITY",
    "TRADE_OFF_THRESHOLDS",
    "LatLonRings",
    "ThreatWarning",
    "WarningScore",
    "ZoneSet",
    "alert_episodes",
    "score_warnings",
    "threat_warnings",
    "trade_off",
]
