"""The ``opencram`` command line.

A user's mistake (a bad file, field or option) prints one line per problem and exits with
status 2; it never shows a traceback.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from opencram import cli_serve
from opencram.cli_campaign import campaign as campaign_command
from opencram.cli_console import console as console_command
from opencram.errors import UserError

app = typer.Typer(
    help="opencram: open C-RAM engine (sense, track, predict, warn, intercept).",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
scenario_app = typer.Typer(help="Validate, list and show scenarios.", no_args_is_help=True)
threats_app = typer.Typer(help="The threat library.", no_args_is_help=True)
app.add_typer(scenario_app, name="scenario")
app.add_typer(threats_app, name="threats")
app.command("campaign")(campaign_command)
app.command("console")(console_command)
app.command("serve")(cli_serve.serve)
app.command("replay")(cli_serve.replay)
out = Console(soft_wrap=True)


@app.command()
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
) -> None:
    """Simulate a scenario and write its run folder (summary.json, events.jsonl, report.html)."""
    from opencram.analysis.runfolder import execute

    fh = None
    if stream == "-":
        fh = sys.stdout
        quiet = True  # stdout carries the stream only
    elif stream is not None:
        try:
            fh = open(stream, "w", encoding="utf-8")  # noqa: SIM115
        except OSError as exc:
            raise UserError(f"--stream {stream}: cannot open: {exc.strerror}") from None
    try:
        res = execute(
            scenario, out_dir, seed, progress=not quiet, stream=fh, export_asterix=export_asterix
        )
    finally:
        if fh is not None and fh is not sys.stdout:
            fh.close()
    if not quiet:
        for t in res.summary["threats"]:
            im = t["impact"]
            if t.get("outcome") == "intercepted":
                i = t["intercept"]
                where = (
                    f"intercepted t={i['time_s']:.1f} s by {i['gun']}, {i['alt_m']:.0f} m up "
                    f"({i['rounds']} rounds)"
                )
            elif im:
                where = (
                    f"impact t={im['time_s']:.1f} s at {im['lat']:.5f}, {im['lon']:.5f} "
                    f"-> {t['zone'] or 'open ground'}"
                )
            else:
                where = "still in flight at end"
            out.print(f"  {t['id']:<14} {t['type']:<18} {where}")
        w = res.summary.get("warning")
        if w is not None:
            times = ", ".join(
                f"{x['zone']} {x['warning_s']:.1f} s before {x['threat']}"
                for x in w["warning_times_s"]
            )
            out.print(
                f"  warnings: {times or 'no zone hit'}; missed {len(w['missed_warnings'])}, "
                f"false alerts {len(w['false_alerts'])}"
            )
        names = sorted(p.name for p in res.folder.iterdir() if not p.name.startswith("."))
        out.print(f"wrote {res.folder}/ ({', '.join(names)})")


@app.command()
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
    from opencram.track.offline import track_files

    if filter_name not in ("imm", "ekf", "ckf"):
        raise UserError(f"--filter: must be imm, ekf or ckf, not '{filter_name}'")
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


@scenario_app.command("validate")
def scenario_validate(
    file: Annotated[str, typer.Argument(help="Scenario YAML file or built-in name.")],
) -> None:
    """Check a scenario file: schema, names, threat types, zones and aim points."""
    from opencram.c2.world import compile_world
    from opencram.scenario.load import load

    loaded = load(file)
    world = compile_world(loaded)
    s = loaded.scenario
    out.print(
        f"{loaded.source}: valid ({len(s.zones)} zones, {len(s.sensors)} sensors, "
        f"{len(s.weapons)} weapons, {len(world.truth.rounds)} threat rounds, "
        f"{len(s.aircraft)} aircraft)"
    )


@scenario_app.command("list")
def scenario_list() -> None:
    """List the built-in scenarios."""
    from opencram.scenario.load import builtin_names, load

    table = Table("name", "threats", "description")
    for name in builtin_names():
        s = load(name).scenario
        n = sum(t.salvo.count for t in s.threats)
        table.add_row(name, str(n), s.description)
    out.print(table)


@scenario_app.command("show")
def scenario_show(name: Annotated[str, typer.Argument(help="Built-in scenario name.")]) -> None:
    """Print a built-in scenario's YAML (a starting point for your own)."""
    from opencram.scenario.load import builtin_text

    sys.stdout.write(builtin_text(name))


@threats_app.command("list")
def threats_list() -> None:
    """List the threat library with its key published figures."""
    from opencram.physics.threats import library

    table = Table("id", "category", "mass kg", "calibre mm", "max range km", "RCS m²", "name")
    for t in library().values():
        table.add_row(
            t.id,
            t.category,
            f"{t.mass_kg:g}",
            f"{t.caliber_m * 1000:g}" if t.caliber_m else "-",
            f"{t.max_range_m / 1000:g}",
            f"{t.rcs_m2:g}",
            t.name,
        )
    out.print(table)


@threats_app.command("show")
def threats_show(threat_id: Annotated[str, typer.Argument(help="Threat id.")]) -> None:
    """Show one threat's figures and their sources."""
    from opencram.physics.threats import library, source_table
    from opencram.scenario.load import _unknown

    lib = library()
    if threat_id not in lib:
        raise UserError(_unknown("threat type", threat_id, sorted(lib)))
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


tak_app = typer.Typer(
    help="Cursor on Target for TAK: tracks, impact and origin ellipses, zone alerts.",
    no_args_is_help=True,
)
app.add_typer(tak_app, name="tak")


@tak_app.command("send")
def tak_send(
    run_folder: Annotated[Path, typer.Argument(help="Run folder written by 'opencram run'.")],
    url: Annotated[
        str, typer.Option("--url", help="TAK server: tcp://HOST:PORT or udp://HOST:PORT.")
    ] = "tcp://127.0.0.1:8087",
    epoch: Annotated[
        str, typer.Option("--epoch", help="UTC date-time of scenario time 0 (ISO 8601).")
    ] = "2021-12-19T00:00:00Z",
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Print the CoT XML, one message per line.")
    ] = False,
    timeout_s: Annotated[
        float, typer.Option("--timeout", help="Give up sending after this many seconds.", min=0.1)
    ] = 10.0,
) -> None:
    """Send a run's events to a TAK server as Cursor on Target (marked as simulation)."""
    import re
    from collections import Counter

    from opencram.interop.cot import epoch_option
    from opencram.interop.tak import check_url, run_folder_cot, send_cot

    epoch_dt = epoch_option(epoch)
    if not dry_run:
        check_url(url)
    messages = run_folder_cot(run_folder, epoch=epoch_dt, simulated=True)
    if dry_run:
        for msg in messages:
            sys.stdout.write(msg.decode("utf-8") + "\n")
        return
    if not messages:
        out.print(
            f"no tracks, predictions or alerts in {run_folder / 'events.jsonl'}; nothing sent",
            markup=False,
        )
        return
    send_cot(messages, url, timeout_s=timeout_s)
    kinds = Counter(re.search(rb' type="([^"]+)"', m).group(1).decode() for m in messages)
    counts = ", ".join(f"{n} {k}" for k, n in sorted(kinds.items()))
    out.print(f"sent {len(messages)} CoT messages ({counts}) to {url}", markup=False)


from opencram.interop.export import export_command  # noqa: E402

app.command("export")(export_command)


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


if __name__ == "__main__":
    main()
