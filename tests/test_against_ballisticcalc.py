"""Drag tables and flat-fire trajectories against py-ballisticcalc (independent solver).

A projectile defined by a G1 or G7 table with our form factor becomes a py-ballisticcalc
DragModel with BC = m / (i d^2) in lb/in^2; both fly in the ICAO standard atmosphere with
no wind from sea level, and drop and velocity at 500 m and 1000 m must agree within 1 %.
"""

import numpy as np
import pytest
from py_ballisticcalc import Ammo, Atmo, Calculator, DragModel, Shot, TableG1, TableG7, Unit
from py_ballisticcalc import Weapon as PBCWeapon

from opencram.physics.drag import cd_standard, table_index, table_points
from opencram.physics.environment import Environment, FlatTerrain
from opencram.physics.trajectory import ProjectileBatch, fly

PBC_TABLES = {"G1": TableG1, "G7": TableG7}
LB_PER_KG = 1 / 0.45359237
IN_PER_M = 1 / 0.0254


@pytest.mark.parametrize("name,table", [("G1", TableG1), ("G7", TableG7)])
def test_drag_tables_are_the_standard_ones(name, table):
    mach, cd = table_points(name)
    np.testing.assert_allclose(mach, [p["Mach"] for p in table])
    np.testing.assert_allclose(cd, [p["CD"] for p in table])
    # the resampled lookup reproduces every published point exactly
    np.testing.assert_allclose(
        cd_standard(np.full(mach.size, table_index(name)), mach), cd, atol=1e-12
    )


def _ours(mass_kg, diam_m, form_factor, table, v0_mps, distances_m):
    params = ProjectileBatch(
        mass_kg=np.array([mass_kg]),
        area_m2=np.array([np.pi / 4 * diam_m**2]),
        form_factor=np.array([form_factor]),
        drag_table=np.array([table_index(table)]),
        propellant_kg=np.zeros(1),
        burn_time_s=np.zeros(1),
        thrust_n=np.zeros(1),
    )
    env = Environment(site_alt_m=0.0, terrain=FlatTerrain(up_m=-5000.0))
    f = fly(
        np.zeros((1, 3)),
        np.array([[0.0, v0_mps, 0.0]]),
        params,
        env,
        dt_s=0.005,
        max_time_s=8.0,
        record=True,
    )
    y = f.pos_enu_m[:, 0, 1]
    out = []
    for d in distances_m:
        k = int(np.searchsorted(y, d))
        s = (d - y[k - 1]) / (y[k] - y[k - 1])
        z = (1 - s) * f.pos_enu_m[k - 1, 0, 2] + s * f.pos_enu_m[k, 0, 2]
        v = (1 - s) * f.vel_enu_mps[k - 1, 0] + s * f.vel_enu_mps[k, 0]
        out.append((-z, float(np.linalg.norm(v))))
    return out


def _theirs(mass_kg, diam_m, form_factor, table, v0_mps, distances_m):
    bc = mass_kg * LB_PER_KG / ((diam_m * IN_PER_M) ** 2) / form_factor
    dm = DragModel(
        bc, PBC_TABLES[table], Unit.Kilogram(mass_kg), Unit.Meter(diam_m), Unit.Meter(4 * diam_m)
    )
    shot = Shot(
        weapon=PBCWeapon(sight_height=Unit.Meter(0)),
        ammo=Ammo(dm, Unit.MPS(v0_mps)),
        atmo=Atmo.icao(altitude=Unit.Meter(0)),
    )
    res = Calculator().fire(
        shot,
        trajectory_range=Unit.Meter(max(distances_m)),
        trajectory_step=Unit.Meter(min(distances_m)),
    )
    rows = {round(r.distance >> Unit.Meter): r for r in res.records}
    return [(-(rows[d].height >> Unit.Meter), rows[d].velocity >> Unit.MPS) for d in distances_m]


@pytest.mark.parametrize(
    "mass_kg,diam_m,form_factor,table,v0_mps",
    [
        (4.2, 0.081, 0.5738, "G1", 290.0),  # 81 mm mortar bomb (library form factor)
        (42.9, 0.155, 0.512, "G1", 684.0),  # 155 mm shell, supersonic through transonic
        (42.9, 0.155, 1.0, "G7", 684.0),  # the same shell described by G7
        (0.0097, 0.00782, 1.0, "G7", 850.0),  # a rifle bullet, the package's home ground
    ],
)
def test_drop_and_velocity_at_500_and_1000_m_within_one_percent(
    mass_kg, diam_m, form_factor, table, v0_mps
):
    distances = [500, 1000]
    ours = _ours(mass_kg, diam_m, form_factor, table, v0_mps, distances)
    theirs = _theirs(mass_kg, diam_m, form_factor, table, v0_mps, distances)
    for (drop, v), (drop_ref, v_ref) in zip(ours, theirs, strict=True):
        assert drop == pytest.approx(drop_ref, rel=0.01)
        assert v == pytest.approx(v_ref, rel=0.01)
