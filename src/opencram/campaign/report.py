"""The campaign report: one self-contained HTML file (figures as embedded PNG, no network)
with the layouts ranked and the distributions behind the summary.

The figures are drawn here with matplotlib; the tables are typed rows built from
summary.json (:func:`campaign_rows`); the page is rendered from the Jinja2 template
``templates/campaign_report.html.j2`` (its prose and CSS live there).
"""

from __future__ import annotations

import base64
import io
from dataclasses import dataclass
from functools import cache

import jinja2
import matplotlib

from opencram.templating import html_environment

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pyarrow as pa
from matplotlib.ticker import FormatStrFormatter

from opencram.analysis.report.figures import ZONE_STYLE

Interval = tuple[float | None, float | None]  # a 95 % interval; (None, None): none


def _png(fig) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100, bbox_inches="tight", metadata={"Software": None})
    plt.close(fig)
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _rows(threats: pa.Table, layout: str, column: str) -> list:
    lay = threats.column("layout").to_pylist()
    vals = threats.column(column).to_pylist()
    return [v for v, name in zip(vals, lay, strict=True) if name == layout]


def _ranking_figure(summary: dict) -> str:
    rank = summary["ranking"]
    fig, axes = plt.subplots(1, 2, figsize=(10, 0.6 * len(rank) + 1.6))
    names = [r["layout"] for r in rank][::-1]
    y = np.arange(len(names))
    for ax, key, label in (
        (axes[0], "leakers_per_salvo", "leakers into protected zones per salvo"),
        (axes[1], "median_warning_s", "median warning time (s)"),
    ):
        vals = np.array([np.nan if r[key] is None else r[key] for r in rank][::-1], float)
        ci = [r[f"{key}_ci95"] for r in rank][::-1]
        lo = np.array([np.nan if c[0] is None else c[0] for c in ci], float)
        hi = np.array([np.nan if c[1] is None else c[1] for c in ci], float)
        ax.barh(y, np.nan_to_num(vals), color="#4c72b0", alpha=0.7)
        err = np.vstack([np.clip(vals - lo, 0, None), np.clip(hi - vals, 0, None)])
        ax.errorbar(vals, y, xerr=np.nan_to_num(err), fmt="none", ecolor="k", capsize=4)
        ax.set_yticks(y, names)
        ax.set_xlabel(label)
        ax.grid(axis="x", alpha=0.3)
    axes[1].set_yticks(y, [""] * len(names))
    fig.suptitle("Layouts ranked (best at the top), 95 % intervals")
    return _png(fig)


def _warning_figure(summary: dict, threats: pa.Table) -> str:
    fig, ax = plt.subplots(figsize=(8, 3.6))
    zone = threats.column("warning_times_s").to_pylist()
    own = threats.column("own_track_warning_times_s").to_pylist()
    allw = [w for ws in zone for w in ws]
    bins = np.linspace(0, max([*allw, 1.0]) * 1.05, 30)
    for k, name in enumerate(summary["layouts"]):
        colour = f"C{k % 10}"
        w = [x for ws in _rows(threats, name, "warning_times_s") for x in ws]
        o = [
            x
            for ws in _rows(threats, name, "own_track_warning_times_s")
            for x in ws
            if x is not None
        ]
        if w:
            ax.hist(
                w,
                bins=bins,
                histtype="step",
                lw=1.8,
                color=colour,
                label=f"{name}: zone (n={len(w)})",
            )
        if o:
            ax.hist(
                o,
                bins=bins,
                histtype="step",
                lw=1.4,
                ls="--",
                color=colour,
                label=f"{name}: own track (n={len(o)})",
            )
    ax.set_xlabel("warning time before impact (s)")
    ax.set_ylabel("zone hits")
    ax.set_title("Warning time: zone alert up (solid), from the threat's own track (dashed)")
    if allw or any(x is not None for ws in own for x in ws):
        ax.legend(fontsize=7)
    return _png(fig)


