"""The ``opencram`` command line, the outermost reader and driver of the chain: the typer
``app`` and the console-script entry :func:`main`.

One module per command or command group:

- :mod:`~opencram.cli.run`: ``opencram run``, a scenario simulated into a run folder;
- :mod:`~opencram.cli.track`: ``opencram track``, recorded plots tracked offline;
- :mod:`~opencram.cli.export`: ``opencram export``, a run folder as KML, CZML or GeoJSON;
- :mod:`~opencram.cli.score`: ``opencram score``, a track file against surveyed truth;
- :mod:`~opencram.cli.campaign`: ``opencram campaign``, Monte Carlo runs, locally or on Ray;
- :mod:`~opencram.cli.console`: ``opencram console``, the live operator console;
- :mod:`~opencram.cli.serve`: ``opencram serve``, the live service;
- :mod:`~opencram.cli.replay`: ``opencram replay``, an ASTERIX recording sent over UDP;
- :mod:`~opencram.cli.tak`: ``opencram tak send``, a run as Cursor on Target to a TAK server;
- :mod:`~opencram.cli.scenario`: ``opencram scenario validate|list|show``;
- :mod:`~opencram.cli.threats`: ``opencram threats list|show``, the threat library;
- :mod:`~opencram.cli.options`: checks of option values shared by several commands;
- :mod:`~opencram.cli.progress`: the progress bar (the only place that draws one).

Each command imports the libraries it drives when it runs, so ``opencram --help`` starts
fast; for the same reason only ``app`` and ``main`` are exported.

A user's mistake (a bad file, field or option) prints one line per problem and exits with
status 2; it never shows a traceback.
"""

from __future__ import annotations

import sys

import click
import typer
from rich.console import Console

from opencram.cli import (
    campaign,
    console,
    export,
    replay,
    run,
    scenario,
    score,
    serve,
    tak,
    threats,
    track,
)
from opencram.errors import UserError

__all__ = ["app", "main"]

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
app.command("score")(score.score)
app.add_typer(scenario.app, name="scenario")
app.add_typer(threats.app, name="threats")
app.add_typer(tak.app, name="tak")


def _one_line_paragraphs(text: str | None) -> str | None:
    """A docstring's hard line breaks inside a paragraph joined, so the help is wrapped by
    the terminal's width, not the source's; blank lines between paragraphs are kept."""
    if text is None:
        return None
    paragraphs = text.strip().split("\n\n")
    return "\n\n".join(" ".join(p.split()) for p in paragraphs)


def tidy_help(command: click.Command) -> click.Command:
    """The typer-built command tree, made to read right in ``--help``: on/off flags show no
    value placeholder (typer 0.29 prints ``<bool>`` beside them, as if they took a value),
    and command help is wrapped by the terminal. Returns ``command`` itself."""
    command.help = _one_line_paragraphs(command.help)
    command.short_help = _one_line_paragraphs(command.short_help)
    for param in command.params:
        if getattr(param, "is_flag", False) and not getattr(param, "count", False):
            param.metavar = ""
    make_help_option = command.get_help_option  # --help is made anew for each context

    def help_option(ctx: click.Context) -> click.Option | None:
        option = make_help_option(ctx)
        if option is not None:
            option.metavar = ""
        return option

    command.get_help_option = help_option
    for sub in getattr(command, "commands", {}).values():
        tidy_help(sub)
    return command


def main() -> None:
    """Console-script entry point: user errors become one line each and exit status 2.

    Usage errors (a bad option) are reported by typer itself, also with status 2.
    """
    try:
        tidy_help(typer.main.get_command(app))(prog_name="opencram")
    except UserError as exc:
        err = Console(stderr=True, highlight=False, soft_wrap=True)
        for line in exc.problems:
            err.print(f"error: {line}", markup=False)
        sys.exit(2)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        sys.exit(130)
