"""The report's figures, drawn with matplotlib (Agg) and returned as PNG bytes.

Maps are in the local ENU frame at the site origin, in kilometres; time axes are seconds
from scenario start. The only module of the report that imports matplotlib. PNGs are
written without a software tag, so the same run gives the same bytes.
"""

from __future__ import annotations

import io
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from opencram import palette
from opencram.analysis.report.rows import shows_engagements, shows_tracking, shows_warning
from opencram.analysis.tracking import GOSPA_C_M, score_run
from opencram.c2.engine import RunResult
from opencram.interop.runview import RunView
from opencram.sense.plots import plots_to_enu
from opencram.track.history import confirmed_updates
from opencram.warn.metrics import alert_episodes

# colours from the shared scheme (opencram.palette), so a zone kind, an outcome or a gun
# state looks the same in the report as in the console
ZONE_ALPHA = {"protected": 0.25, "no-fire": 0.2, "warning": 0.10}
ZONE_STYLE = {
    kind: {"fc": palette.ZONE_KIND[kind], "alpha": alpha, "ec": palette.ZONE_KIND[kind]}
    for kind, alpha in ZONE_ALPHA.items()
}
FOOTPRINT_STYLE = {
    "dud": palette.MARK["dud_footprint"],
    "debris": palette.MARK["debris_footprint"],
}
OUTCOME_COLOUR = dict(palette.OUTCOME)
GUN_STATE_COLOUR = {k: palette.GUN_STATE[k] for k in ("reloading", "hold", "empty")}
BURST_COLOUR = {  # by killed
    True: palette.OUTCOME["intercepted"],
    False: palette.OUTCOME["not_engaged"],
    None: "#999999",
}
ALERT_COLOUR = palette.ALERT_STATE["raised"]
IMPACT_COLOUR = palette.MARK["impact"]
PNG_DPI = 110
NORTH_GID = "north-arrow"
ADJUST_ITERATIONS = 100  # label-moving passes of adjustText on the maps


def png_bytes(fig) -> bytes:
    """The figure as PNG bytes (closed afterwards)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=PNG_DPI, bbox_inches="tight", metadata={"Software": None})
    plt.close(fig)
    return buf.getvalue()


def render_figures(
    result: RunResult, view: RunView, summary: dict[str, Any], layers: tuple = ()
) -> dict[str, bytes]:
    """Every figure the run has, as PNG bytes by file stem (``figures/NAME.png``);
    ``layers``: the scenario's site layers, drawn beneath the maps."""
    figs: dict[str, bytes] = {}
    figs["map"] = png_bytes(map_figure(result, view, layers=layers))
    figs["timeline"] = png_bytes(timeline_figure(view))
    if shows_engagements(result):
        figs["engagements"] = png_bytes(guns_figure(view))
        if any(b.fired for b in view.bursts()) or view.withheld():
            figs["collateral"] = png_bytes(map_figure(result, view, zoom=True, layers=layers))
    if shows_warning(result, summary):
        figs["alerts"] = png_bytes(alert_figure(result))
        w = summary["warning"]
        figs["trade_off"] = png_bytes(trade_off_figure(w["trade_off"], w["threshold"]))
    if shows_tracking(result, summary):
        figs["gospa"] = png_bytes(gospa_figure(result))
    figs["altitude"] = png_bytes(altitude_figure(result))
    return figs


# --- truth and tracks ----------------------------------------------------------------


