"""``opencram tak send``: a run's tracks, impact and origin ellipses and zone alerts as
Cursor on Target to a TAK server (or printed with ``--dry-run``)."""

from __future__ import annotations

import re
import sys
from collections import Counter
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

app = typer.Typer(
    help="Cursor on Target for TAK: tracks, impact and origin ellipses, zone alerts.",
    no_args_is_help=True,
)
out = Console(soft_wrap=True)


@app.command("send")
def tak_send(
    run_folder: Annotated[Path, typer.Argument(help="Run folder written by 'opencram run'.")],
    url: Annotated[
        str,
        typer.Option(
            "--url",
            help="TAK server: tcp://HOST:PORT, tls://HOST:PORT (client certificate) or "
            "udp://HOST:PORT.",
        ),
    ] = "tcp://127.0.0.1:8087",
    protocol: Annotated[
        str | None,
        typer.Option(
            "--protocol",
            help="xml (CoT XML) or protobuf (TAK protocol version 1, agreed with the server "
            "first on tcp:// and tls://). Default: from TAK_PROTO (0 or 1), else xml.",
            metavar="xml|protobuf",
        ),
    ] = None,
    tls_cert: Annotated[
        str | None,
        typer.Option(
            "--tls-cert",
            help="tls://: client certificate, PEM (with its key, or see --tls-key) or .p12. "
            "Default: PYTAK_TLS_CLIENT_CERT.",
            metavar="FILE",
        ),
    ] = None,
    tls_key: Annotated[
        str | None,
        typer.Option(
            "--tls-key",
            help="tls://: the certificate's private key (PEM). Default: PYTAK_TLS_CLIENT_KEY, "
            "else the --tls-cert file.",
            metavar="FILE",
        ),
    ] = None,
    tls_ca: Annotated[
        str | None,
        typer.Option(
            "--tls-ca",
            help="tls://: CA certificate(s) that signed the server's certificate (PEM). "
            "Default: PYTAK_TLS_CLIENT_CAFILE, else the system's CAs.",
            metavar="FILE",
        ),
    ] = None,
    tls_password: Annotated[
        str | None,
        typer.Option(
            "--tls-password",
            help="tls://: password of the key or .p12. Default: PYTAK_TLS_CLIENT_PASSWORD "
            "(better: it stays out of the process list).",
        ),
    ] = None,
    tls_insecure: Annotated[
        bool,
        typer.Option(
            "--tls-insecure",
            help="tls://: do not verify the server's certificate (testing only; "
            "PYTAK_TLS_DONT_VERIFY=1).",
        ),
    ] = False,
    epoch: Annotated[
        str | None,
        typer.Option(
            "--epoch",
            help="Stamp from this UTC date-time as scenario time 0 (ISO 8601), e.g. "
            "2021-12-19T00:00:00Z. Default: stamp each message with the time it is sent.",
        ),
    ] = None,
    speed: Annotated[
        float,
        typer.Option("--speed", help="Pace at this many times real time (2 = twice as fast)."),
    ] = 1.0,
    burst: Annotated[
        bool, typer.Option("--burst", help="Send everything at once instead of pacing.")
    ] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Print the CoT XML, one message per line.")
    ] = False,
    timeout_s: Annotated[
        float,
        typer.Option(
            "--timeout",
            help="Give up this many seconds after the paced sending should have ended.",
            min=0.1,
        ),
    ] = 10.0,
) -> None:
    """Send a run's events to a TAK server as Cursor on Target (marked as simulation), paced
    in real time and stamped with the time each message is sent (``--epoch`` for fixed
    stamps)."""
    from opencram.interop.cot import epoch_option  # deferred: pydantic
    from opencram.interop.tak import (  # deferred: asyncio
        SEND_SCHEMES,
        Link,
        Pacing,
        check_url,
        protocol_setting,
        run_folder_cot,
        send_run,
        tls_files,
    )

    pacing = Pacing(speed=speed, burst=burst, epoch=None if epoch is None else epoch_option(epoch))
    if dry_run:  # printed at once, never paced
        for msg in run_folder_cot(run_folder, epoch=pacing.epoch, simulated=True):
            sys.stdout.write(msg.decode("utf-8") + "\n")
        return
    check_url(url, SEND_SCHEMES)
    tls = tls_files(
        cert=tls_cert, key=tls_key, cafile=tls_ca, password=tls_password, insecure=tls_insecure
    )
    link = Link(url, protocol=protocol_setting(protocol), tls=tls)
    link.pytak_config()  # the TLS files are checked before anything is read or sent
    messages = send_run(run_folder, link, pacing, timeout_s=timeout_s)
    if not messages:
        out.print(
            f"no tracks, predictions or alerts in {run_folder / 'events.jsonl'}; nothing sent",
            markup=False,
        )
        return
    kinds = Counter(re.search(rb' type="([^"]+)"', m).group(1).decode() for m in messages)
    counts = ", ".join(f"{n} {k}" for k, n in sorted(kinds.items()))
    encoding = "TAK protocol version 1" if link.protocol == "protobuf" else "XML"
    out.print(f"sent {len(messages)} CoT messages ({counts}) to {url} as {encoding}", markup=False)
