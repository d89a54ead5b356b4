"""A scenario's threat may name its charge; otherwise the world is built with the charge the
aim solver chose (the lowest that reaches, FT 81-AR-2's choice for the M252: 1,000 m is a
charge 1 shot, its tables give charge 0 up to 482 m only), and every flight knows the
site's latitude (Earth rotation on)."""

import numpy as np
import pytest

from opencram.c2.world import compile_world
from opencram.errors import UserError
from opencram.scenario.load import parse

SITE = "name: x\nsite: {lat: 33.3, lon: 44.4}\nthreats:\n"
M252_1KM = (
    "  - type: mortar-81mm\n    launch: {lat: 33.3, lon: 44.4}\n    aim: {lat: 33.309, lon: 44.4}\n"
)


def test_the_world_fires_the_chosen_charge_and_knows_the_latitude():
    world = compile_world(parse(SITE + M252_1KM))
    r = world.truth.rounds[0]
    assert r.type.charge == "1"
    assert r.type.muzzle_velocity_mps == dict(r.type.charges)["1"]
    assert world.env.site_lat_deg == pytest.approx(33.3)
    assert np.any(world.env.omega_enu_radps)
    # the round lands on its aim point with the rotation on (the aim solver saw it too)
    miss = np.hypot(*(world.truth.impact_points()[0, :2] - r.aim_enu_m[:2]))
    assert miss < 1.0


def test_a_named_charge_is_fired():
    world = compile_world(parse(SITE + M252_1KM + '    charge: "3"\n'))
    r = world.truth.rounds[0]
    assert r.type.charge == "3" and np.degrees(r.qe_rad) > 70.0


def test_an_unknown_charge_is_a_one_line_user_error_naming_the_field():
    with pytest.raises(UserError) as err:
        compile_world(parse(SITE + M252_1KM + '    charge: "7"\n'))
    msg = str(err.value)
    assert "threats[0].charge" in msg and "'7'" in msg and "\n" not in msg
