"""``report.html``: a self-contained, offline run report.

Sections: a header summary (scenario, seed, outcomes), the map (zones, landmarks, true
trajectories, radar plots, tracks, impact and origin ellipses, intercepts, collateral
footprints), the run's timeline, a per-threat table (outcome, warning time, prediction
error, intercept or why not engaged), warning, engagements (per-gun timeline with
ammunition and reloads, bursts, withheld fire), tracking and zones.

Figures are drawn with matplotlib (Agg) and embedded as base64 PNG, so the file opens with
no network and no companion files; :func:`build_report` also returns each figure's PNG
bytes, which the run folder keeps under ``figures/``. Built only from the run's events,
summary and truth; the same run gives the same bytes.
"""

from __future__ import annotations

import base64
import html
import io
from dataclasses import dataclass, field
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from opencram.c2.engine import RunResult
from opencram.interop.runview import RunView, from_result

ZONE_STYLE = {
    "protected": {"fc": "#d62728", "alpha": 0.25, "ec": "#d62728"},
    "no-fire": {"fc": "#9467bd", "alpha": 0.2, "ec": "#9467bd"},
    "warning": {"fc": "#ffbf00", "alpha": 0.10, "ec": "#b8860b"},
}


FOOTPRINT_STYLE = {"dud": "#8c564b", "debris": "#7f7f7f"}
OUTCOME_COLOUR = {"intercepted": "#2ca02c", "leaked": "#d62728", "not_engaged": "#ff7f0e"}


def _png_bytes(fig) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight", metadata={"Software": None})
    plt.close(fig)
    return buf.getvalue()


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


def map_figure(result: RunResult, view: RunView | None = None, *, zoom: bool = False):
    """The run on a map. With ``zoom`` (the collateral map): framed on the guns, the
    protected and no-fire zones, the intercepts and the footprints, without radar plots."""
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
    if result.plots is not None and len(result.plots) and not zoom:
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
    extra = _draw_engagements(ax, world, view) if view is not None else []
    for a_id, path in zip(world.aircraft_ids, world.aircraft_paths, strict=True):
        v = path.vertices_enu_m / 1000.0
        ax.plot(v[:, 0], v[:, 1], color="#17becf", lw=1.2, ls="--")
        ax.annotate(a_id, (v[0, 0], v[0, 1]), fontsize=7, color="#17becf")
    ax.plot(0, 0, marker="+", color="k", ms=10)
    if zoom:
        # frame the guns, the protected and no-fire zones, intercepts and footprints
        pts = [world.frame.to_enu(w.lat, w.lon, s.site.alt_m)[None, :2] for w in s.weapons]
        for kind, poly in zip(world.zones.kinds, world.zones.polygons_enu, strict=True):
            if kind in ("protected", "no-fire"):
                x0, y0, x1, y1 = poly.bounds
                pts.append(np.array([[x0, y0], [x1, y1]]))
        pts.extend(extra)
    else:
        # frame the zones, sites and threat tracks; aircraft may fly off the map
        pts = [np.zeros((1, 2))]
        for poly in world.zones.polygons_enu:
            x0, y0, x1, y1 = poly.bounds
            pts.append(np.array([[x0, y0], [x1, y1]]))
        pts.extend(p[:, :2] for _, _, p in ground_tracks(result))
        pts.extend(extra)
    allp = np.vstack(pts) / 1000.0
    lo, hi = allp.min(axis=0), allp.max(axis=0)
    pad = 0.08 * max(hi - lo) + (0.15 if zoom else 0.3)
    ax.set_xlim(lo[0] - pad, hi[0] + pad)
    ax.set_ylim(lo[1] - pad, hi[1] + pad)
    ax.set_aspect("equal")
    ax.set_xlabel("east of site origin (km)")
    ax.set_ylabel("north of site origin (km)")
    title = "map of the run"
    if zoom:
        title = "intercepts and collateral footprints (duds, debris; dashed: fire withheld)"
    ax.set_title(f"{s.name}: {title}", fontsize=10 if zoom else None)
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
    from opencram.track.history import confirmed_updates

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


