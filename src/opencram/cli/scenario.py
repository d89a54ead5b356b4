"""``opencram scenario validate|list|show``: check a scenario file, list and print the
built-in ones."""

from __future__ import annotations

import sys
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

app = typer.Typer(help="Validate, list and show scenarios.", no_args_is_help=True)
out = Console(soft_wrap=True)


@app.command("validate")
def scenario_validate(
    file: Annotated[str, typer.Argument(help="Scenario YAML file or built-in name.")],
) -> None:
    """Check a scenario file: schema, names, threat types, zones and aim points."""
    from opencram.c2.world import compile_world  # deferred: numpy, pymap3d, pydantic
    from opencram.scenario.load import load  # deferred: pydantic, yaml

    loaded = load(file)
    world = compile_world(loaded)
    s = loaded.scenario
    out.print(
        f"{loaded.source}: valid ({len(s.zones)} zones, {len(s.sensors)} sensors, "
        f"{len(s.weapons)} weapons, {len(world.truth.rounds)} threat rounds, "
        f"{len(s.aircraft)} aircraft)"
    )


@app.command("list")
def scenario_list() -> None:
    """List the built-in scenarios."""
    from opencram.scenario.load import builtin_names, load  # deferred: pydantic, yaml

    table = Table("name", "threats", "description")
    for name in builtin_names():
        s = load(name).scenario
        n = sum(t.salvo.count for t in s.threats)
        table.add_row(name, str(n), s.description)
    out.print(table)


@app.command("show")
def scenario_show(name: Annotated[str, typer.Argument(help="Built-in scenario name.")]) -> None:
    """Print a built-in scenario's YAML (a starting point for your own)."""
    from opencram.scenario.load import builtin_text  # deferred: pydantic, yaml

    sys.stdout.write(builtin_text(name))
