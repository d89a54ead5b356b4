"""Delivering CoT messages to a TAK server or client with pytak.

:func:`send_cot` opens one connection with ``pytak.protocol_factory`` (the transport pytak's
``CLITool`` uses), writes every message through a ``pytak.TXWorker``, flushes, and closes,
all within a time limit. For TCP it then half-closes the connection and waits briefly for
the server to close its side, which tells us that the server has read everything; for
TLS (``tls://``, a client certificate given with pytak's ``PYTAK_TLS_*`` settings, see
:class:`TlsFiles`) it listens briefly for the server's refusal of our certificate. With
``protocol="protobuf"`` (:class:`Link`) each message goes as TAK protocol version 1
(:mod:`opencram.interop.takproto_codec`), on a stream only after the server has agreed
(:func:`negotiate`).

:func:`send_run` sends a run folder the same way, paced in real time (or ``speed`` times
faster, or all at once with ``burst``) and stamped from the wall clock at emission unless
an ``epoch`` is given. The clock and the sleep are injected (:class:`SystemClock`), so the
pacing is tested without waiting.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import ssl
import time
import warnings
import xml.etree.ElementTree as ET
from collections.abc import Awaitable, Callable, Mapping, Sequence
from configparser import ConfigParser
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol
from urllib.parse import urlsplit

from opencram.c2.events import Event, ZoneAlert
from opencram.errors import UserError
from opencram.interop.cot import COT_EVENT_KINDS, Ring, event_cot, events_to_cot
from opencram.runs import RunFolder

# What the live service's CotLink opens itself (plain TCP or UDP); ``tak send`` and
# send_cot/send_run also speak TLS through pytak.
SCHEMES = ("tcp", "udp")
SEND_SCHEMES = ("tcp", "udp", "tls")
PROTOCOLS = ("xml", "protobuf")
DEFAULT_URL = "tcp://127.0.0.1:8087"
# After the last byte, wait at most this long for the server to close its side.
CLOSE_WAIT_S = 2.0
# Over TLS there is no half-close (no TLS end of stream before close_notify): we listen
# this long after the last byte, which is when a server that rejects our certificate
# (a TLS 1.3 server checks it after our handshake has ended) tells us so.
TLS_SETTLE_S = 0.5
# How long to wait for each step of the TAK protocol negotiation (protocol.txt says a
# client waits at least a minute for the response; a server sends its offer at once).
NEGOTIATE_S = 5.0

# pytak's TLS settings (pytak.constants.DEFAULT_TLS_PARAMS_OPT), which pytak's own command
# line reads from the environment, and TAK_PROTO (0 = XML, 1 = TAK protocol version 1).
ENV_CERT = "PYTAK_TLS_CLIENT_CERT"
ENV_KEY = "PYTAK_TLS_CLIENT_KEY"
ENV_CAFILE = "PYTAK_TLS_CLIENT_CAFILE"
ENV_PASSWORD = "PYTAK_TLS_CLIENT_PASSWORD"
ENV_DONT_VERIFY = "PYTAK_TLS_DONT_VERIFY"
ENV_DONT_CHECK_HOSTNAME = "PYTAK_TLS_DONT_CHECK_HOSTNAME"
ENV_TAK_PROTO = "TAK_PROTO"
_TRUE = ("1", "true", "yes", "y", "on")  # pytak.constants.BOOLEAN_TRUTH


def _pytak():
    # pytak warns at import about optional extras (TLS, HTTP) that plain TCP/UDP don't need.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import pytak  # deferred: heavy (~0.1 s) and warns at import
    return pytak


def check_url(url: str, schemes: Sequence[str] = SCHEMES) -> tuple[str, str, int]:
    """``scheme://host:port`` checked: (scheme, host, port), or a ``UserError``."""
    parts = urlsplit(url)
    if parts.scheme not in schemes:
        forms = [f"{s}://HOST:PORT" for s in schemes]
        raise UserError(f"--url {url}: use {', '.join(forms[:-1])} or {forms[-1]}")
    try:
        port = parts.port
    except ValueError:
        port = None
    if not parts.hostname or port is None or port == 0:
        raise UserError(f"--url {url}: needs a host and a port, e.g. {DEFAULT_URL}")
    return parts.scheme, parts.hostname, port


