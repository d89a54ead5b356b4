"""Scenario: the first link of the chain, what a run is about. The YAML scenario format
(site, zones, sensors, weapons, threats, aircraft, environment and the stages' settings),
its loader and the built-in scenarios shipped in ``builtin/``.

- :mod:`~opencram.scenario.schema`: the pydantic models of the file; unknown keys are
  refused so typos are caught;
- :mod:`~opencram.scenario.load`: YAML in, a validated scenario out (with its zone outlines
  read once), or every problem at once as ``FILE:LINE: field.path: message``; the built-in
  scenarios by name;
- :mod:`~opencram.scenario.zonefiles`: a zone's inline polygon or GeoJSON file as checked
  rings of latitude and longitude (the only place zone files are read).

Exported here: the schema's models and field types, which every stage reads. Import
:mod:`~opencram.scenario.load` (``load``, ``parse``, ``LoadedScenario``, the built-in
scenarios) and :mod:`~opencram.scenario.zonefiles` directly: they pull shapely and the
threat library, which readers of the models alone (the sensors file, the tracker, fire
control) do not need. (``load`` also has the name of its module: binding it on the package
would hide :mod:`opencram.scenario.load`.)
"""

from opencram.scenario.schema import (
    Aircraft,
    Altitude,
    AzimuthDeg,
    Dispersion,
    Engagement,
    Environment,
    FieldOfView,
    GeoPoint,
    Landmark,
    Latitude,
    Longitude,
    Model,
    Name,
    NonNegative,
    Positive,
    Salvo,
    Scenario,
    Sector,
    Sensor,
    Simulation,
    Site,
    Threat,
    Tracking,
    TrackRadar,
    Warning,
    Weapon,
    WindLayer,
    Zone,
)

__all__ = [
    "Aircraft",
    "Altitude",
    "AzimuthDeg",
    "Dispersion",
    "Engagement",
    "Environment",
    "FieldOfView",
    "GeoPoint",
    "Landmark",
    "Latitude",
    "Longitude",
    "Model",
    "Name",
    "NonNegative",
    "Positive",
    "Salvo",
    "Scenario",
    "Sector",
    "Sensor",
    "Simulation",
    "Site",
    "Threat",
    "TrackRadar",
    "Tracking",
    "Warning",
    "Weapon",
    "WindLayer",
    "Zone",
]
