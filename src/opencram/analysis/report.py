"""``report.html``: a self-contained, offline run report.

Figures are drawn with matplotlib (Agg) and embedded as base64 PNG, so the file opens with
no network and no companion files. Built only from the run's events, summary and truth.
"""

from __future__ import annotations

import base64
import html
import io
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from opencram.c2.engine import RunResult

ZONE_STYLE = {
    "protected": {"fc": "#d62728", "alpha": 0.25, "ec": "#d62728"},
    "no-fire": {"fc": "#9467bd", "alpha": 0.2, "ec": "#9467bd"},
    "warning": {"fc": "#ffbf00", "alpha": 0.10, "ec": "#b8860b"},
}


def _png(fig) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight", metadata={"Software": None})
    plt.close(fig)
    return base64.b64encode(buf.getvalue()).decode("ascii")


def ground_tracks(result: RunResult) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """(id, times (k,), ENU positions (k, 3)) of every round's true flight."""
    world = result.world
    truth = world.truth
    out = []
    if truth.flight is not None:
        f = truth.flight
        for j, k in enumerate(truth.ballistic_idx):
            r = truth.rounds[k]
            t_imp = f.impact_t_s[j] if f.landed[j] else f.dt_s * (f.pos_enu_m.shape[0] - 1)
            n = int(np.floor(t_imp / f.dt_s)) + 1
            t = np.r_[np.arange(n) * f.dt_s, t_imp]
            p = np.vstack([f.pos_enu_m[:n, j], f.impact_pos_enu_m[j : j + 1]])
            out.append((r.id, r.launch_t_s + t, p))
    for k, path in zip(truth.drone_idx, truth.drone_paths, strict=True):
        t = np.linspace(path.start_s, path.end_s, 400)
        out.append((truth.rounds[k].id, t, path.state_at(t)[0]))
    return out