def _leakers_figure(summary: dict) -> str:
    fig, ax = plt.subplots(figsize=(8, 3.4))
    lay = list(summary["layouts"])
    width = 0.8 / max(1, len(lay))
    kmax = max(
        [len(s["leakers_per_salvo"]["distribution"]) for s in summary["layouts"].values()] + [1]
    )
    for j, name in enumerate(lay):
        s = summary["layouts"][name]
        d = s["leakers_per_salvo"]["distribution"]
        n = max(1, s["runs"]["ok"])
        frac = [d.get(str(k), 0) / n for k in range(kmax)]
        ax.bar(np.arange(kmax) + j * width, frac, width, label=name)
    ax.set_xticks(np.arange(kmax) + 0.4 - width / 2, [str(k) for k in range(kmax)])
    ax.set_xlabel("leakers into protected zones in one salvo")
    ax.set_ylabel("share of runs")
    ax.set_title("Leakers per salvo")
    ax.legend(fontsize=8)
    return _png(fig)


def _prediction_figure(summary: dict) -> str:
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.4))
    for name, s in summary["layouts"].items():
        pe = s["prediction_error"]
        leads = [k for k in pe if k != "first"]
        x = [float(k[:-1]) for k in leads]
        for ax, key in zip(axes, ("impact_err_m", "origin_err_m"), strict=True):
            med = [pe[k][key].get("median") for k in leads]
            p90 = [pe[k][key].get("p90") for k in leads]
            ax.plot(x, [np.nan if v is None else v for v in med], "o-", label=f"{name} median")
            ax.plot(x, [np.nan if v is None else v for v in p90], "x:", label=f"{name} p90")
    for ax, t in zip(axes, ("impact point error (m)", "origin error (m)"), strict=True):
        ax.set_xlabel("time before true impact (s)")
        ax.set_ylabel(t)
        ax.invert_xaxis()
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=7)
    return _png(fig)


def _draw_zones_lonlat(ax, zones: list[dict]) -> list[np.ndarray]:
    """The scenario's zones on a lon/lat axis; returns their (lon, lat) outlines."""
    outlines = []
    for z in zones:
        st = ZONE_STYLE.get(z["kind"], ZONE_STYLE["warning"])
        for ring in z["rings"]:
            lat, lon = np.asarray(ring, float).T
            ax.fill(lon, lat, fc=st["fc"], alpha=st["alpha"], ec="none", zorder=1)
            ax.plot(lon, lat, color=st["ec"], lw=0.8, zorder=2)
            outlines.append(np.c_[lon, lat])
    return outlines


def _frame_lonlat(ax, points: np.ndarray) -> None:
    """Limits around ``points`` (lon, lat), equal metres per degree at their latitude, and
    plain tick labels in degrees (no offset)."""
    ok = points[np.isfinite(points).all(axis=1)]
    if ok.size:
        lo, hi = ok.min(axis=0), ok.max(axis=0)
        pad = 0.05 * max(float(np.max(hi - lo)), 0.002)
        ax.set_xlim(lo[0] - pad, hi[0] + pad)
        ax.set_ylim(lo[1] - pad, hi[1] + pad)
    lat0 = float(np.mean(ok[:, 1])) if ok.size else 0.0
    ax.set_aspect(1 / np.cos(np.radians(lat0)))
    for axis in (ax.xaxis, ax.yaxis):
        axis.set_major_formatter(FormatStrFormatter("%.3f"))
    ax.tick_params(axis="x", labelrotation=45, labelsize=7)
    ax.tick_params(axis="y", labelsize=7)