def _disc_xy(world, lat: float, lon: float, radius_m: float, n: int = 72) -> np.ndarray:
    c = world.frame.to_enu(lat, lon, world.scenario.site.alt_m)
    s = np.linspace(0, 2 * np.pi, n)
    return (c[:2] + radius_m * np.c_[np.cos(s), np.sin(s)]) / 1000.0


def _draw_engagements(ax, world, view: RunView) -> list[np.ndarray]:
    """Intercept points (star: destroyed, dot: survived) and collateral footprints (dud and
    debris discs; withheld engagements dashed and unfilled). Returns their points (km)
    for framing the map."""
    pts: list[np.ndarray] = []
    bursts = [b for b in view.bursts() if b.fired]
    for b in bursts:
        for f in b.footprints:
            xy = _disc_xy(world, f.lat, f.lon, f.radius_m)
            ax.fill(xy[:, 0], xy[:, 1], fc=FOOTPRINT_STYLE[f.kind], alpha=0.35, ec="none")
            ax.plot(xy[:, 0], xy[:, 1], color=FOOTPRINT_STYLE[f.kind], lw=0.8)
            pts.append(xy * 1000.0)
    for w in view.withheld():
        for f in getattr(w, "footprints", ()) or ():
            xy = _disc_xy(world, f.lat, f.lon, f.radius_m)
            ax.plot(xy[:, 0], xy[:, 1], color=FOOTPRINT_STYLE[f.kind], lw=1.2, ls="--")
            pts.append(xy * 1000.0)
    for b in bursts:
        p = world.frame.to_enu(b.lat, b.lon, b.alt_m) / 1000.0
        ax.plot(
            p[0],
            p[1],
            marker="*" if b.killed else "o",
            ms=12 if b.killed else 5,
            color="#2ca02c",
            mec="k",
            mew=0.6,
            zorder=5,
        )
        pts.append(p[None, :2] * 1000.0)
    return pts


def _t_max(view: RunView) -> float:
    """Right edge of the time axes: the last launch, impact, intercept or burst, plus a
    margin (friendly aircraft may keep a run going long after)."""
    ts = [0.0]
    for e in view.events:
        if e.kind in ("launch", "impact", "engagement_result", "engagement_withheld", "zone_alert"):
            ts.append(e.t_s)
        elif e.kind == "engagement":
            ts.append(e.intercept_s)
    t = max(ts)
    return float(min(view.end_s, t + max(5.0, 0.08 * t))) if view.end_s > 0 else t + 5.0


def _intervals(states: list[tuple[float, str, int]], end_s: float):
    """(state, start, stop) of a gun's state changes."""
    out = []
    for k, (t, st, _) in enumerate(states):
        t1 = states[k + 1][0] if k + 1 < len(states) else end_s
        if t1 > t:
            out.append((st, t, t1))
    return out


