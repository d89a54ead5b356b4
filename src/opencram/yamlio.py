"""YAML files with line numbers: reading a user's YAML mapping and turning pydantic
validation errors into one line per problem, ``FILE:LINE: field.path: message``.

Used by every reader of a user's YAML file (scenarios, sensors files, campaign layouts).
A *field path* is a tuple of mapping keys and list indices from the top of the document,
e.g. ``("zones", 0, "geojson")``; a *line index* maps each field path in a document to the
1-based line where it starts.
"""

from __future__ import annotations

import difflib
import os
import stat
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


# --- limits on a user's YAML file ------------------------------------------------------
# PyYAML's pure-Python parser takes about 5 s of CPU per MB (a 1 MB inline polygon, measured
# with yaml.compose); 1 MiB is about 240 times the largest built-in scenario (4.3 kB) and
# keeps loading to seconds. Large zone outlines belong in GeoJSON files.
MAX_YAML_BYTES = 1024 * 1024
# The deepest field path of a scenario is 5 levels (zones[i].polygon[j][k]); 32 leaves room
# and keeps PyYAML's recursive composer far from Python's recursion limit.
MAX_YAML_DEPTH = 32
# Values in the document with every alias expanded: a file within MAX_YAML_BYTES written
# out holds at most about 500,000 (``[1,1,...]``), so only an alias bomb (billion laughs)
# goes past this; pydantic would otherwise walk every expanded value.
MAX_YAML_NODES = 1_000_000
# Digits of a YAML integer: no field needs more than 19 (the seed's 2**63); Python refuses
# over 4,300 with a ValueError, and converting long digit strings costs quadratic time.
MAX_INT_DIGITS = 100

_MERGE_TAG = "tag:yaml.org,2002:merge"


