"""Our CoT feed checked against taky, an independent TAK server: what we send with
``send_cot`` (and ``send_run``, the path of ``opencram tak send``) must be accepted and
routed by taky to another connected client, valid when it arrives there (its ``stale``
after the arrival time), and a cleared zone must be deleted with ATAK's delete task
(``t-x-d-d`` with a ``<link>`` to the zone and ``<__forcedelete/>``; ATAK-CIV,
atak/ATAK/app/src/main/java/com/atakmap/android/cotdelete/CotDeleteImporter.java).

taky lives in its own virtual environment (``make tak-server-venv`` builds ``.venv-taky``),
because it pins an old Flask and needs ``setuptools<82``. All traffic stays on 127.0.0.1.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import ssl
import subprocess
import tempfile
import time
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from opencram.analysis.runfolder import execute
from opencram.c2.events import (
    Ellipse95,
    ImpactPredicted,
    OriginEstimated,
    TrackUpdated,
    ZoneAlert,
)
from opencram.interop.cot import events_to_cot
from opencram.interop.tak import Pacing, SystemClock, send_cot, send_run
from opencram.runs import RunFolder

ROOT = Path(__file__).resolve().parents[1]
TAKY = ROOT / ".venv-taky" / "bin" / "taky"
START_TIMEOUT_S = 20.0
RECEIVE_TIMEOUT_S = 15.0
# The green-zone run (about 120 s of data) is paced at this many times real time: ~3 s.
SPEED = 40.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def require_taky() -> None:
    """Skip (or, in CI, fail) when the taky environment is missing."""
    if not TAKY.exists():
        if os.environ.get("CI", "").lower() not in ("", "0", "false", "no"):
            pytest.fail(
                f"taky TAK server not installed at {TAKY}: CI must run 'make tak-server-venv' "
                "(see .ci/run) and it must succeed",
                pytrace=False,
            )
        pytest.skip("taky TAK server not installed: run make tak-server-venv")


@contextlib.contextmanager
def running_taky(work: Path, ssl_section: str = "enabled = false\n"):
    """taky on 127.0.0.1 at a free port, configured in ``work`` (a short folder: taky
    binds a unix management socket in its root_dir) with the given ``[ssl]`` section;
    yields the port and stops taky on exit."""
    port = free_port()
    conf = work / "taky.conf"
    conf.write_text(
        "[taky]\n"
        "bind_ip = 127.0.0.1\n"
        f"root_dir = {work}\n"
        "\n[cot_server]\n"
        f"port = {port}\n"
        "\n[dp_server]\n"
        f"upload_path = {work / 'dp-user'}\n"
        "\n[ssl]\n" + ssl_section
    )
    log_path = work / "taky.log"
    log = log_path.open("wb")
    proc = subprocess.Popen(
        [str(TAKY), "-c", str(conf), "-l", "info"],
        cwd=work,
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=subprocess.STDOUT,
    )

    def tail() -> str:
        log.flush()
        return log_path.read_text(errors="replace")[-2000:]

    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            if proc.poll() is not None:
                pytest.fail(f"taky exited with status {proc.returncode}:\n{tail()}")
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    pytest.fail(f"taky did not listen on port {port}:\n{tail()}")
                time.sleep(0.1)
        yield port
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)
        log.close()


@pytest.fixture(scope="module")
def taky_port():
    """A taky server on 127.0.0.1 at a free port, plain TCP, stopped at teardown."""
    require_taky()
    work = Path(tempfile.mkdtemp(prefix="taky-"))
    try:
        with running_taky(work) as port:
            yield port
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _stamp(dt: datetime) -> str:
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


def _parse_stamp(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)


class CotListener:
    """A TCP (or TLS) client of the TAK server that collects the CoT events routed to it."""

    def __init__(self, port: int, tls: ssl.SSLContext | None = None) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        if tls is not None:  # a TLS client of a taky with [ssl] enabled
            self.sock = tls.wrap_socket(self.sock, server_hostname="127.0.0.1")
        self.parser = ET.XMLPullParser(events=("start", "end"))
        self.parser.feed("<stream>")  # the events arrive back to back, without a root
        self.depth = 0
        self.events: list[ET.Element] = []
        self.arrived: list[datetime] = []  # wall clock when each event was read

    def close(self) -> None:
        self.sock.close()

    def _pump(self, deadline: float) -> bool:
        """Read what has arrived (waiting at most until ``deadline``); False at end of stream."""
        self.sock.settimeout(max(0.05, min(0.5, deadline - time.monotonic())))
        try:
            chunk = self.sock.recv(65536)
        except (TimeoutError, ssl.SSLWantReadError):
            return True
        if not chunk:
            return False
        self.parser.feed(chunk)
        for kind, el in self.parser.read_events():
            if kind == "start":
                self.depth += 1
            else:
                self.depth -= 1
                if self.depth == 1 and el.tag == "event":
                    self.events.append(el)
                    self.arrived.append(datetime.now(UTC))
        return True

    def wait_for(self, done, timeout_s: float) -> bool:
        """Collect events until ``done(events)`` holds or the time is up."""
        deadline = time.monotonic() + timeout_s
        while not done(self.events):
            if time.monotonic() > deadline or not self._pump(deadline):
                return done(self.events)
        return True

    def ping(self, timeout_s: float = 5.0) -> None:
        """TAK ping/pong: once taky answers, it has registered this client for routing."""
        now = datetime.now(UTC)
        ping = ET.Element(
            "event",
            {
                "version": "2.0",
                "uid": "opencram-test-listener-ping",
                "type": "t-x-c-t",
                "how": "m-g",
                "time": _stamp(now),
                "start": _stamp(now),
                "stale": _stamp(now + timedelta(seconds=20)),
            },
        )
        ET.SubElement(
            ping, "point", {"lat": "0", "lon": "0", "hae": "0", "ce": "9999999", "le": "9999999"}
        )
        ET.SubElement(ping, "detail")
        self.sock.sendall(ET.tostring(ping))
        got = self.wait_for(lambda evs: any(e.get("type") == "t-x-c-t-r" for e in evs), timeout_s)
        assert got, "taky did not answer the listener's ping"
        self.events.clear()
        self.arrived.clear()

    def check_not_stale_on_arrival(self) -> None:
        """Every event received is valid on arrival: ``time`` no later than a second after
        arrival and ``stale`` after it (CoT 2.0: valid from ``start`` to ``stale``)."""
        assert len(self.arrived) == len(self.events)
        for ev, at in zip(self.events, self.arrived, strict=True):
            t, stale = _parse_stamp(ev.get("time")), _parse_stamp(ev.get("stale"))
            assert t <= at + timedelta(seconds=1), (ev.get("uid"), ev.get("time"), at)
            assert stale > at, (ev.get("uid"), ev.get("type"), ev.get("stale"), at)


@pytest.fixture
def listener(taky_port):
    lst = CotListener(taky_port)
    try:
        lst.ping()
        yield lst
    finally:
        lst.close()


def by_type(events: list[ET.Element], cot_type: str) -> list[ET.Element]:
    return [e for e in events if e.get("type") == cot_type]


def test_green_zone_feed_is_routed_by_taky(tmp_path, taky_port, listener):
    """The run folder sent as ``opencram tak send`` does (paced at SPEED times real time,
    stamped from the wall clock): all of it routed, in order, nothing stale on arrival, and
    the cleared zones deleted."""
    res = execute("green-zone", tmp_path / "gz", on_progress=None)
    run = RunFolder.open(res.folder)
    events = run.events()
    hostile_tracks = {
        e.track_id
        for e in events
        if isinstance(e, TrackUpdated) and e.track_class not in ("aircraft", "friendly")
    }
    assert hostile_tracks, "the green-zone run has no hostile track"

    messages = send_run(res.folder, f"tcp://127.0.0.1:{taky_port}", Pacing(speed=SPEED))
    sent = [ET.fromstring(m) for m in messages]
    sent_keys = {(m.get("uid"), m.get("type"), m.get("time")) for m in sent}

    def all_arrived(got: list[ET.Element]) -> bool:
        return sent_keys <= {(e.get("uid"), e.get("type"), e.get("time")) for e in got}

    listener.wait_for(all_arrived, RECEIVE_TIMEOUT_S)
    got = listener.events

    # every message went through, each once, in the order sent
    got_keys = [(e.get("uid"), e.get("type"), e.get("time")) for e in got]
    sent_list = [(m.get("uid"), m.get("type"), m.get("time")) for m in sent]
    assert got_keys == sent_list

    _check_hostile_tracks(got, hostile_tracks)
    # the green-zone run predicts impacts and origins and raises and clears alerts
    impacts = [e for e in events if isinstance(e, ImpactPredicted)]
    assert impacts and [e for e in events if isinstance(e, OriginEstimated)]
    assert {"raised", "cleared"} <= {e.state for e in events if isinstance(e, ZoneAlert)}
    _check_ellipses(got, events)
    _check_alerts(got, [e for e in events if isinstance(e, ZoneAlert)])
    listener.check_not_stale_on_arrival()


def _check_hostile_tracks(got: list[ET.Element], hostile_tracks: set[int]) -> None:
    """Hostile track points near Baghdad, one uid per hostile track; friendly points
    (``a-f-A``) only for tracks identified as friendly (heli-1's), never a hostile one."""
    tracks = by_type(got, "a-h-A-W")
    assert {int(e.get("uid").rsplit("-", 1)[1]) for e in tracks} == hostile_tracks
    for e in tracks:
        assert e.get("uid").startswith("opencram-track-")
        assert e.get("how") == "m-p"
        pt = e.find("point")
        assert 33.2 <= float(pt.get("lat")) <= 33.4 and 44.3 <= float(pt.get("lon")) <= 44.5
        tr = e.find("detail/track")
        assert 0 <= float(tr.get("course")) < 360 and float(tr.get("speed")) > 0
    friendly = [e for e in got if e.get("type", "").startswith("a-f")]
    assert {e.get("type") for e in friendly} <= {"a-f-A"}
    assert not {int(e.get("uid").rsplit("-", 1)[1]) for e in friendly} & hostile_tracks


def _check_ellipses(got: list[ET.Element], events) -> None:
    """An impact ellipse per track with an impact prediction, an origin ellipse per track
    with an origin estimate."""
    impacts = [e for e in events if isinstance(e, ImpactPredicted)]
    if impacts:
        ellipses = [e for e in by_type(got, "u-d-c-c") if "-impact-" in e.get("uid")]
        assert {e.get("uid") for e in ellipses} == {
            f"opencram-impact-{e.track_id}" for e in impacts
        }
        for e in ellipses:
            ell = e.find("detail/shape/ellipse")
            assert float(ell.get("major")) >= float(ell.get("minor")) > 0
    origins = [e for e in events if isinstance(e, OriginEstimated)]
    if origins:
        ellipses = [e for e in by_type(got, "u-d-c-c") if "-origin-" in e.get("uid")]
        assert {e.get("uid") for e in ellipses} == {
            f"opencram-origin-{e.track_id}" for e in origins
        }


def _check_alerts(got: list[ET.Element], alerts: list[ZoneAlert]) -> None:
    """Zone polygons for live alerts, an alarm per raised alert, a cancel per cleared one."""
    live = [a for a in alerts if a.state != "cleared"]
    if live:
        polygons = by_type(got, "u-d-f")
        names = {p.find("detail/contact").get("callsign") for p in polygons}
        assert {a.zone for a in live} <= names
        for p in polygons:
            pts = [link.get("point") for link in p.findall("detail/link")]
            assert len(pts) >= 4 and pts[0] == pts[-1]
    raised = [a for a in alerts if a.state == "raised"]
    if raised:
        opn = by_type(got, "b-a-o-opn")
        assert {e.find("detail/contact").get("callsign") for e in opn} == {a.zone for a in raised}
        assert {e.find("detail/emergency").text for e in opn} == {a.zone for a in raised}
        assert {e.find("detail/emergency").get("type") for e in opn} == {"In Contact"}
    assert not by_type(got, "b-a-o-tbl")  # never a friendly's 911 alert
    cleared = [a for a in alerts if a.state == "cleared"]
    if cleared:
        can = by_type(got, "b-a-o-can")
        assert {e.find("detail/contact").get("callsign") for e in can} == {a.zone for a in cleared}
        deleted = {_deleted_uid(e) for e in by_type(got, "t-x-d-d")}
        zone_uids = {
            p.get("uid")
            for p in by_type(got, "u-d-f")
            if p.find("detail/contact").get("callsign") in {a.zone for a in cleared}
        }
        assert zone_uids and zone_uids <= deleted


def _deleted_uid(ev: ET.Element) -> str:
    """The uid a delete task removes, read as ATAK's CotDeleteImporter does: the first
    <link>'s uid, with relation and type present, and <__forcedelete/> for removal."""
    link = ev.find("detail/link")
    assert link is not None and link.get("relation") and link.get("type") == "u-d-f"
    assert ev.find("detail/__forcedelete") is not None
    return link.get("uid")


def test_hand_made_alerts_are_routed_by_taky(taky_port, listener):
    """The predict and warn paths through taky even when a run emits none of them."""
    ring = [(33.30111, 44.39117), (33.30111, 44.40083), (33.29689, 44.40083), (33.29689, 44.39117)]
    ell = Ellipse95(semi_major_m=120.0, semi_minor_m=45.0, orientation_deg=12.0)
    events = [
        ImpactPredicted(
            t_s=14.0,
            track_id=7,
            track_class="rocket",
            impact_time_s=35.0,
            time_to_impact_s=21.0,
            lat=33.2991,
            lon=44.3962,
            alt_m=34.0,
            ellipse95=ell,
            cov_en_m2=(400.0, 50.0, 2500.0),
        ),
        ZoneAlert(
            t_s=14.0,
            zone="US Embassy",
            state="raised",
            probability=0.9,
            track_ids=[7],
            time_to_impact_s=21.0,
        ),
        OriginEstimated(
            t_s=15.0,
            track_id=7,
            track_class="rocket",
            launch_time_s=5.0,
            lat=33.2514,
            lon=44.3919,
            alt_m=34.0,
            ellipse95=ell,
        ),
        ZoneAlert(t_s=36.0, zone="US Embassy", state="cleared", probability=0.0, track_ids=[7]),
    ]
    now = SystemClock().now  # stamped from the wall clock, as the live service does
    messages = events_to_cot(events, {"US Embassy": ring}, clock=now, simulated=True)
    send_cot(messages, f"tcp://127.0.0.1:{taky_port}", timeout_s=10)
    want = ["u-d-c-c", "u-d-f", "b-a-o-opn", "u-d-c-c", "t-x-d-d", "b-a-o-can"]
    listener.wait_for(lambda evs: len(evs) >= len(want), RECEIVE_TIMEOUT_S)
    got = listener.events
    assert [e.get("type") for e in got] == want
    assert [e.get("uid") for e in got] == [
        "opencram-impact-7",
        "opencram-zone-us-embassy",
        "opencram-alert-us-embassy",
        "opencram-origin-7",
        "opencram-zone-us-embassy-delete",
        "opencram-alert-us-embassy",
    ]
    assert _deleted_uid(got[4]) == "opencram-zone-us-embassy"  # the zone is deleted
    listener.check_not_stale_on_arrival()
    assert got[2].find("detail/contact").get("callsign") == "US Embassy"
    assert got[2].find("detail/emergency").text == "US Embassy"
    ell_el = got[0].find("detail/shape/ellipse")
    assert float(ell_el.get("major")) == pytest.approx(240.0)  # full axis: 2 x semi-major
    links = [link.get("point") for link in got[1].findall("detail/link")]
    assert len(links) == 5 and links[0] == links[-1]
