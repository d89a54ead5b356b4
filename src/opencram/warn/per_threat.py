"""Warning time per threat (issue 15 point 6): how long before a threat lands its own
track is behind an alert on the zone it hits.

The zone's warning time (``opencram.warn.metrics``) runs from the raise of the alert that
is up at impact, whoever raised it, so a threat is credited with warning given by another
threat's track. A threat's own warning time runs from the first alert event on the zone
it hits, in the alert episode up at its impact, that lists one of its own tracks. Since an
alert up is re-sent the tick its tracks change (``opencram.warn.alerts``), that is the tick
the threat's own track first contributed. ``None`` when none of its tracks ever did.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class ThreatWarning:
    zone: str
    threat_id: str
    own_warning_s: float | None  # from its own track's first alert on the zone
    zone_warning_s: float | None  # from the raise of the zone's alert up at impact


def _episode_at(alerts: list, zone: str, t_s: float) -> list:
    """The events of ``zone``'s alert episode up at ``t_s`` (raise first), or []."""
    episode: list = []
    for e in alerts:
        if e.zone != zone or e.t_s > t_s:
            continue
        if e.state == "raised":
            episode = [e]
        elif e.state == "cleared":
            episode = []
        elif episode:
            episode.append(e)
    return episode


def threat_warnings(
    alerts: Iterable, hits: Iterable[tuple[str, float, tuple[str, ...]]], tracks_of: dict
) -> list[ThreatWarning]:
    """Per threat and warning zone it hits: its own and its zone's warning time.

    ``alerts``: ZoneAlert-like events (``t_s``, ``zone``, ``state``, ``track_ids``) in
    time order; ``hits``: (threat id, impact time, zones hit); ``tracks_of``: threat id ->
    the ids of the tracks that followed it."""
    alerts = [e for e in alerts if getattr(e, "kind", "zone_alert") == "zone_alert"]
    out = []
    for threat, t_imp, zones in hits:
        own_ids = set(tracks_of.get(threat, ()))
        for zone in zones:
            episode = _episode_at(alerts, zone, t_imp)
            if not episode and not any(e.zone == zone for e in alerts):
                continue  # not a warning zone (never alerted)
            first_own = next((e for e in episode if own_ids & set(e.track_ids)), None)
            out.append(
                ThreatWarning(
                    zone=zone,
                    threat_id=threat,
                    own_warning_s=None if first_own is None else round(t_imp - first_own.t_s, 3),
                    zone_warning_s=round(t_imp - episode[0].t_s, 3) if episode else None,
                )
            )
    return out
