"""The report page: the rows and figures rendered through the Jinja2 templates shipped
in ``templates/`` (``report.html.j2``, one partial per section, ``report.css``)."""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

import jinja2

from opencram.analysis.report.figures import render_figures
from opencram.analysis.report.rows import ReportRows, report_rows
from opencram.analysis.report.webmap import map_data, map_json, site_layers
from opencram.c2.engine import RunResult
from opencram.interop.runview import from_result
from opencram.templating import html_environment
from opencram.tiles import TileSource


@dataclass
class Report:
    """The report's HTML and the PNG bytes of each of its figures (by file stem)."""

    html: str
    figures: dict[str, bytes] = field(default_factory=dict)


@cache
def environment() -> jinja2.Environment:
    """The templates' environment: HTML-escaped, block tags leave no blank lines."""
    return html_environment("opencram.analysis.report")


def template_text(name: str) -> str:
    """A file shipped in ``templates/`` (a script), as text."""
    path = resources.files("opencram.analysis.report").joinpath("templates", name)
    return path.read_text("utf-8")


@cache
def webmap_script() -> str:
    """The interactive map's scripts, inlined in every report: ``templates/mgrs.js`` (the
    MGRS reference, which the console serves too) and ``templates/webmap.js``."""
    return template_text("mgrs.js") + "\n" + template_text("webmap.js")


def render_page(
    rows: ReportRows, figures: dict[str, bytes], webmap: dict[str, Any] | None = None
) -> str:
    """The page's HTML, each figure inlined as a base64 data: URI and the interactive
    map's data (:func:`~opencram.analysis.report.webmap.map_data`) and script inlined
    (None: the page has the printable map only)."""
    data = {name: base64.b64encode(png).decode("ascii") for name, png in figures.items()}
    return (
        environment()
        .get_template("report.html.j2")
        .render(
            rows=rows,
            figures=data,
            webmap_json=map_json(webmap) if webmap else "",
            webmap_js=webmap_script(),
        )
    )


def build_report(
    result: RunResult,
    summary: dict[str, Any],
    layers: tuple | None = None,
    tiles: TileSource | None = None,
) -> Report:
    """The report of a finished run: built only from its events, summary and truth; the
    same run gives the same bytes. ``layers``: the scenario's site layers
    (``LoadedScenario.layers``); by default read again from the scenario's own files.
    ``tiles``: a base map for the interactive map (:mod:`opencram.tiles`)."""
    view = from_result(result, summary)
    if layers is None:
        layers = site_layers(result.world.scenario, result.world.source)
    figures = render_figures(result, view, summary, layers)
    html = render_page(report_rows(result, view), figures, map_data(view, layers, tiles))
    return Report(html, figures)


def render_report(result: RunResult, summary: dict[str, Any]) -> str:
    """The report's HTML alone (figures embedded)."""
    return build_report(result, summary).html
