"""``opencram serve`` end to end over loopback: a simulated run's plots exported as an
ASTERIX CAT048 recording (``opencram run --export-asterix``) and replayed over UDP give the
same tracks as the offline tracker (``opencram track``) on the same plots; CAT062, CoT and
websocket output arrive; the plot CSV read from standard input gives exactly the tracks of
``opencram track`` on that file. All traffic stays on 127.0.0.1."""

from __future__ import annotations

import asyncio
import json
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner
from websockets.asyncio.client import connect

from opencram.analysis.offline import track_files
from opencram.cli import app
from opencram.cli.replay import send_recording
from opencram.interop.asterix import decode_cat062, read_recording
from opencram.live.ingest import Ingest
from opencram.sense.plots import read_sensors_yaml, write_plots_csv

OPENCRAM = [sys.executable, "-m", "opencram"]


def _start(args: list[str]) -> tuple[subprocess.Popen, dict[str, str]]:
    proc = subprocess.Popen(
        [*OPENCRAM, "serve", *args],
        stdin=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    line = ""
    deadline = time.monotonic() + 60
    while "ready:" not in line:
        line = proc.stderr.readline()
        if not line and proc.poll() is not None:
            raise AssertionError(f"serve exited {proc.returncode}")
        assert time.monotonic() < deadline, "serve did not start"
    addrs = dict(re.findall(r"(\w+) (?:udp|tcp|ws)://([\d.:]+)", line))
    return proc, addrs


def _listen_udp() -> socket.socket:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    # room for the whole replay's output even if this thread is starved for a while
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
    s.bind(("127.0.0.1", 0))
    s.settimeout(0.05)
    return s


def _drain(sock: socket.socket, sink: list, stop: threading.Event) -> None:
    while not stop.is_set():
        try:
            sink.append(sock.recvfrom(70_000)[0])
        except TimeoutError:
            continue


def _ws_collect(url: str, sink: list, stop: threading.Event) -> None:
    async def go():
        async with connect(url) as ws:
            while not stop.is_set():
                try:
                    sink.append(json.loads(await asyncio.wait_for(ws.recv(), 0.2)))
                except TimeoutError:
                    continue
                except Exception:  # the server closed at shutdown
                    return

    asyncio.run(go())


def test_replay_over_udp_gives_the_offline_tracks(green_zone_recording, tmp_path):
    entries = read_recording(green_zone_recording / "p.ast")
    assert entries and all(d[0] == 48 for _, d in entries)
    started = datetime.now(UTC) - timedelta(seconds=1)
    live, got062, gotcot, events = _replay(green_zone_recording / "sensors.yaml", entries, tmp_path)
    ended = datetime.now(UTC) + timedelta(seconds=1)
    offline = _offline_tracks(green_zone_recording / "sensors.yaml", entries, tmp_path)
    _assert_same_tracks(live, offline)
    _check_cat062(got062, live)
    # CoT (alerts and ellipses) and websocket events
    cot = b"".join(gotcot)
    assert b'type="b-a-o-opn"' in cot  # a zone alert raised ("In Contact")
    # stamped from the wall clock at emission, not from the data's time of day: every
    # message was valid when it was sent and is stale only after that (issue 15 point 2)
    for msg in gotcot:
        root = ET.fromstring(msg)
        sent = _cot_time(root.get("time"))
        assert started <= sent <= ended, root.get("time")
        assert _cot_time(root.get("stale")) > sent
        assert root.find("detail/opencram").get("data_time_s") is not None
    assert b'type="u-d-c-c"' in cot  # an impact ellipse
    kinds = {e["kind"] for e in events}
    # (engagement advice depends on how often the service steps against the 25x replay;
    # it is checked on data time in tests/test_serve_ingest.py)
    assert {"track", "impact_predicted", "respond", "zone_alert"} <= kinds
    assert any(e["kind"] == "ingest_stats" for e in events)


def _cot_time(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)


def _replay(sensors: Path, entries, tmp_path: Path):
    """Replay the recording at 25x into ``opencram serve``; its output file (as JSON) and
    what arrived as CAT062 datagrams, CoT datagrams and websocket events."""
    cat062_rx, cot_rx = _listen_udp(), _listen_udp()
    got062: list[bytes] = []
    gotcot: list[bytes] = []
    events: list[dict] = []
    stop = threading.Event()
    out = tmp_path / "live.json"
    proc, addrs = _start(
        [
            "--sensors", str(sensors), "--zones", "green-zone",
            "--asterix-port", "0", "--csv-port", "0", "--ws-port", "0",
            "--cat062", f"127.0.0.1:{cat062_rx.getsockname()[1]}",
            "--cot", f"udp://127.0.0.1:{cot_rx.getsockname()[1]}",
            "--out", str(out), "--idle", "30", "--simulated",
        ]
    )  # fmt: skip
    threads = [
        threading.Thread(target=_drain, args=(cat062_rx, got062, stop)),
        threading.Thread(target=_drain, args=(cot_rx, gotcot, stop)),
        threading.Thread(target=_ws_collect, args=(f"ws://{addrs['websocket']}", events, stop)),
    ]
    try:
        for t in threads:
            t.start()
        time.sleep(0.3)  # the websocket client connects
        host, port = addrs["asterix"].rsplit(":", 1)
        send_recording(entries, (host, int(port)), speed=25.0)
        time.sleep(0.5)
        proc.send_signal(signal.SIGINT)
        assert proc.wait(60) == 0
        err = proc.stderr.read()
        time.sleep(0.3)
    finally:
        stop.set()
        if proc.poll() is None:
            proc.kill()
        for t in threads:
            t.join(10)
    assert "0 bad inputs, 0 inputs shed, dropped: none, 0 late plots" in err, err
    assert re.search(r"stopped; \d+ datagrams, \d+ lines, ", err), err
    return json.loads(out.read_text()), got062, gotcot, events


def _offline_tracks(sensors: Path, entries, tmp_path: Path) -> dict:
    """The offline tracker on the same (decoded) plots, through ``opencram track``."""
    specs = read_sensors_yaml(sensors)
    ingest = Ingest(specs)
    for _, d in entries:
        ingest.put_datagram(d)
    plots = ingest.drain(1e9).sorted_by("time_s")
    write_plots_csv(tmp_path / "decoded.csv", plots, [s.id for s in specs])
    res = CliRunner().invoke(
        app,
        ["track", str(tmp_path / "decoded.csv"), "--sensors", str(sensors), "--history",
         "--out", str(tmp_path / "offline.json")],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    return json.loads((tmp_path / "offline.json").read_text())


def _assert_same_tracks(live: dict, offline: dict) -> None:
    assert len(live["tracks"]) == len(offline["tracks"]) >= 2
    for a, b in zip(live["tracks"], offline["tracks"], strict=True):
        assert (a["id"], a["class"], a["n_updates"]) == (b["id"], b["class"], b["n_updates"])
        for ua, ub in zip(a["updates"], b["updates"], strict=True):
            assert (ua["sensor"], ua["confirmed"]) == (ub["sensor"], ub["confirmed"])
            # the CSV keeps 6 decimals of the decoded plots; outputs are rounded to mm
            assert ua["time_s"] == pytest.approx(ub["time_s"], abs=2e-6)
            assert ua["alt_m"] == pytest.approx(ub["alt_m"], abs=0.02)
            assert ua["lat"] == pytest.approx(ub["lat"], abs=2e-7)
            assert ua["lon"] == pytest.approx(ub["lon"], abs=2e-7)


def _check_cat062(got062: list[bytes], live: dict) -> None:
    """Every confirmed track published; the last record of each is its last update."""
    recs = [r for d in got062 for r in decode_cat062(d)[0]]
    by_track: dict[int, dict] = {}
    for r in recs:
        by_track[r["track_number"]] = r
    assert set(by_track) == {t["id"] for t in live["tracks"]}
    for t in live["tracks"]:
        last = t["updates"][-1]
        r = by_track[t["id"]]
        assert r["tod_s"] == pytest.approx(last["time_s"], abs=0.5 / 128 + 1e-6)
        assert r["lat"] == pytest.approx(last["lat"], abs=1e-5)
        assert r["simulated"]


def test_stdin_csv_gives_exactly_the_offline_tracks(green_zone_recording, tmp_path):
    sensors = green_zone_recording / "sensors.yaml"
    out = tmp_path / "live.json"
    proc = subprocess.run(
        [*OPENCRAM, "serve", "--sensors", str(sensors), "--stdin", "--asterix-port", "-1",
         "--csv-port", "-1", "--ws-port", "-1", "--out", str(out), "--idle", "30"],
        input=(green_zone_recording / "plots.csv").read_bytes(),
        capture_output=True,
        timeout=120,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr.decode()
    offline = track_files(
        green_zone_recording / "plots.csv", sensors, tmp_path / "off.json", history=True
    ).output
    assert json.loads(out.read_text())["tracks"] == offline["tracks"]


def test_serve_user_errors_are_one_line(tmp_path):
    res = CliRunner().invoke(app, ["serve", "--sensors", str(tmp_path / "nope.yaml")])
    assert res.exit_code != 0
    assert isinstance(res.exception, Exception)
    proc = subprocess.run(
        [*OPENCRAM, "serve", "--sensors", str(tmp_path / "nope.yaml")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [f"error: {tmp_path / 'nope.yaml'}: file not found"]
