"""Faults in recorded plot files (issue 17): a row on another epoch, a quote left open,
absurd numbers, files that are not regular files; and ``opencram track`` on them."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest

from opencram.campaign.runner import read_layouts
from opencram.errors import UserError
from opencram.fileio import read_user_text
from opencram.sense.plots import NEIGHBOUR_GAP_S, isolated_times, read_plot_file

HEADER = "time_s,sensor,range_m,azimuth_deg,elevation_deg,range_rate_mps,snr_db"
SENSORS = """\
sensors:
  - {id: r1, lat: 33.3, lon: 44.4, alt_m: 34, sigma_range_m: 10, sigma_azimuth_mrad: 2,
     sigma_elevation_mrad: 2, scan_s: 1.0}
"""


def target_rows(n: int, t0_s: float = 100.0) -> list[str]:
    """Plot rows of one object flying straight and level at 60 m/s past the sensor (which
    is the frame's origin), one plot a second."""
    t = t0_s + np.arange(n, dtype=float)
    e = -3000.0 + 60.0 * (t - t0_s)
    nn = np.full(n, 2000.0)
    u = np.full(n, 300.0)
    r = np.sqrt(e**2 + nn**2 + u**2)
    az = np.degrees(np.arctan2(e, nn)) % 360.0
    el = np.degrees(np.arcsin(u / r))
    rr = 60.0 * e / r
    return [f"{t[i]:.6f},r1,{r[i]:.3f},{az[i]:.6f},{el[i]:.6f},{rr[i]:.3f},30.00" for i in range(n)]


def write(path, rows: list[str]) -> None:
    path.write_text("\n".join([HEADER, *rows]) + "\n")


def test_isolated_times_finds_one_row_on_another_epoch_only():
    t = np.array([0.0, 1.0, 2.0, 1.7e9, 3.0, 4.0])
    np.testing.assert_array_equal(isolated_times(t), [0, 0, 0, 1, 0, 0])
    # first and last rows too
    assert isolated_times(np.array([1.7e9, 1.0, 2.0, 3.0])).tolist() == [1, 0, 0, 0]
    assert isolated_times(np.array([1.0, 2.0, 3.0, 1.7e9])).tolist() == [0, 0, 0, 1]
    # a recording that changes epoch half-way, or two rows far apart: nothing is isolated
    assert not isolated_times(np.r_[np.arange(5.0), 1.7e9 + np.arange(5.0)]).any()
    assert not isolated_times(np.array([0.0, 2 * NEIGHBOUR_GAP_S])).any()
    # a gap of exactly the limit is still close; interleaved sensors out of order too
    assert not isolated_times(np.array([0.0, 1.0, 1.0 + NEIGHBOUR_GAP_S, 2.0, 3.0])).any()
    assert not isolated_times(np.array([5.0, 3.0, 4.0, 1.0, 2.0])).any()


def test_one_unix_time_row_is_reported_with_its_line_then_skipped(tmp_path, cli):
    rows = target_rows(60)
    rows.insert(29, "1700000000.5,r1,3000.0,10.0,5.0,,")  # line 31 of the file
    plots = tmp_path / "p.csv"
    write(plots, rows)
    (tmp_path / "s.yaml").write_text(SENSORS)
    with pytest.raises(UserError) as exc:
        read_plot_file(plots, ["r1"])
    (line,) = exc.value.problems
    assert line.startswith(f"{plots}:31: time_s: '1700000000.500000' is more than 3600 s")
    got = read_plot_file(plots, ["r1"], skip_bad=True)
    assert (len(got.plots), got.n_bad, got.time_outliers) == (60, 1, 1)
    assert got.plots.time_s.max() < 200
    args = ["track", str(plots), "--sensors", str(tmp_path / "s.yaml")]
    r = cli(*args, "--out", str(tmp_path / "t.json"))
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and ":31: time_s:" in r.stderr
    t0 = time.monotonic()
    r = cli(*args, "--out", str(tmp_path / "t.json"), "--skip-bad")
    took_s = time.monotonic() - t0
    assert r.returncode == 0, r.stderr
    assert "60 plots, 1 bad rows skipped (1 with a time far from their neighbours')" in r.stdout
    assert "1 confirmed tracks" in r.stdout
    assert took_s < 120  # a fresh interpreter with numba's cache: seconds, not hours


def test_a_quote_left_open_counts_and_reports_the_rows_it_swallows(tmp_path, cli):
    rows = target_rows(323)
    rows[3] = rows[3].replace(",r1,", ',"r1,', 1)  # line 5: the quote is never closed
    plots = tmp_path / "p.csv"
    write(plots, rows)
    with pytest.raises(UserError) as exc:
        read_plot_file(plots, ["r1"])
    assert exc.value.problems == (
        f"{plots}:5: a quote opened here is not closed on this line; its cell runs to "
        "line 324 (320 lines lost) (and 319 more bad rows)",
    )
    got = read_plot_file(plots, ["r1"], skip_bad=True)
    assert (len(got.plots), got.n_bad, got.quote_lines_lost, got.quote_line) == (3, 320, 320, 5)
    (tmp_path / "s.yaml").write_text(SENSORS)
    r = cli("track", str(plots), "--sensors", str(tmp_path / "s.yaml"), "--out",
            str(tmp_path / "t.json"), "--skip-bad")  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert (
        "3 plots, 320 bad rows skipped (320 of them lines swallowed by a quote left open on "
        "line 5)" in r.stdout
    )
    # a quote closed further down: the lines in between are lost too, then reading goes on
    rows[8] = rows[8].replace(",r1,", ',r1",', 1)
    write(plots, rows)
    got = read_plot_file(plots, ["r1"], skip_bad=True)
    assert (len(got.plots), got.n_bad, got.quote_lines_lost) == (317, 6, 6)  # lines 5 to 10


@pytest.mark.parametrize(
    "cells, message",
    [
        ("1.0,r1,1e300,10,5,,", "range_m: '1e300' is outside 0 to 1000000"),
        ("1e300,r1,1000,10,5,,", "time_s: '1e300' is outside -10000000000 to 10000000000"),
        ("1.0,r1,1000,10,5,1e300,", "range_rate_mps: '1e300' is outside -5000 to 5000"),
        ("1.0,r1,1000,10,5,,1e300", "snr_db: '1e300' is outside -100 to 100"),
        ("1.0,r1,1000,10,5,,-1e-300", None),  # tiny values are fine
    ],
)
def test_absurd_numbers_are_bad_rows(tmp_path, cells, message):
    plots = tmp_path / "p.csv"
    write(plots, [*target_rows(3), cells])
    if message is None:
        assert len(read_plot_file(plots, ["r1"]).plots) == 4
        return
    with pytest.raises(UserError) as exc:
        read_plot_file(plots, ["r1"])
    assert exc.value.problems == (f"{plots}:5: {message}",)


def test_only_regular_files_of_bounded_size_are_read(tmp_path):
    with pytest.raises(UserError, match="not a regular file"):
        read_plot_file(tmp_path, ["r1"])
    with pytest.raises(UserError, match="/dev/zero: not a regular file"):
        read_plot_file("/dev/zero", ["r1"])
    for path in ("/dev/zero", tmp_path):
        with pytest.raises(UserError, match="not a regular file") as exc:
            read_user_text(path)
        assert len(exc.value.problems) == 1
    big = tmp_path / "big.yaml"
    big.write_bytes(b"a: 1\n" * 300)
    with pytest.raises(UserError, match="larger than"):
        read_user_text(big, max_bytes=1000)
    assert read_user_text(big, max_bytes=1500).count("\n") == 300
    (tmp_path / "latin.yaml").write_bytes(b"a: \xe9\n")
    with pytest.raises(UserError, match=r"not UTF-8 text \(byte 3\)"):
        read_user_text(tmp_path / "latin.yaml")
    # the layouts file of a campaign goes through it
    with pytest.raises(UserError, match="--layouts /dev/zero: not a regular file"):
        read_layouts(Path("/dev/zero"), {})
