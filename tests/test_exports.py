"""Exports of a run (``opencram export``), each parsed back by an independent reader and
checked against the run folder: KML with fastkml (strict parsing) and against the OGC KML
2.2 schema (lxml), KMZ likewise, CZML as plain JSON, GeoJSON with shapely's ``shape``."""

import json
import warnings
import zipfile
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pymap3d
import pytest
from lxml import etree
from shapely.geometry import shape

from opencram.analysis.runfolder import execute
from opencram.c2.events import EngagementWithheld, Footprint, parse_event
from opencram.interop.export import export_run
from opencram.interop.geojson import build_geojson
from opencram.interop.kml import build_kml
from opencram.interop.runview import load_run

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # fastkml warns at import that lxml (pretty print) is missing
    import fastkml
    from fastkml import kml

EPOCH = datetime(2021, 12, 19, tzinfo=UTC)


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("exports") / "gz"
    execute("green-zone", folder, on_progress=None)
    paths = export_run(folder, "all", folder / "exp")
    summary = json.loads((folder / "summary.json").read_text())
    events = [parse_event(x) for x in (folder / "events.jsonl").read_text().splitlines()]
    return {
        "folder": folder,
        "paths": {p.suffix[1:]: p for p in paths},
        "summary": summary,
        "events": events,
    }


def _local_area_m2(lons, lats) -> float:
    """Area of a lon/lat ring in m², in an ENU plane at its mean point."""
    e, n, _ = pymap3d.geodetic2enu(
        np.asarray(lats), np.asarray(lons), 0.0, np.mean(lats), np.mean(lons), 0.0
    )
    return abs(shape({"type": "Polygon", "coordinates": [list(zip(e, n, strict=True))]}).area)


def _t(iso: str) -> float:
    return (datetime.fromisoformat(iso.replace("Z", "+00:00")) - EPOCH).total_seconds()


def _kinds(events, kind):
    return [e for e in events if e.kind == kind]


def _cancelled(events) -> set:
    """(gun, track, decision time) of committed bursts that were cancelled before firing."""
    out, pending = set(), {}
    for e in events:
        if e.kind == "engagement":
            pending.setdefault((e.gun, e.track_id), []).append(e.t_s)
        elif e.kind == "engagement_result" and pending.get((e.gun, e.track_id)):
            t = pending[(e.gun, e.track_id)].pop(0)
            if getattr(e, "cancelled", ""):
                out.add((e.gun, e.track_id, t))
    return out


# --- GeoJSON ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def geojson_by_feature(run):
    """The exported FeatureCollection's features by ``properties.feature``; each geometry
    must be valid for shapely."""
    fc = json.loads(run["paths"]["geojson"].read_text())
    assert fc["type"] == "FeatureCollection"
    by = {}
    for f in fc["features"]:
        by.setdefault(f["properties"]["feature"], []).append(f)
        assert shape(f["geometry"]).is_valid
    return by


def test_geojson_zones(run, geojson_by_feature):
    by = geojson_by_feature
    # zones with their names and kinds, counter-clockwise as RFC 7946 asks
    zones = {z["properties"]["name"]: z for z in by["zone"]}
    assert {(n, z["properties"]["kind"]) for n, z in zones.items()} == {
        (z["name"], z["kind"]) for z in run["summary"]["zones"]
    }
    for z in zones.values():
        assert shape(z["geometry"]).exterior.is_ccw
    # the US Embassy zone holds the embassy landmark
    emb = next(f for f in by["landmark"] if f["properties"]["name"] == "US Embassy")
    assert shape(zones["US Embassy"]["geometry"]).contains(shape(emb["geometry"]))


def test_geojson_impacts_and_trajectories(run, geojson_by_feature):
    by = geojson_by_feature
    # impacts where summary.json says
    threats = {t["id"]: t for t in run["summary"]["threats"]}
    landed = {k: t["impact"] for k, t in threats.items() if t["impact"]}
    assert len(by["impact"]) == len(landed) >= 1
    for f in by["impact"]:
        lon, lat = f["geometry"]["coordinates"]
        im = landed[f["properties"]["threat"]]
        assert lat == pytest.approx(im["lat"], abs=1e-7) and lon == pytest.approx(
            im["lon"], abs=1e-7
        )
    # one trajectory per threat, from the launch point
    assert {f["properties"]["threat"] for f in by["trajectory"]} == set(threats)
    for f in by["trajectory"]:
        lon, lat, _ = f["geometry"]["coordinates"][0]
        la = threats[f["properties"]["threat"]]["launch"]
        assert (lat, lon) == pytest.approx((la["lat"], la["lon"]), abs=1e-6)


