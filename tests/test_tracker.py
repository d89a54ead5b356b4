"""The multi-target tracker on simulated radar plots: association, track start and end,
fusion, late plots, classification, and batched maths against one-at-a-time calls."""

from collections import Counter

import numpy as np
import pytest
import yaml

from opencram.c2.engine import run
from opencram.c2.world import compile_world
from opencram.scenario.load import builtin_dir, builtin_text, parse
from opencram.sense.plots import Plots
from opencram.track.association import gate_costs
from opencram.track.ckf import ckf_update
from opencram.track.ekf import ekf_update
from opencram.track.history import confirmed_updates, track_classes
from opencram.track.imm import IMM
from opencram.track.manager import Tracker, TrackerConfig
from opencram.track.measurement import noise_cov, predict_measurement


def _unarmed(name):
    """A built-in scenario without its guns: these tests are about tracking every round."""
    d = yaml.safe_load(builtin_text(name))
    d["weapons"] = []
    return compile_world(parse(yaml.safe_dump(d), name, builtin_dir()))


@pytest.fixture(scope="module")
def runs():
    return {name: run(_unarmed(name)) for name in ("grad-salvo", "drone-attack")}


def _truth_of(ups):
    return Counter(u.truth_id for u in ups).most_common(1)[0][0]


def _purity(ups):
    return Counter(u.truth_id for u in ups).most_common(1)[0][1] / len(ups)


def test_salvo_of_twenty_gives_twenty_pure_tracks(runs):
    r = runs["grad-salvo"]
    by_track = confirmed_updates(r.tracker)
    assert len(by_track) == 20
    assert {_truth_of(u) for u in by_track.values()} == set(range(20))
    assert min(_purity(u) for u in by_track.values()) >= 0.95
    classes = track_classes(r.tracker, by_track)
    assert set(classes.values()) == {"rocket"}
    # every round's track ends when it lands
    reasons = Counter(reason for _, _, reason in r.tracker.deleted)
    assert reasons["landed"] == 20


def test_drones_are_tracked_as_drones_by_the_cv_and_turn_models(runs):
    r = runs["drone-attack"]
    by_track = confirmed_updates(r.tracker)
    classes = track_classes(r.tracker, by_track)
    long = {t: u for t, u in by_track.items() if len(u) >= 20}
    assert {_truth_of(u) for u in long.values()} == {0, 1}
    assert all(classes[t] == "drone" for t in long)
    cruise = [u for ups in long.values() for u in ups[5:-15]]
    mu = np.array([u.mode_prob for u in cruise])
    assert np.mean(mu[:, 1] + mu[:, 2]) > 0.8  # not ballistic while cruising


def _rocket_world(n_radars: int, latency_s: float = 0.0):
    d = yaml.safe_load(builtin_text("green-zone"))
    d["aircraft"] = []
    d["sensors"] = d["sensors"][:n_radars]
    for s in d["sensors"]:
        s["latency_s"] = latency_s
    return compile_world(parse(yaml.safe_dump(d), "gz", builtin_dir()))


def _rmse(result):
    from opencram.analysis.tracking import score_run

    return score_run(result.world, result.tracker, result.end_s).rmse_m


def test_two_radars_fused_beat_one():
    one = run(_rocket_world(1))
    two = run(_rocket_world(2))
    assert len(confirmed_updates(two.tracker)) == 2
    assert _rmse(two) < _rmse(one)


def test_plots_out_of_order_within_latency_give_the_same_tracks():
    world = _rocket_world(2, latency_s=0.8)
    result = run(world)
    plots = result.plots
    ref = Tracker(result.tracker.sensors, TrackerConfig())
    ref.add(plots)
    ref.finish()
    # the same plots delivered in shuffled chunks, each chunk no later than its latency
    rng = np.random.default_rng(0)
    shuffled = Tracker(result.tracker.sensors, TrackerConfig())
    order = rng.permutation(len(plots))
    t_now = 0.0
    for chunk in np.array_split(order, 200):
        shuffled.add(plots.take(chunk))
    while t_now < plots.time_s.max() + 2:
        t_now += 0.5
        shuffled.step(t_now)
    shuffled.finish()
    assert shuffled.n_late_dropped == 0
    a = [(u.track_id, round(u.t_s, 6)) for u in ref.updates]
    b = [(u.track_id, round(u.t_s, 6)) for u in shuffled.updates]
    assert a == b


