"""Generated scenarios for benchmarks: many ballistic threats in the air at once."""

from __future__ import annotations

import numpy as np
import yaml

from opencram.c2.world import compile_world
from opencram.scenario.load import parse

SITE = {"name": "Baghdad International Zone", "lat": 33.307577, "lon": 44.390259, "alt_m": 34.0}
RADARS = [
    {"id": "r1", "lat": 33.2985, "lon": 44.3945},
    {"id": "r2", "lat": 33.3045, "lon": 44.4075},
    {"id": "r3", "lat": 33.3160, "lon": 44.3875},
]
# (type, launch distance range km): all within range of their rounds
MIX = [
    ("rocket-107mm", (4.0, 7.0)),
    ("mortar-82mm", (2.0, 3.5)),
    ("mortar-120mm", (3.0, 6.5)),
    ("rocket-122mm-grad", (8.0, 15.0)),
]


def many_threats(
    n: int, *, seed: int = 0, launch_window_s: float = 10.0, clutter_per_scan: float = 10.0
):
    """A compiled world with ``n`` rounds launched within ``launch_window_s`` from all
    directions at aim points within 1.5 km of the site, watched by three radars."""
    rng = np.random.default_rng(seed)
    threats = []
    for i in range(n):
        kind, (r0, r1) = MIX[i % len(MIX)]
        brg = rng.uniform(0, 2 * np.pi)
        dist_km = rng.uniform(r0, r1)
        aim_e, aim_n = rng.uniform(-1.5, 1.5, 2)
        dlat = (aim_n + dist_km * np.cos(brg)) / 111.0
        dlon = (aim_e + dist_km * np.sin(brg)) / (111.0 * np.cos(np.radians(SITE["lat"])))
        threats.append(
            {
                "id": f"t{i}",
                "type": kind,
                "launch": {"lat": SITE["lat"] + float(dlat), "lon": SITE["lon"] + float(dlon)},
                "aim": {
                    "lat": SITE["lat"] + float(aim_n / 111.0),
                    "lon": SITE["lon"] + float(aim_e / (111.0 * np.cos(np.radians(SITE["lat"])))),
                },
                "time_s": float(rng.uniform(0.0, launch_window_s)),
            }
        )
    sensors = [
        dict(r, range_max_m=16000.0, false_alarm_rate_per_scan=clutter_per_scan) for r in RADARS
    ]
    doc = {
        "name": f"stress-{n}",
        "site": SITE,
        "sensors": sensors,
        "threats": threats,
        "simulation": {"duration_s": 200, "seed": seed},
    }
    return compile_world(parse(yaml.safe_dump(doc), f"stress-{n}"))
