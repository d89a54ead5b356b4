"""One colour scheme for every picture of a run: the console's map and panels, and (to be
wired) the run report's figures. A zone kind, a threat class or an alert state has the
same colour wherever it is drawn.

The choices:

- zones: protected **blue** (the asset defended), warning amber, no-fire purple; red is
  kept for danger, so it never means a zone kind;
- alerts: a raised (or updated) alert is red, an acknowledged one a muted red, a cleared
  zone goes back to green;
- threat classes: warm colours for the ballistic classes (rocket, mortar, artillery),
  teal for drones, green for aircraft (usually friendly traffic), grey for unknown;
- site layers in pale colours beneath everything (water light blue, roads tan);
- gun states, engagement outcomes and the map's marks (impact and origin ellipses,
  kills, impacts, footprints) complete the set.

Every colour is a mid-tone ``#rrggbb`` readable on the console's dark background and on
the report's white page. :func:`css_variables` gives the scheme as CSS custom properties
(``--zone-protected``, ``--threat-rocket``, ``--alert-raised``, ...), which the console
serves as ``/palette.css``.
"""

from __future__ import annotations

from types import MappingProxyType

ZONE_KIND = MappingProxyType(
    {
        "protected": "#3d85e0",
        "warning": "#d9a21b",
        "no-fire": "#a05ad2",
    }
)

ALERT_STATE = MappingProxyType(
    {
        "raised": "#e5383b",
        "updated": "#e5383b",
        "acknowledged": "#b5676a",
        "cleared": "#3fae5a",
    }
)

THREAT_CLASS = MappingProxyType(
    {
        "rocket": "#ef6a2a",
        "mortar": "#e0457b",
        "artillery": "#c58a2b",
        "drone": "#1fb0c2",
        "aircraft": "#58b848",
        "unknown": "#9098a1",
    }
)

GUN_STATE = MappingProxyType(
    {
        "ready": "#3fae5a",
        "engaging": "#f29a1f",
        "reloading": "#7f7fd6",
        "hold": "#e5383b",
        "empty": "#80868c",
    }
)

OUTCOME = MappingProxyType(
    {
        "intercepted": "#3fae5a",
        "leaked": "#e5383b",
        "not_engaged": "#f29a1f",
    }
)

MARK = MappingProxyType(
    {
        "track": "#3cc4ea",
        "friendly": "#3fae5a",
        "truth": "#a9b0b8",
        "impact_ellipse": "#f29a1f",
        "origin_ellipse": "#9ccc3c",
        "kill": "#3fae5a",
        "impact": "#e5383b",
        "dud_footprint": "#b07a5a",
        "debris_footprint": "#9a9a9a",
        "sensor": "#8fb0c8",
        "landmark": "#c9d3dc",
    }
)

# site layers (rivers, roads, buildings, districts) are drawn beneath everything, in
# colours paler than any mark so they never compete with them
LAYER_KIND = MappingProxyType(
    {
        "water": "#7db8e0",
        "road": "#b8a57c",
        "building": "#8e949a",
        "district": "#a58fbf",
        "other": "#a7ada3",
    }
)

GROUPS = MappingProxyType(
    {
        "zone": ZONE_KIND,
        "alert": ALERT_STATE,
        "threat": THREAT_CLASS,
        "gun": GUN_STATE,
        "outcome": OUTCOME,
        "mark": MARK,
        "layer": LAYER_KIND,
    }
)


def css_name(group: str, key: str) -> str:
    """The CSS custom property of one colour: ``css_name("mark", "impact_ellipse")`` is
    ``--mark-impact-ellipse``."""
    return f"--{group}-{key.replace('_', '-')}"


def css_variables() -> str:
    """The whole scheme as one ``:root`` rule of CSS custom properties."""
    lines = [
        f"  {css_name(group, key)}: {colour};"
        for group, colours in GROUPS.items()
        for key, colour in colours.items()
    ]
    return ":root {\n" + "\n".join(lines) + "\n}\n"


def as_dict() -> dict[str, dict[str, str]]:
    """The scheme as plain JSON-ready dicts, group -> key -> ``#rrggbb``."""
    return {group: dict(colours) for group, colours in GROUPS.items()}
