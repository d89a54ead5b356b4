"""Delivering CoT messages to a TAK server or client with pytak.

:func:`send_cot` opens one connection with ``pytak.protocol_factory`` (the transport pytak's
``CLITool`` uses), writes every message through a ``pytak.TXWorker``, flushes, and closes,
all within a time limit. For TCP it then half-closes the connection and waits briefly for
the server to close its side, which tells us that the server has read everything.

:func:`send_run` sends a run folder the same way, paced in real time (or ``speed`` times
faster, or all at once with ``burst``) and stamped from the wall clock at emission unless
an ``epoch`` is given. The clock and the sleep are injected (:class:`SystemClock`), so the
pacing is tested without waiting.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import warnings
from collections.abc import Awaitable, Callable, Sequence
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

SCHEMES = ("tcp", "udp")
DEFAULT_URL = "tcp://127.0.0.1:8087"
# After the last byte, wait at most this long for the server to close its side.
CLOSE_WAIT_S = 2.0


def _pytak():
    # pytak warns at import about optional extras (TLS, HTTP) that plain TCP/UDP don't need.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import pytak  # deferred: heavy (~0.1 s) and warns at import
    return pytak


def check_url(url: str) -> tuple[str, str, int]:
    """``scheme://host:port`` checked: (scheme, host, port), or a ``UserError``."""
    parts = urlsplit(url)
    if parts.scheme not in SCHEMES:
        raise UserError(f"--url {url}: use tcp://HOST:PORT or udp://HOST:PORT")
    try:
        port = parts.port
    except ValueError:
        port = None
    if not parts.hostname or port is None or port == 0:
        raise UserError(f"--url {url}: needs a host and a port, e.g. {DEFAULT_URL}")
    return parts.scheme, parts.hostname, port


Produce = Callable[[Callable[[bytes], Awaitable[None]]], Awaitable[None]]


async def _send(messages: list[bytes] | Produce, url: str, scheme: str) -> None:
    """Open ``url``, write the messages (a list, or a coroutine function that is handed
    the send function and writes them itself), flush and close."""
    pytak = _pytak()
    section = ConfigParser(interpolation=None)
    if scheme == "udp":  # send only: without +wo pytak would also bind the port to listen
        url = "udp+wo" + url[len("udp") :]
    section["opencram"] = {"COT_URL": url, "TAK_PROTO": "0"}  # plain XML, no protobuf
    config = section["opencram"]
    reader, writer = await pytak.protocol_factory(config)
    tx = pytak.TXWorker(asyncio.Queue(), config, writer)
    try:
        if callable(messages):
            await messages(tx.send_data)
        else:
            for msg in messages:
                await tx.send_data(msg)
        if scheme == "tcp":
            await writer.drain()
            if writer.can_write_eof():
                writer.write_eof()
                # The server closes its side once it has read up to our end of stream.
                with contextlib.suppress(TimeoutError, ConnectionError):
                    await asyncio.wait_for(_read_to_eof(reader), CLOSE_WAIT_S)
    finally:
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


def send_cot(messages: list[bytes], url: str = DEFAULT_URL, *, timeout_s: float = 10.0) -> None:
    """Send CoT messages to ``url`` (``tcp://HOST:PORT`` or ``udp://HOST:PORT``) in order,
    flush, and close; the whole exchange is bounded by ``timeout_s``. A connection that
    is refused, fails or times out raises :class:`~opencram.errors.UserError`."""
    _run_bounded(list(messages), url, timeout_s)


def _run_bounded(messages: list[bytes] | Produce, url: str, timeout_s: float) -> None:
    scheme, _, _ = check_url(url)
    try:
        asyncio.run(asyncio.wait_for(_send(messages, url, scheme), timeout_s))
    except ConnectionRefusedError:
        raise UserError(f"--url {url}: connection refused") from None
    except TimeoutError:
        raise UserError(f"--url {url}: no answer within {timeout_s:g} s") from None
    except OSError as exc:
        raise UserError(f"--url {url}: {exc.strerror or exc}") from None


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
    url: str = DEFAULT_URL,
    pacing: Pacing | None = None,
    *,
    clock: Clock | None = None,
    timeout_s: float = 10.0,
) -> list[bytes]:
    """Send a run folder's CoT to ``url``, paced (:func:`emit_paced`). The exchange is
    bounded by ``timeout_s`` plus the paced duration. Returns the messages sent."""
    pacing = pacing or Pacing()
    clock = clock or SystemClock()
    check_url(url)
    events, rings = run_folder_events(folder)
    sent: list[bytes] = []

    async def produce(send: Callable[[bytes], Awaitable[None]]) -> None:
        sent.extend(await emit_paced(events, rings, send, pacing, clock))

    paced_s = 0.0 if pacing.burst else run_span_s(events) / pacing.speed
    _run_bounded(produce, url, timeout_s + paced_s)
    return sent
