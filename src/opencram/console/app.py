"""The console's web app (FastAPI): the page, a websocket of events, and the controls.

Routes:

* ``GET /`` the page; ``/static/*`` its script and style, ``/palette.css`` the colours
  (:mod:`opencram.palette`, shared with the report) as CSS custom properties, ``/mgrs.js``
  the MGRS reference of the pointer readout (the report's script, shared with it); all
  served from opencram itself: the page needs no network.
* ``GET /api/state``: the clock, the control state and the map features.
* ``GET /api/events?since=N``: the events from the N-th on (the websocket is the live path).
* ``POST /api/control`` ``{"op": "pause"|"resume"|"step"|"speed"|"seek", "value": number}``.
  A control, like a websocket, counts as the first client: it starts a clock held until
  then.
* ``POST /api/action`` ``{"action": "ack_alert"|"weapons_hold"|"weapons_free"|
  "mark_friendly", "target": "..."}``: queued for the running simulation, which applies
  and logs it (an ``operator`` event) at its next tick. 202; 409 in a replay.
* ``GET /tiles/{z}/{x}/{y}``: with ``--tiles`` an MBTiles archive, its slippy-map tile
  (z, x, y; row y counted from the north) as PNG or JPEG, or 404; the map's ``tiles``
  (``{"template": ..., "zooms": [min, max]}``) tells the page where to fetch its base map
  from (this route, or the user's URL template), or is null with no base map.
* ``WS /ws``: first ``{"type": "hello", "map": ..., "state": ...}``, then the backlog and
  every new tick as ``{"type": "events", "events": [...]}``, the clock as
  ``{"type": "state", ...}``, and after a seek ``{"type": "reset", "events": [...],
  "state": ...}`` (the whole backlog at the new time: the page starts over from it).

Security: when a token is configured (always, off loopback: see
:func:`opencram.cli_console`), every request must carry it, as the ``X-Opencram-Token``
header, an ``Authorization: Bearer`` header, a ``token`` query parameter, or the cookie
set when the page is opened with ``?token=``. HTTP requests without it get 401; a
websocket without it is closed before it opens (HTTP 403). Independently of the token,
state-changing requests and websockets whose ``Origin`` is not this server are refused
(403), so another web site open in the same browser cannot drive a loopback console;
and on loopback only the loopback host names are accepted in ``Host`` (DNS rebinding).
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import secrets
from contextlib import asynccontextmanager
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from fastapi import FastAPI, HTTPException, Request, WebSocket, WebSocketDisconnect
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, ConfigDict
from starlette.requests import HTTPConnection

from opencram.console.session import Session
from opencram.palette import css_variables
from opencram.tiles import MBTiles, TileSource, TileTemplate

TOKEN_HEADER = "x-opencram-token"
TOKEN_COOKIE = "opencram_token"
TOKEN_QUERY = "token"


class ControlRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    op: str
    value: float | None = None


class ActionRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    action: str
    target: str


def presented_token(conn: HTTPConnection) -> str | None:
    auth = conn.headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        return auth[7:].strip()
    return (
        conn.headers.get(TOKEN_HEADER)
        or conn.query_params.get(TOKEN_QUERY)
        or conn.cookies.get(TOKEN_COOKIE)
    )


def token_ok(conn: HTTPConnection, token: str | None) -> bool:
    if token is None:
        return True
    given = presented_token(conn)
    return given is not None and secrets.compare_digest(given.encode(), token.encode())


def same_origin(conn: HTTPConnection) -> bool:
    """True unless the request names an Origin other than the host it was sent to."""
    origin = conn.headers.get("origin")
    if origin is None:
        return True  # not sent by a browser page (curl, tests, same-origin GET)
    return urlsplit(origin).netloc.lower() == conn.headers.get("host", "").lower()


def _static_text(name: str) -> str:
    return resources.files("opencram.console").joinpath("static", name).read_text("utf-8")


def _report_script(name: str) -> str:
    """A script shipped with the report's templates, read without importing the report
    (which would load matplotlib into the console)."""
    spec = importlib.util.find_spec("opencram.analysis.report")
    folder = Path(next(iter(spec.submodule_search_locations)))
    return (folder / "templates" / name).read_text("utf-8")


def host_allowed(conn: HTTPConnection, hosts: frozenset[str] | None) -> bool:
    """True when the Host header names one of ``hosts`` (any port), or no list is set."""
    if hosts is None:
        return True
    name = urlsplit("//" + conn.headers.get("host", "")).hostname or ""
    return name.lower() in hosts


LOOPBACK_NAMES = frozenset({"127.0.0.1", "localhost", "::1"})


def create_app(
    session: Session,
    token: str | None = None,
    start: bool = True,
    trusted_hosts: frozenset[str] | None = None,
    tiles: TileSource | None = None,
) -> FastAPI:
    """The app for one session. ``token``: required on every request when set.
    ``start``: start the session's worker when the app starts (else call session.start()).
    ``trusted_hosts``: the only Host header names accepted (the command passes the loopback
    names when it listens on loopback, which defeats DNS rebinding: a web page whose name
    has been pointed at 127.0.0.1 still sends its own name as Host). ``tiles``: the
    map's base map (:mod:`opencram.tiles`), served from ``/tiles`` when an archive."""

    @asynccontextmanager
    async def lifespan(_app: FastAPI):
        if start:
            session.start()
        try:
            yield
        finally:
            session.stop()

    app = FastAPI(title="opencram console", lifespan=lifespan, docs_url=None, redoc_url=None)
    app.state.session = session
    static_dir = resources.files("opencram.console").joinpath("static")
    _add_guard(app, token, trusted_hosts)
    app.mount("/static", StaticFiles(directory=str(static_dir)), name="static")
    _add_page(app, token)
    features = {**session.map, "tiles": tiles_info(tiles)}
    if isinstance(tiles, MBTiles):
        _add_tiles(app, tiles)
    _add_api(app, session, features)
    _add_websocket(app, session, token, trusted_hosts, features)
    return app


