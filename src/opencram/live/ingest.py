"""Live input: ASTERIX CAT048 datagrams and plot CSV lines in, plots out, with bounded
per-sensor queues, and every bad input counted by kind and logged once per kind.

Policy (docs/interfaces.md, "Live service"):

* each sensor has its own queue of raw inputs (datagrams, CSV rows), bounded in bytes;
  when a sensor's queue is full its **oldest** entries are dropped (and counted per
  sensor), so one flooding sensor cannot starve the others, and receiving never blocks;
* the processing loop takes entries in arrival order (across all queues) within a time
  budget per tick, decodes them and hands the plots to the tracker; so a backlog never
  lets one sensor's clock run ahead of another's older, still queued plots;
* a datagram whose sensor cannot be read from its first bytes goes to one shared queue,
  bounded the same way, and is decoded (and most likely counted as bad) from there.
"""

from __future__ import annotations

import logging
import time
from collections import Counter, deque
from collections.abc import Callable, Sequence
from math import isfinite

import numpy as np

from opencram.interop.asterix import DAY_S, MAX_DATAGRAM_BYTES, decode_cat048, peek_sensor
from opencram.sense.plots import (
    COLUMN_LIMITS,
    OPTIONAL_COLUMNS,
    REQUIRED_COLUMNS,
    Plots,
    SensorSpec,
)

log = logging.getLogger("opencram.live")

MAX_LINE_BYTES = 1024  # a plot CSV line longer than this is rejected as oversized
CSV_ROW_BYTES = 64  # what a queued CSV row counts against its sensor's byte budget
HEIGHT_TOLERANCE_M = 8.0  # I048/110 quantisation (25 ft) plus margin

# kinds of bad input beyond those of opencram.interop.asterix.PROBLEM_KINDS
INGEST_KINDS = (
    "unknown_sensor",  # SAC/SIC or sensor id not in the sensors file
    "no_height",  # a CAT048 plot without I048/110: no elevation for the tracker
    "time_jump",  # a plot far ahead of the service clock
    "time_behind",  # a plot far behind it
    "not_utf8",  # a CSV line that is not UTF-8 text
    "oversized_line",  # a CSV line over MAX_LINE_BYTES
    "csv_columns",  # wrong number of cells
    "csv_header",  # a header line naming unknown or repeated columns
    "csv_value",  # a cell that is not a finite number, missing, or out of range
)

_ALL_COLUMNS = REQUIRED_COLUMNS + OPTIONAL_COLUMNS


RESYNC_PLOTS = 20  # plots far from the clock, in a row, that make it start again


class BadInputLog:
    """Counts bad inputs per kind and logs the first of each kind (once)."""

    def __init__(self, logger: logging.Logger | None = None) -> None:
        self.counts: Counter[str] = Counter()
        self._logged: set[str] = set()
        self.log = logger or log

    def add(self, kind: str, detail: str, n: int = 1) -> None:
        self.counts[kind] += n
        if kind not in self._logged:
            self._logged.add(kind)
            self.log.warning(
                "bad input (%s): %s; further inputs of this kind are counted, not logged",
                kind,
                detail,
            )


