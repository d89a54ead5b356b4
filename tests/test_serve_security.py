"""The live service's web security over loopback (issue 17 point 4): the websocket refuses
another site's Origin, a non-loopback Host on loopback, a missing or wrong token, and
clients over the limit; the CSV port closes a connection that sends HTTP (a browser page
posting to it adds no plot), one without the token, one over the limit and one idle.

Seeded faults caught: ``webguard.origin_allowed`` returning True fails the Origin test;
``looks_like_http`` returning False fails the POST test (the body's plots get in)."""

from __future__ import annotations

import asyncio
import socket

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from opencram.live import webguard
from opencram.live.server import Endpoints, LiveServer
from opencram.live.service import LiveService, ServeConfig
from opencram.sense.plots import SensorSpec

SPECS = [SensorSpec("r1", 33.3, 44.4, 34.0, 10.0, 2.0, 2.0, scan_s=1.0)]
TOKEN = "s3cret-token-1"
PLOT_LINES = b"".join(b"%d.0,r1,5000,10,5\n" % t for t in range(100, 110))


async def _server(**kw) -> tuple[LiveServer, asyncio.Task]:
    svc = LiveService(SPECS, config=ServeConfig(idle_s=1e9))
    ep = Endpoints(asterix_port=None, csv_port=0, ws_port=0, **kw)
    server = LiveServer(svc, ep)
    await server.start()
    return server, asyncio.ensure_future(server.run())


async def _stop(server, task) -> None:
    server.request_stop()
    await task


async def _ws_status(url: str, **kw) -> int:
    """101 when the websocket opens, else the HTTP status it was refused with."""
    try:
        async with connect(url, open_timeout=5, **kw):
            return 101
    except InvalidStatus as exc:
        return exc.response.status_code


async def _rebound(port: str) -> int:
    """A page whose name was pointed at 127.0.0.1: it connects there, naming its own host."""
    sock = socket.create_connection(("127.0.0.1", int(port)))
    return await _ws_status(f"ws://evil.example:{port}/?token={TOKEN}", sock=sock)


def test_websocket_origin_host_token_and_limit():
    async def go():
        server, task = await _server(token=TOKEN, max_ws_clients=2)
        url = server.addresses["websocket"]
        port = url.rsplit(":", 1)[1]
        ok = f"{url}/?token={TOKEN}"
        res = {
            "no token": await _ws_status(url),
            "wrong token": await _ws_status(f"{url}/?token=nope-nope-nope"),
            "token": await _ws_status(ok),
            "bearer": await _ws_status(
                url, additional_headers={"Authorization": f"Bearer {TOKEN}"}
            ),
            "evil origin": await _ws_status(ok, origin="http://evil.example"),
            "own origin": await _ws_status(ok, origin=f"http://127.0.0.1:{port}"),
            "rebound host": await _rebound(port),
        }
        async with connect(ok), connect(ok):
            res["third client"] = await _ws_status(ok)
        await _stop(server, task)
        return res, server.counters.ws_refused

    res, refused = asyncio.run(go())
    assert res == {
        "no token": 401, "wrong token": 401, "token": 101, "bearer": 101,
        "evil origin": 403, "own origin": 101, "rebound host": 403, "third client": 503,
    }  # fmt: skip
    assert refused == 5


async def _csv_session(server, payload: bytes, wait_s: float = 2.0) -> bytes:
    """Send ``payload`` to the CSV port; what the server did: b"" once it closed the
    connection, or b"open" when it was still open after ``wait_s``."""
    host, port = server.addresses["csv"][len("tcp://") :].rsplit(":", 1)
    reader, writer = await asyncio.open_connection(host, int(port))
    writer.write(payload)
    await writer.drain()
    try:
        got = await asyncio.wait_for(reader.read(100), wait_s)
    except TimeoutError:
        got = b"open"
    except ConnectionResetError:  # closed with our data unread
        got = b""
    writer.close()
    return got