def test_geojson_ellipses(run, geojson_by_feature):
    by = geojson_by_feature
    # the last 95 % ellipse of each track: area pi*a*b (less the 72-gon's 0.13 %)
    preds = _kinds(run["events"], "impact_predicted")
    assert {f["properties"]["track_id"] for f in by["impact_ellipse"]} == {
        e.track_id for e in preds
    }
    for f in by["impact_ellipse"] + by["origin_ellipse"]:
        p = f["properties"]
        ring = np.array(f["geometry"]["coordinates"][0])
        area = _local_area_m2(ring[:, 0], ring[:, 1])
        assert area == pytest.approx(np.pi * p["semi_major_m"] * p["semi_minor_m"], rel=5e-3)
    last = {e.track_id: e for e in preds}
    for f in by["impact_ellipse"]:
        e = last[f["properties"]["track_id"]]
        c = shape(f["geometry"]).centroid
        assert (c.y, c.x) == pytest.approx((e.lat, e.lon), abs=1e-6)
        assert f["properties"]["semi_major_m"] == e.ellipse95.semi_major_m


def test_geojson_intercepts(run, geojson_by_feature):
    by = geojson_by_feature
    threats = {t["id"]: t for t in run["summary"]["threats"]}
    # intercepts: one per burst at its fire-control intercept point; a destroyed threat's
    # trajectory ends where summary.json says it was destroyed
    bursts = _kinds(run["events"], "engagement")
    assert len(by["intercept"]) == len(bursts) >= 1
    for f, e in zip(by["intercept"], bursts, strict=True):
        assert f["geometry"]["coordinates"] == [e.lon, e.lat, e.alt_m]
        assert (f["properties"]["gun"], f["properties"]["rounds"]) == (e.gun, e.rounds)
    kills = {k: t["intercept"] for k, t in threats.items() if t["outcome"] == "intercepted"}
    assert sum(bool(f["properties"]["killed"]) for f in by["intercept"]) == len(kills)
    for f in by["trajectory"]:
        if f["properties"]["threat"] in kills:
            i = kills[f["properties"]["threat"]]
            lon, lat, alt = f["geometry"]["coordinates"][-1]
            assert (lat, lon, alt) == pytest.approx((i["lat"], i["lon"], i["alt_m"]), abs=1e-6)


def test_geojson_footprints(run, geojson_by_feature):
    by = geojson_by_feature
    bursts = _kinds(run["events"], "engagement")
    # collateral footprints: a dud and a debris disc per burst, radius as in the event
    cancelled = _cancelled(run["events"])
    fps = [fp for e in bursts if (e.gun, e.track_id, e.t_s) not in cancelled for fp in e.footprints]
    assert len(by.get("footprint", [])) == len(fps) >= 2
    assert {f["properties"]["kind"] for f in by["footprint"]} == {"dud", "debris"}
    for f, fp in zip(by["footprint"], fps, strict=True):
        ring = np.array(f["geometry"]["coordinates"][0])
        area = _local_area_m2(ring[:, 0], ring[:, 1])
        assert area == pytest.approx(np.pi * fp.radius_m**2, rel=5e-3)
        assert f["properties"]["withheld"] is False


def test_geojson_marks_withheld_footprints(run):
    """A withheld engagement's footprints are exported, flagged as withheld with the reason."""
    view = load_run(run["folder"])
    fp = Footprint(kind="dud", lat=33.30, lon=44.40, radius_m=80.0)
    held = EngagementWithheld(
        t_s=20.0,
        gun="lpws-1",
        track_id=1,
        reason="dud footprint on a no-fire zone",
        footprints=[fp],
    )
    view = type(view)(view.scenario, view.summary, (*view.events, held), view.zone_rings)
    feats = [
        f for f in build_geojson(view)["features"] if f["properties"]["feature"] == "footprint"
    ]
    w = [f for f in feats if f["properties"]["withheld"]]
    assert len(w) == 1 and w[0]["properties"]["reason"] == "dud footprint on a no-fire zone"
    c = shape(w[0]["geometry"]).centroid
    assert (c.y, c.x) == pytest.approx((33.30, 44.40), abs=1e-6)


# --- KML ----------------------------------------------------------------------------------


