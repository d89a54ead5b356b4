"""A capture as a radar feed of the live service (``opencram serve --pcap FILE``).

The capture (pcap or pcapng from tcpdump or Wireshark, an ``--export-asterix`` recording,
or an opencram 0.1 recording) is read before the service starts, so a bad file stops the
command with one line. Its UDP datagrams to the chosen port then go into the service
exactly as received ones do (``Ingest.put_datagram``), at the capture's own timing divided
by ``speed``; when the last one is in, the service finishes (as at the end of ``--stdin``):
everything queued is tracked and published, and ``--out`` is written.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from pathlib import Path

from opencram.interop.asterix import Recording, load_recording

log = logging.getLogger("opencram.live")

PCAP_PORT = 8600  # the UDP port whose datagrams are taken (Wireshark's ASTERIX default)
_RUNNING: set[asyncio.Task] = set()  # the event loop keeps only weak references to tasks


def load_capture(path: str | Path, port: int = PCAP_PORT) -> Recording:
    """The capture's datagrams to ``port`` (a :class:`UserError` for a bad file)."""
    return load_recording(path, port)


def pacing(timestamps: list[float], speed: float) -> list[float]:
    """Seconds from the start at which to feed each datagram: the capture's time since its
    first packet divided by ``speed``; never earlier than the datagram before (a capture
    over several interfaces may step back a little) and 0 for a packet without a time."""
    out = []
    t0 = next((t for t in timestamps if math.isfinite(t)), 0.0)
    last = 0.0
    for t in timestamps:
        due = (t - t0) / speed if math.isfinite(t) else last
        last = max(last, due)
        out.append(last)
    return out


async def feed(server, recording: Recording, speed: float = 1.0) -> int:
    """Put the recording's datagrams into ``server``'s service at their pacing, then ask
    the server to stop; returns the number fed."""
    service = server.service
    due = pacing([t for t, _ in recording.datagrams], speed)
    start = time.monotonic()
    for (_, data), at in zip(recording.datagrams, due, strict=True):
        wait = at - (time.monotonic() - start)
        # yield to the service's steps between datagrams even when they are overdue
        await asyncio.sleep(max(wait, 0.0))
        service.ingest.put_datagram(data)
        service.note_input(time.monotonic())
    log.info("end of the capture: %d datagrams fed", len(recording.datagrams))
    server.request_stop()
    return len(recording.datagrams)


def start_feed(server, recording: Recording, speed: float = 1.0) -> asyncio.Task:
    """Start :func:`feed` on the running event loop (from the server's ready callback)."""
    task = asyncio.ensure_future(feed(server, recording, speed))
    _RUNNING.add(task)
    task.add_done_callback(_RUNNING.discard)
    return task
