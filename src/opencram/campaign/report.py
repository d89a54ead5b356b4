"""The campaign report: one self-contained HTML file (figures as embedded PNG, no network)
with the layouts ranked and the distributions behind the summary."""

from __future__ import annotations

import base64
import html
import io
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pyarrow as pa


def _png(fig) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100, bbox_inches="tight", metadata={"Software": None})
    plt.close(fig)
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _fmt(x: Any, nd: int = 3) -> str:
    if x is None:
        return "–"
    if isinstance(x, float):
        return f"{x:.{nd}g}" if abs(x) < 1000 else f"{x:.0f}"
    return html.escape(str(x))


def _ci(ci: list) -> str:
    return "–" if not ci or ci[0] is None else f"[{_fmt(ci[0])}, {_fmt(ci[1])}]"


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
    allw = [w for ws in threats.column("warning_times_s").to_pylist() for w in ws]
    bins = np.linspace(0, max([*allw, 1.0]) * 1.05, 30)
    for name in summary["layouts"]:
        w = [x for ws in _rows(threats, name, "warning_times_s") for x in ws]
        if w:
            ax.hist(w, bins=bins, histtype="step", lw=1.8, label=f"{name} (n={len(w)})")
    ax.set_xlabel("warning time before impact (s)")
    ax.set_ylabel("zone hits")
    ax.set_title("Warning time distribution")
    if allw:
        ax.legend(fontsize=8)
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


def _impacts_figure(summary: dict, threats: pa.Table) -> str:
    names = list(summary["layouts"])
    fig, axes = plt.subplots(
        1, len(names), figsize=(4.2 * len(names), 4.2), squeeze=False, sharex=True, sharey=True
    )
    for ax, name in zip(axes[0], names, strict=True):
        lat = np.array([np.nan if v is None else v for v in _rows(threats, name, "impact_lat")])
        lon = np.array([np.nan if v is None else v for v in _rows(threats, name, "impact_lon")])
        leak = np.array(_rows(threats, name, "leaked_protected"), dtype=bool)
        ax.scatter(lon[~leak], lat[~leak], s=6, c="#4c72b0", label="landed elsewhere")
        ax.scatter(lon[leak], lat[leak], s=10, c="#d62728", label="leaked into protected zone")
        ilat = _rows(threats, name, "intercept_time_s")
        ax.set_title(f"{name}: impacts ({sum(v is not None for v in ilat)} intercepted)")
        ax.set_xlabel("longitude (°)")
        ax.set_aspect(1 / np.cos(np.radians(np.nanmean(lat) if np.isfinite(lat).any() else 0)))
    axes[0][0].set_ylabel("latitude (°)")
    axes[0][0].legend(fontsize=7)
    return _png(fig)


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


