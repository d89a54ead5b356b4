"""Delivering CoT messages to a TAK server or client with pytak.

:func:`send_cot` opens one connection with ``pytak.protocol_factory`` (the transport pytak's
``CLITool`` uses), writes every message through a ``pytak.TXWorker``, flushes, and closes,
all within a time limit. For TCP it then half-closes the connection and waits briefly for
the server to close its side, which tells us that the server has read everything.
"""

from __future__ import annotations

import asyncio
import contextlib
import warnings
from configparser import ConfigParser
from pathlib import Path
from urllib.parse import urlsplit

from opencram.c2.events import ZoneAlert
from opencram.errors import UserError
from opencram.interop.cot import events_to_cot
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


async def _send(messages: list[bytes], url: str, scheme: str) -> None:
    pytak = _pytak()
    section = ConfigParser(interpolation=None)
    if scheme == "udp":  # send only: without +wo pytak would also bind the port to listen
        url = "udp+wo" + url[len("udp") :]
    section["opencram"] = {"COT_URL": url, "TAK_PROTO": "0"}  # plain XML, no protobuf
    config = section["opencram"]
    reader, writer = await pytak.protocol_factory(config)
    tx = pytak.TXWorker(asyncio.Queue(), config, writer)
    try:
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
    scheme, _, _ = check_url(url)
    try:
        asyncio.run(asyncio.wait_for(_send(list(messages), url, scheme), timeout_s))
    except ConnectionRefusedError:
        raise UserError(f"--url {url}: connection refused") from None
    except TimeoutError:
        raise UserError(f"--url {url}: no answer within {timeout_s:g} s") from None
    except OSError as exc:
        raise UserError(f"--url {url}: {exc.strerror or exc}") from None


# --- a run folder -------------------------------------------------------------------------


def run_folder_cot(folder: Path, *, epoch, simulated: bool = True) -> list[bytes]:
    """The CoT messages for a run folder (its events.jsonl and scenario.yaml)."""
    run = RunFolder.open(folder)
    events = run.events()
    rings = run.zone_rings()
    for ev in events:
        if isinstance(ev, ZoneAlert) and ev.zone not in rings:
            raise UserError(f"{run.events_path}: zone '{ev.zone}' is not in {run.scenario_path}")
    return events_to_cot(events, rings, epoch=epoch, simulated=simulated)
