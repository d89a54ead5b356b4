"""The threat library: every figure cited, and the simulated maximum ranges within ±10 %
of the published figures (ICAO atmosphere, no wind, best elevation)."""

import numpy as np
import pytest
import yaml

from opencram.physics.calibrate import burnout_speed_mps
from opencram.physics.fire import max_range
from opencram.physics.threats import library, library_text

REQUIRED = {
    "rocket-107mm",
    "rocket-122mm-grad",
    "mortar-60mm",
    "mortar-81mm",
    "mortar-82mm",
    "mortar-120mm",
    "artillery-155mm",
    "drone-small-owa",
}
BALLISTIC = sorted(k for k, t in library().items() if t.is_ballistic)


def test_library_covers_the_required_threats():
    assert REQUIRED <= set(library())
    cats = {t.category for t in library().values()}
    assert {"rocket", "mortar", "artillery", "drone"} <= cats


def _figures(node, path=()):
    if isinstance(node, dict) and "value" in node:
        yield path, node
    elif isinstance(node, dict):
        for k, v in node.items():
            yield from _figures(v, (*path, k))


def test_every_figure_names_a_known_source():
    doc = yaml.safe_load(library_text())
    sources = doc["sources"]
    for key, src in sources.items():
        assert src.get("title") and src.get("url", "").startswith("http"), key
    for tid, raw in doc["threats"].items():
        figs = list(_figures(raw))
        assert figs, tid
        for path, fig in figs:
            keys = fig.get("source")
            assert keys, f"{tid}.{'.'.join(path)} has no source"
            for k in [keys] if isinstance(keys, str) else keys:
                assert k in sources, f"{tid}.{'.'.join(path)} cites unknown source {k}"


@pytest.mark.parametrize("tid", BALLISTIC)
def test_each_threat_has_the_figures_a_model_needs(tid):
    t = library()[tid]
    assert t.mass_kg > 0 and t.caliber_m > 0 and t.max_range_m > 0
    assert t.rcs_m2 > 0 and t.lethal_radius_m > 0
    assert t.drag_table in ("G1", "G7")
    if t.is_rocket:
        assert t.propellant_kg > 0 and t.burn_time_s > 0 and t.thrust_n > 0
    else:
        assert t.muzzle_velocity_mps and t.muzzle_velocity_mps > 0


@pytest.mark.parametrize("tid", BALLISTIC)
def test_simulated_max_range_within_ten_percent_of_published(tid):
    t = library()[tid]
    rng, qe = max_range(t)
    assert rng == pytest.approx(t.max_range_m, rel=0.10)
    assert 30.0 < qe < 60.0


@pytest.mark.parametrize("tid", [k for k in BALLISTIC if library()[k].is_rocket])
def test_rocket_burnout_speed_matches_published_max_velocity(tid):
    t = library()[tid]
    v = burnout_speed_mps(t, t.max_range_qe_deg)
    assert v == pytest.approx(t.burnout_velocity_mps, rel=0.05)


def test_drone_has_flight_figures():
    d = library()["drone-small-owa"]
    assert d.cruise_speed_mps and d.cruise_alt_agl_m and d.span_m
    assert not d.is_ballistic
    assert np.isfinite(d.rcs_m2)
