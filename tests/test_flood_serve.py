"""A flood over loopback: a running server with a small socket receive buffer is sent
datagrams faster than it can read them, from another process (valid CAT048 plots,
repeats, junk, and records claiming the radar from a second source address), while a
websocket client listens. The service stays up (it keeps stepping and sends its closing
``ingest_stats``) and **every datagram is accounted for**: sent = received + dropped by
the kernel, and received = decoded + dropped (by cause) + rejected as oversized.

Seeded fault caught: with the kernel's drop count ignored (``UdpIn.poll_kernel`` and the
``SO_RXQ_OVFL`` reading disabled) ``sent == received + kernel`` fails, since the test
makes the kernel drop (it asserts that it did)."""

from __future__ import annotations

import asyncio
import json
import socket
import struct
import subprocess
import sys
import time

import numpy as np
from websockets.asyncio.client import connect

from opencram.interop.asterix import encode_cat048
from opencram.live.server import Endpoints, LiveServer
from opencram.live.service import LiveService, ServeConfig
from opencram.sense.plots import SensorSpec

SPECS = [SensorSpec("r1", 33.3, 44.4, 34.0, 10.0, 2.0, 2.0, scan_s=1.0, sigma_range_rate_mps=1.0)]
N_DATAGRAMS = 20_000


def _traffic() -> list[bytes]:
    r = np.random.default_rng(2)
    valid = [
        encode_cat048(
            sac=0,
            sic=1,
            tod_s=[100.0 + k * 0.01],
            range_m=[r.uniform(1000, 9000)],
            az_rad=[r.uniform(0, 6.28)],
            height_m=[r.uniform(100, 900)],
        )[0]
        for k in range(400)
    ]
    junk = [r.bytes(int(n)) for n in r.integers(1, 120, 100)]
    out = []
    for k in range(N_DATAGRAMS):
        out.append(valid[k % len(valid)] if k % 3 else junk[k % len(junk)])
    return out


BLASTER = """
import socket, struct, sys
data = open(sys.argv[1], "rb").read()
port = int(sys.argv[2])
a = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
b = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
b.bind(("127.0.0.2", 0))
pos = k = 0
while pos < len(data):
    (n,) = struct.unpack_from(">H", data, pos)
    (b if k % 10 == 9 else a).sendto(data[pos + 2 : pos + 2 + n], ("127.0.0.1", port))
    pos += 2 + n
    k += 1
print(k)
"""


def _blaster(port: int, data: list[bytes], tmp_path) -> subprocess.Popen:
    """Another process sending as fast as a blocking socket goes (no GIL shared with the
    server): 127.0.0.1 is the radar, every tenth datagram comes from 127.0.0.2."""
    path = tmp_path / "flood.bin"
    path.write_bytes(b"".join(struct.pack(">H", len(d)) + d for d in data))
    return subprocess.Popen(
        [sys.executable, "-c", BLASTER, str(path), str(port)], stdout=subprocess.PIPE, text=True
    )


def test_flood_over_loopback_every_datagram_is_counted(tmp_path):
    async def go():
        svc = LiveService(SPECS, config=ServeConfig(idle_s=1e9, queue_bytes=32 * 1024))
        ep = Endpoints(asterix_port=0, csv_port=None, ws_port=0, rcvbuf_bytes=4096)
        server = LiveServer(svc, ep)
        await server.start()
        task = asyncio.ensure_future(server.run())
        port = int(server.addresses["asterix"].rsplit(":", 1)[1])
        # bind radar r1 to 127.0.0.1 first, as a radar would by sending
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.sendto(_traffic()[1], ("127.0.0.1", port))
        for _ in range(100):
            await asyncio.sleep(0.02)
            if svc.ingest.source[0]:
                break
        messages = []
        async with connect(server.addresses["websocket"]) as ws:
            steps_before = svc.n_steps
            t0 = time.monotonic()
            blaster = _blaster(port, _traffic(), tmp_path)
            while blaster.poll() is None:
                await asyncio.sleep(0.05)
            flood_s = time.monotonic() - t0
            sent = {"n": 1 + int(blaster.stdout.read())}
            for _ in range(300):  # let it read and decode what the kernel kept
                await asyncio.sleep(0.05)
                if not svc.ingest.pending():
                    break
            steps_during = (svc.n_steps - steps_before, flood_s)
            server.request_stop()
            await task
            with_timeout = asyncio.wait_for(ws.recv(), 2.0)
            while True:
                try:
                    messages.append(json.loads(await with_timeout))
                except Exception:
                    break
                with_timeout = asyncio.wait_for(ws.recv(), 0.5)
        return svc, server, sent["n"], steps_during, messages

    svc, _server, sent, steps_during, messages = asyncio.run(go())
    ing = svc.ingest
    rec = ing.received["datagrams"]
    kernel = ing.kernel_dropped
    assert kernel > 0, "the flood made the kernel drop datagrams"
    assert sent == rec + kernel, (sent, rec, kernel)
    dropped = sum(v for k, v in ing.dropped.items() if k != "kernel")
    assert rec == ing.received["datagrams_decoded"] + dropped + ing.bad.counts["oversized"]
    assert ing.dropped["unexpected_source"] > 0
    n_steps, flood_s = steps_during
    print(
        f"flood: {sent} datagrams in {flood_s:.2f} s, {kernel} dropped by the kernel, "
        f"{n_steps} steps"
    )
    assert n_steps >= flood_s, "the service kept stepping through the flood"
    stats = [m for m in messages if m["kind"] == "ingest_stats"]
    assert stats and stats[-1]["dropped"]["kernel"] == kernel
