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
        str, typer.Option("--url", help="TAK server: tcp://HOST:PORT or udp://HOST:PORT.")
    ] = "tcp://127.0.0.1:8087",
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
        Pacing,
        check_url,
        run_folder_cot,
        send_run,
    )

    pacing = Pacing(speed=speed, burst=burst, epoch=None if epoch is None else epoch_option(epoch))
    if dry_run:  # printed at once, never paced
        for msg in run_folder_cot(run_folder, epoch=pacing.epoch, simulated=True):
            sys.stdout.write(msg.decode("utf-8") + "\n")
        return
    check_url(url)
    messages = send_run(run_folder, url, pacing, timeout_s=timeout_s)
    if not messages:
        out.print(
            f"no tracks, predictions or alerts in {run_folder / 'events.jsonl'}; nothing sent",
            markup=False,
        )
        return
    kinds = Counter(re.search(rb' type="([^"]+)"', m).group(1).decode() for m in messages)
    counts = ", ".join(f"{n} {k}" for k, n in sorted(kinds.items()))
    out.print(f"sent {len(messages)} CoT messages ({counts}) to {url}", markup=False)