def _kml_document(path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # fastkml warns that lxml (pretty print) is missing
        k = kml.KML.parse(str(path), strict=True)
    return k.features[0]


def test_kml_has_time_dynamic_trajectories_tracks_and_ellipses(run):
    doc = _kml_document(run["paths"]["kml"])
    folders = {f.name: f for f in doc.features}
    assert {"Zones", "Threats (truth)", "Tracks", "Impact ellipses (95 %)"} <= set(folders)
    assert {"Origin ellipses (95 %)", "Intercepts", "Collateral footprints"} <= set(folders)
    assert {p.name for p in folders["Zones"].features} == {
        z["name"] for z in run["summary"]["zones"]
    }
    threats = {t["id"]: t for t in run["summary"]["threats"]}
    tracks = {
        p.name: p for p in folders["Threats (truth)"].features if p.name in threats
    }  # gx:Track placemarks are named after the threat
    assert set(tracks) == set(threats)
    for tid, pm in tracks.items():
        g = pm.kml_geometry
        whens = [w.isoformat() if hasattr(w, "isoformat") else str(w) for w in g.whens]
        t = threats[tid]
        end = t["impact"]["time_s"] if t["impact"] else t["intercept"]["time_s"]
        assert _t(_iso(g.whens[0])) == pytest.approx(t["launch"]["time_s"], abs=1e-3)
        assert _t(_iso(g.whens[-1])) == pytest.approx(end, abs=1e-3)
        coords = list(pm.geometry.coords)
        assert len(coords) == len(whens) >= 10
        lon, lat, _ = coords[0]
        assert (lat, lon) == pytest.approx((t["launch"]["lat"], t["launch"]["lon"]), abs=1e-6)
        assert max(c[2] for c in coords) == pytest.approx(t["apogee_m"], abs=15.0)
    # one ellipse per prediction, each shown until the next one of its track
    n_pred = len({(e.track_id, e.t_s) for e in _kinds(run["events"], "impact_predicted")})
    ells = folders["Impact ellipses (95 %)"].features
    assert len(ells) == n_pred
    spans = [(_t(_iso(p.times.begin)), _t(_iso(p.times.end))) for p in ells]
    assert all(b < e for b, e in spans)
    track_names = {p.name for p in folders["Tracks"].features}
    assert track_names == {f"T{e.track_id}" for e in _kinds(run["events"], "track")}


def _iso(kml_time) -> str:
    """fastkml time objects (KmlDateTime) or plain strings as ISO 8601 text."""
    dt = getattr(kml_time, "dt", kml_time)
    if isinstance(dt, str):
        return dt
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.isoformat()


# --- CZML ---------------------------------------------------------------------------------


def test_czml_packets_cover_each_flight_from_launch_to_impact(run):
    doc = json.loads(run["paths"]["czml"].read_text())
    assert doc[0]["id"] == "document" and doc[0]["version"] == "1.0"
    start, stop = doc[0]["clock"]["interval"].split("/")
    assert _t(start) == 0 and _t(stop) == pytest.approx(run["summary"]["end_time_s"], abs=1e-3)
    packets = {p["id"]: p for p in doc}
    assert len(packets) == len(doc)  # ids are unique
    for t in run["summary"]["threats"]:
        p = packets[f"threat-{t['id']}"]
        pos = p["position"]
        assert _t(pos["epoch"]) == 0
        s = np.asarray(pos["cartographicDegrees"], dtype=float).reshape(-1, 4)
        end = t["impact"]["time_s"] if t["impact"] else t["intercept"]["time_s"]
        assert s[0, 0] == pytest.approx(t["launch"]["time_s"], abs=1e-3)
        assert s[-1, 0] == pytest.approx(end, abs=1e-3)
        assert np.all(np.diff(s[:, 0]) > 0)
        assert (s[0, 2], s[0, 1]) == pytest.approx(
            (t["launch"]["lat"], t["launch"]["lon"]), abs=1e-6
        )
        if t["impact"]:
            assert (s[-1, 2], s[-1, 1]) == pytest.approx(
                (t["impact"]["lat"], t["impact"]["lon"]), abs=1e-6
            )
        a0, a1 = (_t(x) for x in p["availability"].split("/"))
        assert (a0, a1) == pytest.approx((s[0, 0], s[-1, 0]), abs=1e-3)
    zones = [p for p in doc if p["id"].startswith("zone-")]
    assert {p["name"] for p in zones} == {z["name"] for z in run["summary"]["zones"]}
    ell = [p for p in doc if p["id"].startswith("impact-ellipse-")]
    assert len(ell) == len({(e.track_id, e.t_s) for e in _kinds(run["events"], "impact_predicted")})
    for p in ell:
        ring = np.asarray(p["polygon"]["positions"]["cartographicDegrees"]).reshape(-1, 3)
        assert len(ring) == 72
        a0, a1 = (_t(x) for x in p["availability"].split("/"))
        assert a0 <= a1
    assert sum(p["id"].startswith("intercept-") for p in doc) == len(
        _kinds(run["events"], "engagement")
    )
    assert any(p["id"].startswith("footprint-") for p in doc)


# --- the command line ---------------------------------------------------------------------


# the OGC KML 2.2 schema (ogckml22.xsd, with the atom-author-link.xsd and xAL.xsd it
# imports) and Google's extension schema kml22gx.xsd (it imports ogckml22.xsd), as fastkml
# ships them in its package (fastkml/schema/); validated with lxml
KML_SCHEMA_DIR = Path(fastkml.__file__).parent / "schema"


@pytest.fixture(scope="module")
def kml_schema():
    return etree.XMLSchema(etree.parse(str(KML_SCHEMA_DIR / "kml22gx.xsd")))


def _schema_errors(schema, data: bytes) -> list[str]:
    ok = schema.validate(etree.fromstring(data))
    return [] if ok else [f"{e.line}: {e.message}" for e in schema.error_log]


def test_kml_and_kmz_validate_against_the_ogc_kml22_schema(run, kml_schema, tmp_path):
    assert _schema_errors(kml_schema, run["paths"]["kml"].read_bytes()) == []
    with zipfile.ZipFile(run["paths"]["kmz"]) as z:
        names = z.namelist()
        doc = z.read("doc.kml")
        assert _schema_errors(kml_schema, doc) == []
        # offline: every icon the KMZ names is inside it, and is a PNG
        hrefs = set(etree.fromstring(doc).itertext()) & set(names)
        refs = [h.text for h in etree.fromstring(doc).iter("{http://www.opengis.net/kml/2.2}href")]
        assert refs and set(refs) == {"files/dot.png"} == hrefs
        assert z.read("files/dot.png")[:8] == b"\x89PNG\r\n\x1a\n"
    assert names[0] == "doc.kml"
    # the plain KML refers to nothing outside itself
    assert b"<href>" not in run["paths"]["kml"].read_bytes()
    assert b"http://maps.google" not in run["paths"]["kml"].read_bytes()


def test_the_schema_check_rejects_simplekmls_own_output(run, kml_schema):
    # simplekml's raw text (numeric ids, styles before names) is what the schema rejects:
    # the check above can fail
    raw = build_kml(load_run(run["folder"]), EPOCH).kml().encode("utf-8")
    errors = _schema_errors(kml_schema, raw)
    assert any("xs:ID" in e for e in errors) and any("name" in e for e in errors)


def test_cli_export_writes_each_format(cli, run, tmp_path):
    r = cli("export", str(run["folder"]), "--format", "geojson", "--out", str(tmp_path / "a.json"))
    assert r.returncode == 0, r.stderr
    assert json.loads((tmp_path / "a.json").read_text())["type"] == "FeatureCollection"
    r = cli("export", str(run["folder"]), "--out", str(tmp_path / "all"))
    assert r.returncode == 0, r.stderr
    assert sorted(p.name for p in (tmp_path / "all").iterdir()) == [
        "run.czml",
        "run.geojson",
        "run.kml",
        "run.kmz",
    ]


@pytest.mark.parametrize(
    "args, message",
    [
        (["{tmp}/missing"], "run folder not found"),
        (["{tmp}"], "summary.json: file not found"),
        (["{run}", "--format", "shp"], "--format: must be kml, kmz, czml, geojson or all"),
        (["{run}", "--epoch", "yesterday"], "--epoch yesterday: not an ISO 8601"),
    ],
)
def test_cli_export_mistakes_are_one_line_exit_2(cli, run, tmp_path, args, message):
    argv = [a.format(tmp=tmp_path, run=run["folder"]) for a in args]
    r = cli("export", *argv)
    assert r.returncode == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0] and "Traceback" not in r.stderr


def test_exports_are_deterministic(run, tmp_path):
    again = export_run(run["folder"], "all", tmp_path / "again")
    for p in again:
        assert p.read_bytes() == run["paths"][p.suffix[1:]].read_bytes(), p.name
