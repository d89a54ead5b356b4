"""``opencram serve``: the live service. See docs/interfaces.md, "Live service"."""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Annotated

import typer

from opencram.cli.options import check_filter, host_port
from opencram.errors import UserError
from opencram.fileio import atomic_write_json, read_user_text


def port_or_off(value: int, option: str) -> int | None:
    """A port option: None for -1 (off), 0 for a free port, else the port."""
    if value < 0:
        return None
    if value > 65535:
        raise UserError(f"{option} {value}: not a port (0 picks a free one, -1 turns it off)")
    return value


def parse_sources(values: list[str] | None, sensor_ids: list[str]) -> dict[str, str]:
    """``--source SENSOR=ADDRESS`` options as {sensor id: address}."""
    out: dict[str, str] = {}
    for v in values or []:
        sid, sep, addr = v.partition("=")
        if not sep or not addr.strip():
            raise UserError(f"--source {v!r}: expected SENSOR=ADDRESS (e.g. r1=10.0.0.5)")
        if sid not in sensor_ids:
            raise UserError(f"--source {v!r}: no sensor '{sid}' in the sensors file")
        if sid in out:
            raise UserError(f"--source {v!r}: sensor '{sid}' given twice")
        out[sid] = addr.strip().strip("[]")
    return out


def resolve_token(host: str, token: str | None) -> str | None:
    """The token to require: the one given, or a fresh one off loopback."""
    import secrets

    from opencram.live.webguard import MIN_TOKEN_CHARS, is_loopback

    if token is not None:
        if len(token) < MIN_TOKEN_CHARS or any(c.isspace() for c in token):
            raise UserError(f"--token: at least {MIN_TOKEN_CHARS} characters, no spaces")
        return token
    return None if is_loopback(host) else secrets.token_urlsafe(18)


def friendly_codes(codes: list[str] | None, codes_file: Path | None) -> frozenset[int]:
    """``--friendly-codes`` (comma-separated, repeatable) and ``--friendly-codes-file``
    (codes separated by commas, spaces or lines; ``#`` comments) as code values; a bad
    code is a one-line error naming the option or the file and line."""
    from opencram.track.identity import parse_code_list  # deferred: numpy, shapely

    out: set[int] = set()
    for v in codes or []:
        try:
            out |= parse_code_list(v, f"--friendly-codes {v}")
        except ValueError as exc:
            raise UserError(str(exc)) from None
    if codes_file is not None:
        text = read_user_text(codes_file)
        for n, line in enumerate(text.splitlines(), start=1):
            try:
                out |= parse_code_list(line, f"{codes_file}:{n}")
            except ValueError as exc:
                raise UserError(str(exc)) from None
    return frozenset(out)


