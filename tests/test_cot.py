"""Cursor on Target messages checked against the CoT 2.0 event schema and TAK's drawing
conventions (docs/interop-cot.md), parsed back with ElementTree; delivery checked against a
plain local TCP socket."""

import re
import shutil
import socket
import threading
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta

import pytest

from opencram.c2.events import (
    Ellipse95,
    Impact,
    ImpactPredicted,
    Launch,
    OriginEstimated,
    TrackDropped,
    TrackUpdated,
    ZoneAlert,
)
from opencram.errors import UserError
from opencram.interop import cot
from opencram.interop.tak import send_cot
from opencram.scenario.load import builtin_dir, builtin_text

TIME_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")
EMBASSY = [(33.30111, 44.39117), (33.30111, 44.40083), (33.29689, 44.40083), (33.29689, 44.39117)]


def when(s: str) -> datetime:
    assert TIME_RE.match(s), s
    return datetime.strptime(s, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)


def parse(msg: bytes) -> ET.Element:
    assert b"\n" not in msg and not msg.startswith(b"<?xml")
    root = ET.fromstring(msg)
    assert root.tag == "event"
    assert root.get("version") == "2.0"
    for key in ("uid", "type", "how", "time", "start", "stale"):
        assert root.get(key), key
    t, start, stale = when(root.get("time")), when(root.get("start")), when(root.get("stale"))
    assert t <= start <= stale
    pt = root.find("point")
    assert pt is not None
    for key in ("lat", "lon", "hae", "ce", "le"):
        float(pt.get(key))
    assert -90 <= float(pt.get("lat")) <= 90 and -180 <= float(pt.get("lon")) <= 180
    return root


def track(vel=(0.0, 100.0, -20.0), cls="rocket", t_s=12.5, tid=3) -> TrackUpdated:
    return TrackUpdated(
        t_s=t_s,
        measured_s=t_s - 0.3,
        track_id=tid,
        track_class=cls,
        sensor="lcmr-embassy",
        lat=33.28,
        lon=44.392,
        alt_m=850.0,
        vel_enu_mps=vel,
        pos_sigma_m=7.25,
        kappa_cm2pkg=2.0,
        ballistic_prob=0.97,
    )


def impact(t_s=14.0, tti=21.5) -> ImpactPredicted:
    return ImpactPredicted(
        t_s=t_s,
        track_id=3,
        track_class="rocket",
        impact_time_s=t_s + tti,
        time_to_impact_s=tti,
        lat=33.2991,
        lon=44.3962,
        alt_m=34.0,
        ellipse95=Ellipse95(semi_major_m=120.0, semi_minor_m=45.0, orientation_deg=12.0),
        cov_en_m2=(400.0, 50.0, 2500.0),
    )


def origin(t_s=16.0) -> OriginEstimated:
    return OriginEstimated(
        t_s=t_s,
        track_id=3,
        track_class="rocket",
        launch_time_s=5.0,
        lat=33.2514,
        lon=44.3919,
        alt_m=34.0,
        ellipse95=Ellipse95(semi_major_m=300.0, semi_minor_m=80.0, orientation_deg=175.0),
    )


def alert(state="raised", t_s=15.0, tti=20.0, zone="US Embassy") -> ZoneAlert:
    return ZoneAlert(
        t_s=t_s,
        zone=zone,
        state=state,
        probability=0.83 if state != "cleared" else 0.0,
        track_ids=[3],
        time_to_impact_s=tti if state != "cleared" else None,
    )


# --- track points -------------------------------------------------------------------------


def test_track_point_fields():
    root = parse(cot.track_cot(track(), simulated=True))
    assert root.get("uid") == "opencram-track-3"
    assert root.get("type") == "a-h-A-W"
    assert root.get("how") == "m-p"
    assert root.get("opex") == "s"
    assert root.get("time") == "2021-12-19T00:00:12.500Z" == root.get("start")
    assert when(root.get("stale")) - when(root.get("time")) == timedelta(seconds=10)
    pt = root.find("point")
    assert float(pt.get("lat")) == pytest.approx(33.28, abs=1e-7)
    assert float(pt.get("lon")) == pytest.approx(44.392, abs=1e-7)
    assert float(pt.get("hae")) == pytest.approx(850.0)
    assert float(pt.get("ce")) == pytest.approx(7.25, abs=0.05)
    assert float(pt.get("le")) == pytest.approx(7.25, abs=0.05)
    detail = root.find("detail")
    assert detail.find("contact").get("callsign") == "ROCKET T3"
    assert "class rocket" in detail.find("remarks").text


