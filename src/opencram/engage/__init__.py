"""Engage: the last link of the chain, deciding which gun engages which threat and when,
and when fire is withheld. Threat evaluation and weapon assignment, fire control (the
gun's round and the intercept solution), the burst model, the collateral rule and the
other safety rules, and the records of bursts and their ground footprints.

- :mod:`~opencram.engage.plan`: the engage decision, :func:`plan_engagements`, shared by
  the engine's engage stage and the live service's advice;
- :mod:`~opencram.engage.context`: what the rules need of the site (frame, zones,
  environment, the scenario's engagement settings);
- :mod:`~opencram.engage.firecontrol`: gun models, round flight tables and batched
  intercept solutions against ballistic and guided threats;
- :mod:`~opencram.engage.tewa`: threat priority, the burst's kill probability and the
  assignment of guns to threats;
- :mod:`~opencram.engage.rules`: burst size, planned kill probability, no-fire sectors and
  the friendly-aircraft clearance of a line of fire;
- :mod:`~opencram.engage.collateral`: where duds and debris fall, and the rule that
  withholds fire when that harm outweighs letting the threat land;
- :mod:`~opencram.engage.records`: the ``Footprint`` and ``Burst`` records handed on to
  the events and the run summary.

Exported here: the records only. Import the other modules directly (for example
``from opencram.engage.plan import plan_engagements``): the event model
(:mod:`opencram.c2.events`), which light readers such as ``opencram export`` and
``opencram tak send`` import, uses :class:`Footprint`, so importing this package must stay
as cheap as the records; the rules pull the tracker, scipy and shapely.
"""

from opencram.engage.records import Burst, Footprint

__all__ = ["Burst", "Footprint"]