class _LimitedLoader(yaml.SafeLoader):
    """PyYAML's safe loader with a nesting-depth limit while composing, and one-line
    errors (with the line) for values its constructors cannot build: over-long integers,
    impossible dates."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent, index):
        self._depth += 1
        try:
            if self._depth > MAX_YAML_DEPTH:
                mark = self.peek_event().start_mark
                raise yaml.composer.ComposerError(
                    None, None, f"nested deeper than {MAX_YAML_DEPTH} levels", mark
                )
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def construct_yaml_int(self, node):
        digits = len(node.value)
        if digits > MAX_INT_DIGITS:
            raise yaml.constructor.ConstructorError(
                None,
                None,
                f"integer too long: {digits} characters (at most {MAX_INT_DIGITS})",
                node.start_mark,
            )
        return super().construct_yaml_int(node)

    def construct_object(self, node, deep=False):
        try:
            return super().construct_object(node, deep)
        except (ValueError, OverflowError) as exc:
            raise yaml.constructor.ConstructorError(
                None, None, f"cannot read the value: {exc}", node.start_mark
            ) from None


_LimitedLoader.add_constructor("tag:yaml.org,2002:int", _LimitedLoader.construct_yaml_int)


def read_yaml_file(path, label: str) -> str:
    """The text of a user's YAML file: a regular file (not a device, pipe or folder) of at
    most :data:`MAX_YAML_BYTES`, in UTF-8; anything else is a one-line ``UserError``."""
    data = read_limited(path, label, MAX_YAML_BYTES)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UserError(f"{label}: cannot read: not UTF-8 text ({exc.reason})") from None


def read_limited(path, label: str, max_bytes: int) -> bytes:
    """The bytes of a user's file that must be a regular file of at most ``max_bytes``.
    Opened without blocking, so a named pipe is refused rather than waited on; a missing,
    unreadable, special or oversized file is a one-line ``UserError`` naming ``label``."""
    too_big = f"{label}: larger than the {_size(max_bytes)} limit for this file"
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except FileNotFoundError:
        raise UserError(f"{label}: file not found") from None
    except OSError as exc:
        raise UserError(f"{label}: cannot read: {exc.strerror or exc}") from None
    with os.fdopen(fd, "rb") as fh:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise UserError(f"{label}: not a regular file")
        if st.st_size > max_bytes:
            raise UserError(too_big)
        try:
            data = fh.read(max_bytes + 1)
        except OSError as exc:
            raise UserError(f"{label}: cannot read: {exc.strerror or exc}") from None
    if len(data) > max_bytes:  # it grew while we read it
        raise UserError(too_big)
    return data


def _size(n_bytes: int) -> str:
    return f"{n_bytes // (1024 * 1024)} MiB" if n_bytes >= 1024 * 1024 else f"{n_bytes} bytes"


def read_yaml_mapping(text: str, label: str, expected: str) -> tuple[dict, LineIndex]:
    """Parse YAML text that must be a mapping; return the data and its line index.

    A syntax error, a document that is not a mapping, a duplicated key, or a document past
    the limits (:data:`MAX_YAML_BYTES` of text, :data:`MAX_YAML_DEPTH` levels,
    :data:`MAX_YAML_NODES` values with aliases expanded, :data:`MAX_INT_DIGITS`) is a
    one-line :class:`~opencram.errors.UserError` naming ``label`` and the line;
    ``expected`` says what should be there. The text is parsed once; aliases are never
    expanded (the data shares the aliased objects)."""
    if len(text) > MAX_YAML_BYTES or len(text.encode("utf-8", "replace")) > MAX_YAML_BYTES:
        raise UserError(f"{label}: larger than the {_size(MAX_YAML_BYTES)} limit for a YAML file")
    try:
        loader = _LimitedLoader(text)  # its reader rejects control characters at once
    except yaml.YAMLError as exc:
        raise UserError(_yaml_problem(exc, label)) from None
    try:
        node = loader.get_single_node()
        lines = _checked_line_index(node, label)
        data = loader.construct_document(node) if node is not None else None
    except yaml.YAMLError as exc:
        raise UserError(_yaml_problem(exc, label)) from None
    finally:
        loader.dispose()
    if not isinstance(data, dict):
        raise UserError(f"{label}:1: {expected}")
    return data, lines


def _yaml_problem(exc: yaml.YAMLError, label: str) -> str:
    mark = getattr(exc, "problem_mark", None)
    where = f"{label}:{mark.line + 1}" if mark else label
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    return f"{where}: invalid YAML: {problem}"


def _children(n: yaml.Node) -> list[yaml.Node]:
    if isinstance(n, yaml.MappingNode):
        return [c for kv in n.value for c in kv]
    if isinstance(n, yaml.SequenceNode):
        return list(n.value)
    return []


def expanded_size(root: yaml.Node, label: str = "<yaml>") -> int:
    """How many values the document under ``root`` holds with every alias expanded,
    computed once per distinct node (so an alias bomb costs what its text costs). Past
    :data:`MAX_YAML_NODES`, or an alias inside the node it names (a cycle), is a one-line
    ``UserError``."""
    size: dict[int, int] = {}
    open_: set[int] = set()
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        n, closing = stack.pop()
        if closing:
            open_.discard(id(n))
            size[id(n)] = 1 + sum(size[id(c)] for c in _children(n))
            if size[id(n)] > MAX_YAML_NODES:
                raise UserError(
                    f"{label}:{n.start_mark.line + 1}: more than {MAX_YAML_NODES:,} values "
                    "with aliases expanded"
                )
        elif id(n) not in size:
            if id(n) in open_:
                raise UserError(f"{label}:{n.start_mark.line + 1}: an alias refers to itself")
            open_.add(id(n))
            stack.append((n, True))
            stack.extend((c, False) for c in _children(n) if id(c) not in size)
    return size[id(root)]


def _checked_line_index(node: yaml.Node | None, label: str) -> LineIndex:
    if node is None:
        return {}
    expanded_size(node, label)
    index, duplicates = _index_nodes(node)
    if duplicates:
        path, line, first = duplicates[0]
        raise UserError(f"{label}:{line}: {path_str(path)}: duplicate key (first on line {first})")
    return index


def line_index(node: yaml.Node | None) -> LineIndex:
    """Map each field path of a composed YAML document to its 1-based line number (a
    mapping key's path maps to the line of the key). Each distinct node is walked once: a
    path that goes through an alias maps to the alias's own key or item and stops there
    (paths below it fall back to it in :func:`problem_at`)."""
    return _index_nodes(node)[0] if node is not None else {}


def _index_nodes(root: yaml.Node) -> tuple[LineIndex, list[tuple[tuple, int, int]]]:
    """The line index, and each duplicated mapping key as (its path, its line, the line of
    its first occurrence), in document order; iterative, each distinct node once."""
    index: LineIndex = {}
    duplicates: list[tuple[tuple, int, int]] = []
    seen: set[int] = set()
    stack: list[tuple[yaml.Node, tuple]] = [(root, ())]
    while stack:
        n, path = stack.pop()
        index.setdefault(path, n.start_mark.line + 1)
        if id(n) in seen:
            continue
        seen.add(id(n))
        items: list[tuple[yaml.Node, tuple]] = []
        if isinstance(n, yaml.MappingNode):
            first_line: dict[tuple, int] = {}
            for k, v in n.value:
                if not isinstance(k, yaml.ScalarNode) or k.tag == _MERGE_TAG:
                    continue
                key_line = k.start_mark.line + 1
                if (k.tag, k.value) in first_line:
                    duplicates.append(((*path, k.value), key_line, first_line[(k.tag, k.value)]))
                    continue
                first_line[(k.tag, k.value)] = key_line
                index[(*path, k.value)] = key_line
                items.append((v, (*path, k.value)))
        elif isinstance(n, yaml.SequenceNode):
            items = [(v, (*path, i)) for i, v in enumerate(n.value)]
        stack.extend(reversed(items))
    duplicates.sort(key=lambda d: d[1])
    return index, duplicates


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
