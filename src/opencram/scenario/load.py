"""Reading scenario files: YAML in, a validated :class:`Scenario` out, or every problem
reported at once as ``FILE:LINE: field.path: message`` lines in a :class:`UserError`."""

from __future__ import annotations

import difflib
import json
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import yaml
from pydantic import BaseModel, ValidationError

from opencram.errors import UserError
from opencram.scenario.schema import Scenario

BUILTIN_PACKAGE = "opencram.scenario"
BUILTIN_DIR = "builtin"


@dataclass(frozen=True)
class LoadedScenario:
    """A validated scenario, where it came from, and the folder its relative paths use."""

    scenario: Scenario
    source: str  # a file path, or "builtin:NAME"
    base_dir: Path


def builtin_names() -> list[str]:
    folder = resources.files(BUILTIN_PACKAGE).joinpath(BUILTIN_DIR)
    return sorted(p.name[:-5] for p in folder.iterdir() if p.name.endswith(".yaml"))


def builtin_path(name: str) -> Path:
    return Path(str(resources.files(BUILTIN_PACKAGE).joinpath(BUILTIN_DIR, f"{name}.yaml")))


def builtin_text(name: str) -> str:
    if name not in builtin_names():
        raise UserError(_unknown("built-in scenario", name, builtin_names()))
    return builtin_path(name).read_text()


def _unknown(what: str, name: str, known: list[str]) -> str:
    close = difflib.get_close_matches(name, known, n=1)
    hint = f" (did you mean '{close[0]}'?)" if close else ""
    return f"unknown {what} '{name}'{hint}; known: {', '.join(known)}"


def resolve(name_or_path: str) -> Path:
    """A built-in scenario name or a path to a YAML file."""
    p = Path(name_or_path)
    if p.suffix in (".yaml", ".yml") or p.exists() or "/" in name_or_path:
        if not p.is_file():
            raise UserError(f"{name_or_path}: file not found")
        return p
    if name_or_path in builtin_names():
        return builtin_path(name_or_path)
    raise UserError(_unknown("scenario", name_or_path, builtin_names()) + " (or give a .yaml path)")


def load(name_or_path: str) -> LoadedScenario:
    """Load, validate and check a scenario; raise :class:`UserError` listing every problem."""
    path = resolve(name_or_path)
    is_builtin = path.parent == builtin_path("x").parent
    label = f"builtin:{path.stem}" if is_builtin else str(name_or_path)
    text = _read(path, label)
    return parse(text, label, path.parent)


def _read(path: Path, label: str) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError(f"{label}: cannot read: {exc}") from None


def read_yaml_mapping(text: str, label: str, expected: str):
    """Parse YAML text that must be a mapping; return the data and a map from each field
    path to its line. A syntax error or another top-level type is a one-line
    :class:`UserError` naming ``label`` and the line; ``expected`` says what should be
    there."""
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{label}:{mark.line + 1}" if mark else label
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise UserError(f"{where}: invalid YAML: {problem}") from None
    if not isinstance(data, dict):
        raise UserError(f"{label}:1: {expected}")
    return data, _line_index(node)


def parse(text: str, label: str = "<scenario>", base_dir: Path | None = None) -> LoadedScenario:
    """Validate scenario YAML text; ``label`` names it in error messages."""
    data, lines = read_yaml_mapping(
        text, label, "a scenario must be a YAML mapping (name:, site:, ...)"
    )
    try:
        scenario = Scenario.model_validate(data)
    except ValidationError as exc:
        raise UserError(*_format_errors(exc, data, lines, label)) from None
    base = base_dir or Path.cwd()
    problems = [_at(label, lines, loc, msg) for loc, msg in check(scenario, base)]
    if problems:
        raise UserError(*problems)
    return LoadedScenario(scenario, label, base)


