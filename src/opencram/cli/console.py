"""``opencram console``: the live operator console (a local web page).

The web stack (FastAPI, uvicorn) is imported only when the console is started.
"""

from __future__ import annotations

import errno
import ipaddress
import secrets
import socket
from pathlib import Path
from typing import Annotated

import typer

from opencram.errors import UserError
from opencram.tiles import tile_source

DEFAULT_PORT = 8765


def is_loopback(host: str) -> bool:
    """True for addresses only this machine can reach (127.0.0.0/8, ::1, localhost)."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a host name: it may resolve to a reachable address


def resolve_token(host: str, token: str | None) -> str | None:
    """The access token to require: the one given, or a fresh one off loopback."""
    if token is not None:
        if len(token) < 8:
            raise UserError("--token: must be at least 8 characters")
        return token
    return None if is_loopback(host) else secrets.token_urlsafe(18)


def check_port_free(host: str, port: int) -> None:
    """A one-line error now rather than a server log later when the port is taken."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise UserError(f"--host {host}: cannot resolve: {exc.strerror}") from None
    family, _, _, _, addr = infos[0]
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(addr)
        except OSError as exc:
            why = "already in use" if exc.errno == errno.EADDRINUSE else exc.strerror
            raise UserError(f"--port {port}: cannot listen on {host}:{port}: {why}") from None


def console(
    scenario: Annotated[
        str | None, typer.Argument(help="Built-in name or YAML file (default green-zone).")
    ] = None,
    replay: Annotated[
        Path | None, typer.Option("--replay", help="Replay a run folder written by 'opencram run'.")
    ] = None,
    speed: Annotated[float, typer.Option(help="Simulated seconds per real second.")] = 1.0,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.", min=1, max=65535)] = DEFAULT_PORT,
    token: Annotated[
        str | None,
        typer.Option(help="Access token to require (one is generated off loopback)."),
    ] = None,
    seed: Annotated[int | None, typer.Option(help="Override the scenario's seed.", min=0)] = None,
    paused: Annotated[bool, typer.Option("--paused", help="Start paused at T+0.")] = False,
    start_now: Annotated[
        bool,
        typer.Option(
            "--start-now",
            help="Start the clock at once, not when the first browser (or control) connects.",
        ),
    ] = False,
    tiles: Annotated[
        str | None,
        typer.Option(
            "--tiles",
            help="Base map: an MBTiles file (served by the console) or a tile URL template "
            "with {z}, {x}, {y} (fetched by the browser).",
        ),
    ] = None,
) -> None:
    """Open the operator console: run a scenario in real time, or replay a run, in a browser."""
    from opencram.console.session import Session  # deferred: numpy, pymap3d

    if replay is not None and scenario is not None:
        raise UserError("give a SCENARIO to run or --replay RUN_FOLDER, not both")
    if replay is not None and seed is not None:
        raise UserError("--seed: a replay shows the run as recorded; it takes no seed")
    tok = resolve_token(host, token)
    source = tile_source(tiles) if tiles is not None else None
    if replay is not None:
        session = Session.replay(replay, speed=speed, paused=paused, start_now=start_now)
    else:
        session = Session.live(
            scenario or "green-zone", seed=seed, speed=speed, paused=paused, start_now=start_now
        )
    check_port_free(host, port)
    serve(session, host, port, tok, source)


def console_url(host: str, port: int, token: str | None) -> str:
    """The address to open in a browser (with the token, if one is required)."""
    shown = f"[{host}]" if ":" in host else host
    if host in ("0.0.0.0", "::"):
        shown = socket.gethostname()
    return f"http://{shown}:{port}/" + (f"?token={token}" if token else "")


def serve(session, host: str, port: int, token: str | None, tiles=None) -> None:
    """Serve the console web app for ``session`` until Ctrl-C; ``tiles``: its base map."""
    import uvicorn  # deferred: the web server, only for the console

    from opencram.console.app import LOOPBACK_NAMES, create_app  # deferred: fastapi

    hosts = LOOPBACK_NAMES | {host.strip("[]").lower()} if is_loopback(host) else None
    app = create_app(session, token=token, trusted_hosts=hosts, tiles=tiles)
    what = "replay of" if session.mode == "replay" else "live run of"
    print(f"opencram console: {what} {session.name}", flush=True)
    print(f"open {console_url(host, port, token)}  (Ctrl-C to stop)", flush=True)
    if token is not None and not is_loopback(host):
        print("access token required: requests without it are refused", flush=True)
    uvicorn.run(app, host=host, port=port, log_level="warning")
