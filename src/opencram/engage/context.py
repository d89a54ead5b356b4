"""What the engage rules need to know of the site: its local frame, zones, environment and
the scenario's engagement settings. Built once by the engine's engage stage and by the live
service's advisor, with the same constructor."""

from __future__ import annotations

from dataclasses import dataclass

from opencram.geo import LocalFrame
from opencram.physics.environment import Environment
from opencram.scenario.schema import Engagement
from opencram.warn.zones import ZoneSet


@dataclass(frozen=True)
class EngageContext:
    """The site as the engage rules see it. ``env`` is the weather the guns' rounds fly in
    (None: still standard atmosphere)."""

    frame: LocalFrame
    zones: ZoneSet
    config: Engagement
    env: Environment | None = None
