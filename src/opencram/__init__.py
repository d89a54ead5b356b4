"""opencram: an open counter rocket, artillery and mortar (C-RAM) engine.

The package mirrors the C-RAM chain, one sub-package per stage, data flowing one way::

    scenario -> physics -> sense -> track -> predict -> warn -> engage
                    driven by c2 (engine, clock, typed events)
                    read by interop, analysis, console and cli

All geometry is in one local East-North-Up frame at the scenario's site origin (see
:mod:`opencram.geo`). Units are SI and appear in names (``pos_enu_m``, ``t_s``).
"""

__version__ = "0.1.0"
