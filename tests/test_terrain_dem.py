"""Terrain from a GeoTIFF DEM (issue 18 point 3), on a DEM this test writes with rasterio.

The DEM is a known function of latitude and longitude (:func:`dem_height_m`): a plain at
BASE_M, a hill under the launch point, an east-west ridge between the mortar and the radar
and a hill at the aim point. Authorities: that function, evaluated at geodetic points that
pymap3d (not the engine's frame) computes from the engine's ENU results, and a line of
sight traced here over the function along the radar's ray.
"""

import numpy as np
import pymap3d
import pytest
import rasterio
from rasterio.transform import from_origin
from rasterio.warp import transform as warp_transform

from opencram.analysis.summary import build_summary
from opencram.c2.engine import run
from opencram.c2.events import ImpactPredicted, OriginEstimated
from opencram.c2.world import compile_world
from opencram.errors import UserError
from opencram.geo import LocalFrame
from opencram.physics.drag import cd_standard, table_index
from opencram.physics.environment import FlatTerrain
from opencram.physics.terrain import load_dem
from opencram.predict.ground import predict_origin
from opencram.scenario.load import parse
from opencram.sense.radar import RadarModel, scan
from opencram.track.models import KAPPA_SCALE, BallisticModel

SITE = (33.0, 44.0, 100.0)  # lat, lon, alt_m of the site (the radar stands there)
BASE_M = 100.0
LAUNCH = (33.0225, 44.0)  # about 2.5 km north
AIM = (32.991, 44.0)  # about 1 km south
RIDGE_LAT = 33.0135  # about 1.5 km north
M_PER_DEG_LAT = 110_900.0  # near 33 N, for the shapes' widths only


def dem_height_m(lat, lon):
    """Ground height (m): plain, launch hill (+60 m), ridge (+300 m), aim hill (+80 m)."""
    lat, lon = np.asarray(lat, float), np.asarray(lon, float)
    dy_l = (lat - LAUNCH[0]) * M_PER_DEG_LAT
    dx_l = (lon - LAUNCH[1]) * M_PER_DEG_LAT * np.cos(np.radians(33.0))
    dy_a = (lat - AIM[0]) * M_PER_DEG_LAT
    dx_a = (lon - AIM[1]) * M_PER_DEG_LAT * np.cos(np.radians(33.0))
    ridge = 300.0 * np.exp(-0.5 * ((lat - RIDGE_LAT) * M_PER_DEG_LAT / 120.0) ** 2)
    hill_l = 60.0 * np.exp(-0.5 * (dx_l**2 + dy_l**2) / 300.0**2)
    hill_a = 80.0 * np.exp(-0.5 * (dx_a**2 + dy_a**2) / 250.0**2)
    return BASE_M + ridge + hill_l + hill_a


def write_dem(path, crs="EPSG:4326"):
    """A DEM of :func:`dem_height_m` over about 10 x 10 km, in ``crs`` (cells ~25 m)."""
    if crs == "EPSG:4326":
        res, west, north, cols, rows = 0.00025, 43.95, 33.05, 400, 400
        x = west + res * (np.arange(cols) + 0.5)
        y = north - res * (np.arange(rows) + 0.5)
        xx, yy = np.meshgrid(x, y)
        lon, lat = xx, yy
    else:
        (cx,), (cy,) = warp_transform("EPSG:4326", crs, [SITE[1]], [SITE[0]])
        res, cols, rows = 25.0, 400, 400
        west, north = cx - 5000.0, cy + 5000.0
        xx, yy = np.meshgrid(
            west + res * (np.arange(cols) + 0.5), north - res * (np.arange(rows) + 0.5)
        )
        lon, lat = warp_transform(crs, "EPSG:4326", xx.ravel(), yy.ravel())
        lon, lat = np.reshape(lon, xx.shape), np.reshape(lat, xx.shape)
    z = dem_height_m(lat, lon).astype("float32")
    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        width=cols,
        height=rows,
        count=1,
        dtype="float32",
        crs=crs,
        transform=from_origin(west, north, res, res),
    ) as ds:
        ds.write(z, 1)
    return path


