"""Records the engage stage hands on: a burst's ground footprints and the burst itself.

:class:`Footprint` is also the footprint of the engine's events (``c2.events`` uses this
model, so the event log's JSON is the same); :class:`Burst` is one entry of the engine's
burst log (``RunResult.engagements``), read by the run summary.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict


class Footprint(BaseModel):
    """A ground footprint of an engagement: where the rounds that fail to self-destruct
    (``dud``) or the destroyed threat's debris (``debris``) would come down, as a disc."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    kind: Literal["dud", "debris"]
    lat: float
    lon: float
    radius_m: float


@dataclass(frozen=True, eq=False)
class Burst:
    """One burst a gun committed on a track, as the engine logged it.

    Times are absolute simulation times (s). Planned when committed (``decided_s``); at
    the trigger the gun lays on a fresh fix, which updates the intercept (``intercept_s``,
    ``pos_enu_m``, ``az_rad``, ``el_rad``) and draws the real effect (``truth``,
    ``miss_m``, ``p_kill_true``, ``killed``). A burst cancelled at the trigger keeps its
    rounds: ``rounds`` is 0 and ``cancelled`` says why."""

    gun: str
    gun_index: int  # index of the gun in the scenario's weapons
    track_id: int
    truth: int  # the real object the rounds meet (simulation), -1 if none
    decided_s: float
    fire_s: float
    intercept_s: float
    pos_enu_m: np.ndarray  # (3,) intercept point
    az_rad: float  # gun azimuth (clockwise from north) and elevation at the trigger
    el_rad: float
    rounds: int
    drone: bool  # the target was flown straight (a drone), not ballistically
    p_kill: float  # fire control's planned kill probability
    ammo_left: int  # the gun's rounds left after the burst
    footprints: tuple[Footprint, ...] = ()
    fired: bool = False
    killed: bool = False
    p_kill_true: float | None = None  # the burst's real kill probability (simulation)
    miss_m: float | None = None  # real miss distance across the line of fire (m)
    cancelled: str = ""  # why the burst was not fired, if it was not