def check_friendly_from_tak(cot: str | None, link) -> None:
    """``--friendly-from-tak`` reads the ``--cot`` link (``link``, its settings): it needs
    a TCP or TLS link carrying XML."""
    if cot is None or link is None or not cot.startswith(("tcp://", "tls://")):
        raise UserError("--friendly-from-tak: needs --cot tcp://HOST:PORT or tls://HOST:PORT")
    if link.protocol == "protobuf":
        raise UserError("--friendly-from-tak: reads XML CoT; unset TAK_PROTO for this link")


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
        int,
        typer.Option(
            "--ws-port", help="Websocket port for events (-1: off; the console uses 8765)."
        ),
    ] = 8602,
    stdin: Annotated[
        bool, typer.Option("--stdin", help="Also read plot CSV lines from standard input.")
    ] = False,
    cat062: Annotated[
        str | None, typer.Option("--cat062", help="Send CAT062 system tracks to HOST:PORT (UDP).")
    ] = None,
    cot: Annotated[
        str | None,
        typer.Option(
            "--cot",
            help="Send Cursor on Target to udp://, tcp:// or tls://HOST:PORT (TLS files and "
            "TAK protocol from pytak's PYTAK_TLS_* and TAK_PROTO variables).",
        ),
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
    status_every_s: Annotated[
        float,
        typer.Option(
            "--status-every",
            help="Seconds between status lines on standard error (plots in, tracks, drops; "
            "0: none).",
            min=0,
        ),
    ] = 10.0,
    simulated: Annotated[
        bool, typer.Option("--simulated", help="Mark CAT062 and CoT output as simulation.")
    ] = False,
    filter_name: Annotated[str, typer.Option("--filter", help="imm, ekf or ckf.")] = "imm",
    pcap: Annotated[
        Path | None,
        typer.Option("--pcap", help="Feed a pcap/pcapng capture's ASTERIX in; stop at its end."),
    ] = None,
    pcap_port: Annotated[
        int, typer.Option("--pcap-port", help="UDP port to take from --pcap.", min=1, max=65535)
    ] = 8600,
    pcap_speed: Annotated[
        float, typer.Option("--pcap-speed", help="--pcap speed (1 = capture timing).", min=0.01)
    ] = 1.0,
    scan_budget: Annotated[
        int,
        typer.Option(
            "--scan-budget",
            help="Plots per radar per revisit time passed to the tracker (more: dropped, "
            "counted as rate_limit).",
            min=1,
        ),
    ] = 500,
    token: Annotated[
        str | None,
        typer.Option(
            "--token",
            help="Token websocket and CSV clients must present (one is generated off loopback).",
        ),
    ] = None,
    codes: Annotated[
        list[str] | None,
        typer.Option(
            "--friendly-codes",
            help="SSR Mode 3/A codes of friendly aircraft, e.g. 1200,4521 (repeatable): "
            "tracks whose plots carry one are friendly.",
        ),
    ] = None,
    codes_file: Annotated[
        Path | None,
        typer.Option(
            "--friendly-codes-file", help="File of friendly codes (commas, spaces or lines; #)."
        ),
    ] = None,
    friendly_from_tak: Annotated[
        bool,
        typer.Option(
            "--friendly-from-tak",
            help="Take friendly aircraft positions (a-f-A) from the --cot TAK server's feed.",
        ),
    ] = False,
    friendly_gate_m: Annotated[
        float,
        typer.Option("--friendly-gate-m", help="Distance gate around a friendly position.", min=1),
    ] = 500.0,
    friendly_gate_s: Annotated[
        float,
        typer.Option("--friendly-gate-s", help="Data-time gate around a friendly position.", min=0),
    ] = 10.0,
    source: Annotated[
        list[str] | None,
        typer.Option(
            "--source",
            help="SENSOR=ADDRESS: accept that sensor's CAT048 only from this address "
            "(repeatable; otherwise its first good datagram's address).",
        ),
    ] = None,
    registration: Annotated[
        Path | None,
        typer.Option(
            "--registration",
            help="Take these sensor errors out of every plot.",
        ),
    ] = None,
) -> None:
    """Live service: radar plots in (ASTERIX CAT048 over UDP, plot CSV over TCP or stdin);
    tracks, predictions, warnings and engagement advice out (CAT062, CoT, websocket)."""
    import asyncio  # deferred: 40 ms at every start of the command line

    from opencram.interop.tak import SEND_SCHEMES, Link, check_url  # deferred: asyncio
    from opencram.live.server import Endpoints, serve_forever  # deferred: numpy, scipy
    from opencram.live.service import LiveService, ServeConfig  # deferred: numpy, scipy
    from opencram.sense.plots import read_sensors_yaml  # deferred: numpy, pydantic
    from opencram.track.registration import read_registration  # deferred: numpy

    check_filter(filter_name)
    specs = read_sensors_yaml(sensors)
    if len(specs) > 255 - 1:
        raise UserError(f"{sensors}: at most 254 sensors (one SIC each)")
    link = None
    if cot is not None:
        check_url(cot, SEND_SCHEMES)
        link = Link.from_environment(cot)  # TLS files and TAK_PROTO checked now, one line each
    if friendly_from_tak:
        check_friendly_from_tak(cot, link)
    friendly = friendly_codes(codes, codes_file)
    sources = parse_sources(source, [s.id for s in specs])
    reg = None if registration is None else read_registration(registration, [s.id for s in specs])
    tok = resolve_token(host, token)
    endpoints = Endpoints(
        host=host,
        asterix_port=port_or_off(asterix_port, "--asterix-port"),
        csv_port=port_or_off(csv_port, "--csv-port"),
        ws_port=port_or_off(ws_port, "--ws-port"),
        stdin=stdin,
        cat062_to=None if cat062 is None else host_port(cat062, "--cat062"),
        cot_url=cot,
        duration_s=duration_s,
        token=tok,
        status_every_s=status_every_s or None,
        friendly_from_tak=friendly_from_tak,
    )
    config = ServeConfig(
        sac=sac,
        reorder_s=reorder_s,
        idle_s=idle_s,
        queue_bytes=queue_kib * 1024,
        keep_history=out_json is not None,
        simulated=simulated,
        filter=filter_name,
        sources=sources,
        max_plots_per_scan=scan_budget,
        friendly_codes=friendly,
        friendly_gate_m=friendly_gate_m,
        friendly_gate_s=friendly_gate_s,
        registration=reg,
    )
    logging.basicConfig(level=logging.INFO, format="opencram serve: %(message)s", stream=sys.stderr)
    logging.getLogger("websockets").setLevel(logging.WARNING)
    capture = None if pcap is None else load_pcap(pcap, pcap_port)
    service = LiveService(specs, zones_source=zones, config=config)

    def ready(server) -> None:
        where = ", ".join(f"{k} {v}" for k, v in server.addresses.items())
        print(f"opencram serve: ready: {where}", file=sys.stderr, flush=True)
        if capture is not None:
            from opencram.live.pcapfeed import start_feed

            start_feed(server, capture, pcap_speed)
        if tok is not None and token is None:
            print(f"opencram serve: access token {tok}", file=sys.stderr, flush=True)

    try:
        server = asyncio.run(serve_forever(service, endpoints, on_ready=ready))
    except OSError as exc:
        raise UserError(f"cannot open a socket on {host}: {exc.strerror or exc}") from None
    if out_json is not None:
        extra = {"input": {"sensors_file": str(sensors), "plots": service.ingest.received["plots"]}}
        atomic_write_json(out_json, service.track_output(extra))
    print_stopped(service, server, out_json)


