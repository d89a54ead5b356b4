"""Sense: the third link of the chain, radars turning the true state of every object into
plots (range, azimuth, elevation, and optionally range rate and SNR), and the plot and
sensor files that carry recorded data in.

- :mod:`~opencram.sense.radar`: a surveillance radar batched over targets: detection by the
  radar equation and Swerling models, measurement noise, false alarms, a rotating or
  sector scan;
- :mod:`~opencram.sense.plots`: the :class:`Plots` batch passed from sense to track, the
  plot CSV and sensors YAML files, and sensor specs taken from a scenario.
"""

from opencram.sense.plots import (
    COLUMN_LIMITS,
    OPTIONAL_COLUMNS,
    REQUIRED_COLUMNS,
    Plots,
    SensorSpec,
    plots_to_enu,
    read_plots_csv,
    read_sensors_yaml,
    sensor_positions_enu_m,
    sensor_specs_from_scenario,
    write_plots_csv,
    write_sensors_yaml,
)
from opencram.sense.radar import (
    RadarModel,
    detection_probability,
    false_alarms,
    in_coverage,
    scan,
    snr_db,
    sweep_fraction,
)

__all__ = [
    "COLUMN_LIMITS",
    "OPTIONAL_COLUMNS",
    "REQUIRED_COLUMNS",
    "Plots",
    "RadarModel",
    "SensorSpec",
    "detection_probability",
    "false_alarms",
    "in_coverage",
    "plots_to_enu",
    "read_plots_csv",
    "read_sensors_yaml",
    "scan",
    "sensor_positions_enu_m",
    "sensor_specs_from_scenario",
    "snr_db",
    "sweep_fraction",
    "write_plots_csv",
    "write_sensors_yaml",
]
