"""Bounded soak over loopback: a running server gets cycle after cycle of CAT048 traffic (a
target crossing the radar, clutter, junk, repeats) over UDP and plot CSV lines over TCP,
with two websocket clients listening (one reading, one that never reads). After the
warm-up cycles neither the Python heap (tracemalloc) nor the process's resident memory
(RSS, from /proc/self/statm) keeps growing. Counts, not timing.

Seeded fault caught: a service that keeps a copy of every datagram 40 times over (e.g.
``self._leak.extend([bytes(data)] * 40)`` in ``Ingest.put_datagram``) fails the heap
check; the RSS check bounds what tracemalloc cannot see (numpy buffers, the allocator)."""

from __future__ import annotations

import asyncio
import gc
import os
import socket
import tracemalloc

import numpy as np
from websockets.asyncio.client import connect

from opencram.interop.asterix import encode_cat048
from opencram.live.server import Endpoints, LiveServer
from opencram.live.service import LiveService, ServeConfig
from opencram.sense.plots import SensorSpec

SPECS = [SensorSpec("r1", 33.3, 44.4, 34.0, 10.0, 2.0, 2.0, scan_s=1.0, sigma_range_rate_mps=1.0)]
CYCLES = 12
SCANS_PER_CYCLE = 10
PLOTS_PER_SCAN = 16


def rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _cycle(k: int, rng) -> list[bytes]:
    """One cycle: scans of a target flying straight past, with clutter, a repeat of each
    scan's datagram, and junk."""
    out = []
    for s in range(SCANS_PER_CYCLE):
        t = 1000.0 + (k * SCANS_PER_CYCLE + s) * 1.0
        pos = np.array([-1500.0 + 300.0 * s, 2000.0, 800.0])
        r = float(np.linalg.norm(pos))
        az = float(np.arctan2(pos[0], pos[1]) % (2 * np.pi))
        n = PLOTS_PER_SCAN
        clutter = rng.uniform(500, 9000, n - 1)
        scan = encode_cat048(
            sac=0,
            sic=1,
            tod_s=np.full(n, t),
            range_m=np.r_[r, clutter],
            az_rad=np.r_[az, rng.uniform(0, 2 * np.pi, n - 1)],
            height_m=np.r_[34.0 + pos[2], 34.0 + clutter * rng.uniform(0.01, 0.2, n - 1)],
            range_rate_mps=np.r_[300.0 * pos[0] / r, rng.uniform(-50, 50, n - 1)],
        )
        out += scan + scan[:1]  # the first datagram of the scan twice: a repeat
        out.append(rng.integers(0, 256, 30, dtype=np.uint8).tobytes())
    return out


def _csv(k: int) -> bytes:
    t = 1000.0 + k * SCANS_PER_CYCLE
    return b"".join(b"%.2f,r1,%.1f,45.0,3.0\n" % (t + s + 0.5, 6000.0 + s) for s in range(10))


async def _reader(url: str, got: list) -> None:
    try:
        async with connect(url) as ws:
            async for _m in ws:
                got[0] += 1
    except Exception:
        pass


async def _soak(traffic: list[list[bytes]]):
    svc = LiveService(SPECS, config=ServeConfig(idle_s=1e9))
    server = LiveServer(svc, Endpoints(asterix_port=0, csv_port=0, ws_port=0))
    await server.start()
    task = asyncio.ensure_future(server.run())
    port = int(server.addresses["asterix"].rsplit(":", 1)[1])
    csv_host, csv_port = server.addresses["csv"][len("tcp://") :].rsplit(":", 1)
    got = [0]
    reader = asyncio.ensure_future(_reader(server.addresses["websocket"], got))
    idle_client = await connect(server.addresses["websocket"])  # connected, never reads
    _r, csv_writer = await asyncio.open_connection(csv_host, int(csv_port))
    heap, rss = [], []
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        for k in range(CYCLES):
            for d in traffic[k]:
                s.sendto(d, ("127.0.0.1", port))
                await asyncio.sleep(0)
            csv_writer.write(_csv(k))
            await csv_writer.drain()
            for _ in range(200):
                await asyncio.sleep(0.02)
                if not svc.ingest.pending():
                    break
            gc.collect()
            heap.append(tracemalloc.get_traced_memory()[0])
            rss.append(rss_bytes())
    csv_writer.close()
    server.request_stop()
    await task
    await idle_client.close()
    reader.cancel()
    return svc, heap, rss, got[0]


def test_soak_heap_and_rss_are_bounded():
    # import and warm everything up before tracing (libasterix's generated module is large)
    LiveService(SPECS).ingest.put_datagram(_cycle(0, np.random.default_rng(0))[0])
    rng = np.random.default_rng(7)
    traffic = [_cycle(k, rng) for k in range(CYCLES)]
    tracemalloc.start()
    try:
        svc, heap, rss, ws_messages = asyncio.run(_soak(traffic))
    finally:
        tracemalloc.stop()
    ing = svc.ingest
    assert ing.received["plots"] >= CYCLES * SCANS_PER_CYCLE * PLOTS_PER_SCAN * 0.9
    assert ing.received["lines"] == CYCLES * 10
    assert ing.dropped["duplicate"] == CYCLES * SCANS_PER_CYCLE
    assert sum(ing.bad.counts.values()) > 0
    assert ws_messages > CYCLES, "the reading client got the events"
    warm = CYCLES // 3
    # after warm-up (imports, caches, first tracks) the heap does not keep growing ...
    # (seen: under 0.1 MB over cycles 4-12; the seeded leak adds about 2 MB)
    assert max(heap[warm:]) - heap[warm] < 500_000, heap
    half = CYCLES // 2
    assert np.mean(heap[half:]) - np.mean(heap[warm:half]) < 250_000, heap
    # ... nor does the resident memory (allocator and numpy buffers included; seen: 0.6 MB)
    assert max(rss[warm:]) - rss[warm] < 8 * 2**20, rss
