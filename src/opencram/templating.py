"""The Jinja2 environment of opencram's HTML pages (the run report and the campaign report):
templates shipped as package data, HTML-escaped, strict about undefined names, and block
tags that leave no blank lines."""

from __future__ import annotations

import jinja2


def html_environment(package: str, folder: str = "templates") -> jinja2.Environment:
    """An environment loading the templates in ``folder`` of ``package``."""
    return jinja2.Environment(
        loader=jinja2.PackageLoader(package, folder),
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        undefined=jinja2.StrictUndefined,
    )
