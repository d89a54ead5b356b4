"""Packet captures of ASTERIX over UDP: our recordings written as libpcap files, and the
UDP datagrams to one port read out of pcap and pcapng captures (docs/interfaces.md,
"Recordings: pcap captures").

Analysts record radar feeds with tcpdump or Wireshark, so a recording is a capture: every
datagram an Ethernet / IPv4 / UDP packet to port 8600, the port Wireshark decodes as
ASTERIX without being told. The framing and the file formats are left to packet libraries:

* writing: dpkt builds the Ethernet, IPv4 and UDP headers (lengths and checksums) and
  writes the libpcap file;
* reading: dpkt reads libpcap files (micro- and nanosecond), python-pcapng reads pcapng
  (each packet with its own interface, so a capture over several interfaces of different
  link types reads right), and dpkt takes every packet's link, IP and UDP layers apart.

A capture may hold anything else a network carries: packets that are not UDP datagrams to
the port asked for are skipped and counted by reason (:data:`SKIP_REASONS`), never an
error. A file that is no capture at all, or cannot be read, is a one-line
:class:`~opencram.errors.UserError` naming it.
"""

from __future__ import annotations

import io
import socket
import warnings
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import dpkt

from opencram.errors import UserError
from opencram.fileio import atomic_write_bytes

ASTERIX_UDP_PORT = 8600  # Wireshark's default UDP port for ASTERIX
MAX_UDP_PAYLOAD = 65_507  # the largest UDP payload over IPv4
SOURCE = ("127.0.0.1", 49_152)  # the address and port our recordings' datagrams come from
DESTINATION_IP = "127.0.0.1"

PCAP_MAGICS = (  # the first four bytes of a libpcap file, either byte order, µs or ns
    b"\xd4\xc3\xb2\xa1",
    b"\xa1\xb2\xc3\xd4",
    b"\x4d\x3c\xb2\xa1",
    b"\xa1\xb2\x3c\x4d",
)
PCAPNG_MAGIC = b"\x0a\x0d\x0d\x0a"  # a pcapng section header block

# why a packet of a capture was not taken; each is counted
SKIP_REASONS = (
    "other_port",  # a UDP datagram to another port
    "not_udp",  # an IP packet of another protocol (TCP, ICMP, ...)
    "not_ip",  # a link-layer frame that carries no IP (ARP, LLDP, ...)
    "fragment",  # a fragment of an IP datagram (fragments are not reassembled)
    "truncated",  # cut by the capture's snapshot length (or by the end of a pcap file)
    "link_type",  # captured on an interface of a link type we do not read
    "malformed",  # headers that do not parse
    "cut_short",  # the file ends inside a record header or a pcapng block (capture killed)
)

# link types (www.tcpdump.org/linktypes.html) and the dpkt class of their frames
_LINK_LAYERS = {
    0: dpkt.loopback.Loopback,  # LINKTYPE_NULL (BSD loopback)
    1: dpkt.ethernet.Ethernet,  # LINKTYPE_ETHERNET
    108: dpkt.loopback.Loopback,  # LINKTYPE_LOOP (OpenBSD loopback)
    113: dpkt.sll.SLL,  # LINKTYPE_LINUX_SLL (tcpdump -i any, older libpcap)
    276: dpkt.sll2.SLL2,  # LINKTYPE_LINUX_SLL2 (tcpdump -i any)
}
_RAW_IP = (12, 14, 101, 228, 229)  # DLT_RAW on some systems, LINKTYPE_RAW, IPV4, IPV6
_PARSE_ERRORS = (dpkt.UnpackError, ValueError, IndexError, KeyError, TypeError)