SCENARIO = f"""
name: ridge
site: {{name: ridge, lat: {SITE[0]}, lon: {SITE[1]}, alt_m: {SITE[2]}}}
sensors:
  - {{id: radar, lat: {SITE[0]}, lon: {SITE[1]}, scan_s: 0.5}}
threats:
  - id: bomb
    type: mortar-82mm
    launch: {{lat: {LAUNCH[0]}, lon: {LAUNCH[1]}}}
    aim: {{lat: {AIM[0]}, lon: {AIM[1]}}}
    time_s: 1.0
simulation: {{dt_s: 0.05, duration_s: 60, seed: 3}}
"""


def _world(tmp_path, dem=True):
    text = SCENARIO
    if dem:
        write_dem(tmp_path / "dem.tif")
        text += "environment: {terrain: {dem: dem.tif}}\n"
    return compile_world(parse(text, "ridge.yaml", tmp_path))


def _geodetic(enu):
    enu = np.asarray(enu, float)
    return pymap3d.enu2geodetic(enu[..., 0], enu[..., 1], enu[..., 2], *SITE)


def test_impact_lies_on_the_hill_surface_per_the_dem_function(tmp_path):
    world = _world(tmp_path)
    f = world.truth.flight
    assert f.landed.all()
    lat, lon, alt = _geodetic(f.impact_pos_enu_m[0])
    assert alt > BASE_M + 30.0  # on the hill, not the plain
    assert abs(alt - dem_height_m(lat, lon)) < 1.0


def test_launch_point_stands_on_the_terrain(tmp_path):
    world = _world(tmp_path)
    lat, lon, alt = _geodetic(world.truth.rounds[0].launch_enu_m)
    assert alt > BASE_M + 50.0
    assert abs(alt - dem_height_m(lat, lon)) < 1.0


def _blocked_by_function(radar_enu, target_enu, samples=600):
    """The test's own line of sight: the ray sampled in ENU, each point's ground from
    :func:`dem_height_m` at pymap3d's latitude and longitude."""
    s = np.arange(1, samples)[:, None] / samples
    pts = radar_enu + s * (target_enu - radar_enu)
    lat, lon, alt = _geodetic(pts)
    return bool(np.any(alt < dem_height_m(lat, lon) - 2.0))


def test_round_behind_the_ridge_gives_no_plots(tmp_path):
    world = _world(tmp_path)
    radar = RadarModel.from_schema(
        world.scenario.sensors[0], world.frame, SITE[2], world.env.terrain
    )
    rng = np.random.default_rng(0)
    hidden_scans, seen_hidden, seen_visible = 0, 0, 0
    for t0 in np.arange(1.0, 1.0 + float(world.truth.flight.impact_t_s[0]), radar.scan_s):
        plots = scan(
            radar,
            t0,
            world.object_state_at,
            world.object_rcs_m2,
            [0],
            rng,
            terrain=world.env.terrain,
        )
        pos, _, active = world.object_state_at(np.array([t0]))
        hidden = bool(active[0]) and _blocked_by_function(radar.pos_enu_m, pos[0])
        hidden_scans += hidden
        for t in plots.time_s[plots.truth_id == 0]:
            p, _, _ = world.object_state_at(np.array([t]))
            if _blocked_by_function(radar.pos_enu_m, p[0]):
                seen_hidden += 1
            else:
                seen_visible += 1
    assert hidden_scans >= 3  # the climb behind the ridge spans several scans
    assert seen_hidden == 0
    assert seen_visible >= 20


def test_without_a_dem_the_ground_is_the_plane_at_site_altitude(tmp_path):
    world = _world(tmp_path, dem=False)
    assert isinstance(world.env.terrain, FlatTerrain)
    alt = _geodetic(world.truth.flight.impact_pos_enu_m[0])[2]
    assert abs(alt - SITE[2]) < 0.2  # the ENU plane: 0.08 m of curvature at 1 km


def _track_state(world, t_flight_s):
    """A round's true state as a tracker state (pos, vel, kappa at its Mach)."""
    r = world.truth.rounds[0]
    pos, vel, _ = world.object_state_at(np.array([r.launch_t_s + t_flight_s]))
    speed = float(np.linalg.norm(vel[0]))
    _, a, _ = world.env.air(pos[0, 2])
    t = r.type
    cd = t.form_factor * float(
        cd_standard(np.array([table_index(t.drag_table)]), np.array([speed / a]))[0]
    )
    kappa = cd * t.area_m2 / t.mass_kg / KAPPA_SCALE
    return np.r_[pos[0], vel[0], kappa][None, :]


