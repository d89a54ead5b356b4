"""ASTERIX codec (opencram.interop.asterix): our CAT048/CAT062 read back by our own decoder
within each item's resolution, data-block framing, and the recording file."""

from __future__ import annotations

import struct

import numpy as np
import pytest

from opencram.errors import UserError
from opencram.interop.asterix import (
    FT_M,
    NM_M,
    SystemTracks,
    decode_cat048,
    decode_cat062,
    encode_cat048,
    encode_cat062,
    load_recording,
    peek_sensor,
    plots_to_datagrams,
    read_recording,
    split_blocks,
    write_recording,
)
from opencram.sense.plots import Plots


def _plots(n, rng):
    return dict(
        tod_s=np.sort(rng.uniform(0, 86_399, n)),
        range_m=rng.uniform(300, 20_000, n),
        az_rad=rng.uniform(0, 2 * np.pi, n),
        height_m=rng.uniform(-100, 5_000, n),
        range_rate_mps=rng.uniform(-500, 500, n),
        snr_db=rng.uniform(-20, 90, n),
    )


def test_cat048_round_trip_within_resolution():
    rng = np.random.default_rng(1)
    p = _plots(200, rng)
    blocks = encode_cat048(sac=7, sic=3, simulated=True, **p)
    assert all(b[0] == 48 and len(b) <= 1400 for b in blocks)
    dec, problems = decode_cat048(b"".join(blocks))
    assert problems == []
    assert len(dec) == 200
    assert set(dec.sac) == {7} and set(dec.sic) == {3}
    assert set(dec.typ) == {1} and set(dec.simulated) == {1}  # primary-only, simulated
    assert np.abs(dec.tod_s - p["tod_s"]).max() <= 0.5 / 128 + 1e-9
    assert np.abs(dec.range_m - p["range_m"]).max() <= 0.5 * NM_M / 256 + 1e-6
    daz = np.angle(np.exp(1j * (dec.az_rad - p["az_rad"])))
    assert np.abs(daz).max() <= 0.5 * 2 * np.pi / 65536 + 1e-9
    assert np.abs(dec.height_m - p["height_m"]).max() <= 0.5 * 25 * FT_M + 1e-6
    assert np.abs(dec.range_rate_mps - p["range_rate_mps"]).max() <= 0.5 + 1e-9
    assert np.abs(dec.snr_db - np.clip(p["snr_db"], -128, 127)).max() <= 0.5 + 1e-9
    # absent items decode as absent
    assert (dec.mode3a == -1).all() and np.isnan(dec.flight_level).all()


def test_cat048_optional_items_and_absent_values():
    blocks = encode_cat048(
        sac=0,
        sic=1,
        tod_s=[10.0, 11.0],
        range_m=[5000.0, 6000.0],
        az_rad=[0.1, 0.2],
        height_m=[1000.0, np.nan],
        range_rate_mps=[np.nan, -20.0],
        mode3a=[0o7421, -1],
        flight_level=[35.25, np.nan],
        address=[0xABCDEF, -1],
        track_number=[77, -1],
        ground_speed_mps=[150.0, np.nan],
        heading_rad=[np.pi / 2, np.nan],
    )
    dec, problems = decode_cat048(blocks[0])
    assert problems == []
    assert dec.mode3a.tolist() == [0o7421, -1]
    assert dec.address.tolist() == [0xABCDEF, -1]
    assert dec.track_number.tolist() == [77, -1]
    assert dec.flight_level[0] == 35.25 and np.isnan(dec.flight_level[1])
    assert abs(dec.ground_speed_mps[0] - 150.0) < NM_M / 16384
    assert abs(dec.heading_rad[0] - np.pi / 2) < 1e-4
    assert np.isnan(dec.height_m[1]) and np.isnan(dec.range_rate_mps[0])
    assert dec.range_rate_mps[1] == -20.0


def test_values_beyond_an_item_are_clipped_not_wrapped():
    blocks = encode_cat048(
        sac=0, sic=1, tod_s=[1.0], range_m=[600_000.0], az_rad=[0.0], range_rate_mps=[-2000.0]
    )
    dec, _ = decode_cat048(blocks[0])
    assert dec.range_m[0] == pytest.approx(65535 / 256 * NM_M)
    assert dec.range_rate_mps[0] == -512.0


def test_framing_problems_are_reported_not_raised():
    good = encode_cat048(sac=0, sic=1, tod_s=[1.0], range_m=[1000.0], az_rad=[0.0])[0]
    assert split_blocks(good + good)[1] == []
    assert len(split_blocks(good + good)[0]) == 2
    assert decode_cat048(b"")[1][0][0] == "empty"
    assert decode_cat048(good[:-1])[1][0][0] == "truncated"
    assert decode_cat048(b"\x30\x00\x02")[1][0][0] == "bad_length"
    assert decode_cat048(b"\x22\x00\x03")[1][0][0] == "category"
    assert decode_cat048(b"\x30\x00\x05\xff\xff")[1][0][0] == "bad_record"
    assert decode_cat048(bytes(70_000))[1][0][0] == "oversized"
    # thousands of tiny blocks: no recursion limit
    dec, problems = decode_cat048(b"\x22\x00\x03" * 20_000)
    assert len(dec) == 0 and len(problems) == 20_000
    assert peek_sensor(good) == (0, 1)
    assert peek_sensor(b"\x30\x00") is None


