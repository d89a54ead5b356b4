"""Threat evaluation and weapon assignment (TEWA) and the burst model, batched.

Threat evaluation: a ballistic threat is worth engaging when the probability that it lands
in a protected zone (grown by its lethal radius) reaches ``threshold``; its priority is the
value-weighted probability over the protected zones divided by its time to impact, so
valuable, likely and imminent threats come first. Threats predicted to land in open ground
are not engaged.

Weapon assignment: every free gun and every threat worth engaging form a pair scored by
priority times the burst's kill probability (zero where the intercept is not feasible), and
scipy's ``linear_sum_assignment`` picks the assignment of greatest total value, one threat
per gun.

Burst: a gun fires ``rate * burst_s`` rounds; each hits when its miss in the plane across
the line of fire, Gaussian with variance ``(range * dispersion)^2 + track position
variance``, falls within ``target_radius_m`` (P = 1 - exp(-R^2 / 2 sigma^2)), and a hit
kills with ``p_kill_given_hit``. The burst kills with ``1 - (1 - P_hit P_kh)^N``.

That is the fire-control estimate. In simulation the burst's real effect is drawn from the
true miss: the aim point against where the threat really is at the intercept time, across
the line of fire, with the rounds' dispersion about the aim point; the chance that a round
passes within ``R`` of a target offset by ``m`` from the centre of a circular Gaussian
pattern is the Rice (non-central chi-square, 2 degrees of freedom) distribution,
``P = F_ncx2(R^2 / sigma^2; 2, m^2 / sigma^2)``.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import linear_sum_assignment
from scipy.stats import ncx2


def round_hit_probability(range_m, dispersion_mrad, track_sigma_m, target_radius_m):
    """Probability that one round passes within the target radius (per pair)."""
    sigma2 = (np.asarray(range_m) * dispersion_mrad * 1e-3) ** 2 + np.asarray(track_sigma_m) ** 2
    return 1.0 - np.exp(-(target_radius_m**2) / (2.0 * np.maximum(sigma2, 1e-9)))


def round_hit_probability_offset(miss_m, range_m, dispersion_mrad, target_radius_m):
    """Probability that one round passes within the target radius when the pattern's
    centre misses the target by ``miss_m`` across the line of fire (per pair)."""
    sigma2 = np.maximum((np.asarray(range_m) * dispersion_mrad * 1e-3) ** 2, 1e-9)
    return ncx2.cdf(target_radius_m**2 / sigma2, 2, np.asarray(miss_m) ** 2 / sigma2)


def burst_kill_probability(p_hit, n_rounds, p_kill_given_hit):
    return 1.0 - (1.0 - np.asarray(p_hit) * p_kill_given_hit) ** np.asarray(n_rounds)


def threat_priority(p_zone: np.ndarray, zone_values: np.ndarray, tti_s: np.ndarray):
    """Value-weighted protected-zone probability per unit time to impact, per threat."""
    return (p_zone @ zone_values) / np.maximum(tti_s, 1.0)


def assign(value: np.ndarray) -> list[tuple[int, int]]:
    """(gun, threat) pairs maximising total value over pairs with positive value."""
    if value.size == 0 or not np.any(value > 0):
        return []
    rows, cols = linear_sum_assignment(-np.where(value > 0, value, 0.0))
    return [(int(r), int(c)) for r, c in zip(rows, cols, strict=True) if value[r, c] > 0]
