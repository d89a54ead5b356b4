"""Scenario variations for campaigns: ``KEY=DISTRIBUTION`` options and layout overrides.

A key is a dotted path into the scenario file, with list indices in brackets:
``threats[0].launch.lat``, ``environment.wind.speed_mps``, ``weapons[1].lon``. ``[*]`` means
every element of a list (``threats[*].salvo.count``); each element gets its own draw.

A distribution is one of::

    normal(MEAN, SD)          uniform(LOW, HIGH)        triangular(LOW, MODE, HIGH)
    lognormal(MU, SIGMA)      choice(V1, V2, ...)       randint(LOW, HIGH)   (HIGH included)
    const(V)                  or a bare value: 4, 0.5, rocket-122mm

A leading ``+`` adds the draw to the scenario's own value instead of replacing it:
``threats[*].launch.lat=+normal(0,0.002)`` moves every launch point by its own draw.

Draws come from ``numpy.random.default_rng([campaign seed, run, k])`` for the k-th option, so
one option's draws never depend on the others or on the layout (common random numbers).
The changed scenario is validated again by the schema; a draw the schema rejects (a
negative wind speed, say) makes that run fail with the message recorded, the campaign
going on.
"""

from __future__ import annotations

import copy
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, get_args

import numpy as np
from pydantic import BaseModel

from opencram.errors import UserError
from opencram.scenario.schema import Scenario

_SEGMENT = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)((?:\[(?:\d+|\*)\])*)$")
_INDEX = re.compile(r"\[(\d+|\*)\]")
_CALL = re.compile(r"(\+)?\s*([a-z_]+)\s*\((.*)\)\s*$", re.S)

# distribution name -> number of parameters (None: one or more)
DISTRIBUTIONS: dict[str, int | None] = {
    "normal": 2,
    "uniform": 2,
    "triangular": 3,
    "lognormal": 2,
    "choice": None,
    "randint": 2,
    "const": 1,
}

Path = tuple[str | int, ...]  # field names and list indices; "*" for every element


def parse_path(key: str) -> tuple[str | int, ...]:
    """``threats[0].launch.lat`` -> ("threats", 0, "launch", "lat"); ``ValueError`` if bad."""
    out: list[str | int] = []
    if not key:
        raise ValueError("empty key")
    for seg in key.split("."):
        m = _SEGMENT.match(seg)
        if m is None:
            raise ValueError(f"bad key segment '{seg}' (use name, name[0] or name[*])")
        out.append(m.group(1))
        for idx in _INDEX.findall(m.group(2)):
            out.append("*" if idx == "*" else int(idx))
    return tuple(out)


def path_text(path: Iterable[str | int]) -> str:
    s = ""
    for p in path:
        if isinstance(p, int) or p == "*":
            s += f"[{p}]"
        else:
            s += ("." if s else "") + str(p)
    return s


def _value(tok: str) -> Any:
    tok = tok.strip()
    if len(tok) >= 2 and tok[0] == tok[-1] and tok[0] in "'\"":
        return tok[1:-1]
    low = tok.lower()
    if low in ("true", "false"):
        return low == "true"
    if low in ("null", "none"):
        return None
    try:
        return int(tok)
    except ValueError:
        pass
    try:
        return float(tok)
    except ValueError:
        pass
    if not tok:
        raise ValueError("empty value")
    return tok


@dataclass(frozen=True)
class Distribution:
    name: str
    params: tuple[Any, ...]
    relative: bool = False  # add the draw to the scenario's value

    def draw(self, rng: np.random.Generator) -> Any:
        n, p = self.name, self.params
        if n == "normal":
            return float(rng.normal(p[0], p[1]))
        if n == "uniform":
            return float(rng.uniform(p[0], p[1]))
        if n == "triangular":
            return float(rng.triangular(p[0], p[1], p[2]))
        if n == "lognormal":
            return float(rng.lognormal(p[0], p[1]))
        if n == "randint":
            return int(rng.integers(p[0], p[1], endpoint=True))
        if n == "choice":
            return p[int(rng.integers(len(p)))]
        return p[0]  # const

    def text(self) -> str:
        args = ",".join(str(x) for x in self.params)
        return f"{'+' if self.relative else ''}{self.name}({args})"


