"""Engagement rules on small hand-made scenarios: a threat headed for open ground, a friendly
helicopter in the line of fire, a gun that runs dry; and the burst model."""

import numpy as np
import pytest
import yaml

from opencram.c2.engine import run
from opencram.c2.world import compile_world
from opencram.engage.tewa import assign, burst_kill_probability, round_hit_probability
from opencram.scenario.load import parse

EMBASSY = [[33.30111, 44.39117], [33.30111, 44.40083], [33.29689, 44.40083], [33.29689, 44.39117]]


def _doc(**extra):
    doc = {
        "name": "engage-test",
        "site": {"lat": 33.307577, "lon": 44.390259, "alt_m": 34.0},
        "zones": [{"name": "Embassy", "kind": "protected", "value": 10, "polygon": EMBASSY}],
        "sensors": [{"id": "r1", "lat": 33.2985, "lon": 44.3945}],
        "weapons": [{"id": "g1", "lat": 33.3000, "lon": 44.3935}],
        "threats": [
            {
                "id": "rk",
                "type": "rocket-107mm",
                "launch": {"lat": 33.25139, "lon": 44.39194},
                "aim": {"lat": 33.299, "lon": 44.396},
            }
        ],
        "simulation": {"duration_s": 90, "seed": 7},
    }
    doc.update(extra)
    return doc


def _scenario(**extra):
    return run(compile_world(parse(yaml.safe_dump(_doc(**extra)), "engage-test")))


def test_a_threat_to_the_embassy_is_engaged():
    res = _scenario()
    assert res.engagements, "the gun should engage a rocket aimed at the embassy"
    b = res.engagements[0]
    assert b.gun == "g1" and b.rounds == 75 and 0 < b.p_kill <= 1
    assert b.intercept_s > b.fire_s > b.decided_s


def test_a_threat_headed_for_open_ground_is_not_engaged():
    threats = [
        {
            "id": "far",
            "type": "rocket-107mm",
            "launch": {"lat": 33.25139, "lon": 44.39194},
            "aim": {"lat": 33.2900, "lon": 44.3700},  # 2.5 km west of the embassy
        }
    ]
    res = _scenario(threats=threats)
    assert not res.engagements
    assert any("outside the protected zones" in r for r in res.not_engaged.values())


def test_no_fire_with_a_friendly_helicopter_in_the_line_of_fire():
    # a helicopter hovering (slowly circling) between the gun and the rocket's approach
    heli = {
        "id": "heli",
        "speed_mps": 5,
        "waypoints": [
            {"lat": 33.2935, "lon": 44.3945, "alt_m": 334},
            {"lat": 33.2925, "lon": 44.3950, "alt_m": 334},
            {"lat": 33.2935, "lon": 44.3955, "alt_m": 334},
        ],
    }
    res = _scenario(aircraft=[heli])
    assert not res.engagements
    assert any("friendly aircraft" in r for r in res.not_engaged.values())


def test_a_gun_that_runs_dry_reloads_before_firing_again():
    threats = [
        {
            "id": "rk",
            "type": "rocket-107mm",
            "launch": {"lat": 33.25139, "lon": 44.39194},
            "aim": {"lat": 33.299, "lon": 44.396},
            "salvo": {"count": 3, "interval_s": 3.0},
        }
    ]
    weapons = [{"id": "g1", "lat": 33.3000, "lon": 44.3935, "ammo_rounds": 75, "reload_s": 600}]
    res = _scenario(threats=threats, weapons=weapons)
    assert len(res.engagements) == 1  # one burst of 75 empties the drum
    assert res.engagements[0].ammo_left == 0
    assert any(r == "no gun free" for r in res.not_engaged.values())