def check(scenario: Scenario, base_dir: Path) -> list[tuple[tuple, str]]:
    """Checks beyond the schema: names unique, threat types known, GeoJSON readable,
    polygons valid. Returns (field path, message) pairs."""
    from opencram.physics.threats import library

    out: list[tuple[tuple, str]] = []
    for field, key in (("zones", "name"), ("sensors", "id"), ("weapons", "id"), ("aircraft", "id")):
        seen: set[str] = set()
        for i, item in enumerate(getattr(scenario, field)):
            v = getattr(item, key)
            if v in seen:
                out.append(((field, i, key), f"duplicate {key} '{v}'"))
            seen.add(v)
    known = sorted(library())
    ids: set[str] = set()
    for i, t in enumerate(scenario.threats):
        if t.type not in known:
            out.append(((("threats", i, "type")), _unknown("threat type", t.type, known)))
            continue
        kind = library()[t.type].category
        if kind == "drone" and t.aim is None:
            out.append((("threats", i, "aim"), "a drone needs an 'aim' point to dive on"))
        if kind != "drone" and t.waypoints:
            out.append((("threats", i, "waypoints"), f"only drones fly waypoints, not {kind}s"))
        if t.id is not None:
            if t.id in ids:
                out.append((("threats", i, "id"), f"duplicate id '{t.id}'"))
            ids.add(t.id)
    from opencram.warn.zones import zone_polygon_latlon

    for i, z in enumerate(scenario.zones):
        try:
            zone_polygon_latlon(z, base_dir)
        except UserError as exc:
            field = "geojson" if z.geojson is not None else "polygon"
            out.extend((("zones", i, field), p) for p in exc.problems)
    return out


# --- error formatting -------------------------------------------------------------------


def _line_index(node) -> dict[tuple, int]:
    """Map each field path in the YAML document to its 1-based line number."""
    index: dict[tuple, int] = {}

    def walk(n, path: tuple) -> None:
        index[path] = n.start_mark.line + 1
        if isinstance(n, yaml.MappingNode):
            for k, v in n.value:
                key = k.value
                index[(*path, key)] = k.start_mark.line + 1
                walk(v, (*path, key))
                index[(*path, key)] = k.start_mark.line + 1
        elif isinstance(n, yaml.SequenceNode):
            for i, v in enumerate(n.value):
                walk(v, (*path, i))

    if node is not None:
        walk(node, ())
    return index


def _data_path(loc: tuple, data, keep_last: bool) -> tuple:
    """Drop pydantic's type tags from an error location, keeping real keys and indices."""
    out: list = []
    cur = data
    for j, part in enumerate(loc):
        if isinstance(cur, dict) and part in cur:
            out.append(part)
            cur = cur[part]
        elif isinstance(cur, list | tuple) and isinstance(part, int) and part < len(cur):
            out.append(part)
            cur = cur[part]
        elif keep_last and j == len(loc) - 1 and isinstance(part, str):
            out.append(part)
    return tuple(out)


def path_str(path: tuple) -> str:
    s = ""
    for part in path:
        s += f"[{part}]" if isinstance(part, int) else (f".{part}" if s else str(part))
    return s or "(top level)"


def _at(label: str, lines: dict[tuple, int], path: tuple, msg: str) -> str:
    p = tuple(path)
    while p and p not in lines:
        p = p[:-1]
    line = lines.get(p)
    where = f"{label}:{line}" if line else label
    return f"{where}: {path_str(tuple(path))}: {msg}"


def _model_at(path: tuple) -> type[BaseModel] | None:
    """The schema model that holds the keys at ``path`` (a data path), if any."""
    import types
    import typing

    def models_in(annotation) -> list:
        origin = typing.get_origin(annotation)
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            return [annotation]
        if origin is typing.Annotated:
            return models_in(typing.get_args(annotation)[0])
        if origin in (typing.Union, types.UnionType, list, tuple):
            return [m for a in typing.get_args(annotation) for m in models_in(a)]
        return []

    model: type[BaseModel] | None = Scenario
    for part in path:
        if model is None:
            return None
        if isinstance(part, int):
            continue
        field = model.model_fields.get(part)
        if field is None:
            return None
        found = models_in(field.annotation)
        model = found[0] if found else None
    return model


