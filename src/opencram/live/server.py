"""``opencram serve``: the live service on asyncio sockets (docs/interfaces.md, "Live
service").

Inputs: ASTERIX CAT048 over UDP, plot CSV lines over TCP and (optionally) standard input.
Outputs: CAT062 system tracks over UDP, Cursor-on-Target over UDP or TCP, and every event
as JSON over a websocket. Everything binds 127.0.0.1 unless told otherwise.

Nothing here blocks: receiving only queues (``Ingest``), the processing step is bounded by
a decoding budget, UDP sends never wait, and each websocket client and the CoT TCP link have
a bounded queue that drops its oldest message when full (counted).

Every UDP datagram the kernel drops (socket receive buffer full) is counted too: the
socket reports its drop count with each datagram (``SO_RXQ_OVFL``, Linux), and
``/proc/net/udp`` gives it between datagrams; the total is ``dropped.kernel`` in
``ingest_stats``.

Web security (the console's rules, ``opencram.live.webguard``): the websocket refuses an
``Origin`` other than its own host and, on loopback, a ``Host`` that is not a loopback
name; with a token (required off loopback) a client must present it; the CSV port closes a
connection that sends an HTTP request, one that does not present the token first (when
one is set) and one idle for ``csv_idle_s``; both ports take a bounded number of clients.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import socket
import struct
import sys
import time
from collections import deque
from dataclasses import dataclass, field
from http import HTTPStatus

from websockets.asyncio.server import serve
from websockets.protocol import State

from opencram.errors import UserError
from opencram.interop import tak
from opencram.live import webguard
from opencram.live.ingest import MAX_LINE_BYTES
from opencram.live.service import LiveService

log = logging.getLogger("opencram.live")

CLIENT_QUEUE = 1000  # messages waiting per websocket client (oldest dropped beyond)
COT_QUEUE = 1000
SO_RXQ_OVFL = getattr(socket, "SO_RXQ_OVFL", 40)  # Linux <asm-generic/socket.h>
RECV_PER_WAKE = 256  # datagrams read per readiness callback (then the loop runs on)
KERNEL_POLL_S = 1.0  # wall time between reads of /proc/net/udp
MAX_COT_EVENT_BYTES = 1 << 20  # a CoT event read from the TAK server is never longer
EXIT_BUDGET_S = 5.0  # decoding allowed at a stop (signal, --duration); the rest is counted


@dataclass
class Endpoints:
    """Where to listen and where to send; port 0 picks a free port."""

    host: str = "127.0.0.1"
    asterix_port: int | None = 8600
    csv_port: int | None = 8601
    ws_port: int | None = 8602  # not the console's 8765: both can run on one host
    stdin: bool = False
    cat062_to: tuple[str, int] | None = None
    cot_url: str | None = None
    tick_s: float = 0.05
    duration_s: float | None = None  # stop after this long (wall time)
    token: str | None = None  # required of websocket and CSV clients when set
    max_ws_clients: int = 16
    max_csv_clients: int = 16
    csv_idle_s: float = 60.0  # a CSV connection silent this long is closed
    rcvbuf_bytes: int = 4 << 20  # UDP receive buffer asked for (the kernel may cap it)
    status_every_s: float | None = 10.0  # wall seconds between status lines (None: none)
    friendly_from_tak: bool = False  # read a-f-A positions from the --cot TCP/TLS link


@dataclass
class Counters:
    ws_dropped: int = 0
    cot_dropped: int = 0
    cot_errors: int = 0
    cat062_sent: int = 0
    cat062_errors: int = 0
    ws_refused: int = 0  # websocket handshakes refused (Origin, Host, token, limit)
    csv_refused: int = 0  # CSV connections closed (HTTP, token, limit, idle)
    udp_errors: int = 0
    extra: dict = field(default_factory=dict)


def proc_net_udp_drops(inode: int, paths=("/proc/net/udp", "/proc/net/udp6")) -> int | None:
    """The kernel's drop count for the UDP socket with this inode, from ``/proc/net/udp``
    (last column), or None when it cannot be read."""
    for path in paths:
        try:
            with open(path, encoding="ascii") as f:
                next(f, None)  # the header line
                for line in f:
                    cols = line.split()
                    if len(cols) >= 13 and cols[9] == str(inode):
                        return int(cols[-1])
        except (OSError, ValueError):
            continue
    return None


def _token_of(headers, path: str) -> str | None:
    """The token presented, or None (also when a header is repeated)."""
    for name in ("Authorization", webguard.TOKEN_HEADER):
        if len(headers.get_all(name)) > 1:
            return None
    return webguard.presented_token(
        {k.lower(): headers.get(k) for k in ("Authorization", webguard.TOKEN_HEADER)}, path
    )


class UdpIn:
    """CAT048 in: a non-blocking UDP socket read on readiness with ``recvmsg``, so each
    datagram comes with its source address and the kernel's drop count."""

    def __init__(self, server: LiveServer, host: str, port: int, rcvbuf_bytes: int) -> None:
        self.server = server
        family, _, _, _, addr = socket.getaddrinfo(host, port, type=socket.SOCK_DGRAM)[0]
        self.sock = socket.socket(family, socket.SOCK_DGRAM)
        self.sock.setblocking(False)
        with contextlib.suppress(OSError):
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf_bytes)
        self.ovfl = False
        if sys.platform == "linux":
            with contextlib.suppress(OSError):
                self.sock.setsockopt(socket.SOL_SOCKET, SO_RXQ_OVFL, 1)
                self.ovfl = True
        self.sock.bind(addr)
        self.inode = os.fstat(self.sock.fileno()).st_ino
        self.kernel_dropped = 0
        self.loop: asyncio.AbstractEventLoop | None = None
        self._anc = socket.CMSG_SPACE(4)

    def start(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        loop.add_reader(self.sock.fileno(), self._readable)

    def _readable(self) -> None:
        ingest = self.server.service.ingest
        got = 0
        for _ in range(RECV_PER_WAKE):
            try:
                data, anc, _flags, addr = self.sock.recvmsg(1 << 16, self._anc)
            except (BlockingIOError, InterruptedError):
                break
            except OSError:
                self.server.counters.udp_errors += 1
                break
            for level, kind, value in anc:
                if level == socket.SOL_SOCKET and kind == SO_RXQ_OVFL and len(value) >= 4:
                    self.kernel_dropped = max(
                        self.kernel_dropped, struct.unpack("=I", value[:4])[0]
                    )
            ingest.put_datagram(data, addr)
            got += 1
        if got:
            ingest.kernel_dropped = self.kernel_dropped
            self.server.service.note_input(time.monotonic())

    def stop_reading(self) -> None:
        """At a stop: no more reading on readiness; the datagrams already waiting in the
        socket's buffer are read and counted as received and dropped (``at_exit``), not
        decoded, so every datagram that reached the socket by then is accounted for (for at
        most 1 s: datagrams still arriving after that are not the service's any more)."""
        if self.loop is not None:
            with contextlib.suppress(Exception):
                self.loop.remove_reader(self.sock.fileno())
        ingest = self.server.service.ingest
        n = 0
        end = time.monotonic() + 1.0  # a sender still flooding: what comes later is not ours
        while time.monotonic() < end:
            try:
                self.sock.recv(1 << 16)
            except (BlockingIOError, InterruptedError):
                break
            except OSError:
                self.server.counters.udp_errors += 1
                break
            n += 1
        if n:
            ingest.received["datagrams"] += n
            ingest.drop("at_exit", f"{n} datagrams waiting in the socket at the stop", n)

    def poll_kernel(self) -> int:
        """The kernel's drop count now (also drops after the last datagram read)."""
        n = proc_net_udp_drops(self.inode)
        if n is not None:
            self.kernel_dropped = max(self.kernel_dropped, n)
        self.server.service.ingest.kernel_dropped = self.kernel_dropped
        return self.kernel_dropped

    def port(self) -> int:
        return self.sock.getsockname()[1]

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.loop.remove_reader(self.sock.fileno())
        self.sock.close()


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
        self._csv_open = 0
        self._end_of_input = False  # stdin ended: finish everything queued, as a file
        self.udp: UdpIn | None = None
        self._hosts = webguard.trusted_hosts(endpoints.host)

    # --- inputs -----------------------------------------------------------------------

    def _csv_lines(self, source, http: asyncio.Event | None = None):
        """A line splitter feeding the ingest; with ``http``, a line that looks like HTTP
        sets it, and it and every line after it on the connection are ignored."""
        ingest = self.service.ingest

        def on_line(line: bytes) -> None:
            if http is not None and (http.is_set() or webguard.looks_like_http(line)):
                http.set()
                return
            ingest.put_csv_line(line, source)
            self.service.note_input(time.monotonic())

        def on_oversized(n: int) -> None:
            ingest.received["lines"] += 1
            ingest.bad.add("oversized_line", f"line of more than {n} bytes")

        return LineSplitter(on_line, on_oversized)

    def _refuse_csv(self, writer, kind: str, detail: str) -> None:
        self.counters.csv_refused += 1
        self.service.ingest.bad.add(kind, detail)
        writer.close()

    async def _csv_token(self, reader: asyncio.StreamReader) -> bool:
        """With a token set, the connection's first line must be ``token TOKEN``."""
        try:
            first = await asyncio.wait_for(reader.readline(), self.ep.csv_idle_s)
        except (TimeoutError, ValueError, ConnectionError, OSError):
            return False
        word, _, given = first.strip().partition(b" ")
        return word == b"token" and webguard.token_matches(
            given.decode("utf-8", "replace"), self.ep.token
        )

    async def _csv_client(self, reader: asyncio.StreamReader, writer) -> None:
        """One plot CSV connection: closed on an HTTP request (a browser page posting to
        the port), a missing token (when set), or ``csv_idle_s`` without data."""
        peer = writer.get_extra_info("peername")
        if self._csv_open >= self.ep.max_csv_clients:
            self._refuse_csv(
                writer, "csv_refused", f"more than {self.ep.max_csv_clients} connections"
            )
            return
        self._csv_open += 1
        http = asyncio.Event()
        lines = self._csv_lines(("tcp", peer), http)
        try:
            if self.ep.token is not None and not await self._csv_token(reader):
                self._refuse_csv(writer, "csv_refused", f"connection from {peer} without the token")
                return
            while data := await asyncio.wait_for(reader.read(65536), self.ep.csv_idle_s):
                lines.feed(data)
                if http.is_set():
                    self._refuse_csv(writer, "http_request", f"an HTTP request from {peer}")
                    return
            lines.close()
        except TimeoutError:
            self._refuse_csv(writer, "csv_refused", f"connection from {peer} idle")
        except (ConnectionError, OSError):
            pass
        finally:
            self._csv_open -= 1
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
        self._end_of_input = True
        self._stop.set()

    # --- outputs ----------------------------------------------------------------------

    def _ws_check(self, connection, request):
        """The websocket handshake's checks: Host, Origin, token, client limit; a refused
        handshake gets an HTTP error and never opens."""
        headers = request.headers
        hosts = headers.get_all("Host")
        host = hosts[0] if len(hosts) == 1 else None
        problem = None
        if len(hosts) != 1 or not webguard.host_allowed(host, self._hosts):
            problem = (HTTPStatus.FORBIDDEN, "Host not allowed")
        elif len(headers.get_all("Origin")) > 1 or not webguard.origin_allowed(
            next(iter(headers.get_all("Origin")), None), host
        ):
            problem = (HTTPStatus.FORBIDDEN, "cross-origin websocket refused")
        elif not webguard.token_matches(_token_of(headers, request.path), self.ep.token):
            problem = (HTTPStatus.UNAUTHORIZED, "token required")
        elif self.ws_clients() >= self.ep.max_ws_clients:
            problem = (HTTPStatus.SERVICE_UNAVAILABLE, "too many clients")
        if problem is None:
            return None
        self.counters.ws_refused += 1
        log.warning("websocket refused: %s", problem[1])
        return connection.respond(problem[0], problem[1] + "\n")

    async def _flush_clients(self, limit_s: float = 2.0) -> None:
        """Let the websocket clients' queues empty (at most ``limit_s``) before closing."""
        await asyncio.sleep(0.05)
        end = time.monotonic() + limit_s
        while any(q for q, _ in self._client_queues.values()) and time.monotonic() < end:
            await asyncio.sleep(0.02)

    def ws_clients(self) -> int:
        """Websocket clients connected now."""
        return sum(1 for ws in self._client_queues if ws.state is State.OPEN)

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
            self.udp = UdpIn(self, ep.host, ep.asterix_port, ep.rcvbuf_bytes)
            self.udp.start(loop)
            self._closers.append(self.udp.close)
            self.addresses["asterix"] = f"udp://{ep.host}:{self.udp.port()}"
        if ep.csv_port is not None:
            srv = await asyncio.start_server(self._csv_client, ep.host, ep.csv_port)
            self._closers.append(srv.close)
            port = srv.sockets[0].getsockname()[1]
            self.addresses["csv"] = f"tcp://{ep.host}:{port}"
        if ep.ws_port is not None:
            ws_srv = await serve(
                self._ws_handler,
                ep.host,
                ep.ws_port,
                max_size=1 << 16,
                process_request=self._ws_check,
            )
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
            on_cot = self.service.note_friendly_cot if ep.friendly_from_tak else None
            self._cot = CotLink(ep.cot_url, self.counters, on_cot=on_cot)
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
        t0 = next_poll = time.monotonic()
        every = self.ep.status_every_s
        next_status = t0 + every if every else float("inf")
        while not self._stop.is_set():
            now = time.monotonic()
            if self.udp is not None and now >= next_poll:
                self.udp.poll_kernel()
                next_poll = now + KERNEL_POLL_S
            if now >= next_status:
                log.info(self.service.status_line())
                next_status = now + every
            self._distribute(self.service.step(now))
            if self.ep.duration_s is not None and now - t0 >= self.ep.duration_s:
                break
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), self.ep.tick_s)
        if self.udp is not None:
            self.udp.stop_reading()
            self.udp.poll_kernel()
        out = self.service.finish(None if self._end_of_input else EXIT_BUDGET_S)
        out.events.append(self.service.stats_event())
        self._distribute(out)
        await self._flush_clients()
        for closer in self._closers:
            closer()
        for task in self._tasks:
            task.cancel()


