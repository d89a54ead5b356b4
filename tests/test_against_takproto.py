"""TAK protocol version 1 (protobuf) checked against takproto's own decoder and, byte by
byte, against the published TAK Protocol description (ATAK-CIV,
``commoncommo/core/impl/protobuf/protocol.txt``):

- a mesh message is ``<0xbf> <version varint> <0xbf> <payload>``, so ``bf 01 bf`` for
  version 1; a stream message is ``<0xbf> <payload length varint> <payload>``;
- the varint is the unsigned protobuf varint: 7-bit groups, least significant first, the
  top bit set on all bytes but the last (decoded here by hand from that rule);
- a stream switches to protobuf only after the server's ``t-x-takp-v`` offer, the client's
  ``t-x-takp-q`` request and the server's ``t-x-takp-r`` with ``status="true"``.

Every message a run produces (tracks, ellipses, zones, alerts, deletes) must decode with
``takproto.parse_proto`` into the same uid, type, how, times, point and detail as the
XML. The transport tests use real sockets on 127.0.0.1: a UDP receiver for mesh messages,
and for the stream a small TCP server written from protocol.txt's negotiation steps (no
real TAK server we can run here speaks protobuf: taky is XML only, see
test_against_taky_tls.py).
"""

from __future__ import annotations

import socket
import threading
import xml.etree.ElementTree as ET
from datetime import UTC, datetime

import pytest

takproto = pytest.importorskip("takproto", reason="takproto not installed (pip install takproto)")

from opencram.errors import UserError  # noqa: E402
from opencram.interop import takproto_codec as codec  # noqa: E402
from opencram.interop.cot import delete_cot, events_to_cot  # noqa: E402
from opencram.interop.tak import Link, send_cot  # noqa: E402
from test_cot import EMBASSY, alert, impact, origin, track  # noqa: E402

NOW = datetime(2026, 12, 1, 18, 43, 7, 250000, tzinfo=UTC)


def run_messages() -> list[bytes]:
    events = [
        track(t_s=10.0),
        impact(t_s=10.5),
        alert("raised", t_s=11.0),
        origin(t_s=12.0),
        track(t_s=13.0, cls="aircraft", tid=4),
        alert("cleared", t_s=40.0),
    ]
    msgs = events_to_cot(events, {"US Embassy": EMBASSY}, clock=lambda: NOW, simulated=True)
    return [*msgs, delete_cot("opencram-impact-3", "u-d-c-c", 41.0, 33.3, 44.4, epoch=NOW)]


def read_varint(data: bytes, at: int) -> tuple[int, int]:
    """protocol.txt's varint rule read by hand: (value, index after it)."""
    value = shift = 0
    while True:
        byte = data[at]
        at += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            return value, at


def ms(stamp: str) -> int:
    dt = datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
    return round(dt.timestamp() * 1000)


def canonical(el: ET.Element) -> tuple:
    return (el.tag, sorted(el.attrib.items()), (el.text or "").strip(), [canonical(c) for c in el])


def detail_back(detail) -> list[tuple]:
    """The detail the receiver rebuilds (detail.proto's receiver rules): xmlDetail inside
    <detail>, plus the XML equivalents of the typed contact and track."""
    root = ET.fromstring(f"<detail>{detail.xmlDetail}</detail>")
    children = [canonical(c) for c in root]
    if detail.HasField("contact"):
        attrs = {"callsign": detail.contact.callsign}
        if detail.contact.endpoint:
            attrs["endpoint"] = detail.contact.endpoint
        children.append(canonical(ET.Element("contact", attrs)))
    if detail.HasField("track"):
        attrs = {"course": detail.track.course, "speed": detail.track.speed}
        children.append(("track", sorted(attrs.items()), "", []))
    return sorted(children, key=repr)


def detail_of_xml(ev: ET.Element) -> list[tuple]:
    out = []
    for c in ev.find("detail"):
        if c.tag == "track":
            attrs = {k: float(v) for k, v in c.attrib.items()}
            out.append(("track", sorted(attrs.items()), "", []))
        else:
            out.append(canonical(c))
    return sorted(out, key=repr)


