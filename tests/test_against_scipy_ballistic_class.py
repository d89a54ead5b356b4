"""No lost threat (issue 13, point 1), against an independent authority: the truth is flown
by scipy's ``solve_ivp`` (DOP853) as a textbook point mass under constant gravity and
quadratic drag in an exponential atmosphere (the standard flat-earth point-mass model,
e.g. McCoy, *Modern Exterior Ballistics*, ch. 2), sharing no code with the tracker's
models. A level, slow flight (a helicopter) is straight-line kinematics.

The radar's plots are that truth seen with seeded Gaussian noise; the tracker, classifier
and predict stage are the engine's own (``TrackStage``'s pieces, stepped at 0.5 s).
"""

import numpy as np
import pytest
from scipy.integrate import solve_ivp

from opencram.analysis.trackfile import build_track_output
from opencram.c2.stages.predict import PredictStage
from opencram.c2.stages.track import confirmed_track_events
from opencram.geo import LocalFrame
from opencram.sense.plots import Plots
from opencram.track.classify import BALLISTIC_CLASSES
from opencram.track.history import confirmed_updates, track_classes
from opencram.track.manager import Tracker, TrackerConfig, TrackerSensor

G_MPS2 = 9.80665
RHO0_KGPM3 = 1.225  # ISA sea-level density
SCALE_HEIGHT_M = 8500.0  # exponential-atmosphere scale height
FRAME = LocalFrame(33.3, 44.4, 0.0)
RADAR_ENU_M = np.array([-2000.0, -1500.0, 0.0])
SCAN_S = 0.5


def scipy_arc(speed_mps, elevation_deg, azimuth_deg, k_per_m, t_s):
    """Positions (len(t_s), 3) of a point mass launched from the origin: dv/dt = -g z -
    k rho(h)/rho0 |v| v, flown by solve_ivp, sampled at ``t_s`` (before impact)."""
    el, az = np.radians(elevation_deg), np.radians(azimuth_deg)
    v0 = speed_mps * np.array([np.cos(el) * np.sin(az), np.cos(el) * np.cos(az), np.sin(el)])

    def rhs(_t, y):
        v = y[3:]
        drag = k_per_m * np.exp(-y[2] / SCALE_HEIGHT_M) * np.linalg.norm(v) * v
        return np.concatenate([v, -drag - np.array([0.0, 0.0, G_MPS2])])

    sol = solve_ivp(
        rhs, (0.0, t_s[-1]), np.r_[0.0, 0.0, 0.0, v0], t_eval=t_s, method="DOP853", rtol=1e-10
    )
    return sol.y[:3].T


def plots_of(pos_enu_m, t_s, sigma, rng):
    """Plots of positions seen from RADAR_ENU_M with noise ``sigma`` (m, rad, rad)."""
    d = pos_enu_m - RADAR_ENU_M
    rng_m = np.linalg.norm(d, axis=1)
    az = np.arctan2(d[:, 0], d[:, 1])
    el = np.arcsin(d[:, 2] / rng_m)
    n = t_s.size
    noise = rng.standard_normal((3, n)) * np.asarray(sigma)[:, None]
    return Plots(
        time_s=t_s,
        sensor=np.zeros(n, dtype=int),
        range_m=rng_m + noise[0],
        az_rad=az + noise[1],
        el_rad=el + noise[2],
        range_rate_mps=np.full(n, np.nan),
        snr_db=np.full(n, np.nan),
        arrival_s=t_s,
        truth_id=np.zeros(n, dtype=int),
    )


def run_chain(plots, sigma):
    """Tracker, classifier and predict stage over ``plots``, stepped like the engine. Per
    confirmed update: (time, IMM ballistic probability, P(ballistic), class, whether the
    predict stage then holds a ballistic prediction of the track, made at which time)."""
    sensor = TrackerSensor(
        id="r1",
        pos_enu_m=RADAR_ENU_M,
        sigma_range_m=sigma[0],
        sigma_az_rad=sigma[1],
        sigma_el_rad=sigma[2],
        scan_s=SCAN_S,
    )
    tracker = Tracker([sensor], TrackerConfig(filter="imm"))
    predict = PredictStage(FRAME, tracker.model)
    seen, rows = 0, []
    for t in np.arange(0.0, plots.time_s[-1] + 4.0, SCAN_S):
        tracker.add(plots.take((plots.time_s > t - SCAN_S) & (plots.time_s <= t)))
        tracker.step(float(t))
        new, seen = tracker.updates[seen:], len(tracker.updates)
        _events, classified = confirmed_track_events(float(t), new, tracker, FRAME)
        predict.step(float(t), classified, [d[0] for d in tracker.deleted])
        for c in classified:
            kept = predict.current.get(c.update.track_id)
            made = None if kept is None or kept.origin_s is None else kept.measured_s
            rows.append(
                (c.update.t_s, c.update.mode_prob[0], c.ballistic_prob, c.track_class, made)
            )
    return tracker, predict, rows