def parse_distribution(text: str) -> Distribution:
    """``normal(33.25,0.002)``, ``+uniform(-1,1)``, ``choice(1,2,4)`` or a bare value."""
    m = _CALL.match(text.strip())
    if m is None:
        if text.strip().startswith("+"):
            raise ValueError("'+' must be followed by a distribution, e.g. +normal(0,1)")
        return Distribution("const", (_value(text),))
    rel, name, body = bool(m.group(1)), m.group(2), m.group(3)
    if name not in DISTRIBUTIONS:
        raise ValueError(f"unknown distribution '{name}'; known: {', '.join(DISTRIBUTIONS)}")
    params = tuple(_value(a) for a in body.split(",")) if body.strip() else ()
    _check_count(name, params)
    if name not in ("choice", "const"):
        _check_finite(name, params)
    _check_bounds(name, params)
    if rel and name in ("choice", "const") and not all(_is_number(v) for v in params):
        raise ValueError(f"+{name}(): values added to the scenario's must be numbers")
    return Distribution(name, params, rel)


def _is_number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def _check_count(name: str, params: tuple) -> None:
    """As many parameters as the distribution takes (one or more where it takes a list)."""
    want = DISTRIBUTIONS[name]
    if want is None and not params:
        raise ValueError(f"{name}() needs at least one value")
    if want is not None and len(params) != want:
        raise ValueError(f"{name}() takes {want} values, got {len(params)}")


def _check_finite(name: str, params: tuple) -> None:
    for v in params:
        if not _is_number(v) or not math.isfinite(v):
            raise ValueError(f"{name}(): '{v}' is not a finite number")


def _check_bounds(name: str, params: tuple) -> None:
    """The distribution's own constraints on its (already counted, numeric) parameters."""
    if name == "normal" and params[1] < 0:
        raise ValueError("normal(): the standard deviation must be 0 or more")
    if name == "lognormal" and params[1] < 0:
        raise ValueError("lognormal(): sigma must be 0 or more")
    if name in ("uniform", "randint") and params[0] > params[1]:
        raise ValueError(f"{name}(): LOW must not exceed HIGH")
    if name == "randint" and not all(isinstance(v, int) for v in params):
        raise ValueError("randint(): LOW and HIGH must be integers")
    if name == "triangular" and not params[0] <= params[1] <= params[2]:
        raise ValueError("triangular(): needs LOW <= MODE <= HIGH")


@dataclass(frozen=True)
class Vary:
    """One ``--vary KEY=DISTRIBUTION`` option."""

    key: str
    path: tuple[str | int, ...]
    dist: Distribution

    @property
    def text(self) -> str:
        return f"{self.key}={self.dist.text()}"


def parse_vary(option: str) -> Vary:
    """Parse one ``--vary`` option; a :class:`UserError` naming it if malformed."""
    if "=" not in option:
        raise UserError(f"--vary {option}: expected KEY=DISTRIBUTION, e.g. wind.speed=uniform(0,8)")
    key, _, dist = option.partition("=")
    key = key.strip()
    try:
        path = parse_path(key)
        d = parse_distribution(dist)
    except ValueError as exc:
        raise UserError(f"--vary {option}: {exc}") from None
    return Vary(key, path, d)


# ---- applying values to the scenario's data (plain dicts and lists) --------------------


def _schema_fields(model) -> dict[str, Any]:
    return dict(model.model_fields)


def _expand(data: Any, path: tuple, model, where: tuple = ()) -> list[tuple]:
    """Every concrete path that ``path`` names in ``data``, checked against the pydantic
    ``model`` for field names; raises ``ValueError`` with the faulty part."""
    if not path:
        return [where]
    head, rest = path[0], path[1:]
    if isinstance(head, str) and head != "*":
        return _expand_field(data, head, rest, model, where)
    out = []
    for i in _list_indices(data, head, where):
        out.extend(_expand(data[i], rest, model, (*where, i)))
    return out


