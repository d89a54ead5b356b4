"""Captures against scapy, a packet library independent of the ones we use (dpkt writes our
recordings and reads libpcap; python-pcapng reads pcapng). Scapy reads our recording
back packet by packet (headers, checksums, times), and writes the captures we must read:
pcap and pcapng, several link types, with traffic that is not ours mixed in."""

from __future__ import annotations

import numpy as np
import pytest
from scapy.layers.inet import IP, TCP, UDP, fragment
from scapy.layers.inet6 import IPv6
from scapy.layers.l2 import ARP, CookedLinux, Dot1Q, Ether, Loopback
from scapy.packet import Raw
from scapy.utils import PcapNgWriter, PcapWriter, rdpcap

from opencram.errors import UserError
from opencram.interop.asterix import (
    decode_cat048,
    export_recording,
    load_recording,
    read_recording,
)
from opencram.interop.pcap import read_capture
from opencram.sense.plots import Plots

T0 = 1_639_872_000.0


def _plots(n: int = 120) -> Plots:
    rng = np.random.default_rng(7)
    t = np.sort(rng.uniform(0, 30, n))
    return Plots(
        time_s=t,
        sensor=rng.integers(0, 2, n),
        range_m=rng.uniform(500, 9000, n),
        az_rad=rng.uniform(0, 2 * np.pi, n),
        el_rad=rng.uniform(0.0, 0.8, n),
        range_rate_mps=rng.uniform(-300, 300, n),
        snr_db=rng.uniform(10, 40, n),
        arrival_s=t + 0.2,
        truth_id=np.full(n, -1),
    )


def _asterix(k: int) -> bytes:
    """A recognisable CAT048-framed payload (the reader does not decode it)."""
    body = bytes([k % 256]) * (k % 7 + 1)
    return bytes([48, 0, 3 + len(body)]) + body


def test_scapy_reads_our_recording_as_udp_to_port_8600(tmp_path):
    path = tmp_path / "rec.pcap"
    n = export_recording(path, _plots(), [34.0, 50.0])
    ours = read_recording(path)
    assert len(ours) == n > 10
    pkts = rdpcap(str(path))
    assert len(pkts) == n
    for pkt, (t_s, data) in zip(pkts, ours, strict=True):
        assert pkt.haslayer(Ether) and pkt.haslayer(IP) and pkt.haslayer(UDP)
        assert pkt[UDP].dport == 8600 and bytes(pkt[UDP].payload) == data
        assert pkt[IP].len == 28 + len(data) and pkt[UDP].len == 8 + len(data)
        assert float(pkt.time) == pytest.approx(t_s, abs=1e-6)
        # checksums as scapy computes them
        again = Ether(bytes(pkt))
        del again[IP].chksum, again[UDP].chksum
        rebuilt = Ether(bytes(again))
        assert (rebuilt[IP].chksum, rebuilt[UDP].chksum) == (pkt[IP].chksum, pkt[UDP].chksum)
    # time of day in the payload = timestamp's seconds since midnight, less the latency
    tod = decode_cat048(ours[0][1])[0].tod_s
    assert ours[0][0] - T0 - tod.max() == pytest.approx(0.2, abs=0.01)


def _mixed_traffic():
    """(packets, the ASTERIX payloads to port 8600 among them, skips expected)."""
    pkts, want = [], []

    def at(p, t):
        p.time = T0 + t
        pkts.append(p)

    for k in range(6):
        data = _asterix(k)
        want.append((T0 + k, data))
        ip = IPv6(dst="::1") if k == 3 else IP(dst="127.0.0.1")
        l2 = Ether() / Dot1Q(vlan=7) if k == 4 else Ether()
        at(l2 / ip / UDP(sport=40000, dport=8600) / Raw(data), k)
        at(Ether() / IP(dst="127.0.0.1") / UDP(sport=8600, dport=8601) / Raw(b"x"), k + 0.1)
        at(Ether() / IP(dst="127.0.0.1") / TCP(dport=8600) / Raw(data), k + 0.2)
    at(Ether() / ARP(pdst="127.0.0.1"), 7)
    for i, frag in enumerate(fragment(IP(dst="127.0.0.1") / UDP(dport=8600) / Raw(b"a" * 3000))):
        at(Ether() / frag, 8 + i * 0.01)
    skips = {"other_port": 6, "not_udp": 6, "not_ip": 1, "fragment": 3}
    return pkts, want, skips


