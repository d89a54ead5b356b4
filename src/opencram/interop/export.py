"""A run's exports as KML, KMZ, CZML and GeoJSON (the library behind ``opencram export``).

Reads a run folder from disk (so old runs can be exported too) and writes each format
atomically. With one format, ``--out`` is the file (default ``RUN_FOLDER/exports/run.EXT``);
with ``all`` it is a folder (default ``RUN_FOLDER/exports``).
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from opencram.errors import UserError
from opencram.fileio import atomic_write_bytes, atomic_write_text
from opencram.interop.cot import DEFAULT_EPOCH
from opencram.interop.czml import czml_text
from opencram.interop.geojson import geojson_text
from opencram.interop.kml import kml_text, kmz_bytes
from opencram.interop.runview import RunView, load_run

FORMATS = {"kml": "kml", "kmz": "kmz", "czml": "czml", "geojson": "geojson"}
FORMAT_ERROR = "--format: must be kml, kmz, czml, geojson or all, not '{}'"


def render(view: RunView, fmt: str, epoch: datetime) -> str | bytes:
    if fmt == "kml":
        return kml_text(view, epoch)
    if fmt == "kmz":
        return kmz_bytes(view, epoch)
    if fmt == "czml":
        return czml_text(view, epoch)
    if fmt == "geojson":
        return geojson_text(view)
    raise UserError(FORMAT_ERROR.format(fmt))


def export_run(
    folder: str | Path, fmt: str = "all", out: str | Path | None = None, epoch=None
) -> list[Path]:
    """Write the run's exports; returns the files written."""
    if fmt not in (*FORMATS, "all"):
        raise UserError(FORMAT_ERROR.format(fmt))
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
        data = render(view, f, epoch)
        try:
            if isinstance(data, bytes):
                atomic_write_bytes(p, data)
            else:
                atomic_write_text(p, data)
        except OSError as exc:
            raise UserError(f"--out {p}: cannot write: {exc.strerror or exc}") from None
        written.append(p)
    return written