@dataclass
class Capture:
    """The UDP datagrams to ``port`` of a capture, as (timestamp in seconds since the Unix
    epoch, payload) in file order, and what was skipped."""

    datagrams: list[tuple[float, bytes]]
    format: str  # "pcap" or "pcapng"
    port: int
    packets: int = 0  # packets in the file
    skipped: Counter = field(default_factory=Counter)  # reason -> packets

    def summary(self) -> str:
        """One line: what was taken and what was skipped, e.g. for standard error."""
        line = (
            f"{self.format}: {len(self.datagrams)} of {self.packets} packets are UDP to port "
            f"{self.port}"
        )
        if self.skipped:
            line += "; skipped " + ", ".join(
                f"{n} {k.replace('_', ' ')}" for k, n in sorted(self.skipped.items())
            )
        return line


def capture_format(head: bytes) -> str | None:
    """The capture format, "pcap" or "pcapng", from a file's first bytes, or None."""
    if head[:4] in PCAP_MAGICS:
        return "pcap"
    if head[:4] == PCAPNG_MAGIC:
        return "pcapng"
    return None


# --- writing ------------------------------------------------------------------------------


def udp_packet(payload: bytes, port: int, ident: int) -> bytes:
    """One Ethernet frame carrying ``payload`` as a UDP datagram from :data:`SOURCE` to
    ``127.0.0.1:port`` (dpkt fills in the lengths and checksums)."""
    udp = dpkt.udp.UDP(sport=SOURCE[1], dport=port, data=payload)
    udp.ulen = len(udp)
    ip = dpkt.ip.IP(
        src=socket.inet_aton(SOURCE[0]),
        dst=socket.inet_aton(DESTINATION_IP),
        p=dpkt.ip.IP_PROTO_UDP,
        id=ident & 0xFFFF,
        df=1,
        ttl=64,
        data=udp,
    )
    ip.len = len(ip)
    eth = dpkt.ethernet.Ethernet(
        src=b"\x00" * 6, dst=b"\x00" * 6, type=dpkt.ethernet.ETH_TYPE_IP, data=ip
    )
    return bytes(eth)


def pcap_bytes(datagrams: Sequence[tuple[float, bytes]], port: int = ASTERIX_UDP_PORT) -> bytes:
    """A libpcap file (Ethernet link type, microsecond timestamps) with one UDP packet per
    (timestamp in seconds since the Unix epoch, payload)."""
    buf = io.BytesIO()
    writer = dpkt.pcap.Writer(buf, snaplen=65_535, linktype=dpkt.pcap.DLT_EN10MB)
    for k, (t_s, data) in enumerate(datagrams):
        if len(data) > MAX_UDP_PAYLOAD:
            raise ValueError(f"a UDP datagram carries at most {MAX_UDP_PAYLOAD} bytes")
        writer.writepkt(udp_packet(bytes(data), port, k), ts=t_s)
    return buf.getvalue()


def write_pcap(
    path: str | Path, datagrams: Sequence[tuple[float, bytes]], port: int = ASTERIX_UDP_PORT
) -> None:
    """Write the datagrams as a libpcap capture (atomically); see :func:`pcap_bytes`."""
    atomic_write_bytes(path, pcap_bytes(datagrams, port))


# --- reading ------------------------------------------------------------------------------


def read_capture(path: str | Path, port: int = ASTERIX_UDP_PORT) -> Capture:
    """The UDP datagrams to ``port`` in a pcap or pcapng file, IPv4 or IPv6, over Ethernet
    (with VLAN tags), Linux cooked capture (v1, v2), loopback or raw IP."""
    label = str(path)
    try:
        with open(path, "rb") as f:
            fmt = capture_format(f.read(4))
            if fmt is None:
                raise UserError(f"{label}: not a pcap or pcapng capture")
            f.seek(0)
            cap = Capture([], fmt, port)
            packets = _pcap_packets(f, label) if fmt == "pcap" else _pcapng_packets(f, label)
            for t_s, link_type, frame, cut in packets:
                cap.packets += 1
                got = _udp_payload(link_type, frame, port, cut)
                if isinstance(got, str):
                    cap.skipped[got] += 1
                else:
                    cap.datagrams.append((t_s, got))
    except FileNotFoundError:
        raise UserError(f"{label}: file not found") from None
    except IsADirectoryError:
        raise UserError(f"{label}: is a folder, not a capture") from None
    except _CutShortError:
        cap.skipped["cut_short"] += 1
    except OSError as exc:
        raise UserError(f"{label}: cannot read: {exc.strerror or exc}") from None
    return cap


