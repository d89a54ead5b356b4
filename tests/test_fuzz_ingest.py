"""Fuzzing the live service's input with hypothesis: malformed, truncated, oversized and
random CAT048 datagrams and plot CSV lines, mutated anywhere in the datagram, mixed with a
dense stream of valid plots (a target flying past, and clutter) while data and wall time
advance. Nothing raises, each bad input is counted, and **every valid plot is accepted**
and tracked. The bulk (over 100,000 inputs) goes straight into the ingest and processing
functions in process; a smaller run goes over loopback sockets into a running server,
where every datagram sent is received or counted as dropped by the kernel."""

from __future__ import annotations

import asyncio
import json
import socket

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from opencram.interop.asterix import encode_cat048
from opencram.live.server import Endpoints, LiveServer
from opencram.live.service import LiveService, ServeConfig
from opencram.sense.plots import SensorSpec

SPECS = [
    SensorSpec("r1", 33.3, 44.4, 34.0, 10.0, 2.0, 2.0, scan_s=1.0, sigma_range_rate_mps=1.0),
    SensorSpec("r2", 33.31, 44.41, 34.0, 10.0, 2.0, 2.0, scan_s=1.0),
]
rng = np.random.default_rng(0)
VALID = [
    encode_cat048(
        sac=0,
        sic=int(s),
        tod_s=rng.uniform(0, 100, n),
        range_m=rng.uniform(1, 20_000, n),
        az_rad=rng.uniform(0, 7, n),
        height_m=rng.uniform(-100, 9000, n),
        range_rate_mps=rng.uniform(-600, 600, n),
        snr_db=rng.uniform(-10, 60, n),
        mode3a=rng.integers(-1, 4096, n),
        track_number=rng.integers(-1, 4096, n),
    )[0]
    for s, n in ((1, 1), (2, 3), (1, 5), (3, 2), (2, 1))
]
VALID_LINES = [
    b"12.5,r1,4831.047,182.5,1.25,-312.4,26.4",
    b"13,r2,900,0,0",
    b"time_s,sensor,range_m,azimuth_deg,elevation_deg",
]

flip = st.tuples(st.integers(0, 1 << 16), st.integers(0, 255))  # anywhere in the datagram
RADAR_1 = ("10.0.0.1", 8600)
FUZZER = ("10.9.9.9", 9999)
EXAMPLES = 550
STEP_S = 0.5  # data and wall time per example
PLOTS_PER_EXAMPLE = 8


def _valid_stream() -> list[bytes]:
    """One datagram per example: a target flying past radar r1 at 250 m/s and clutter,
    stamped on a clock advancing STEP_S per example."""
    r = np.random.default_rng(11)
    out = []
    for k in range(EXAMPLES):
        t = 5000.0 + k * STEP_S
        x = -8000.0 + 250.0 * ((k * STEP_S) % 64.0)
        pos = np.array([x, 3000.0, 1200.0])
        n = PLOTS_PER_EXAMPLE
        clutter_m = r.uniform(1000, 15_000, n - 1)
        rng_m = np.r_[np.linalg.norm(pos), clutter_m]
        out += encode_cat048(
            sac=0,
            sic=1,
            tod_s=np.full(n, t),
            range_m=rng_m,
            az_rad=np.r_[np.arctan2(pos[0], pos[1]) % (2 * np.pi), r.uniform(0, 6.28, n - 1)],
            height_m=np.r_[34.0 + pos[2], 34.0 + clutter_m * r.uniform(0.01, 0.3, n - 1)],
        )
    return out


@st.composite
def mutated(draw):
    data = bytearray(draw(st.sampled_from(VALID)))
    for i, b in draw(st.lists(flip, max_size=4)):
        data[i % len(data)] = b
    cut = draw(st.integers(0, len(data)))
    return bytes(data[: max(cut, draw(st.sampled_from([cut, len(data)])))])


datagrams = st.one_of(
    st.binary(max_size=48),
    mutated(),
    st.binary(max_size=40).map(lambda b: b"\x30" + (len(b) + 3).to_bytes(2, "big") + b),
    st.sampled_from(VALID),
    st.sampled_from([b"", bytes(70_000), b"\x30\x00\x03" * 300]),
)


@st.composite
def csv_lines(draw):
    kind = draw(st.integers(0, 3))
    if kind == 0:
        return draw(st.binary(max_size=60))
    if kind == 1:
        return draw(st.text(max_size=60)).encode("utf-8", "surrogatepass")
    cells = draw(st.sampled_from(VALID_LINES)).split(b",")
    i = draw(st.integers(0, len(cells) - 1))
    cells[i] = draw(st.sampled_from([b"", b"nan", b"inf", b"-1", b"1e309", b"x", b"999"]))
    if kind == 3:
        cells = cells[: draw(st.integers(0, len(cells)))]
    return b",".join(cells)


def test_fuzz_100k_inputs_in_process_with_dense_valid_plots():
    """Seeded faults caught: an ingest that drops 9 of 10 valid plots (e.g. ``_accept``
    keeping ``t[::10]``) fails the count of radar r1's plots."""
    stream = _valid_stream()
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
    @given(
        st.lists(datagrams, min_size=80, max_size=80),
        st.lists(csv_lines(), min_size=120, max_size=120),
    )
    def feed(dgs, lines):
        k = fed["examples"]
        if k >= len(stream):
            return
        fed["examples"] += 1
        wall = k * STEP_S
        for i, d in enumerate(dgs):
            ingest.put_datagram(d, FUZZER)
            if i == len(dgs) // 2:  # the valid datagram amid the junk
                ingest.put_datagram(stream[k], RADAR_1)
        for line in lines:
            ingest.put_csv_line(line, "fuzz")
        fed["datagrams"] += len(dgs) + 1
        fed["lines"] += len(lines)
        svc.note_input(wall)
        out = svc.step(wall)  # decode and track whatever was accepted: must not raise
        fed.setdefault("tracks", set()).update(
            e["track_id"] for e in map(json.loads, out.events) if e["kind"] == "track"
        )

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
    stream = _valid_stream()[:500]

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


def draw_datagram(r) -> bytes:
    """A datagram mutated anywhere, from the fuzz pool, without hypothesis."""
    data = bytearray(VALID[int(r.integers(len(VALID)))])
    for _ in range(int(r.integers(1, 5))):
        data[int(r.integers(len(data)))] = int(r.integers(256))
    return bytes(data[: int(r.integers(1, len(data) + 1))])
