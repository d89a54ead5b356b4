"""The report page: the rows and figures rendered through the Jinja2 templates shipped
in ``templates/`` (``report.html.j2``, one partial per section, ``report.css``)."""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import jinja2

from opencram.analysis.report.figures import render_figures
from opencram.analysis.report.rows import ReportRows, report_rows
from opencram.c2.engine import RunResult
from opencram.interop.runview import from_result
from opencram.templating import html_environment


@dataclass
class Report:
    """The report's HTML and the PNG bytes of each of its figures (by file stem)."""

    html: str
    figures: dict[str, bytes] = field(default_factory=dict)


@cache
def environment() -> jinja2.Environment:
    """The templates' environment: HTML-escaped, block tags leave no blank lines."""
    return html_environment("opencram.analysis.report")


def render_page(rows: ReportRows, figures: dict[str, bytes]) -> str:
    """The page's HTML, each figure inlined as a base64 data: URI."""
    data = {name: base64.b64encode(png).decode("ascii") for name, png in figures.items()}
    return environment().get_template("report.html.j2").render(rows=rows, figures=data)


def build_report(result: RunResult, summary: dict[str, Any]) -> Report:
    """The report of a finished run: built only from its events, summary and truth; the
    same run gives the same bytes."""
    view = from_result(result, summary)
    figures = render_figures(result, view, summary)
    return Report(render_page(report_rows(result, view), figures), figures)


def render_report(result: RunResult, summary: dict[str, Any]) -> str:
    """The report's HTML alone (figures embedded)."""
    return build_report(result, summary).html