class _CutShortError(Exception):
    """The file ends inside a packet: the packets before it are kept."""


def _pcap_packets(f, label: str) -> Iterator[tuple[float, int, bytes, bool]]:
    """(timestamp, link type, frame, cut by the snapshot length) of a libpcap file."""
    try:
        reader = dpkt.pcap.Reader(f)
    except (ValueError, dpkt.NeedData) as exc:
        raise UserError(f"{label}: not a readable pcap file ({exc})") from None
    link_type = reader.datalink()
    it = iter(reader)
    while True:
        try:
            ts, frame = next(it)
        except StopIteration:
            return
        except (dpkt.NeedData, ValueError) as exc:
            raise _CutShortError from exc
        yield float(ts), link_type, frame, False


def _pcapng_packets(f, label: str) -> Iterator[tuple[float, int, bytes, bool]]:
    """(timestamp, link type of its interface, frame, cut by the snapshot length) of the
    packets of a pcapng file."""
    import pcapng  # deferred: only pcapng files need it

    try:
        scanner = iter(pcapng.FileScanner(f))
    except pcapng.exceptions.PcapngException as exc:
        raise UserError(f"{label}: not a readable pcapng file ({exc})") from None
    packet_blocks = (pcapng.blocks.EnhancedPacket, pcapng.blocks.ObsoletePacket)
    while True:
        try:
            with warnings.catch_warnings():
                # python-pcapng 2.1 warns (DeprecationWarning) at options of a type it
                # has no name for, as dumpcap writes them; the packets read all the same
                warnings.simplefilter("ignore", DeprecationWarning)
                block = next(scanner)
        except StopIteration:
            return
        except (pcapng.exceptions.PcapngException, ValueError, KeyError, IndexError) as exc:
            raise _CutShortError from exc
        if isinstance(block, packet_blocks):
            cut = block.captured_len < block.packet_len
            yield float(block.timestamp), block.interface.link_type, block.packet_data, cut
        elif isinstance(block, pcapng.blocks.SimplePacket):  # no timestamp: the file's last
            cut = block.captured_len < block.packet_len
            yield float("nan"), block.interface.link_type, block.packet_data, cut


def _network_layer(link_type: int, frame: bytes):
    """The IP packet (dpkt) of a frame, or a skip reason."""
    if link_type in _RAW_IP:
        version = frame[0] >> 4 if frame else 0
        if version == 4:
            return dpkt.ip.IP(frame)
        if version == 6:
            return dpkt.ip6.IP6(frame)
        return "malformed"
    layer = _LINK_LAYERS.get(link_type)
    if layer is None:
        return "link_type"
    ip = layer(frame).data  # Ethernet: past any VLAN tags
    if not isinstance(ip, dpkt.ip.IP | dpkt.ip6.IP6):
        return "not_ip"
    return ip


def _udp_payload(link_type: int, frame: bytes, port: int, cut: bool) -> bytes | str:
    """The payload of a UDP datagram to ``port`` in a frame, or why there is none."""
    try:
        ip = _network_layer(link_type, frame)
    except dpkt.NeedData:
        return "truncated"
    except _PARSE_ERRORS:
        return "malformed"
    if isinstance(ip, str):
        return ip
    if _is_fragment(ip):
        return "fragment"
    udp = ip.data
    if not isinstance(udp, dpkt.udp.UDP):
        return "truncated" if cut and isinstance(udp, bytes) else "not_udp"
    if udp.dport != port:
        return "other_port"
    n = udp.ulen - 8
    if n < 0:
        return "malformed"
    if len(udp.data) < n:
        return "truncated"
    return bytes(udp.data[:n])


def _is_fragment(ip) -> bool:
    if isinstance(ip, dpkt.ip.IP):
        return bool(ip.mf or ip.offset)
    return 44 in getattr(ip, "extension_hdrs", {}) and ip.extension_hdrs[44] is not None
