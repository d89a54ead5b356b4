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
  bounded the same way, and is decoded (and most likely counted as bad) from there;
* a sensor is its SAC/SIC *and* its source address: the address given for it (``sources``),
  else the address of its first datagram that gave an accepted plot; a datagram naming the
  sensor from any other address is dropped on arrival (``unexpected_source``), and a record
  whose SAC/SIC differs from its datagram's first record is dropped (``sensor_mismatch``);
* a datagram identical to one of the last ``DUPLICATE_WINDOW`` is dropped (``duplicate``):
  a radar never sends the same bytes twice (each carries its time of day);
* work budget: at most ``max_plots_per_scan`` plots per sensor per revisit time (data time)
  go to the tracker, the rest are dropped (``rate_limit``); one processing step decodes at
  most ``max_plots_per_step`` plots (the rest wait in the queues);
* every drop is counted by cause in ``dropped`` (``stats()``), kernel drops included (set by
  the server from ``SO_RXQ_OVFL`` or ``/proc/net/udp``).
"""

from __future__ import annotations

import logging
import re
import time
from collections import Counter, deque
from collections.abc import Callable, Sequence
from math import isfinite

import numpy as np

from opencram.interop.asterix import DAY_S, MAX_DATAGRAM_BYTES, decode_cat048, peek_sensor
from opencram.sense.plots import (
    COLUMN_LIMITS,
    MODE3A_PROBLEM,
    OPTIONAL_COLUMNS,
    REQUIRED_COLUMNS,
    Plots,
    SensorSpec,
)
from opencram.track.registration import correct_plots

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
    "http_request",  # an HTTP request sent to the CSV port (connection closed)
    "csv_refused",  # a CSV connection over the limit, without the token, or idle
)

_ALL_COLUMNS = REQUIRED_COLUMNS + OPTIONAL_COLUMNS
MODE3A_CELL = re.compile(r"[0-7]{1,4}")  # the mode3a column: octal digits, as the CSV's


RESYNC_PLOTS = 20  # plots far from the clock that it takes to start it again ...
RESYNC_SPAN_S = 4.0  # ... spread over at least this much of their own data time
RESYNC_KEEP_PLOTS = 20_000  # far plots kept while a resync is pending (then tracked)
DUPLICATE_WINDOW = 4096  # recent datagrams remembered for the duplicate check
MAX_PLOTS_PER_SCAN = 500  # per sensor per revisit time, to the tracker (--scan-budget)
MAX_PLOTS_PER_STEP = 4000  # decoded per processing step

# causes of dropped input (``dropped`` in ``stats()``); a datagram, line or plot is counted
# once, under the first cause that drops it
DROP_CAUSES = (
    "kernel",  # UDP datagrams the kernel dropped (socket receive buffer full)
    "queue_full",  # queued entries dropped oldest-first from a full sensor queue
    "duplicate",  # a datagram identical to a recent one
    "unexpected_source",  # a datagram naming a sensor bound to another source address
    "sensor_mismatch",  # CAT048 records naming another sensor than their datagram's first
    "rate_limit",  # plots over max_plots_per_scan for their sensor
    "at_exit",  # inputs still queued when a stopped service's exit budget ran out
)


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
        sources: dict[str, str] | None = None,
        max_plots_per_scan: int = MAX_PLOTS_PER_SCAN,
        max_plots_per_step: int = MAX_PLOTS_PER_STEP,
        logger: logging.Logger | None = None,
        bias_si: np.ndarray | None = None,
    ) -> None:
        self.specs = list(specs)
        # each sensor's registration (n, 4), taken out of every plot (docs/registration.md)
        self.bias_si = bias_si
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
        self.dropped: Counter[str] = Counter()  # by cause (DROP_CAUSES)
        self.kernel_dropped = 0  # set by the server (cumulative, from the kernel)
        self.plots_by_sensor = np.zeros(n, dtype=np.int64)  # plots accepted, per sensor
        self.clock_s: float | None = None  # latest accepted measurement time
        self.allow_jump = False  # set by the service after a silence: resynchronise
        self.resync = ResyncWatch(n, max_jump_s)
        self.wall_s = 0.0  # wall time of the processing step (set by the service)
        self.resync_to_s: float | None = None  # set here, acted on by the service
        self.resync_plots: list[Plots] = []  # the far plots that made it (to track)
        # source address per sensor: given, or bound by its first good datagram
        self.source: list[str | None] = [None] * n
        self.source_given = [False] * n
        for sid, host in (sources or {}).items():
            self.source[self.index[sid]] = host
            self.source_given[self.index[sid]] = True
        self.scan_s = np.array([s.scan_s or 1.0 for s in self.specs], dtype=float)
        self.max_plots_per_scan = int(max_plots_per_scan)
        self.max_plots_per_step = int(max_plots_per_step)
        self._scan_used: dict[tuple[int, int], int] = {}  # (sensor, scan number) -> plots
        self._recent: dict[int, None] = {}  # hashes of recent datagrams (insertion order)
        self._seq = 0  # arrival order of queued entries
        self._csv_header: dict[object, list[str]] = {}
        self.log = logger or log

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
            self.dropped["queue_full"] += 1

    def drop(self, cause: str, detail: str, n: int = 1) -> None:
        """Count ``n`` inputs dropped for ``cause`` (logged the first time)."""
        if cause not in self.dropped:
            self.log.warning(
                "input dropped (%s): %s; further drops of this kind are counted, not logged",
                cause,
                detail,
            )
        self.dropped[cause] += n

    def _is_duplicate(self, data: bytes) -> bool:
        h = hash(data)
        if h in self._recent:
            return True
        self._recent[h] = None
        if len(self._recent) > DUPLICATE_WINDOW:
            del self._recent[next(iter(self._recent))]
        return False

    def _wrong_source(self, q: int, host: str | None) -> bool:
        return host is not None and q < len(self.specs) and self.source[q] not in (None, host)

    def put_datagram(self, data: bytes, source: tuple | None = None) -> None:
        """Queue one received UDP datagram (CAT048) under its sensor; ``source`` is the
        sender's address (host, port, ...), None when not from a socket."""
        self.received["datagrams"] += 1
        if len(data) > MAX_DATAGRAM_BYTES:
            self.bad.add("oversized", f"{len(data)}-byte datagram")
            return
        key = peek_sensor(data)
        q = self.by_sac_sic.get(key, len(self.specs)) if key is not None else len(self.specs)
        host = None if source is None else str(source[0])
        if self._wrong_source(q, host):
            self.drop("unexpected_source", f"sensor {self.ids[q]} from {host}")
            return
        if self._is_duplicate(data):
            self.drop("duplicate", f"a repeated {len(data)}-byte datagram")
            return
        self._enqueue(q, (bytes(data), host, q), max(len(data), 1))

    def put_csv_line(self, raw: bytes, source: object = None) -> None:
        """Parse one plot CSV line (bytes, without its line end) and queue its plot under
        its sensor. ``source`` keys the header state (one per TCP connection or stdin): a
        first line naming columns sets their order, otherwise the plot CSV's default order
        ``time_s,sensor,range_m,azimuth_deg,elevation_deg[,range_rate_mps[,snr_db[,mode3a]]]``."""
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
                nums[name] = -1 if name == "mode3a" else float("nan")
                continue
            if name == "mode3a":
                if not MODE3A_CELL.fullmatch(cell):
                    self.bad.add("csv_value", f"mode3a: {cell[:40]!r} {MODE3A_PROBLEM}")
                    return None
                nums[name] = int(cell, 8)
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
            nums["mode3a"],
        )

    # --- processing -------------------------------------------------------------------

    def drop_queued(self, cause: str) -> None:
        """Empty every queue, counting what it held as dropped for ``cause``."""
        n = self.pending()
        if n:
            self.drop(cause, f"{n} queued inputs", n)
        for q, dq in enumerate(self.queues):
            dq.clear()
            self.queued_bytes[q] = 0

    def pending(self) -> int:
        return sum(len(q) for q in self.queues)

    def drain(self, budget_s: float = 0.05, clock: Callable[[], float] = time.perf_counter):
        """Take queued entries in arrival order until the queues are empty or ``budget_s``
        of processing time is spent; return them decoded as one :class:`Plots` batch (not
        sorted)."""
        start = clock()
        rows: list[tuple] = []
        asx: list = []
        taken = n_plots = 0
        while self.pending() and (not taken or clock() - start < budget_s):
            if n_plots >= self.max_plots_per_step:
                break
            taken += 1
            q = min((dq[0][0], k) for k, dq in enumerate(self.queues) if dq)[1]
            _, entry, nbytes = self.queues[q].popleft()
            self.queued_bytes[q] -= nbytes
            if entry[0] == "csv":
                rows.append(entry[1])
                n_plots += 1
            else:
                p = self._from_asterix(*entry)
                if p is not None:
                    asx.append(p)
                    n_plots += len(p)
        parts = [p for p in asx if len(p)]
        if rows:
            a = np.array([r[0] for r in rows]), np.array([r[1] for r in rows], np.int64)
            cols = np.array([r[2:] for r in rows], dtype=float).reshape(-1, 6)
            c = [cols[:, j] for j in range(5)]
            parts.append(self._accept(a[0], a[1], *c, cols[:, 5].astype(np.int64)))
        parts = [p for p in parts if p is not None and len(p)]
        return Plots.concat(parts) if parts else Plots.empty()

    def _from_asterix(self, data: bytes, host: str | None, q: int) -> Plots | None:
        if self._wrong_source(q, host):  # the sensor was bound after this was queued
            self.drop("unexpected_source", f"sensor {self.ids[q]} from {host}")
            return None
        self.received["datagrams_decoded"] += 1
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
        other = ~unknown & (sensor != q)
        if other.any():
            self.drop("sensor_mismatch", "records of two sensors in one datagram", int(other.sum()))
            unknown |= other
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
        plots = self._accept(
            t,
            s,
            rng,
            dec.az_rad[keep],
            el,
            dec.range_rate_mps[keep],
            dec.snr_db[keep],
            dec.mode3a[keep],
        )
        if plots is not None and len(plots) and host is not None and self.source[q] is None:
            self.source[q] = host
            self.log.info("sensor %s bound to source address %s", self.ids[q], host)
        return plots

    def _accept(self, t, s, rng, az, el, rr, snr, m3a) -> Plots | None:
        t = np.asarray(t, dtype=float)
        if not t.size:
            return None
        cols = (t, np.asarray(s, dtype=np.int64), rng, az, el, rr, snr, np.asarray(m3a, np.int64))
        keep = self._within_rate(cols[0], cols[1])
        if not keep.all():
            cols = tuple(np.asarray(x)[keep] for x in cols)
        if self.clock_s is not None and not self.allow_jump:
            cols = self._near_clock(cols)
        if cols is None or not cols[0].size:
            return None
        t = cols[0]
        self.resync.near(cols[1], self.wall_s)
        self.received["plots"] += int(t.size)
        np.add.at(self.plots_by_sensor, cols[1], 1)
        newest = float(t.max())
        self.clock_s = newest if self.clock_s is None else max(self.clock_s, newest)
        self.allow_jump = False
        return self._plots(cols)

    def _plots(self, cols) -> Plots:
        t, s, rng, az, el, rr, snr, m3a = cols
        plots = Plots(
            time_s=t,
            sensor=s,
            range_m=rng,
            az_rad=np.mod(az, 2 * np.pi),
            el_rad=el,
            range_rate_mps=rr,
            snr_db=snr,
            arrival_s=t + self.latency_s[s],
            truth_id=np.full(t.size, -1),
            mode3a=m3a,
        )
        return correct_plots(plots, self.bias_si)

    def _within_rate(self, t: np.ndarray, s: np.ndarray) -> np.ndarray:
        """Which plots fit their sensor's budget of ``max_plots_per_scan`` per revisit time
        (scan number ``floor(t / scan_s)``); the others are counted ``rate_limit``."""
        keep = np.ones(t.size, dtype=bool)
        scan = np.floor(t / self.scan_s[s]).astype(np.int64)
        for k, n in np.unique(np.stack([s, scan], axis=1), axis=0).tolist():
            idx = np.flatnonzero((s == k) & (scan == n))
            used = self._scan_used.get((k, n), 0)
            room = max(self.max_plots_per_scan - used, 0)
            keep[idx[room:]] = False
            self._scan_used[(k, n)] = used + min(room, idx.size)
        if len(self._scan_used) > 8 * len(self.specs) + 64:  # forget the oldest scans
            for key in sorted(self._scan_used, key=lambda kn: kn[1])[: len(self._scan_used) // 2]:
                del self._scan_used[key]
        if not keep.all():
            n_over = int(np.count_nonzero(~keep))
            self.drop("rate_limit", f"over {self.max_plots_per_scan} plots per scan", n_over)
        return keep

    def _near_clock(self, cols):
        """The plots within ``max_jump_s`` of the clock; the others are counted
        (``time_jump``, ``time_behind``) and watched for a clock that must start again."""
        t = cols[0]
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
        if not far.any():
            return cols
        self._watch_far(tuple(np.asarray(x)[far] for x in cols))
        return tuple(np.asarray(x)[~far] for x in cols)

    def _watch_far(self, far_cols) -> None:
        """Far plots: kept while they agree on a candidate clock (ResyncWatch)."""
        if self.resync_to_s is not None:  # decided, not yet acted on: keep what agrees
            agree = np.abs(far_cols[0] - self.resync_to_s) <= self.max_jump_s
            self.resync_plots.append(self._plots(tuple(x[agree] for x in far_cols)))
            return
        generation = self.resync.generation
        if self.resync.far(far_cols[0], far_cols[1], self.wall_s):
            if self.resync.generation != generation:  # a new candidate clock
                self.resync_plots = []
            self.resync_plots.append(self._plots(far_cols))
            self._resync_pending()

    def _resync_pending(self) -> None:
        kept = sum(len(p) for p in self.resync_plots)
        while kept > RESYNC_KEEP_PLOTS and len(self.resync_plots) > 1:
            kept -= len(self.resync_plots.pop(0))
        if self.resync.ready():
            self.resync_to_s = self.resync.clock_s()
            self.resync.reset()

    def take_resync_plots(self) -> Plots:
        """The far plots that agreed on the new clock (to track after a resync)."""
        parts, self.resync_plots = self.resync_plots, []
        return Plots.concat(parts) if parts else Plots.empty()

    def stats(self) -> dict:
        """Counters for the ``ingest_stats`` event."""
        names = [*self.ids, "(unknown sensor)"]
        dropped = dict(self.dropped)
        if self.kernel_dropped:
            dropped["kernel"] = int(self.kernel_dropped)
        return {
            "received": dict(sorted(self.received.items())),
            "bad": dict(sorted(self.bad.counts.items())),
            "dropped": dict(sorted(dropped.items())),
            "sources": {sid: host for sid, host in zip(self.ids, self.source, strict=True) if host},
            "shed": {
                names[q]: {"entries": int(self.shed_entries[q]), "bytes": int(self.shed_bytes[q])}
                for q in range(len(names))
                if self.shed_entries[q]
            },
            "queued": {names[q]: len(self.queues[q]) for q in range(len(names)) if self.queues[q]},
        }


class ResyncWatch:
    """When to believe that the data clock, not the data, is wrong.

    Plots far (over ``max_jump_s``) from the clock form a *candidate* clock when they agree
    with each other (each within ``max_jump_s`` of the newest). The service starts again on
    the candidate only when

    1. at least ``RESYNC_PLOTS`` far plots agree,
    2. they span at least ``RESYNC_SPAN_S`` of their own data time **and** arrived over at
       least ``RESYNC_SPAN_S`` of wall time (agreement over time: one burst of forged
       plots, however many and whatever times they carry, does not do it), and
    3. more sensors sent agreeing far plots, and no plot near the clock for
       ``RESYNC_SPAN_S`` of wall time, than sensors that sent a plot near the clock within
       that time (a majority of the sensors heard from: while a sensor's real data keeps
       coming, far plots naming that sensor alone never move the clock).

    A far plot that disagrees with the candidate starts a new one.
    """

    def __init__(self, n_sensors: int, max_jump_s: float) -> None:
        self.max_jump_s = float(max_jump_s)
        self.last_near_wall = np.full(n_sensors, -np.inf)
        self.n = n_sensors
        self.generation = 0  # counts candidates (the far plots kept belong to the last)
        self.reset()

    def reset(self) -> None:
        self.generation += 1
        self.first_s: float | None = None  # candidate: oldest and newest far plot times
        self.last_s = 0.0
        self.first_wall = self.last_wall = 0.0
        self.count = 0
        self.far_sensors = np.zeros(self.n, dtype=bool)

    def near(self, sensor: np.ndarray, wall_s: float) -> None:
        self.last_near_wall[np.asarray(sensor)] = wall_s

    def far(self, t: np.ndarray, sensor: np.ndarray, wall_s: float) -> bool:
        """Note far plots; True when they agree with the candidate (to be kept)."""
        lo, hi = float(t.min()), float(t.max())
        if hi - lo > self.max_jump_s:  # the plots disagree among themselves: no candidate
            return False
        if self.first_s is None or abs(hi - self.last_s) > self.max_jump_s:
            self.reset()
            self.first_s, self.last_s = lo, hi
            self.first_wall = wall_s
        self.first_s = min(self.first_s, lo)
        self.last_s = max(self.last_s, hi)
        self.last_wall = wall_s
        self.count += int(t.size)
        self.far_sensors[np.asarray(sensor)] = True
        return True

    def ready(self) -> bool:
        if self.first_s is None or self.count < RESYNC_PLOTS:
            return False
        if min(self.last_s - self.first_s, self.last_wall - self.first_wall) < RESYNC_SPAN_S:
            return False
        on_clock = self.last_near_wall > self.last_wall - RESYNC_SPAN_S
        jumped = int(np.count_nonzero(self.far_sensors & ~on_clock))
        return jumped > int(np.count_nonzero(on_clock))

    def clock_s(self) -> float:
        return float(self.last_s)
