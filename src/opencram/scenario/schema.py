"""The scenario format: pydantic models for the YAML file (see docs/scenario-format.md).

Every model forbids unknown keys so typos are caught. Geodetic positions are WGS-84
degrees with altitudes in metres above the ellipsoid; times are seconds from the scenario
start. Validation that needs the threat library or files (threat types, zone outlines and
GeoJSON files: :mod:`opencram.scenario.zonefiles`) lives in :mod:`opencram.scenario.load`
so all problems are reported together with their field paths.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    model_validator,
)

# --- limits --------------------------------------------------------------------------------
# Every number must be finite (Model's config) and no field takes true/false for a number.
# The bounds below keep every run's work and memory bounded and every number well inside
# float64 arithmetic; each is far beyond what a real system or a sensible scenario needs.
# docs/scenario-format.md ("Limits") lists them.

MAX_TIME_S = 36_000.0
"""Longest simulation (10 h; ``simulation.duration_s``); also bounds every start and launch
time (a salvo's last round included), reload time and latency-like delays."""

MAX_TICKS = 720_000
"""Engine ticks per run, ``duration_s / dt_s``: the 10-hour limit at the default 0.05 s
tick. Each tick is one pass of every stage, so this bounds a run's length in work."""

MAX_TOTAL_ROUNDS = 1_000
"""Threat rounds across all threats (the sum of ``salvo.count``), 50 times grad-salvo's 20.
Compiling the truth costs about 0.2 MB per round (1,000 rounds: 370 MB peak RSS, measured
with a grad-salvo variant); 100,000 rounds from ten aliased entries needed 3.6 GB."""

MAX_FALSE_ALARMS_PER_SCAN = 1_000.0
"""Mean false plots per scan of one sensor (``false_alarm_rate_per_scan``); real radars
give far below one per scan after their own clutter processing."""

MAX_FALSE_PLOTS_PER_S = 1_000.0
"""False plots per second across all sensors (each sensor's rate per scan over its
``scan_s``, summed). Track initiation pairs every new plot with every recent one: at 2,000
per second a 20 s green-zone run took 26 s of CPU and 410 MB; at 20,000 per second it
asked for more than 4 GB."""

MIN_SCAN_S, MAX_SCAN_S = 0.05, 600.0
"""Surveillance scan period: 20 scans a second is faster than any surveillance radar (gun
fire-control radars are ``track_radar``); the sense stage runs one scan after another, so a
tiny period would be an endless loop of scans."""

MIN_SIGMA_RANGE_M, MAX_SIGMA_RANGE_M = 1e-3, 10_000.0
MIN_SIGMA_ANGLE_MRAD, MAX_SIGMA_ANGLE_MRAD = 1e-3, 1_000.0
MIN_SIGMA_RATE_MPS, MAX_SIGMA_RATE_MPS = 1e-3, 1_000.0
"""Measurement noise (1 sigma). The floors (1 mm, 1 microradian, 1 mm/s) are far below any
radar's accuracy yet keep the tracker's covariances well conditioned: a sigma of 1e-300
squares to 0 and makes singular matrices. The ceilings are noise larger than the
measurement itself (10 km in range, one radian in angle)."""

MAX_BIAS_RANGE_M = 1_000.0
MAX_BIAS_ANGLE_MRAD = 100.0
"""Systematic sensor errors (``bias_range_m``, ``bias_azimuth_mrad``, ``bias_elevation_mrad``,
``tilt_azimuth_mrad``; docs/registration.md): a kilometre in range and 100 mrad (5.7°) in
angle are far beyond a radar that is in use (recorded mount levelling errors: 30-44 mrad of
azimuth per unit tan(elevation), issue 13), yet keep a·tan(85°) below 1.2 rad."""

MAX_RANGE_M = 1_000_000.0
"""Radar and reference ranges: 1,000 km, far past a flat local frame's useful reach."""

MIN_RCS_M2, MAX_RCS_M2 = 1e-6, 1e6
"""Radar cross sections: an insect to a large ship."""

MIN_SNR_DB, MAX_SNR_DB = -100.0, 100.0
"""Signal-to-noise ratio at the reference range and RCS, in dB."""

MAX_RATE_RPM = 20_000.0
"""Gun rate of fire: about twice the fastest fielded guns (rotary 23 mm, about 10,000
rounds/min); bursts are ``rate_rpm / 60 * burst_s`` rounds, an integer."""

MAX_AMMO_ROUNDS = 1_000_000
"""Rounds in a gun's magazine: far above any gun's (the Phalanx drum holds 1,550), and
well inside the int64 arrays that count them."""

MAX_SPEED_MPS = 5_000.0
MIN_SPEED_MPS = 0.1
"""Muzzle velocity (at least 10 m/s), drone and aircraft speed: the ceiling is above any
gun's muzzle velocity; the floor keeps path times (length / speed) finite."""

MIN_DURATION_S = 0.01
MIN_DISTANCE_M = 0.1
"""Floors for short times (bursts, track windows) and small distances (gates, radii): a
positive number may not be 1e-300, whose square or reciprocal leaves float64."""

MAX_DISTANCE_M = 100_000.0
"""Gun ranges, radii, clearances and gates in metres: 100 km."""

MAX_SLEW_DPS = 3_600.0
"""Gun slew rates: ten turns a second (and at least 0.1 degree a second)."""

MAX_ROUND_FLIGHT_S = 120.0
"""A gun round's self-destruct time: fire control flies each round up to it on a fine
time grid, so its length bounds that work (the default is 7 s)."""

MAX_TRACK_RADAR_HZ = 1_000.0
MAX_TRACK_RADAR_S = 60.0
"""A track radar's fix uses ``track_s * rate_hz`` samples (at most 60,000)."""

MAX_VALUE = 1e6
"""Zone worth and harm weights, relative to each other: sums of value times probability
stay far from overflow."""

MAX_WIND_MPS = 150.0
"""Wind speed: above the strongest jet-stream winds measured."""

MAX_DISPERSION_MRAD = 1_000.0
"""Round-to-round dispersion: one radian, 1 sigma."""

MAX_SEED = 2**63 - 1
"""Seeds fit a signed 64-bit integer (numpy and JSON readers)."""

MAX_SENSORS = 64
MAX_WEAPONS = 64
MAX_AIRCRAFT = 100
MAX_ZONES = 1_000
MAX_LANDMARKS = 1_000
MAX_LAYERS = 32
MAX_WAYPOINTS = 1_000
MAX_POINTS = 100_000
MAX_LIST = 100
"""List lengths: sensors and guns are each a stage's batch axis, zones are tested by every
warning and engagement, waypoints and polygon points are walked per object; all far above
any site's (the built-ins have 2 sensors, 2 guns, 9 zones). ``MAX_LIST`` bounds the small
lists (wind layers, no-fire sectors)."""


def _number(v):
    """Refuse true/false where a number belongs (pydantic would take true as 1)."""
    if isinstance(v, bool):
        raise ValueError("must be a number, not true or false")
    return v


def _num(x: float) -> str:
    """A bound as written in messages: whole numbers in full, others as ``%g``."""
    return str(int(x)) if float(x).is_integer() and abs(x) < 1e16 else f"{x:g}"


def _between(lo: float, hi: float):
    def check(v: float) -> float:
        if not lo <= v <= hi:
            raise ValueError(f"must be between {_num(lo)} and {_num(hi)}")
        return v

    return AfterValidator(check)


def _positive(v: float) -> float:
    if not v > 0:
        raise ValueError("must be greater than 0")
    return v


def _non_negative(v: float) -> float:
    if not v >= 0:
        raise ValueError("must be 0 or more")
    return v


def _at_most(hi: float):
    def check(v: float) -> float:
        if not v <= hi:
            raise ValueError(f"must be at most {_num(hi)}")
        return v

    return AfterValidator(check)


Real = Annotated[float, BeforeValidator(_number)]
"""A finite number (int or float; not true/false; NaN and infinity refused by Model)."""
Whole = Annotated[int, BeforeValidator(_number)]
"""A whole number (not true/false)."""


def span(lo: float, hi: float):
    """The type of a number between ``lo`` and ``hi`` (inclusive)."""
    return Annotated[Real, _between(lo, hi)]


def positive_up_to(hi: float, lo: float = 0.0):
    """The type of a number above 0 and at most ``hi`` (and at least ``lo``, if given)."""
    if lo > 0:
        return Annotated[Real, AfterValidator(_positive), _between(lo, hi)]
    return Annotated[Real, AfterValidator(_positive), _at_most(hi)]


def non_negative_up_to(hi: float):
    """The type of a number from 0 to ``hi``."""
    return Annotated[Real, AfterValidator(_non_negative), _at_most(hi)]


def whole_between(lo: int, hi: int):
    """The type of a whole number from ``lo`` to ``hi``."""
    return Annotated[Whole, _between(lo, hi)]


Latitude = span(-90, 90)
Longitude = span(-180, 180)
Altitude = span(-500, 100_000)
Positive = Annotated[Real, AfterValidator(_positive)]
NonNegative = Annotated[Real, AfterValidator(_non_negative)]
AzimuthDeg = span(0, 360)
TimeS = non_negative_up_to(MAX_TIME_S)
ScanS = span(MIN_SCAN_S, MAX_SCAN_S)
SigmaRangeM = positive_up_to(MAX_SIGMA_RANGE_M, MIN_SIGMA_RANGE_M)
SigmaAngleMrad = positive_up_to(MAX_SIGMA_ANGLE_MRAD, MIN_SIGMA_ANGLE_MRAD)
SigmaRateMps = positive_up_to(MAX_SIGMA_RATE_MPS, MIN_SIGMA_RATE_MPS)
LatencyS = non_negative_up_to(60.0)
BiasRangeM = span(-MAX_BIAS_RANGE_M, MAX_BIAS_RANGE_M)
BiasAngleMrad = span(-MAX_BIAS_ANGLE_MRAD, MAX_BIAS_ANGLE_MRAD)
Name = Annotated[str, Field(min_length=1, max_length=80)]


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class GeoPoint(Model):
    """A point: latitude and longitude in degrees; ``alt_m`` above the WGS-84 ellipsoid,
    defaulting to the ground (the site altitude while terrain is flat)."""

    lat: Latitude
    lon: Longitude
    alt_m: Altitude | None = None


class Site(Model):
    """Origin of the local ENU frame; ``alt_m`` is also the flat terrain height."""

    name: Name = "site"
    lat: Latitude
    lon: Longitude
    alt_m: Altitude = 0.0


class Landmark(Model):
    """A named point drawn on maps (a monument, a hotel)."""

    name: Name
    lat: Latitude
    lon: Longitude


LAYER_KINDS = ("water", "road", "building", "district", "other")
"""Kinds of site layer; ``water`` layers (polygons) also name where an impact fell."""


class SiteLayer(Model):
    """A map layer of the site from a GeoJSON file (a path relative to the scenario file):
    rivers, roads, buildings, districts. Drawn beneath everything on every map; a ``water``
    layer's polygons also report an impact that fell in them (an impact in the Tigris is an
    outcome). Polygons and lines are read; points are ignored."""

    name: Name
    kind: Literal["water", "road", "building", "district", "other"]
    geojson: Annotated[str, Field(min_length=1, max_length=4096)]
    source: str = ""  # where the geometry comes from (a citation), shown in legends


class Zone(Model):
    """An area on the ground. ``protected``: worth defending (guns engage threats to it);
    ``warning``: gets alerts; ``no-fire``: guns must not fire where rounds or debris would
    fall on it. Its shape is ``polygon`` ([lat, lon] pairs) or ``geojson`` (a file path,
    relative to the scenario file)."""

    name: Name
    kind: Literal["protected", "warning", "no-fire"]
    value: positive_up_to(MAX_VALUE, 1e-6) = 1.0
    polygon: Annotated[list[tuple[Latitude, Longitude]], Field(max_length=MAX_POINTS)] | None = None
    geojson: str | None = None

    @model_validator(mode="after")
    def _one_shape(self) -> Zone:
        if (self.polygon is None) == (self.geojson is None):
            raise ValueError("give exactly one of 'polygon' or 'geojson'")
        if self.polygon is not None and len(self.polygon) < 3:
            raise ValueError("polygon: needs at least 3 points")
        return self


class FieldOfView(Model):
    """Horizontal coverage: ``width_deg`` 360 is all round; otherwise a sector centred on
    ``boresight_az_deg`` (clockwise from north)."""

    boresight_az_deg: AzimuthDeg = 0.0
    width_deg: span(1, 360) = 360.0


class Sensor(Model):
    """A radar. The sense stage (issue 3) uses these figures; defaults describe a
    lightweight counter-mortar radar (see docs/sources)."""

    id: Name
    kind: Literal["radar"] = "radar"
    lat: Latitude
    lon: Longitude
    alt_m: Altitude | None = None
    scan_s: ScanS = 1.0
    fov: FieldOfView = FieldOfView()
    range_min_m: non_negative_up_to(MAX_RANGE_M) = 300.0
    range_max_m: positive_up_to(MAX_RANGE_M, 1.0) = 10_000.0
    elevation_min_deg: span(-10, 90) = 0.5
    elevation_max_deg: span(0, 90) = 85.0
    sigma_range_m: SigmaRangeM = 10.0
    sigma_azimuth_mrad: SigmaAngleMrad = 2.0
    sigma_elevation_mrad: SigmaAngleMrad = 2.0
    sigma_range_rate_mps: SigmaRateMps | None = 1.0
    reference_range_m: positive_up_to(MAX_RANGE_M, 1.0) = 7_000.0
    reference_rcs_m2: span(MIN_RCS_M2, MAX_RCS_M2) = 0.01
    reference_snr_db: span(MIN_SNR_DB, MAX_SNR_DB) = 13.0
    swerling: Annotated[Literal[0, 1, 2, 3, 4], BeforeValidator(_number)] = 1
    pfa: span(1e-12, 0.1) = 1e-6
    false_alarm_rate_per_scan: non_negative_up_to(MAX_FALSE_ALARMS_PER_SCAN) = 0.0
    latency_s: LatencyS = 0.0
    ssr: StrictBool = False  # also an SSR interrogator: plots of coded aircraft carry the code
    # systematic errors of the simulated plots (sense.radar; docs/registration.md): measured
    # range + bias_range_m, azimuth + bias_azimuth_mrad + tilt_azimuth_mrad * tan(elevation),
    # elevation + bias_elevation_mrad
    bias_range_m: BiasRangeM = 0.0
    bias_azimuth_mrad: BiasAngleMrad = 0.0
    bias_elevation_mrad: BiasAngleMrad = 0.0
    tilt_azimuth_mrad: BiasAngleMrad = 0.0

    @model_validator(mode="after")
    def _limits_in_order(self) -> Sensor:
        if self.range_min_m >= self.range_max_m:
            raise ValueError("range_min_m must be less than range_max_m")
        if self.elevation_min_deg >= self.elevation_max_deg:
            raise ValueError("elevation_min_deg must be less than elevation_max_deg")
        return self


class Sector(Model):
    """Azimuths from ``from_deg`` clockwise to ``to_deg`` (it may wrap through north)."""

    from_deg: AzimuthDeg
    to_deg: AzimuthDeg


class TrackRadar(Model):
    """A gun's own fire-control (track) radar. The land-based Phalanx carries Ku-band
    search and track radars (docs/sources/site-and-systems.md, section 5); their update
    rate and accuracy are not public, so these figures are our assumptions. Before the
    trigger the radar tracks the threat for ``track_s`` at ``rate_hz``; the gun lays on
    that fix rather than on the surveillance track. ``gate_m``: how far from the
    surveillance track's predicted position the radar looks for its target."""

    rate_hz: positive_up_to(MAX_TRACK_RADAR_HZ, 0.1) = 20.0
    track_s: positive_up_to(MAX_TRACK_RADAR_S, MIN_DURATION_S) = 1.0
    sigma_range_m: SigmaRangeM = 2.0
    sigma_angle_mrad: SigmaAngleMrad = 1.0
    gate_m: positive_up_to(MAX_DISTANCE_M, MIN_DISTANCE_M) = 60.0


class Weapon(Model):
    """A gun. Defaults describe a land-based Phalanx-like 20 mm gun: 4,500 rounds/min and
    the 1,550-round drum and -25..+85 degree elevation as publicly reported, a muzzle
    velocity of the M61's 20 mm ammunition (about 1,050 m/s), and an engagement range in the
    publicly indicated 1.2-1.9 km (docs/sources/site-and-systems.md, section 5). The round's
    mass and drag, slew rates, reaction time, self-destruct time, dispersion and dud rate are
    not public: they are our assumptions, to be varied."""

    id: Name
    kind: Literal["gun"] = "gun"
    battery: Name | None = None
    lat: Latitude
    lon: Longitude
    alt_m: Altitude | None = None
    rate_rpm: positive_up_to(MAX_RATE_RPM, 1.0) = 4_500.0
    muzzle_velocity_mps: positive_up_to(MAX_SPEED_MPS, 10.0) = 1_050.0
    ammo_rounds: whole_between(1, MAX_AMMO_ROUNDS) = 1_550
    reload_s: TimeS = 600.0
    max_range_m: positive_up_to(MAX_DISTANCE_M, 1.0) = 2_000.0
    min_elevation_deg: span(-90, 90) = -25.0
    max_elevation_deg: span(-90, 90) = 85.0
    slew_az_dps: positive_up_to(MAX_SLEW_DPS, 0.1) = 100.0
    slew_el_dps: positive_up_to(MAX_SLEW_DPS, 0.1) = 90.0
    reaction_s: TimeS = 2.0
    self_destruct_s: positive_up_to(MAX_ROUND_FLIGHT_S, 0.1) = 7.0
    dispersion_mrad: positive_up_to(MAX_DISPERSION_MRAD, 1e-3) = 3.0
    dud_rate: span(0, 1) = 0.05
    round_mass_kg: span(1e-3, 1_000) = 0.1
    round_caliber_m: span(1e-3, 1) = 0.02
    round_drag_table: Literal["G1", "G7"] = "G7"
    round_form_factor: span(0.01, 100) = 1.0
    no_fire_sectors: Annotated[list[Sector], Field(max_length=MAX_LIST)] = []
    track_radar: TrackRadar | None = TrackRadar()

    @model_validator(mode="after")
    def _elevations_in_order(self) -> Weapon:
        if self.min_elevation_deg >= self.max_elevation_deg:
            raise ValueError("min_elevation_deg must be less than max_elevation_deg")
        return self


class Salvo(Model):
    """``count`` rounds from the same launcher, ``interval_s`` apart."""

    count: whole_between(1, MAX_TOTAL_ROUNDS) = 1
    interval_s: TimeS = 0.0


class Dispersion(Model):
    """Round-to-round random error (1 sigma): angles in mrad, muzzle or burn-out velocity
    in percent."""

    azimuth_mrad: non_negative_up_to(MAX_DISPERSION_MRAD) = 0.0
    elevation_mrad: non_negative_up_to(MAX_DISPERSION_MRAD) = 0.0
    velocity_pct: non_negative_up_to(100) = 0.0


class Threat(Model):
    """A threat firing: a type from the threat library, a launch point, and either an aim
    point or an azimuth with a quadrant elevation. Drones fly ``waypoints`` then dive on the
    aim point. ``charge`` names a charge of the type's charge table (mortars); without it
    the aim solver picks the lowest charge that reaches, and an azimuth/elevation shot
    uses the top charge."""

    id: Name | None = None
    type: Name
    charge: Annotated[str, Field(min_length=1, max_length=16)] | None = None
    launch: GeoPoint
    aim: GeoPoint | None = None
    azimuth_deg: AzimuthDeg | None = None
    quadrant_elevation_deg: span(0, 89) | None = None
    time_s: TimeS = 0.0
    salvo: Salvo = Salvo()
    dispersion: Dispersion = Dispersion()
    waypoints: Annotated[list[GeoPoint], Field(max_length=MAX_WAYPOINTS)] = []
    speed_mps: positive_up_to(MAX_SPEED_MPS, MIN_SPEED_MPS) | None = None

    @model_validator(mode="after")
    def _aim_or_angles(self) -> Threat:
        angles = (self.azimuth_deg is not None, self.quadrant_elevation_deg is not None)
        if self.aim is not None and any(angles):
            raise ValueError("give either 'aim' or 'azimuth_deg' + 'quadrant_elevation_deg'")
        if self.aim is None and not all(angles):
            raise ValueError(
                "give 'aim' (a point) or both 'azimuth_deg' and 'quadrant_elevation_deg'"
            )
        last_s = self.time_s + (self.salvo.count - 1) * self.salvo.interval_s
        if last_s > MAX_TIME_S:
            raise ValueError(
                f"the salvo's last round would launch at {last_s:,.0f} s "
                f"(time_s + (count - 1) * interval_s); the limit is {MAX_TIME_S:,.0f} s"
            )
        return self


def _mode3a(v):
    """A Mode 3/A code: four octal digits as a string (quoted in YAML: ``"0123"``
    unquoted is read as the octal number 83)."""
    if not isinstance(v, str):
        raise ValueError(
            f"give the Mode 3/A code as four octal digits in quotes, e.g. '4521' (got {v!r})"
        )
    s = v.strip()
    if len(s) != 4 or any(c not in "01234567" for c in s):
        raise ValueError(f"'{s[:20]}' is not a Mode 3/A code (four octal digits 0-7, e.g. '4521')")
    return s


Mode3A = Annotated[str, BeforeValidator(_mode3a)]


class Aircraft(Model):
    """A friendly aircraft flying its waypoints at ``speed_mps`` from ``start_s``;
    ``mode3a``: its SSR Mode 3/A code (four octal digits, quoted), read by radars declared
    ``ssr``; the run's list of friendly codes is every aircraft's code."""

    id: Name
    kind: Literal["helicopter", "fixed-wing", "drone"] = "helicopter"
    speed_mps: positive_up_to(MAX_SPEED_MPS, MIN_SPEED_MPS) = 60.0
    start_s: TimeS = 0.0
    waypoints: Annotated[list[GeoPoint], Field(min_length=2, max_length=MAX_WAYPOINTS)]
    rcs_m2: span(MIN_RCS_M2, MAX_RCS_M2) = 10.0
    mode3a: Mode3A | None = None


class WindLayer(Model):
    alt_m: Altitude = 0.0
    from_deg: AzimuthDeg
    speed_mps: non_negative_up_to(MAX_WIND_MPS)


class TerrainSource(Model):
    """Terrain from a file: ``dem`` is a GeoTIFF of heights (m above the WGS-84
    ellipsoid), its path relative to the scenario file."""

    dem: Annotated[str, Field(min_length=1, max_length=4096)]


class Environment(Model):
    """Constant wind (``wind``) or wind by altitude above MSL (``wind_layers``), and an
    ISA temperature offset; or a measured profile (``weather``: a CSV or YAML file of
    layers, see opencram.physics.weather) that replaces all three. ``terrain``: a DEM
    (flat ground at the site altitude without it). ``met``: the met the defender has, a
    weather file in the same format (it may name the ``weather`` file itself, or another),
    read by the tracker's ballistic model and fire control; without it they assume the
    standard atmosphere and no wind."""

    wind: WindLayer | None = None
    wind_layers: Annotated[list[WindLayer], Field(max_length=MAX_LIST)] | None = None
    temperature_offset_k: span(-60, 60) = 0.0
    terrain: TerrainSource | None = None
    weather: Annotated[str, Field(min_length=1, max_length=4096)] | None = None
    met: Annotated[str, Field(min_length=1, max_length=4096)] | None = None

    @model_validator(mode="after")
    def _one_wind(self) -> Environment:
        if self.wind is not None and self.wind_layers is not None:
            raise ValueError("give 'wind' or 'wind_layers', not both")
        if self.weather is not None and (
            self.wind is not None or self.wind_layers is not None or self.temperature_offset_k
        ):
            raise ValueError(
                "'weather' gives the wind and temperature: drop 'wind', 'wind_layers' and "
                "'temperature_offset_k'"
            )
        return self


class Tracking(Model):
    """Tracker settings (see docs/architecture.md, track stage)."""

    filter: Literal["imm", "ekf", "ckf"] = "imm"
    association: Literal["gnn", "jpda"] = "gnn"
    detection_prob: span(0.01, 0.999) = 0.9
    clutter_density: span(1e-15, 1) = 1e-5
    confirm_hits: whole_between(2, 20) = 5
    confirm_window_s: positive_up_to(600, MIN_DURATION_S) = 3.5
    coast_s: positive_up_to(600, MIN_DURATION_S) = 3.5
    gate_prob: span(0.5, 0.999999) = 0.999

    @model_validator(mode="after")
    def _jpda_with_ekf(self) -> Tracking:
        if self.association == "jpda" and self.filter != "ekf":
            raise ValueError("association 'jpda' works with filter 'ekf'")
        return self


class Warning(Model):
    """Localised warning: a warning zone is alerted when the probability that a threat
    lands in it (grown by the threat's lethal radius) reaches ``threshold``."""

    threshold: span(0.001, 0.99) = 0.02


class Engagement(Model):
    """Threat evaluation and the burst model (docs: opencram.engage.tewa). The target
    radius and kill-given-hit probability are our assumptions, not public figures."""

    threshold: span(0.001, 1.0) = 0.2
    burst_s: positive_up_to(60, MIN_DURATION_S) = 1.0
    target_radius_m: positive_up_to(100, 1e-3) = 1.0
    p_kill_given_hit: span(0.0, 1.0) = 0.3
    min_intercept_alt_m: non_negative_up_to(MAX_DISTANCE_M) = 50.0
    min_burst_pk: span(0.0, 1.0) = 0.1
    friendly_clearance_m: non_negative_up_to(MAX_DISTANCE_M) = 300.0
    dud_harm: non_negative_up_to(MAX_VALUE) = 0.01
    debris_harm: non_negative_up_to(MAX_VALUE) = 0.3
    debris_radius_m: positive_up_to(MAX_DISTANCE_M, MIN_DISTANCE_M) = 100.0


class Simulation(Model):
    dt_s: span(0.001, 1.0) = 0.05
    duration_s: span(1, MAX_TIME_S) = 180.0
    seed: whole_between(0, MAX_SEED) = 0

    @model_validator(mode="after")
    def _bounded_ticks(self) -> Simulation:
        ticks = self.duration_s / self.dt_s
        if ticks > MAX_TICKS:
            raise ValueError(
                f"duration_s / dt_s is {ticks:,.0f} ticks; the limit is {MAX_TICKS:,} "
                "(a longer tick or a shorter run)"
            )
        return self


class Scenario(Model):
    """A whole scenario file."""

    name: Name
    description: str = ""
    site: Site
    landmarks: Annotated[list[Landmark], Field(max_length=MAX_LANDMARKS)] = []
    layers: Annotated[list[SiteLayer], Field(max_length=MAX_LAYERS)] = []
    zones: Annotated[list[Zone], Field(max_length=MAX_ZONES)] = []
    sensors: Annotated[list[Sensor], Field(max_length=MAX_SENSORS)] = []
    weapons: Annotated[list[Weapon], Field(max_length=MAX_WEAPONS)] = []
    threats: Annotated[list[Threat], Field(max_length=MAX_TOTAL_ROUNDS)] = []
    aircraft: Annotated[list[Aircraft], Field(max_length=MAX_AIRCRAFT)] = []
    environment: Environment = Environment()
    tracking: Tracking = Tracking()
    warning: Warning = Warning()
    engagement: Engagement = Engagement()
    simulation: Simulation = Simulation()
