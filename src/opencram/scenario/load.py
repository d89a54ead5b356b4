"""Reading scenario files: YAML in, a validated :class:`Scenario` out, or every problem
reported at once as ``FILE:LINE: field.path: message`` lines in a :class:`UserError`.

Loading also reads each zone's outline (inline polygon or GeoJSON file) once and carries
the rings on the :class:`LoadedScenario`, so nothing downstream reads zone files.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from importlib import resources
from pathlib import Path
from typing import NamedTuple

from pydantic import ValidationError

from opencram import yamlio
from opencram.errors import UserError
from opencram.physics.threats import library
from opencram.scenario.layers import LayerShapes, layer_shapes
from opencram.scenario.schema import MAX_FALSE_PLOTS_PER_S, MAX_TOTAL_ROUNDS, Scenario
from opencram.scenario.zonefiles import ZoneRings, zone_rings
from opencram.yamlio import (
    LineIndex,
    model_at,
    path_str,
    problem_at,
    read_yaml_file,
    read_yaml_mapping,
    unknown_name,
    validation_problems,
)

BUILTIN_PACKAGE = "opencram.scenario"
BUILTIN_DIR = "builtin"


class FieldProblem(NamedTuple):
    """A problem with one field of a scenario: its field path (e.g. ``("zones", 0,
    "geojson")``) and a plain-words message."""

    path: tuple
    message: str


@dataclass(frozen=True)
class LoadedScenario:
    """A validated scenario, where it came from, the folder its relative paths use, and
    each zone's (lat, lon) rings in scenario order (read from the scenario or its GeoJSON
    files when it was loaded).

    Built by :func:`load`, :func:`parse` or :func:`assemble`. Built by hand without
    ``zone_rings``, it reads them here (once); a bad zone then raises :class:`UserError`.
    """

    scenario: Scenario
    source: str  # a file path, or "builtin:NAME"
    base_dir: Path
    zone_rings: tuple[ZoneRings, ...] | None = None
    layers: tuple[LayerShapes, ...] | None = None

    def __post_init__(self) -> None:
        if self.zone_rings is None:
            rings, problems = read_zone_rings(self.scenario, self.base_dir)
            if problems:
                raise UserError(*(f"{self.source}: {path_str(p)}: {m}" for p, m in problems))
            object.__setattr__(self, "zone_rings", rings)
        if self.layers is None:
            layers, problems = read_layers(self.scenario, self.base_dir)
            if problems:
                raise UserError(*(f"{self.source}: {path_str(p)}: {m}" for p, m in problems))
            object.__setattr__(self, "layers", layers)


def builtin_names() -> list[str]:
    """Names of the built-in scenarios, sorted."""
    folder = resources.files(BUILTIN_PACKAGE).joinpath(BUILTIN_DIR)
    return sorted(p.name[:-5] for p in folder.iterdir() if p.name.endswith(".yaml"))


def builtin_dir() -> Path:
    """The folder holding the built-in scenarios (and their zone files)."""
    return Path(str(resources.files(BUILTIN_PACKAGE).joinpath(BUILTIN_DIR)))


def builtin_path(name: str) -> Path:
    """The file of built-in scenario ``name`` (not checked to exist)."""
    return builtin_dir() / f"{name}.yaml"


def builtin_text(name: str) -> str:
    """The YAML text of built-in scenario ``name``; an unknown name is a ``UserError``."""
    if name not in builtin_names():
        raise UserError(unknown_name("built-in scenario", name, builtin_names()))
    return builtin_path(name).read_text()


def resolve(name_or_path: str) -> Path:
    """A built-in scenario name or a path to a YAML file."""
    p = Path(name_or_path)
    if p.suffix in (".yaml", ".yml") or p.exists() or "/" in name_or_path:
        if not p.exists():
            raise UserError(f"{name_or_path}: file not found")
        if not p.is_file():
            raise UserError(f"{name_or_path}: not a regular file")
        return p
    if name_or_path in builtin_names():
        return builtin_path(name_or_path)
    known = unknown_name("scenario", name_or_path, builtin_names())
    raise UserError(known + " (or give a .yaml path)")


def load(name_or_path: str) -> LoadedScenario:
    """Load, validate and check a scenario; raise :class:`UserError` listing every problem."""
    path = resolve(name_or_path)
    is_builtin = path.parent == builtin_dir()
    label = f"builtin:{path.stem}" if is_builtin else str(name_or_path)
    text = _read(path, label)
    return parse(text, label, path.parent)


def _read(path: Path, label: str) -> str:
    return read_yaml_file(path, label)


scenario_model_at = partial(model_at, Scenario)
"""The scenario schema model holding the keys at a field path (for "did you mean")."""


def scenario_message(err: dict, path: tuple) -> str:
    """One plain-words message for a pydantic error of the scenario schema at ``path``."""
    return yamlio.pydantic_message(err, path, scenario_model_at)


def parse(text: str, label: str = "<scenario>", base_dir: Path | None = None) -> LoadedScenario:
    """Validate scenario YAML text; ``label`` names it in error messages."""
    data, lines = read_yaml_mapping(
        text, label, "a scenario must be a YAML mapping (name:, site:, ...)"
    )
    try:
        scenario = Scenario.model_validate(data)
    except ValidationError as exc:
        raise UserError(*validation_problems(exc, data, lines, label, scenario_model_at)) from None
    base = base_dir or Path.cwd()
    loaded, problems = assemble(scenario, label, base)
    if problems:
        raise UserError(*(_located(label, lines, p) for p in problems))
    return loaded


def _located(label: str, lines: LineIndex, problem: FieldProblem) -> str:
    return problem_at(label, lines, problem.path, problem.message)


def assemble(
    scenario: Scenario, source: str, base_dir: Path
) -> tuple[LoadedScenario | None, list[FieldProblem]]:
    """Check a schema-valid scenario beyond its schema and read its zone outlines (each
    GeoJSON file once): the loaded scenario and no problems, or None and every problem."""
    rings, zone_problems = read_zone_rings(scenario, base_dir)
    layers, layer_problems = read_layers(scenario, base_dir)
    problems = check_rules(scenario) + zone_problems + layer_problems
    if problems:
        return None, problems
    return LoadedScenario(scenario, source, base_dir, rings, layers), []


def check(scenario: Scenario, base_dir: Path) -> list[FieldProblem]:
    """Checks beyond the schema: names unique, threat types known, zone outlines (inline or
    GeoJSON) readable and valid. Returns every problem; see also :func:`assemble`."""
    return assemble(scenario, "<scenario>", base_dir)[1]


def check_rules(scenario: Scenario) -> list[FieldProblem]:
    """The checks that need no file: unique names and ids, known threat types, a drone's
    aim point, waypoints only for drones."""
    return _duplicate_names(scenario) + _threat_problems(scenario) + _work_problems(scenario)


def _work_problems(scenario: Scenario) -> list[FieldProblem]:
    """Totals across entries that bound a run's work (opencram.scenario.schema, limits):
    threat rounds, and false plots per second across the sensors."""
    out: list[FieldProblem] = []
    rounds = sum(t.salvo.count for t in scenario.threats)
    if rounds > MAX_TOTAL_ROUNDS:
        out.append(
            FieldProblem(
                ("threats",),
                f"{rounds:,} rounds in all (salvo.count summed over the threats); "
                f"the limit is {MAX_TOTAL_ROUNDS:,}",
            )
        )
    false_per_s = sum(s.false_alarm_rate_per_scan / s.scan_s for s in scenario.sensors)
    if false_per_s > MAX_FALSE_PLOTS_PER_S:
        out.append(
            FieldProblem(
                ("sensors",),
                f"{false_per_s:,.0f} false plots per second in all "
                f"(false_alarm_rate_per_scan / scan_s summed over the sensors); "
                f"the limit is {MAX_FALSE_PLOTS_PER_S:,.0f}",
            )
        )
    return out


def _duplicate_names(scenario: Scenario) -> list[FieldProblem]:
    out: list[FieldProblem] = []
    for field, key in (("zones", "name"), ("sensors", "id"), ("weapons", "id"), ("aircraft", "id")):
        seen: set[str] = set()
        for i, item in enumerate(getattr(scenario, field)):
            v = getattr(item, key)
            if v in seen:
                out.append(FieldProblem((field, i, key), f"duplicate {key} '{v}'"))
            seen.add(v)
    return out


def _threat_problems(scenario: Scenario) -> list[FieldProblem]:
    out: list[FieldProblem] = []
    lib = library()
    known = sorted(lib)
    ids: set[str] = set()
    for i, t in enumerate(scenario.threats):
        if t.type not in known:
            out.append(
                FieldProblem(("threats", i, "type"), unknown_name("threat type", t.type, known))
            )
            continue
        kind = lib[t.type].category
        if kind == "drone" and t.aim is None:
            out.append(
                FieldProblem(("threats", i, "aim"), "a drone needs an 'aim' point to dive on")
            )
        if kind != "drone" and t.waypoints:
            out.append(
                FieldProblem(("threats", i, "waypoints"), f"only drones fly waypoints, not {kind}s")
            )
        if t.id is not None:
            if t.id in ids:
                out.append(FieldProblem(("threats", i, "id"), f"duplicate id '{t.id}'"))
            ids.add(t.id)
    return out


def read_zone_rings(
    scenario: Scenario, base_dir: Path
) -> tuple[tuple[ZoneRings, ...], list[FieldProblem]]:
    """Every zone's rings in scenario order (a zone that could not be read has none), and
    the problems of the zones that could not, at ``zones[i].geojson`` or ``.polygon``."""
    rings: list[ZoneRings] = []
    problems: list[FieldProblem] = []
    for i, z in enumerate(scenario.zones):
        try:
            rings.append(zone_rings(z, base_dir))
        except UserError as exc:
            rings.append(())
            field = "geojson" if z.geojson is not None else "polygon"
            problems.extend(FieldProblem(("zones", i, field), p) for p in exc.problems)
    return tuple(rings), problems


def read_layers(
    scenario: Scenario, base_dir: Path
) -> tuple[tuple[LayerShapes, ...], list[FieldProblem]]:
    """Every site layer's shapes in scenario order (a layer that could not be read is left
    out), and the problems of those that could not, at ``layers[i].geojson``."""
    layers: list[LayerShapes] = []
    problems: list[FieldProblem] = []
    for i, layer in enumerate(scenario.layers):
        try:
            layers.append(layer_shapes(layer, base_dir))
        except UserError as exc:
            problems.extend(FieldProblem(("layers", i, "geojson"), p) for p in exc.problems)
    return tuple(layers), problems