def test_csv_port_refuses_http_and_counts_it():
    post = (
        b"POST / HTTP/1.1\r\nHost: 127.0.0.1:8601\r\nContent-Type: text/plain\r\n"
        b"Content-Length: %d\r\n\r\n" % len(PLOT_LINES)
    ) + PLOT_LINES

    async def go():
        server, task = await _server()
        closed = await _csv_session(server, post)
        plain = await _csv_session(server, PLOT_LINES, wait_s=0.5)
        await _stop(server, task)
        return server, closed, plain

    server, closed, plain = asyncio.run(go())
    ing = server.service.ingest
    assert closed == b""
    assert plain == b"open"
    assert ing.bad.counts["http_request"] == 1
    assert ing.received["plots"] == 10, "only the plain connection's 10 plots"


def test_csv_port_token_limit_and_idle_timeout():
    async def go():
        server, task = await _server(token=TOKEN, max_csv_clients=1, csv_idle_s=0.5)
        no_token = await _csv_session(server, PLOT_LINES)
        with_token = await _csv_session(server, b"token %s\n" % TOKEN.encode() + PLOT_LINES)
        host, port = server.addresses["csv"][len("tcp://") :].rsplit(":", 1)
        _r, holder = await asyncio.open_connection(host, int(port))
        holder.write(b"token %s\n" % TOKEN.encode())
        await asyncio.sleep(0.1)
        over_limit = await _csv_session(server, b"token %s\n" % TOKEN.encode(), wait_s=0.4)
        holder.close()
        await _stop(server, task)
        return server, no_token, with_token, over_limit

    server, no_token, with_token, over_limit = asyncio.run(go())
    ing = server.service.ingest
    assert no_token == b""
    assert with_token == b"", "closed after csv_idle_s without data"
    assert over_limit == b""
    assert ing.received["plots"] == 10, "only the connection with the token"
    assert server.counters.csv_refused == 3  # no token, idle, over the limit


@pytest.mark.parametrize(
    ("line", "http"),
    [
        (b"POST / HTTP/1.1", True),
        (b"GET /?x=1,2 HTTP/1.0", True),
        (b"Host: 127.0.0.1:8601", True),
        (b"Accept: text/html,application/xml", True),
        (b"OPTIONS *", True),
        (b"12.5,r1,4831.047,182.5,1.25", False),
        (b"time_s,sensor,range_m,azimuth_deg,elevation_deg", False),
        (b"token abcdefgh", False),
    ],
)
def test_looks_like_http(line, http):
    """Regression guard on the HTTP test of CSV lines."""
    assert webguard.looks_like_http(line) is http


def test_host_and_origin_rules():
    """Regression guard on the pure Host and Origin checks."""
    hosts = webguard.trusted_hosts("127.0.0.1")
    assert webguard.host_allowed("localhost:8765", hosts)
    assert webguard.host_allowed("[::1]:8765", hosts)
    assert not webguard.host_allowed("evil.example:8765", hosts)
    assert not webguard.host_allowed(None, hosts)
    assert webguard.trusted_hosts("0.0.0.0") is None
    assert webguard.origin_allowed(None, "127.0.0.1:8765")
    assert webguard.origin_allowed("http://127.0.0.1:8765", "127.0.0.1:8765")
    assert not webguard.origin_allowed("http://evil.example", "127.0.0.1:8765")
    assert not webguard.origin_allowed("null", "127.0.0.1:8765")


def test_serve_options_token_and_sources():
    """Regression guard on ``opencram serve``'s --token and --source checks: a token is
    generated off loopback and never on it unless given; bad values are one-line errors."""
    from opencram.cli.serve import parse_sources, resolve_token
    from opencram.errors import UserError

    assert resolve_token("127.0.0.1", None) is None
    assert len(resolve_token("0.0.0.0", None)) >= webguard.MIN_TOKEN_CHARS
    assert resolve_token("0.0.0.0", TOKEN) == TOKEN
    for bad in ("short", "has a space"):
        with pytest.raises(UserError, match="--token"):
            resolve_token("127.0.0.1", bad)
    assert parse_sources(["r1=10.0.0.5", "r2=[::1]"], ["r1", "r2"]) == {
        "r1": "10.0.0.5",
        "r2": "::1",
    }
    for bad in (["r1"], ["r9=10.0.0.1"], ["r1=1.1.1.1", "r1=2.2.2.2"], ["r1="]):
        with pytest.raises(UserError, match="--source"):
            parse_sources(bad, ["r1", "r2"])
