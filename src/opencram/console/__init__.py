"""Console: the live operator console, a reader of the chain. A local web page showing a
simulation run in real time (or a recorded run replayed), with the operator's controls
passed back to the running engine.

- :mod:`~opencram.console.session`: one session (a live run in a worker thread, or a
  replay of a run folder), paced to the wall clock and fanned out to every browser;
- :mod:`~opencram.console.app`: the FastAPI app: the page, the event websocket, the
  controls, and the token, origin and host checks; the page's script and style are in
  ``static/``.

Exported here: the session. Import :mod:`~opencram.console.app` (``create_app``) directly:
it pulls FastAPI, which ``opencram console`` imports only once the session is ready to be
served (a bad scenario is reported without it).
"""

from opencram.console.session import Pacer, Session, StoppedError, check_speed, map_features

__all__ = ["Pacer", "Session", "StoppedError", "check_speed", "map_features"]