# --- settings: TLS files and the TAK protocol ------------------------------------------


@dataclass(frozen=True)
class TlsFiles:
    """A client certificate (PEM, or PKCS#12 ``.p12``), its key (PEM; default: the
    certificate file), the CA file that signed the server's certificate (default: the
    system's), the key or ``.p12`` password, and the two checks pytak can turn off.
    ``names`` says where each came from (an option or an environment variable), for
    error messages."""

    cert: str | None = None
    key: str | None = None
    cafile: str | None = None
    password: str | None = None
    dont_verify: bool = False
    dont_check_hostname: bool = False
    names: tuple[tuple[str, str], ...] = ()

    def name(self, field: str) -> str:
        return dict(self.names).get(field, f"--tls-{field}")

    def pytak_settings(self) -> dict[str, str]:
        """pytak's PYTAK_TLS_* settings, after checking that every file can be read."""
        if not self.cert:
            raise UserError(
                "tls://: needs a client certificate: --tls-cert FILE "
                f"(or the environment variable {ENV_CERT})"
            )
        _check_readable(self.cert, self.name("cert"))
        key = self.key
        if key:
            _check_readable(key, self.name("key"))
        elif not self.cert.lower().endswith(".p12"):
            key = self.cert  # a PEM file holding the certificate and its key
        if self.cafile:
            _check_readable(self.cafile, self.name("cafile"))
        settings = {ENV_CERT: self.cert}
        optional = {ENV_KEY: key, ENV_CAFILE: self.cafile, ENV_PASSWORD: self.password}
        settings.update({k: v for k, v in optional.items() if v})
        if self.dont_verify:
            settings[ENV_DONT_VERIFY] = "1"
        if self.dont_check_hostname:
            settings[ENV_DONT_CHECK_HOSTNAME] = "1"
        return settings


def _check_readable(path: str, name: str) -> None:
    p = Path(path)
    if not p.is_file():
        raise UserError(f"{name} {path}: no such file")
    try:
        with p.open("rb") as f:
            f.read(1)
    except OSError as exc:
        raise UserError(f"{name} {path}: cannot read it ({exc.strerror or exc})") from None


def tls_files(
    *,
    cert: str | None = None,
    key: str | None = None,
    cafile: str | None = None,
    password: str | None = None,
    insecure: bool = False,
    env: Mapping[str, str] | None = None,
) -> TlsFiles:
    """The TLS files from command-line options, each falling back to pytak's environment
    variable (``PYTAK_TLS_CLIENT_CERT`` and so on)."""
    env = os.environ if env is None else env
    names = []
    values = {}
    for field, value, option, var in (
        ("cert", cert, "--tls-cert", ENV_CERT),
        ("key", key, "--tls-key", ENV_KEY),
        ("cafile", cafile, "--tls-ca", ENV_CAFILE),
        ("password", password, "--tls-password", ENV_PASSWORD),
    ):
        values[field] = value or env.get(var) or None
        names.append((field, option if value else var))
    return TlsFiles(
        **values,
        dont_verify=insecure or env.get(ENV_DONT_VERIFY, "").lower() in _TRUE,
        dont_check_hostname=env.get(ENV_DONT_CHECK_HOSTNAME, "").lower() in _TRUE,
        names=tuple(names),
    )


