"""Sense: the third link of the chain, radars turning the true state of every object into
plots (range, azimuth, elevation, and optionally range rate and SNR), and the plot and
sensor files that carry recorded data in.

- :mod:`~opencram.sense.radar`: a surveillance radar batched over targets: detection by the
  radar equation and Swerling models, measurement noise, false alarms, a rotating or
  sector scan;
- :mod:`~opencram.sense.plots`: the :class:`Plots` batch passed from sense to track, the
  plot CSV and sensors YAML files, and sensor specs taken from a scenario.

Exported here, lazily (:mod:`opencram.lazy`): reading a plot file through
:mod:`~opencram.sense.plots` does not load the radar model (and scipy.stats with it).
"""

from opencram.lazy import lazy_exports

_EXPORTS = {
    "COLUMN_LIMITS": "opencram.sense.plots",
    "OPTIONAL_COLUMNS": "opencram.sense.plots",
    "Plots": "opencram.sense.plots",
    "REQUIRED_COLUMNS": "opencram.sense.plots",
    "SensorSpec": "opencram.sense.plots",
    "plots_to_enu": "opencram.sense.plots",
    "read_plots_csv": "opencram.sense.plots",
    "read_sensors_yaml": "opencram.sense.plots",
    "sensor_positions_enu_m": "opencram.sense.plots",
    "sensor_specs_from_scenario": "opencram.sense.plots",
    "write_plots_csv": "opencram.sense.plots",
    "write_sensors_yaml": "opencram.sense.plots",
    "RadarModel": "opencram.sense.radar",
    "detection_probability": "opencram.sense.radar",
    "false_alarms": "opencram.sense.radar",
    "in_coverage": "opencram.sense.radar",
    "scan": "opencram.sense.radar",
    "snr_db": "opencram.sense.radar",
    "sweep_fraction": "opencram.sense.radar",
}
__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
