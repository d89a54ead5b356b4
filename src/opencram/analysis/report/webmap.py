"""The report's interactive map: the run's geodetic picture as one JSON document, drawn in
the page by our own script (``templates/webmap.js``, inlined; no library, no network).

Why our own script and not folium or plotly: the report must open offline from one file.
folium's pages load Leaflet and its plugins from CDNs (inlining them means shipping and
updating a copy of each asset ourselves), and plotly's bundle is about 3.5 MB for every
report; the console already draws its map as SVG with no library, so the report's map is
drawn the same way in about 20 kB of script, and what it draws is tested in Chromium
(tests/test_report_map_browser.py), its MGRS readout against the ``mgrs`` package.

Everything here comes from the :class:`~opencram.interop.runview.RunView` (the events and
summary) and the scenario's site layers; positions stay WGS-84 degrees, times seconds from
scenario start. The script projects them on the local tangent plane at the site (north
up), which over a site's few tens of kilometres is within a metre of the local frame.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from opencram import palette
from opencram.interop.runview import Path4, RunView
from opencram.scenario.layers import LayerShapes
from opencram.scenario.load import builtin_dir, read_layers
from opencram.tiles import TileSource, TileTemplate, embedded_tiles

LATLON_DP = 6  # about 0.1 m
TIME_DP = 2


def site_layers(scenario, source: str) -> tuple[LayerShapes, ...]:
    """The site layers of a run's scenario, read from its GeoJSON files next to the
    scenario (``source``: its file, or ``builtin:NAME``). The scenario was checked when it
    was loaded, so a layer that can no longer be read is left out, not an error."""
    if not scenario.layers:
        return ()
    base = builtin_dir() if source.startswith("builtin:") else Path(source).parent
    layers, _problems = read_layers(scenario, base)
    return layers


def _ll(points) -> list[list[float]]:
    a = np.round(np.asarray(points, dtype=float).reshape(-1, 2), LATLON_DP)
    return a.tolist()


def _path(p: Path4) -> dict[str, Any]:
    return {
        "id": p.id,
        "label": p.label,
        "t": np.round(p.t_s, TIME_DP).tolist(),
        "ll": _ll(np.c_[p.lat, p.lon]),
        "alt": np.round(p.alt_m).tolist(),
    }


def _ellipse(e) -> dict[str, Any]:
    el = e.ellipse95
    return {
        "t": round(e.t_s, TIME_DP),
        "track": e.track_id,
        "ll": [round(e.lat, LATLON_DP), round(e.lon, LATLON_DP)],
        "a": round(el.semi_major_m, 1),
        "b": round(el.semi_minor_m, 1),
        "deg": round(el.orientation_deg, 1),
    }


def _ellipses(view: RunView, kind: str) -> list[dict[str, Any]]:
    return [_ellipse(e) for evs in view.predictions(kind).values() for e in evs]


def _bursts(view: RunView) -> list[dict[str, Any]]:
    return [
        {
            "gun": b.gun,
            "track": b.track_id,
            "threat": b.threat_id or "",
            "fire": round(b.fire_s, TIME_DP),
            "t": round(b.intercept_s, TIME_DP),
            "ll": [round(b.lat, LATLON_DP), round(b.lon, LATLON_DP)],
            "alt": round(b.alt_m),
            "rounds": b.rounds,
            "pk": round(b.p_kill, 3),
            "result": b.result,
            "footprints": [
                {"kind": f.kind, "ll": [f.lat, f.lon], "r": f.radius_m} for f in b.footprints
            ],
        }
        for b in view.bursts()
        if b.fired
    ]


def _places(view: RunView) -> dict[str, list[dict[str, Any]]]:
    s = view.scenario
    return {
        "landmarks": [{"name": m.name, "ll": [m.lat, m.lon]} for m in s.landmarks],
        "sensors": [{"name": x.id, "ll": [x.lat, x.lon]} for x in s.sensors],
        "guns": [{"name": w.id, "ll": [w.lat, w.lon], "range": w.max_range_m} for w in s.weapons],
    }


def _threats(view: RunView) -> list[dict[str, Any]]:
    info = {t["id"]: t for t in view.summary.get("threats", [])}
    out = []
    for p in view.threat_paths():
        t = info.get(p.id, {})
        out.append({**_path(p), "outcome": t.get("outcome", ""), "type": t.get("type", "")})
    return out


def _layers(layers: tuple[LayerShapes, ...]) -> list[dict[str, Any]]:
    return [
        {
            "name": lay.name,
            "kind": lay.kind,
            "source": lay.source,
            "polygons": [_ll(r) for r in lay.polygons],
            "lines": [_ll(r) for r in lay.lines],
        }
        for lay in layers
    ]


def extent(data: dict[str, Any]) -> tuple[float, float, float, float]:
    """(south, west, north, east) of what the map frames: the site, zones, flights, guns
    and landmarks (the script's ``allPoints``)."""
    pts = [data["site"]["ll"]]
    pts += [p for z in data["zones"] for r in z["rings"] for p in r]
    pts += [p for t in data["threats"] for p in t["ll"]]
    pts += [g["ll"] for g in data["guns"]] + [m["ll"] for m in data["landmarks"]]
    a = np.asarray(pts, dtype=float)
    return float(a[:, 0].min()), float(a[:, 1].min()), float(a[:, 0].max()), float(a[:, 1].max())


def tiles_data(tiles: TileSource | None, data: dict[str, Any]) -> dict[str, Any] | None:
    """The base map: embedded MBTiles tiles covering the map's extent, or a URL template
    the browser fetches from, or None (no base map)."""
    if tiles is None:
        return None
    if isinstance(tiles, TileTemplate):
        return {"template": tiles.url, "images": []}
    return {"template": "", "images": embedded_tiles(tiles, extent(data))}


def map_data(
    view: RunView, layers: tuple[LayerShapes, ...] = (), tiles: TileSource | None = None
) -> dict[str, Any]:
    """Everything the interactive map draws, JSON-ready; ``tiles``: a base map beneath."""
    data = _map_data(view, layers)
    data["tiles"] = tiles_data(tiles, data)
    return data


def _map_data(view: RunView, layers: tuple[LayerShapes, ...]) -> dict[str, Any]:
    lat, lon, alt = view.site
    kinds = view.zone_kinds
    ends = view.track_end_s()
    tracks = [{**_path(p), "end": ends.get(int(p.id[1:]))} for p in view.track_paths()]
    return {
        "site": {"name": view.scenario.site.name, "ll": [lat, lon], "alt": alt},
        "end_s": round(view.end_s, TIME_DP),
        "palette": palette.as_dict(),
        "layers": _layers(layers),
        "zones": [
            {"name": n, "kind": kinds[n], "rings": [_ll(r) for r in rr]}
            for n, rr in view.zone_rings.items()
        ],
        **_places(view),
        "threats": _threats(view),
        "aircraft": [_path(p) for p in view.aircraft_paths()],
        "tracks": tracks,
        "impact_ellipses": _ellipses(view, "impact_predicted"),
        "origin_ellipses": _ellipses(view, "respond"),
        "bursts": _bursts(view),
        "impacts": [
            {"id": e.threat_id, "t": round(e.t_s, TIME_DP), "ll": [e.lat, e.lon], "zones": e.zones}
            for e in view.of_kind("impact")
        ],
    }


def map_json(data: dict[str, Any]) -> str:
    """The map's data as JSON safe inside a ``<script type="application/json">`` element
    (no ``</`` can close it early, no ``<!--`` can open a comment)."""
    text = json.dumps(data, separators=(",", ":"), allow_nan=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