def ground_tracks(result: RunResult) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """(id, times (k,) in s, ENU positions (k, 3) in m) of every round's true flight, from
    launch to its impact, or to its destruction in the air (``result.kills_s``)."""
    truth = result.world.truth
    kills = result.kills_s if result.kills_s is not None else np.full(len(truth.rounds), np.inf)
    out = []
    if truth.flight is not None:
        f = truth.flight
        for j, k in enumerate(truth.ballistic_idx):
            r = truth.rounds[k]
            t_imp = f.impact_t_s[j] if f.landed[j] else f.dt_s * (f.pos_enu_m.shape[0] - 1)
            n = int(np.floor(t_imp / f.dt_s)) + 1
            t = np.r_[np.arange(n) * f.dt_s, t_imp]
            p = np.vstack([f.pos_enu_m[:n, j], f.impact_pos_enu_m[j : j + 1]])
            out.append((r.id, *_cut_at(r.launch_t_s + t, p, kills[k])))
    for k, path in zip(truth.drone_idx, truth.drone_paths, strict=True):
        t = np.linspace(path.start_s, path.end_s, 400)
        out.append((truth.rounds[k].id, *_cut_at(t, path.state_at(t)[0], kills[k])))
    return out


def _cut_at(t: np.ndarray, p: np.ndarray, t_end: float) -> tuple[np.ndarray, np.ndarray]:
    """The samples of a flight (times ``t`` (k,), positions ``p`` (k, 3)) up to ``t_end``,
    ending with the position interpolated at ``t_end`` if it falls inside the flight."""
    if not t[0] <= t_end < t[-1]:
        return t, p
    keep = t < t_end
    at = np.array([np.interp(t_end, t, p[:, c]) for c in range(p.shape[1])])
    return np.r_[t[keep], t_end], np.vstack([p[keep], at])


def destroyed_ids(result: RunResult) -> set[str]:
    """Ids of the rounds destroyed in the air."""
    kills = result.kills_s
    if kills is None:
        return set()
    return {r.id for r, t in zip(result.world.truth.rounds, kills, strict=True) if np.isfinite(t)}


def track_lines(result: RunResult) -> dict[int, np.ndarray]:
    """Confirmed tracks' updated ENU positions (k, 3) in m, by track id."""
    if result.tracker is None:
        return {}
    return {
        tid: np.array([u.x[:3] for u in ups])
        for tid, ups in confirmed_updates(result.tracker).items()
    }


# --- the map -------------------------------------------------------------------------


def map_figure(
    result: RunResult, view: RunView | None = None, *, zoom: bool = False, layers: tuple = ()
):
    """The run on a map, the scenario's site ``layers`` (``LayerShapes``) beneath
    everything. With ``zoom`` (the collateral map): framed on the guns, the protected and
    no-fire zones, the intercepts and the footprints, without radar plots. Labels are moved
    apart (adjustText) so none covers another; a legend, scale bar and north arrow."""
    world = result.world
    fig, ax = plt.subplots(figsize=(8.5, 8.5))
    _draw_layers(ax, world, layers)
    _draw_zones(ax, world)
    _draw_sites(ax, world)
    _draw_truth(ax, result)
    if result.plots is not None and len(result.plots) and not zoom:
        _draw_plots(ax, result)
    _draw_tracks(ax, result)
    _draw_ellipses(ax, result)
    extra = _draw_engagements(ax, world, view) if view is not None else []
    _draw_aircraft(ax, world)
    ax.plot(0, 0, marker="+", color="k", ms=10)
    pts = _zoom_points(world) if zoom else _map_points(result)
    _frame(ax, np.vstack([*pts, *extra]) / 1000.0, pad_km=0.15 if zoom else 0.3)
    title = "map of the run"
    if zoom:
        title = "intercepts and collateral footprints (duds, debris; dashed: fire withheld)"
    ax.set_title(f"{world.scenario.name}: {title}", fontsize=10 if zoom else None)
    ax.grid(True, lw=0.3)
    first = {rid for rid, _, _ in ground_tracks(result)} | {f"T{k}" for k in track_lines(result)}
    first |= {x.id for x in (*world.scenario.sensors, *world.scenario.weapons)}
    _north_arrow(ax)
    _declutter(ax, first)
    _map_furniture(ax, world, layers)
    return fig


