"""``opencram serve``: the live service on asyncio sockets (docs/interfaces.md, "Live
service").

Inputs: ASTERIX CAT048 over UDP, plot CSV lines over TCP and (optionally) standard input.
Outputs: CAT062 system tracks over UDP, Cursor-on-Target over UDP or TCP, and every event
as JSON over a websocket. Everything binds 127.0.0.1 unless told otherwise.

Nothing here blocks: receiving only queues (``Ingest``), the processing step is bounded by
a decoding budget, UDP sends never wait, and each websocket client and the CoT TCP link have
a bounded queue that drops its oldest message when full (counted).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import sys
import time
from collections import deque
from dataclasses import dataclass, field

from websockets.asyncio.server import serve
from websockets.protocol import State

from opencram.interop.tak import check_url
from opencram.live.ingest import MAX_LINE_BYTES
from opencram.live.service import LiveService

log = logging.getLogger("opencram.live")

CLIENT_QUEUE = 1000  # messages waiting per websocket client (oldest dropped beyond)
COT_QUEUE = 1000


@dataclass
class Endpoints:
    """Where to listen and where to send; port 0 picks a free port."""

    host: str = "127.0.0.1"
    asterix_port: int | None = 8600
    csv_port: int | None = 8601
    ws_port: int | None = 8765
    stdin: bool = False
    cat062_to: tuple[str, int] | None = None
    cot_url: str | None = None
    tick_s: float = 0.05
    duration_s: float | None = None  # stop after this long (wall time)


@dataclass
class Counters:
    ws_dropped: int = 0
    cot_dropped: int = 0
    cot_errors: int = 0
    cat062_sent: int = 0
    cat062_errors: int = 0
    extra: dict = field(default_factory=dict)


class _AsterixIn(asyncio.DatagramProtocol):
    def __init__(self, server: LiveServer) -> None:
        self.server = server

    def datagram_received(self, data: bytes, addr) -> None:
        self.server.service.ingest.put_datagram(data)
        self.server.service.note_input(time.monotonic())

    def error_received(self, exc: Exception) -> None:  # pragma: no cover - OS dependent
        log.debug("asterix input socket error: %s", exc)


class _Out(asyncio.DatagramProtocol):
    def __init__(self, counters: Counters) -> None:
        self.counters = counters

    def error_received(self, exc: Exception) -> None:
        # nobody listening on the destination port (ICMP unreachable): count and go on
        self.counters.cat062_errors += 1


class LineSplitter:
    """Bytes in, complete lines out; a line longer than ``limit`` is reported once as
    oversized (by ``on_oversized``) and skipped up to its end."""

    def __init__(self, on_line, on_oversized, limit: int = MAX_LINE_BYTES) -> None:
        self.buf = bytearray()
        self.skipping = False
        self.on_line = on_line
        self.on_oversized = on_oversized
        self.limit = limit

    def feed(self, data: bytes) -> None:
        start = 0
        while True:
            nl = data.find(b"\n", start)
            if nl < 0:
                if not self.skipping:
                    self.buf += data[start:]
                    if len(self.buf) > self.limit:
                        self.on_oversized(len(self.buf))
                        self.buf.clear()
                        self.skipping = True
                return
            piece = data[start:nl]
            if self.skipping:
                self.skipping = False
            else:
                self.buf += piece
                if len(self.buf) > self.limit:
                    self.on_oversized(len(self.buf))
                else:
                    self.on_line(bytes(self.buf).rstrip(b"\r"))
                self.buf.clear()
            start = nl + 1

    def close(self) -> None:
        if self.buf and not self.skipping:
            self.on_line(bytes(self.buf).rstrip(b"\r"))
        self.buf.clear()


class LiveServer:
    def __init__(self, service: LiveService, endpoints: Endpoints) -> None:
        self.service = service
        self.ep = endpoints
        self.counters = Counters()
        self.clients: set = set()
        self._client_queues: dict = {}
        self._stop = asyncio.Event()
        self.addresses: dict[str, str] = {}
        self._cat062_transport = None
        self._cot = None
        self._tasks: list[asyncio.Task] = []
        self._closers: list = []

    # --- inputs -----------------------------------------------------------------------

    def _csv_lines(self, source):
        ingest = self.service.ingest

        def on_line(line: bytes) -> None:
            ingest.put_csv_line(line, source)
            self.service.note_input(time.monotonic())

        def on_oversized(n: int) -> None:
            ingest.received["lines"] += 1
            ingest.bad.add("oversized_line", f"line of more than {n} bytes")

        return LineSplitter(on_line, on_oversized)

    async def _csv_client(self, reader: asyncio.StreamReader, writer) -> None:
        peer = writer.get_extra_info("peername")
        lines = self._csv_lines(("tcp", peer))
        try:
            while data := await reader.read(65536):
                lines.feed(data)
            lines.close()
        except (ConnectionError, OSError):
            pass
        finally:
            self.service.ingest._csv_header.pop(("tcp", peer), None)
            writer.close()

    async def _stdin(self) -> None:
        loop = asyncio.get_running_loop()
        reader = asyncio.StreamReader(limit=1 << 20)
        await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin.buffer)
        lines = self._csv_lines("stdin")
        while data := await reader.read(65536):
            lines.feed(data)
        lines.close()
        log.info("end of standard input")
        self._stop.set()

    # --- outputs ----------------------------------------------------------------------

    async def _ws_handler(self, ws) -> None:
        """One websocket client: every event as a JSON text message, from a bounded queue
        (oldest dropped when the client cannot keep up). Messages from the client are
        ignored."""
        q: deque = deque()
        ready = asyncio.Event()
        self._client_queues[ws] = (q, ready)
        try:
            while ws.state is State.OPEN:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(ready.wait(), 0.5)
                ready.clear()
                while q:
                    await ws.send(q.popleft())
        except Exception:  # a client going away must not stop the service
            pass
        finally:
            self._client_queues.pop(ws, None)

    def _broadcast(self, messages: list[str]) -> None:
        for q, ready in self._client_queues.values():
            for m in messages:
                if len(q) >= CLIENT_QUEUE:
                    q.popleft()
                    self.counters.ws_dropped += 1
                q.append(m)
            if messages:
                ready.set()

    def _send_cat062(self, blocks: list[bytes]) -> None:
        if self._cat062_transport is None:
            return
        for b in blocks:
            try:
                self._cat062_transport.sendto(b)
                self.counters.cat062_sent += 1
            except OSError:
                self.counters.cat062_errors += 1

    # --- running ----------------------------------------------------------------------

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        ep = self.ep
        if ep.asterix_port is not None:
            transport, _ = await loop.create_datagram_endpoint(
                lambda: _AsterixIn(self), local_addr=(ep.host, ep.asterix_port)
            )
            self._closers.append(transport.close)
            port = transport.get_extra_info("sockname")[1]
            self.addresses["asterix"] = f"udp://{ep.host}:{port}"
        if ep.csv_port is not None:
            srv = await asyncio.start_server(self._csv_client, ep.host, ep.csv_port)
            self._closers.append(srv.close)
            port = srv.sockets[0].getsockname()[1]
            self.addresses["csv"] = f"tcp://{ep.host}:{port}"
        if ep.ws_port is not None:
            ws_srv = await serve(self._ws_handler, ep.host, ep.ws_port, max_size=1 << 16)
            self._closers.append(ws_srv.close)
            port = next(iter(ws_srv.sockets)).getsockname()[1]
            self.addresses["websocket"] = f"ws://{ep.host}:{port}"
        if ep.cat062_to is not None:
            transport, _ = await loop.create_datagram_endpoint(
                lambda: _Out(self.counters), remote_addr=ep.cat062_to
            )
            self._cat062_transport = transport
            self._closers.append(transport.close)
            self.addresses["cat062"] = f"udp://{ep.cat062_to[0]}:{ep.cat062_to[1]}"
        if ep.cot_url is not None:
            self._cot = CotLink(ep.cot_url, self.counters)
            await self._cot.start()
            self._closers.append(self._cot.close)
            self.addresses["cot"] = ep.cot_url
        if ep.stdin:
            self._tasks.append(asyncio.ensure_future(self._stdin()))
            self.addresses["stdin"] = "csv"

    def request_stop(self) -> None:
        self._stop.set()

    def _distribute(self, out) -> None:
        self._broadcast(out.events)
        self._send_cat062(out.cat062)
        if self._cot is not None:
            self._cot.send(out.cot)

    async def run(self) -> None:
        """Step until stopped (signal, end of stdin, or ``duration_s``), then finish."""
        t0 = time.monotonic()
        while not self._stop.is_set():
            self._distribute(self.service.step(time.monotonic()))
            if self.ep.duration_s is not None and time.monotonic() - t0 >= self.ep.duration_s:
                break
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), self.ep.tick_s)
        out = self.service.finish()
        out.events.append(self.service.stats_event())
        self._distribute(out)
        await asyncio.sleep(0.05)  # let the last messages go out
        for closer in self._closers:
            closer()
        for task in self._tasks:
            task.cancel()


class CotLink:
    """CoT messages out over UDP (one datagram each) or TCP (reconnecting), never
    blocking: a bounded queue drops its oldest message when the link cannot keep up."""

    def __init__(self, url: str, counters: Counters) -> None:
        self.scheme, self.host, self.port = check_url(url)
        self.counters = counters
        self.q: deque = deque()
        self.ready = asyncio.Event()
        self.transport = None
        self.task = None

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        if self.scheme == "udp":
            self.transport, _ = await loop.create_datagram_endpoint(
                lambda: _Out(self.counters), remote_addr=(self.host, self.port)
            )
        else:
            self.task = asyncio.ensure_future(self._tcp())

    def send(self, messages: list[bytes]) -> None:
        if self.scheme == "udp" and self.transport is not None:
            for m in messages:
                try:
                    self.transport.sendto(m)
                except OSError:
                    self.counters.cot_errors += 1
            return
        for m in messages:
            if len(self.q) >= COT_QUEUE:
                self.q.popleft()
                self.counters.cot_dropped += 1
            self.q.append(m)
        if messages:
            self.ready.set()

    async def _tcp(self) -> None:
        while True:
            try:
                _, writer = await asyncio.open_connection(self.host, self.port)
            except OSError:
                self.counters.cot_errors += 1
                await asyncio.sleep(2.0)
                continue
            try:
                while True:
                    await self.ready.wait()
                    self.ready.clear()
                    while self.q:
                        writer.write(self.q.popleft())
                    await writer.drain()
            except (ConnectionError, OSError):
                self.counters.cot_errors += 1
                writer.close()
                await asyncio.sleep(1.0)

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()
        if self.task is not None:
            self.task.cancel()


async def serve_forever(service: LiveService, endpoints: Endpoints, on_ready=None) -> LiveServer:
    server = LiveServer(service, endpoints)
    await server.start()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, server.request_stop)
    if on_ready is not None:
        on_ready(server)
    await server.run()
    return server
