"""The tracker's view of its sensors, built from sensor specs (a sensors YAML file or a
scenario's sensors): position in the local ENU frame and measurement noise."""

from __future__ import annotations

import numpy as np

from opencram.geo import LocalFrame
from opencram.sense.plots import SensorSpec
from opencram.track.manager import TrackerSensor


def tracker_sensors_from_specs(specs: list[SensorSpec], frame: LocalFrame) -> list[TrackerSensor]:
    """One :class:`TrackerSensor` per spec, in order: position in ``frame`` (ENU metres),
    noise in SI units (milliradians become radians), scan period 1 s where none is given."""
    out = []
    for s in specs:
        out.append(
            TrackerSensor(
                id=s.id,
                pos_enu_m=np.asarray(frame.to_enu(s.lat, s.lon, s.alt_m), dtype=float),
                sigma_range_m=s.sigma_range_m,
                sigma_az_rad=s.sigma_azimuth_mrad * 1e-3,
                sigma_el_rad=s.sigma_elevation_mrad * 1e-3,
                sigma_range_rate_mps=s.sigma_range_rate_mps,
                scan_s=s.scan_s or 1.0,
                latency_s=s.latency_s,
                noise_corr_s=s.noise_corr_s,
                min_start_snr_db=s.min_start_snr_db,
            )
        )
    return out