def guns_figure(view: RunView):
    """Per gun: bursts as bars from firing to intercept (green, destroyed; orange,
    survived), reload and hold periods, and the ammunition left over time."""
    guns = [w.id for w in view.scenario.weapons]
    bursts = view.bursts()
    states = view.gun_states()
    end = view.end_s
    fig, (ax, ax2) = plt.subplots(
        2,
        1,
        figsize=(8.5, 1.2 + 0.55 * len(guns) + 2.4),
        sharex=True,
        gridspec_kw={"height_ratios": [max(1.0, 0.55 * len(guns)), 2.2]},
    )
    for g, gun in enumerate(guns):
        for st, t0, t1 in _intervals(states.get(gun, []), end):
            if st in ("reloading", "hold", "empty"):
                ax.barh(
                    g,
                    t1 - t0,
                    left=t0,
                    height=0.5,
                    color={"reloading": "#bbbbbb", "hold": "#9467bd", "empty": "#333333"}[st],
                    alpha=0.45,
                    hatch="//",
                    ec="none",
                )
                ax.text(t0, g + 0.3, st, fontsize=6, va="bottom")
        for k, b in enumerate(b for b in bursts if b.gun == gun):
            if b.cancelled:
                ax.barh(
                    g,
                    b.intercept_s - b.fire_s,
                    left=b.fire_s,
                    height=0.5,
                    fc="none",
                    ec="#999999",
                    hatch="..",
                )
            else:
                colour = {True: "#2ca02c", False: "#ff7f0e", None: "#999999"}[b.killed]
                ax.barh(g, b.intercept_s - b.fire_s, left=b.fire_s, height=0.5, color=colour)
                ax.plot(b.intercept_s, g, marker="*" if b.killed else "x", color="k", ms=8)
            ax.annotate(
                b.threat_id or f"T{b.track_id}",
                (b.fire_s, g),
                xytext=(0, 9 if k % 2 == 0 else -15),
                textcoords="offset points",
                fontsize=6,
            )
    for w in view.withheld():
        if w.gun in guns:
            ax.plot(w.t_s, guns.index(w.gun), marker="|", color="#9467bd", ms=14, mew=2)
    ax.set_yticks(range(len(guns)))
    ax.set_yticklabels(guns, fontsize=8)
    ax.set_ylim(len(guns) - 0.4, -0.7)
    ax.set_title(
        "Engagements per gun: fire to intercept (green: destroyed, orange: survived, dotted: "
        "cancelled;\npurple ticks: fire withheld)",
        fontsize=9,
    )
    ax.grid(True, axis="x", lw=0.3)
    start = {w.id: w.ammo_rounds for w in view.scenario.weapons}
    for gun in guns:
        pts = [(0.0, start[gun])]
        pts += [(b.decided_s, b.ammo_left) for b in bursts if b.gun == gun]
        pts += [(t, a) for t, _, a in states.get(gun, [])]
        pts.sort(key=lambda x: x[0])
        t = [p[0] for p in pts] + [end]
        a = [p[1] for p in pts] + [pts[-1][1]]
        ax2.step(t, a, where="post", label=gun)
    ax2.set_ylabel("rounds left (once committed)")
    ax2.set_xlabel("time since scenario start (s)")
    ax2.set_xlim(0, _t_max(view))
    ax2.set_ylim(bottom=0)
    ax2.grid(True, lw=0.3)
    ax2.legend(fontsize=7)
    return fig


def timeline_figure(view: RunView):
    """One row per threat: flight from launch to impact or destruction, first radar plot,
    first confirmed track, the alert of each zone it hit, bursts fired at it."""
    threats = sorted(view.summary["threats"], key=lambda t: (t["launch"]["time_s"], t["id"]))
    warn = {}
    for w in (view.summary.get("warning") or {}).get("warning_times_s", []):
        warn.setdefault(w["threat"], []).append(w)
    bursts = view.bursts()
    n = len(threats)
    fig, ax = plt.subplots(figsize=(8.5, 1.4 + min(0.32 * n, 18.0)))
    ms = 7 if n <= 30 else 4
    for row, t in enumerate(threats):
        t0 = t["launch"]["time_s"]
        if t.get("intercept"):
            t1 = t["intercept"]["time_s"]
        elif t["impact"]:
            t1 = t["impact"]["time_s"]
        else:
            t1 = view.end_s
        colour = OUTCOME_COLOUR.get(t.get("outcome", ""), "#7f7f7f")
        ax.barh(row, t1 - t0, left=t0, height=0.35, color=colour, alpha=0.35)
        tk = t.get("tracking") or {}
        if tk.get("first_plot_s") is not None:
            ax.plot(tk["first_plot_s"], row, "^", color="#1f77b4", ms=ms)
        if tk.get("first_confirmed_s") is not None:
            ax.plot(tk["first_confirmed_s"], row, "D", color="#1f77b4", ms=ms - 2)
        for w in warn.get(t["id"], []):
            if w["warning_s"] is not None and t["impact"]:
                ax.plot(
                    t["impact"]["time_s"] - w["warning_s"], row, "|", color="#d62728", ms=14, mew=2
                )
        for b in bursts:
            if b.threat_id == t["id"] and b.fired:
                ax.plot([b.fire_s, b.intercept_s], [row + 0.25] * 2, color="#2ca02c", lw=2)
        if t.get("intercept"):
            ax.plot(t1, row, "*", color="#2ca02c", mec="k", mew=0.5, ms=ms + 4)
        elif t["impact"]:
            ax.plot(t1, row, "x", color="k", ms=ms, mew=2)
    ax.set_yticks(range(n))
    ax.set_yticklabels([t["id"] for t in threats], fontsize=7 if n <= 30 else 5)
    ax.set_ylim(n - 0.5, -0.7)
    ax.set_xlim(0, _t_max(view))
    ax.set_xlabel("time since scenario start (s)")
    ax.set_title(
        "Run timeline: flight (green: intercepted, red: leaked, orange: not engaged), "
        "▲ first plot, ◆ first track,\n| alert raised for the zone hit, green: bursts, "
        "★ destroyed, x impact",
        fontsize=8.5,
    )
    ax.grid(True, axis="x", lw=0.3)
    return fig


