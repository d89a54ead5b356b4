"""Model mismatch (issue 13 point 6), the fast part: two cells of benchmarks/bench_mismatch.py
with two rounds each, flown by an independent world (benchmarks/mismatch_world.py: no
opencram code) and tracked by ``opencram track`` in a subprocess, as a user runs it.

What holds now is asserted; the issue's goals the code does not meet yet are strict xfails
carrying the measured figure, so they turn red when a change makes them pass (then remove
the xfail). The full table is in docs/benchmarks.md ("Model mismatch").
"""

from __future__ import annotations

import math
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

BENCH = Path(__file__).resolve().parents[1] / "benchmarks"
sys.path.insert(0, str(BENCH))

import bench_mismatch as bm  # noqa: E402  (the benchmark folder is not a package)
import mismatch_world as mw  # noqa: E402

ROUNDS = 2


# --- the world itself, against public figures ---------------------------------------------


def test_isa_at_the_tropopause():
    """U.S. Standard Atmosphere 1976 at 11 km: 0.36392 kg/m³, 295.07 m/s."""
    rho, a = mw.air(11_000.0)
    assert rho == pytest.approx(0.36392, rel=1e-3)
    assert a == pytest.approx(295.07, rel=1e-3)
    rho0, a0 = mw.air(0.0)
    assert rho0 == pytest.approx(1.2250, rel=1e-3)
    assert a0 == pytest.approx(340.29, rel=1e-3)


def test_drag_free_flight_keeps_its_energy():
    """No drag: Coriolis does no work, so speed²/2 - g0 R²/r stays put along the flight."""
    rnd = mw.Round("no drag", 0.1, 10.0, 0.0)
    f = mw.fly(rnd, 300.0, 45.0, 30.0, 33.3)
    t = np.linspace(0.0, f.t_impact_s, 50)
    y = f.sol.sol(t)
    r = np.linalg.norm(y[:3].T + np.array([0.0, 0.0, mw.R_EARTH_M]), axis=1)
    energy = 0.5 * np.sum(y[3:] ** 2, axis=0) - mw.G0 * mw.R_EARTH_M**2 / r
    assert np.ptp(energy) < 1e-4 * 0.5 * 300.0**2
    # and the range is about the flat vacuum one, v² sin 2θ / g (9.18 km)
    assert mw.ground_range_m(f) == pytest.approx(300.0**2 / mw.G0, rel=0.01)


@pytest.mark.parametrize(("key", "published_mps"), [("r107", 385.0), ("grad", 690.0)])
def test_rocket_burn_out_speed_is_the_published_one(key, published_mps):
    rnd = mw.ROUNDS[key]
    f = mw.fly(rnd, 30.0, 20.0, 0.0, 33.3)
    v = f.sol.sol(rnd.burn_s)[3:]
    assert float(np.linalg.norm(v)) == pytest.approx(published_mps, rel=0.05)


def test_120mm_charge_for_6km_is_a_real_one():
    """The 120 mm bomb reaches 6 km at 46° with a launch speed under the M120's top
    charge (about 320 m/s, max range 7.2 km)."""
    v, _ = mw.aim(mw.ROUNDS["m120"], 6000.0, 46.0, 33.3)
    assert 240.0 < v < 320.0


def test_tracking_radar_sees_the_round_first_at_1_to_2_7_km():
    w = mw.build(replace(bm.CELLS["m120-6km-all"], rounds=3, seed=5))
    for p in w.plots[0::2]:  # each radar's own track plots (then a tail or clutter)
        assert 1000.0 * 0.99 < p.rng[0] < 2700.0 * 1.05 + 30.0
        assert math.isclose(float(np.median(np.diff(p.t))), 0.05, rel_tol=0.05)


# --- opencram on the world -----------------------------------------------------------------


@pytest.fixture(scope="module")
def results(tmp_path_factory) -> dict[str, bm.CellResult]:
    out = {}
    for name in ("m120-6km-clean", "m120-6km-all", "m120-6km-rot"):
        cell = replace(bm.CELLS[name], rounds=ROUNDS)
        out[name] = bm.run_cell(cell, tmp_path_factory.mktemp(name))
    return out


@pytest.mark.parametrize("name", ["m120-6km-clean", "m120-6km-all", "m120-6km-rot"])
def test_every_round_predicted(results, name):
    r = results[name]
    assert r.rounds == ROUNDS
    assert r.lost == 0


@pytest.mark.parametrize("name", ["m120-6km-clean", "m120-6km-rot"])
def test_one_track_per_round_and_no_false_track_without_tracking_loop_realities(results, name):
    """The clean 20 Hz radar, and the 1 Hz rotating radar with Poisson clutter."""
    r = results[name]
    assert r.tracks_per_round == [1] * ROUNDS
    assert r.false_tracks == 0


def test_realities_do_not_split_a_round_into_more_tracks_than_the_recorded_worst(results):
    """Issue 13's recorded worst was 21 tracks for one round."""
    assert max(results["m120-6km-all"].tracks_per_round) < 21


def test_120mm_impact_goals_with_every_reality(results):
    """Issue 13 goals for the 120 mm at 6 km: ≤ 60 m at 10 s, ≤ 40 m at 20 s (median).
    Met on this 2-round subset (measured 23 m and 23 m); the 8-round cell of the benchmark
    does not meet the 10 s one (82 m, docs/benchmarks.md)."""
    imp = results["m120-6km-all"].impact_m
    assert imp["10s"] <= 60.0
    assert imp["20s"] <= 40.0


@pytest.mark.xfail(strict=True, reason="measured: 13 confirmed tracks per round (max 14)")
def test_goal_one_confirmed_track_per_round_with_every_reality(results):
    assert results["m120-6km-all"].tracks_per_round == [1] * ROUNDS


@pytest.mark.xfail(strict=True, reason="measured: 95 % ellipse coverage 0.40")
def test_goal_coverage_with_every_reality(results):
    assert 0.90 <= results["m120-6km-all"].coverage95 <= 0.98


@pytest.mark.xfail(strict=True, reason="measured: coverage 1.00, ellipses too large")
def test_goal_coverage_on_a_clean_radar(results):
    assert 0.90 <= results["m120-6km-clean"].coverage95 <= 0.98


@pytest.mark.xfail(strict=True, reason="measured: median origin error 402 m at 20 s")
def test_goal_origin_with_every_reality(results):
    assert results["m120-6km-all"].origin_m["20s"] <= 15.0


@pytest.mark.xfail(strict=True, reason="measured: median impact error 94 m at 10 s")
def test_goal_impact_at_10s_with_the_rotating_radar(results):
    assert results["m120-6km-rot"].impact_m["10s"] <= 60.0