def _monte_carlo_burst_kills(rng, n_bursts, n_rounds, range_m, disp_mrad, track_m, radius_m, k):
    """Bursts with at least one kill, out of ``n_bursts``, drawn round by round from the
    geometry: each round misses the target centre by a dispersion offset (per-axis sigma
    range x dispersion) plus an aim-error offset (per-axis sigma the track's position sigma),
    both circular Gaussians drawn afresh for every round as the model assumes; a round within
    the target radius hits, and a hit kills with probability ``k``."""
    killed = 0
    for start in range(0, n_bursts, 5000):
        m = min(5000, n_bursts - start)
        miss_m = rng.normal(0.0, range_m * disp_mrad * 1e-3, (m, n_rounds, 2))
        miss_m += rng.normal(0.0, track_m, (m, n_rounds, 2))
        hit = np.hypot(miss_m[..., 0], miss_m[..., 1]) < radius_m
        kill = hit & (rng.random((m, n_rounds)) < k)
        killed += int(kill.any(axis=1).sum())
    return killed


def test_burst_model():
    """The burst kill probability against a Monte Carlo of rounds (40,000 bursts per case,
    seeded): the model must fall within 4 binomial sigmas of the simulated kill fraction."""
    disp_mrad, track_m, radius_m = 3.0, 5.0, 1.0
    p = round_hit_probability(np.array([500.0, 2000.0]), disp_mrad, track_m, radius_m)
    assert p[0] > p[1] > 0
    assert burst_kill_probability(0.0, 75, 0.3) == 0.0
    rng = np.random.default_rng(20261201)
    n_bursts = 40_000
    for range_m, n_rounds, k in [(500.0, 75, 0.3), (2000.0, 75, 0.3), (300.0, 10, 0.8)]:
        p_hit = round_hit_probability(range_m, disp_mrad, track_m, radius_m)
        model = float(burst_kill_probability(p_hit, n_rounds, k))
        args = (n_rounds, range_m, disp_mrad, track_m, radius_m, k)
        frac = _monte_carlo_burst_kills(rng, n_bursts, *args) / n_bursts
        sigma = np.sqrt(model * (1.0 - model) / n_bursts)
        assert 0.05 < model < 0.95  # the tolerance is tight: neither a sure kill nor a miss
        assert frac == pytest.approx(model, abs=4.0 * sigma), (range_m, n_rounds, k)
    # each gun takes the threat where it adds most value
    assert sorted(assign(np.array([[0.9, 0.1], [0.8, 0.2]]))) == [(0, 0), (1, 1)]
    assert assign(np.zeros((2, 2))) == []


NORTH_AREA = [[33.318, 44.33], [33.318, 44.48], [33.40, 44.48], [33.40, 44.33]]
FROM_NORTH = [
    {
        "id": "rk",
        "type": "rocket-107mm",
        "launch": {"lat": 33.3480, "lon": 44.3960},
        "aim": {"lat": 33.299, "lon": 44.396},
    }
]


def _dud_points(res):
    from opencram.engage.collateral import dud_impacts
    from opencram.engage.firecontrol import GunModel

    w = res.world
    spec = w.scenario.weapons[0]
    gun = GunModel.build(spec, w.frame.to_enu(spec.lat, spec.lon, w.scenario.site.alt_m), w.env)
    az = np.array([b.az_rad for b in res.engagements])
    el = np.array([b.el_rad for b in res.engagements])
    return dud_impacts(gun, az, el, w.env)[0]


def test_no_fire_while_duds_would_fall_on_a_no_fire_zone():
    zones = [
        {"name": "Embassy", "kind": "protected", "value": 10, "polygon": EMBASSY},
        {"name": "City", "kind": "no-fire", "polygon": NORTH_AREA},
    ]
    free = _scenario(zones=zones[:1], threats=FROM_NORTH)
    held = _scenario(zones=zones, threats=FROM_NORTH)
    assert free.engagements
    # fire towards the city is held; if the gun fires at all, it is later, once its duds
    # would fall elsewhere
    city = held.world.zones.polygons_enu[1]
    import shapely

    free_duds = _dud_points(free)
    assert shapely.contains_xy(city, free_duds[:, 0], free_duds[:, 1]).any()
    if held.engagements:
        duds = _dud_points(held)
        assert not shapely.contains_xy(city, duds[:, 0], duds[:, 1]).any()
        assert held.engagements[0].fire_s > free.engagements[0].fire_s


