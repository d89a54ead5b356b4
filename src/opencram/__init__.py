"""opencram: an open counter rocket, artillery and mortar (C-RAM) engine.

The package mirrors the C-RAM chain, one sub-package per stage, data flowing one way::

    scenario -> physics -> sense -> track -> predict -> warn -> engage
                    driven by c2 (engine, clock, typed events)
                    read by interop, analysis, console, live, campaign and cli

All geometry is in one local East-North-Up frame at the scenario's site origin (see
:mod:`opencram.geo`). Units are SI and appear in names (``pos_enu_m``, ``t_s``).

Sub-packages, each with its own exports:

- :mod:`~opencram.scenario`: the scenario file format, its loader and the built-in scenarios;
- :mod:`~opencram.physics`: the atmosphere, drag, the threat library and flight integration;
- :mod:`~opencram.sense`: radars turning truth into plots, and the plot and sensor files;
- :mod:`~opencram.track`: the multi-target tracker and its filters, associators and classes;
- :mod:`~opencram.predict`: impact point, point of origin and drone corridor of each track;
- :mod:`~opencram.warn`: warning zones, their alerts and the run's warning scores;
- :mod:`~opencram.engage`: the engage decision, fire control, collateral and burst rules;
- :mod:`~opencram.c2`: the engine's clock loop, its stage drivers and the typed events;
- :mod:`~opencram.interop`: ASTERIX, Cursor on Target, TAK, KML, CZML and GeoJSON;
- :mod:`~opencram.analysis`: run folders, summaries, reports and tracking metrics;
- :mod:`~opencram.console`: the live operator console (a local web app);
- :mod:`~opencram.live`: the live service fed by real radar data;
- :mod:`~opencram.campaign`: Monte Carlo campaigns over seeds and layouts;
- :mod:`~opencram.cli`: the ``opencram`` command line.

Top-level modules shared by all of them: :mod:`~opencram.errors` (the user's mistakes),
:mod:`~opencram.fileio` (atomic writes), :mod:`~opencram.geo` (the local frame),
:mod:`~opencram.progress` (progress reporting), :mod:`~opencram.runs` (reading a run
folder back) and :mod:`~opencram.yamlio` (YAML with line numbers).

Importing ``opencram`` imports none of them, so the command line starts fast.
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
