"""The shared colour scheme (opencram.palette): it names a colour for every zone kind,
threat class, alert state, gun state and footprint kind the rest of the code can produce
(read off their own type definitions, so a new kind without a colour fails here), the
colours are well formed and tell the kinds apart, and the console serves and uses them."""

from __future__ import annotations

import re
import typing
import warnings
from importlib import resources

import pytest

from opencram import palette
from opencram.c2.events import GunStatus, ZoneAlert
from opencram.console.session import Session
from opencram.engage.records import Footprint
from opencram.scenario.schema import Zone
from opencram.track.classify import CLASSES

with warnings.catch_warnings():  # starlette's notice about its httpx-based client
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

from opencram.console.app import create_app

HEX = re.compile(r"^#[0-9a-f]{6}$")


def _literal(model, name: str) -> set[str]:
    return set(typing.get_args(model.model_fields[name].annotation))


def test_every_kind_the_code_can_produce_has_a_colour():
    assert set(palette.ZONE_KIND) == _literal(Zone, "kind")
    assert set(palette.THREAT_CLASS) == set(CLASSES)
    assert _literal(ZoneAlert, "state") <= set(palette.ALERT_STATE)
    assert set(palette.GUN_STATE) == _literal(GunStatus, "state")
    footprints = {f"{k}_footprint" for k in _literal(Footprint, "kind")}
    assert footprints <= set(palette.MARK)


@pytest.mark.parametrize("group", sorted(palette.GROUPS))
def test_colours_are_hex_and_distinct_where_they_must_be_told_apart(group):
    colours = palette.GROUPS[group]
    assert all(HEX.match(c) for c in colours.values()), colours
    if group in ("zone", "threat", "gun", "outcome"):
        assert len(set(colours.values())) == len(colours), colours


def test_red_means_danger_never_a_zone_kind():
    assert palette.ALERT_STATE["raised"] not in palette.ZONE_KIND.values()
    assert palette.ZONE_KIND["protected"] != palette.ALERT_STATE["raised"]


def test_css_variables_carry_the_whole_scheme():
    css = palette.css_variables()
    for group, colours in palette.GROUPS.items():
        for key, colour in colours.items():
            assert f"{palette.css_name(group, key)}: {colour};" in css
    assert palette.css_name("mark", "impact_ellipse") == "--mark-impact-ellipse"
    assert palette.as_dict()["zone"] == dict(palette.ZONE_KIND)


def test_the_console_serves_the_palette_and_its_style_uses_it():
    session = Session.live("green-zone", paused=True)
    with TestClient(create_app(session, start=False)) as c:
        r = c.get("/palette.css")
        page = c.get("/").text
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/css")
    assert r.text == palette.css_variables()
    assert page.index("/palette.css") < page.index("/static/console.css")
    style = resources.files("opencram.console").joinpath("static", "console.css").read_text()
    used = set(re.findall(r"var\((--[a-z-]+)\)", style))
    for group in ("zone", "threat", "gun"):
        for key in palette.GROUPS[group]:
            assert palette.css_name(group, key) in used, (group, key)
    for key in ("raised", "acknowledged", "cleared"):
        assert palette.css_name("alert", key) in used
    # and no meaningful colour is spelled out in the style instead
    for colour in {*palette.ZONE_KIND.values(), *palette.THREAT_CLASS.values()}:
        assert colour not in style.lower()


# --- the report's figures use the scheme ---------------------------------------------


def _rgb01(hex_colour: str) -> tuple[float, float, float]:
    return tuple(int(hex_colour[i : i + 2], 16) / 255 for i in (1, 3, 5))


def test_report_figures_take_their_colours_from_the_palette():
    from opencram.analysis.report import figures as fg

    for kind, alpha in (("protected", 0.25), ("no-fire", 0.2), ("warning", 0.10)):
        assert fg.ZONE_STYLE[kind] == {
            "fc": palette.ZONE_KIND[kind],
            "alpha": alpha,
            "ec": palette.ZONE_KIND[kind],
        }
    assert fg.OUTCOME_COLOUR == dict(palette.OUTCOME)
    assert fg.GUN_STATE_COLOUR == {k: palette.GUN_STATE[k] for k in ("reloading", "hold", "empty")}
    assert fg.FOOTPRINT_STYLE == {
        "dud": palette.MARK["dud_footprint"],
        "debris": palette.MARK["debris_footprint"],
    }
    assert fg.BURST_COLOUR[True] == palette.OUTCOME["intercepted"]
    assert fg.BURST_COLOUR[False] == palette.OUTCOME["not_engaged"]
    assert fg.ALERT_COLOUR == palette.ALERT_STATE["raised"]
    assert fg.IMPACT_COLOUR == palette.MARK["impact"]


def test_drawn_zones_and_timeline_rows_are_in_the_palettes_colours():
    """What is drawn, not only the tables: a protected zone is filled in the palette's
    blue and a leaked threat's timeline bar in its red."""
    from types import SimpleNamespace

    import matplotlib.pyplot as plt
    from shapely.geometry import box

    from opencram.analysis.report import figures as fg

    zones = SimpleNamespace(names=("Z",), kinds=("protected",), polygons_enu=(box(0, 0, 1e3, 1e3),))
    fig, ax = plt.subplots()
    fg._draw_zones(ax, SimpleNamespace(zones=zones))
    fill = ax.patches[0].get_facecolor()
    assert fill[:3] == pytest.approx(_rgb01(palette.ZONE_KIND["protected"]))
    assert fill[3] == pytest.approx(0.25)
    assert ax.lines[0].get_color() == palette.ZONE_KIND["protected"]
    threat = {"launch": {"time_s": 1.0}, "impact": {"time_s": 9.0}, "outcome": "leaked"}
    fg._draw_threat_row(ax, 0, threat, [], [], 10.0, 7)
    bar = ax.patches[-1]
    assert bar.get_facecolor()[:3] == pytest.approx(_rgb01(palette.OUTCOME["leaked"]))
    plt.close(fig)
