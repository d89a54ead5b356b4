"""The sense stage: every radar scans the world's truth on its own clock; plots reach the
tracker after their latency."""

from __future__ import annotations

import numpy as np

from opencram.c2.world import World
from opencram.sense.plots import Plots
from opencram.sense.radar import RadarModel, scan

_NO_PLOTS = Plots.empty()


class SenseStage:
    """Every radar scans on its own clock; plots reach the tracker after their latency.
    ``truth_fn(t_s)`` gives every object's positions, velocities and in-flight flags (by
    default the world's; the engine's hides destroyed rounds)."""

    def __init__(self, world: World, rng: np.random.Generator, truth_fn=None) -> None:
        s = world.scenario
        self.world = world
        self.truth_fn = truth_fn or world.object_state_at
        self.rng = rng
        self.terrain = world.env.terrain
        self.radars = [
            RadarModel.from_schema(x, world.frame, s.site.alt_m, self.terrain) for x in s.sensors
        ]
        self.next_scan_s = np.zeros(len(self.radars))
        self.pending: list[Plots] = []
        self._next_arrival_s = np.inf  # earliest arrival among the pending plots
        self.all_plots: list[Plots] = []
        self.rcs = world.object_rcs_m2
        self.ids = np.arange(len(world.object_ids))
        self.mode3a = world.object_mode3a  # SSR codes, read by radars declared ``ssr``

    def _scan_due(self, t_s: float) -> None:
        """Every scan due by ``t_s``, into the pending plots."""
        for i, radar in enumerate(self.radars):
            while self.next_scan_s[i] <= t_s:
                p = scan(
                    radar,
                    float(self.next_scan_s[i]),
                    self.truth_fn,
                    self.rcs,
                    self.ids,
                    self.rng,
                    sensor_index=i,
                    terrain=self.terrain,
                    mode3a=self.mode3a,
                )
                self.pending.append(p)
                self.all_plots.append(p)
                if len(p):
                    self._next_arrival_s = min(self._next_arrival_s, float(p.arrival_s.min()))
                self.next_scan_s[i] += radar.scan_s

    def step(self, t_s: float) -> Plots:
        """Scan what is due; return the plots that have arrived by ``t_s``."""
        self._scan_due(t_s)
        if not self.pending or self._next_arrival_s > t_s:
            return _NO_PLOTS
        allp = Plots.concat(self.pending)
        due = allp.arrival_s <= t_s
        rest = allp.take(np.flatnonzero(~due))
        self.pending = [rest] if len(rest) else []
        self._next_arrival_s = float(rest.arrival_s.min()) if len(rest) else np.inf
        return allp.take(np.flatnonzero(due))

    def recorded(self) -> Plots:
        """Every plot made so far, by measurement time."""
        return Plots.concat(self.all_plots).sorted_by("time_s")
