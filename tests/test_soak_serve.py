"""Bounded soak over loopback: a running server gets cycle after cycle of CAT048 traffic (a
target crossing the radar, clutter, junk) over UDP; Python heap use (tracemalloc) after
the warm-up cycles stays bounded. Counts, not timing."""

from __future__ import annotations

import asyncio
import gc
import socket
import tracemalloc

import numpy as np

from opencram.interop.asterix import encode_cat048
from opencram.live.server import Endpoints, LiveServer
from opencram.live.service import LiveService, ServeConfig
from opencram.sense.plots import SensorSpec

SPECS = [SensorSpec("r1", 33.3, 44.4, 34.0, 10.0, 2.0, 2.0, scan_s=1.0, sigma_range_rate_mps=1.0)]
CYCLES = 12
SCANS_PER_CYCLE = 10


def _cycle(k: int, rng) -> list[bytes]:
    """One cycle: 20 scans of a target flying straight past, plus clutter and junk."""
    out = []
    for s in range(SCANS_PER_CYCLE):
        t = 1000.0 + (k * SCANS_PER_CYCLE + s) * 1.0
        pos = np.array([-1500.0 + 300.0 * s, 2000.0, 800.0])
        r = float(np.linalg.norm(pos))
        az = float(np.arctan2(pos[0], pos[1]) % (2 * np.pi))
        n = 4
        out += encode_cat048(
            sac=0,
            sic=1,
            tod_s=np.full(n, t),
            range_m=np.r_[r, rng.uniform(500, 9000, n - 1)],
            az_rad=np.r_[az, rng.uniform(0, 2 * np.pi, n - 1)],
            height_m=np.r_[34.0 + pos[2], rng.uniform(40, 2000, n - 1)],
            range_rate_mps=np.r_[300.0 * pos[0] / r, rng.uniform(-50, 50, n - 1)],
        )
        out.append(rng.integers(0, 256, 30, dtype=np.uint8).tobytes())
    return out


def test_soak_memory_is_bounded():
    async def go():
        svc = LiveService(SPECS, config=ServeConfig(idle_s=1e9))
        server = LiveServer(svc, Endpoints(asterix_port=0, csv_port=None, ws_port=None))
        await server.start()
        task = asyncio.ensure_future(server.run())
        port = int(server.addresses["asterix"].rsplit(":", 1)[1])
        rng = np.random.default_rng(7)
        sizes = []
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            for k in range(CYCLES):
                for d in _cycle(k, rng):
                    s.sendto(d, ("127.0.0.1", port))
                    await asyncio.sleep(0)
                for _ in range(100):
                    await asyncio.sleep(0.02)
                    if not svc.ingest.pending():
                        break
                gc.collect()
                sizes.append(tracemalloc.get_traced_memory()[0])
        server.request_stop()
        await task
        return svc, sizes

    # import and warm everything up before tracing (libasterix's generated module is large)
    LiveService(SPECS).ingest.put_datagram(_cycle(0, np.random.default_rng(0))[0])
    tracemalloc.start()
    try:
        svc, sizes = asyncio.run(go())
    finally:
        tracemalloc.stop()
    assert svc.ingest.received["plots"] >= CYCLES * SCANS_PER_CYCLE * 3
    assert sum(svc.ingest.bad.counts.values()) > 0
    # after warm-up (imports, caches, first tracks) the heap does not keep growing
    warm = sizes[CYCLES // 3]
    growth = max(sizes[CYCLES // 3 :]) - warm
    assert growth < 2_000_000, (warm, sizes)
    # and the second half grows no more than noise over the first half
    half = CYCLES // 2
    assert np.mean(sizes[half:]) - np.mean(sizes[CYCLES // 3 : half]) < 1_000_000, sizes
