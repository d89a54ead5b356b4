"""YAML files with line numbers: reading a user's YAML mapping and turning pydantic
validation errors into one line per problem, ``FILE:LINE: field.path: message``.

Used by every reader of a user's YAML file (scenarios, sensors files, campaign layouts).
A *field path* is a tuple of mapping keys and list indices from the top of the document,
e.g. ``("zones", 0, "geojson")``; a *line index* maps each field path in a document to the
1-based line where it starts.
"""

from __future__ import annotations

import difflib
import types
import typing
from collections.abc import Callable, Mapping

import yaml
from pydantic import BaseModel, ValidationError

from opencram.errors import UserError

LineIndex = dict[tuple, int]
"""Field path -> 1-based line number in the YAML text."""

ModelAt = Callable[[tuple], type[BaseModel] | None]
"""Finds the pydantic model that holds the keys at a field path (None if none does)."""

# plain-words messages for pydantic's error types
MESSAGES: Mapping[str, str] = {
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


def unknown_name(what: str, name: str, known: list[str]) -> str:
    """The message for a name that is not one of ``known``, with the closest known name
    as a suggestion: ``unknown WHAT 'NAME' (did you mean 'X'?); known: A, B``."""
    close = difflib.get_close_matches(name, known, n=1)
    hint = f" (did you mean '{close[0]}'?)" if close else ""
    return f"unknown {what} '{name}'{hint}; known: {', '.join(known)}"


def read_yaml_mapping(text: str, label: str, expected: str) -> tuple[dict, LineIndex]:
    """Parse YAML text that must be a mapping; return the data and its line index.

    A syntax error, or a document that is not a mapping, is a one-line
    :class:`~opencram.errors.UserError` naming ``label`` and the line; ``expected`` says
    what should be there."""
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
    return data, line_index(node)


def line_index(node: yaml.Node | None) -> LineIndex:
    """Map each field path of a composed YAML document to its 1-based line number (a
    mapping key's path maps to the line of the key)."""
    index: LineIndex = {}

    def walk(n: yaml.Node, path: tuple) -> None:
        index[path] = n.start_mark.line + 1
        if isinstance(n, yaml.MappingNode):
            for k, v in n.value:
                walk(v, (*path, k.value))
                index[(*path, k.value)] = k.start_mark.line + 1
        elif isinstance(n, yaml.SequenceNode):
            for i, v in enumerate(n.value):
                walk(v, (*path, i))

    if node is not None:
        walk(node, ())
    return index


def data_path(loc: tuple, data, keep_last: bool) -> tuple:
    """The field path of a pydantic error location: pydantic's type tags (union members,
    ``function-after[...]``) dropped, real keys and indices kept. With ``keep_last``, a
    last key absent from the data (a missing or unknown key) is kept too."""
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
    """A field path as users write it: ``zones[0].geojson`` (``(top level)`` if empty)."""
    s = ""
    for part in path:
        s += f"[{part}]" if isinstance(part, int) else (f".{part}" if s else str(part))
    return s or "(top level)"


def problem_at(label: str, lines: LineIndex, path: tuple, msg: str) -> str:
    """One problem line ``LABEL:LINE: field.path: msg``; the line is that of ``path`` or
    of its nearest ancestor in the document (no line if none is)."""
    p = tuple(path)
    while p and p not in lines:
        p = p[:-1]
    line = lines.get(p)
    where = f"{label}:{line}" if line else label
    return f"{where}: {path_str(tuple(path))}: {msg}"


def _models_in(annotation) -> list[type[BaseModel]]:
    """The pydantic models an annotation can hold (through Annotated, unions, lists)."""
    origin = typing.get_origin(annotation)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    if origin is typing.Annotated:
        return _models_in(typing.get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType, list, tuple):
        return [m for a in typing.get_args(annotation) for m in _models_in(a)]
    return []


def model_at(root: type[BaseModel], path: tuple) -> type[BaseModel] | None:
    """The model, inside ``root``, that holds the keys at field ``path`` (list indices
    skipped; the first model of a union); None where the path leaves the models."""
    model: type[BaseModel] | None = root
    for part in path:
        if model is None:
            return None
        if isinstance(part, int):
            continue
        field = model.model_fields.get(part)
        if field is None:
            return None
        found = _models_in(field.annotation)
        model = found[0] if found else None
    return model


def suggest_key(key: str, candidates: list[str]) -> str | None:
    """The known key a mistyped ``key`` most likely meant: the longest one it starts with
    (or that starts with it), else the closest by spelling; None if nothing is close."""
    prefix = [c for c in candidates if key.startswith(c) or c.startswith(key)]
    if prefix:
        return max(prefix, key=len)
    close = difflib.get_close_matches(key, candidates, n=1, cutoff=0.5)
    return close[0] if close else None


def pydantic_message(
    err: dict,
    path: tuple,
    model_at: ModelAt | None = None,
    messages: Mapping[str, str] | None = None,
) -> str:
    """One plain-words message for a pydantic error at field ``path``. ``model_at(path)``
    finds the model holding the keys at a path, for "did you mean" on an unknown key
    (no suggestion without it); ``messages`` adds or overrides messages by error type."""
    kind = err["type"]
    table = {**MESSAGES, **(messages or {})}
    if kind == "extra_forbidden":
        key = str(path[-1]) if path else str(err["loc"][-1])
        model = model_at(path[:-1]) if model_at else None
        close = suggest_key(key, list(model.model_fields)) if model else None
        return "unknown key" + (f" (did you mean '{close}'?)" if close else "")
    if kind in table:
        return table[kind]
    msg = err["msg"]
    for prefix in ("Value error, ", "Assertion failed, "):
        if msg.startswith(prefix):
            return msg[len(prefix) :]
    return msg.replace("Input should be", "must be").replace("Input ", "")


def validation_problems(
    exc: ValidationError,
    data,
    lines: LineIndex,
    label: str,
    model_at: ModelAt | None = None,
    messages: Mapping[str, str] | None = None,
) -> list[str]:
    """Every error of a pydantic validation of ``data`` as one ``LABEL:LINE: path: msg``
    line, in pydantic's order, repeated lines dropped."""
    out: list[str] = []
    for err in exc.errors(include_url=False):
        keep_last = err["type"] in ("missing", "extra_forbidden")
        path = data_path(tuple(err["loc"]), data, keep_last)
        line = problem_at(label, lines, path, pydantic_message(err, path, model_at, messages))
        if line not in out:
            out.append(line)
    return out