def test_not_simulated_has_no_opex():
    assert parse(cot.track_cot(track())).get("opex") is None


@pytest.mark.parametrize(
    ("vel", "course"),
    [
        ((0.0, 100.0, 0.0), 0.0),  # north
        ((100.0, 0.0, 0.0), 90.0),  # east
        ((0.0, -50.0, 5.0), 180.0),  # south
        ((-30.0, 0.0, 0.0), 270.0),  # west
        ((-10.0, -10.0, 0.0), 225.0),  # south-west
        ((10.0, 10.0 * 3**0.5, 0.0), 30.0),
        ((-1e-6, 100.0, 0.0), 0.0),  # a hair west of north rounds to 0, not 360
    ],
)
def test_course_and_speed_from_velocity(vel, course):
    el = parse(cot.track_cot(track(vel=vel))).find("detail/track")
    assert float(el.get("course")) == pytest.approx(course, abs=0.05)
    assert 0.0 <= float(el.get("course")) < 360.0
    # speed over ground: the horizontal part only, m/s
    assert float(el.get("speed")) == pytest.approx((vel[0] ** 2 + vel[1] ** 2) ** 0.5, abs=0.05)


@pytest.mark.parametrize(
    ("cls", "cot_type"),
    [
        ("rocket", "a-h-A-W"),
        ("mortar", "a-h-A-W"),
        ("artillery", "a-h-A-W"),
        ("drone", "a-h-A-W"),
        ("unknown", "a-h-A-W"),
        ("aircraft", "a-u-A"),
    ],
)
def test_track_types_never_assume_friendly(cls, cot_type):
    root = parse(cot.track_cot(track(cls=cls)))
    assert root.get("type") == cot_type
    assert not root.get("type").startswith("a-f")


def test_epoch_parameter():
    root = parse(cot.track_cot(track(t_s=61.25), epoch="2024-03-01T10:00:00+02:00"))
    assert root.get("time") == "2024-03-01T08:01:01.250Z"
    naive = parse(cot.track_cot(track(t_s=0.0), epoch=datetime(2024, 3, 1, 8)))
    assert naive.get("time") == "2024-03-01T08:00:00.000Z"
    assert cot.parse_epoch("2021-12-19T00:00:00Z") == cot.DEFAULT_EPOCH
    with pytest.raises(ValueError):
        cot.parse_epoch("19 Dec 2021")


# --- ellipses -----------------------------------------------------------------------------


def test_impact_ellipse():
    ev = impact()
    root = parse(cot.impact_cot(ev, simulated=True))
    assert root.get("uid") == "opencram-impact-3"
    assert root.get("type") == "u-d-c-c"
    assert root.get("how") == "m-p"
    assert root.get("opex") == "s"
    # stays on the map until shortly after the predicted impact
    assert when(root.get("stale")) == cot.DEFAULT_EPOCH + timedelta(seconds=ev.impact_time_s + 30)
    pt = root.find("point")
    assert (float(pt.get("lat")), float(pt.get("lon"))) == pytest.approx((33.2991, 44.3962))
    ell = root.find("detail/shape/ellipse")
    # full axes in metres (ATAK halves them into radii: tests/test_against_atak_ellipse.py),
    # angle = azimuth of the major axis from true north
    assert float(ell.get("major")) == pytest.approx(240.0)
    assert float(ell.get("minor")) == pytest.approx(90.0)
    assert float(ell.get("angle")) == pytest.approx(12.0)
    detail = root.find("detail")
    assert int(detail.find("strokeColor").get("value")) == cot.IMPACT_STROKE
    assert int(detail.find("fillColor").get("value")) == cot.IMPACT_FILL
    assert "21.5 s" in detail.find("remarks").text


