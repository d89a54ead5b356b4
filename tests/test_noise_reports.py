"""The noise estimate and loss of lock as reported (issue 13 point 3): in the track output
(docs/track-output.md, checked against docs/track-output.schema.json) and in the live
service's events."""

import json
from pathlib import Path

import jsonschema
import numpy as np

import highrate_streams as hs
from opencram.analysis.trackfile import build_track_output
from opencram.geo import LocalFrame
from opencram.interop.asterix import encode_cat048
from opencram.live.service import LiveService, ServeConfig
from opencram.sense.plots import Plots, SensorSpec
from opencram.track.manager import Tracker, TrackerConfig
from opencram.track.noise import NoiseSample

SCHEMA = json.loads(
    (Path(__file__).parent.parent / "docs" / "track-output.schema.json").read_text()
)
ROUND = dict(launch_m=(-5000.0, 2500.0, 0.0), vel_mps=(150.0, -50.0, 200.0))


def test_track_output_reports_the_noise_beside_the_prior_and_the_lost_lock():
    rng = np.random.default_rng(1)
    own, tail, *_ = hs.round_plots(rng, hs.Round(**ROUND, first_plot_after_s=8.0), 0)
    tracker = Tracker([hs.radar()], TrackerConfig())
    tracker.add(Plots.concat([own, tail]).sorted_by("time_s"))
    tracker.finish()
    doc = build_track_output(tracker, LocalFrame(33.3, 44.4, 34.0), history=True)
    jsonschema.validate(doc, SCHEMA)
    (noise,) = doc["sensor_noise"]
    assert noise["sensor"] == "cbr"
    assert noise["prior"] == {
        "range_m": hs.SIGMA_RANGE_M,
        "azimuth_mrad": hs.SIGMA_ANGLE_RAD * 1e3,
        "elevation_mrad": hs.SIGMA_ANGLE_RAD * 1e3,
    }
    assert noise["plots"] > 100
    assert noise["estimate"] != noise["prior"]
    (track,) = doc["tracks"]
    assert track["lock_lost_s"] > own.time_s[-1]
    assert track["updates"][-1].get("lock_lost") is True
    assert not any(u.get("lock_lost") for u in track["updates"][:-1])


SPEC = SensorSpec("r1", 33.3, 44.4, 34.0, 10.0, 2.0, 2.0, scan_s=1.0)


def test_live_service_says_the_noise_estimate_and_the_lost_lock():
    svc = LiveService([SPEC], config=ServeConfig(idle_s=1e9))
    m = 50
    eps = np.column_stack([np.full(m, 30.0), np.full(m, 6e-3), np.full(m, 6e-3)])
    nan = np.full((m, 3), np.nan)
    svc.tracker.noise.observe(
        NoiseSample(
            np.zeros(m, np.int64),
            eps,
            np.zeros((m, 3)),
            np.ones((m, 3)),
            nan,
            nan,
            np.zeros(m, dtype=bool),
        )
    )
    svc.tracker.lock_events.append((7, 12.0, 11.5))
    data = encode_cat048(
        sac=0, sic=1, tod_s=[12.5], range_m=[5000.0], az_rad=[1.0], height_m=[500.0]
    )[0]
    svc.ingest.put_datagram(data)
    svc.note_input(0.0)
    events = [json.loads(e) for e in svc.step(0.0).events]
    (noise,) = [e for e in events if e["kind"] == "sensor_noise"]
    assert noise["sensor"] == "r1" and noise["prior"]["range_m"] == 10.0
    assert noise["estimate"]["range_m"] > 10.0
    (lock,) = [e for e in events if e["kind"] == "track_lock"]
    assert (lock["track_id"], lock["state"], lock["last_good_s"]) == (7, "lost", 11.5)
    # said once: the next step repeats neither
    svc.ingest.put_datagram(data)
    again = [json.loads(e)["kind"] for e in svc.step(0.0).events]
    assert "sensor_noise" not in again and "track_lock" not in again