def map_figure(result: RunResult):
    world = result.world
    s = world.scenario
    fig, ax = plt.subplots(figsize=(8.5, 8.5))
    for name, kind, poly in zip(
        world.zones.names, world.zones.kinds, world.zones.polygons_enu, strict=True
    ):
        st = ZONE_STYLE[kind]
        geoms = getattr(poly, "geoms", [poly])
        for g in geoms:
            x, y = np.asarray(g.exterior.xy) / 1000.0
            ax.fill(x, y, fc=st["fc"], alpha=st["alpha"], ec="none")
            ax.plot(x, y, color=st["ec"], lw=1.0)
        c = poly.representative_point()
        ax.annotate(name, (c.x / 1000, c.y / 1000), fontsize=7, ha="center", color=st["ec"])
    for lm in s.landmarks:
        p = world.frame.to_enu(lm.lat, lm.lon, s.site.alt_m) / 1000.0
        ax.plot(p[0], p[1], marker="*", color="#444", ms=7)
        ax.annotate(lm.name, (p[0], p[1]), fontsize=6.5, xytext=(4, 3), textcoords="offset points")
    for sen in s.sensors:
        p = world.frame.to_enu(sen.lat, sen.lon, s.site.alt_m) / 1000.0
        ax.plot(p[0], p[1], marker="^", color="#1f77b4", ms=8, ls="none")
        ax.annotate(sen.id, (p[0], p[1]), fontsize=6.5, xytext=(4, -8), textcoords="offset points")
    for w in s.weapons:
        p = world.frame.to_enu(w.lat, w.lon, s.site.alt_m) / 1000.0
        ax.plot(p[0], p[1], marker="s", color="#2ca02c", ms=7, ls="none")
        ax.annotate(w.id, (p[0], p[1]), fontsize=6.5, xytext=(4, -8), textcoords="offset points")
    for rid, _, p in ground_tracks(result):
        ax.plot(p[:, 0] / 1000, p[:, 1] / 1000, color="#d62728", lw=1.0)
        ax.plot(p[0, 0] / 1000, p[0, 1] / 1000, marker="o", color="k", ms=4)
        ax.plot(p[-1, 0] / 1000, p[-1, 1] / 1000, marker="x", color="#d62728", ms=8, mew=2)
        ax.annotate(
            rid,
            (p[-1, 0] / 1000, p[-1, 1] / 1000),
            fontsize=7,
            xytext=(5, 5),
            textcoords="offset points",
            color="#d62728",
        )
    if result.plots is not None and len(result.plots):
        from opencram.sense.plots import plots_to_enu

        pe = plots_to_enu(result.plots, np.array([r.pos_enu_m for r in result.tracker.sensors]))
        fa = result.plots.truth_id < 0
        ax.plot(pe[~fa, 0] / 1000, pe[~fa, 1] / 1000, ".", color="#7f7f7f", ms=1.5, zorder=1)
        if fa.any():
            ax.plot(pe[fa, 0] / 1000, pe[fa, 1] / 1000, "x", color="#bcbd22", ms=2.5, zorder=1)
    for tid, x in track_lines(result).items():
        ax.plot(x[:, 0] / 1000, x[:, 1] / 1000, color="#1f77b4", lw=1.4, alpha=0.8)
        ax.annotate(
            f"T{tid}",
            (x[-1, 0] / 1000, x[-1, 1] / 1000),
            fontsize=6.5,
            color="#1f77b4",
            xytext=(-12, -9),
            textcoords="offset points",
        )
    _draw_ellipses(ax, result)
    for b in result.engagements or []:
        x, y = b["pos_enu_m"][:2] / 1000.0
        ax.plot(
            x,
            y,
            marker="*" if b["killed"] else "o",
            ms=11 if b["killed"] else 5,
            color="#2ca02c",
            mec="k",
            mew=0.6,
            zorder=5,
        )
    for a_id, path in zip(world.aircraft_ids, world.aircraft_paths, strict=True):
        v = path.vertices_enu_m / 1000.0
        ax.plot(v[:, 0], v[:, 1], color="#17becf", lw=1.2, ls="--")
        ax.annotate(a_id, (v[0, 0], v[0, 1]), fontsize=7, color="#17becf")
    ax.plot(0, 0, marker="+", color="k", ms=10)
    # frame the zones, sites and threat tracks; aircraft may fly off the map
    pts = [np.zeros((1, 2))]
    for poly in world.zones.polygons_enu:
        x0, y0, x1, y1 = poly.bounds
        pts.append(np.array([[x0, y0], [x1, y1]]))
    pts.extend(p[:, :2] for _, _, p in ground_tracks(result))
    allp = np.vstack(pts) / 1000.0
    lo, hi = allp.min(axis=0), allp.max(axis=0)
    pad = 0.08 * max(hi - lo) + 0.3
    ax.set_xlim(lo[0] - pad, hi[0] + pad)
    ax.set_ylim(lo[1] - pad, hi[1] + pad)
    ax.set_aspect("equal")
    ax.set_xlabel("east of site origin (km)")
    ax.set_ylabel("north of site origin (km)")
    title = "zones, true trajectories and impacts"
    if result.tracker is not None:
        title += ", radar plots and tracks"
    ax.set_title(f"{s.name}: {title}")
    ax.grid(True, lw=0.3)
    return fig


def _latest_ground_events(result: RunResult, kind: str) -> dict:
    out = {}
    for e in result.events:
        if e.kind == kind:
            out[e.track_id] = e
    return out


def _ellipse_xy(world, e, n: int = 60) -> np.ndarray:
    """Outline (n, 2) in km of an event's 95 % ellipse in the local frame."""
    c = world.frame.to_enu(e.lat, e.lon, world.scenario.site.alt_m)
    a, b = e.ellipse95.semi_major_m, e.ellipse95.semi_minor_m
    th = np.radians(e.ellipse95.orientation_deg)
    major = np.array([np.sin(th), np.cos(th)])  # azimuth clockwise from north
    minor = np.array([np.cos(th), -np.sin(th)])
    s = np.linspace(0, 2 * np.pi, n)
    pts = c[:2] + np.outer(a * np.cos(s), major) + np.outer(b * np.sin(s), minor)
    return pts / 1000.0


