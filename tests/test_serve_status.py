"""``opencram serve`` says how it is doing (issue 16 point 5: "serve prints only ready"): a
status line every ``--status-every`` seconds with plots in, live tracks and drops, and a
websocket port that is not the console's."""

from __future__ import annotations

import subprocess
import sys


def test_serve_prints_periodic_status_lines(tmp_path):
    sensors = tmp_path / "sensors.yaml"
    sensors.write_text(
        "sensors:\n  - {id: r1, lat: 33.30, lon: 44.39, alt_m: 34, sigma_range_m: 10,\n"
        "     sigma_azimuth_mrad: 2, sigma_elevation_mrad: 2}\n"
    )
    done = subprocess.run(
        [sys.executable, "-m", "opencram", "serve", "--sensors", str(sensors),
         "--asterix-port", "0", "--csv-port", "0", "--ws-port", "-1",
         "--status-every", "0.4", "--duration", "1.5"],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    status = [ln for ln in done.stderr.splitlines() if "status: data time" in ln]
    assert len(status) >= 2, done.stderr
    assert "0 plots in" in status[0] and "live tracks" in status[0] and "dropped" in status[0]


def test_the_live_websocket_port_is_not_the_consoles():
    from opencram.cli.console import DEFAULT_PORT
    from opencram.live.server import Endpoints

    assert Endpoints().ws_port != DEFAULT_PORT
