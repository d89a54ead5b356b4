"""``opencram replay``: send an ASTERIX recording's datagrams over UDP, paced by their
timestamps (a stand-in radar for ``opencram serve``). A recording is a pcap or pcapng
capture (``opencram run --export-asterix``, tcpdump, Wireshark), of which the UDP datagrams
to ``--port`` are sent, or an opencram 0.1 recording."""

from __future__ import annotations

import socket
import sys
import time
from pathlib import Path
from typing import Annotated

import typer

from opencram.cli.options import host_port
from opencram.cli.progress import DelayedProgress
from opencram.progress import ProgressReporter


def replay(
    recording: Annotated[
        Path,
        typer.Argument(help="pcap/pcapng capture (opencram run --export-asterix, tcpdump, ...)."),
    ],
    to: Annotated[str, typer.Option("--to", help="HOST:PORT to send the datagrams to (UDP).")] = (
        "127.0.0.1:8600"
    ),
    speed: Annotated[
        float, typer.Option("--speed", help="Replay speed (1 = real time).", min=0.01)
    ] = 1.0,
    port: Annotated[
        int,
        typer.Option(
            "--port", help="Take the capture's UDP datagrams to this port.", min=1, max=65535
        ),
    ] = 8600,
) -> None:
    """Send an ASTERIX recording's datagrams over UDP, paced by their timestamps."""
    from opencram.interop.asterix import load_recording  # deferred: numpy

    host, to_port = host_port(to, "--to")
    rec = load_recording(recording, port)
    print(f"{recording}: {rec.summary}", file=sys.stderr)
    with DelayedProgress() as bar:
        n = send_recording(rec.datagrams, (host, to_port), speed, on_progress=bar)
    print(f"sent {n} datagrams to {host}:{to_port}", file=sys.stderr)


def send_recording(
    entries, addr: tuple[str, int], speed: float = 1.0, on_progress: ProgressReporter | None = None
) -> int:
    """Send (timestamp, datagram) entries over UDP, paced by their timestamps / ``speed``;
    ``on_progress`` hears the recording seconds sent (a progress bar on a long replay)."""
    if not entries:
        return 0
    t0 = entries[0][0]
    span_s = entries[-1][0] - t0
    if on_progress is not None:
        on_progress.start("replaying (recording s)", span_s)
    start = time.monotonic()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        for t_s, data in entries:
            wait = (t_s - t0) / speed - (time.monotonic() - start)
            if wait > 0:
                time.sleep(wait)
            sock.sendto(data, addr)
            if on_progress is not None:
                on_progress.update(t_s - t0)
    if on_progress is not None:
        on_progress.finish()
    return len(entries)