def test_cat062_round_trip():
    n = 5
    rng = np.random.default_rng(3)
    tracks = SystemTracks(
        track_number=np.arange(1, n + 1),
        tod_s=np.linspace(100, 101, n),
        lat_deg=rng.uniform(33, 34, n),
        lon_deg=rng.uniform(44, 45, n),
        pos_en_m=rng.uniform(-9000, 9000, (n, 2)),
        vel_enu_mps=rng.uniform(-300, 300, (n, 3)),
        alt_m=rng.uniform(0, 3000, n),
        confirmed=np.ones(n, bool),
        first=np.array([1, 0, 0, 0, 0], bool),
        last=np.array([0, 0, 0, 0, 1], bool),
        track_age_s=np.full(n, 12.0),
        psr_age_s=np.full(n, 0.5),
        simulated=True,
    )
    rows, problems = decode_cat062(b"".join(encode_cat062(tracks, sac=1, sic=200)))
    assert problems == [] and len(rows) == n
    for i, r in enumerate(rows):
        assert r["track_number"] == i + 1 and (r["sac"], r["sic"]) == (1, 200)
        assert r["x_m"] == pytest.approx(tracks.pos_en_m[i, 0], abs=0.25)
        assert r["vy_mps"] == pytest.approx(tracks.vel_enu_mps[i, 1], abs=0.125)
        assert r["lat"] == pytest.approx(tracks.lat_deg[i], abs=180 / 2**25)
        assert r["alt_m"] == pytest.approx(tracks.alt_m[i], abs=3.125 * FT_M)
        assert r["climb_mps"] == pytest.approx(tracks.vel_enu_mps[i, 2], abs=0.02)
        assert r["simulated"] and r["confirmed"]
        assert (r["first"], r["last"]) == (i == 0, i == n - 1)
        assert r["track_age_s"] == 12.0 and r["psr_age_s"] == 0.5


def test_recording_round_trip_and_bad_files(tmp_path):
    entries = [(1_639_872_000.5, b"\x30\x00\x03"), (1_639_872_001.25, b"abc")]
    path = tmp_path / "r.pcap"
    write_recording(path, entries)
    assert path.read_bytes()[:4] == b"\xd4\xc3\xb2\xa1"  # libpcap, little-endian, µs
    assert read_recording(path) == entries
    (tmp_path / "x.ast").write_bytes(b"hello")
    with pytest.raises(UserError, match="not an ASTERIX recording"):
        read_recording(tmp_path / "x.ast")
    with pytest.raises(UserError, match="file not found"):
        read_recording(tmp_path / "missing.ast")


def test_old_container_recordings_stay_readable(tmp_path):
    # the opencram 0.1 container, laid out here from its description in docs/interfaces.md
    entries = [(1_639_872_000.5, b"\x30\x00\x03"), (1_639_872_001.25, b"abc")]
    data = b"OCRAMAX1" + b"".join(
        struct.pack(">QI", round(t * 1e6), len(d)) + d for t, d in entries
    )
    (tmp_path / "old.ast").write_bytes(data)
    rec = load_recording(tmp_path / "old.ast")
    assert rec.format == "opencram" and rec.datagrams == entries
    (tmp_path / "cut.ast").write_bytes(data[:-1])
    with pytest.raises(UserError, match=r"cut\.ast: byte .* truncated"):
        read_recording(tmp_path / "cut.ast")


def test_plots_to_datagrams_keeps_every_plot_and_elevation():
    rng = np.random.default_rng(5)
    n = 300
    t = np.sort(rng.uniform(0, 60, n))
    plots = Plots(
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
    alt = [34.0, 50.0]
    entries = plots_to_datagrams(plots, alt)
    times = [e[0] for e in entries]
    assert times == sorted(times)
    dec = [decode_cat048(b)[0] for _, b in entries]
    assert sum(len(d) for d in dec) == n
    sic = np.concatenate([d.sic for d in dec])
    rng_m = np.concatenate([d.range_m for d in dec])
    h = np.concatenate([d.height_m for d in dec])
    el = np.arcsin((h - np.array(alt)[sic - 1]) / rng_m)
    order = np.lexsort((np.concatenate([d.tod_s for d in dec]), sic))
    ref = np.lexsort((plots.time_s, plots.sensor))
    # elevation back from the 25 ft height within its resolution at that range
    tol = 0.5 * 25 * FT_M / plots.range_m[ref] + 0.5 * NM_M / 256 / plots.range_m[ref] + 1e-6
    assert np.all(np.abs(el[order] - plots.el_rad[ref]) <= tol * 1.5)