@pytest.fixture(scope="module")
def noisy_mortar():
    """A 120 mm-class bomb (300 m/s, 60 deg) seen at 2 Hz with angle noise coarse enough
    that the IMM's ballistic-mode probability falls below 0.5 during the flight."""
    t = np.arange(6.0, 40.0, SCAN_S)
    sigma = (20.0, 6e-3, 6e-3)
    pos = scipy_arc(300.0, 60.0, 40.0, 4.0e-5, t)
    keep = pos[:, 2] > 50.0
    plots = plots_of(pos[keep], t[keep], sigma, np.random.default_rng(1))
    return run_chain(plots, sigma)


def test_a_noisy_ballistic_arc_is_predicted_at_every_update(noisy_mortar):
    tracker, predict, rows = noisy_mortar
    assert len(confirmed_updates(tracker)) == 1
    mu = np.array([r[1] for r in rows])
    p_b = np.array([r[2] for r in rows])
    t = np.array([r[0] for r in rows])
    # the case the issue describes: the IMM doubts the arc mid-flight
    assert (mu[(t > 14.0) & (t < 32.0)] < 0.5).any()
    # every update whose ballistic hypothesis is not ruled out is predicted afresh
    fresh = [r for r in rows if r[2] > 0.05]
    assert all(r[4] == r[0] for r in fresh)
    assert any(r[1] < 0.5 for r in fresh)
    # and from the first prediction on, the predict stage holds one at every update
    first = next(k for k, r in enumerate(rows) if r[4] is not None)
    assert first <= 2
    assert all(r[4] is not None for r in rows[first:])
    # the weight the warning uses is the probability of the ballistic hypothesis
    assert all(0.0 < q.ballistic_prob <= 1.0 for q in predict.log)
    assert np.isclose(sorted(q.ballistic_prob for q in predict.log)[0], p_b[p_b > 0.05].min())


def test_the_track_file_keeps_every_prediction_the_track_made(noisy_mortar):
    tracker, predict, _rows = noisy_mortar
    doc = build_track_output(tracker, FRAME, history=True)
    (track,) = doc["tracks"]
    ups = [u for u in track["updates"] if u["ballistic_prob"] > 0.05 and u["alt_m"] > 100.0]
    assert len(ups) >= 0.9 * len(track["updates"]) - 3
    assert all(u["impact"] is not None and u["origin"] is not None for u in ups)
    # the predict stage's log and the file agree on which confirmed updates were predicted
    made = {round(q.measured_s, 6) for q in predict.log}
    in_file = {u["time_s"] for u in track["updates"] if u["confirmed"] and u["impact"]}
    assert in_file <= made


def test_a_mortar_fired_at_44_degrees_is_classed_mortar():
    """Recorded 120 mm firings left at 44 deg (issue 13's real radar logs)."""
    t = np.arange(5.0, 45.0, SCAN_S)
    sigma = (3.0, 1e-3, 1e-3)
    pos = scipy_arc(250.0, 44.0, 120.0, 3.0e-5, t)
    keep = pos[:, 2] > 50.0
    tracker, _predict, rows = run_chain(
        plots_of(pos[keep], t[keep], sigma, np.random.default_rng(5)), sigma
    )
    by_track = confirmed_updates(tracker)
    assert set(track_classes(tracker, by_track).values()) == {"mortar"}
    mature = [r for r in rows if r[2] > 0.5]
    assert np.mean([r[3] == "mortar" for r in mature]) > 0.8


def test_a_slow_level_helicopter_is_not_classed_ballistic():
    """A helicopter in level flight, 50 m/s at 150 m: never predicted as a ballistic threat."""
    t = np.arange(0.0, 60.0, SCAN_S)
    pos = np.stack([-1500.0 + 50.0 * t, 800.0 + 0.0 * t, 150.0 + 0.0 * t], axis=1)
    sigma = (5.0, 1e-3, 1e-3)
    tracker, predict, rows = run_chain(plots_of(pos, t, sigma, np.random.default_rng(9)), sigma)
    by_track = confirmed_updates(tracker)
    assert by_track
    assert not set(track_classes(tracker, by_track).values()) & set(BALLISTIC_CLASSES)
    assert all(r[2] <= 0.05 for r in rows)
    assert predict.log == []