def _table(rows: list[list[str]], head: list[str], cls: str = "") -> str:
    th = "".join(f"<th>{html.escape(h)}</th>" for h in head)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in r) + "</tr>" for r in rows)
    c = f' class="{cls}"' if cls else ""
    return f"<table{c}><thead><tr>{th}</tr></thead><tbody>{body}</tbody></table>"


def _fmt(x, nd=1, unit="") -> str:
    return "&ndash;" if x is None else f"{x:.{nd}f}{unit}"


def _e(x) -> str:
    return html.escape(str(x))


def _img(name: str, png: bytes, alt: str) -> str:
    data = base64.b64encode(png).decode("ascii")
    return f'<img alt="{_e(alt)}" src="data:image/png;base64,{data}" id="fig-{name}">'


CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:0;color:#222;
background:#fafafa}
main{max-width:1040px;margin:0 auto;padding:1.2em 1.6em 3em;background:#fff}
header{background:#1f2d3d;color:#fff;padding:1.2em 1.6em}
header h1{margin:0 0 .2em;font-size:1.5em}header p{margin:.2em 0;color:#cfd8e3}
nav{font-size:.85em;margin:.6em 0 0}nav a{color:#9cc8ff;margin-right:1em;text-decoration:none}
h2{font-size:1.15em;border-bottom:2px solid #e3e3e3;padding-bottom:.2em;margin-top:1.8em}
h3{font-size:1em;margin-top:1.2em}
table{border-collapse:collapse;font-size:.82em;width:100%;margin:.5em 0}
th,td{border:1px solid #e0e0e0;padding:.28em .5em;text-align:left;vertical-align:top}
th{background:#f2f4f7}tbody tr:nth-child(even){background:#fafbfc}
.note{color:#666;font-size:.85em}img{max-width:100%;display:block;margin:.6em 0}
.kpis{display:flex;flex-wrap:wrap;gap:.6em;margin:1em 0}
.kpi{border:1px solid #e3e3e3;border-radius:6px;padding:.5em .9em;min-width:7em;background:#fff}
.kpi b{font-size:1.5em;display:block}.kpi span{font-size:.8em;color:#555}
.ok{color:#2ca02c;font-weight:600}.bad{color:#d62728;font-weight:600}
.warn{color:#d67e00;font-weight:600}
details summary{cursor:pointer;color:#1f5fa8;font-size:.9em}
"""

OUTCOME_CLASS = {"intercepted": "ok", "leaked": "bad", "not_engaged": "warn"}


@dataclass
class Report:
    """The report's HTML and the PNG bytes of each of its figures (by file stem)."""

    html: str
    figures: dict[str, bytes] = field(default_factory=dict)


def _impact_errors(result: RunResult, view: RunView) -> dict[str, tuple]:
    """Threat → (first, last) impact prediction error in metres against the true impact,
    with the time to impact of the first prediction."""
    frame = result.world.frame
    alt = result.world.scenario.site.alt_m
    preds = view.predictions("impact_predicted")
    out = {}
    for t in view.summary["threats"]:
        im = t["impact"]
        ids = (t.get("tracking") or {}).get("track_ids", [])
        evs = sorted((e for k in ids for e in preds.get(k, [])), key=lambda e: e.t_s)
        if not im or not evs:
            continue
        true = frame.to_enu(im["lat"], im["lon"], alt)[:2]
        p = frame.to_enu(np.array([e.lat for e in evs]), np.array([e.lon for e in evs]), alt)
        err = np.hypot(*(p[:, :2] - true).T)
        out[t["id"]] = (float(err[0]), float(err[-1]), im["time_s"] - evs[0].t_s)
    return out


def _chronology(view: RunView) -> list[tuple[float, str, str]]:
    """(time, what, detail) of the run's key moments, in time order."""
    rows: list[tuple[float, str, str]] = []
    for t in view.summary["threats"]:
        tk = t.get("tracking") or {}
        rows.append((t["launch"]["time_s"], "launch", f"{t['id']} ({t['type']})"))
        if tk.get("first_plot_s") is not None:
            rows.append((tk["first_plot_s"], "first detection", f"{t['id']}: first radar plot"))
        if tk.get("first_confirmed_s") is not None:
            ids = ", ".join(f"T{k}" for k in tk["track_ids"])
            rows.append((tk["first_confirmed_s"], "track confirmed", f"{t['id']}: {ids}"))
        if t.get("intercept"):
            i = t["intercept"]
            rows.append(
                (i["time_s"], "destroyed", f"{t['id']} by {i['gun']}, {i['alt_m']:.0f} m up")
            )
    for e in view.events:
        if e.kind == "zone_alert" and e.state in ("raised", "cleared"):
            what = "alert raised" if e.state == "raised" else "all clear"
            tracks = ", ".join(f"T{k}" for k in e.track_ids)
            rows.append((e.t_s, what, f"{e.zone} (p = {e.probability:.2f}; {tracks or '-'})"))
        elif e.kind == "engagement_result" and getattr(e, "cancelled", ""):
            rows.append((e.t_s, "burst cancelled", f"{e.gun} on T{e.track_id}: {e.cancelled}"))
        elif e.kind == "engagement_result" and not e.killed:
            rows.append((e.t_s, "burst missed", f"{e.gun} on T{e.track_id}: threat survived"))
        elif e.kind == "engagement_withheld":
            rows.append(
                (e.t_s, "fire withheld", f"{e.gun or 'all guns'}, T{e.track_id}: {e.reason}")
            )
        elif e.kind == "operator":
            ok = "" if e.accepted else f" (refused: {e.note})"
            rows.append((e.t_s, "operator", f"{e.action} {e.target}{ok}"))
        elif e.kind == "impact":
            rows.append(
                (e.t_s, "impact", f"{e.threat_id} in {', '.join(e.zones) or 'open ground'}")
            )
    for b in view.bursts():
        what = f"{b.gun} on T{b.track_id}: {b.rounds} rounds, P(kill) {b.p_kill:.2f}"
        if b.fired:
            rows.append((b.fire_s, "burst fired", what))
        else:
            rows.append((b.decided_s, "burst committed", what))
    rows.sort(key=lambda r: r[0])
    return rows


def _threat_rows(result: RunResult, view: RunView) -> list[list[str]]:
    summary = view.summary
    warn = {}
    missed = set()
    if "warning" in summary:
        for w in summary["warning"]["warning_times_s"]:
            warn.setdefault(w["threat"], []).append(f"{w['zone']}: {w['warning_s']:.1f} s")
        missed = {(m["threat"]) for m in summary["warning"]["missed_warnings"]}
    errs = _impact_errors(result, view)
    rows = []
    for t in summary["threats"]:
        o = t.get("outcome", "")
        im = t["impact"]
        if o == "intercepted":
            i = t["intercept"]
            detail = (
                f"destroyed at t = {i['time_s']:.1f} s, {i['alt_m']:.0f} m up, by {i['gun']} "
                f"({i['rounds']} rounds in {len(t['engagements'])} burst(s))"
            )
        elif o == "leaked":
            detail = f"landed in {t['leak']['zone'] or 'open ground'}" + (
                f" after {len(t['engagements'])} burst(s)"
                if t["leak"]["engaged"]
                else ", not engaged"
            )
            if not t["leak"]["engaged"] and t.get("not_engaged_reason"):
                detail += f": {t['not_engaged_reason']}"
        else:
            detail = t.get("not_engaged_reason", "")
        if im:
            where = f"t = {im['time_s']:.1f} s, {im['lat']:.5f}, {im['lon']:.5f}; " + (
                ", ".join(t["zones"]) or "open ground"
            )
        elif t.get("intercept"):
            where = "destroyed in the air"
        else:
            where = "in flight at end"
        if t["id"] in warn:
            wt = "; ".join(warn[t["id"]])
        elif t["id"] in missed:
            wt = '<span class="bad">missed</span>'
        else:
            wt = "no warning zone hit" if im else "&ndash;"
        e = errs.get(t["id"])
        err = f"{e[0]:.0f} m first ({e[2]:.1f} s before), {e[1]:.0f} m last" if e else "&ndash;"
        rows.append(
            [
                _e(t["id"]),
                _e(t["type"]),
                _fmt(t["launch"]["time_s"], 1, " s"),
                f'<span class="{OUTCOME_CLASS.get(o, "")}">{_e(o.replace("_", " "))}</span>',
                wt if t["id"] in missed else _e(wt) if t["id"] in warn else wt,
                _e(where),
                err,
                _e(detail),
            ]
        )
    return rows


def build_report(result: RunResult, summary: dict[str, Any]) -> Report:
    s = result.world.scenario
    view = from_result(result, summary)
    figs: dict[str, bytes] = {}
    figs["map"] = _png_bytes(map_figure(result, view))
    figs["timeline"] = _png_bytes(timeline_figure(view))
    has_guns = bool(s.weapons) and result.engagements is not None
    if has_guns:
        figs["engagements"] = _png_bytes(guns_figure(view))
        if any(b.fired for b in view.bursts()) or view.withheld():
            figs["collateral"] = _png_bytes(map_figure(result, view, zoom=True))
    if "warning" in summary and result.alert_history and result.alert_history[1]:
        figs["alerts"] = _png_bytes(alert_figure(result))
        figs["trade_off"] = _png_bytes(trade_off_figure(summary["warning"]["trade_off"]))
    if result.tracker is not None and "tracking" in summary:
        figs["gospa"] = _png_bytes(gospa_figure(result))
    figs["altitude"] = _png_bytes(altitude_figure(result))

    threats = summary["threats"]
    outcomes = [t.get("outcome") for t in threats]
    bursts = view.bursts()
    tot = summary["totals"]
    wt = [w["warning_s"] for w in (summary.get("warning") or {}).get("warning_times_s", [])]
    kpis = [
        ("threats", tot["threats"]),
        ("intercepted", outcomes.count("intercepted")),
        ("leaked", outcomes.count("leaked")),
        ("not engaged", outcomes.count("not_engaged")),
        ("impacts", tot["impacts"]),
        ("in protected zones", tot["impacts_in_protected_zones"]),
        (
            "bursts / rounds fired",
            f"{sum(b.fired for b in bursts)} / {sum(b.rounds for b in bursts if b.fired)}",
        ),
        ("shortest warning", f"{min(wt):.1f} s" if wt else "&ndash;"),
    ]
    if "warning" in summary:
        w = summary["warning"]
        kpis.append(("missed warnings", len(w["missed_warnings"])))
        kpis.append(("false alerts", len(w["false_alerts"])))
    kpi_html = "".join(f'<div class="kpi"><b>{v}</b><span>{_e(k)}</span></div>' for k, v in kpis)

    sections: list[tuple[str, str, str]] = []  # (anchor, title, body)
    sections.append(
        (
            "map",
            "Map",
            _img("map", figs["map"], "map of the run")
            + """<p class="note">Local ENU frame at the site origin (+). Red: protected zones;
purple: no-fire; amber: warning zones. Black dots: launch points; red lines and crosses:
true trajectories and impacts; blue triangles: radars; green squares: guns; dashed cyan:
friendly aircraft; grey dots: radar plots; blue lines with T-numbers: confirmed tracks;
orange: impact ellipses (95 %; dotted, a track's first, solid, its last); magenta: origin
ellipses; green stars: intercepts that destroyed a threat, green dots: bursts it survived;
brown and grey discs: dud and debris footprints of bursts fired; dashed discs: footprints of
engagements withheld.</p>""",
        )
    )
    chron = _chronology(view)
    crows = [[_fmt(t, 1, " s"), _e(what), _e(d)] for t, what, d in chron]
    ctable = _table(crows, ["time", "event", "detail"])
    if len(crows) > 30:
        ctable = f"<details><summary>{len(crows)} key events</summary>{ctable}</details>"
    sections.append(
        (
            "timeline",
            "Timeline of the run",
            _img("timeline", figs["timeline"], "run timeline") + ctable,
        )
    )
    sections.append(
        (
            "threats",
            "Threats",
            _table(
                _threat_rows(result, view),
                [
                    "threat",
                    "type",
                    "launch",
                    "outcome",
                    "warning time",
                    "impact",
                    "impact prediction error",
                    "intercept, or why not engaged",
                ],
            )
            + """<p class="note">Warning time: how long before impact the alert of the
zone hit was up. Impact prediction error: distance from the predicted to the true impact
point, for the threat's first and last prediction.</p>""",
        )
    )
    if "alerts" in figs:
        w = summary["warning"]
        wrows = [
            [_e(x["zone"]), _e(x["threat"]), _fmt(x["warning_s"], 1, " s")]
            for x in w["warning_times_s"]
        ]
        missed = ", ".join(f"{m['zone']} ({m['threat']})" for m in w["missed_warnings"])
        false = ", ".join(f"{f['zone']} at {f['raised_s']:.1f} s" for f in w["false_alerts"])
        sections.append(
            (
                "warning",
                "Warning",
                f"""<p>Alerts go to warning zones whose probability of an impact (zone grown
by the threat's lethal radius) reaches {w["threshold"]:g}.</p>
{_table(wrows, ["zone hit", "threat", "warning time"])}
<p>Missed warnings: {_e(missed) or "none"}. False alerts: {_e(false) or "none"}.
Alerted zone area {w["alerted_zone_area_km2"]:.2f} km²
({w["alerted_area_time_km2s"]:.0f} km²·s).</p>
{_img("alerts", figs["alerts"], "alert timeline")}
{_img("trade_off", figs["trade_off"], "threshold trade-off")}""",
            )
        )
    if has_guns:
        sections.append(("engagements", "Engagements", _engagement_html(view, figs)))
    if "gospa" in figs:
        tk = summary["tracking"]
        trows = [
            [
                _e(t["id"]),
                _fmt(t["tracking"]["first_plot_s"], 1, " s"),
                _fmt(t["tracking"]["first_confirmed_s"], 1, " s"),
                ", ".join(f"T{i}" for i in t["tracking"]["track_ids"]) or "&ndash;",
                _e(
                    ", ".join(
                        tk["track_classes"].get(str(i), "?") for i in t["tracking"]["track_ids"]
                    )
                    or "-"
                ),
            ]
            for t in threats
        ]
        sections.append(
            (
                "tracking",
                "Sensing and tracking",
                f"""<p>{tk["plots"]} plots ({tk["false_plots"]} false), {tk["confirmed_tracks"]}
confirmed tracks ({_e(tk["filter"].upper())} filter). Mean GOSPA
{_fmt(tk["mean_gospa_m"], 1, " m")}, position RMSE {_fmt(tk["position_rmse_m"], 1, " m")},
{tk["breaks"]} track breaks, {tk["swaps"]} swaps.</p>
{_table(trows, ["threat", "first plot", "first confirmed track", "tracks", "class"])}
{_img("gospa", figs["gospa"], "GOSPA over time")}""",
            )
        )
    zrows = [[_e(z["name"]), _e(z["kind"]), str(z["impacts"])] for z in summary["zones"]]
    sections.append(("zones", "Zones", _table(zrows, ["zone", "kind", "impacts"])))
    sections.append(
        ("altitude", "Altitude over time", _img("altitude", figs["altitude"], "altitude over time"))
    )
    nav = "".join(f'<a href="#{a}">{_e(t)}</a>' for a, t, _ in sections)
    body = "\n".join(f'<section id="{a}"><h2>{_e(t)}</h2>\n{b}</section>' for a, t, b in sections)
    page = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>opencram run report: {_e(s.name)}</title><style>{CSS}</style></head>
<body>
<header>
<h1>opencram run report: {_e(s.name)}</h1>
<p>{_e(s.description)}</p>
<p>Scenario {_e(summary["source"])}, seed {summary["seed"]}, site {_e(s.site.name)}
({s.site.lat:.5f}, {s.site.lon:.5f}), simulated to t = {summary["end_time_s"]:.1f} s.
opencram {_e(summary["opencram_version"])}.</p>
<nav>{nav}</nav>
</header>
<main>
<div class="kpis">{kpi_html}</div>
{body}
<p class="note">Every figure is also in the run folder as figures/NAME.png. Times are
seconds from scenario start.</p>
</main>
</body></html>
"""
    return Report(page, figs)


def _engagement_html(view: RunView, figs: dict[str, bytes]) -> str:
    bursts = view.bursts()
    start = {w.id: w.ammo_rounds for w in view.scenario.weapons}
    grows = []
    for w in view.scenario.weapons:
        mine = [b for b in bursts if b.gun == w.id]
        fired = sum(b.rounds for b in mine if b.fired)
        states = view.gun_states().get(w.id, [])
        left = states[-1][2] if states else (mine[-1].ammo_left if mine else start[w.id])
        reloads = sum(1 for _, st, _ in states if st == "reloading")
        grows.append(
            [
                _e(w.id),
                str(sum(b.fired for b in mine)),
                str(sum(1 for b in mine if b.killed and b.fired)),
                str(fired),
                f"{left} of {start[w.id]}",
                str(reloads),
            ]
        )
    brows = []
    for b in bursts:
        res = {
            "destroyed": '<span class="ok">destroyed</span>',
            "survived": '<span class="warn">survived</span>',
        }.get(b.result, _e(b.result))
        if b.cancelled:
            res += _e(f": {b.cancelled}")
        fp = "; ".join(
            f"{f.kind} {f.radius_m:.0f} m at {f.lat:.5f}, {f.lon:.5f}" for f in b.footprints
        )
        brows.append(
            [
                _e(b.gun),
                f"T{b.track_id}",
                _e(b.threat_id or "?"),
                _fmt(b.fire_s, 1, " s"),
                _fmt(b.intercept_s, 1, " s"),
                f"{b.alt_m:.0f} m",
                str(b.rounds),
                f"{b.p_kill:.2f}",
                res,
                str(b.ammo_left),
                _e(fp) or "&ndash;",
            ]
        )
    out = _img("engagements", figs["engagements"], "engagement timeline per gun")
    if "collateral" in figs:
        out += _img("collateral", figs["collateral"], "intercepts and collateral footprints")
    out += "<h3>Guns</h3>" + _table(
        grows, ["gun", "bursts", "kills", "rounds fired", "ammunition left", "reloads"]
    )
    out += "<h3>Bursts</h3>" + (
        _table(
            brows,
            [
                "gun",
                "track",
                "threat",
                "fire",
                "intercept",
                "height",
                "rounds",
                "P(kill)",
                "result",
                "ammo left",
                "collateral footprints",
            ],
        )
        if brows
        else "<p>No gun fired.</p>"
    )
    held = view.withheld()
    if held:
        owner = view.track_threat()
        hrows = [
            [
                _fmt(w.t_s, 1, " s"),
                _e(w.gun or "all guns"),
                f"T{w.track_id}",
                _e(owner.get(w.track_id, "?")),
                _e(w.reason),
                _e("; ".join(f"{f.kind} {f.radius_m:.0f} m" for f in w.footprints) or "-"),
            ]
            for w in held
        ]
        out += "<h3>Fire withheld</h3>" + _table(
            hrows, ["time", "gun", "track", "threat", "reason", "footprints"]
        )
    ops = view.of_kind("operator")
    if ops:
        orows = [
            [
                _fmt(o.t_s, 1, " s"),
                _e(o.action),
                _e(o.target),
                "yes" if o.accepted else _e(f"refused: {o.note}"),
            ]
            for o in ops
        ]
        out += "<h3>Operator actions</h3>" + _table(orows, ["time", "action", "target", "applied"])
    return out


def render_report(result: RunResult, summary: dict[str, Any]) -> str:
    """The report's HTML alone (figures embedded)."""
    return build_report(result, summary).html
