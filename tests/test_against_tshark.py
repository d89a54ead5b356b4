"""Our pcap recording decoded by tshark (Wireshark's command line; Debian's ``tshark``, which
``.ci/run`` installs): every packet is a UDP datagram to port 8600 holding CAT048, with
no malformed packet or other expert warning, and the items Wireshark reads equal ours."""

from __future__ import annotations

import shutil
import subprocess

import numpy as np
import pytest

from opencram.interop.asterix import (
    NM_M,
    decode_cat048,
    export_recording,
    read_recording,
    write_recording,
)
from opencram.sense.plots import Plots

TSHARK = shutil.which("tshark")
pytestmark = pytest.mark.skipif(
    TSHARK is None, reason="tshark is not installed (apt-get install tshark; .ci/run does)"
)

FIELDS = (
    "frame.number",
    "udp.dstport",
    "asterix.category",
    "asterix.048_010_SAC",
    "asterix.048_010_SIC",
    "asterix.048_140_VALUE",
    "asterix.048_040_RHO",
    "asterix.048_040_THETA",
    "_ws.expert",
    "_ws.malformed",
)


@pytest.fixture(scope="module")
def recording(tmp_path_factory):
    rng = np.random.default_rng(11)
    n = 150
    t = np.sort(rng.uniform(0, 40, n))
    plots = Plots(
        time_s=t,
        sensor=rng.integers(0, 3, n),
        range_m=rng.uniform(500, 15_000, n),
        az_rad=rng.uniform(0, 2 * np.pi, n),
        el_rad=rng.uniform(0.0, 0.8, n),
        range_rate_mps=rng.uniform(-300, 300, n),
        snr_db=rng.uniform(10, 40, n),
        arrival_s=t + 0.2,
        truth_id=np.full(n, -1),
    )
    path = tmp_path_factory.mktemp("tshark") / "plots.pcap"
    export_recording(path, plots, [34.0, 40.0, 50.0])
    return path


def _tshark_rows(path) -> list[list[str]]:
    cmd = [TSHARK, "-n", "-r", str(path), "-d", "udp.port==8600,asterix", "-T", "fields"]
    for f in FIELDS:
        cmd += ["-e", f]
    cmd += ["-E", "separator=\t", "-E", "occurrence=a", "-E", "aggregator=;"]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=True)
    return [line.split("\t") for line in out.stdout.splitlines()]


def test_tshark_decodes_every_packet_as_cat048_like_we_do(recording):
    ours = read_recording(recording)
    rows = _tshark_rows(recording)
    assert len(rows) == len(ours) > 20
    for row, (_, data) in zip(rows, ours, strict=True):
        got = dict(zip(FIELDS, row, strict=True))
        assert got["udp.dstport"] == "8600"
        assert got["_ws.expert"] == "" and got["_ws.malformed"] == "", got
        plots, problems = decode_cat048(data)
        assert not problems
        assert got["asterix.category"] == "48"
        assert [int(v, 0) for v in got["asterix.048_010_SAC"].split(";")] == plots.sac.tolist()
        assert [int(v, 0) for v in got["asterix.048_010_SIC"].split(";")] == plots.sic.tolist()
        tod = np.array(got["asterix.048_140_VALUE"].split(";"), float)
        assert np.allclose(tod, plots.tod_s, atol=1 / 128)
        rho = np.array(got["asterix.048_040_RHO"].split(";"), float)
        assert np.allclose(rho, plots.range_m / NM_M, atol=1 / 256)
        theta = np.array(got["asterix.048_040_THETA"].split(";"), float)
        assert np.allclose(theta, np.degrees(plots.az_rad), atol=360 / 2**16)


def _expert(path) -> list[str]:
    """tshark's expert information (malformed packets, warnings), one entry per packet."""
    cmd = [TSHARK, "-n", "-r", str(path), "-d", "udp.port==8600,asterix", "-T", "fields"]
    cmd += ["-e", "_ws.expert", "-e", "_ws.malformed", "-e", "_ws.expert.message"]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=True).stdout
    return [line.strip() for line in out.splitlines()]


def test_tshark_finds_no_expert_information(recording, tmp_path):
    info = _expert(recording)
    assert len(info) == len(read_recording(recording)) and not any(info)
    # and it does report a broken datagram: a data block whose LEN runs past its end
    bad = tmp_path / "bad.pcap"
    write_recording(bad, [(1_639_872_000.0, bytes([48, 0, 60, 0x80, 0, 1]))])
    assert "Malformed" in _expert(bad)[0]