def test_origin_ellipse():
    root = parse(cot.origin_cot(origin()))
    assert root.get("uid") == "opencram-origin-3"
    assert root.get("type") == "u-d-c-c"
    assert root.get("how") == "h-e"
    ell = root.find("detail/shape/ellipse")
    assert float(ell.get("major")) == pytest.approx(600.0)
    assert float(ell.get("minor")) == pytest.approx(160.0)
    assert float(ell.get("angle")) == pytest.approx(175.0)
    stroke = int(root.find("detail/strokeColor").get("value"))
    assert stroke == cot.ORIGIN_STROKE != cot.IMPACT_STROKE
    assert "2021-12-19T00:00:05.000Z" in root.find("detail/remarks").text


def test_argb_colours_are_signed_32_bit():
    assert cot.argb(255, 255, 0, 0) == -65536  # opaque red, as TAK writes it
    assert cot.argb(0, 0, 0, 255) == 255
    assert cot.argb(255, 255, 255, 255) == -1
    with pytest.raises(ValueError):
        cot.argb(256, 0, 0, 0)


# --- zones and alerts ---------------------------------------------------------------------


def links(root: ET.Element) -> list[tuple[float, float]]:
    out = []
    for el in root.findall("detail/link"):
        if el.get("point"):
            lat, lon = el.get("point").split(",")
            out.append((float(lat), float(lon)))
    return out


def test_zone_raised_polygon_and_in_contact_alert():
    """The alert type is ATAK's "In Contact" (troops in contact, under fire), not its "911
    Alert" (a friendly in distress): ATAK-CIV, atak/ATAK/app/src/main/java/com/atakmap/
    android/emergency/tool/EmergencyType.java maps b-a-o-opn to "In Contact" and
    b-a-o-tbl to "911 Alert"; EmergencyDetailHandler.java reads the <emergency type> of
    any b-a-* event."""
    msgs = cot.zone_alert_cot(alert("raised"), EMBASSY, simulated=True)
    assert len(msgs) == 2
    poly, al = (parse(m) for m in msgs)
    assert poly.get("type") == "u-d-f" and poly.get("uid") == "opencram-zone-us-embassy"
    pts = links(poly)
    assert len(pts) == len(EMBASSY) + 1 and pts[0] == pts[-1]  # closed
    assert [c for p in pts[:-1] for c in p] == pytest.approx([c for p in EMBASSY for c in p])
    assert int(poly.find("detail/fillColor").get("value")) == cot.ZONE_FILL
    assert (cot.ZONE_FILL >> 16) & 0xFF == 255 and cot.ZONE_FILL & 0xFFFF == 0  # red
    assert poly.find("detail/contact").get("callsign") == "US Embassy"
    # the polygon lasts until 30 s after the expected impact
    assert when(poly.get("stale")) - when(poly.get("time")) == timedelta(seconds=50)
    assert al.get("type") == "b-a-o-opn" and al.get("uid") == "opencram-alert-us-embassy"
    assert al.find("detail/contact").get("callsign") == "US Embassy"
    assert al.find("detail/emergency").text == "US Embassy"
    assert al.find("detail/emergency").get("type") == "In Contact"
    assert al.get("type") != "b-a-o-tbl" and "911" not in m_text(al)
    lat, lon = float(al.find("point").get("lat")), float(al.find("point").get("lon"))
    assert 33.29689 < lat < 33.30111 and 44.39117 < lon < 44.40083  # inside the zone
    assert al.get("opex") == "s" and poly.get("opex") == "s"


def test_zone_updated_refreshes_the_polygon_and_the_alert_text():
    """Issue 15 point 5: the alert's text shows the current contributors and time to
    impact, so an update re-sends the alert (same uid: a TAK client replaces it)."""
    raised = cot.zone_alert_cot(alert("raised"), EMBASSY)
    up = ZoneAlert(
        t_s=18.0,
        zone="US Embassy",
        state="updated",
        probability=0.9,
        track_ids=[3, 5],
        time_to_impact_s=12.5,
    )
    msgs = cot.zone_alert_cot(up, EMBASSY)
    assert [parse(m).get("type") for m in msgs] == ["u-d-f", "b-a-o-opn"]
    alert_msg = parse(msgs[1])
    assert alert_msg.get("uid") == parse(raised[1]).get("uid")
    remarks = alert_msg.find("detail/remarks").text
    assert "tracks 3, 5" in remarks and "12.5 s" in remarks


def m_text(root: ET.Element) -> str:
    return ET.tostring(root, encoding="unicode")


