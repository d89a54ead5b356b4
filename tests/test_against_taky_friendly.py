"""Friendly positions from a real TAK server (issue 15, point 4): ``opencram serve
--friendly-from-tak`` reads the ``a-f-A`` events that taky routes to its ``--cot``
connection, and a track that passes within the gate of one is friendly: it goes out as
``a-f-A`` (friendly air, MIL-STD-2525 affiliation f), while a track far from every report
stays unknown air (``a-u-A``). taky is the independent server (tests/test_against_taky.py
starts it); the plots are a synthetic level flight fed as plot CSV lines. All traffic
stays on 127.0.0.1."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import threading
import time
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from opencram.geo import LocalFrame
from test_against_taky import CotListener, _stamp, require_taky, running_taky

SITE = (33.30, 44.39, 40.0)
SCAN_S = 1.0
N_SCANS = 40
WALL_PER_SCAN_S = 0.15  # the plots are sent at about 7 times real time
SPEED_MPS = 50.0
HEIGHT_M = 200.0


def _sensors(path) -> None:
    path.write_text(
        "sensors:\n"
        f"  - {{id: r1, lat: {SITE[0]}, lon: {SITE[1]}, alt_m: {SITE[2]}, sigma_range_m: 5,\n"
        "      sigma_azimuth_mrad: 1, sigma_elevation_mrad: 1, scan_s: 1}\n"
    )


def _plot_lines(rng: np.random.Generator) -> list[list[str]]:
    """Per scan, the CSV lines of two level flights eastwards at 50 m/s, 200 m up: the
    friendly one 2 km south of the radar, the other 2 km north (no report near it)."""
    out = []
    for k in range(N_SCANS):
        t = k * SCAN_S
        lines = []
        for north in (-2000.0, 2000.0):
            e, n, u = -1000.0 + SPEED_MPS * t, north, HEIGHT_M
            r = float(np.sqrt(e * e + n * n + u * u)) + rng.normal(0, 5)
            az = float(np.degrees(np.arctan2(e, n)) % 360) + rng.normal(0, 0.05)
            el = float(np.degrees(np.arcsin(u / r))) + rng.normal(0, 0.05)
            lines.append(f"{t + 0.1:.3f},r1,{r:.2f},{az % 360:.5f},{el:.5f}")
        out.append(lines)
    return out


def _friendly_feeder(port: int, frame: LocalFrame, stop: threading.Event) -> None:
    """A friendly aircraft's own TAK client: its position (the middle of the southern
    flight's path) as a-f-A-M-H every 0.2 s."""
    import socket

    lat, lon, hae = frame.to_geodetic(np.array([0.0, -2000.0, HEIGHT_M]))
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        while not stop.is_set():
            now = datetime.now(UTC)
            ev = ET.Element(
                "event",
                {"version": "2.0", "uid": "blue-heli-1", "type": "a-f-A-M-H", "how": "m-g",
                 "time": _stamp(now), "start": _stamp(now),
                 "stale": _stamp(now + timedelta(seconds=30))},
            )  # fmt: skip
            ET.SubElement(
                ev, "point",
                {"lat": f"{float(lat):.7f}", "lon": f"{float(lon):.7f}",
                 "hae": f"{float(hae):.1f}", "ce": "10", "le": "10"},
            )  # fmt: skip
            ET.SubElement(ev, "detail")
            sock.sendall(ET.tostring(ev))
            time.sleep(0.2)


@pytest.fixture
def taky_port():
    """taky on 127.0.0.1 at a free port, plain TCP (tests/test_against_taky.py)."""
    require_taky()
    work = Path(tempfile.mkdtemp(prefix="taky-"))
    try:
        with running_taky(work) as port:
            yield port
    finally:
        shutil.rmtree(work, ignore_errors=True)


def test_a_track_at_a_friendly_position_from_taky_is_friendly(tmp_path, taky_port):
    sensors = tmp_path / "sensors.yaml"
    _sensors(sensors)
    frame = LocalFrame(*SITE)
    listener = CotListener(taky_port)
    listener.ping()
    stop = threading.Event()
    feeder = threading.Thread(target=_friendly_feeder, args=(taky_port, frame, stop))
    feeder.start()
    proc = subprocess.Popen(
        [sys.executable, "-m", "opencram", "serve", "--sensors", str(sensors), "--stdin",
         "--asterix-port", "-1", "--csv-port", "-1", "--ws-port", "-1", "--idle", "30",
         "--cot", f"tcp://127.0.0.1:{taky_port}", "--friendly-from-tak",
         "--friendly-gate-m", "800", "--friendly-gate-s", "10"],
        stdin=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        while "ready:" not in (line := proc.stderr.readline()):
            assert line or proc.poll() is None, "serve exited"
        proc.stdin.write("time_s,sensor,range_m,azimuth_deg,elevation_deg\n")
        for lines in _plot_lines(np.random.default_rng(3)):
            proc.stdin.write("\n".join(lines) + "\n")
            proc.stdin.flush()
            time.sleep(WALL_PER_SCAN_S)
        time.sleep(1.0)
        listener.wait_for(lambda evs: False, 2.0)
    finally:
        stop.set()
        feeder.join(10)
        if proc.poll() is None:
            proc.stdin.close()
            proc.terminate()
        proc.wait(30)
        listener.close()
    ours = [e for e in listener.events if e.get("uid", "").startswith("opencram-track-")]
    assert ours, "no track reached taky"
    types: dict[str, list[str]] = {}
    north: dict[str, float] = {}
    for e in ours:
        types.setdefault(e.get("uid"), []).append(e.get("type"))
        lat = float(e.find("point").get("lat"))
        north[e.get("uid")] = (lat - SITE[0]) * 111_000.0
    south_uid = [u for u, n in north.items() if n < -1000.0]
    north_uid = [u for u, n in north.items() if n > 1000.0]
    assert len(south_uid) == 1 and len(north_uid) == 1, north
    # the track beside the friendly's reported position: friendly air once a report has
    # arrived, and never a hostile symbol
    got = types[south_uid[0]]
    assert "a-f-A" in got and "a-h-A-W" not in got, got
    assert got[-1] == "a-f-A"
    assert got[got.index("a-f-A") :] == ["a-f-A"] * (len(got) - got.index("a-f-A"))  # kept
    # the other, 4 km from it: unknown air (a slow level track without a threat)
    assert set(types[north_uid[0]]) == {"a-u-A"}, types[north_uid[0]]