def protocol_setting(protocol: str | None = None, env: Mapping[str, str] | None = None) -> str:
    """``xml`` or ``protobuf``: the option if given, else from pytak's ``TAK_PROTO``
    (0 = XML, 1 = TAK protocol version 1), else ``xml``."""
    if protocol is not None:
        if protocol not in PROTOCOLS:
            raise UserError(f"--protocol {protocol}: use xml or protobuf")
        return protocol
    env = os.environ if env is None else env
    value = env.get(ENV_TAK_PROTO, "0").strip() or "0"
    if value not in ("0", "1"):
        raise UserError(f"{ENV_TAK_PROTO}={value}: use 0 (XML) or 1 (TAK protocol version 1)")
    return "protobuf" if value == "1" else "xml"


@dataclass(frozen=True)
class Link:
    """Where and how CoT goes: the URL (``tcp://``, ``udp://`` or ``tls://``), the
    encoding (``xml``, or ``protobuf`` for TAK protocol version 1) and, for ``tls://``,
    the certificate files."""

    url: str = DEFAULT_URL
    protocol: str = "xml"
    tls: TlsFiles | None = None
    negotiate_s: float = NEGOTIATE_S

    @classmethod
    def from_environment(cls, url: str, env: Mapping[str, str] | None = None) -> Link:
        """The link for ``url`` with the protocol (``TAK_PROTO``) and TLS files
        (``PYTAK_TLS_*``) from pytak's environment variables: what a sender without
        options of its own (a service) uses."""
        return cls(url, protocol=protocol_setting(env=env), tls=tls_files(env=env))

    def pytak_config(self):
        """The pytak configuration section: COT_URL, TAK_PROTO=0 (we frame protobuf
        ourselves) and the PYTAK_TLS_* settings for tls://."""
        scheme, _, _ = check_url(self.url, SEND_SCHEMES)
        url = self.url
        if scheme == "udp":  # send only: without +wo pytak would also bind the port to listen
            url = "udp+wo" + url[len("udp") :]
        settings = {"COT_URL": url, "TAK_PROTO": "0"}
        if scheme == "tls":
            settings.update((self.tls or tls_files()).pytak_settings())
        section = ConfigParser(interpolation=None)
        section["opencram"] = settings
        return section["opencram"]


# --- sending ------------------------------------------------------------------------------


Produce = Callable[[Callable[[bytes], Awaitable[None]]], Awaitable[None]]


async def _open(link: Link, config):
    """pytak's transport for the link, with pytak's TLS failures as ``UserError``s."""
    pytak = _pytak()
    try:
        with warnings.catch_warnings():  # pytak warns when a TLS check is turned off
            warnings.simplefilter("ignore")
            return await pytak.protocol_factory(config)
    except SyntaxError as exc:  # pytak: settings missing, or the server's cert refused
        cause = exc.__cause__
        if isinstance(cause, ssl.SSLCertVerificationError):
            raise UserError(
                f"--url {link.url}: the server's certificate was not accepted "
                f"({cause.verify_message}); give the CA that signed it with --tls-ca "
                f"({ENV_CAFILE})"
            ) from None
        raise UserError(f"--url {link.url}: {exc}") from None
    except ValueError:  # pytak: the certificate or key could not be loaded
        if not link.url.startswith("tls:"):
            raise
        tls = link.tls or tls_files()
        raise UserError(
            f"{tls.name('cert')} {tls.cert}: could not load the certificate and its key "
            "(a PEM certificate needs its key in the same file or in --tls-key; a .p12 "
            "needs --tls-password and the cryptography package)"
        ) from None


async def _framer(link: Link, scheme: str, reader, writer) -> Callable[[bytes], bytes]:
    """How each XML message goes on the wire: as is, as a TAK protocol mesh message (UDP)
    or, once the server has agreed to version 1, as a stream message."""
    if link.protocol != "protobuf":
        return lambda msg: msg
    from opencram.interop import takproto_codec as codec

    if scheme == "udp":
        return codec.mesh_frame
    await negotiate(reader, writer, link.url, link.negotiate_s)
    return codec.stream_frame