def load_pcap(path: Path, port: int):
    """``--pcap``: the capture's datagrams to ``port``, said on standard error."""
    from opencram.live.pcapfeed import load_capture  # deferred: numpy

    capture = load_capture(path, port)
    print(f"opencram serve: {path}: {capture.summary}", file=sys.stderr, flush=True)
    return capture


def print_stopped(service, server, out_json: Path | None) -> None:
    """The closing line on standard error: inputs received, rejected, shed and late, and
    CAT062 blocks sent."""
    st = service.ingest.stats()
    bad = sum(st["bad"].values())
    shed = sum(v["entries"] for v in st["shed"].values())
    dropped = ", ".join(f"{k} {v}" for k, v in st["dropped"].items()) or "none"
    print(
        f"opencram serve: stopped; {st['received'].get('datagrams', 0)} datagrams, "
        f"{st['received'].get('lines', 0)} lines, "
        f"{st['received'].get('plots', 0)} plots, {bad} bad inputs, "
        f"{shed} inputs shed, dropped: {dropped}, {service.tracker.n_late_dropped} late plots, "
        f"{server.counters.cat062_sent} CAT062 data blocks sent"
        + (f"; wrote {out_json}" if out_json is not None else ""),
        file=sys.stderr,
        flush=True,
    )