def check_same_event(msg, xml: bytes) -> None:
    ev = ET.fromstring(xml)
    cot = msg.cotEvent
    for name in ("uid", "type", "how", "opex"):
        assert getattr(cot, name) == (ev.get(name) or ""), name
    assert cot.sendTime == ms(ev.get("time"))
    assert cot.startTime == ms(ev.get("start"))
    assert cot.staleTime == ms(ev.get("stale"))
    pt = ev.find("point")
    for name in ("lat", "lon", "hae", "ce", "le"):
        assert getattr(cot, name) == float(pt.get(name)), name
    assert detail_back(cot.detail) == detail_of_xml(ev)


def test_stream_messages_decode_with_takproto_to_the_same_events():
    msgs = run_messages()
    assert {ET.fromstring(m).get("type") for m in msgs} >= {
        "a-h-A-W",
        "a-u-A",
        "u-d-c-c",
        "u-d-f",
        "b-a-o-opn",
        "b-a-o-can",
        "t-x-d-d",
    }
    for xml in msgs:
        frame = codec.stream_frame(xml)
        check_same_event(takproto.parse_proto(bytearray(frame)), xml)


def test_mesh_messages_decode_with_takproto_to_the_same_events():
    for xml in run_messages():
        frame = codec.mesh_frame(xml)
        check_same_event(takproto.parse_proto(bytearray(frame)), xml)


def test_typed_contact_and_track_are_used_and_left_out_of_xml_detail():
    """detail.proto: a typed element must not also be in xmlDetail."""
    xml = run_messages()[0]
    detail = takproto.parse_proto(bytearray(codec.stream_frame(xml))).cotEvent.detail
    assert detail.contact.callsign == "ROCKET T3"
    assert detail.track.speed > 0
    assert "<contact" not in detail.xmlDetail and "<track" not in detail.xmlDetail
    assert "<remarks" in detail.xmlDetail and "<opencram" in detail.xmlDetail


def test_framing_bytes_by_hand_against_protocol_txt():
    for xml in run_messages():
        body = codec.payload(xml)
        stream = codec.stream_frame(xml)
        assert stream[0] == 0xBF
        length, at = read_varint(stream, 1)
        assert length == len(body) and stream[at:] == body
        mesh = codec.mesh_frame(xml)
        assert mesh[:3] == bytes([0xBF, 0x01, 0xBF]) and mesh[3:] == body
    # our messages are longer than 127 bytes, so the stream length takes two varint bytes
    assert len(codec.payload(run_messages()[0])) > 127


def test_varint_against_the_rule():
    """The protobuf encoding guide's examples: 1 -> 01, 150 -> 96 01, 300 -> ac 02."""
    assert codec.varint(0) == b"\x00"
    assert codec.varint(1) == b"\x01"
    assert codec.varint(150) == b"\x96\x01"
    assert codec.varint(300) == b"\xac\x02"
    for n in (127, 128, 16383, 16384, 2**35 + 7):
        assert read_varint(codec.varint(n), 0) == (n, len(codec.varint(n)))
    with pytest.raises(ValueError):
        codec.varint(-1)


def test_udp_mesh_datagrams_through_pytak():
    """``udp://`` with protocol protobuf: one mesh message per datagram."""
    rx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    rx.bind(("127.0.0.1", 0))
    rx.settimeout(5)
    port = rx.getsockname()[1]
    msgs = run_messages()[:3]
    try:
        send_cot(msgs, Link(f"udp://127.0.0.1:{port}", protocol="protobuf"), timeout_s=10)
        got = [rx.recv(65536) for _ in msgs]
    finally:
        rx.close()
    for datagram, xml in zip(got, msgs, strict=True):
        assert datagram[:3] == b"\xbf\x01\xbf"
        check_same_event(takproto.parse_proto(bytearray(datagram)), xml)