def check_delete(root: ET.Element, target_uid: str, target_type: str) -> None:
    """A delete task as ATAK's CotDeleteImporter reads it (ATAK-CIV, atak/ATAK/app/src/main/
    java/com/atakmap/android/cotdelete/CotDeleteImporter.java and CotDeleteEventMarshal.java):
    type t-x-d-d; the first <link> of the detail has non-empty uid, relation and type; an
    <__forcedelete/> child removes the item at once."""
    assert root.get("type") == "t-x-d-d"
    assert root.get("uid") != target_uid  # the task has a uid of its own
    link = root.find("detail/link")
    assert link is not None
    assert link.get("uid") == target_uid and link.get("type") == target_type
    assert link.get("relation") == "none"
    assert root.find("detail/__forcedelete") is not None
    assert when(root.get("stale")) > when(root.get("time"))


def test_zone_cleared_deletes_polygon_and_cancels_alert():
    dele, can = (parse(m) for m in cot.zone_alert_cot(alert("cleared", t_s=40.0), EMBASSY))
    check_delete(dele, "opencram-zone-us-embassy", "u-d-f")
    assert dele.get("time") == "2021-12-19T00:00:40.000Z"
    lat, lon = float(dele.find("point").get("lat")), float(dele.find("point").get("lon"))
    assert 33.29689 < lat < 33.30111 and 44.39117 < lon < 44.40083
    assert can.get("type") == "b-a-o-can"
    assert can.get("uid") == "opencram-alert-us-embassy"  # the same uid as the 911 alert
    assert can.find("detail/emergency").get("cancel") == "true"


def test_zone_ring_already_closed_and_multi_part():
    closed = [*EMBASSY, EMBASSY[0]]
    (poly, _) = (parse(m) for m in cot.zone_alert_cot(alert(), closed))
    assert len(links(poly)) == len(EMBASSY) + 1
    other = [(33.31, 44.40), (33.31, 44.41), (33.30, 44.41)]
    msgs = [parse(m) for m in cot.zone_alert_cot(alert(), [EMBASSY, other])]
    assert [m.get("uid") for m in msgs] == [
        "opencram-zone-us-embassy",
        "opencram-zone-us-embassy-2",
        "opencram-alert-us-embassy",
    ]
    pts = links(msgs[1])
    assert len(pts) == 4 and pts[0] == pts[-1]
    cleared = [parse(m) for m in cot.zone_alert_cot(alert("cleared"), [EMBASSY, other])]
    check_delete(cleared[0], "opencram-zone-us-embassy", "u-d-f")
    check_delete(cleared[1], "opencram-zone-us-embassy-2", "u-d-f")
    assert cleared[2].get("type") == "b-a-o-can"


def test_slugs():
    assert cot.slug("US Embassy") == "us-embassy"
    assert cot.slug("Zawraa Park and east Mansour") == "zawraa-park-and-east-mansour"
    assert cot.slug("  --  ") == "zone"


# --- a whole event list -------------------------------------------------------------------


def test_events_to_cot_selects_in_order():
    events = [
        Launch(t_s=5.0, threat_id="r", threat_type="rocket-107mm", lat=33.25, lon=44.39, alt_m=34),
        track(t_s=10.0),
        impact(t_s=11.0),
        alert("raised", t_s=11.0),
        origin(t_s=12.0),
        TrackDropped(t_s=30.0, track_id=3, reason="landed"),
        Impact(t_s=32.0, threat_id="r", lat=33.3, lon=44.4, alt_m=34, speed_mps=200, zones=[]),
        alert("cleared", t_s=33.0),
    ]
    msgs = [parse(m) for m in cot.events_to_cot(events, {"US Embassy": EMBASSY})]
    assert [m.get("type") for m in msgs] == [
        "a-h-A-W",
        "u-d-c-c",
        "u-d-f",
        "b-a-o-opn",
        "u-d-c-c",
        "t-x-d-d",
        "b-a-o-can",
    ]
    times = [when(m.get("time")) for m in msgs]
    assert times == sorted(times)
    assert all(m.get("opex") is None for m in msgs)
    with pytest.raises(KeyError):
        cot.events_to_cot([alert(zone="Nowhere")], {"US Embassy": EMBASSY})


# --- the command line ---------------------------------------------------------------------