def _draw_ellipses(ax, result: RunResult) -> None:
    """First and last impact ellipses and last origin ellipse of every track."""
    world = result.world
    first: dict = {}
    for e in result.events:
        if e.kind == "impact_predicted":
            first.setdefault(e.track_id, e)
    for e in first.values():
        xy = _ellipse_xy(world, e)
        ax.plot(xy[:, 0], xy[:, 1], color="#ff7f0e", lw=0.8, ls=":")
    for e in _latest_ground_events(result, "impact_predicted").values():
        xy = _ellipse_xy(world, e)
        ax.plot(xy[:, 0], xy[:, 1], color="#ff7f0e", lw=1.4)
    for e in _latest_ground_events(result, "respond").values():
        xy = _ellipse_xy(world, e)
        ax.plot(xy[:, 0], xy[:, 1], color="#e377c2", lw=1.4)
        c = xy.mean(axis=0)
        ax.annotate(
            f"origin T{e.track_id}",
            (c[0], c[1]),
            fontsize=6.5,
            color="#e377c2",
            xytext=(5, -10),
            textcoords="offset points",
        )


def alert_figure(result: RunResult):
    """Alert timeline per warning zone, with the impacts in each zone."""
    from opencram.warn.metrics import alert_episodes

    world = result.world
    times, names, p = result.alert_history
    eps = alert_episodes(times, p, world.scenario.warning.threshold)
    fig, ax = plt.subplots(figsize=(8.5, 0.45 * len(names) + 1.4))
    end = float(times[-1]) if len(times) else result.end_s
    for z, t0, t1 in eps:
        ax.barh(z, min(t1, end) - t0, left=t0, color="#d62728", alpha=0.6, height=0.6)
    t_imp = world.truth.impact_times()
    pts = world.truth.impact_points()
    for i in range(len(world.truth.rounds)):
        if not np.isfinite(t_imp[i]):
            continue
        for zname in world.zones.zones_at(pts[i, 0], pts[i, 1]):
            if zname in names:
                ax.plot(t_imp[i], names.index(zname), marker="x", color="k", ms=8, mew=2)
    ax.set_yticks(range(len(names)))
    ax.set_yticklabels(names, fontsize=7)
    ax.set_xlim(0, end)
    ax.set_xlabel("time since scenario start (s)")
    ax.set_title("Alerts per warning zone (red) and impacts (x)")
    ax.grid(True, axis="x", lw=0.3)
    return fig


def trade_off_figure(rows: list[dict]):
    fig, ax = plt.subplots(figsize=(5.5, 3.4))
    fa = [r["false_alerts"] for r in rows]
    wt = [r["mean_warning_s"] if r["mean_warning_s"] is not None else np.nan for r in rows]
    ax.plot(fa, wt, "o-")
    for r, x, y in zip(rows, fa, wt, strict=True):
        ax.annotate(
            f"{r['threshold']:g}", (x, y), fontsize=7, xytext=(4, 3), textcoords="offset points"
        )
    ax.set_xlabel("false alerts (zone episodes with no impact)")
    ax.set_ylabel("mean warning time (s)")
    ax.set_title("Threshold trade-off (labels: threshold)")
    ax.grid(True, lw=0.3)
    return fig


def track_lines(result: RunResult) -> dict[int, np.ndarray]:
    """Confirmed tracks' updated positions (k, 3) by track id."""
    if result.tracker is None:
        return {}
    from opencram.track.output import confirmed_updates

    return {
        tid: np.array([u.x[:3] for u in ups])
        for tid, ups in confirmed_updates(result.tracker).items()
    }


def gospa_figure(result: RunResult):
    from opencram.analysis.tracking import GOSPA_C_M, score_run

    score = score_run(result.world, result.tracker, result.end_s)
    g = score.gospa
    fig, ax = plt.subplots(figsize=(8.5, 3.2))
    ax.plot(g.t_s, g.distance, color="k", lw=1.3, label="GOSPA")
    ax.plot(g.t_s, np.sqrt(np.maximum(g.localisation, 0)), lw=1, label="localisation part")
    ax.plot(g.t_s, np.sqrt(g.missed), lw=1, label="missed part")
    ax.plot(g.t_s, np.sqrt(g.false), lw=1, label="false part")
    ax.set_xlabel("time since scenario start (s)")
    ax.set_ylabel("m")
    ax.set_title(f"GOSPA over time (c = {GOSPA_C_M:g} m, p = 2)")
    ax.grid(True, lw=0.3)
    ax.legend(fontsize=7)
    return fig


def altitude_figure(result: RunResult):
    fig, ax = plt.subplots(figsize=(8.5, 3.8))
    for rid, t, p in ground_tracks(result):
        ax.plot(t, p[:, 2], lw=1.2, label=rid)
    ax.set_xlabel("time since scenario start (s)")
    ax.set_ylabel("height above site (m)")
    ax.set_title("Altitude over time (truth)")
    ax.grid(True, lw=0.3)
    if 0 < len(ax.lines) <= 12:
        ax.legend(fontsize=7)
    return fig


