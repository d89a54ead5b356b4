"""Standard drag functions (Cd against Mach), batched over projectiles.

Each projectile names a standard table (G1, G7, ...) and a form factor ``i``; its drag
coefficient is ``i * Cd_G(M)``. Tables live in ``data/drag_tables.yaml`` with their source.
For speed, every table is resampled once on a uniform Mach grid whose step divides all
published breakpoints, so the lookup is exact linear interpolation with no search.
"""

from __future__ import annotations

from functools import cache
from importlib import resources

import numpy as np
import yaml

MACH_STEP = 0.005
MACH_MAX = 5.0


@cache
def _tables() -> tuple[tuple[str, ...], np.ndarray]:
    text = resources.files("opencram.physics").joinpath("data/drag_tables.yaml").read_text()
    raw = yaml.safe_load(text)["tables"]
    names = tuple(raw)
    grid = np.arange(0.0, MACH_MAX + MACH_STEP / 2, MACH_STEP)
    cd = np.empty((len(names), grid.size))
    for k, name in enumerate(names):
        mach = np.asarray(raw[name]["mach"], dtype=float)
        cd[k] = np.interp(grid, mach, np.asarray(raw[name]["cd"], dtype=float))
    cd.setflags(write=False)
    return names, cd


def table_names() -> tuple[str, ...]:
    """Names of the standard drag tables available, e.g. ``("G1", "G7")``."""
    return _tables()[0]


def table_index(name: str) -> int:
    """Index of a drag table by name (for the batched ``cd`` lookup)."""
    names = table_names()
    if name not in names:
        raise KeyError(f"unknown drag table {name!r}; known: {', '.join(names)}")
    return names.index(name)


def table_points(name: str) -> tuple[np.ndarray, np.ndarray]:
    """The published (mach, cd) points of a table."""
    text = resources.files("opencram.physics").joinpath("data/drag_tables.yaml").read_text()
    t = yaml.safe_load(text)["tables"][name]
    return np.asarray(t["mach"], dtype=float), np.asarray(t["cd"], dtype=float)


def cd_standard(table_idx, mach) -> np.ndarray:
    """Standard-table drag coefficient for each projectile.

    ``table_idx`` (int array) and ``mach`` broadcast together. Mach beyond the table's
    last point takes the last value.
    """
    _, cd = _tables()
    x = np.minimum(np.maximum(np.asarray(mach, dtype=float), 0.0), MACH_MAX) / MACH_STEP
    i0 = np.minimum(x.astype(np.intp), cd.shape[1] - 2)
    f = x - i0
    row = np.asarray(table_idx, dtype=np.intp)
    return (1.0 - f) * cd[row, i0] + f * cd[row, i0 + 1]