def tiles_info(tiles: TileSource | None) -> dict[str, Any] | None:
    """What the page needs to draw the base map: the URL template to fetch tiles from (the
    user's, or this server's ``/tiles`` route) and the zooms to ask for."""
    if tiles is None:
        return None
    if isinstance(tiles, TileTemplate):
        return {"template": tiles.url, "zooms": [0, 19]}
    zooms = tiles.zooms() or [0]
    return {"template": "/tiles/{z}/{x}/{y}", "zooms": [zooms[0], zooms[-1]]}


def _add_tiles(app: FastAPI, archive: MBTiles) -> None:
    """``GET /tiles/{z}/{x}/{y}``: a tile of the archive, or 404."""

    @app.get("/tiles/{z}/{x}/{y}")
    def get_tile(z: int, x: int, y: int) -> Response:
        data = archive.tile(z, x, y)
        if data is None:
            raise HTTPException(404, f"no tile {z}/{x}/{y} in {archive.path.name}")
        kind = "image/jpeg" if data[:3] == b"\xff\xd8\xff" else "image/png"
        return Response(data, media_type=kind, headers={"Cache-Control": "max-age=3600"})


def _add_guard(app: FastAPI, token: str | None, trusted_hosts: frozenset[str] | None) -> None:
    """The HTTP middleware: Host check, token, and no cross-origin state changes."""

    @app.middleware("http")
    async def guard(request: Request, call_next):
        if not host_allowed(request, trusted_hosts):
            return JSONResponse({"detail": "unexpected Host header"}, status_code=403)
        if not token_ok(request, token):
            return JSONResponse(
                {"detail": "access token required (open the URL printed by opencram console)"},
                status_code=401,
            )
        if request.method not in ("GET", "HEAD") and not same_origin(request):
            return JSONResponse({"detail": "cross-origin request refused"}, status_code=403)
        return await call_next(request)


