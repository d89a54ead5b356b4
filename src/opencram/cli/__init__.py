"""The ``opencram`` command line: the typer ``app`` and the console-script entry :func:`main`.

One module per command group: :mod:`~opencram.cli.run`, :mod:`~opencram.cli.track`,
:mod:`~opencram.cli.export`, :mod:`~opencram.cli.campaign`, :mod:`~opencram.cli.console`,
:mod:`~opencram.cli.serve`, :mod:`~opencram.cli.replay`, :mod:`~opencram.cli.tak`,
:mod:`~opencram.cli.scenario` and :mod:`~opencram.cli.threats`; :mod:`~opencram.cli.progress`
holds the progress bar (the only place that draws one). Each command imports the libraries
it drives when it runs, so ``opencram --help`` starts fast.

A user's mistake (a bad file, field or option) prints one line per problem and exits with
status 2; it never shows a traceback.
"""

from __future__ import annotations

import sys

import typer
from rich.console import Console

from opencram.cli import (
    campaign,
    console,
    export,
    replay,
    run,
    scenario,
    serve,
    tak,
    threats,
    track,
)
from opencram.errors import UserError

app = typer.Typer(
    help="opencram: open C-RAM engine (sense, track, predict, warn, intercept).",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
# the order here is the order of `opencram --help`
app.command("campaign")(campaign.campaign)
app.command("console")(console.console)
app.command("serve")(serve.serve)
app.command("replay")(replay.replay)
app.command("run")(run.run)
app.command("track")(track.track)
app.command("export")(export.export)
app.add_typer(scenario.app, name="scenario")
app.add_typer(threats.app, name="threats")
app.add_typer(tak.app, name="tak")


def main() -> None:
    """Console-script entry point: user errors become one line each and exit status 2.

    Usage errors (a bad option) are reported by typer itself, also with status 2.
    """
    try:
        app()
    except UserError as exc:
        err = Console(stderr=True, highlight=False, soft_wrap=True)
        for line in exc.problems:
            err.print(f"error: {line}", markup=False)
        sys.exit(2)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        sys.exit(130)