def _offer(uid: str, versions=(1,)) -> bytes:
    # protocol.txt: one TakProtocolSupport per version; "additional attributes" and other
    # elements may come along (here a server-version element, which we must ignore)
    support = "".join(f'<TakProtocolSupport version="{v}"/>' for v in versions)
    support += '<TakServerVersionInfo serverVersion="test" apiVersion="3"/>'
    return (
        "<?xml version='1.0' encoding='UTF-8' standalone='yes'?>\n"
        f"<event version='2.0' uid='{uid}' type='t-x-takp-v' time='2026-12-01T00:00:00Z' "
        "start='2026-12-01T00:00:00Z' stale='2026-12-01T00:01:00Z' how='m-g'>"
        "<point lat='0' lon='0' hae='0' ce='999999' le='999999'/>"
        f"<detail><TakControl>{support}</TakControl></detail></event>"
    ).encode()


def _response(uid: str, status: str) -> bytes:
    return (
        f"<event version='2.0' uid='{uid}' type='t-x-takp-r' time='2026-12-01T00:00:00Z' "
        "start='2026-12-01T00:00:00Z' stale='2026-12-01T00:01:00Z' how='m-g'>"
        "<point lat='0' lon='0' hae='0' ce='999999' le='999999'/>"
        f'<detail><TakControl><TakResponse status="{status}"/></TakControl></detail></event>'
    ).encode()


class NegotiatingServer:
    """One TCP connection served by protocol.txt's server steps: send the offer, read
    XML until the client's t-x-takp-q, answer, then (if accepted) read stream messages."""

    def __init__(self, versions=(1,), status="true") -> None:
        self.srv = socket.create_server(("127.0.0.1", 0))
        self.port = self.srv.getsockname()[1]
        self.versions, self.status = versions, status
        self.request: ET.Element | None = None
        self.xml_before: list[ET.Element] = []
        self.stream = b""
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        conn, _ = self.srv.accept()
        conn.settimeout(10)
        with conn:
            # a server may replay other clients' CoT before its offer (and after)
            conn.sendall(run_messages()[0] + _offer("opencram-test-protouid", self.versions))
            buf = b""
            while self.request is None:
                chunk = conn.recv(65536)
                if not chunk:
                    return
                buf += chunk
                while b"</event>" in buf:
                    piece, buf = buf.split(b"</event>", 1)
                    ev = ET.fromstring(piece + b"</event>")
                    if ev.get("type") == "t-x-takp-q":
                        self.request = ev
                        break
                    self.xml_before.append(ev)
            conn.sendall(_response(self.request.get("uid"), self.status))
            self.stream = buf
            while chunk := conn.recv(65536):
                self.stream += chunk

    def messages(self) -> list:
        """The stream messages, split with the hand-read varint lengths."""
        out, at = [], 0
        while at < len(self.stream):
            assert self.stream[at] == 0xBF
            length, at = read_varint(self.stream, at + 1)
            body = self.stream[at : at + length]
            at += length
            out.append(takproto.parse_proto(bytearray(b"\xbf" + codec.varint(length) + body)))
        return out

    def close(self) -> None:
        self.thread.join(10)
        self.srv.close()


def test_stream_negotiates_version_1_then_sends_stream_messages():
    server = NegotiatingServer()
    msgs = run_messages()
    try:
        send_cot(msgs, Link(f"tcp://127.0.0.1:{server.port}", protocol="protobuf"), timeout_s=10)
    finally:
        server.close()
    req = server.request
    assert req is not None and req.get("uid") == "opencram-test-protouid"
    assert req.find("detail/TakControl/TakRequest").get("version") == "1"
    assert server.xml_before == []  # nothing sent as XML before the request
    got = server.messages()
    assert len(got) == len(msgs)
    for msg, xml in zip(got, msgs, strict=True):
        check_same_event(msg, xml)


@pytest.mark.parametrize(
    ("versions", "status", "said"),
    [((1,), "false", "did not accept"), ((2,), "true", "versions 2, not 1")],
)
def test_stream_negotiation_refused(versions, status, said):
    server = NegotiatingServer(versions, status)
    link = Link(f"tcp://127.0.0.1:{server.port}", protocol="protobuf", negotiate_s=2.0)
    try:
        with pytest.raises(UserError) as err:
            send_cot(run_messages()[:1], link, timeout_s=10)
    finally:
        server.close()
    assert said in str(err.value)
    assert server.stream == b""  # no protobuf sent