@pytest.mark.parametrize("fmt", ["pcap", "pcap-ns", "pcapng"])
def test_we_read_scapy_captures_with_other_traffic(tmp_path, fmt):
    pkts, want, skips = _mixed_traffic()
    path = tmp_path / f"mixed.{fmt}"
    writer = (
        PcapNgWriter(str(path)) if fmt == "pcapng" else PcapWriter(str(path), nano=fmt != "pcap")
    )
    for p in pkts:
        writer.write(p)
    writer.close()
    cap = read_capture(path)
    assert cap.format == fmt.split("-")[0] and cap.packets == len(pkts)
    assert [d for _, d in cap.datagrams] == [d for _, d in want]
    assert np.allclose([t for t, _ in cap.datagrams], [t for t, _ in want], atol=1e-6)
    assert dict(cap.skipped) == skips
    assert "skipped 3 fragment, 1 not ip, 6 not udp, 6 other port" in cap.summary()
    # another port on request: the 8601 datagrams
    assert [d for _, d in read_capture(path, port=8601).datagrams] == [b"x"] * 6


@pytest.mark.parametrize(
    ("linktype", "frame"),
    [
        (113, lambda p: CookedLinux(proto=0x0800) / p),  # tcpdump -i any (libpcap < 1.10)
        (0, lambda p: Loopback(type=2) / p),  # BSD loopback
        (101, lambda p: p),  # raw IP
    ],
)
def test_we_read_other_link_types(tmp_path, linktype, frame):
    path = tmp_path / f"lt{linktype}.pcap"
    writer = PcapWriter(str(path), linktype=linktype)
    for k in range(3):
        p = frame(IP(dst="127.0.0.1") / UDP(dport=8600) / Raw(_asterix(k)))
        p.time = T0 + k
        writer.write(p)
    writer.close()
    cap = read_capture(path)
    assert [d for _, d in cap.datagrams] == [_asterix(k) for k in range(3)]
    assert not cap.skipped


def test_snapped_and_cut_short_captures_keep_what_is_whole(tmp_path):
    path = tmp_path / "snap.pcap"
    writer = PcapWriter(str(path), snaplen=60, linktype=1)
    for k, n in enumerate((10, 200, 12)):
        p = Ether() / IP(dst="127.0.0.1") / UDP(dport=8600) / Raw(bytes([48, 0, n + 3]) + b"z" * n)
        p.time = T0 + k
        wire = bytes(p)  # a capture with a 60-byte snapshot length keeps the first 60
        if k == 0:  # (the first write also writes the file header)
            writer.write(p)
        else:
            writer.write_packet(wire[:60], sec=int(T0) + k, usec=0, caplen=min(60, len(wire)),
                                wirelen=len(wire))  # fmt: skip
    writer.close()
    cap = read_capture(path)
    assert [len(d) for _, d in cap.datagrams] == [13, 15] and cap.skipped == {"truncated": 1}
    data = path.read_bytes()
    cut = tmp_path / "cut.pcap"
    cut.write_bytes(data[:-5])  # tcpdump killed while writing the last packet
    cap = read_capture(cut)
    assert [len(d) for _, d in cap.datagrams] == [13] and cap.skipped == {"truncated": 2}
    cut.write_bytes(data[: -(57 + 6)])  # ... or its 16-byte record header
    cap = read_capture(cut)
    assert [len(d) for _, d in cap.datagrams] == [13] and cap.skipped == {
        "truncated": 1,
        "cut_short": 1,
    }


def test_not_a_capture_is_one_line(tmp_path):
    bad = tmp_path / "notes.txt"
    bad.write_text("hello")
    with pytest.raises(UserError, match=r"notes\.txt: not an ASTERIX recording"):
        load_recording(bad)
    with pytest.raises(UserError, match=r"notes\.txt: not a pcap or pcapng capture"):
        read_capture(bad)
    with pytest.raises(UserError, match="file not found"):
        load_recording(tmp_path / "missing.pcap")
    head = tmp_path / "head.pcap"
    head.write_bytes(b"\xd4\xc3\xb2\xa1\x02\x00")
    with pytest.raises(UserError, match=r"head\.pcap: not a readable pcap file"):
        read_capture(head)