def _suggest(key: str, candidates: list[str]) -> str | None:
    prefix = [c for c in candidates if key.startswith(c) or c.startswith(key)]
    if prefix:
        return max(prefix, key=len)
    close = difflib.get_close_matches(key, candidates, n=1, cutoff=0.5)
    return close[0] if close else None


_MESSAGES = {
    "missing": "required",
    "float_parsing": "must be a number",
    "float_type": "must be a number",
    "int_parsing": "must be a whole number",
    "int_type": "must be a whole number",
    "int_from_float": "must be a whole number",
    "string_type": "must be text",
    "list_type": "must be a list",
    "tuple_type": "must be a [lat, lon] pair",
    "model_type": "must be a mapping of keys",
    "dict_type": "must be a mapping of keys",
    "bool_type": "must be true or false",
    "finite_number": "must be a finite number",
}


def pydantic_message(err: dict, path: tuple, model_at=None, messages=None) -> str:
    """One plain-words message for a pydantic error at data ``path``. ``model_at(path)``
    finds the model holding the keys at a path (for "did you mean" on unknown keys; the
    scenario schema by default); ``messages`` adds or overrides messages by error type."""
    kind = err["type"]
    table = {**_MESSAGES, **(messages or {})}
    if kind == "extra_forbidden":
        key = str(path[-1]) if path else str(err["loc"][-1])
        model = (model_at or _model_at)(path[:-1])
        close = _suggest(key, list(model.model_fields)) if model else None
        return "unknown key" + (f" (did you mean '{close}'?)" if close else "")
    if kind in table:
        return table[kind]
    msg = err["msg"]
    for prefix in ("Value error, ", "Assertion failed, "):
        if msg.startswith(prefix):
            return msg[len(prefix) :]
    return msg.replace("Input should be", "must be").replace("Input ", "")


def _format_errors(exc: ValidationError, data, lines: dict[tuple, int], label: str) -> list[str]:
    seen: set[str] = set()
    out: list[str] = []
    for err in exc.errors(include_url=False):
        keep_last = err["type"] in ("missing", "extra_forbidden")
        path = _data_path(tuple(err["loc"]), data, keep_last)
        line = _at(label, lines, path, pydantic_message(err, path))
        if line not in seen:
            seen.add(line)
            out.append(line)
    return out


def load_geojson_polygons(path: Path) -> list[list[tuple[float, float]]]:
    """Exterior rings, as (lat, lon) lists, of the polygons in a GeoJSON file (a geometry,
    Feature or FeatureCollection of Polygon / MultiPolygon)."""
    try:
        obj = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UserError(f"file not found: {path}") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise UserError(f"{path}: not valid GeoJSON: {exc}") from None
    geoms = []
    stack = [obj]
    while stack:
        o = stack.pop()
        if not isinstance(o, dict):
            continue
        t = o.get("type")
        if t == "FeatureCollection":
            stack.extend(reversed(o.get("features") or []))
        elif t == "Feature":
            stack.append(o.get("geometry"))
        elif t in ("Polygon", "MultiPolygon"):
            geoms.append(o)
    rings: list[list[tuple[float, float]]] = []
    for g in geoms:
        polys = [g["coordinates"]] if g["type"] == "Polygon" else g["coordinates"]
        for poly in polys:
            try:
                rings.append([(float(p[1]), float(p[0])) for p in poly[0]])
            except (TypeError, ValueError, IndexError):
                raise UserError(f"{path}: malformed polygon coordinates") from None
    if not rings:
        raise UserError(f"{path}: no Polygon or MultiPolygon in the GeoJSON")
    return rings
