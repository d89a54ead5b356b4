"""A finished run as the exports and the report read it: its events, summary and scenario.

Everything here is built from what a run folder holds on disk (``events.jsonl``,
``summary.json``, ``scenario.yaml``), so old runs can be exported, or from the in-memory
:class:`~opencram.c2.engine.RunResult` of a run that has just finished. Positions stay
geodetic (WGS-84 degrees, metres above the ellipsoid), as the events carry them; ellipses
and footprint discs become rings of latitude/longitude through pymap3d.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pymap3d

from opencram.runs import RunFolder
from opencram.scenario.schema import Scenario

RING_VERTICES = 72  # vertices of an ellipse or disc outline

# one colour per kind of thing drawn, (r, g, b), shared by the KML and CZML exports
PALETTE_RGB = {
    "protected": (214, 39, 40),
    "no-fire": (148, 103, 189),
    "warning": (255, 191, 0),
    "threat": (214, 39, 40),
    "aircraft": (23, 190, 207),
    "track": (31, 119, 180),
    "impact_ellipse": (255, 127, 14),
    "origin_ellipse": (227, 119, 194),
    "intercept": (44, 160, 44),
    "dud": (140, 86, 75),
    "debris": (127, 127, 127),
    "withheld": (0, 0, 0),
    "site": (68, 68, 68),
}


@dataclass(frozen=True)
class Path4:
    """A time-tagged path: times (k,) in seconds from scenario start and positions (k,)."""

    id: str
    kind: str  # "threat", "aircraft" or "track"
    t_s: np.ndarray
    lat: np.ndarray
    lon: np.ndarray
    alt_m: np.ndarray
    label: str = ""


@dataclass(frozen=True)
class Burst:
    """One engagement (a gun's burst on a track) with its kill assessment."""

    gun: str
    track_id: int
    threat_id: str | None
    decided_s: float
    fire_s: float
    intercept_s: float
    lat: float
    lon: float
    alt_m: float
    rounds: int
    p_kill: float
    ammo_left: int
    killed: bool | None  # None: not assessed before the run ended
    footprints: tuple = ()
    cancelled: str = ""  # why a committed burst was not fired (its rounds kept), if so

    @property
    def fired(self) -> bool:
        return not self.cancelled

    @property
    def result(self) -> str:
        if self.cancelled:
            return "cancelled"
        return {True: "destroyed", False: "survived", None: "not assessed"}[self.killed]


@dataclass(frozen=True)
class RunView:
    scenario: Scenario
    summary: dict[str, Any]
    events: tuple = ()
    zone_rings: dict[str, list[list[tuple[float, float]]]] = field(default_factory=dict)
    folder: Path | None = None

    # --- basic facts -----------------------------------------------------------------
    @property
    def site(self) -> tuple[float, float, float]:
        s = self.scenario.site
        return s.lat, s.lon, s.alt_m

    @property
    def end_s(self) -> float:
        return float(self.summary.get("end_time_s") or 0.0)

    @property
    def zone_kinds(self) -> dict[str, str]:
        return {z.name: z.kind for z in self.scenario.zones}

    def of_kind(self, kind: str) -> list:
        return [e for e in self.events if e.kind == kind]

    def track_threat(self) -> dict[int, str]:
        """Track id → the threat it followed (from summary.json's tracking section)."""
        out: dict[int, str] = {}
        for t in self.summary.get("threats", []):
            for k in (t.get("tracking") or {}).get("track_ids", []):
                out[int(k)] = t["id"]
        return out

    # --- paths ---------------------------------------------------------------------
    def threat_paths(self) -> list[Path4]:
        """Each threat's true flight: launch, the once-a-second truth samples, and its end
        (impact, or the intercept point when destroyed in the air)."""
        samples: dict[str, list[tuple[float, float, float, float]]] = {}
        for e in self.events:
            if e.kind == "launch":
                samples.setdefault(e.threat_id, []).append((e.t_s, e.lat, e.lon, e.alt_m))
            elif e.kind == "truth" and e.object_kind == "threat":
                samples.setdefault(e.object_id, []).append((e.t_s, e.lat, e.lon, e.alt_m))
            elif e.kind == "impact":
                samples.setdefault(e.threat_id, []).append((e.t_s, e.lat, e.lon, e.alt_m))
        for t in self.summary.get("threats", []):
            i = t.get("intercept")
            if i and t["id"] in samples:
                samples[t["id"]].append((i["time_s"], i["lat"], i["lon"], i["alt_m"]))
        types = {t["id"]: t["type"] for t in self.summary.get("threats", [])}
        return [
            _path(tid, "threat", rows, types.get(tid, ""))
            for tid, rows in samples.items()
            if len(rows) >= 1
        ]

    def aircraft_paths(self) -> list[Path4]:
        samples: dict[str, list] = {}
        for e in self.events:
            if e.kind == "truth" and e.object_kind == "aircraft":
                samples.setdefault(e.object_id, []).append((e.t_s, e.lat, e.lon, e.alt_m))
        return [_path(a, "aircraft", rows, "friendly aircraft") for a, rows in samples.items()]

    def track_paths(self) -> list[Path4]:
        """Each confirmed track's updated positions by measurement time, with its last
        class."""
        samples: dict[int, list] = {}
        cls: dict[int, str] = {}
        for e in self.events:
            if e.kind == "track":
                samples.setdefault(e.track_id, []).append((e.measured_s, e.lat, e.lon, e.alt_m))
                cls[e.track_id] = e.track_class
        return [_path(f"T{k}", "track", rows, cls[k]) for k, rows in sorted(samples.items())]

    # --- predictions ---------------------------------------------------------------
    def predictions(self, kind: str) -> dict[int, list]:
        """``impact_predicted`` or ``respond`` events by track, in time order; of several
        made at the same tick (several plots in one tick) only the last, the one the system
        showed from that tick on."""
        out: dict[int, list] = {}
        for e in self.events:
            if e.kind == kind:
                q = out.setdefault(e.track_id, [])
                if q and q[-1].t_s == e.t_s:
                    q[-1] = e
                else:
                    q.append(e)
        return out

    def track_end_s(self) -> dict[int, float]:
        """When each track stopped: dropped, or the end of the run."""
        out: dict[int, float] = {}
        for e in self.events:
            if e.kind == "track_dropped":
                out[e.track_id] = e.t_s
        return out

    # --- engagements ---------------------------------------------------------------
    def bursts(self) -> list[Burst]:
        """Every engagement in time order, each joined with the next kill assessment of
        the same gun and track."""
        owner = self.track_threat()
        pending: dict[tuple[str, int], list[int]] = {}
        rows: list[dict] = []
        for e in self.events:
            if e.kind == "engagement":
                pending.setdefault((e.gun, e.track_id), []).append(len(rows))
                rows.append(
                    {
                        "gun": e.gun,
                        "track_id": e.track_id,
                        "threat_id": owner.get(e.track_id),
                        "decided_s": e.t_s,
                        "fire_s": e.fire_s,
                        "intercept_s": e.intercept_s,
                        "lat": e.lat,
                        "lon": e.lon,
                        "alt_m": e.alt_m,
                        "rounds": e.rounds,
                        "p_kill": e.p_kill,
                        "ammo_left": e.ammo_left,
                        "killed": None,
                        "cancelled": "",
                        "footprints": tuple(getattr(e, "footprints", ()) or ()),
                    }
                )
            elif e.kind == "engagement_result":
                q = pending.get((e.gun, e.track_id))
                if q:
                    row = rows[q.pop(0)]
                    row["killed"] = bool(e.killed)
                    row["cancelled"] = getattr(e, "cancelled", "") or ""
        return [Burst(**r) for r in rows]

    def withheld(self) -> list:
        """``engagement_withheld`` events (empty for runs from before they existed)."""
        return self.of_kind("engagement_withheld")

    def gun_states(self) -> dict[str, list[tuple[float, str, int]]]:
        """Gun → its (time, state, ammunition) changes."""
        out: dict[str, list] = {w.id: [] for w in self.scenario.weapons}
        for e in self.events:
            if e.kind == "gun":
                out.setdefault(e.gun, []).append((e.t_s, e.state, e.ammo))
        return out


def _path(pid: str, kind: str, rows: list, label: str) -> Path4:
    a = np.array(sorted(rows), dtype=float).reshape(-1, 4)
    # keep the first of samples with the same time (a launch and its first truth sample)
    keep = np.r_[True, np.diff(a[:, 0]) > 1e-9]
    a = a[keep]
    return Path4(pid, kind, a[:, 0], a[:, 1], a[:, 2], a[:, 3], label)


# --- rings ------------------------------------------------------------------------------


def ellipse_ring(
    lat: float,
    lon: float,
    semi_major_m: float,
    semi_minor_m: float,
    orientation_deg: float,
    n: int = RING_VERTICES,
) -> tuple[np.ndarray, np.ndarray]:
    """(lat, lon) arrays (n,) of an ellipse's outline on the ground, counter-clockwise seen
    from above; the major axis points at ``orientation_deg`` (clockwise from north)."""
    th = np.radians(orientation_deg)
    major = np.array([np.sin(th), np.cos(th)])
    minor = np.array([-np.cos(th), np.sin(th)])  # major turned 90° anticlockwise
    s = np.linspace(0.0, 2.0 * np.pi, n, endpoint=False)
    en = np.outer(semi_major_m * np.cos(s), major) + np.outer(semi_minor_m * np.sin(s), minor)
    la, lo, _ = pymap3d.enu2geodetic(en[:, 0], en[:, 1], np.zeros(n), lat, lon, 0.0)
    return np.asarray(la), np.asarray(lo)


def circle_ring(lat: float, lon: float, radius_m: float, n: int = RING_VERTICES):
    return ellipse_ring(lat, lon, radius_m, radius_m, 0.0, n)


# --- loading ----------------------------------------------------------------------------


def from_result(result, summary: dict[str, Any]) -> RunView:
    """The view of a run that has just finished in memory."""
    world = result.world
    rings = {
        name: [list(r) for r in rr]
        for name, rr in zip(world.zones.names, world.zones.rings_latlon, strict=True)
    }
    return RunView(world.scenario, summary, tuple(result.events), rings)


def load_run(folder: str | Path) -> RunView:
    """Read a run folder written by ``opencram run``; every problem is a one-line
    :class:`~opencram.errors.UserError` naming the folder or file."""
    run = RunFolder.open(folder)
    summary = run.summary()
    loaded = run.scenario()
    rings = {
        z.name: [list(r) for r in rr]
        for z, rr in zip(loaded.scenario.zones, loaded.zone_rings, strict=True)
    }
    return RunView(loaded.scenario, summary, tuple(run.events()), rings, run.path)


def iso(epoch: datetime, t_s: float) -> str:
    """Scenario time as a UTC ISO 8601 instant with milliseconds."""
    return (epoch + timedelta(seconds=float(t_s))).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


# --- site layers --------------------------------------------------------------------------


def layer_features(layers, frame) -> list[dict[str, Any]]:
    """Site layers (``LayerShapes``) as JSON-ready features in a local frame (``LocalFrame``)
    for the console's map: name, kind, source, and polygons and lines as lists of [east,
    north] metres (to 0.1 m). One batched conversion per layer."""
    out = []
    for lay in layers:
        rings = [*lay.polygons, *lay.lines]
        if not rings:
            continue
        ll = np.array([p for r in rings for p in r], dtype=float)
        en = np.round(frame.to_enu(ll[:, 0], ll[:, 1], frame.alt_m)[:, :2], 1)
        parts = [p.tolist() for p in np.split(en, np.cumsum([len(r) for r in rings])[:-1])]
        out.append(
            {
                "name": lay.name,
                "kind": lay.kind,
                "source": lay.source,
                "polygons": parts[: len(lay.polygons)],
                "lines": parts[len(lay.polygons) :],
            }
        )
    return out