def impacts_figure(summary: dict, threats: pa.Table):
    """Per layout, where the threats landed (lon/lat degrees) over the scenario's zones."""
    names = list(summary["layouts"])
    fig, axes = plt.subplots(
        1, len(names), figsize=(4.6 * len(names), 4.8), squeeze=False, sharex=True, sharey=True
    )
    lat_all = np.array(
        [np.nan if v is None else v for v in threats.column("impact_lat").to_pylist()]
    )
    lon_all = np.array(
        [np.nan if v is None else v for v in threats.column("impact_lon").to_pylist()]
    )
    for ax, name in zip(axes[0], names, strict=True):
        outlines = _draw_zones_lonlat(ax, summary["zones"])
        lat = np.array([np.nan if v is None else v for v in _rows(threats, name, "impact_lat")])
        lon = np.array([np.nan if v is None else v for v in _rows(threats, name, "impact_lon")])
        leak = np.array(_rows(threats, name, "leaked_protected"), dtype=bool)
        landed = np.isfinite(lat) & np.isfinite(lon)
        lat, lon, leak = lat[landed], lon[landed], leak[landed]
        ax.scatter(lon[~leak], lat[~leak], s=6, c="#4c72b0", label="landed elsewhere", zorder=3)
        ax.scatter(
            lon[leak], lat[leak], s=10, c="#d62728", label="leaked into protected zone", zorder=3
        )
        ilat = _rows(threats, name, "intercept_time_s")
        ax.set_title(
            f"{name}: impacts ({sum(v is not None for v in ilat)} intercepted)", fontsize=9
        )
        ax.set_xlabel("longitude (°)")
        _frame_lonlat(ax, np.vstack([np.c_[lon_all, lat_all], *outlines]))
    axes[0][0].set_ylabel("latitude (°)")
    axes[0][0].legend(fontsize=7)
    fig.suptitle(
        "Impact points over the scenario's zones\n(as written, before layout overrides)",
        fontsize=10,
    )
    return fig


def _impacts_figure(summary: dict, threats: pa.Table) -> str:
    return _png(impacts_figure(summary, threats))


def _ammo_figure(summary: dict, threats: pa.Table) -> str:
    fig, ax = plt.subplots(figsize=(8, 3.2))
    for name in summary["layouts"]:
        r = np.array(_rows(threats, name, "rounds_fired"), float)
        r = r[r > 0]
        if r.size:
            ax.hist(r, bins=20, histtype="step", lw=1.8, label=name)
    ax.set_xlabel("rounds fired at one threat")
    ax.set_ylabel("threats engaged")
    ax.set_title("Ammunition per engaged threat")
    ax.legend(fontsize=8)
    return _png(fig)


# --- rows ------------------------------------------------------------------------------


@dataclass(frozen=True)
class VsBest:
    """A layout's mean extra leakers per salvo against the best layout, run by run on
    the same seeds."""

    mean_extra_leakers: float | None
    ci95: Interval
    paired_runs: int


@dataclass(frozen=True)
class RankRow:
    """One layout's line of the ranking (``vs_best`` None: the best layout)."""

    rank: int
    layout: str
    leakers_per_salvo: float | None
    leakers_per_salvo_ci95: Interval
    p_leak_protected: float | None
    p_leak_protected_ci95: Interval
    median_warning_s: float | None
    median_warning_s_ci95: Interval
    vs_best: VsBest | None


@dataclass(frozen=True)
class LayoutRow:
    """One layout's distributions: probabilities with 95 % intervals, warning time
    percentiles (s), false alerts, rounds, and median prediction errors (m) at the first
    lead time of the summary."""

    layout: str
    runs_ok: int
    runs_failed: int
    engaged: int  # threats with at least one burst fired at them
    threats: int
    p_intercept_engaged: float | None  # over engaged threats
    p_intercept_engaged_ci95: Interval
    p_intercept_all: float | None  # pooled over all threats, never-engaged ones included
    p_intercept_all_ci95: Interval
    p_intercept_threatening: float | None
    p_intercept_threatening_ci95: Interval
    warning_p5_s: float | None
    warning_median_s: float | None
    warning_p95_s: float | None
    own_warning_median_s: float | None  # from the threat's own track's first alert
    not_by_own_track: int  # zone hits warned whose alert never listed the threat's tracks
    missed_warnings: int
    false_alerts_per_run: float | None
    false_alert_share: float | None
    rounds_per_burst: float | None
    rounds_per_kill: float | None
    impact_err_median_m: float | None
    origin_err_median_m: float | None


@dataclass(frozen=True)
class FailedRun:
    layout: str
    run: int
    seed: int
    error: str


@dataclass(frozen=True)
class CampaignRows:
    """Every table of the campaign report, and what the header says."""

    scenario: str
    runs: int
    first_seed: int
    vary: tuple[str, ...]
    lead: str  # the lead time of the prediction error column, e.g. "20s"
    ranking: tuple[RankRow, ...]
    layouts: tuple[LayoutRow, ...]
    failed: tuple[FailedRun, ...]


def _interval(ci: list | None) -> Interval:
    return (None, None) if not ci else (ci[0], ci[1])