def hand_made_run(folder):
    """A run folder with hand-written events: what the predict and warn stages emit."""
    folder.mkdir()
    (folder / "scenario.yaml").write_text(builtin_text("green-zone"))
    shutil.copy(builtin_dir() / "green-zone-tigris.geojson", folder)  # its site layer
    events = [track(t_s=10.0), impact(t_s=10.0), alert("raised", t_s=10.0), origin(t_s=11.0)]
    (folder / "events.jsonl").write_text("".join(e.model_dump_json() + "\n" for e in events))
    return folder


def test_dry_run_prints_one_message_per_line(tmp_path, cli):
    folder = hand_made_run(tmp_path / "run")
    res = cli("tak", "send", str(folder), "--dry-run", "--epoch", "2022-01-01T00:00:00Z")
    assert res.returncode == 0, res.stderr
    lines = res.stdout.splitlines()
    roots = [parse(line.encode()) for line in lines]
    assert [r.get("type") for r in roots] == ["a-h-A-W", "u-d-c-c", "u-d-f", "b-a-o-opn", "u-d-c-c"]
    assert all(r.get("opex") == "s" for r in roots)  # a run folder is a simulation
    assert roots[0].get("time") == "2022-01-01T00:00:10.000Z"
    assert len(links(roots[2])) == len(EMBASSY) + 1


def test_cli_names_the_missing_file(tmp_path, cli):
    folder = hand_made_run(tmp_path / "run")
    (folder / "scenario.yaml").unlink()
    res = cli("tak", "send", str(folder), "--dry-run")
    assert res.returncode == 2
    assert res.stderr.strip().count("\n") == 0 and "scenario.yaml: file not found" in res.stderr
    res = cli("tak", "send", str(tmp_path / "nothing"), "--dry-run")
    assert res.returncode == 2 and "run folder not found" in res.stderr


def test_cli_bad_event_line_and_bad_epoch(tmp_path, cli):
    folder = hand_made_run(tmp_path / "run")
    with (folder / "events.jsonl").open("a") as fh:
        fh.write('{"t_s": 1.0, "kind": "track"}\n')
    res = cli("tak", "send", str(folder), "--dry-run")
    assert res.returncode == 2 and "events.jsonl:5:" in res.stderr
    assert "Traceback" not in res.stderr
    res = cli("tak", "send", str(folder), "--dry-run", "--epoch", "yesterday")
    assert res.returncode == 2 and "--epoch yesterday" in res.stderr


# --- delivery -----------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_send_cot_refused_is_a_user_error():
    port = free_port()  # nothing listens there now
    with pytest.raises(UserError, match=rf"--url tcp://127.0.0.1:{port}: connection refused"):
        send_cot([b"<event/>"], f"tcp://127.0.0.1:{port}", timeout_s=5)


@pytest.mark.parametrize("url", ["http://127.0.0.1:8087", "tcp://127.0.0.1", "tcp://:8087"])
def test_send_cot_bad_url(url):
    with pytest.raises(UserError, match="--url"):
        send_cot([b"<event/>"], url)


def test_send_cot_delivers_every_byte_in_order():
    msgs = [cot.track_cot(track(t_s=float(i), tid=i)) for i in range(200)]
    got = bytearray()
    with socket.socket() as srv:
        srv.bind(("127.0.0.1", 0))
        srv.listen(1)
        srv.settimeout(10)
        port = srv.getsockname()[1]

        def serve():
            conn, _ = srv.accept()
            with conn:
                conn.settimeout(10)
                while chunk := conn.recv(65536):
                    got.extend(chunk)

        th = threading.Thread(target=serve, daemon=True)
        th.start()
        send_cot(msgs, f"tcp://127.0.0.1:{port}", timeout_s=10)
        th.join(10)
    assert not th.is_alive()
    assert bytes(got) == b"".join(msgs)


def test_send_cot_udp_one_datagram_per_message():
    msgs = [cot.track_cot(track(t_s=float(i), tid=i)) for i in range(5)]
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as rx:
        rx.bind(("127.0.0.1", 0))
        rx.settimeout(5)
        send_cot(msgs, f"udp://127.0.0.1:{rx.getsockname()[1]}", timeout_s=5)
        got = [rx.recv(65536) for _ in msgs]
    assert got == msgs
