"""Fuzzing the live service's input with hypothesis: malformed, truncated, oversized and
random CAT048 datagrams and plot CSV lines, mutated anywhere in the datagram, mixed with a
dense stream of valid plots (a target flying past, and clutter) while data and wall time
advance. Nothing raises, each bad input is counted, and **every valid plot is accepted**
and tracked. The bulk (over 100,000 inputs) goes straight into the ingest and processing
functions in process; a smaller run goes over loopback sockets into a running server,
where every datagram sent is received or counted as dropped by the kernel. The generators
are in ``tests/fuzzgen.py``, shared with the full-size run ``benchmarks/fuzz_all.py``."""

from __future__ import annotations

import asyncio
import socket

import numpy as np
from hypothesis import HealthCheck, given, settings

from fuzzgen import (
    PLOTS_PER_EXAMPLE,
    SPECS,
    draw_datagram,
    example_datagrams,
    example_lines,
    feed_example,
    valid_stream,
)
from opencram.live.server import Endpoints, LiveServer
from opencram.live.service import LiveService, ServeConfig

EXAMPLES = 550


def test_fuzz_100k_inputs_in_process_with_dense_valid_plots():
    """Seeded faults caught: an ingest that drops 9 of 10 valid plots (e.g. ``_accept``
    keeping ``t[::10]``) fails the count of radar r1's plots."""
    stream = valid_stream(EXAMPLES)
    svc = LiveService(SPECS, config=ServeConfig(idle_s=1e9))
    ingest = svc.ingest
    fed = {"datagrams": 0, "lines": 0, "examples": 0}

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(example_datagrams, example_lines)
    def feed(dgs, lines):
        k = fed["examples"]
        if k >= len(stream):
            return
        fed["examples"] += 1
        tracks = feed_example(svc, k, stream[k], dgs, lines)
        fed["datagrams"] += len(dgs) + 1
        fed["lines"] += len(lines)
        fed.setdefault("tracks", set()).update(tracks)

    feed()
    svc.finish()
    total = fed["datagrams"] + fed["lines"]
    assert total >= 100_000
    assert ingest.received["datagrams"] == fed["datagrams"]
    assert ingest.received["lines"] == fed["lines"]
    # every valid plot was accepted (junk naming r1 comes from another source: dropped)
    assert ingest.plots_by_sensor[0] == fed["examples"] * PLOTS_PER_EXAMPLE
    assert ingest.dropped["unexpected_source"] > 0
    assert fed.get("tracks"), "the target flying past is tracked through the junk"
    # every kind of bad input turned up and was counted
    for kind in ("empty", "oversized", "truncated", "bad_record", "category", "unknown_sensor",
                 "csv_value", "csv_columns", "not_utf8", "bad_value"):  # fmt: skip
        assert ingest.bad.counts[kind] > 0, kind


def test_fuzz_over_loopback_sockets():
    """Junk and valid datagrams over UDP, junk and valid lines over TCP, into a running
    server: every datagram sent is received or counted as a kernel drop, and the valid
    plots that arrive are all accepted. Seeded fault caught: an ingest that drops 9 of 10
    valid plots fails the r1 plot count."""
    stream = valid_stream(EXAMPLES)[:500]

    async def go():
        svc = LiveService(SPECS, config=ServeConfig(idle_s=1e9))
        server = LiveServer(svc, Endpoints(asterix_port=0, csv_port=0, ws_port=None))
        await server.start()
        task = asyncio.ensure_future(server.run())
        _, a_port = server.addresses["asterix"].rsplit(":", 1)
        _, c_port = server.addresses["csv"].rsplit(":", 1)
        r = np.random.default_rng(1)
        sent = 0
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            for k in range(3000):
                if k % 6 == 0:
                    d = stream[k // 6]
                elif k % 6 == 1:
                    d = draw_datagram(r)
                else:
                    d = r.integers(0, 256, int(r.integers(1, 200)), dtype=np.uint8).tobytes()
                s.sendto(d, ("127.0.0.1", int(a_port)))
                sent += 1
                if k % 100 == 0:
                    await asyncio.sleep(0.01)
        _reader, writer = await asyncio.open_connection("127.0.0.1", int(c_port))
        junk = r.integers(0, 256, 20_000, dtype=np.uint8).tobytes()
        lines = b"".join(b"%.2f,r1,4000,10,5\n" % (5200.0 + k * 0.5) for k in range(100))
        writer.write(lines + junk + b"\n" + b"z" * 5000 + b"\n")
        await writer.drain()
        writer.close()
        for _ in range(400):
            await asyncio.sleep(0.05)
            got = svc.ingest.received["datagrams"] + server.udp.poll_kernel()
            if got >= sent and not svc.ingest.pending():
                break
        server.request_stop()
        await task
        return svc, sent

    svc, sent = asyncio.run(go())
    ing = svc.ingest
    assert ing.received["datagrams"] + ing.kernel_dropped == sent
    assert ing.received["lines"] >= 100
    assert ing.bad.counts["oversized_line"] >= 1
    assert sum(ing.bad.counts.values()) > 1000
    # every valid datagram that was not dropped by the kernel gave its plots
    assert ing.plots_by_sensor[0] >= PLOTS_PER_EXAMPLE * (len(stream) - ing.kernel_dropped) + 100