def render_campaign_report(summary: dict, threats: pa.Table) -> str:
    st = summary["settings"]
    rank_rows = "".join(
        "<tr>"
        f"<td>{r['rank']}</td><td>{html.escape(r['layout'])}</td>"
        f"<td>{_fmt(r['leakers_per_salvo'])} {_ci(r['leakers_per_salvo_ci95'])}</td>"
        f"<td>{_fmt(r['p_leak_protected'])} {_ci(r['p_leak_protected_ci95'])}</td>"
        f"<td>{_fmt(r['median_warning_s'])} {_ci(r['median_warning_s_ci95'])}</td>"
        + (
            f"<td>{_fmt(r['vs_best']['mean_extra_leakers_per_salvo'])} "
            f"{_ci(r['vs_best']['ci95'])} over {r['vs_best']['paired_runs']} runs</td>"
            if "vs_best" in r
            else "<td>best</td>"
        )
        + "</tr>"
        for r in summary["ranking"]
    )
    lay_rows = ""
    for name, s in summary["layouts"].items():
        w = s["warning_time_s"]
        fa = s["false_alerts"]
        am = s["ammunition"]
        pe = s["prediction_error"]
        lead = next((k for k in pe if k != "first"), None)
        lay_rows += (
            f"<tr><td>{html.escape(name)}</td>"
            f"<td>{s['runs']['ok']} / {s['runs']['failed']}</td>"
            f"<td>{_fmt(s['p_intercept']['p'])} {_ci(s['p_intercept']['ci95'])}</td>"
            f"<td>{_fmt(s['p_intercept_threatening']['p'])} "
            f"{_ci(s['p_intercept_threatening']['ci95'])}</td>"
            f"<td>{_fmt(w.get('p5'))} / {_fmt(w.get('median'))} / {_fmt(w.get('p95'))}"
            f" (missed {w['missed_warnings']})</td>"
            f"<td>{_fmt(fa['per_run'])} ({_fmt(fa['share_of_alerts']['p'])} of alerts)</td>"
            f"<td>{_fmt(am['rounds_per_burst'])} / {_fmt(am['rounds_per_kill'])}</td>"
            f"<td>{_fmt(pe[lead]['impact_err_m'].get('median') if lead else None)} / "
            f"{_fmt(pe[lead]['origin_err_m'].get('median') if lead else None)}</td></tr>"
        )
    failed = "".join(
        f"<tr><td>{html.escape(name)}</td><td>{f['run']}</td><td>{f['seed']}</td>"
        f"<td>{html.escape(str(f['error']))}</td></tr>"
        for name, s in summary["layouts"].items()
        for f in s["failed_runs"]
    )
    figs = [
        _ranking_figure(summary),
        _leakers_figure(summary),
        _warning_figure(summary, threats),
        _prediction_figure(summary),
        _impacts_figure(summary, threats),
        _ammo_figure(summary, threats),
    ]
    imgs = "".join(f'<p><img alt="figure" src="data:image/png;base64,{f}"></p>' for f in figs)
    vary = "".join(f"<li><code>{html.escape(v)}</code></li>" for v in st["vary"]) or "<li>none</li>"
    failed_html = (
        "<h2>Failed runs</h2><table><tr><th>layout</th><th>run</th><th>seed</th>"
        f"<th>error</th></tr>{failed}</table>"
        if failed
        else ""
    )
    lead_txt = next((k for k in next(iter(summary["layouts"].values()))["prediction_error"]), "")
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>opencram campaign: {html.escape(st["scenario"])}</title>
<style>
body {{ font-family: sans-serif; margin: 1.5em; max-width: 1100px; }}
table {{ border-collapse: collapse; margin: 0.8em 0; font-size: 0.9em; }}
td, th {{ border: 1px solid #ccc; padding: 0.25em 0.5em; text-align: left; }}
th {{ background: #f0f0f0; }} img {{ max-width: 100%; }}
</style></head><body>
<h1>Campaign: {html.escape(st["scenario"])}</h1>
<p>{st["runs"]} runs per layout, seeds {st["seed"]} to {st["seed"] + st["runs"] - 1}
(the same seeds for every layout: common random numbers). Variations:</p><ul>{vary}</ul>
<h2>Layouts ranked by protection</h2>
<p>By leakers into protected zones per salvo, then median warning time. Intervals: 95 %,
Wilson for probabilities, bootstrap over runs for means and medians. The last column is
the run-by-run difference from the best layout (same seeds).</p>
<table><tr><th>rank</th><th>layout</th><th>leakers per salvo</th><th>P(leak) per threat</th>
<th>median warning (s)</th><th>extra leakers vs best</th></tr>{rank_rows}</table>
<h2>Per layout</h2>
<table><tr><th>layout</th><th>runs ok / failed</th><th>P(intercept)</th>
<th>P(intercept) of threats to protected zones</th><th>warning time p5 / median / p95 (s)</th>
<th>false alerts per run</th><th>rounds per burst / per kill</th>
<th>median impact / origin error at {html.escape(lead_txt)} before impact (m)</th></tr>
{lay_rows}</table>
{failed_html}
<h2>Figures</h2>
{imgs}
<p>Rows per run and threat: <code>threats.parquet</code>; per run: <code>runs.parquet</code>;
figures above: <code>summary.json</code>.</p>
</body></html>
"""
