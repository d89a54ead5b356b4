"""``opencram export RUN_FOLDER --format kml|kmz|czml|geojson|all [--out PATH]``.

Reads a run folder from disk (so old runs can be exported too) and writes each format
atomically (:func:`opencram.interop.export.export_run`). With one format, ``--out`` is the
file (default ``RUN_FOLDER/exports/run.EXT``); with ``all`` it is a folder (default
``RUN_FOLDER/exports``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def export(
    run_folder: Annotated[Path, typer.Argument(help="Run folder written by 'opencram run'.")],
    fmt: Annotated[
        str, typer.Option("--format", "-f", help="kml, kmz, czml, geojson or all.")
    ] = "all",
    out: Annotated[
        Path | None,
        typer.Option(
            "--out", help="File (one format) or folder (all); default RUN_FOLDER/exports/."
        ),
    ] = None,
    epoch: Annotated[
        str, typer.Option("--epoch", help="UTC date-time of scenario time 0 (ISO 8601).")
    ] = "2021-12-19T00:00:00Z",
) -> None:
    """Export a run as KML or KMZ (Google Earth), CZML (Cesium) and/or GeoJSON."""
    from opencram.interop.cot import epoch_option  # deferred: pydantic
    from opencram.interop.export import export_run  # deferred: its readers use numpy, pydantic

    epoch_dt = epoch_option(epoch)
    for p in export_run(run_folder, fmt, out, epoch_dt):
        typer.echo(f"wrote {p} ({p.stat().st_size:,} bytes)")
