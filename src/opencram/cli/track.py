"""``opencram track``: track recorded radar plots offline and write the tracks as JSON."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from opencram.cli.options import check_filter
from opencram.errors import UserError

out = Console(soft_wrap=True)


def track(
    plots_csv: Annotated[Path, typer.Argument(help="Plot CSV (docs/interfaces.md).")],
    sensors: Annotated[Path, typer.Option("--sensors", help="Sensors YAML file.")],
    out_json: Annotated[Path, typer.Option("--out", help="Track output JSON file.")],
    history: Annotated[bool, typer.Option("--history", help="List every update.")] = False,
    skip_bad: Annotated[
        bool, typer.Option("--skip-bad", help="Skip malformed rows and count them.")
    ] = False,
    filter_name: Annotated[
        str, typer.Option("--filter", help="imm (default), ekf or ckf.")
    ] = "imm",
    association: Annotated[
        str, typer.Option("--association", help="gnn (default) or jpda (with --filter ekf).")
    ] = "gnn",
) -> None:
    """Track recorded radar plots and write the tracks as JSON."""
    from opencram.analysis.offline import track_files  # deferred: numpy, scipy, pydantic

    check_filter(filter_name)
    if association not in ("gnn", "jpda"):
        raise UserError(f"--association: must be gnn or jpda, not '{association}'")
    if association == "jpda" and filter_name != "ekf":
        raise UserError("--association jpda: works with --filter ekf")
    res = track_files(
        plots_csv,
        sensors,
        out_json,
        history=history,
        skip_bad=skip_bad,
        filter_name=filter_name,
        association=association,
    )
    classes = [t["class"] for t in res.output["tracks"]]
    counts = ", ".join(f"{classes.count(c)} {c}" for c in sorted(set(classes))) or "none"
    bad = f", {res.n_bad} bad rows skipped" if skip_bad else ""
    out.print(
        f"{res.n_plots} plots{bad}; {len(classes)} confirmed tracks ({counts}); wrote {out_json}"
    )
