"""Lazy package exports (PEP 562): a package names what it exports, and each name's module
is imported the first time the name is used, so importing one small module of a package
does not load the heavy rest (``opencram track`` need not import scipy.stats through the
analysis package's metrics, say).

    _EXPORTS = {"gospa": "opencram.analysis.metrics", ...}
    __all__ = sorted(_EXPORTS)
    __getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping

__all__ = ["lazy_exports"]


def lazy_exports(
    package: str, exports: Mapping[str, str]
) -> tuple[Callable[[str], object], Callable[[], list[str]]]:
    """A module ``__getattr__`` that imports ``exports[name]`` (a module path) on first use
    of ``name`` and caches the value on the package, and a ``__dir__`` listing the names."""

    def get_export(name: str) -> object:
        if name not in exports:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(exports[name]), name)
        setattr(sys.modules[package], name, value)
        return value

    def list_exports() -> list[str]:
        return sorted(set(vars(sys.modules[package])) | set(exports))

    return get_export, list_exports
