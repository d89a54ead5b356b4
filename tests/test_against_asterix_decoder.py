"""Our CAT048 and CAT062 output read by an independent decoder: the ``asterix-decoder``
package (Croatia Control's C++ decoder, CAT048 edition 1.21 and CAT062 1.18 in its
configuration). It imports as ``asterix`` like libasterix, so it runs in its own virtual
environment (``make asterix-decoder-venv`` builds ``.venv-asterix``) in a subprocess.

Locally the test skips when that environment is missing; in CI (CI=true) it must run."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import numpy as np
import pytest

from opencram.interop.asterix import FT_M, NM_M, SystemTracks, encode_cat048, encode_cat062

ROOT = Path(__file__).resolve().parents[1]
DECODER_PY = ROOT / ".venv-asterix" / "bin" / "python"
IN_CI = os.environ.get("CI", "").lower() not in ("", "0", "false")

_SCRIPT = (
    "import asterix, json, sys\n"
    "print(json.dumps(asterix.parse(sys.stdin.buffer.read()), default=str))\n"
)


def _decode(data: bytes) -> list[dict]:
    if not DECODER_PY.exists():
        if IN_CI:
            pytest.fail(f"{DECODER_PY} missing in CI: run 'make asterix-decoder-venv'")
        pytest.skip(f"{DECODER_PY} missing: run 'make asterix-decoder-venv' to build it")
    res = subprocess.run(
        [str(DECODER_PY), "-c", _SCRIPT], input=data, capture_output=True, timeout=60, check=True
    )
    return json.loads(res.stdout)


def _val(rec: dict, item: str, *path: str):
    v = rec[item]
    for p in path:
        v = v[p]
    return v["val"]


def test_cat048_read_by_asterix_decoder():
    tod = [3600.5, 3601.25, 86_399.0]
    rng_m = [4831.047, 9000.0, 500.0]
    az = np.radians([182.526518, 10.0, 359.9])
    height = [140.0, 1200.0, 34.0]
    blocks = encode_cat048(
        sac=5,
        sic=2,
        tod_s=tod,
        range_m=rng_m,
        az_rad=az,
        height_m=height,
        range_rate_mps=[-312.45, 20.0, np.nan],
        snr_db=[26.46, 13.0, np.nan],
        simulated=True,
        mode3a=[-1, 0o1234, -1],
        flight_level=[np.nan, 35.5, np.nan],
        address=[-1, 0xABCDEF, -1],
        track_number=[-1, 77, -1],
        ground_speed_mps=[np.nan, 92.6, np.nan],
        heading_rad=[np.nan, np.pi / 2, np.nan],
    )
    recs = _decode(b"".join(blocks))
    assert [r["category"] for r in recs] == [48, 48, 48]
    for i, r in enumerate(recs):
        assert _val(r, "I010", "SAC") == 5 and _val(r, "I010", "SIC") == 2
        assert _val(r, "I140", "ToD") == pytest.approx(tod[i], abs=0.5 / 128)
        # single PSR detection; PSR + SSR for the plot with a Mode 3/A code
        assert _val(r, "I020", "TYP") == (3 if i == 1 else 1)
        assert _val(r, "I020", "SIM") == 1
        assert _val(r, "I040", "RHO") * NM_M == pytest.approx(rng_m[i], abs=NM_M / 512)
        assert _val(r, "I040", "THETA") == pytest.approx(np.degrees(az[i]), abs=360 / 2**17)
        assert _val(r, "I110", "3D_Height") * FT_M == pytest.approx(height[i], abs=12.5 * FT_M)
    r0, r1, r2 = recs
    assert _val(r0, "I120", "CAL", "CAL") == -312
    assert _val(r0, "I120", "CAL", "D") == 0  # valid
    assert _val(r0, "I130", "PAMP", "PAM") == 26
    assert _val(r1, "I120", "CAL", "CAL") == 20
    assert _val(r1, "I070", "Mode3A") == "1234"
    assert _val(r1, "I090", "FL") == 35.5
    assert _val(r1, "I220", "ACAddr") == "ABCDEF"
    assert _val(r1, "I161", "Tn") == 77
    assert _val(r1, "I200", "CGS") * NM_M / 3600 == pytest.approx(92.6, abs=0.12)
    assert _val(r1, "I200", "CHdg") == pytest.approx(90.0, abs=0.01)
    # a primary-only plot without Doppler or SNR carries neither item, nor SSR items
    for item in ("I120", "I130", "I070", "I090", "I220", "I161", "I200"):
        assert item not in r2


def test_cat062_read_by_asterix_decoder():
    tracks = SystemTracks(
        track_number=np.array([42, 43]),
        tod_s=np.array([3600.5, 3601.0]),
        lat_deg=np.array([33.3, 33.31]),
        lon_deg=np.array([44.4, 44.41]),
        pos_en_m=np.array([[1000.5, -2000.0], [-6452.3, 51.2]]),
        vel_enu_mps=np.array([[100.25, -50.0, -3.0], [-50.5, -22.25, 120.0]]),
        alt_m=np.array([376.0, 1500.0]),
        confirmed=np.array([True, True]),
        first=np.array([True, False]),
        last=np.array([False, True]),
        track_age_s=np.array([0.0, 20.5]),
        psr_age_s=np.array([0.25, 1.5]),
        simulated=True,
        multisensor=True,
    )
    recs = _decode(b"".join(encode_cat062(tracks, sac=0, sic=200, service_id=3)))
    assert [r["category"] for r in recs] == [62, 62]
    for i, r in enumerate(recs):
        assert (_val(r, "I010", "SAC"), _val(r, "I010", "SIC")) == (0, 200)
        assert _val(r, "I015", "SID") == 3
        assert _val(r, "I040", "TrkN") == tracks.track_number[i]
        assert _val(r, "I070", "ToT") == pytest.approx(tracks.tod_s[i], abs=0.5 / 128)
        assert _val(r, "I105", "Lat") == pytest.approx(tracks.lat_deg[i], abs=180 / 2**25)
        assert _val(r, "I105", "Lon") == pytest.approx(tracks.lon_deg[i], abs=180 / 2**25)
        assert _val(r, "I100", "X") == pytest.approx(tracks.pos_en_m[i, 0], abs=0.25)
        assert _val(r, "I100", "Y") == pytest.approx(tracks.pos_en_m[i, 1], abs=0.25)
        assert _val(r, "I185", "Vx") == pytest.approx(tracks.vel_enu_mps[i, 0], abs=0.125)
        assert _val(r, "I185", "Vy") == pytest.approx(tracks.vel_enu_mps[i, 1], abs=0.125)
        assert _val(r, "I130", "Alt") * FT_M == pytest.approx(tracks.alt_m[i], abs=3.2 * FT_M)
        climb = _val(r, "I220", "RoC") * FT_M / 60
        assert climb == pytest.approx(tracks.vel_enu_mps[i, 2], abs=0.02)
        assert _val(r, "I080", "CNF") == 0  # confirmed
        assert _val(r, "I080", "MON") == 0  # multisensor
        assert _val(r, "I080", "SRC") == 2  # altitude from a 3-D radar
        assert _val(r, "I080", "SIM") == 1
        assert _val(r, "I080", "TSB") == int(tracks.first[i])
        assert _val(r, "I080", "TSE") == int(tracks.last[i])
        assert _val(r, "I290", "TRK", "TRK") == tracks.track_age_s[i]
        assert _val(r, "I290", "PSR", "PSR") == tracks.psr_age_s[i]
