"""``opencram score TRACKS.json --truth TRUTH.yaml``: a track file against surveyed impact
and firing points (docs/score.md)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

out = Console(soft_wrap=True, highlight=False)


def score(
    tracks_json: Annotated[
        Path, typer.Argument(help="Track output file ('opencram track --out', tracks.json).")
    ],
    truth: Annotated[
        Path, typer.Option("--truth", help="Surveyed impact and firing points (YAML).")
    ],
    out_dir: Annotated[
        Path | None,
        typer.Option("--out", help="Folder for score.json, predictions.csv, score.png."),
    ] = None,
) -> None:
    """Score a track file against surveyed truth: impact and origin error against time
    since the first plot, and 95 % ellipse coverage."""
    from opencram.analysis.score import (  # deferred: numpy, pydantic, matplotlib
        COVERAGE_AFTER_S,
        read_track_file,
        read_truth,
        write_outputs,
    )
    from opencram.analysis.score import score as score_tracks

    rounds = read_truth(truth)
    doc = read_track_file(tracks_json)
    folder = out_dir if out_dir is not None else tracks_json.with_name(tracks_json.stem + "-score")
    result = write_outputs(score_tracks(doc, rounds), folder)
    print_result(result, COVERAGE_AFTER_S)
    out.print(f"wrote {folder}/ (score.json, predictions.csv, score.png)")


def _m(x) -> str:
    return "-" if x is None else f"{x:.0f} m"


def print_result(result: dict, after_s: float) -> None:
    """One line per round, then the pooled figures."""
    for r in result["per_round"]:
        if r["lost"]:
            out.print(f"  {r['round']:<16} LOST: no track predicted it")
            continue
        errs = "  ".join(f"{k} {_m(v)}" for k, v in r["impact_err_m"].items())
        cov = "-" if r["coverage95"] is None else f"{r['coverage95']:.2f}"
        out.print(f"  {r['round']:<16} track {r['track']:<4} impact error {errs}  coverage {cov}")
    med = "  ".join(f"{k} {_m(v)}" for k, v in result["median_impact_err_m"].items())
    org = "  ".join(f"{k} {_m(v)}" for k, v in result["median_origin_err_m"].items())
    cov = "-" if result["coverage95"] is None else f"{result['coverage95']:.2f}"
    out.print(f"median impact error after the first plot: {med}")
    out.print(f"median origin error after the first plot: {org}")
    out.print(
        f"95 % ellipse coverage (predictions {after_s:g} s or more after the first plot): "
        f"{cov}; {result['lost']} of {result['rounds']} rounds lost"
    )
