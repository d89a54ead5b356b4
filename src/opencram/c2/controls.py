"""Operator controls: what an operator asks of the running engine.

A console (or any other front end) calls :meth:`OperatorControls.request` from its own
thread; the engine drains the requests at the start of each tick, applies them, and logs
each as an :class:`~opencram.c2.events.OperatorAction` event, refused with a reason when
it makes no sense (an unknown gun or zone, a zone with no alert). So every action takes
effect at a definite simulated time and appears in the event log like everything else.

Actions:

* ``weapons_hold`` / ``weapons_free`` with a gun id, or ``*`` for all guns: a held gun
  commits no new burst (a burst already fired flies on);
* ``mark_friendly`` with a track id: the track is neither engaged nor warned on;
* ``ack_alert`` with a zone name: the operator has seen the zone's alert (logged; the
  alert itself stays until the zone is clear).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

ACTIONS = ("ack_alert", "weapons_hold", "weapons_free", "mark_friendly")


@dataclass
class OperatorControls:
    """Thread-safe inbox of operator actions plus the state they have set."""

    weapons_hold: set[str] = field(default_factory=set)
    friendly_tracks: set[int] = field(default_factory=set)
    acknowledged: set[str] = field(default_factory=set)
    _pending: list[tuple[str, str]] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def request(self, action: str, target: str) -> None:
        """Queue an action for the next tick. Raises ValueError for an unknown action."""
        if action not in ACTIONS:
            raise ValueError(f"action: unknown {action!r}; expected one of {', '.join(ACTIONS)}")
        with self._lock:
            self._pending.append((action, str(target)))

    def drain(self) -> list[tuple[str, str]]:
        """Take the queued actions, oldest first."""
        with self._lock:
            out, self._pending = self._pending, []
        return out
