"""Captures made by the tools analysts use, read by ``opencram.interop.pcap``: tcpdump
(libpcap format, ``-i any``: Linux cooked capture v2) and Wireshark's capture engine dumpcap
(pcapng over two interfaces, loopback and ``any``: two link types in one file). Each
records ASTERIX datagrams we send to one UDP port on 127.0.0.1 and other datagrams to a
second port; the reader must give back exactly ours, in order, and count the others.

Only loopback traffic, on two ports this test binds itself; capturing needs root (CI runs as
root). tcpdump and dumpcap are Debian's (``.ci/run`` installs tcpdump and tshark, which
brings dumpcap)."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from contextlib import ExitStack

import pytest

from opencram.interop.asterix import encode_cat048, load_recording

pytestmark = pytest.mark.skipif(
    not hasattr(os, "geteuid") or os.geteuid() != 0, reason="capturing packets needs root"
)


def _bound() -> socket.socket:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
    s.bind(("127.0.0.1", 0))
    return s


def _datagrams(n: int) -> list[bytes]:
    return [
        encode_cat048(sac=0, sic=1 + k % 2, tod_s=[k + 0.5], range_m=[3000 + 10 * k],
                      az_rad=[0.01 * k], height_m=[200.0])[0]
        for k in range(n)
    ]  # fmt: skip


def _capture(cmd: list[str], ready: str, ours: list[bytes]):
    """Run a capture tool, send ``ours`` to one bound port and junk to another, stop the
    tool; returns (our port, the send window in Unix seconds)."""
    with ExitStack() as stack:
        rx, other = stack.enter_context(_bound()), stack.enter_context(_bound())
        port, other_port = rx.getsockname()[1], other.getsockname()[1]
        argv = [a.format(port=port, other=other_port) for a in cmd]
        proc = subprocess.Popen(argv, stderr=subprocess.PIPE, text=True)
        stack.callback(lambda: proc.poll() is None and proc.kill())
        deadline = time.monotonic() + 30
        line = ""
        while ready not in line:
            line = proc.stderr.readline()
            if not line and proc.poll() is not None:
                pytest.fail(f"{argv[0]} exited {proc.returncode} before capturing")
            assert time.monotonic() < deadline, f"{argv[0]} did not start"
        time.sleep(0.5)  # the capture is live once the tool says so; leave it a margin
        tx = stack.enter_context(socket.socket(socket.AF_INET, socket.SOCK_DGRAM))
        t0 = time.time()
        for d in ours:
            tx.sendto(d, ("127.0.0.1", port))
            tx.sendto(b"not ours", ("127.0.0.1", other_port))
        t1 = time.time()
        time.sleep(0.5)
        proc.send_signal(signal.SIGINT)
        assert proc.wait(30) == 0, proc.stderr.read()
    return port, (t0, t1)


@pytest.mark.skipif(shutil.which("tcpdump") is None, reason="tcpdump is not installed")
def test_a_tcpdump_capture_on_any(tmp_path):
    ours = _datagrams(12)
    path = tmp_path / "any.pcap"
    cmd = ["tcpdump", "-i", "any", "-U", "-n", "-w", str(path),
           "udp port {port} or udp port {other}"]  # fmt: skip
    port, (t0, t1) = _capture(cmd, "listening on", ours)
    rec = load_recording(path, port)
    assert rec.format == "pcap" and path.read_bytes()[:4] in (
        b"\xd4\xc3\xb2\xa1",
        b"\xa1\xb2\xc3\xd4",
    )
    assert [d for _, d in rec.datagrams] == ours
    assert all(t0 - 0.01 <= t <= t1 + 0.01 for t, _ in rec.datagrams)
    assert rec.skipped == {"other_port": len(ours)}


@pytest.mark.skipif(shutil.which("dumpcap") is None, reason="dumpcap (Wireshark) is not installed")
def test_a_dumpcap_pcapng_capture_on_two_interfaces(tmp_path):
    ours = _datagrams(10)
    path = tmp_path / "two.pcapng"
    bpf = "udp port {port} or udp port {other}"
    cmd = ["dumpcap", "-i", "lo", "-f", bpf, "-i", "any", "-f", bpf, "-w", str(path)]
    port, (t0, t1) = _capture(cmd, "Capturing on", ours)
    rec = load_recording(path, port)
    assert rec.format == "pcapng"
    # each datagram seen once on each interface (lo: Ethernet frames, any: cooked capture)
    got = [d for _, d in rec.datagrams]
    assert sorted(got) == sorted(ours * 2)
    assert all(t0 - 0.01 <= t <= t1 + 0.01 for t, _ in rec.datagrams)
    assert rec.skipped == {"other_port": 2 * len(ours)}
