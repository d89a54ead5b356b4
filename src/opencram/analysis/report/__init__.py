"""``report.html``: a self-contained, offline run report (part of ``analysis``, read from a
run's events and summary), in three parts.

- :mod:`~opencram.analysis.report.figures`: the matplotlib figures as PNG bytes (the map,
  the run's timeline, engagements per gun, the collateral map, alerts, the threshold
  trade-off, GOSPA, altitude);
- :mod:`~opencram.analysis.report.rows`: the tables as typed rows, pure data;
- :mod:`~opencram.analysis.report.page`: the page, rendered from the Jinja2 templates in
  ``templates/`` (the prose and CSS live there), figures inlined as base64 PNG so the file
  opens with no network and no companion files.

Sections: a header summary (scenario, seed, outcomes), the map, the run's timeline, a
per-threat table (outcome, warning time, prediction error, intercept or why not engaged),
warning, engagements (per-gun timeline with ammunition and reloads, bursts, withheld
fire, operator actions), tracking, zones and altitude. :func:`build_report` also returns
each figure's PNG bytes, which the run folder keeps under ``figures/``.
"""

from opencram.analysis.report.page import Report, build_report, render_report

__all__ = ["Report", "build_report", "render_report"]
