"""Interoperability: opencram's events in other systems' formats. It reads the chain's
output (the typed events of :mod:`opencram.c2.events` and a run folder on disk) and
writes what radars, C2 systems, TAK and map tools understand; ASTERIX also carries plots
in.

- :mod:`~opencram.interop.asterix`: EUROCONTROL ASTERIX through libasterix: plots as
  CAT048, system tracks as CAT062, and the recording file of ``--export-asterix``;
- :mod:`~opencram.interop.cot`: Cursor on Target 2.0 XML (tracks, impact and origin
  ellipses, warning zones and alerts), see docs/interop-cot.md;
- :mod:`~opencram.interop.tak`: delivery of CoT to a TAK server or client with pytak;
- :mod:`~opencram.interop.runview`: a finished run as the exports and the report read it;
- :mod:`~opencram.interop.kml`: KML for Google Earth, with simplekml;
- :mod:`~opencram.interop.czml`: CZML for Cesium, with czml3;
- :mod:`~opencram.interop.geojson`: GeoJSON (RFC 7946) of a run's features;
- :mod:`~opencram.interop.export`: the library behind ``opencram export`` (all three map
  formats, written atomically).

Exported here: the ASTERIX codec only, which needs nothing but numpy (libasterix's
generated tables, about 2 s to import, load on first use). Import the other modules
directly: CoT pulls the pydantic event model, the exports shapely, pymap3d, simplekml and
czml3, and ``opencram replay`` and the live service's input need only ASTERIX.
"""

from opencram.interop.asterix import (
    CAT048_EDITION,
    CAT062_EDITION,
    PROBLEM_KINDS,
    Cat048Plots,
    SystemTracks,
    decode_cat048,
    decode_cat062,
    encode_cat048,
    encode_cat062,
    export_recording,
    iter_recording,
    peek_sensor,
    plots_to_datagrams,
    read_recording,
    split_blocks,
    write_recording,
)

__all__ = [
    "CAT048_EDITION",
    "CAT062_EDITION",
    "PROBLEM_KINDS",
    "Cat048Plots",
    "SystemTracks",
    "decode_cat048",
    "decode_cat062",
    "encode_cat048",
    "encode_cat062",
    "export_recording",
    "iter_recording",
    "peek_sensor",
    "plots_to_datagrams",
    "read_recording",
    "split_blocks",
    "write_recording",
]