def _draw_layers(ax, world, layers) -> None:
    """Site layers beneath everything: polygons filled pale, lines thin (one batched
    conversion to the local frame per layer)."""
    alt = world.scenario.site.alt_m
    for layer in layers:
        rings = [*layer.polygons, *layer.lines]
        if not rings:
            continue
        ll = np.array([p for r in rings for p in r], dtype=float)
        enu = world.frame.to_enu(ll[:, 0], ll[:, 1], alt)[:, :2] / 1000.0
        cuts = np.cumsum([len(r) for r in rings])[:-1]
        parts = np.split(enu, cuts)
        colour = palette.LAYER_KIND[layer.kind]
        for xy in parts[: len(layer.polygons)]:
            ax.fill(xy[:, 0], xy[:, 1], fc=colour, alpha=0.45, ec=colour, lw=0.5, zorder=0)
        for xy in parts[len(layer.polygons) :]:
            ax.plot(xy[:, 0], xy[:, 1], color=colour, lw=1.2, zorder=0)


def _declutter(ax, first: set[str]) -> None:
    """Every label of the map as a text at its point, moved apart by adjustText (lines
    drawn back to their points); then, labels in ``first`` (threats, tracks, guns, radars)
    before the others, any label still overlapping one kept is left out, so none covers
    another."""
    # deferred: adjustText is only needed for the report's maps
    from adjustText import adjust_text

    texts = []
    ax.apply_aspect()  # the axes' final box (equal aspect), before measuring
    renderer = ax.figure.canvas.get_renderer()
    kept: list = []
    for a in list(ax.texts):
        if a.get_gid() == NORTH_GID:
            kept.append(a.get_window_extent(renderer))
            continue
        x, y = a.xy
        texts.append(
            ax.text(x, y, a.get_text(), fontsize=a.get_fontsize(), color=a.get_color(), zorder=6)
        )
        a.remove()
    if not texts:
        return
    _, patches = adjust_text(
        texts,
        ax=ax,
        expand=(1.15, 1.3),
        iter_lim=ADJUST_ITERATIONS,  # a count, not adjustText's default 1 s: same bytes
        arrowprops={"arrowstyle": "-", "color": "#777777", "lw": 0.5},
    )
    arrows = {id(p.patchA): p for p in patches if getattr(p, "patchA", None) is not None}
    for t in sorted(texts, key=lambda t: t.get_text() not in first):  # stable
        box = t.get_window_extent(renderer)
        if any(box.overlaps(k) for k in kept):
            t.remove()
            if id(t) in arrows:
                arrows[id(t)].remove()
        else:
            kept.append(box)


def _map_furniture(ax, world, layers) -> None:
    """The map's legend (below it) and a scale bar."""
    # deferred: matplotlib's toolkit, only for the report's maps
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch
    from mpl_toolkits.axes_grid1.anchored_artists import AnchoredSizeBar

    kinds = sorted(set(world.zones.kinds))
    handles = [
        Patch(fc=ZONE_STYLE[k]["fc"], alpha=0.5, ec=ZONE_STYLE[k]["ec"], label=f"{k} zone")
        for k in kinds
    ]
    handles += [
        Line2D([], [], color="#d62728", lw=1, label="true flight"),
        Line2D([], [], color=IMPACT_COLOUR, marker="x", ls="none", label="impact"),
        Line2D([], [], color=palette.MARK["track"], lw=1.4, label="confirmed track"),
        Line2D([], [], color=palette.MARK["impact_ellipse"], lw=1.4, label="impact 95 %"),
        Line2D([], [], color=palette.MARK["origin_ellipse"], lw=1.4, label="origin 95 %"),
        Line2D([], [], color=palette.MARK["kill"], marker="*", ls="none", ms=10, label="intercept"),
        Line2D([], [], color=palette.MARK["sensor"], marker="^", ls="none", label="radar"),
        Line2D([], [], color=palette.GUN_STATE["ready"], marker="s", ls="none", label="gun"),
        Line2D([], [], color="#444", marker="*", ls="none", label="landmark"),
    ]
    handles += [
        Patch(
            fc=palette.LAYER_KIND[lay.kind],
            alpha=0.6,
            label=f"{lay.name}" + (f" ({lay.source})" if lay.source else ""),
        )
        for lay in layers
    ]
    ax.legend(
        handles=handles,
        loc="upper center",
        bbox_to_anchor=(0.5, -0.08),
        ncol=3,
        fontsize=7,
        frameon=False,
    )
    x0, x1 = ax.get_xlim()
    km = _nice_length(0.2 * (x1 - x0))
    label = f"{km:g} km" if km >= 1 else f"{km * 1000:g} m"
    ax.add_artist(
        AnchoredSizeBar(ax.transData, km, label, "lower right", frameon=True, size_vertical=0)
    )