def test_plots_later_than_the_latency_are_dropped_and_counted():
    result = run(_rocket_world(1))
    plots = result.plots
    tr = Tracker(result.tracker.sensors, TrackerConfig())
    late = plots.time_s < 10.0
    tr.add(plots.take(np.flatnonzero(~late)))
    tr.step(float(plots.time_s.max()) + 1.0)
    tr.add(plots.take(np.flatnonzero(late)))
    tr.finish()
    assert tr.n_late_dropped == int(late.sum())


def test_clutter_alone_confirms_no_track():
    d = yaml.safe_load(builtin_text("green-zone"))
    d["threats"], d["aircraft"] = [], []
    for s in d["sensors"]:
        s["false_alarm_rate_per_scan"] = 20.0
    d["simulation"]["duration_s"] = 60
    world = compile_world(parse(yaml.safe_dump(d), "clutter", builtin_dir()))
    from opencram.c2.stages import SenseStage, TrackStage

    sense = SenseStage(world, np.random.default_rng(5))
    track = TrackStage(world, sense.radars, TrackerConfig())
    for t in np.arange(0.0, 60.0, 0.5):
        track.step(t, sense.step(t))
    assert len(sense.recorded()) > 2000
    assert len(confirmed_updates(track.tracker)) == 0


def _random_batch(n, seed=0):
    rng = np.random.default_rng(seed)
    x = np.column_stack(
        [
            rng.uniform(-4000, 4000, (n, 2)),
            rng.uniform(200, 2000, n),
            rng.uniform(-250, 250, (n, 3)),
            rng.uniform(0.5, 3, n),
        ]
    )
    a = rng.normal(size=(n, 7, 7))
    p = a @ np.swapaxes(a, 1, 2) + np.eye(7) * 25
    spos = rng.uniform(-500, 500, (n, 3))
    z = predict_measurement(x, spos) + rng.normal(0, 1, (n, 4)) * [10, 2e-3, 2e-3, 1]
    z[::3, 3] = np.nan  # some plots without range rate
    r = noise_cov(
        np.full(n, 10.0), np.full(n, 2e-3), np.full(n, 2e-3), np.ones(n), ~np.isnan(z[:, 3])
    )
    return x, p, z, r, spos


@pytest.mark.parametrize("update", [ekf_update, ckf_update])
def test_batched_updates_equal_one_at_a_time(update):
    x, p, z, r, spos = _random_batch(9)
    xb, pb, _nub, _sb = update(x, p, z, r, spos)
    for i in range(9):
        xi, pi, _nui, _si = update(
            x[i : i + 1], p[i : i + 1], z[i : i + 1], r[i : i + 1], spos[i : i + 1]
        )
        np.testing.assert_allclose(xb[i], xi[0], rtol=1e-10, atol=1e-8)
        np.testing.assert_allclose(pb[i], pi[0], rtol=1e-10, atol=1e-8)


def test_batched_imm_equals_one_at_a_time():
    x, p, z, r, spos = _random_batch(6, seed=2)
    imm = IMM()
    xm, pm, mu = imm.init(x, p)
    mu = np.random.default_rng(1).dirichlet([1, 1, 1], 6)
    dt = np.linspace(0.3, 1.2, 6)
    bx, bp, bc = imm.predict(xm, pm, mu, dt)
    ux, _up, umu = imm.update(bx, bp, bc, z, r, spos)
    for i in range(6):
        sl = slice(i, i + 1)
        sx, sp, sc = imm.predict(xm[sl], pm[sl], mu[sl], dt[sl])
        vx, _vp, vmu = imm.update(sx, sp, sc, z[sl], r[sl], spos[sl])
        np.testing.assert_allclose(ux[i], vx[0], rtol=1e-9, atol=1e-7)
        np.testing.assert_allclose(umu[i], vmu[0], rtol=1e-9, atol=1e-12)