def _rank_row(r: dict) -> RankRow:
    vs = r.get("vs_best")
    return RankRow(
        rank=r["rank"],
        layout=r["layout"],
        leakers_per_salvo=r["leakers_per_salvo"],
        leakers_per_salvo_ci95=_interval(r["leakers_per_salvo_ci95"]),
        p_leak_protected=r["p_leak_protected"],
        p_leak_protected_ci95=_interval(r["p_leak_protected_ci95"]),
        median_warning_s=r["median_warning_s"],
        median_warning_s_ci95=_interval(r["median_warning_s_ci95"]),
        vs_best=None
        if vs is None
        else VsBest(vs["mean_extra_leakers_per_salvo"], _interval(vs["ci95"]), vs["paired_runs"]),
    )


def _layout_row(name: str, s: dict) -> LayoutRow:
    w, fa, am, pe = s["warning_time_s"], s["false_alerts"], s["ammunition"], s["prediction_error"]
    own = s["own_track_warning_time_s"]
    lead = next((k for k in pe if k != "first"), None)
    return LayoutRow(
        layout=name,
        runs_ok=s["runs"]["ok"],
        runs_failed=s["runs"]["failed"],
        engaged=s["engaged"],
        threats=s["threats"],
        p_intercept_engaged=s["p_intercept_engaged"]["p"],
        p_intercept_engaged_ci95=_interval(s["p_intercept_engaged"]["ci95"]),
        p_intercept_all=s["p_intercept_all"]["p"],
        p_intercept_all_ci95=_interval(s["p_intercept_all"]["ci95"]),
        p_intercept_threatening=s["p_intercept_threatening"]["p"],
        p_intercept_threatening_ci95=_interval(s["p_intercept_threatening"]["ci95"]),
        warning_p5_s=w.get("p5"),
        warning_median_s=w.get("median"),
        warning_p95_s=w.get("p95"),
        own_warning_median_s=own.get("median"),
        not_by_own_track=own["not_by_own_track"],
        missed_warnings=w["missed_warnings"],
        false_alerts_per_run=fa["per_run"],
        false_alert_share=fa["share_of_alerts"]["p"],
        rounds_per_burst=am["rounds_per_burst"],
        rounds_per_kill=am["rounds_per_kill"],
        impact_err_median_m=pe[lead]["impact_err_m"].get("median") if lead else None,
        origin_err_median_m=pe[lead]["origin_err_m"].get("median") if lead else None,
    )


def campaign_rows(summary: dict) -> CampaignRows:
    """The report's tables from a campaign's summary.json."""
    st = summary["settings"]
    layouts = summary["layouts"]
    return CampaignRows(
        scenario=st["scenario"],
        runs=st["runs"],
        first_seed=st["seed"],
        vary=tuple(st["vary"]),
        lead=next((k for k in next(iter(layouts.values()))["prediction_error"]), ""),
        ranking=tuple(_rank_row(r) for r in summary["ranking"]),
        layouts=tuple(_layout_row(name, s) for name, s in layouts.items()),
        failed=tuple(
            FailedRun(name, f["run"], f["seed"], str(f["error"]))
            for name, s in layouts.items()
            for f in s["failed_runs"]
        ),
    )


# --- the page --------------------------------------------------------------------------


def significant(x) -> str:
    """A float to 3 significant digits (whole numbers from 1000 up); anything else as is."""
    if isinstance(x, float):
        return f"{x:.3g}" if abs(x) < 1000 else f"{x:.0f}"
    return str(x)


@cache
def environment() -> jinja2.Environment:
    """The template's environment: HTML-escaped, block tags leave no blank lines."""
    env = html_environment("opencram.campaign")
    env.filters["significant"] = significant
    return env


def render_campaign_report(summary: dict, threats: pa.Table) -> str:
    """The campaign's report.html: ``summary`` its summary.json, ``threats`` its rows per
    run and threat (threats.parquet)."""
    figures = [
        _ranking_figure(summary),
        _leakers_figure(summary),
        _warning_figure(summary, threats),
        _prediction_figure(summary),
        _impacts_figure(summary, threats),
        _ammo_figure(summary, threats),
    ]
    page = environment().get_template("campaign_report.html.j2")
    return page.render(rows=campaign_rows(summary), figures=figures)
