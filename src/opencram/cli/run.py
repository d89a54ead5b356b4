"""``opencram run``: simulate a scenario and write its run folder, then print each threat's
outcome and the warning figures."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import IO, Annotated, Any

import typer
from rich.console import Console

from opencram.cli.progress import DelayedProgress
from opencram.errors import UserError

out = Console(soft_wrap=True)


def run(
    scenario: Annotated[str, typer.Argument(help="Built-in name or YAML file.")] = "green-zone",
    out_dir: Annotated[
        Path | None, typer.Option("--out", help="Run folder (default runs/SCENARIO).")
    ] = None,
    seed: Annotated[int | None, typer.Option(help="Override the scenario's seed.", min=0)] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress or summary.")] = False,
    stream: Annotated[
        str | None,
        typer.Option("--stream", help="Also stream events as JSON lines to a file, or - (stdout)."),
    ] = None,
    export_asterix: Annotated[
        Path | None,
        typer.Option(
            "--export-asterix", help="Also write the plots as an ASTERIX CAT048 recording."
        ),
    ] = None,
    tiles: Annotated[
        str | None,
        typer.Option(
            "--tiles",
            help="Base map for the report's map: an MBTiles file (embedded) or a tile URL "
            "template with {z}, {x}, {y} (fetched by the browser: the report is then online).",
        ),
    ] = None,
) -> None:
    """Simulate a scenario and write its run folder (summary.json, events.jsonl, report.html)."""
    from opencram.analysis.runfolder import execute  # deferred: matplotlib, numpy, scipy
    from opencram.tiles import tile_source

    source = tile_source(tiles) if tiles is not None else None
    quiet = quiet or stream == "-"  # stdout carries the stream only
    fh = open_stream(stream)
    try:
        with DelayedProgress() as bar:
            res = execute(
                scenario,
                out_dir,
                seed,
                on_progress=None if quiet else bar,
                stream=fh,
                export_asterix=export_asterix,
                tiles=source,
            )
    finally:
        if fh is not None and fh is not sys.stdout:
            fh.close()
    if not quiet:
        print_summary(res.summary)
        names = sorted(p.name for p in res.folder.iterdir() if not p.name.startswith("."))
        out.print(f"wrote {res.folder}/ ({', '.join(names)})")


def open_stream(stream: str | None) -> IO[str] | None:
    """The ``--stream`` target: None, standard output for ``-``, or the file opened."""
    if stream is None:
        return None
    if stream == "-":
        return sys.stdout
    try:
        return open(stream, "w", encoding="utf-8")
    except OSError as exc:
        raise UserError(f"--stream {stream}: cannot open: {exc.strerror}") from None


ZONE_KIND_WORDS = {
    "protected": "protected zone",
    "warning": "warning zone",
    "no-fire": "no-fire zone",
}


def landing_place(zones: list[str], kinds: dict[str, str]) -> str:
    """Where a round lands, each zone named with its kind ("lands in warning zone
    International Zone"), or "lands on open ground"."""
    if not zones:
        return "lands on open ground"
    named = [f"{ZONE_KIND_WORDS.get(kinds.get(z, ''), 'zone')} {z}" for z in zones]
    return "lands in " + " and ".join(named)


def threat_line(t: dict[str, Any], kinds: dict[str, str]) -> str:
    """One threat of summary.json as a line: intercepted, impact point, or in flight.
    ``kinds``: zone name -> kind (protected, warning, no-fire)."""
    im = t["impact"]
    if t.get("outcome") == "intercepted":
        i = t["intercept"]
        where = (
            f"intercepted t={i['time_s']:.1f} s by {i['gun']}, {i['alt_m']:.0f} m up "
            f"({i['rounds']} rounds)"
        )
    elif im:
        place = landing_place(t["zones"], kinds)
        if im.get("water"):  # a water layer: "lands in the Tigris"
            also = f" and {place.removeprefix('lands in ')}" if t["zones"] else ""
            place = f"lands in the {im['water']}{also}"
        where = f"impact t={im['time_s']:.1f} s at {im['lat']:.5f}, {im['lon']:.5f}: {place}"
    else:
        where = "still in flight at end"
    return f"  {t['id']:<14} {t['type']:<18} {where}"


def own_warning_text(own_s: float | None) -> str:
    """The own-track part of a warning line."""
    return "not by its own track" if own_s is None else f"{own_s:.1f} s by its own track"


def print_summary(summary: dict[str, Any]) -> None:
    """Each threat's outcome, then the warning times, missed warnings and false alerts."""
    kinds = {z["name"]: z["kind"] for z in summary["zones"]}
    for t in summary["threats"]:
        out.print(threat_line(t, kinds))
    w = summary.get("warning")
    if w is not None:
        times = ", ".join(
            f"{x['zone']} {x['zone_alert_warning_s']:.1f} s before {x['threat']} "
            f"({own_warning_text(x['own_track_warning_s'])})"
            for x in w["warning_times_s"]
        )
        out.print(
            f"  warnings: {times or 'no zone hit'}; missed {len(w['missed_warnings'])}, "
            f"false alerts {len(w['false_alerts'])}"
        )
