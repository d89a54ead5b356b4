"""A run's exports as KML, CZML and GeoJSON (the library behind ``opencram export``).

Reads a run folder from disk (so old runs can be exported too) and writes each format
atomically. With one format, ``--out`` is the file (default ``RUN_FOLDER/exports/run.EXT``);
with ``all`` it is a folder (default ``RUN_FOLDER/exports``).
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from opencram.errors import UserError
from opencram.fileio import atomic_write_text
from opencram.interop.cot import DEFAULT_EPOCH
from opencram.interop.czml import czml_text
from opencram.interop.geojson import geojson_text
from opencram.interop.kml import kml_text
from opencram.interop.runview import RunView, load_run

FORMATS = {"kml": "kml", "czml": "czml", "geojson": "geojson"}


def render(view: RunView, fmt: str, epoch: datetime) -> str:
    if fmt == "kml":
        return kml_text(view, epoch)
    if fmt == "czml":
        return czml_text(view, epoch)
    if fmt == "geojson":
        return geojson_text(view)
    raise UserError(f"--format: must be kml, czml, geojson or all, not '{fmt}'")


def export_run(
    folder: str | Path, fmt: str = "all", out: str | Path | None = None, epoch=None
) -> list[Path]:
    """Write the run's exports; returns the files written."""
    if fmt not in (*FORMATS, "all"):
        raise UserError(f"--format: must be kml, czml, geojson or all, not '{fmt}'")
    epoch = epoch or DEFAULT_EPOCH
    view = load_run(folder)
    fmts = list(FORMATS) if fmt == "all" else [fmt]
    if fmt == "all":
        dest = Path(out) if out is not None else Path(folder) / "exports"
        if dest.exists() and not dest.is_dir():
            raise UserError(f"--out {dest}: exists and is not a folder (--format all writes one)")
        paths = [dest / f"run.{FORMATS[f]}" for f in fmts]
    else:
        p = Path(out) if out is not None else Path(folder) / "exports" / f"run.{FORMATS[fmt]}"
        if p.is_dir():
            raise UserError(f"--out {p}: is a folder; give a file name for --format {fmt}")
        paths = [p]
    written = []
    for f, p in zip(fmts, paths, strict=True):
        text = render(view, f, epoch)
        try:
            atomic_write_text(p, text)
        except OSError as exc:
            raise UserError(f"--out {p}: cannot write: {exc.strerror or exc}") from None
        written.append(p)
    return written
