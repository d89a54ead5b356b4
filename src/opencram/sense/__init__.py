"""Sense: radars turning the true state of every object into plots (range, azimuth,
elevation), and the plot and sensor files that carry recorded data in."""

from opencram.sense.plots import (
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