def _add_page(app: FastAPI, token: str | None) -> None:
    """``GET /``: the page, setting the token cookie when opened with ``?token=``; and
    ``GET /palette.css``."""

    @app.get("/palette.css")
    def palette_css() -> Response:
        return Response(css_variables(), media_type="text/css")

    @app.get("/mgrs.js")
    def mgrs_js() -> Response:
        return Response(_report_script("mgrs.js"), media_type="text/javascript")

    @app.get("/", response_class=HTMLResponse)
    def index(request: Request) -> Response:
        resp = HTMLResponse(_static_text("index.html"))
        resp.headers["Cache-Control"] = "no-store"
        if token is not None and request.query_params.get(TOKEN_QUERY):
            # the middleware has checked it; later requests (script, style) carry the cookie
            resp.set_cookie(TOKEN_COOKIE, token, httponly=True, samesite="strict")
        return resp


def _add_api(app: FastAPI, session: Session, features: dict[str, Any]) -> None:
    """The REST routes: state, events, controls and operator actions."""

    @app.get("/api/state")
    def get_state() -> dict[str, Any]:
        return {**session.state(), "map": features}

    @app.get("/api/events")
    def get_events(since: int = 0) -> dict[str, Any]:
        backlog = session.backlog
        return {"next": len(backlog), "events": backlog[max(0, since) :]}

    @app.post("/api/control")
    def post_control(req: ControlRequest) -> dict[str, Any]:
        try:
            session.control(req.op, req.value)
        except ValueError as exc:
            raise HTTPException(400, str(exc)) from None
        except PermissionError as exc:
            raise HTTPException(409, str(exc)) from None
        return session.state()

    @app.post("/api/action", status_code=202)
    def post_action(req: ActionRequest) -> dict[str, Any]:
        try:
            session.operator(req.action, req.target)
        except ValueError as exc:
            raise HTTPException(400, str(exc)) from None
        except PermissionError as exc:
            raise HTTPException(409, str(exc)) from None
        return {"queued": True, "action": req.action, "target": req.target}


def _add_websocket(
    app: FastAPI,
    session: Session,
    token: str | None,
    trusted_hosts: frozenset[str] | None,
    features: dict[str, Any],
) -> None:
    """``WS /ws``: refused before the handshake unless Host, Origin and token pass."""

    @app.websocket("/ws")
    async def ws(websocket: WebSocket) -> None:
        ok = host_allowed(websocket, trusted_hosts) and same_origin(websocket)
        if not ok or not token_ok(websocket, token):
            await websocket.close(code=1008)  # before accept: the handshake gets HTTP 403
            return
        await websocket.accept()
        await _stream_events(websocket, session, features)


async def _stream_events(websocket: WebSocket, session: Session, features: dict[str, Any]) -> None:
    """An accepted websocket: hello, the backlog, the clock, then every new message until
    the client goes away."""
    queue: asyncio.Queue = asyncio.Queue()
    backlog = session.subscribe(asyncio.get_running_loop(), queue)
    try:
        await websocket.send_json({"type": "hello", "map": features, "state": session.state()})
        if backlog:
            await websocket.send_json({"type": "events", "events": backlog})
        await websocket.send_json(session.state())
        reader = asyncio.create_task(_drain_client(websocket))
        while not reader.done():
            getter = asyncio.create_task(queue.get())
            done, _ = await asyncio.wait({getter, reader}, return_when=asyncio.FIRST_COMPLETED)
            if getter in done:
                await websocket.send_json(getter.result())
            else:
                getter.cancel()
    except (WebSocketDisconnect, RuntimeError):
        pass
    finally:
        session.unsubscribe(queue)
        with contextlib.suppress(Exception):
            await websocket.close()


async def _drain_client(websocket: WebSocket) -> None:
    """Read (and ignore) what the browser sends until it disconnects: the controls go
    through the REST routes, so each has an HTTP status for its outcome."""
    with contextlib.suppress(WebSocketDisconnect, RuntimeError):
        while True:
            await websocket.receive_text()