def test_footprint_on_a_valuable_protected_zone_outweighs_a_cheap_target():
    zones = [
        {"name": "Depot", "kind": "protected", "value": 1, "polygon": EMBASSY},
        {"name": "Hospital district", "kind": "protected", "value": 50, "polygon": NORTH_AREA},
    ]
    cheap = _scenario(zones=zones, threats=FROM_NORTH)
    import shapely

    hospital = cheap.world.zones.polygons_enu[1]
    if cheap.engagements:
        duds = _dud_points(cheap)
        assert not shapely.contains_xy(hospital, duds[:, 0], duds[:, 1]).any()
    # with a valuable target the same shots are worth their duds
    zones[0]["value"] = 500
    dear = _scenario(zones=zones, threats=FROM_NORTH)
    assert dear.engagements
    assert not cheap.engagements or cheap.engagements[0].fire_s > dear.engagements[0].fire_s


def test_no_fire_sector_of_a_gun():
    from opencram.engage.rules import in_sectors
    from opencram.scenario.schema import Sector

    wrap = [Sector(from_deg=350, to_deg=20)]
    assert in_sectors(np.radians(5.0), wrap) and in_sectors(np.radians(355.0), wrap)
    assert not in_sectors(np.radians(180.0), wrap)
    # the gun may not fire into its southern half (east, clockwise through south, to west),
    # and the rocket comes from the south: it is never engaged
    weapons = [
        {
            "id": "g1",
            "lat": 33.3000,
            "lon": 44.3935,
            "no_fire_sectors": [{"from_deg": 90, "to_deg": 270}],
        }
    ]
    res = _scenario(weapons=weapons)
    assert not res.engagements
    assert any("no-fire sector of g1" in r for r in res.not_engaged.values())


def test_no_fire_while_debris_would_fall_on_a_valuable_protected_zone():
    """The threat heads for a cheap depot; a hospital district lies beside it, out of the
    threat's lethal reach but inside the debris field of an intercept (a 250 m debris
    radius). With no duds (dud_rate 0) only the debris footprint can hold fire."""
    import shapely

    probe = compile_world(parse(yaml.safe_dump(_doc()), "engage-test"))
    impact = probe.truth.impact_points()[0]
    frame = probe.frame

    def square(e0, e1, n0, n1):
        pts = [(e0, n0), (e1, n0), (e1, n1), (e0, n1)]
        return [
            [round(float(v), 7) for v in frame.to_geodetic(impact + np.array([e, n, 0.0]))[:2]]
            for e, n in pts
        ]

    def zones(hospital_value):
        return [
            {"name": "Depot", "kind": "protected", "value": 1, "polygon": square(-60, 60, -60, 60)},
            {
                "name": "Hospital",
                "kind": "protected",
                "value": hospital_value,
                "polygon": square(150, 400, -300, 300),
            },
        ]

    weapons = [{"id": "g1", "lat": 33.3000, "lon": 44.3935, "dud_rate": 0.0}]
    wide = {"debris_radius_m": 250.0}

    def go(value):
        doc = _doc(zones=zones(value), weapons=weapons, engagement=wide)
        return run(compile_world(parse(yaml.safe_dump(doc), "engage-test")))

    held, free = go(100), go(1)
    assert free.engagements, "beside a cheap hospital district the gun fires"
    assert not held.engagements
    reasons = list(held.not_engaged.values())
    assert any("expected harm" in r for r in reasons), reasons
    withheld = [e for e in held.events if e.kind == "engagement_withheld"]
    assert withheld
    hospital = held.world.zones.polygons_enu[1]
    debris = [f for e in withheld for f in e.footprints if f.kind == "debris"]
    assert debris and not [f for e in withheld for f in e.footprints if f.kind == "dud"]
    # the debris disc reaches the hospital; the threat's own impact stays out of its reach
    f = debris[-1]
    centre = held.world.frame.to_enu(f.lat, f.lon, 0.0)
    assert shapely.Point(centre[:2]).buffer(f.radius_m).intersects(hospital)
    assert shapely.Point(impact[:2]).distance(hospital) > 33.0
