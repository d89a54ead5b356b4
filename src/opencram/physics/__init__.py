"""Physics: the second link of the chain, how the scenario's objects truly fly. The
standard atmosphere, wind and terrain, standard drag tables, the threat library with its
sources, point-mass flight integration of a batch of projectiles, and waypoint flight for
drones and aircraft.

- :mod:`~opencram.physics.atmosphere`: the ICAO standard atmosphere, vectorised over altitude;
- :mod:`~opencram.physics.drag`: standard drag tables (Cd against Mach) and their lookup;
- :mod:`~opencram.physics.environment`: the air (tabulated standard atmosphere), wind layers,
  gravity and the terrain a flight sees (flat by default);
- :mod:`~opencram.physics.terrain`: terrain from a GeoTIFF DEM and line of sight over it;
- :mod:`~opencram.physics.weather`: a layered METCM-like weather profile from a file;
- :mod:`~opencram.physics.threats`: the threat library read from ``data/threats.yaml``;
- :mod:`~opencram.physics.trajectory`: batched RK4 point-mass flights and ground impact;
- :mod:`~opencram.physics.waypoints`: constant-speed flight along a polyline (drones,
  friendly aircraft);
- :mod:`~opencram.physics.fire`: launch states and the aim solver that puts a round on an
  aim point;
- :mod:`~opencram.physics.calibrate`: fits the library's model parameters to its published
  figures (``python -m opencram.physics.calibrate``);
- ``_kernels``: the numba RK4 step, imported on the first compiled step of a flight.

Not exported here, import them directly: :mod:`~opencram.physics.fire` (it needs the local
frame, :mod:`opencram.geo`, and so pymap3d, which the threat library alone does not:
``opencram threats list`` and the scenario loader import this package) and
:mod:`~opencram.physics.calibrate` (a maintainer's script).
"""

from opencram.physics.atmosphere import (
    G0_MPS2,
    density_kgpm3,
    geopotential_m,
    isa,
    speed_of_sound_mps,
)
from opencram.physics.drag import cd_standard, table_index, table_names, table_points
from opencram.physics.environment import (
    Environment,
    FlatTerrain,
    Terrain,
    Wind,
    air_slopes,
    air_table,
    gravity_mps2,
)
from opencram.physics.threats import (
    ThreatType,
    library,
    library_text,
    projectile_batch,
    source_table,
)
from opencram.physics.trajectory import Flight, ProjectileBatch, fly, mass_kg, rk4_step
from opencram.physics.waypoints import PathFlight, drone_path, smooth_corners

__all__ = [
    "G0_MPS2",
    "Environment",
    "FlatTerrain",
    "Flight",
    "PathFlight",
    "ProjectileBatch",
    "Terrain",
    "ThreatType",
    "Wind",
    "air_slopes",
    "air_table",
    "cd_standard",
    "density_kgpm3",
    "drone_path",
    "fly",
    "geopotential_m",
    "gravity_mps2",
    "isa",
    "library",
    "library_text",
    "mass_kg",
    "projectile_batch",
    "rk4_step",
    "smooth_corners",
    "source_table",
    "speed_of_sound_mps",
    "table_index",
    "table_names",
    "table_points",
]
