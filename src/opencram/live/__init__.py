"""Live: the live service, the chain run on real data. Radar plots arrive as ASTERIX CAT048
over UDP or plot CSV lines over TCP or standard input and are tracked as ``opencram track``
would track a file; CAT062 system tracks, Cursor on Target and every event as JSON
(predictions, zone alerts, engagement advice) go out (docs/interfaces.md, "Live service").

- :mod:`~opencram.live.ingest`: bounded per-sensor input queues, sensors bound to their
  source address, the per-scan plot budget, decoding to plots, every bad input counted by
  kind and every dropped one by cause, and the clock-resync rule;
- :mod:`~opencram.live.service`: the processing core, independent of sockets, running on
  data time;
- :mod:`~opencram.live.advice`: engagement advice from the engine's own engage decision,
  with nothing fired;
- :mod:`~opencram.live.server`: the asyncio sockets (UDP, TCP, stdin, websockets) around
  the service, none of them blocking, with the kernel's UDP drop count;
- :mod:`~opencram.live.webguard`: the pure Host, Origin, token and HTTP-line checks.

Behaviour under hostile traffic, and the figures: docs/reliability.md.
"""

from opencram.live.advice import Advisor
from opencram.live.ingest import DROP_CAUSES, INGEST_KINDS, BadInputLog, Ingest, ResyncWatch
from opencram.live.server import Counters, Endpoints, LiveServer, serve_forever
from opencram.live.service import LiveService, ServeConfig, StepOutput

__all__ = [
    "DROP_CAUSES",
    "INGEST_KINDS",
    "Advisor",
    "BadInputLog",
    "Counters",
    "Endpoints",
    "Ingest",
    "LiveServer",
    "LiveService",
    "ResyncWatch",
    "ServeConfig",
    "StepOutput",
    "serve_forever",
]