@dataclass(frozen=True)
class Connection:
    """An open link: pytak's reader and writer, the scheme, and ``frame``, which turns
    one XML message into the bytes to write (itself, or a TAK protocol message)."""

    reader: object
    writer: object
    scheme: str
    frame: Callable[[bytes], bytes]


async def connect(link: Link) -> Connection:
    """Open ``link`` with pytak (TLS with its settings), and for ``protobuf`` on a stream
    agree on TAK protocol version 1 with the server first. Errors are ``UserError``s or
    ``OSError``s (see :func:`send_cot` for how those read)."""
    scheme, _, _ = check_url(link.url, SEND_SCHEMES)
    config = link.pytak_config()
    if link.protocol == "protobuf":
        from opencram.interop.takproto_codec import require_takproto

        require_takproto()  # before connecting
    reader, writer = await _open(link, config)
    try:
        frame = await _framer(link, scheme, reader, writer)
    except BaseException:
        await _close(writer)
        raise
    return Connection(reader, writer, scheme, frame)


async def _send(messages: list[bytes] | Produce, link: Link) -> None:
    """Open the link, write the messages (a list, or a coroutine function that is handed
    the send function and writes them itself), flush and close."""
    conn = await connect(link)
    try:
        tx = _pytak().TXWorker(asyncio.Queue(), link.pytak_config(), conn.writer)

        async def send(msg: bytes) -> None:
            await tx.send_data(conn.frame(msg))

        if callable(messages):
            await messages(send)
        else:
            for msg in messages:
                await send(msg)
        await _finish(conn.scheme, conn.reader, conn.writer)
    finally:
        await _close(conn.writer)


async def _finish(scheme: str, reader, writer) -> None:
    if scheme == "tcp":
        await writer.drain()
        if writer.can_write_eof():
            writer.write_eof()
            # The server closes its side once it has read up to our end of stream.
            with contextlib.suppress(TimeoutError, ConnectionError):
                await asyncio.wait_for(_read_to_eof(reader), CLOSE_WAIT_S)
    elif scheme == "tls":
        await writer.drain()
        # A refusal of our certificate arrives as a TLS alert (ssl.SSLError) here.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(_read_to_eof(reader), TLS_SETTLE_S)


async def _close(writer) -> None:
    close = getattr(writer, "close", None)
    if close is not None:
        close()
    wait_closed = getattr(writer, "wait_closed", None)
    if wait_closed is not None:
        with contextlib.suppress(OSError):
            await wait_closed()


async def _read_to_eof(reader) -> None:
    while await reader.read(65536):
        pass


# --- TAK protocol negotiation on a stream ------------------------------------------------


class XmlEvents:
    """CoT ``<event>`` elements from a byte stream of back-to-back events (each perhaps
    after an ``<?xml ...?>`` declaration), as a TAK server sends them."""

    END = b"</event>"

    def __init__(self) -> None:
        self.buf = b""

    def feed(self, data: bytes) -> list[ET.Element]:
        self.buf += data
        out = []
        while (end := self.buf.find(self.END)) >= 0:
            piece, self.buf = self.buf[: end + len(self.END)], self.buf[end + len(self.END) :]
            start = piece.find(b"<event")
            if start < 0:
                continue
            with contextlib.suppress(ET.ParseError):
                out.append(ET.fromstring(piece[start:]))
        return out


async def _next_event(reader, events: XmlEvents, want: Callable[[ET.Element], bool]):
    """The next event from the server that ``want`` accepts; None at end of stream."""
    while True:
        chunk = await reader.read(65536)
        if not chunk:
            return None
        for ev in events.feed(chunk):
            if want(ev):
                return ev