class Ingest:
    """Bounded per-sensor input queues and the decoders that turn them into plots.

    ``sensor_sic`` maps each sensor index to its (SAC, SIC); by default sensor ``k`` of the
    sensors file is SAC ``sac``, SIC ``k + 1``.
    """

    def __init__(
        self,
        specs: Sequence[SensorSpec],
        *,
        sac: int = 0,
        queue_bytes: int = 512 * 1024,
        max_jump_s: float = 60.0,
        logger: logging.Logger | None = None,
    ) -> None:
        self.specs = list(specs)
        self.ids = [s.id for s in self.specs]
        self.index = {s: k for k, s in enumerate(self.ids)}
        self.by_sac_sic = {(sac, k + 1): k for k in range(len(self.specs))}
        self.alt_m = np.array([s.alt_m for s in self.specs], dtype=float)
        self.latency_s = np.array([s.latency_s for s in self.specs], dtype=float)
        self.queue_bytes = int(queue_bytes)
        self.max_jump_s = float(max_jump_s)
        n = len(self.specs)
        # one queue per sensor, plus one (index n) for inputs whose sensor is unknown
        self.queues: list[deque] = [deque() for _ in range(n + 1)]
        self.queued_bytes = np.zeros(n + 1, dtype=np.int64)
        self.shed_entries = np.zeros(n + 1, dtype=np.int64)  # dropped oldest, per queue
        self.shed_bytes = np.zeros(n + 1, dtype=np.int64)
        self.bad = BadInputLog(logger)
        self.received = Counter()  # datagrams, lines, plots accepted
        self.clock_s: float | None = None  # latest accepted measurement time
        self.allow_jump = False  # set by the service after a silence: resynchronise
        # plots far from the clock: a clock set by a bad plot is abandoned once
        # RESYNC_PLOTS such plots arrive with none accepted in between
        self._behind = 0
        self.resync_to_s: float | None = None  # set here, acted on by the service
        self._seq = 0  # arrival order of queued entries
        self._csv_header: dict[object, list[str]] = {}

    # --- receiving (cheap; never blocks) --------------------------------------------

    def _enqueue(self, q: int, entry, nbytes: int) -> None:
        dq = self.queues[q]
        self._seq += 1
        dq.append((self._seq, entry, nbytes))
        self.queued_bytes[q] += nbytes
        while self.queued_bytes[q] > self.queue_bytes and len(dq) > 1:
            _, _, old = dq.popleft()
            self.queued_bytes[q] -= old
            self.shed_entries[q] += 1
            self.shed_bytes[q] += old

    def put_datagram(self, data: bytes) -> None:
        """Queue one received UDP datagram (CAT048) under its sensor."""
        self.received["datagrams"] += 1
        if len(data) > MAX_DATAGRAM_BYTES:
            self.bad.add("oversized", f"{len(data)}-byte datagram")
            return
        key = peek_sensor(data)
        q = self.by_sac_sic.get(key, len(self.specs)) if key is not None else len(self.specs)
        self._enqueue(q, bytes(data), max(len(data), 1))

    def put_csv_line(self, raw: bytes, source: object = None) -> None:
        """Parse one plot CSV line (bytes, without its line end) and queue its plot under
        its sensor. ``source`` keys the header state (one per TCP connection or stdin): a
        first line naming columns sets their order, otherwise the plot CSV's default order
        ``time_s,sensor,range_m,azimuth_deg,elevation_deg[,range_rate_mps[,snr_db]]``."""
        self.received["lines"] += 1
        if len(raw) > MAX_LINE_BYTES:
            self.bad.add("oversized_line", f"{len(raw)}-byte line")
            return
        try:
            text = raw.decode("utf-8").lstrip("\ufeff").strip()
        except UnicodeDecodeError:
            self.bad.add("not_utf8", "line is not UTF-8")
            return
        if not text:
            return
        cells = [c.strip() for c in text.split(",")]
        if cells[0] in _ALL_COLUMNS:
            problems = [c for c in cells if c not in _ALL_COLUMNS]
            dup = [c for c in set(cells) if cells.count(c) > 1]
            missing = [c for c in REQUIRED_COLUMNS if c not in cells]
            if problems or dup or missing:
                self.bad.add("csv_header", f"header {text[:80]!r}")
                return
            self._csv_header[source] = cells
            return
        header = self._csv_header.get(source, list(_ALL_COLUMNS))
        if not len(REQUIRED_COLUMNS) <= len(cells) <= len(header):
            self.bad.add("csv_columns", f"{len(cells)} cells in {text[:80]!r}")
            return
        row = self._csv_row(header, cells, text)
        if row is None:
            return
        self._enqueue(row[1], ("csv", row), CSV_ROW_BYTES)

    def _csv_row(self, header, cells, text):
        values = dict(zip(header, cells, strict=False))
        sensor = self.index.get(values["sensor"])
        if sensor is None:
            self.bad.add("unknown_sensor", f"sensor {values['sensor'][:40]!r}")
            return None
        nums = {}
        for name in _ALL_COLUMNS:
            if name == "sensor":
                continue
            cell = values.get(name, "")
            if cell == "" and name in OPTIONAL_COLUMNS:
                nums[name] = float("nan")
                continue
            try:
                v = float(cell)
            except ValueError:
                self.bad.add("csv_value", f"{name}: {cell[:40]!r} is not a number")
                return None
            if not isfinite(v):
                self.bad.add("csv_value", f"{name}: {cell[:40]!r} is not finite")
                return None
            limit = COLUMN_LIMITS.get(name)
            if limit is not None and limit.outside(v):
                self.bad.add("csv_value", f"{name}: {cell[:40]!r} {limit.problem}")
                return None
            nums[name] = v
        return (
            nums["time_s"],
            sensor,
            nums["range_m"],
            np.radians(nums["azimuth_deg"]),
            np.radians(nums["elevation_deg"]),
            nums["range_rate_mps"],
            nums["snr_db"],
        )

    # --- processing -------------------------------------------------------------------

    def pending(self) -> int:
        return sum(len(q) for q in self.queues)

    def drain(self, budget_s: float = 0.05, clock: Callable[[], float] = time.perf_counter):
        """Take queued entries in arrival order until the queues are empty or ``budget_s``
        of processing time is spent; return them decoded as one :class:`Plots` batch (not
        sorted)."""
        start = clock()
        rows: list[tuple] = []
        asx: list = []
        taken = 0
        while self.pending() and (not taken or clock() - start < budget_s):
            taken += 1
            q = min((dq[0][0], k) for k, dq in enumerate(self.queues) if dq)[1]
            _, entry, nbytes = self.queues[q].popleft()
            self.queued_bytes[q] -= nbytes
            if isinstance(entry, tuple):
                rows.append(entry[1])
            else:
                asx.append(self._from_asterix(entry))
        parts = [p for p in asx if p is not None and len(p)]
        if rows:
            a = np.array([r[0] for r in rows]), np.array([r[1] for r in rows], np.int64)
            cols = np.array([r[2:] for r in rows], dtype=float).reshape(-1, 5)
            parts.append(
                self._accept(a[0], a[1], cols[:, 0], cols[:, 1], cols[:, 2], cols[:, 3], cols[:, 4])
            )
        parts = [p for p in parts if p is not None and len(p)]
        return Plots.concat(parts) if parts else Plots.empty()

    def _from_asterix(self, data: bytes) -> Plots | None:
        dec, problems = decode_cat048(data)
        for kind, detail in problems:
            self.bad.add(kind, detail)
        if not len(dec):
            return None
        keys = list(zip(dec.sac.tolist(), dec.sic.tolist(), strict=True))
        sensor = np.array([self.by_sac_sic.get(k, -1) for k in keys], dtype=np.int64)
        unknown = sensor < 0
        if unknown.any():
            k0 = keys[int(np.argmax(unknown))]
            self.bad.add("unknown_sensor", f"SAC/SIC {k0[0]}/{k0[1]}", int(unknown.sum()))
        no_h = ~unknown & ~np.isfinite(dec.height_m)
        if no_h.any():
            self.bad.add("no_height", "CAT048 plot without I048/110", int(no_h.sum()))
        ok = ~unknown & ~no_h
        s = sensor[ok]
        rng = dec.range_m[ok]
        dh = dec.height_m[ok] - self.alt_m[s]
        beyond = np.abs(dh) > rng + HEIGHT_TOLERANCE_M
        if beyond.any():
            self.bad.add("bad_value", "I048/110 height beyond the slant range", int(beyond.sum()))
        keep = np.flatnonzero(ok)[~beyond]
        s = sensor[keep]
        rng = dec.range_m[keep]
        el = np.arcsin(np.clip((dec.height_m[keep] - self.alt_m[s]) / rng, -1.0, 1.0))
        tod = dec.tod_s[keep]
        ref = self.clock_s if self.clock_s is not None else (float(tod.max()) if tod.size else 0)
        # time of day to the service's time line: the day that puts it nearest the clock
        t = tod + DAY_S * np.round((ref - tod) / DAY_S)
        return self._accept(
            t, s, rng, dec.az_rad[keep], el, dec.range_rate_mps[keep], dec.snr_db[keep]
        )

    def _accept(self, t, s, rng, az, el, rr, snr) -> Plots | None:
        t = np.asarray(t, dtype=float)
        if not t.size:
            return None
        if self.clock_s is not None and not self.allow_jump:
            ahead = t > self.clock_s + self.max_jump_s
            behind = t < self.clock_s - self.max_jump_s
            for kind, mask in (("time_jump", ahead), ("time_behind", behind)):
                if mask.any():
                    self.bad.add(
                        kind,
                        f"plot at {float(t[mask][0]):.3f} s, clock {self.clock_s:.3f} s",
                        int(mask.sum()),
                    )
            far = ahead | behind
            if far.all():
                # nothing near the clock: stale or corrupt input, or a clock that a bad
                # plot set; RESYNC_PLOTS such plots in a row make the service start again
                self._behind += int(t.size)
                if self._behind >= RESYNC_PLOTS:
                    self.resync_to_s = float(t.max())
                    self._behind = 0
                return None
            keep = ~far
            t, s, rng, az, el, rr, snr = (x[keep] for x in (t, s, rng, az, el, rr, snr))
        if not t.size:
            return None
        self._behind = 0
        self.received["plots"] += int(t.size)
        newest = float(t.max())
        self.clock_s = newest if self.clock_s is None else max(self.clock_s, newest)
        self.allow_jump = False
        return Plots(
            time_s=t,
            sensor=s,
            range_m=rng,
            az_rad=np.mod(az, 2 * np.pi),
            el_rad=el,
            range_rate_mps=rr,
            snr_db=snr,
            arrival_s=t + self.latency_s[s],
            truth_id=np.full(t.size, -1),
        )

    def stats(self) -> dict:
        """Counters for the ``ingest_stats`` event."""
        names = [*self.ids, "(unknown sensor)"]
        return {
            "received": dict(sorted(self.received.items())),
            "bad": dict(sorted(self.bad.counts.items())),
            "shed": {
                names[q]: {"entries": int(self.shed_entries[q]), "bytes": int(self.shed_bytes[q])}
                for q in range(len(names))
                if self.shed_entries[q]
            },
            "queued": {names[q]: len(self.queues[q]) for q in range(len(names)) if self.queues[q]},
        }
