"""CoT ``hae`` (height above the WGS-84 ellipsoid) from altitudes above the ellipsoid or
above mean sea level: with ``heights="msl"``, ``hae = alt_m + N`` with N the EGM96 geoid
height. At the green-zone site (Baghdad) N is about -2.2 m: GeographicLib's 5-minute EGM96
grid gives -2.215 m at 33.2985 N 44.3945 E (the reference of tests/test_geoid.py)."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from opencram import geoid
from opencram.c2.events import Ellipse95, ImpactPredicted, TrackUpdated, ZoneAlert
from opencram.errors import UserError
from opencram.interop.cot import event_cot, events_to_cot, geoid_offsets

pytestmark = pytest.mark.skipif(
    geoid.grid_path() is None, reason="no EGM96 grid: apt-get install proj-data (.ci/run does)"
)


def _track(alt_m: float = 34.0) -> TrackUpdated:
    return TrackUpdated(
        t_s=10.0, measured_s=9.7, track_id=3, track_class="rocket", sensor="r",
        lat=33.2985, lon=44.3945, alt_m=alt_m, vel_enu_mps=(10.0, 200.0, -50.0),
        pos_sigma_m=5.0, kappa_cm2pkg=2.0, ballistic_prob=0.9,
    )  # fmt: skip


def _impact() -> ImpactPredicted:
    return ImpactPredicted(
        t_s=11.0, track_id=3, track_class="rocket", impact_time_s=20.0, time_to_impact_s=9.0,
        lat=33.30, lon=44.40, alt_m=34.0,
        ellipse95=Ellipse95(semi_major_m=100.0, semi_minor_m=40.0, orientation_deg=10.0),
        cov_en_m2=(400.0, 50.0, 2500.0),
    )  # fmt: skip


def _hae(msg: bytes) -> float:
    return float(ET.fromstring(msg).find("point").get("hae"))


def test_msl_altitudes_get_the_egm96_geoid_height_added():
    (msg,) = event_cot(_track(34.0), {}, heights="msl")
    assert _hae(msg) == pytest.approx(34.0 - 2.215, abs=0.15)
    assert _hae(msg) == pytest.approx(34.0 + float(geoid.undulation_m(33.2985, 44.3945)), abs=0.05)


def test_ellipsoid_altitudes_are_hae_unchanged():  # regression guard: the default path
    (msg,) = event_cot(_track(850.0), {})
    assert _hae(msg) == 850.0


def test_a_batch_looks_n_up_once_and_gives_the_same_messages():
    alert = ZoneAlert(
        t_s=12.0, zone="z", state="raised", probability=0.5, track_ids=[3], time_to_impact_s=8.0
    )
    events = [_track(), _impact(), alert]
    offsets = geoid_offsets(events, "msl")
    assert offsets[2] == 0.0 and offsets[0] != offsets[1] != 0.0
    rings = {"z": [(33.30, 44.39), (33.30, 44.40), (33.31, 44.40)]}
    one_by_one = [m for ev in events for m in event_cot(ev, rings, heights="msl")]
    assert events_to_cot(events, rings, heights="msl") == one_by_one


def test_unknown_height_reference_is_one_line():
    with pytest.raises(UserError, match="heights: must be ellipsoid or msl"):
        events_to_cot([_track()], {}, heights="agl")