async def negotiate(reader, writer, url: str, timeout_s: float = NEGOTIATE_S) -> None:
    """Agree on TAK protocol version 1 with a server (protocol.txt, "Streaming Connection
    Protocol Negotiation"): wait for its ``t-x-takp-v`` offer, send the ``t-x-takp-q``
    request, wait for a ``t-x-takp-r`` with ``status="true"``. A server that offers
    nothing (XML only), or refuses, is a ``UserError``."""
    from opencram.interop import takproto_codec as codec

    events = XmlEvents()
    try:
        offer = await asyncio.wait_for(
            _next_event(reader, events, lambda e: e.get("type") == codec.TYPE_OFFER), timeout_s
        )
    except TimeoutError:
        offer = None
    if offer is None:
        raise UserError(
            f"--url {url}: the server offered no TAK protocol (no {codec.TYPE_OFFER} within "
            f"{timeout_s:g} s), so it takes only XML: use --protocol xml"
        )
    if codec.VERSION not in codec.offered_versions(offer):
        got = ", ".join(str(v) for v in sorted(codec.offered_versions(offer))) or "none"
        raise UserError(f"--url {url}: the server offers TAK protocol versions {got}, not 1")
    writer.write(codec.protocol_request(offer.get("uid", "protouid"), _utc_now()))
    await writer.drain()
    try:
        resp = await asyncio.wait_for(
            _next_event(reader, events, lambda e: codec.response_accepted(e) is not None),
            timeout_s,
        )
    except TimeoutError:
        resp = None
    if resp is None or not codec.response_accepted(resp):
        raise UserError(f"--url {url}: the server did not accept TAK protocol version 1")


def send_cot(
    messages: list[bytes], url: str | Link = DEFAULT_URL, *, timeout_s: float = 10.0
) -> None:
    """Send CoT messages to ``url`` (``tcp://HOST:PORT``, ``udp://HOST:PORT``, or a
    :class:`Link` for ``tls://`` and TAK protocol version 1) in order, flush, and close;
    the whole exchange is bounded by ``timeout_s``. A connection that is refused, fails or
    times out raises :class:`~opencram.errors.UserError`."""
    _run_bounded(list(messages), _as_link(url), timeout_s)


def _as_link(url: str | Link) -> Link:
    return url if isinstance(url, Link) else Link(url)


def _run_bounded(messages: list[bytes] | Produce, link: Link, timeout_s: float) -> None:
    check_url(link.url, SEND_SCHEMES)
    try:
        asyncio.run(asyncio.wait_for(_send(messages, link), timeout_s))
    except (TimeoutError, OSError) as exc:
        raise _connection_error(exc, link.url, timeout_s) from None


def _connection_error(exc: Exception, url: str, timeout_s: float) -> UserError:
    """A failed connection as one line naming the URL."""
    if isinstance(exc, ConnectionRefusedError):
        return UserError(f"--url {url}: connection refused")
    if isinstance(exc, TimeoutError):
        return UserError(f"--url {url}: no answer within {timeout_s:g} s")
    tls = url.startswith("tls:")
    if isinstance(exc, ssl.SSLError) or (tls and isinstance(exc, ConnectionError)):
        reason = getattr(exc, "reason", None) or exc.strerror or exc
        return UserError(
            f"--url {url}: the server refused the TLS connection or closed it ({reason}); is "
            "the client certificate valid and signed by a CA the server trusts?"
        )
    return UserError(f"--url {url}: {getattr(exc, 'strerror', None) or exc}")


# --- a run folder -------------------------------------------------------------------------


def run_folder_events(folder: Path) -> tuple[list[Event], dict[str, list]]:
    """A run folder's CoT-able events (from events.jsonl) and its zone rings (from
    scenario.yaml); a zone alert for a zone the scenario lacks is a ``UserError``."""
    run = RunFolder.open(folder)
    events = [ev for ev in run.events() if isinstance(ev, COT_EVENT_KINDS)]
    rings = run.zone_rings()
    for ev in events:
        if isinstance(ev, ZoneAlert) and ev.zone not in rings:
            raise UserError(f"{run.events_path}: zone '{ev.zone}' is not in {run.scenario_path}")
    return events, rings


