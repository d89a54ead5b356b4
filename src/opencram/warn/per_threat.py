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
    """One threat's warning on one warning zone it hit, both in seconds before impact."""

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


def _warning(episode: list, own_ids: set, t_imp: float) -> tuple[float | None, float | None]:
    """(own, zone) warning times of a threat landing at ``t_imp`` in an alert episode."""
    first_own = next((e for e in episode if own_ids & set(e.track_ids)), None)
    own = None if first_own is None else round(t_imp - first_own.t_s, 3)
    return own, (round(t_imp - episode[0].t_s, 3) if episode else None)


def threat_warnings(
    alerts: Iterable,
    hits: Iterable[tuple[str, float, tuple[str, ...]]],
    tracks_of: dict,
    warning_zones: Iterable[str] | None = None,
) -> list[ThreatWarning]:
    """Per threat and warning zone it hits: its own and its zone's warning time.

    ``alerts``: ZoneAlert-like events (``t_s``, ``zone``, ``state``, ``track_ids``) in
    time order (other events are skipped); ``hits``: (threat id, impact time, zones hit);
    ``tracks_of``: threat id -> the ids of the tracks that followed it;
    ``warning_zones``: the zones alerts go to (a hit on one with no alert up gives
    ``None`` for both times); if not given, the zones that had any alert."""
    alerts = [e for e in alerts if getattr(e, "kind", "zone_alert") == "zone_alert"]
    warned = set(warning_zones) if warning_zones is not None else {e.zone for e in alerts}
    out = []
    for threat, t_imp, zones in hits:
        own_ids = set(tracks_of.get(threat, ()))
        for zone in zones:
            if zone not in warned:
                continue
            own, whole = _warning(_episode_at(alerts, zone, t_imp), own_ids, t_imp)
            out.append(ThreatWarning(zone, threat, own, whole))
    return out
