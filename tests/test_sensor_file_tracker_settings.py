"""The sensors file carries the tracker's per-sensor settings for high-rate radars (issue
13: the model-mismatch suite showed they remove most split tracks, but `opencram track`
could not set them): `noise_corr_s` (correlation time of the plot errors) and
`min_start_snr_db` (plots below it never start a track). The stream is the 20 Hz round
with a loss-of-lock tail of tests/highrate_streams.py, flown by the test's own integrator;
the command line is run as a user would."""

from __future__ import annotations

import json

import numpy as np

import highrate_streams as hs
from opencram.sense.plots import Plots, write_plots_csv


def _write(tmp_path, settings: str) -> tuple[str, str]:
    rng = np.random.default_rng(1)
    rnd = hs.Round(
        launch_m=(-5000.0, 2500.0, 0.0), vel_mps=(150.0, -50.0, 200.0),
        first_plot_after_s=8.0, ending="tail",
    )  # fmt: skip
    own, extra, *_ = hs.round_plots(rng, rnd, 0)
    plots = Plots.concat([own, extra]).sorted_by("time_s")
    csv = tmp_path / "plots.csv"
    write_plots_csv(csv, plots, ["cbr"])
    sensors = tmp_path / "sensors.yaml"
    sensors.write_text(
        "sensors:\n"
        "  - {id: cbr, lat: 33.30, lon: 44.39, alt_m: 34,"
        f" sigma_range_m: {hs.SIGMA_RANGE_M}, sigma_azimuth_mrad: {hs.SIGMA_ANGLE_RAD * 1e3},"
        f" sigma_elevation_mrad: {hs.SIGMA_ANGLE_RAD * 1e3}, scan_s: {hs.DT_S}{settings}}}\n"
    )
    return str(csv), str(sensors)


def _confirmed(cli, tmp_path, settings: str) -> int:
    csv, sensors = _write(tmp_path, settings)
    out = tmp_path / "tracks.json"
    done = cli("track", csv, "--sensors", sensors, "--out", str(out))
    assert done.returncode == 0, done.stderr
    return len(json.loads(out.read_text())["tracks"])


def test_the_settings_in_the_sensors_file_keep_the_tail_from_making_a_track(cli, tmp_path):
    tau_s = -hs.DT_S / np.log(hs.AR1_RHO)
    with_settings = _confirmed(cli, tmp_path, f", noise_corr_s: {tau_s:.4f}, min_start_snr_db: 10")
    assert with_settings == 1
    # the same file without them: the tail (moving like a slow aircraft) is confirmed too
    assert _confirmed(cli, tmp_path, "") > 1
