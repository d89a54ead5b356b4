"""JPDA: belief-propagation marginals against exact enumeration of joint association
events, the PDA update against the EKF update in the single-plot limit, and a salvo."""

import itertools

import numpy as np
import pytest
import yaml

from opencram.c2.engine import run
from opencram.c2.world import compile_world
from opencram.scenario.load import builtin_text, parse
from opencram.track.ekf import ekf_update
from opencram.track.history import confirmed_updates
from opencram.track.jpda import association_marginals, pda_update
from opencram.track.measurement import innovation, measurement_jacobian, predict_measurement


def exact_marginals(w: np.ndarray):
    """Enumerate every joint event (each track takes at most one plot, each plot at most one
    track); an event's weight is the product of its pairs' likelihood ratios."""
    n, m = w.shape
    beta = np.zeros((n, m))
    beta0 = np.zeros(n)
    total = 0.0
    for assign in itertools.product(*[[-1, *range(m)] for _ in range(n)]):
        used = [a for a in assign if a >= 0]
        if len(used) != len(set(used)):
            continue
        weight = np.prod([w[i, a] for i, a in enumerate(assign) if a >= 0])
        if weight == 0:
            continue
        total += weight
        for i, a in enumerate(assign):
            if a >= 0:
                beta[i, a] += weight
            else:
                beta0[i] += weight
    return beta / total, beta0 / total


@pytest.mark.parametrize("seed", range(6))
def test_belief_propagation_marginals_match_exact_jpda(seed):
    rng = np.random.default_rng(seed)
    n, m = rng.integers(2, 5), rng.integers(2, 5)
    w = rng.exponential(3.0, (n, m)) * (rng.random((n, m)) < 0.7)  # some pairs not gated
    ti, pj = np.nonzero(w)
    beta, beta0 = association_marginals(ti, pj, w[ti, pj], n, m)
    ref, ref0 = exact_marginals(w)
    np.testing.assert_allclose(beta, ref[ti, pj], atol=0.05)
    np.testing.assert_allclose(beta0, ref0, atol=0.05)
    # probabilities of each track sum to one
    np.testing.assert_allclose(np.bincount(ti, beta, minlength=n) + beta0, 1.0, atol=1e-9)


def test_exact_on_a_tree_shaped_problem():
    """Belief propagation is exact when the association graph has no loop."""
    w = np.array([[2.0, 0.5, 0.0], [0.0, 1.5, 0.0], [0.0, 0.0, 4.0]])
    ti, pj = np.nonzero(w)
    beta, beta0 = association_marginals(ti, pj, w[ti, pj], 3, 3)
    ref, ref0 = exact_marginals(w)
    np.testing.assert_allclose(beta, ref[ti, pj], atol=1e-8)
    np.testing.assert_allclose(beta0, ref0, atol=1e-8)


def test_pda_with_one_certain_plot_is_the_ekf_update():
    rng = np.random.default_rng(0)
    x = np.array([[500.0, 3000.0, 800.0, 20.0, -250.0, 60.0, 1.5]])
    a = rng.normal(size=(7, 7))
    p = (a @ a.T + np.eye(7) * 30)[None]
    spos = np.zeros((1, 3))
    z = predict_measurement(x, spos) + np.array([[12.0, 1e-3, -2e-3, 0.5]])
    r = np.diag([100.0, 4e-6, 4e-6, 1.0])[None]
    xe, pe, _, _ = ekf_update(x, p, z, r, spos)
    h = measurement_jacobian(x, spos)
    nu = innovation(z.copy(), predict_measurement(x, spos))
    xp, pp = pda_update(x, p, h, r, nu, np.array([0]), np.array([1.0]), np.array([0.0]))
    np.testing.assert_allclose(xp, xe, rtol=1e-9)
    # Joseph and standard forms of the same update
    np.testing.assert_allclose(pp, pe, rtol=1e-6, atol=1e-6)


def test_jpda_tracks_the_grad_salvo():
    d = yaml.safe_load(builtin_text("grad-salvo"))
    d["tracking"] = {"filter": "ekf", "association": "jpda"}
    d["weapons"] = []  # every round flies to the ground
    res = run(compile_world(parse(yaml.safe_dump(d), "grad")))
    by_track = confirmed_updates(res.tracker)
    truths = {max(set(i := [u.truth_id for u in ups]), key=i.count) for ups in by_track.values()}
    assert truths == set(range(20))
    assert len(by_track) == 20
    for ups in by_track.values():
        ids = [u.truth_id for u in ups]
        assert max(ids.count(i) for i in set(ids)) / len(ids) >= 0.95


def test_jpda_needs_the_ekf():
    d = yaml.safe_load(builtin_text("grad-salvo"))
    d["tracking"] = {"filter": "imm", "association": "jpda"}
    from opencram.errors import UserError

    with pytest.raises(UserError) as exc:
        parse(yaml.safe_dump(d), "g.yaml")
    assert "tracking: association 'jpda' works with filter 'ekf'" in exc.value.problems[0]