def _expand_field(data: Any, head: str, rest: tuple, model, where: tuple) -> list[tuple]:
    """:func:`_expand` through the field ``head`` of a section."""
    if not isinstance(data, dict):
        raise ValueError(f"{path_text(where)} is not a section with fields")
    fields = _schema_fields(model) if model is not None else None
    if fields is not None and head not in fields:
        known = ", ".join(sorted(fields))
        raise ValueError(f"{path_text((*where, head))}: no such field; known: {known}")
    sub = _field_model(fields[head]) if fields is not None else None
    if rest and data.get(head) is None:
        raise ValueError(
            f"{path_text((*where, head))} is not set in the scenario; set it there first"
        )
    return _expand(data.get(head), rest, sub, (*where, head))


def _list_indices(data: Any, head: int | str, where: tuple) -> Iterable[int]:
    """The list indices ``head`` names (``*`` for all) in the list ``data``."""
    if not isinstance(data, list):
        raise ValueError(f"{path_text(where)} is not a list")
    if head == "*":
        if not data:
            raise ValueError(f"{path_text(where)} is empty")
        return range(len(data))
    if head >= len(data):
        raise ValueError(f"{path_text((*where, head))}: index out of range ({len(data)} items)")
    return [head]


def _field_model(field) -> Any:
    """The pydantic model inside a field's annotation (through list[...] and ... | None)."""
    stack = [field.annotation]
    while stack:
        t = stack.pop()
        if isinstance(t, type) and issubclass(t, BaseModel):
            return t
        stack.extend(get_args(t))
    return None


def get_at(data: Any, path: tuple) -> Any:
    for p in path:
        data = data[p]
    return data


def set_at(data: Any, path: tuple, value: Any) -> None:
    for p in path[:-1]:
        data = data[p]
    data[path[-1]] = value


def resolve_paths(data: dict, path: tuple) -> list[tuple]:
    return _expand(data, path, Scenario)


def check_varies(data: dict, varies: list[Vary]) -> None:
    """Each option names existing fields of this scenario; relative draws hit numbers."""
    for v in varies:
        try:
            paths = resolve_paths(data, v.path)
        except ValueError as exc:
            raise UserError(f"--vary {v.key}: {exc}") from None
        if v.dist.relative:
            for p in paths:
                cur = get_at(data, p)
                if isinstance(cur, bool) or not isinstance(cur, int | float):
                    raise UserError(
                        f"--vary {v.key}: {path_text(p)} is {cur!r}, not a number to add to"
                    )
        else:
            for p in paths:
                cur = get_at(data, p)
                if isinstance(cur, dict | list):
                    hint = ", ".join(sorted(cur)) if isinstance(cur, dict) else "its items"
                    raise UserError(
                        f"--vary {v.key}: {path_text(p)} is a section; vary one of its "
                        f"fields ({hint})"
                    )


def apply_varies(data: dict, varies: list[Vary], campaign_seed: int, run: int) -> dict[str, Any]:
    """Draw each option's values for run ``run`` and write them into ``data`` (in place).
    Returns the drawn values by concrete key, for the results table."""
    drawn: dict[str, Any] = {}
    for k, v in enumerate(varies):
        rng = np.random.default_rng([campaign_seed, run, k])
        for p in resolve_paths(data, v.path):
            x = v.dist.draw(rng)
            if v.dist.relative:
                x = get_at(data, p) + x
            if isinstance(x, float):
                x = float(np.round(x, 9))
            set_at(data, p, x)
            drawn[path_text(p)] = x
    return drawn


def apply_overrides(data: dict, overrides: dict[str, Any], label: str) -> None:
    """Layout overrides (``KEY: value``, keys as in ``--vary``) written into ``data``;
    a :class:`UserError` naming ``label`` and the faulty part of a wrong key."""
    for key, value in overrides.items():
        try:
            paths = resolve_paths(data, parse_path(str(key)))
        except ValueError as exc:
            raise UserError(f"{label}: {exc}") from None
        for p in paths:
            set_at(data, p, copy.deepcopy(value))
