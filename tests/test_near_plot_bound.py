"""The near-plot bound (opencram.track.association.predicted_position_bound) against the
full prediction on random cases: it must be conservative, or the tracker would skip a
track that could gate a plot (issue 14 point 4)."""

import numpy as np
import pytest

from opencram.sense.plots import Plots
from opencram.track.association import candidate_pairs, predicted_position_bound
from opencram.track.filters import EKFFilter, IMMFilter
from opencram.track.imm import IMM
from opencram.track.measurement import Frame
from opencram.track.models import BallisticModel
from opencram.track.tracks import TrackTable

MODEL = BallisticModel()


def _spd(rng, n, sd):
    """Random covariances (n, d, d) with standard deviations of the order of ``sd``."""
    d = sd.size
    a = rng.normal(size=(n, d, d)) * sd[None, :, None] * rng.uniform(0.05, 1.0, (n, 1, 1))
    return a @ np.swapaxes(a, 1, 2) / d + np.eye(d) * (1e-3 * sd**2)


def _tracks(rng, n, scale=1.0):
    """Random IMM tracks: rounds and drones, modes that disagree, wide and narrow spreads."""
    speed = rng.uniform(5.0, 700.0, n)
    el = np.radians(rng.uniform(-70.0, 70.0, n))
    az = rng.uniform(0.0, 2 * np.pi, n)
    v = speed[:, None] * np.column_stack(
        [np.cos(el) * np.sin(az), np.cos(el) * np.cos(az), np.sin(el)]
    )
    pos = np.column_stack([rng.uniform(-1e4, 1e4, (n, 2)), rng.uniform(0.0, 8000.0, n)])
    x8 = np.column_stack([pos, v, rng.uniform(0.0, 6.0, n), rng.normal(0, 0.1, n)])
    xm = x8[:, None, :] + rng.normal(size=(n, 3, 8)) * np.array([30, 30, 30, 8, 8, 8, 0.3, 0.02])
    xm[:, :, 6] = np.abs(xm[:, :, 6])
    sd = np.array([300.0, 300.0, 300.0, 60.0, 60.0, 60.0, 1.5, 0.1])
    pm = _spd(rng, 3 * n, sd * scale).reshape(n, 3, 8, 8)
    mu = rng.dirichlet(np.ones(3), n)
    x7 = np.einsum("nj,njd->nd", mu, xm)[:, :7]
    p7 = pm[:, 0, :7, :7]
    return TrackTable(x=x7, p=p7, t_s=np.zeros(n), xm=xm, pm=pm, mu=mu)


@pytest.mark.parametrize("name", ["ekf", "imm"])
def test_bound_holds_the_full_prediction(name):
    rng = np.random.default_rng(7 if name == "imm" else 8)
    n = 400
    tracks = _tracks(rng, n)
    flt = IMMFilter(IMM(ballistic=MODEL)) if name == "imm" else EKFFilter(MODEL)
    dt = rng.uniform(0.0, 10.0, n)
    rows = np.arange(n)
    x, p = flt.predict(tracks, rows, dt)
    if name == "imm":
        imm = flt.imm
        noise = (max(m.q_acc_mps2 for m in imm.models), MODEL.q_kappa, imm.ct.q_omega_radps)
        xm, pm = tracks.xm, tracks.pm
    else:
        noise, xm, pm = (MODEL.q_acc_mps2, MODEL.q_kappa, 0.0), tracks.x[:, None], tracks.p[:, None]
    centre, r_mean, sd, speed = predicted_position_bound(xm, pm, dt, *noise)
    miss = np.linalg.norm(x[:, :3] - centre, axis=1)
    assert (miss <= r_mean).all(), (miss - r_mean).max()
    sd_true = np.sqrt(np.linalg.eigvalsh(p[:, :3, :3])[:, -1])
    assert (sd_true <= sd).all(), (sd_true / sd).max()
    assert (np.linalg.norm(x[:, 3:6], axis=1) <= speed).all()
    # the bound is not vacuous: over a scan or two it is within a small factor of the truth
    short = dt < 2.0
    assert np.median(sd[short] / sd_true[short]) < 10.0


def _frame(rng, near, n_clutter):
    """A frame of one radar at the origin: plots near ``near`` (k, 3) and clutter."""
    pos = np.vstack([near, rng.uniform([-2e4, -2e4, 0], [2e4, 2e4, 9e3], (n_clutter, 3))])
    m = pos.shape[0]
    rng_m = np.linalg.norm(pos, axis=1)
    z = np.column_stack(
        [rng_m, np.arctan2(pos[:, 0], pos[:, 1]), np.arcsin(pos[:, 2] / rng_m), np.full(m, np.nan)]
    )
    r = np.repeat(np.diag([25.0, 1e-6, 1e-6, 1.0])[None], m, axis=0)
    t = rng.uniform(0.0, 1.0, m)
    plots = Plots(
        time_s=t,
        sensor=np.zeros(m, dtype=np.int64),
        range_m=z[:, 0],
        az_rad=z[:, 1],
        el_rad=z[:, 2],
        range_rate_mps=z[:, 3],
        snr_db=np.full(m, 20.0),
        arrival_s=t,
        truth_id=np.full(m, -1),
    )
    return Frame(plots=plots, z=z, r=r, sensor_enu_m=np.zeros((m, 3)))


@pytest.mark.parametrize("name", ["ekf", "imm"])
def test_no_track_with_a_candidate_plot_is_left_unpredicted(name):
    """End to end: every track whose full prediction has a k-d tree candidate (the
    associator's necessary condition for the gate) is kept by ``near_plots``."""
    rng = np.random.default_rng(11)
    n = 300
    tracks = _tracks(rng, n, scale=0.2)
    tracks.t_s = -rng.uniform(0.0, 5.0, n)
    flt = IMMFilter(IMM(ballistic=MODEL)) if name == "imm" else EKFFilter(MODEL)
    rows = np.arange(n)
    x, p = flt.predict(tracks, rows, 0.5 - tracks.t_s)
    near = x[::3, :3] + rng.normal(0, 100, (len(x[::3]), 3))  # plots near a third of them
    near[:, 2] = np.abs(near[:, 2]) + 10.0
    frame = _frame(rng, near, 60)
    t_ref = float(np.median(frame.plots.time_s))
    x, p = flt.predict(tracks, rows, t_ref - tracks.t_s)
    ti, _ = candidate_pairs(
        x, p, t_ref, frame.z, frame.r, frame.sensor_enu_m, frame.plots.time_s, 0.999
    )
    keep = flt.near_plots(tracks, rows, t_ref, frame, 0.999)
    assert np.unique(ti).size > 30
    assert keep[np.unique(ti)].all()
    assert keep.sum() < n  # and some tracks far from every plot are skipped
