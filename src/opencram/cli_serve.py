"""``opencram serve`` (the live service) and ``opencram replay`` (send an ASTERIX recording
over UDP). See docs/interfaces.md, "Live service"."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Annotated

import typer

from opencram.errors import UserError


def _host_port(text: str, option: str) -> tuple[str, int]:
    host, sep, port = text.removeprefix("udp://").rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise UserError(f"{option} {text}: expected HOST:PORT, e.g. 127.0.0.1:8602")
    return host, int(port)


def _port(value: int, option: str) -> int | None:
    if value < 0:
        return None
    if value > 65535:
        raise UserError(f"{option} {value}: not a port (0 picks a free one, -1 turns it off)")
    return value


def serve(
    sensors: Annotated[Path, typer.Option("--sensors", help="Sensors YAML file.")],
    zones: Annotated[
        str | None,
        typer.Option(
            "--zones",
            help="Scenario YAML or built-in name whose zones, guns and warning and "
            "engagement settings to use.",
        ),
    ] = None,
    host: Annotated[str, typer.Option("--host", help="Address to listen on.")] = "127.0.0.1",
    asterix_port: Annotated[
        int, typer.Option("--asterix-port", help="UDP port for CAT048 (-1: off).")
    ] = 8600,
    csv_port: Annotated[
        int, typer.Option("--csv-port", help="TCP port for plot CSV lines (-1: off).")
    ] = 8601,
    ws_port: Annotated[
        int, typer.Option("--ws-port", help="Websocket port for events (-1: off).")
    ] = 8765,
    stdin: Annotated[
        bool, typer.Option("--stdin", help="Also read plot CSV lines from standard input.")
    ] = False,
    cat062: Annotated[
        str | None, typer.Option("--cat062", help="Send CAT062 system tracks to HOST:PORT (UDP).")
    ] = None,
    cot: Annotated[
        str | None,
        typer.Option("--cot", help="Send Cursor on Target to udp://HOST:PORT or tcp://HOST:PORT."),
    ] = None,
    out_json: Annotated[
        Path | None,
        typer.Option("--out", help="On exit, write every track (as 'opencram track --history')."),
    ] = None,
    sac: Annotated[int, typer.Option("--sac", help="SAC of our radars.", min=0, max=255)] = 0,
    reorder_s: Annotated[
        float, typer.Option("--reorder", help="Seconds plots may arrive out of order.", min=0)
    ] = 0.5,
    idle_s: Annotated[
        float,
        typer.Option("--idle", help="Wall seconds without input before the clock runs on.", min=0),
    ] = 2.0,
    queue_kib: Annotated[
        int, typer.Option("--queue-kib", help="Input queue per sensor (KiB).", min=1)
    ] = 512,
    duration_s: Annotated[
        float | None, typer.Option("--duration", help="Stop after this many seconds.", min=0)
    ] = None,
    simulated: Annotated[
        bool, typer.Option("--simulated", help="Mark CAT062 and CoT output as simulation.")
    ] = False,
    filter_name: Annotated[str, typer.Option("--filter", help="imm, ekf or ckf.")] = "imm",
) -> None:
    """Live service: radar plots in (ASTERIX CAT048 over UDP, plot CSV over TCP or stdin);
    tracks, predictions, warnings and engagement advice out (CAT062, CoT, websocket)."""
    import asyncio
    import logging

    from opencram.fileio import atomic_write_json
    from opencram.interop.tak import check_url
    from opencram.live.server import Endpoints, serve_forever
    from opencram.live.service import LiveService, ServeConfig
    from opencram.sense.plots import read_sensors_yaml

    if filter_name not in ("imm", "ekf", "ckf"):
        raise UserError(f"--filter: must be imm, ekf or ckf, not '{filter_name}'")
    specs = read_sensors_yaml(sensors)
    if len(specs) > 255 - 1:
        raise UserError(f"{sensors}: at most 254 sensors (one SIC each)")
    if cot is not None:
        check_url(cot)
    endpoints = Endpoints(
        host=host,
        asterix_port=_port(asterix_port, "--asterix-port"),
        csv_port=_port(csv_port, "--csv-port"),
        ws_port=_port(ws_port, "--ws-port"),
        stdin=stdin,
        cat062_to=None if cat062 is None else _host_port(cat062, "--cat062"),
        cot_url=cot,
        duration_s=duration_s,
    )
    config = ServeConfig(
        sac=sac,
        reorder_s=reorder_s,
        idle_s=idle_s,
        queue_bytes=queue_kib * 1024,
        keep_history=out_json is not None,
        simulated=simulated,
        filter=filter_name,
    )
    logging.basicConfig(level=logging.INFO, format="opencram serve: %(message)s", stream=sys.stderr)
    logging.getLogger("websockets").setLevel(logging.WARNING)
    service = LiveService(specs, zones_source=zones, config=config)

    def ready(server) -> None:
        where = ", ".join(f"{k} {v}" for k, v in server.addresses.items())
        print(f"opencram serve: ready: {where}", file=sys.stderr, flush=True)

    try:
        server = asyncio.run(serve_forever(service, endpoints, on_ready=ready))
    except OSError as exc:
        raise UserError(f"cannot open a socket on {host}: {exc.strerror or exc}") from None
    if out_json is not None:
        extra = {"input": {"sensors_file": str(sensors), "plots": service.ingest.received["plots"]}}
        atomic_write_json(out_json, service.track_output(extra))
    st = service.ingest.stats()
    bad = sum(st["bad"].values())
    shed = sum(v["entries"] for v in st["shed"].values())
    print(
        f"opencram serve: stopped; {st['received'].get('plots', 0)} plots, {bad} bad inputs, "
        f"{shed} inputs shed, {service.tracker.n_late_dropped} late plots, "
        f"{server.counters.cat062_sent} CAT062 data blocks sent"
        + (f"; wrote {out_json}" if out_json is not None else ""),
        file=sys.stderr,
        flush=True,
    )


def replay(
    recording: Annotated[
        Path, typer.Argument(help="ASTERIX recording (opencram run --export-asterix).")
    ],
    to: Annotated[str, typer.Option("--to", help="HOST:PORT to send the datagrams to (UDP).")] = (
        "127.0.0.1:8600"
    ),
    speed: Annotated[
        float, typer.Option("--speed", help="Replay speed (1 = real time).", min=0.01)
    ] = 1.0,
) -> None:
    """Send an ASTERIX recording's datagrams over UDP, paced by their timestamps."""
    from opencram.interop.asterix import read_recording

    host, port = _host_port(to, "--to")
    entries = read_recording(recording)
    n = send_recording(entries, (host, port), speed)
    print(f"sent {n} datagrams to {host}:{port}", file=sys.stderr)


def send_recording(entries, addr: tuple[str, int], speed: float = 1.0) -> int:
    """Send (timestamp, datagram) entries over UDP, paced by their timestamps / ``speed``."""
    import socket

    if not entries:
        return 0
    t0 = entries[0][0]
    start = time.monotonic()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        for t_s, data in entries:
            wait = (t_s - t0) / speed - (time.monotonic() - start)
            if wait > 0:
                time.sleep(wait)
            sock.sendto(data, addr)
    return len(entries)
