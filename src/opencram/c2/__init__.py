"""C2 (command and control): what drives the chain. The scenario compiled into a world, the
engine's clock loop stepping the stage drivers (sense, track, predict, warn, engage) over
it tick by tick, the typed events it emits, from which every output is built, and the
operator's controls of a running engine.

- :mod:`~opencram.c2.engine`: the clock loop, :func:`~opencram.c2.engine.run`, and its
  in-memory result ``RunResult``;
- :mod:`~opencram.c2.world`: a scenario compiled into a world (local frame, zones,
  environment, every threat round and friendly aircraft with its true flight), all
  randomness drawn from one seeded generator;
- :mod:`~opencram.c2.stages`: the stage drivers, one module per stage;
- :mod:`~opencram.c2.events`: the typed events (frozen pydantic models with a ``kind``
  tag, one JSON line each in ``events.jsonl``);
- :mod:`~opencram.c2.controls`: operator requests (weapons hold and free, mark friendly,
  acknowledge an alert), applied and logged at the engine's next tick.

Exported here: the events and the controls. Import :mod:`~opencram.c2.engine` and
:mod:`~opencram.c2.world` directly: they pull the whole chain (scipy, shapely, pymap3d),
while the events are read on their own by light commands (``opencram export``,
``opencram tak send``, through :mod:`opencram.runs` and :mod:`opencram.interop.cot`).

The names are bound lazily (:mod:`opencram.lazy`), so importing one module of c2 loads
neither the controls nor the events until they are used.
"""

from opencram.lazy import lazy_exports

_EXPORTS = {
    "ACTIONS": "opencram.c2.controls",
    "OperatorControls": "opencram.c2.controls",
    "AircraftLeft": "opencram.c2.events",
    "AnyEvent": "opencram.c2.events",
    "EVENT_ADAPTER": "opencram.c2.events",
    "Ellipse95": "opencram.c2.events",
    "EngagementResult": "opencram.c2.events",
    "EngagementStarted": "opencram.c2.events",
    "EngagementWithheld": "opencram.c2.events",
    "Event": "opencram.c2.events",
    "Footprint": "opencram.c2.events",
    "GunStatus": "opencram.c2.events",
    "Impact": "opencram.c2.events",
    "ImpactPredicted": "opencram.c2.events",
    "Launch": "opencram.c2.events",
    "OperatorAction": "opencram.c2.events",
    "OriginEstimated": "opencram.c2.events",
    "RunFinished": "opencram.c2.events",
    "RunStarted": "opencram.c2.events",
    "TrackDropped": "opencram.c2.events",
    "TrackUpdated": "opencram.c2.events",
    "TruthState": "opencram.c2.events",
    "ZoneAlert": "opencram.c2.events",
    "parse_event": "opencram.c2.events",
}
__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
