"""The scenario format: pydantic models for the YAML file (see docs/scenario-format.md).

Every model forbids unknown keys so typos are caught. Geodetic positions are WGS-84
degrees with altitudes in metres above the ellipsoid; times are seconds from the scenario
start. Validation that needs the threat library or files (threat types, zone outlines and
GeoJSON files: :mod:`opencram.scenario.zonefiles`) lives in :mod:`opencram.scenario.load`
so all problems are reported together with their field paths.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator


def _between(lo: float, hi: float):
    def check(v: float) -> float:
        if not lo <= v <= hi:
            raise ValueError(f"must be between {lo:g} and {hi:g}")
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


Latitude = Annotated[float, _between(-90, 90)]
Longitude = Annotated[float, _between(-180, 180)]
Altitude = Annotated[float, _between(-500, 100_000)]
Positive = Annotated[float, AfterValidator(_positive)]
NonNegative = Annotated[float, AfterValidator(_non_negative)]
AzimuthDeg = Annotated[float, _between(0, 360)]
Name = Annotated[str, Field(min_length=1, max_length=80)]


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


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


class Zone(Model):
    """An area on the ground. ``protected``: worth defending (guns engage threats to it);
    ``warning``: gets alerts; ``no-fire``: guns must not fire where rounds or debris would
    fall on it. Its shape is ``polygon`` ([lat, lon] pairs) or ``geojson`` (a file path,
    relative to the scenario file)."""

    name: Name
    kind: Literal["protected", "warning", "no-fire"]
    value: Positive = 1.0
    polygon: list[tuple[Latitude, Longitude]] | None = None
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
    width_deg: Annotated[float, _between(1, 360)] = 360.0


class Sensor(Model):
    """A radar. The sense stage (issue 3) uses these figures; defaults describe a
    lightweight counter-mortar radar (see docs/sources)."""

    id: Name
    kind: Literal["radar"] = "radar"
    lat: Latitude
    lon: Longitude
    alt_m: Altitude | None = None
    scan_s: Positive = 1.0
    fov: FieldOfView = FieldOfView()
    range_min_m: NonNegative = 300.0
    range_max_m: Positive = 10_000.0
    elevation_min_deg: Annotated[float, _between(-10, 90)] = 0.5
    elevation_max_deg: Annotated[float, _between(0, 90)] = 85.0
    sigma_range_m: Positive = 10.0
    sigma_azimuth_mrad: Positive = 2.0
    sigma_elevation_mrad: Positive = 2.0
    sigma_range_rate_mps: Positive | None = 1.0
    reference_range_m: Positive = 7_000.0
    reference_rcs_m2: Positive = 0.01
    reference_snr_db: float = 13.0
    swerling: Literal[0, 1, 2, 3, 4] = 1
    pfa: Annotated[float, _between(1e-12, 0.1)] = 1e-6
    false_alarm_rate_per_scan: NonNegative = 0.0
    latency_s: NonNegative = 0.0

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

    rate_hz: Positive = 20.0
    track_s: Positive = 1.0
    sigma_range_m: Positive = 2.0
    sigma_angle_mrad: Positive = 1.0
    gate_m: Positive = 60.0


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
    rate_rpm: Positive = 4_500.0
    muzzle_velocity_mps: Positive = 1_050.0
    ammo_rounds: Annotated[int, Field(ge=1)] = 1_550
    reload_s: NonNegative = 600.0
    max_range_m: Positive = 2_000.0
    min_elevation_deg: Annotated[float, _between(-90, 90)] = -25.0
    max_elevation_deg: Annotated[float, _between(-90, 90)] = 85.0
    slew_az_dps: Positive = 100.0
    slew_el_dps: Positive = 90.0
    reaction_s: NonNegative = 2.0
    self_destruct_s: Positive = 7.0
    dispersion_mrad: Positive = 3.0
    dud_rate: Annotated[float, _between(0, 1)] = 0.05
    round_mass_kg: Positive = 0.1
    round_caliber_m: Positive = 0.02
    round_drag_table: Literal["G1", "G7"] = "G7"
    round_form_factor: Positive = 1.0
    no_fire_sectors: list[Sector] = []
    track_radar: TrackRadar | None = TrackRadar()

    @model_validator(mode="after")
    def _elevations_in_order(self) -> Weapon:
        if self.min_elevation_deg >= self.max_elevation_deg:
            raise ValueError("min_elevation_deg must be less than max_elevation_deg")
        return self


class Salvo(Model):
    """``count`` rounds from the same launcher, ``interval_s`` apart."""

    count: Annotated[int, Field(ge=1, le=10_000)] = 1
    interval_s: NonNegative = 0.0


class Dispersion(Model):
    """Round-to-round random error (1 sigma): angles in mrad, muzzle or burn-out velocity
    in percent."""

    azimuth_mrad: NonNegative = 0.0
    elevation_mrad: NonNegative = 0.0
    velocity_pct: NonNegative = 0.0


class Threat(Model):
    """A threat firing: a type from the threat library, a launch point, and either an aim
    point or an azimuth with a quadrant elevation. Drones fly ``waypoints`` then dive on the
    aim point."""

    id: Name | None = None
    type: Name
    launch: GeoPoint
    aim: GeoPoint | None = None
    azimuth_deg: AzimuthDeg | None = None
    quadrant_elevation_deg: Annotated[float, _between(0, 89)] | None = None
    time_s: NonNegative = 0.0
    salvo: Salvo = Salvo()
    dispersion: Dispersion = Dispersion()
    waypoints: list[GeoPoint] = []
    speed_mps: Positive | None = None

    @model_validator(mode="after")
    def _aim_or_angles(self) -> Threat:
        angles = (self.azimuth_deg is not None, self.quadrant_elevation_deg is not None)
        if self.aim is not None and any(angles):
            raise ValueError("give either 'aim' or 'azimuth_deg' + 'quadrant_elevation_deg'")
        if self.aim is None and not all(angles):
            raise ValueError(
                "give 'aim' (a point) or both 'azimuth_deg' and 'quadrant_elevation_deg'"
            )
        return self


class Aircraft(Model):
    """A friendly aircraft flying its waypoints at ``speed_mps`` from ``start_s``."""

    id: Name
    kind: Literal["helicopter", "fixed-wing", "drone"] = "helicopter"
    speed_mps: Positive = 60.0
    start_s: NonNegative = 0.0
    waypoints: Annotated[list[GeoPoint], Field(min_length=2)]
    rcs_m2: Positive = 10.0


class WindLayer(Model):
    alt_m: Altitude = 0.0
    from_deg: AzimuthDeg
    speed_mps: NonNegative


class Environment(Model):
    """Constant wind (``wind``) or wind by altitude above MSL (``wind_layers``), and an
    ISA temperature offset."""

    wind: WindLayer | None = None
    wind_layers: list[WindLayer] | None = None
    temperature_offset_k: Annotated[float, _between(-60, 60)] = 0.0

    @model_validator(mode="after")
    def _one_wind(self) -> Environment:
        if self.wind is not None and self.wind_layers is not None:
            raise ValueError("give 'wind' or 'wind_layers', not both")
        return self


class Tracking(Model):
    """Tracker settings (see docs/architecture.md, track stage)."""

    filter: Literal["imm", "ekf", "ckf"] = "imm"
    association: Literal["gnn", "jpda"] = "gnn"
    detection_prob: Annotated[float, _between(0.01, 0.999)] = 0.9
    clutter_density: Positive = 1e-5
    confirm_hits: Annotated[int, Field(ge=2, le=20)] = 5
    confirm_window_s: Positive = 3.5
    coast_s: Positive = 3.5
    gate_prob: Annotated[float, _between(0.5, 0.999999)] = 0.999

    @model_validator(mode="after")
    def _jpda_with_ekf(self) -> Tracking:
        if self.association == "jpda" and self.filter != "ekf":
            raise ValueError("association 'jpda' works with filter 'ekf'")
        return self


class Warning(Model):
    """Localised warning: a warning zone is alerted when the probability that a threat
    lands in it (grown by the threat's lethal radius) reaches ``threshold``."""

    threshold: Annotated[float, _between(0.001, 0.99)] = 0.02


class Engagement(Model):
    """Threat evaluation and the burst model (docs: opencram.engage.tewa). The target
    radius and kill-given-hit probability are our assumptions, not public figures."""

    threshold: Annotated[float, _between(0.001, 1.0)] = 0.2
    burst_s: Positive = 1.0
    target_radius_m: Positive = 1.0
    p_kill_given_hit: Annotated[float, _between(0.0, 1.0)] = 0.3
    min_intercept_alt_m: NonNegative = 50.0
    min_burst_pk: Annotated[float, _between(0.0, 1.0)] = 0.1
    friendly_clearance_m: NonNegative = 300.0
    dud_harm: NonNegative = 0.01
    debris_harm: NonNegative = 0.3
    debris_radius_m: Positive = 100.0


class Simulation(Model):
    dt_s: Annotated[float, _between(0.001, 1.0)] = 0.05
    duration_s: Annotated[float, _between(1, 36_000)] = 180.0
    seed: Annotated[int, Field(ge=0)] = 0


class Scenario(Model):
    """A whole scenario file."""

    name: Name
    description: str = ""
    site: Site
    landmarks: list[Landmark] = []
    zones: list[Zone] = []
    sensors: list[Sensor] = []
    weapons: list[Weapon] = []
    threats: list[Threat] = []
    aircraft: list[Aircraft] = []
    environment: Environment = Environment()
    tracking: Tracking = Tracking()
    warning: Warning = Warning()
    engagement: Engagement = Engagement()
    simulation: Simulation = Simulation()