def test_gate_costs_batched_equal_single_pairs():
    x, p, z, r, spos = _random_batch(5, seed=3)
    t_plot = np.linspace(10.0, 10.8, 5)
    cost, d2 = gate_costs(x, p, 10.4, z, r, spos, t_plot, 0.999)
    for i in range(5):
        for j in range(5):
            c1, d1 = gate_costs(
                x[i : i + 1],
                p[i : i + 1],
                10.4,
                z[j : j + 1],
                r[j : j + 1],
                spos[j : j + 1],
                t_plot[j : j + 1],
                0.999,
            )
            np.testing.assert_allclose(d2[i, j], d1[0, 0], rtol=1e-9)
            assert np.isinf(cost[i, j]) == np.isinf(c1[0, 0])


def test_filters_agree_on_a_salvo():
    d = yaml.safe_load(builtin_text("mortar-barrage"))
    out = {}
    for f in ("ekf", "ckf", "imm"):
        d["tracking"] = {"filter": f}
        res = run(compile_world(parse(yaml.safe_dump(d), "mb")))
        by = confirmed_updates(res.tracker)
        out[f] = (len(by), _rmse(res))
        assert set(track_classes(res.tracker, by).values()) == {"mortar"}
    assert {v[0] for v in out.values()} == {6}
    assert all(v[1] < 12.0 for v in out.values())


def test_empty_plots_are_harmless():
    tr = Tracker([], TrackerConfig())
    tr.add(Plots.empty())
    tr.step(10.0)
    tr.finish()
    assert tr.updates == [] and len(tr.tracks) == 0


def test_next_track_id_set_by_a_driver_numbers_the_new_tracks():
    """A streaming driver that replaces its tracker carries ``next_track_id`` over."""
    result = run(_rocket_world(1))
    tr = Tracker(result.tracker.sensors, TrackerConfig())
    tr.next_track_id = 1000
    tr.add(result.plots)
    tr.finish()
    ids = {u.track_id for u in tr.updates}
    assert ids and min(ids) == 1000
    assert tr.next_track_id > max(ids)


def test_step_is_flush_then_maintain_after_the_latency():
    result = run(_rocket_world(2, latency_s=0.8))
    a = Tracker(result.tracker.sensors, TrackerConfig())
    b = Tracker(result.tracker.sensors, TrackerConfig())
    a.add(result.plots)
    b.add(result.plots)
    for now in np.arange(1.0, float(result.plots.time_s.max()) + 5.0, 1.0):
        a.step(float(now))
        until = float(now) - b.max_latency_s
        b.flush(until)
        b.maintain(until)
    assert a.max_latency_s == pytest.approx(0.8)
    assert [(u.track_id, u.t_s) for u in a.updates] == [(u.track_id, u.t_s) for u in b.updates]
    assert a.deleted == b.deleted and len(a.deleted) > 0


@pytest.mark.parametrize(
    ("filter_name", "association"), [("kalman", "gnn"), ("ekf", "nearest"), ("imm", "jpda")]
)
def test_tracker_config_refuses_unknown_or_unsupported_choices(filter_name, association):
    with pytest.raises(ValueError):
        TrackerConfig(filter=filter_name, association=association)


def test_first_equal_row_matches_numpy_unique():
    """The repeat filter's row matching (a stable lexicographic sort) gives, for every row,
    the first row with the same values, as ``np.unique`` over rows does, with duplicates,
    infinities and a negative zero among them."""
    from opencram.track.buffer import first_equal_row

    rng = np.random.default_rng(5)
    for n in (0, 1, 7, 500):
        keys = rng.normal(size=(n, 6))
        keys[:, 0] = rng.integers(0, 3, n)
        keys[rng.random(n) < 0.3, 4] = np.inf
        keys = np.concatenate([keys, keys[rng.integers(0, max(n, 1), n // 2)]])
        if n:
            keys[-1, 1] = -0.0
            keys[0, 1] = 0.0
        got = first_equal_row(keys)
        if not keys.shape[0]:
            assert got.size == 0
            continue
        _, first, inv = np.unique(keys, axis=0, return_index=True, return_inverse=True)
        assert np.array_equal(got, first[inv.reshape(-1)])
