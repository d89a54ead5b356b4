"""opencram.jsonout against its authority, the standard library's ``json.dumps(obj,
indent=2, sort_keys=True, allow_nan=False)``: the same bytes on randomized records full of
awkward floats and text, and the same errors."""

from __future__ import annotations

import json
import math
import struct

import numpy as np
import pytest

from opencram import jsonout
from opencram.jsonout import dumps_indented, stdlib_indented

AWKWARD = [
    0.0, -0.0, 1.0, 0.1, 1e-4, 9.999e-5, 1e-5, -2.5e-5, 1.2345e-6, 1e-9, 1.5e-10, 1e-300,
    5e-324, -5e-324, 1e15, 9999999999999998.0, 1e16, 1.2345678901234568e17, 1e22,
    1.7976931348623157e308, 33.2985, 44.3945123, 2**53 + 0.0, 0.30000000000000004,
]  # fmt: skip
DEEP: list = [1]
for _ in range(300):  # deeper than orjson's limit of 254
    DEEP = [DEEP]
TEXT = ["", "a", "é", "\x7f", "\x00\x1f\t\n\r\b\f", '"\\/', "\u2028", "😀", "日本", ": 1e-05\n"]


def random_float(rng: np.random.Generator) -> float:
    """Any finite double: random bits, random decimals across every exponent, or a listed one."""
    pick = rng.integers(4)
    if pick == 0:
        v = struct.unpack("<d", rng.bytes(8))[0]
        return v if math.isfinite(v) else 0.5
    if pick == 1:
        return float(rng.uniform(-10, 10) * 10.0 ** rng.integers(-12, 20))
    if pick == 2:
        return round(float(rng.normal(0, 1e-3)), int(rng.integers(3, 9)))
    return AWKWARD[rng.integers(len(AWKWARD))]


def random_text(rng: np.random.Generator) -> str:
    if rng.random() < 0.5:
        return TEXT[rng.integers(len(TEXT))]
    return "".join(chr(int(c)) for c in rng.integers(1, 0x2FFF, size=rng.integers(0, 6)))


def random_value(rng: np.random.Generator, depth: int):
    pick = rng.integers(8 if depth < 4 else 5)
    if pick == 0:
        return random_float(rng)
    if pick == 1:
        return int(rng.integers(-(2**62), 2**62))
    if pick == 2:
        return random_text(rng)
    if pick == 3:
        return [None, True, False][rng.integers(3)]
    if pick == 4:
        return random_float(rng)
    if pick == 5:
        return [random_value(rng, depth + 1) for _ in range(rng.integers(0, 5))]
    return random_record(rng, depth + 1)


def random_record(rng: np.random.Generator, depth: int = 0) -> dict:
    return {random_text(rng): random_value(rng, depth) for _ in range(rng.integers(0, 6))}


def test_same_bytes_as_stdlib_on_random_records():
    rng = np.random.default_rng(14)
    for _ in range(3000):
        obj = random_record(rng) if rng.random() < 0.7 else [random_value(rng, 1)]
        assert dumps_indented(obj) == stdlib_indented(obj), obj


def test_same_bytes_on_every_float_form():
    rng = np.random.default_rng(2)
    floats = [random_float(rng) for _ in range(20000)] + AWKWARD + [-x for x in AWKWARD]
    doc = {"values": floats, "by_key": {f"k{i}": v for i, v in enumerate(floats[:500])}}
    assert dumps_indented(doc) == stdlib_indented(doc)


def test_fast_path_is_taken_on_a_plain_record(monkeypatch):
    """The fallback must not hide: a track-file-like record goes through orjson alone."""
    doc = {
        "tracks": [{"id": k, "lat": 33.0 + k * 1e-7, "p": 1e-5 * k, "ok": None} for k in range(50)]
    }

    def refuse(obj):
        raise AssertionError("fell back to the standard library")

    monkeypatch.setattr(jsonout, "stdlib_indented", refuse)
    assert dumps_indented(doc) == (json.dumps(doc, indent=2, sort_keys=True) + "\n").encode()


@pytest.mark.parametrize(
    "obj",
    [
        {1.5: "float keys", 0.25: 1e-5},
        {3: 1, 10: 2},
        {"t": (1, 2.5e-7, "x")},
        {"big": 2**70},
        {"np": np.float64(1e-5)},
        {"s": "\ud800"},
        DEEP,
        1e-5,
        "bare",
        [],
        {},
    ],
)
def test_objects_orjson_treats_differently_get_stdlib_bytes(obj):
    assert dumps_indented(obj) == stdlib_indented(obj)


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_nan_and_infinity_raise_as_stdlib_does(bad):
    with pytest.raises(ValueError):
        dumps_indented({"a": [1.0, {"b": bad}], "c": None})


def test_types_json_refuses_are_refused():
    from dataclasses import dataclass

    @dataclass
    class P:
        x: float

    with pytest.raises(TypeError):
        dumps_indented({"p": P(1.0)})
    with pytest.raises(TypeError):
        dumps_indented({"a": np.arange(3)})