class CotLink:
    """CoT messages out over UDP (one datagram each), or TCP or TLS (reconnecting), as XML or
    TAK protocol version 1, never blocking: a bounded queue drops its oldest message when
    the link cannot keep up. TLS certificates and the protocol come from pytak's
    environment variables (``PYTAK_TLS_*``, ``TAK_PROTO``; docs/interop-cot.md), read once
    by :meth:`interop.tak.Link.from_environment`."""

    def __init__(
        self, url: str, counters: Counters, link: tak.Link | None = None, on_cot=None
    ) -> None:
        self.scheme, self.host, self.port = tak.check_url(url, tak.SEND_SCHEMES)
        self.on_cot = on_cot  # called with the CoT events the server sends us (XML links)
        self.link = link if link is not None else tak.Link.from_environment(url)
        self.counters = counters
        self.q: deque = deque()
        self.ready = asyncio.Event()
        self.transport = None
        self.task = None
        self.frame = lambda msg: msg  # XML as is; a mesh frame for protobuf over UDP

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        if self.scheme == "udp":
            if self.link.protocol == "protobuf":
                from opencram.interop.takproto_codec import mesh_frame, require_takproto

                require_takproto()
                self.frame = mesh_frame
            self.transport, _ = await loop.create_datagram_endpoint(
                lambda: _Out(self.counters), remote_addr=(self.host, self.port)
            )
        else:
            self.task = asyncio.ensure_future(self._stream())

    def send(self, messages: list[bytes]) -> None:
        if self.scheme == "udp" and self.transport is not None:
            for m in messages:
                try:
                    self.transport.sendto(self.frame(m))
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

    async def _stream(self) -> None:
        """Connect (TLS and the protocol agreed by :func:`interop.tak.connect`), write the
        queue as it fills, and reconnect after any failure."""
        while True:
            try:
                conn = await tak.connect(self.link)
            except (OSError, UserError) as exc:
                self.counters.cot_errors += 1
                log.warning("CoT link %s: %s", self.link.url, exc)
                await asyncio.sleep(2.0)
                continue
            reader = None
            if self.on_cot is not None:
                reader = asyncio.ensure_future(self._read(conn.reader))
            try:
                while True:
                    await self.ready.wait()
                    self.ready.clear()
                    while self.q:
                        conn.writer.write(conn.frame(self.q.popleft()))
                    await conn.writer.drain()
            except (ConnectionError, OSError):
                self.counters.cot_errors += 1
                conn.writer.close()
                await asyncio.sleep(1.0)
            finally:
                if reader is not None:
                    reader.cancel()

    async def _read(self, reader) -> None:
        """What the server sends us, as CoT events to ``on_cot`` (its friendly feed); a
        malformed event is skipped, and a buffer without an end of event is bounded."""
        events = tak.XmlEvents()
        while chunk := await reader.read(65536):
            self.on_cot(events.feed(chunk))
            if len(events.buf) > MAX_COT_EVENT_BYTES:
                events.buf = b""

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