def _north_arrow(ax) -> None:
    """The north arrow, beside the map (the map is in the local east-north frame: north is
    up); labels keep clear of it."""
    ax.annotate(
        "N",
        xy=(1.035, 1.0),  # beside the map, where no label can be
        xytext=(1.035, 0.9),
        xycoords="axes fraction",
        ha="center",
        va="center",
        fontsize=10,
        fontweight="bold",
        arrowprops={"arrowstyle": "-|>", "color": "k", "lw": 1.5},
        gid=NORTH_GID,
    )


def _nice_length(x: float) -> float:
    """The largest of 1, 2 or 5 times a power of ten not above ``x`` (> 0)."""
    p = 10.0 ** np.floor(np.log10(x))
    return float(max(m * p for m in (1, 2, 5) if m * p <= x))


def _draw_zones(ax, world) -> None:
    zones = world.zones
    for name, kind, poly in zip(zones.names, zones.kinds, zones.polygons_enu, strict=True):
        st = ZONE_STYLE[kind]
        for g in getattr(poly, "geoms", [poly]):
            x, y = np.asarray(g.exterior.xy) / 1000.0
            ax.fill(x, y, fc=st["fc"], alpha=st["alpha"], ec="none")
            ax.plot(x, y, color=st["ec"], lw=1.0)
        c = poly.representative_point()
        ax.annotate(name, (c.x / 1000, c.y / 1000), fontsize=7, ha="center", color=st["ec"])


def _draw_sites(ax, world) -> None:
    """Landmarks (stars), radars (triangles) and guns (squares)."""
    s = world.scenario
    for lm in s.landmarks:
        p = world.frame.to_enu(lm.lat, lm.lon, s.site.alt_m) / 1000.0
        ax.plot(p[0], p[1], marker="*", color="#444", ms=7)
        ax.annotate(lm.name, (p[0], p[1]), fontsize=6.5, xytext=(4, 3), textcoords="offset points")
    for items, marker, colour, ms in (
        (s.sensors, "^", palette.MARK["sensor"], 8),
        (s.weapons, "s", palette.GUN_STATE["ready"], 7),
    ):
        for it in items:
            p = world.frame.to_enu(it.lat, it.lon, s.site.alt_m) / 1000.0
            ax.plot(p[0], p[1], marker=marker, color=colour, ms=ms, ls="none")
            ax.annotate(
                it.id, (p[0], p[1]), fontsize=6.5, xytext=(4, -8), textcoords="offset points"
            )


def _draw_truth(ax, result: RunResult) -> None:
    """True trajectories: launch point, path, and impact (x) or the point of destruction
    (where the path ends; the intercept star is drawn with the engagements)."""
    destroyed = destroyed_ids(result)
    for rid, _, p in ground_tracks(result):
        ax.plot(p[:, 0] / 1000, p[:, 1] / 1000, color="#d62728", lw=1.0)
        ax.plot(p[0, 0] / 1000, p[0, 1] / 1000, marker="o", color="k", ms=4)
        if rid not in destroyed:
            ax.plot(p[-1, 0] / 1000, p[-1, 1] / 1000, marker="x", color=IMPACT_COLOUR, ms=8, mew=2)
        ax.annotate(
            rid,
            (p[-1, 0] / 1000, p[-1, 1] / 1000),
            fontsize=7,
            xytext=(5, 5),
            textcoords="offset points",
            color="#d62728",
        )