def _table(rows: list[list[str]], head: list[str]) -> str:
    th = "".join(f"<th>{html.escape(h)}</th>" for h in head)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in r) + "</tr>" for r in rows)
    return f"<table><thead><tr>{th}</tr></thead><tbody>{body}</tbody></table>"


def _fmt(x, nd=1, unit="") -> str:
    return "&ndash;" if x is None else f"{x:.{nd}f}{unit}"


CSS = """
body{font-family:system-ui,sans-serif;margin:2em auto;max-width:1000px;color:#222}
h1{font-size:1.5em}
h2{font-size:1.15em;border-bottom:1px solid #ddd;padding-bottom:.2em;margin-top:1.6em}
table{border-collapse:collapse;font-size:.85em;width:100%}
th,td{border:1px solid #ddd;padding:.3em .5em;text-align:left}
th{background:#f4f4f4}.note{color:#666;font-size:.85em}img{max-width:100%}
.kpi{display:inline-block;margin:.3em 1.2em .3em 0}.kpi b{font-size:1.3em;display:block}
"""


def render_report(result: RunResult, summary: dict[str, Any]) -> str:
    s = result.world.scenario
    map_png = _png(map_figure(result))
    alt_png = _png(altitude_figure(result))
    rows = []
    for t in summary["threats"]:
        im = t["impact"]
        rows.append(
            [
                html.escape(t["id"]),
                html.escape(t["type"]),
                _fmt(t["launch"]["time_s"], 1, " s"),
                _fmt(im["time_s"] if im else None, 1, " s"),
                _fmt(im["flight_time_s"] if im else None, 1, " s"),
                f"{im['lat']:.5f}, {im['lon']:.5f}" if im else "in flight at end",
                _fmt(im["miss_from_aim_m"] if im else None, 0, " m"),
                _fmt(t["apogee_m"], 0, " m"),
                html.escape(", ".join(t["zones"]) or "open ground"),
            ]
        )
    table = _table(
        rows,
        [
            "threat",
            "type",
            "launch",
            "impact",
            "flight",
            "impact lat, lon",
            "miss from aim",
            "apogee",
            "zones hit",
        ],
    )
    zrows = [[html.escape(z["name"]), z["kind"], str(z["impacts"])] for z in summary["zones"]]
    ztable = _table(zrows, ["zone", "kind", "impacts"])
    tracking_html = ""
    if result.tracker is not None and "tracking" in summary:
        tk = summary["tracking"]
        g_png = _png(gospa_figure(result))
        trows = [
            [
                html.escape(t["id"]),
                _fmt(t["tracking"]["first_plot_s"], 1, " s"),
                _fmt(t["tracking"]["first_confirmed_s"], 1, " s"),
                ", ".join(f"T{i}" for i in t["tracking"]["track_ids"]) or "&ndash;",
                html.escape(
                    ", ".join(
                        tk["track_classes"].get(str(i), "?") for i in t["tracking"]["track_ids"]
                    )
                    or "&ndash;"
                ),
            ]
            for t in summary["threats"]
        ]
        tracking_html = f"""<h2>Sensing and tracking</h2>
<p>{tk["plots"]} plots ({tk["false_plots"]} false), {tk["confirmed_tracks"]} confirmed tracks
({html.escape(tk["filter"].upper())} filter). Mean GOSPA {_fmt(tk["mean_gospa_m"], 1, " m")},
position RMSE {_fmt(tk["position_rmse_m"], 1, " m")}, {tk["breaks"]} track breaks,
{tk["swaps"]} swaps.</p>
{_table(trows, ["threat", "first plot", "first confirmed track", "tracks", "class"])}
<img alt="GOSPA over time" src="data:image/png;base64,{g_png}">"""
    engage_html = ""
    if result.engagements is not None:
        orows = []
        for t in summary["threats"]:
            o = t.get("outcome", "")
            if o == "intercepted":
                i = t["intercept"]
                detail = (
                    f"at {i['time_s']:.1f} s, {i['alt_m']:.0f} m up, by {i['gun']}, "
                    f"{i['rounds']} rounds"
                )
            elif o == "leaked":
                detail = f"landed in {t['leak']['zone']}" + (
                    " (engaged)" if t["leak"]["engaged"] else " (not engaged)"
                )
            else:
                detail = t.get("not_engaged_reason", "")
            orows.append([html.escape(t["id"]), html.escape(o), html.escape(detail)])
        brows = [
            [
                html.escape(b["gun"]),
                f"T{b['track_id']}",
                _fmt(b["fire_s"], 1, " s"),
                _fmt(b["intercept_s"], 1, " s"),
                str(b["rounds"]),
                f"{b['p_kill']:.2f}",
                "destroyed" if b["killed"] else "survived",
                str(b["ammo_left"]),
            ]
            for b in result.engagements
        ]
        engage_html = f"""<h2>Engagements</h2>
{_table(orows, ["threat", "outcome", "detail"])}
<p>Bursts (green on the map: star, destroyed; dot, survived):</p>
{
            _table(
                brows,
                ["gun", "track", "fire", "intercept", "rounds", "P(kill)", "result", "ammo left"],
            )
            if brows
            else "<p>No gun fired.</p>"
        }"""
    warn_html = ""
    if "warning" in summary and result.alert_history[1]:
        w = summary["warning"]
        a_png = _png(alert_figure(result))
        t_png = _png(trade_off_figure(w["trade_off"]))
        wrows = [
            [html.escape(x["zone"]), html.escape(x["threat"]), _fmt(x["warning_s"], 1, " s")]
            for x in w["warning_times_s"]
        ]
        missed = ", ".join(f"{m['zone']} ({m['threat']})" for m in w["missed_warnings"])
        false = ", ".join(f"{f['zone']} at {f['raised_s']:.1f} s" for f in w["false_alerts"])
        warn_html = f"""<h2>Prediction and warning</h2>
<p>Map: dotted orange, each track's first impact ellipse (95 %); solid orange, its last;
magenta, its last point-of-origin ellipse. Alerts go to warning zones whose probability of
an impact (zone grown by the threat's lethal radius) reaches {w["threshold"]:g}.</p>
{_table(wrows, ["zone hit", "threat", "warning time"])}
<p>Missed warnings: {html.escape(missed) or "none"}. False alerts: {html.escape(false) or "none"}.
Alerted zone area {w["alerted_zone_area_km2"]:.2f} km²
({w["alerted_area_time_km2s"]:.0f} km²·s).</p>
<img alt="alert timeline" src="data:image/png;base64,{a_png}">
<img alt="threshold trade-off" src="data:image/png;base64,{t_png}">"""
    tot = summary["totals"]
    kpis = "".join(
        f'<span class="kpi"><b>{v}</b>{html.escape(k)}</span>'
        for k, v in [
            ("threats", tot["threats"]),
            ("impacts", tot["impacts"]),
            ("in protected zones", tot["impacts_in_protected_zones"]),
            ("in flight at end", tot["in_flight_at_end"]),
        ]
    )
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>opencram run report: {html.escape(s.name)}</title><style>{CSS}</style></head>
<body>
<h1>opencram run report: {html.escape(s.name)}</h1>
<p>{html.escape(s.description)}</p>
<p class="note">Scenario {html.escape(summary["source"])}, seed {summary["seed"]},
site {html.escape(s.site.name)} ({s.site.lat:.5f}, {s.site.lon:.5f}), simulated to
t = {summary["end_time_s"]:.1f} s. opencram {html.escape(summary["opencram_version"])}.</p>
<div>{kpis}</div>
<h2>Map</h2>
<img alt="map of zones, trajectories and impacts" src="data:image/png;base64,{map_png}">
<p class="note">Local ENU frame at the site origin (+). Red: protected zones; purple: no-fire;
amber: warning zones. Black dots: launch points; red crosses: impacts; blue triangles: radars;
green squares: guns; dashed cyan: friendly aircraft; grey dots: radar plots; blue lines with
T-numbers: confirmed tracks; orange: impact ellipses; magenta: origin ellipses.</p>
<h2>Altitude over time</h2>
<img alt="altitude over time" src="data:image/png;base64,{alt_png}">
<h2>Threats</h2>
{table}
{tracking_html}
{warn_html}
<h2>Zones</h2>
{ztable}
{engage_html}
<p class="note">Not yet in this report: dud and debris footprints (a later stage).</p>
</body></html>
"""
