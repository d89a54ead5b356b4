"""``opencram threats list|show``: the threat library and the sources of its figures."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from opencram.errors import UserError

app = typer.Typer(help="The threat library.", no_args_is_help=True)
out = Console(soft_wrap=True)


@app.command("list")
def threats_list() -> None:
    """List the threat library with its key published figures."""
    from opencram.physics.threats import library  # deferred: numpy, yaml

    # one line per threat at any width: the id (what a user types) and the figures are
    # never cut; the long name gives way (`threats show ID` prints it whole)
    heads = ("id", "category", "kg", "mm", "range km", "RCS m²")
    rows = [
        (
            t.id,
            t.category,
            f"{t.mass_kg:g}",
            f"{t.caliber_m * 1000:g}" if t.caliber_m else "-",
            f"{t.max_range_m / 1000:g}",
            f"{t.rcs_m2:g}",
        )
        for t in library().values()
    ]
    names = [t.name for t in library().values()]
    widths = [max(len(cell) for cell in col) for col in zip(heads, *rows, strict=True)]
    table = Table(box=None, pad_edge=False)
    for head, width in zip(heads, widths, strict=True):
        table.add_column(head, no_wrap=True, min_width=width)
    room = out.width - sum(widths) - 2 * len(widths)
    table.add_column("name", no_wrap=True, overflow="ellipsis", max_width=max(room, 8))
    for row, name in zip(rows, names, strict=True):
        table.add_row(*row, name)
    out.print(table)


@app.command("show")
def threats_show(threat_id: Annotated[str, typer.Argument(help="Threat id.")]) -> None:
    """Show one threat's figures and their sources."""
    from opencram.physics.threats import library, source_table  # deferred: numpy, yaml
    from opencram.yamlio import unknown_name  # deferred: yaml

    lib = library()
    if threat_id not in lib:
        raise UserError(unknown_name("threat type", threat_id, sorted(lib)))
    t = lib[threat_id]
    out.print(f"[bold]{t.id}[/bold]: {t.name} ({t.category})")
    for field, val in vars(t).items():
        if field in ("id", "name", "category", "sources") or val is None:
            continue
        src = t.sources.get(field) or t.sources.get(f"motor.{field}") or []
        out.print(f"  {field:22s} {val!s:>12}  {', '.join(src)}")
    out.print("sources:")
    used = sorted({k for v in t.sources.values() for k in v})
    table = source_table()
    for key in used:
        entry = table.get(key, {})
        out.print(f"  {key}: {entry.get('title', '?')} <{entry.get('url', '')}>")