def _draw_plots(ax, result: RunResult) -> None:
    """Radar plots: grey dots, false plots as yellow crosses."""
    pe = plots_to_enu(result.plots, np.array([r.pos_enu_m for r in result.tracker.sensors]))
    fa = result.plots.truth_id < 0
    ax.plot(pe[~fa, 0] / 1000, pe[~fa, 1] / 1000, ".", color="#7f7f7f", ms=1.5, zorder=1)
    if fa.any():
        ax.plot(pe[fa, 0] / 1000, pe[fa, 1] / 1000, "x", color="#bcbd22", ms=2.5, zorder=1)


def _draw_tracks(ax, result: RunResult) -> None:
    for tid, x in track_lines(result).items():
        ax.plot(x[:, 0] / 1000, x[:, 1] / 1000, color=palette.MARK["track"], lw=1.4, alpha=0.8)
        ax.annotate(
            f"T{tid}",
            (x[-1, 0] / 1000, x[-1, 1] / 1000),
            fontsize=6.5,
            color="#1f77b4",
            xytext=(-12, -9),
            textcoords="offset points",
        )


def _draw_aircraft(ax, world) -> None:
    for a_id, path in zip(world.aircraft_ids, world.aircraft_paths, strict=True):
        v = path.vertices_enu_m / 1000.0
        ax.plot(v[:, 0], v[:, 1], color="#17becf", lw=1.2, ls="--")
        ax.annotate(a_id, (v[0, 0], v[0, 1]), fontsize=7, color="#17becf")


def _bounds(poly) -> np.ndarray:
    x0, y0, x1, y1 = poly.bounds
    return np.array([[x0, y0], [x1, y1]])


def _zoom_points(world) -> list[np.ndarray]:
    """ENU points (m) framing the collateral map: the guns, protected and no-fire zones."""
    s = world.scenario
    pts = [world.frame.to_enu(w.lat, w.lon, s.site.alt_m)[None, :2] for w in s.weapons]
    for kind, poly in zip(world.zones.kinds, world.zones.polygons_enu, strict=True):
        if kind in ("protected", "no-fire"):
            pts.append(_bounds(poly))
    return pts


def _map_points(result: RunResult) -> list[np.ndarray]:
    """ENU points (m) framing the map: the site, zones and threat flights (aircraft may
    fly off it)."""
    pts = [np.zeros((1, 2))]
    pts.extend(_bounds(poly) for poly in result.world.zones.polygons_enu)
    pts.extend(p[:, :2] for _, _, p in ground_tracks(result))
    return pts


def _frame(ax, pts_km: np.ndarray, pad_km: float) -> None:
    lo, hi = pts_km.min(axis=0), pts_km.max(axis=0)
    pad = 0.08 * max(hi - lo) + pad_km
    ax.set_xlim(lo[0] - pad, hi[0] + pad)
    ax.set_ylim(lo[1] - pad, hi[1] + pad)
    ax.set_aspect("equal")
    ax.set_xlabel("east of site origin (km)")
    ax.set_ylabel("north of site origin (km)")


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
        ax.plot(xy[:, 0], xy[:, 1], color=palette.MARK["impact_ellipse"], lw=0.8, ls=":")
    for e in _latest_ground_events(result, "impact_predicted").values():
        xy = _ellipse_xy(world, e)
        ax.plot(xy[:, 0], xy[:, 1], color=palette.MARK["impact_ellipse"], lw=1.4)
    for e in _latest_ground_events(result, "respond").values():
        xy = _ellipse_xy(world, e)
        ax.plot(xy[:, 0], xy[:, 1], color=palette.MARK["origin_ellipse"], lw=1.4)
        c = xy.mean(axis=0)
        ax.annotate(
            f"origin T{e.track_id}",
            (c[0], c[1]),
            fontsize=6.5,
            color=palette.MARK["origin_ellipse"],
            xytext=(5, -10),
            textcoords="offset points",
        )


