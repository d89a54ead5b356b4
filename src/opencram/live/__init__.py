"""Live: the live service, the chain run on real data. Radar plots arrive as ASTERIX CAT048
over UDP or plot CSV lines over TCP or standard input and are tracked as ``opencram track``
would track a file; CAT062 system tracks, Cursor on Target and every event as JSON
(predictions, zone alerts, engagement advice) go out (docs/interfaces.md, "Live service").

- :mod:`~opencram.live.ingest`: bounded per-sensor input queues, decoding to plots, and
  every bad input counted by kind;
- :mod:`~opencram.live.service`: the processing core, independent of sockets, running on
  data time;
- :mod:`~opencram.live.advice`: engagement advice from the engine's own engage decision,
  with nothing fired;
- :mod:`~opencram.live.server`: the asyncio sockets (UDP, TCP, stdin, websockets) around
  the service, none of them blocking.
"""

from opencram.live.advice import Advisor
from opencram.live.ingest import INGEST_KINDS, BadInputLog, Ingest
from opencram.live.server import Counters, Endpoints, LiveServer, serve_forever
from opencram.live.service import LiveService, ServeConfig, StepOutput

__all__ = [
    "INGEST_KINDS",
    "Advisor",
    "BadInputLog",
    "Counters",
    "Endpoints",
    "Ingest",
    "LiveServer",
    "LiveService",
    "ServeConfig",
    "StepOutput",
    "serve_forever",
]
