"""``opencram track``: track recorded radar plots offline and write the tracks as JSON."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from opencram.cli.options import check_filter
from opencram.cli.progress import DelayedProgress
from opencram.errors import UserError

out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True, highlight=False)


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
    registration: Annotated[
        Path | None,
        typer.Option("--registration", help="Take these sensor errors out of the plots first."),
    ] = None,
    registration_out: Annotated[
        Path | None,
        typer.Option(
            "--estimate-registration", help="Estimate each sensor's errors; write them here."
        ),
    ] = None,
) -> None:
    """Track recorded radar plots and write the tracks as JSON."""
    from opencram.analysis.offline import track_files  # deferred: numpy, scipy, pydantic

    check_filter(filter_name)
    if association not in ("gnn", "jpda"):
        raise UserError(f"--association: must be gnn or jpda, not '{association}'")
    if association == "jpda" and filter_name != "ekf":
        raise UserError("--association jpda: works with --filter ekf")
    try:
        with DelayedProgress() as bar:
            res = track_files(
                plots_csv,
                sensors,
                out_json,
                history=history,
                skip_bad=skip_bad,
                filter_name=filter_name,
                association=association,
                on_progress=bar,
                registration=registration,
                registration_out=registration_out,
            )
    except KeyboardInterrupt:
        err.print(f"interrupted: {out_json} not written", markup=False)
        raise typer.Exit(130) from None
    classes = res.classes
    counts = ", ".join(f"{classes.count(c)} {c}" for c in sorted(set(classes))) or "none"
    bad = f", {res.n_bad} bad rows skipped{bad_detail(res.read)}" if skip_bad else ""
    out.print(
        f"{res.n_plots} plots{bad}; {len(classes)} confirmed tracks ({counts}); wrote {out_json}",
        markup=False,
    )
    if res.registration is not None:
        out.print(registration_lines(res.registration, registration_out), markup=False)


def registration_lines(reg, path: Path) -> str:
    """What ``--estimate-registration`` found, one line per sensor (held terms: 'held')."""
    from opencram.track.registration import TERMS  # deferred with the analysis import

    if not reg.sensors:
        return f"registration: no confirmed ballistic track to estimate from; wrote {path}"
    rows = []
    for s in reg.sensors:
        terms = [
            f"{t} {v:+.2f} ± {e:.2f}" if ok else f"{t} held"
            for t, v, e, ok in zip(TERMS, s.estimate, s.sigma, s.observable, strict=True)
        ]
        rows.append(
            f"registration {s.id} ({s.tracks} tracks, {s.plots} plots): " + ", ".join(terms)
        )
    return "\n".join([*rows, f"wrote {path}"])


def bad_detail(read) -> str:
    """What the skipped rows were, beyond plain bad rows: lines inside a quote left open
    (rows lost with it) and times far from their neighbours', in brackets."""
    if read is None:
        return ""
    parts = []
    if read.quote_lines_lost:
        parts.append(
            f"{read.quote_lines_lost} of them lines swallowed by a quote left open on line "
            f"{read.quote_line}"
        )
    if read.time_outliers:
        parts.append(f"{read.time_outliers} with a time far from their neighbours'")
    return f" ({'; '.join(parts)})" if parts else ""
