"""``opencram campaign``: Monte Carlo runs of a scenario, locally or on Ray, resumable,
with an optional comparison of layouts (docs/campaigns.md)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from opencram.cli.progress import DelayedProgress
from opencram.errors import UserError

if TYPE_CHECKING:
    from opencram.campaign.runner import CampaignOutput

out = Console(soft_wrap=True, highlight=False)


def campaign(
    scenario: Annotated[str, typer.Argument(help="Built-in name or YAML file.")],
    runs: Annotated[int, typer.Option("--runs", help="Runs per layout.", min=1)] = 100,
    vary: Annotated[
        list[str] | None,
        typer.Option(
            "--vary",
            help="KEY=DISTRIBUTION, repeatable, e.g. 'threats[*].launch.lat=+normal(0,0.002)' "
            "(docs/campaigns.md).",
        ),
    ] = None,
    layouts: Annotated[
        Path | None,
        typer.Option("--layouts", help="YAML file: layout name -> {KEY: value} overrides."),
    ] = None,
    executor: Annotated[
        str, typer.Option("--executor", help="local (processes), ray, or inline.")
    ] = "local",
    address: Annotated[
        str | None, typer.Option("--address", help="Ray cluster address (with --executor ray).")
    ] = None,
    workers: Annotated[
        int | None, typer.Option("--workers", help="Processes (default: CPUs).", min=1)
    ] = None,
    out_dir: Annotated[
        Path | None, typer.Option("--out", help="Results folder (default campaigns/SCENARIO).")
    ] = None,
    seed: Annotated[
        int | None, typer.Option("--seed", help="First seed (default: the scenario's).", min=0)
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress or summary.")] = False,
    retry_failed: Annotated[
        bool,
        typer.Option(
            "--retry-failed",
            help="Run the failed runs of a resumed campaign again (errors kept in failures.jsonl).",
        ),
    ] = False,
) -> None:
    """Run N seeded variants of a scenario (per layout) and summarise them; re-running the
    same command resumes an interrupted campaign."""
    from opencram.campaign.executor import EXECUTORS, check_reachable  # deferred: numpy
    from opencram.campaign.runner import run_campaign  # deferred: pyarrow, matplotlib

    if executor not in EXECUTORS:
        raise UserError(f"--executor {executor}: must be one of {', '.join(EXECUTORS)}")
    if address is not None and executor != "ray":
        raise UserError("--address: only with --executor ray")
    if address is not None:
        check_reachable(address)  # before any progress bar: fail fast, in one line
    try:
        # a campaign is long: the bar shows at once, starting from the runs done before
        with DelayedProgress(show_after_s=0.0) as bar:
            res = run_campaign(
                scenario,
                runs,
                varies=vary or [],
                layouts_file=layouts,
                out_dir=out_dir,
                seed=seed,
                executor=executor,
                workers=workers,
                address=address,
                on_progress=None if quiet else bar,
                log=None if quiet else lambda m: out.print(m, markup=False),
                retry_failed=retry_failed,
            )
    except KeyboardInterrupt:
        out.print(
            "interrupted: finished runs are saved; run the same command again to resume",
            markup=False,
        )
        raise
    if not quiet:
        print_summary(res)


def _intercepts(lay: dict) -> str:
    """P(intercept) over the engaged threats, then the pooled share of all threats."""
    eng, pooled = lay["p_intercept_engaged"], lay["p_intercept_all"]
    return (
        f"P(intercept) {eng['p']} of {eng['n']} engaged "
        f"(pooled over all threats {pooled['k']}/{pooled['n']} = {pooled['p']})"
    )


def print_summary(res: CampaignOutput) -> None:
    """Each layout's line in rank order, then what was run and written."""
    s = res.summary
    for r in s["ranking"]:
        lay = s["layouts"][r["layout"]]
        w = lay["warning_time_s"]
        ci = r["leakers_per_salvo_ci95"]
        out.print(
            f"  {r['rank']}. {r['layout']}: {lay['runs']['ok']} runs ok, "
            f"{lay['runs']['failed']} failed; {_intercepts(lay)}; "
            f"leakers/salvo {r['leakers_per_salvo']} [{ci[0]}, {ci[1]}]; "
            f"median warning {w.get('median')} s; false alerts/run "
            f"{lay['false_alerts']['per_run']}",
            markup=False,
        )
    out.print(
        f"ran {res.ran} runs ({res.skipped} already done); wrote {res.folder}/ "
        "(runs.parquet, threats.parquet, summary.json, report.html)",
        markup=False,
    )
