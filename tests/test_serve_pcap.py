"""``opencram serve --pcap`` and ``opencram replay`` on a capture with other traffic: a
simulated run's recording (``--export-asterix run.pcap``) mixed by scapy with datagrams to
other ports, TCP and ARP, as a pcapng file. The service takes the ASTERIX datagrams to port
8600, counts what it skipped, stops at the end of the capture and gives the same tracks as
the offline tracker (``opencram track``) on the same plots. No socket is opened for input."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from scapy.layers.inet import IP, TCP, UDP
from scapy.layers.l2 import ARP, Ether
from scapy.packet import Raw
from scapy.utils import PcapNgWriter, rdpcap
from typer.testing import CliRunner

from opencram.cli import app
from opencram.interop.asterix import load_recording
from opencram.live.ingest import Ingest
from opencram.live.pcapfeed import pacing
from opencram.sense.plots import read_sensors_yaml, write_plots_csv

OPENCRAM = [sys.executable, "-m", "opencram"]


@pytest.fixture(scope="module")
def capture(tmp_path_factory) -> tuple[Path, Path, Path]:
    """(the run folder, its recording, a pcapng of it with other traffic mixed in)."""
    folder = tmp_path_factory.mktemp("gz")
    rec = folder / "run.pcap"
    res = CliRunner().invoke(
        app, ["run", "green-zone", "--out", str(folder), "-q", "--export-asterix", str(rec)]
    )
    assert res.exit_code == 0, res.output
    mixed = folder / "mixed.pcapng"
    writer = PcapNgWriter(str(mixed))
    for i, pkt in enumerate(rdpcap(str(rec))):
        writer.write(pkt)
        if i % 10 == 0:
            for other in (
                Ether() / IP(dst="127.0.0.1") / UDP(dport=8602) / Raw(bytes(pkt[UDP].payload)),
                Ether() / IP(dst="127.0.0.1") / TCP(dport=8601) / Raw(b"1.0,x,1,2,3\n"),
                Ether() / ARP(pdst="127.0.0.1"),
            ):
                other.time = pkt.time
                writer.write(other)
    writer.close()
    return folder, rec, mixed


def _offline(sensors: Path, datagrams, tmp_path: Path) -> dict:
    specs = read_sensors_yaml(sensors)
    ingest = Ingest(specs)
    for _, d in datagrams:
        ingest.put_datagram(d)
    plots = ingest.drain(1e9).sorted_by("time_s")
    write_plots_csv(tmp_path / "decoded.csv", plots, [s.id for s in specs])
    out = tmp_path / "offline.json"
    res = CliRunner().invoke(
        app, ["track", str(tmp_path / "decoded.csv"), "--sensors", str(sensors), "--history",
              "--out", str(out)],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    return json.loads(out.read_text())


def test_serve_pcap_tracks_the_capture_like_the_offline_tracker(capture, tmp_path):
    folder, rec, mixed = capture
    ours = load_recording(rec)
    got = load_recording(mixed)
    assert got.format == "pcapng"
    assert [d for _, d in got.datagrams] == [d for _, d in ours.datagrams]
    assert max(abs(a[0] - b[0]) for a, b in zip(got.datagrams, ours.datagrams, strict=True)) < 2e-6
    n_other = len(ours.datagrams[::10])
    assert got.skipped == {"other_port": n_other, "not_udp": n_other, "not_ip": n_other}
    out = tmp_path / "live.json"
    run = subprocess.run(
        [*OPENCRAM, "serve", "--sensors", str(folder / "sensors.yaml"), "--zones", "green-zone",
         "--asterix-port", "-1", "--csv-port", "-1", "--ws-port", "-1", "--idle", "30",
         "--pcap", str(mixed), "--pcap-speed", "40", "--out", str(out)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    assert f"skipped {n_other} not ip, {n_other} not udp, {n_other} other port" in run.stderr
    assert "0 bad inputs, 0 inputs shed, dropped: none, 0 late plots" in run.stderr, run.stderr
    live = json.loads(out.read_text())
    offline = _offline(folder / "sensors.yaml", ours.datagrams, tmp_path)
    assert live["input"]["plots"] == offline["input"]["plots"] > 100
    assert len(live["tracks"]) == len(offline["tracks"]) >= 2
    for a, b in zip(live["tracks"], offline["tracks"], strict=True):
        assert (a["id"], a["class"], a["n_updates"]) == (b["id"], b["class"], b["n_updates"])


def test_serve_pcap_bad_file_is_one_line(tmp_path):
    bad = tmp_path / "x.pcap"
    bad.write_bytes(b"not a capture")
    sensors = tmp_path / "s.yaml"
    sensors.write_text(
        "sensors:\n  - {id: r, lat: 33.3, lon: 44.4, alt_m: 34, sigma_range_m: 10,\n"
        "     sigma_azimuth_mrad: 2, sigma_elevation_mrad: 2}\n"
    )
    run = subprocess.run(
        [*OPENCRAM, "serve", "--sensors", str(sensors), "--pcap", str(bad), "--asterix-port",
         "-1", "--csv-port", "-1", "--ws-port", "-1"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert run.returncode == 2
    assert run.stderr.strip().splitlines() == [
        f"error: {bad}: not an ASTERIX recording (neither a pcap or pcapng capture nor an "
        "opencram recording OCRAMAX1)"
    ]


def test_replay_sends_only_the_port_8600_datagrams(capture):
    _, rec, mixed = capture
    want = [d for _, d in load_recording(rec).datagrams]
    rx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    rx.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
    rx.bind(("127.0.0.1", 0))
    rx.settimeout(2.0)
    with rx:
        to = f"127.0.0.1:{rx.getsockname()[1]}"
        res = CliRunner().invoke(app, ["replay", str(mixed), "--to", to, "--speed", "1000"])
        assert res.exit_code == 0, res.output
        received = [rx.recv(70_000) for _ in want]
    assert received == want
    assert f"sent {len(want)} datagrams to {to}" in res.output


def test_pacing_follows_the_capture_and_never_steps_back():
    assert pacing([100.0, 100.5, 100.25, float("nan"), 102.0], 2.0) == [0, 0.25, 0.25, 0.25, 1.0]