def run_folder_cot(
    folder: Path, *, epoch=None, clock: Callable[[], datetime] | None = None, simulated=True
) -> list[bytes]:
    """The CoT messages for a run folder, all at once: stamped from ``epoch`` (scenario
    time 0), or from ``clock`` (default the wall clock) when ``epoch`` is None."""
    events, rings = run_folder_events(folder)
    if epoch is not None:
        return events_to_cot(events, rings, epoch=epoch, simulated=simulated)
    return events_to_cot(events, rings, clock=clock or _utc_now, simulated=simulated)


# --- pacing -------------------------------------------------------------------------------


def _utc_now() -> datetime:
    return datetime.now(UTC)


class Clock(Protocol):
    def monotonic(self) -> float: ...
    def now(self) -> datetime: ...
    async def sleep(self, seconds: float) -> None: ...


class SystemClock:
    """The real clocks: ``time.monotonic`` for pacing, UTC wall time for stamps."""

    def monotonic(self) -> float:
        return time.monotonic()

    def now(self) -> datetime:
        return _utc_now()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


@dataclass(frozen=True)
class Pacing:
    """How a run is sent: ``speed`` times real time (2 = twice as fast), or all at once
    with ``burst``; stamped from ``epoch`` (scenario time 0), or from the clock's now at
    emission when ``epoch`` is None."""

    speed: float = 1.0
    burst: bool = False
    epoch: datetime | None = None

    def __post_init__(self) -> None:
        if not self.speed > 0:
            raise UserError(f"--speed {self.speed:g}: must be greater than 0")


def run_span_s(events: Sequence[Event]) -> float:
    """Data time from the first to the last event, seconds."""
    return events[-1].t_s - events[0].t_s if events else 0.0


async def emit_paced(
    events: Sequence[Event],
    zone_rings: dict[str, Ring | Sequence[Ring]],
    send: Callable[[bytes], Awaitable[None]],
    pacing: Pacing,
    clock: Clock,
    *,
    simulated: bool = True,
) -> list[bytes]:
    """Send each event's CoT messages through ``send``: an event of data time ``t_s`` goes
    ``(t_s - t_first) / speed`` seconds after the first (at once with ``burst``), stamped
    as :class:`Pacing` says. Returns the messages sent, in order."""
    sent: list[bytes] = []
    if not events:
        return sent
    t_first, start = events[0].t_s, clock.monotonic()
    for ev in events:
        if not pacing.burst:
            wait_s = start + (ev.t_s - t_first) / pacing.speed - clock.monotonic()
            if wait_s > 0:
                await clock.sleep(wait_s)
        if pacing.epoch is None:
            msgs = event_cot(ev, zone_rings, clock=clock.now, simulated=simulated)
        else:
            msgs = event_cot(ev, zone_rings, epoch=pacing.epoch, simulated=simulated)
        for msg in msgs:
            await send(msg)
        sent += msgs
    return sent


def send_run(
    folder: Path,
    url: str | Link = DEFAULT_URL,
    pacing: Pacing | None = None,
    *,
    clock: Clock | None = None,
    timeout_s: float = 10.0,
) -> list[bytes]:
    """Send a run folder's CoT to ``url`` (a URL or a :class:`Link`), paced
    (:func:`emit_paced`). The exchange is bounded by ``timeout_s`` plus the paced duration.
    Returns the messages sent (as XML, whatever the link's encoding)."""
    pacing = pacing or Pacing()
    clock = clock or SystemClock()
    link = _as_link(url)
    check_url(link.url, SEND_SCHEMES)
    events, rings = run_folder_events(folder)
    sent: list[bytes] = []

    async def produce(send: Callable[[bytes], Awaitable[None]]) -> None:
        sent.extend(await emit_paced(events, rings, send, pacing, clock))

    paced_s = 0.0 if pacing.burst else run_span_s(events) / pacing.speed
    _run_bounded(produce, link, timeout_s + paced_s)
    return sent