def _disc_xy(world, lat: float, lon: float, radius_m: float, n: int = 72) -> np.ndarray:
    c = world.frame.to_enu(lat, lon, world.scenario.site.alt_m)
    s = np.linspace(0, 2 * np.pi, n)
    return (c[:2] + radius_m * np.c_[np.cos(s), np.sin(s)]) / 1000.0


def _draw_engagements(ax, world, view: RunView) -> list[np.ndarray]:
    """Intercept points (star: destroyed, dot: survived) and collateral footprints (dud and
    debris discs; withheld engagements dashed and unfilled). Returns their points (m)
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
            color=palette.MARK["kill"],
            mec="k",
            mew=0.6,
            zorder=5,
        )
        pts.append(p[None, :2] * 1000.0)
    return pts


# --- warning -------------------------------------------------------------------------


def alert_figure(result: RunResult):
    """Alert timeline per warning zone, with the impacts in each zone."""
    world = result.world
    times, names, p = result.alert_history
    eps = alert_episodes(times, p, world.scenario.warning.threshold)
    fig, ax = plt.subplots(figsize=(8.5, 0.45 * len(names) + 1.4))
    end = float(times[-1]) if len(times) else result.end_s
    for z, t0, t1 in eps:
        ax.barh(z, min(t1, end) - t0, left=t0, color=ALERT_COLOUR, alpha=0.6, height=0.6)
    t_imp = world.truth.impact_times()
    pts = world.truth.impact_points()
    for i in range(len(world.truth.rounds)):
        if not np.isfinite(t_imp[i]):
            continue
        for zname in world.zones.zones_at(pts[i, 0], pts[i, 1]):
            if zname in names:
                ax.plot(t_imp[i], names.index(zname), marker="x", color=IMPACT_COLOUR, ms=8, mew=2)
    ax.set_yticks(range(len(names)))
    ax.set_yticklabels(names, fontsize=7)
    ax.set_xlim(0, end)
    ax.set_xlabel("time since scenario start (s)")
    ax.set_title("Alerts per warning zone (red) and impacts (x)")
    ax.grid(True, axis="x", lw=0.3)
    return fig


def trade_off_figure(rows: list[dict], threshold: float | None = None):
    """The threshold trade-off replayed on the run: mean and shortest zone warning time
    (s) and false alerts against the alert threshold (log scale), one point per replayed
    threshold; ``threshold`` (the run's) marked."""
    fig, (ax, ax2) = plt.subplots(2, 1, figsize=(6.5, 4.6), sharex=True)
    thr = np.array([r["threshold"] for r in rows], float)

    def col(key: str) -> np.ndarray:
        return np.array([np.nan if r[key] is None else r[key] for r in rows], float)

    ax.plot(thr, col("mean_warning_s"), "o-", ms=3, label="mean")
    ax.plot(thr, col("min_warning_s"), "s--", ms=3, label="shortest")
    ax.set_ylabel("zone warning (s)")
    ax.legend(fontsize=7)
    ax2.step(thr, col("false_alerts"), "o-", where="mid", ms=3, color="#d62728")
    ax2.set_ylabel("false alerts")
    ax2.set_xlabel("alert threshold (probability of an impact in the zone), log scale")
    ax2.set_xscale("log")
    for a in (ax, ax2):
        if threshold is not None:
            a.axvline(threshold, color="k", lw=0.8, ls=":")
        a.grid(True, lw=0.3)
    ax.set_title("Threshold trade-off, replayed (dotted: the run's threshold)", fontsize=9)
    return fig


# --- tracking and altitude -----------------------------------------------------------


def gospa_figure(result: RunResult):
    """GOSPA (m) over time and its localisation, missed and false parts."""
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
    """True height above the site (m) of every round over time, to its impact or its
    destruction."""
    fig, ax = plt.subplots(figsize=(8.5, 3.8))
    destroyed = destroyed_ids(result)
    for rid, t, p in ground_tracks(result):
        (line,) = ax.plot(t, p[:, 2], lw=1.2, label=rid)
        if rid in destroyed:
            ax.plot(t[-1], p[-1, 2], "*", color=line.get_color(), mec="k", mew=0.5, ms=10)
    ax.set_xlabel("time since scenario start (s)")
    ax.set_ylabel("height above site (m)")
    ax.set_title("Altitude over time (truth; ★ destroyed in the air)")
    ax.grid(True, lw=0.3)
    if 0 < len(ax.lines) <= 12:
        ax.legend(fontsize=7)
    return fig


# --- time axes -----------------------------------------------------------------------


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


# --- engagements ---------------------------------------------------------------------


def guns_figure(view: RunView):
    """Per gun: bursts as bars from firing to intercept (green, destroyed; orange,
    survived), reload and hold periods, and the ammunition left over time."""
    guns = [w.id for w in view.scenario.weapons]
    fig, (ax, ax2) = plt.subplots(
        2,
        1,
        figsize=(8.5, 1.2 + 0.55 * len(guns) + 2.4),
        sharex=True,
        gridspec_kw={"height_ratios": [max(1.0, 0.55 * len(guns)), 2.2]},
    )
    states = view.gun_states()
    bursts = view.bursts()
    for g, gun in enumerate(guns):
        _draw_gun_states(ax, g, states.get(gun, []), view.end_s)
        _draw_gun_bursts(ax, g, [b for b in bursts if b.gun == gun])
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
    _draw_ammunition(ax2, view)
    return fig


def _draw_gun_states(ax, g: int, states: list[tuple[float, str, int]], end_s: float) -> None:
    """Reloading, hold and empty periods of gun row ``g``, hatched."""
    for st, t0, t1 in _intervals(states, end_s):
        if st in GUN_STATE_COLOUR:
            ax.barh(
                g,
                t1 - t0,
                left=t0,
                height=0.5,
                color=GUN_STATE_COLOUR[st],
                alpha=0.45,
                hatch="//",
                ec="none",
            )
            ax.text(t0, g + 0.3, st, fontsize=6, va="bottom")


def _draw_gun_bursts(ax, g: int, bursts) -> None:
    """Gun row ``g``'s bursts, fire to intercept, labelled with their threat."""
    for k, b in enumerate(bursts):
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
            colour = BURST_COLOUR[b.killed]
            ax.barh(g, b.intercept_s - b.fire_s, left=b.fire_s, height=0.5, color=colour)
            ax.plot(b.intercept_s, g, marker="*" if b.killed else "x", color="k", ms=8)
        ax.annotate(
            b.threat_id or f"T{b.track_id}",
            (b.fire_s, g),
            xytext=(0, 9 if k % 2 == 0 else -15),
            textcoords="offset points",
            fontsize=6,
        )


def _draw_ammunition(ax, view: RunView) -> None:
    """Rounds left per gun over time, stepping when a burst is committed."""
    bursts = view.bursts()
    states = view.gun_states()
    for w in view.scenario.weapons:
        pts = [(0.0, w.ammo_rounds)]
        pts += [(b.decided_s, b.ammo_left) for b in bursts if b.gun == w.id]
        pts += [(t, a) for t, _, a in states.get(w.id, [])]
        pts.sort(key=lambda x: x[0])
        t = [p[0] for p in pts] + [view.end_s]
        a = [p[1] for p in pts] + [pts[-1][1]]
        ax.step(t, a, where="post", label=w.id)
    ax.set_ylabel("rounds left (once committed)")
    ax.set_xlabel("time since scenario start (s)")
    ax.set_xlim(0, _t_max(view))
    ax.set_ylim(bottom=0)
    ax.grid(True, lw=0.3)
    ax.legend(fontsize=7)


# --- the run's timeline --------------------------------------------------------------


def timeline_figure(view: RunView):
    """One row per threat: flight from launch to impact or destruction, first radar plot,
    first confirmed track, the alert of each zone it hit, bursts fired at it."""
    threats = sorted(view.summary["threats"], key=lambda t: (t["launch"]["time_s"], t["id"]))
    warn: dict[str, list] = {}
    for w in (view.summary.get("warning") or {}).get("warning_times_s", []):
        warn.setdefault(w["threat"], []).append(w)
    bursts = view.bursts()
    n = len(threats)
    fig, ax = plt.subplots(figsize=(8.5, 1.4 + min(0.32 * n, 18.0)))
    ms = 7 if n <= 30 else 4
    for row, t in enumerate(threats):
        mine = [b for b in bursts if b.threat_id == t["id"] and b.fired]
        _draw_threat_row(ax, row, t, warn.get(t["id"], []), mine, view.end_s, ms)
    ax.set_yticks(range(n))
    ax.set_yticklabels([t["id"] for t in threats], fontsize=7 if n <= 30 else 5)
    ax.set_ylim(n - 0.5, -0.7)
    ax.set_xlim(0, _t_max(view))
    ax.set_xlabel("time since scenario start (s)")
    ax.set_title(
        "Run timeline: flight (green: intercepted, red: leaked, orange: not engaged), "
        "▲ first plot, ◆ first track,\n| alert up on the zone hit (tall: zone's, short: its own "
        "track's), green: bursts, "
        "★ destroyed, x impact",
        fontsize=8.5,
    )
    ax.grid(True, axis="x", lw=0.3)
    return fig


def _draw_warning_marks(ax, row: int, t_imp: float, warnings: list) -> None:
    """When the alert of each zone a threat hit was raised (tall red tick) and first
    listed the threat's own track (short dark tick)."""
    for w in warnings:
        for key, colour, ms, mew in (
            ("zone_alert_warning_s", "#d62728", 14, 2),
            ("own_track_warning_s", "#8c0000", 9, 3),
        ):
            if w[key] is not None:
                ax.plot(t_imp - w[key], row, "|", color=colour, ms=ms, mew=mew)


def _draw_threat_row(ax, row: int, t: dict, warnings: list, bursts: list, end_s: float, ms: int):
    """One threat's row of the timeline (``t`` its summary.json entry; ``bursts`` those
    fired at it; ``ms`` the marker size)."""
    t0 = t["launch"]["time_s"]
    if t.get("intercept"):
        t1 = t["intercept"]["time_s"]
    elif t["impact"]:
        t1 = t["impact"]["time_s"]
    else:
        t1 = end_s
    colour = OUTCOME_COLOUR.get(t.get("outcome", ""), "#7f7f7f")
    ax.barh(row, t1 - t0, left=t0, height=0.35, color=colour, alpha=0.35)
    tk = t.get("tracking") or {}
    if tk.get("first_plot_s") is not None:
        ax.plot(tk["first_plot_s"], row, "^", color="#1f77b4", ms=ms)
    if tk.get("first_confirmed_s") is not None:
        ax.plot(tk["first_confirmed_s"], row, "D", color="#1f77b4", ms=ms - 2)
    if t["impact"]:
        _draw_warning_marks(ax, row, t["impact"]["time_s"], warnings)
    for b in bursts:
        ax.plot([b.fire_s, b.intercept_s], [row + 0.25] * 2, color="#2ca02c", lw=2)
    if t.get("intercept"):
        ax.plot(t1, row, "*", color="#2ca02c", mec="k", mew=0.5, ms=ms + 4)
    elif t["impact"]:
        ax.plot(t1, row, "x", color="k", ms=ms, mew=2)
