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
"""

from opencram.c2.controls import ACTIONS, OperatorControls
from opencram.c2.events import (
    EVENT_ADAPTER,
    AircraftLeft,
    AnyEvent,
    Ellipse95,
    EngagementResult,
    EngagementStarted,
    EngagementWithheld,
    Event,
    Footprint,
    GunStatus,
    Impact,
    ImpactPredicted,
    Launch,
    OperatorAction,
    OriginEstimated,
    RunFinished,
    RunStarted,
    TrackDropped,
    TrackUpdated,
    TruthState,
    ZoneAlert,
    parse_event,
)

__all__ = [
    "ACTIONS",
    "EVENT_ADAPTER",
    "AircraftLeft",
    "AnyEvent",
    "Ellipse95",
    "EngagementResult",
    "EngagementStarted",
    "EngagementWithheld",
    "Event",
    "Footprint",
    "GunStatus",
    "Impact",
    "ImpactPredicted",
    "Launch",
    "OperatorAction",
    "OperatorControls",
    "OriginEstimated",
    "RunFinished",
    "RunStarted",
    "TrackDropped",
    "TrackUpdated",
    "TruthState",
    "ZoneAlert",
    "parse_event",
]
