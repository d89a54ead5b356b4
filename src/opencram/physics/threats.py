"""The threat library: published figures per threat type, each with its source.

``data/threats.yaml`` holds, per threat, figures from public sources (each names a key in
its ``sources`` table) and a ``model`` block of opencram's own calibrated parameters, which
are not published figures: the drag form factor fitted so the simulated maximum range meets
the published one, and for rockets the thrust fitted to the published burn-out velocity.
``python -m opencram.physics.calibrate`` recomputes the ``model`` blocks.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from functools import cache
from importlib import resources
from typing import Any

import numpy as np
import yaml

from opencram.physics.drag import table_index
from opencram.physics.trajectory import ProjectileBatch

LIBRARY_RESOURCE = "data/threats.yaml"
MIN_QE_DEG = 1.0  # elevation limits of a weapon whose library entry gives none
MAX_QE_DEG = 88.0


@dataclass(frozen=True)
class ThreatType:
    """One threat type in SI units. Ballistic fields are None for drones and vice versa."""

    id: str
    name: str
    category: str  # rocket | mortar | artillery | drone
    trajectory: str  # low | high: the elevation branch used to reach an aim point
    caliber_m: float
    mass_kg: float
    max_range_m: float
    rcs_m2: float
    lethal_radius_m: float
    min_range_m: float | None = None
    length_m: float | None = None
    muzzle_velocity_mps: float | None = None
    propellant_kg: float = 0.0
    burn_time_s: float = 0.0
    burnout_velocity_mps: float | None = None
    warhead_kg: float | None = None
    drag_table: str = "G1"
    # opencram model parameters (calibrated, not published)
    form_factor: float = 1.0
    thrust_n: float = 0.0
    launch_tube_m: float = 0.0
    max_range_qe_deg: float = 45.0
    # charges: (name, muzzle velocity m/s) from the lowest to the top charge, and the
    # weapon's elevation limits; ``charge`` is the charge this round is fired with (None:
    # not chosen yet, the aim solver picks one as a crew would)
    charges: tuple[tuple[str, float], ...] = ()
    charge: str | None = None
    min_elevation_deg: float = MIN_QE_DEG
    max_elevation_deg: float = MAX_QE_DEG
    # drones
    cruise_speed_mps: float | None = None
    cruise_alt_agl_m: float | None = None
    span_m: float | None = None
    sources: dict[str, list[str]] = field(default_factory=dict)

    @property
    def is_ballistic(self) -> bool:
        return self.category != "drone"

    @property
    def is_rocket(self) -> bool:
        return self.burn_time_s > 0

    @property
    def area_m2(self) -> float:
        return float(np.pi / 4.0 * self.caliber_m**2)

    @property
    def charge_names(self) -> tuple[str, ...]:
        return tuple(name for name, _ in self.charges)

    def with_charge(self, name: str) -> ThreatType:
        """This threat fired with charge ``name``: its muzzle velocity is that charge's.
        Raises KeyError for a charge the library does not list."""
        for charge, mv_mps in self.charges:
            if charge == name:
                return replace(self, charge=name, muzzle_velocity_mps=mv_mps)
        raise KeyError(name)


def _value(entry: Any) -> float | None:
    if entry is None:
        return None
    if isinstance(entry, dict):
        v = entry.get("value")
        return None if v is None else float(v)
    return float(entry)


def _sources(raw: dict) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for key, entry in raw.items():
        if isinstance(entry, dict) and "source" in entry:
            src = entry["source"]
            out[key] = [src] if isinstance(src, str) else list(src)
        elif isinstance(entry, dict):
            for k2, v2 in _sources(entry).items():
                out[f"{key}.{k2}"] = v2
    return out


def _charges(raw: dict) -> tuple[tuple[str, float], ...]:
    """(name, muzzle velocity) per charge, ordered by velocity."""
    table = raw.get("charges") or {}
    pairs = [(str(name), float(_value(entry))) for name, entry in table.items()]
    return tuple(sorted(pairs, key=lambda p: p[1]))


def parse_library(data: dict) -> dict[str, ThreatType]:
    """Build threat types from the parsed YAML document."""
    out: dict[str, ThreatType] = {}
    for tid, raw in data["threats"].items():
        motor = raw.get("motor") or {}
        model = raw.get("model") or {}
        drag = raw.get("drag") or {}
        out[tid] = ThreatType(
            id=tid,
            name=raw["name"],
            category=raw["category"],
            trajectory=raw.get("trajectory", "low"),
            caliber_m=_value(raw.get("caliber_m")) or 0.0,
            mass_kg=_value(raw["mass_kg"]),
            max_range_m=_value(raw.get("max_range_m")) or 0.0,
            rcs_m2=_value(raw["rcs_m2"]),
            lethal_radius_m=_value(raw.get("lethal_radius_m")) or 0.0,
            min_range_m=_value(raw.get("min_range_m")),
            length_m=_value(raw.get("length_m")),
            muzzle_velocity_mps=_value(raw.get("muzzle_velocity_mps")),
            propellant_kg=_value(motor.get("propellant_mass_kg")) or 0.0,
            burn_time_s=_value(motor.get("burn_time_s")) or 0.0,
            burnout_velocity_mps=_value(motor.get("burnout_velocity_mps")),
            warhead_kg=_value(raw.get("warhead_mass_kg")),
            drag_table=drag.get("table", "G1"),
            form_factor=float(model.get("form_factor", 1.0)),
            thrust_n=float(model.get("thrust_n", 0.0)),
            launch_tube_m=float(model.get("launch_tube_m", 0.0)),
            max_range_qe_deg=float(model.get("max_range_qe_deg", 45.0)),
            cruise_speed_mps=_value(raw.get("cruise_speed_mps")),
            cruise_alt_agl_m=_value(raw.get("cruise_alt_agl_m")),
            span_m=_value(raw.get("span_m")),
            charges=_charges(raw),
            min_elevation_deg=_value(raw.get("min_elevation_deg")) or MIN_QE_DEG,
            max_elevation_deg=_value(raw.get("max_elevation_deg")) or MAX_QE_DEG,
            sources=_sources(raw),
        )
    return out


def library_text() -> str:
    return resources.files("opencram.physics").joinpath(LIBRARY_RESOURCE).read_text()


@cache
def library() -> dict[str, ThreatType]:
    """All threat types by id, from the packaged library file."""
    return parse_library(yaml.safe_load(library_text()))


@cache
def source_table() -> dict[str, dict]:
    """The library's bibliography: source key -> {title, url, ...}."""
    return yaml.safe_load(library_text()).get("sources", {})


def projectile_batch(types: list[ThreatType], velocity_scale=None) -> ProjectileBatch:
    """Physical parameters for a list of ballistic threat types (one per projectile).

    ``velocity_scale`` (n,) multiplies rocket thrust (a hotter or colder motor) and so
    scatters burn-out speed; muzzle-velocity scatter of guns acts on the launch state.
    """
    n = len(types)
    scale = np.ones(n) if velocity_scale is None else np.asarray(velocity_scale, dtype=float)
    return ProjectileBatch(
        mass_kg=np.array([t.mass_kg for t in types], dtype=float),
        area_m2=np.array([t.area_m2 for t in types], dtype=float),
        form_factor=np.array([t.form_factor for t in types], dtype=float),
        drag_table=np.array([table_index(t.drag_table) for t in types], dtype=np.intp),
        propellant_kg=np.array([t.propellant_kg for t in types], dtype=float),
        burn_time_s=np.array([t.burn_time_s for t in types], dtype=float),
        thrust_n=np.array([t.thrust_n for t in types], dtype=float) * scale,
    )