def test_origin_flies_back_to_the_launch_hill(tmp_path):
    world = _world(tmp_path)
    x = _track_state(world, 6.0)
    p = np.diag([1.0, 1.0, 1.0, 0.1, 0.1, 0.1, 1e-4])[None]
    model = BallisticModel(env=world.env)
    on_dem = predict_origin(model, x, p, terrain=world.env.terrain)
    flat = predict_origin(model, x, p)
    assert on_dem.ok.all()
    true_en = world.truth.rounds[0].launch_enu_m[:2]
    err_dem = np.linalg.norm(on_dem.pos_en_m[0] - true_en)
    err_flat = np.linalg.norm(flat.pos_en_m[0] - true_en)
    assert err_dem < 15.0 and err_dem < 0.5 * err_flat
    lat, lon, alt = _geodetic(np.r_[on_dem.pos_en_m[0], on_dem.up_m[0]])
    assert abs(alt - dem_height_m(lat, lon)) < 1.0


def test_summary_impact_altitude_is_the_dem_height(tmp_path):
    world = _world(tmp_path)
    result = run(world)
    summary = build_summary(result)
    imp = summary["threats"][0]["impact"]
    assert abs(imp["alt_m"] - dem_height_m(imp["lat"], imp["lon"])) < 1.0
    launch = summary["threats"][0]["launch"]
    assert abs(launch["alt_m"] - dem_height_m(launch["lat"], launch["lon"])) < 1.0
    predicted = [e for e in result.events if isinstance(e, ImpactPredicted | OriginEstimated)]
    assert {type(e) for e in predicted} == {ImpactPredicted, OriginEstimated}
    for e in predicted:  # predicted points stand on the terrain under them
        assert abs(e.alt_m - dem_height_m(e.lat, e.lon)) < 1.0, e


def test_dem_in_utm_is_transformed_by_rasterio(tmp_path):
    frame = LocalFrame(*SITE)
    terrain = load_dem(write_dem(tmp_path / "utm.tif", "EPSG:32638"), frame)
    e, n = np.array([0.0, 300.0, -1200.0, 2500.0]), np.array([1500.0, -1000.0, 400.0, 2400.0])
    up = terrain.height_up_m(e, n)
    lat, lon, alt = _geodetic(np.stack([e, n, up], axis=-1))
    # bilinear error bound of the two resamplings (DEM cells, then the ENU grid), each
    # cell^2 / 8 * |h''|, largest on the ridge crest: |h''| = 300 m / (120 m)^2
    bound_m = 2 * 25.0**2 / 8 * 300.0 / 120.0**2
    np.testing.assert_allclose(alt, dem_height_m(lat, lon), atol=bound_m)
    assert abs(alt[1] - dem_height_m(lat[1], lon[1])) < 0.5  # off the crest, on the hill


def test_dem_without_crs_is_refused_with_one_line_naming_the_file(tmp_path):
    path = tmp_path / "nocrs.tif"
    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        width=4,
        height=4,
        count=1,
        dtype="float32",
        transform=from_origin(0, 4, 1, 1),
    ) as ds:
        ds.write(np.zeros((4, 4), "float32"), 1)
    with pytest.raises(UserError) as err:
        load_dem(path, LocalFrame(*SITE))
    assert "nocrs.tif" in str(err.value) and "\n" not in str(err.value)


def test_dem_with_nodata_or_not_a_raster_is_refused_naming_the_file(tmp_path):
    bad = tmp_path / "notraster.tif"
    bad.write_text("not a raster\n")
    holes = tmp_path / "holes.tif"
    z = np.full((4, 4), 100.0, "float32")
    z[1, 2] = -9999.0
    with rasterio.open(
        holes,
        "w",
        driver="GTiff",
        width=4,
        height=4,
        count=1,
        dtype="float32",
        crs="EPSG:4326",
        transform=from_origin(44.0, 33.0, 0.01, 0.01),
        nodata=-9999.0,
    ) as ds:
        ds.write(z, 1)
    for path, what in (
        (bad, "not a readable"),
        (holes, "nodata"),
        (tmp_path / "no.tif", "not found"),
    ):
        with pytest.raises(UserError) as err:
            load_dem(path, LocalFrame(*SITE))
        msg = str(err.value)
        assert path.name in msg and what in msg and "\n" not in msg
