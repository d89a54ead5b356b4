"""EUROCONTROL ASTERIX in and out: radar plots as CAT048, system tracks as CAT062, and the
recording that ``opencram run --export-asterix`` writes, a libpcap capture
(docs/interfaces.md).

Encoding and decoding go through the ``libasterix`` package (imported as ``asterix``),
which is generated from the published category specifications. We use two editions:

* CAT048 (monoradar target reports) edition 1.31, ``asterix.generated.Cat_048_1_31``;
* CAT062 (SDPS system track messages) edition 1.18, ``asterix.generated.Cat_062_1_18``.

The items we use have the same layout in CAT048 editions 1.21 to 1.32 (checked against
the independent decoder, which reads 1.21). A data block is CAT (1 byte), LEN (2 bytes,
the whole block) and records; a record is an FSPEC then its items in UAP order.

Plots of rounds carry no transponder, so we write them as primary-only reports
(I048/020 TYP = 1, "single PSR detection"). Our radars measure elevation, which CAT048
has no item for: it travels as the 3-D height I048/110 (25 ft), the height of the plot
above the WGS-84 ellipsoid in the flat local frame, ``alt_m + range * sin(el)``; the
receiver turns it back into an elevation with the sensor's own altitude. The radial
velocity goes in I048/120 CAL (calculated Doppler speed, 1 m/s, positive moving away) and
the SNR in I048/130 PAM (amplitude of the primary plot, 1 dB; we write the SNR in dB).

Decoding never raises on bad input: every problem is returned as a ``(kind, detail)``
pair so the live service can count it (see :data:`PROBLEM_KINDS`).
"""

from __future__ import annotations

import struct
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from opencram.errors import UserError

NM_M = 1852.0  # metres per nautical mile (exact)
FT_M = 0.3048  # metres per foot (exact)
DAY_S = 86_400.0
MAX_DATAGRAM_BYTES = 65_507  # the largest UDP payload over IPv4
DEFAULT_BLOCK_BYTES = 1_400  # data blocks we write stay under a typical Ethernet MTU

CAT048_EDITION = "1.31"
CAT062_EDITION = "1.18"

# why an input (or part of it) was rejected; each is counted by the live service
PROBLEM_KINDS = (
    "empty",  # a datagram with no bytes
    "oversized",  # more bytes than any UDP datagram can carry
    "truncated",  # a data block's LEN runs past the end of the datagram
    "bad_length",  # a data block's LEN is under 3 (its own header)
    "category",  # a data block of a category we do not read
    "bad_record",  # the records do not parse under the category's UAP
    "missing_item",  # a record without I048/010, 040 or 140
    "bad_value",  # a record whose values cannot be a plot (range 0, height beyond range)
)


def _gen():
    import asterix.generated as gen  # deferred: libasterix's generated module takes ~2 s

    return gen


def _base():
    import asterix.base as base  # deferred: with the generated module, ~2 s to import

    return base


def cat048():
    return _gen().Cat_048_1_31


def cat062():
    return _gen().Cat_062_1_18


# --- CAT048 -------------------------------------------------------------------------------


@dataclass
class Cat048Plots:
    """Decoded CAT048 target reports as arrays of shape ``(n,)``. Absent values are NaN
    (floats) or -1 (integers)."""

    sac: np.ndarray
    sic: np.ndarray
    tod_s: np.ndarray  # I048/140 time of day, s since UTC midnight
    range_m: np.ndarray  # I048/040 RHO, slant range
    az_rad: np.ndarray  # I048/040 THETA, clockwise from north
    height_m: np.ndarray  # I048/110 3-D height
    range_rate_mps: np.ndarray  # I048/120 CAL (NaN when absent or D = 1, not valid)
    snr_db: np.ndarray  # I048/130 PAM
    typ: np.ndarray  # I048/020 TYP
    simulated: np.ndarray  # I048/020 SIM
    mode3a: np.ndarray  # I048/070 code as an integer (octal digits), -1 absent
    flight_level: np.ndarray  # I048/090 FL
    address: np.ndarray  # I048/220 24-bit aircraft address, -1 absent
    track_number: np.ndarray  # I048/161, -1 absent
    ground_speed_mps: np.ndarray  # I048/200 GSP
    heading_rad: np.ndarray  # I048/200 HDG

    def __len__(self) -> int:
        return int(self.sac.size)


_INT_COLS = ("sac", "sic", "typ", "simulated", "mode3a", "address", "track_number")
_CAT048_COLS = tuple(Cat048Plots.__dataclass_fields__)


def _empty_cat048(n: int = 0) -> dict[str, np.ndarray]:
    return {
        c: (np.full(n, -1, np.int64) if c in _INT_COLS else np.full(n, np.nan))
        for c in _CAT048_COLS
    }


def _finite(a, i) -> bool:
    return a is not None and bool(np.isfinite(a[i]))


def _wrap_tod(tod_s: float) -> float:
    return float(np.mod(tod_s, DAY_S))


def cat048_records(
    *,
    sac: int,
    sic: int,
    tod_s: Sequence[float],
    range_m: Sequence[float],
    az_rad: Sequence[float],
    height_m: Sequence[float] | None = None,
    range_rate_mps: Sequence[float] | None = None,
    snr_db: Sequence[float] | None = None,
    simulated: bool = False,
    mode3a: Sequence[int] | None = None,
    flight_level: Sequence[float] | None = None,
    address: Sequence[int] | None = None,
    track_number: Sequence[int] | None = None,
    ground_speed_mps: Sequence[float] | None = None,
    heading_rad: Sequence[float] | None = None,
) -> list:
    """libasterix CAT048 records, one per plot of one sensor (SAC/SIC). Optional arrays
    give per-plot values; NaN (or -1 for integers) leaves the item out. Values beyond an
    item's range are clipped to it (ranges beyond 256 NM, heights beyond ±409,575 ft,
    Doppler beyond ±511 m/s)."""
    spec = cat048().cv_record
    tod = np.asarray(tod_s, float)
    rng = np.asarray(range_m, float)
    az = np.asarray(az_rad, float)
    arrays = {
        "h": height_m,
        "rr": range_rate_mps,
        "snr": snr_db,
        "fl": flight_level,
        "gs": ground_speed_mps,
        "hdg": heading_rad,
    }
    arr = {k: (None if v is None else np.asarray(v, float)) for k, v in arrays.items()}
    ints = {"m3a": mode3a, "adr": address, "trn": track_number}
    iarr = {k: (None if v is None else np.asarray(v, np.int64)) for k, v in ints.items()}
    rho_raw = np.clip(np.round(rng / NM_M * 256.0), 0, 0xFFFF).astype(np.int64)
    theta_raw = np.mod(np.round(np.degrees(np.mod(az, 2 * np.pi)) / 360.0 * 65536.0), 65536)
    tod_raw = np.round(np.mod(tod, DAY_S) * 128.0).astype(np.int64) % (1 << 24)
    out = []
    for i in range(rng.size):
        coded = iarr["m3a"] is not None and iarr["m3a"][i] >= 0
        items: dict = {
            "010": (("SAC", int(sac)), ("SIC", int(sic))),
            "140": int(tod_raw[i]),
            # TYP 1: single PSR detection; 3: SSR + PSR detection (a Mode 3/A code read)
            "020": ((("TYP", 3 if coded else 1), ("SIM", int(bool(simulated))), ("RDP", 0),
                     ("SPI", 0), ("RAB", 0), None),),
            "040": (("RHO", int(rho_raw[i])), ("THETA", int(theta_raw[i]))),
        }  # fmt: skip
        if coded:
            code = int(iarr["m3a"][i]) & 0o7777
            items["070"] = (("V", 0), ("G", 0), ("L", 0), 0, ("MODE3A", code))
        if _finite(arr["fl"], i):
            fl = int(np.clip(np.round(arr["fl"][i] * 4.0), -(1 << 13), (1 << 13) - 1))
            items["090"] = (("V", 0), ("G", 0), ("FL", fl & 0x3FFF))
        if _finite(arr["snr"], i):
            pam = int(np.clip(np.round(arr["snr"][i]), -128, 127))
            items["130"] = {"PAM": pam & 0xFF}
        if iarr["adr"] is not None and iarr["adr"][i] >= 0:
            items["220"] = int(iarr["adr"][i]) & 0xFFFFFF
        if iarr["trn"] is not None and iarr["trn"][i] >= 0:
            items["161"] = (0, ("TRN", int(iarr["trn"][i]) & 0xFFF))
        if _finite(arr["gs"], i) and _finite(arr["hdg"], i):
            gsp = int(np.clip(np.round(arr["gs"][i] / NM_M * 16384.0), 0, 0xFFFF))
            hdg = int(np.round(np.degrees(np.mod(arr["hdg"][i], 2 * np.pi)) / 360 * 65536))
            items["200"] = (("GSP", gsp), ("HDG", hdg % 65536))
        if _finite(arr["h"], i):
            h = int(np.clip(np.round(arr["h"][i] / FT_M / 25.0), -(1 << 13), (1 << 13) - 1))
            items["110"] = (0, ("3DH", h & 0x3FFF))
        if _finite(arr["rr"], i):
            cal = int(np.clip(np.round(arr["rr"][i]), -512, 511))
            items["120"] = {"CAL": (("D", 0), 0, ("CAL", cal & 0x3FF))}
        out.append(spec.create(items))
    return out


def data_blocks(category_spec, records: list, max_bytes: int = DEFAULT_BLOCK_BYTES) -> list[bytes]:
    """Records packed into data blocks of at most ``max_bytes`` each (a record larger
    than that gets a block of its own)."""
    blocks: list[bytes] = []
    chunk: list = []
    size = 3
    for rec in records:
        n = len(rec.unparse()) // 8
        if chunk and size + n > max_bytes:
            blocks.append(category_spec.create(chunk).unparse().to_bytes())
            chunk, size = [], 3
        chunk.append(rec)
        size += n
    if chunk:
        blocks.append(category_spec.create(chunk).unparse().to_bytes())
    return blocks


def encode_cat048(max_bytes: int = DEFAULT_BLOCK_BYTES, **kwargs) -> list[bytes]:
    """CAT048 data blocks for plots of one sensor (arguments of :func:`cat048_records`)."""
    return data_blocks(cat048(), cat048_records(**kwargs), max_bytes)


def split_blocks(data: bytes) -> tuple[list[tuple[int, bytes]], list[tuple[str, str]]]:
    """The data blocks of a datagram as (category, record bytes), and problems. Framing
    is checked here (iteratively, so a datagram of thousands of tiny blocks is fine)."""
    problems: list[tuple[str, str]] = []
    if not data:
        return [], [("empty", "no bytes")]
    if len(data) > MAX_DATAGRAM_BYTES:
        return [], [("oversized", f"{len(data)} bytes")]
    blocks = []
    pos = 0
    n = len(data)
    while pos < n:
        if n - pos < 3:
            problems.append(("truncated", f"{n - pos} bytes left after the last data block"))
            break
        cat = data[pos]
        length = (data[pos + 1] << 8) | data[pos + 2]
        if length < 3:
            problems.append(("bad_length", f"data block LEN {length}"))
            break
        if pos + length > n:
            problems.append(("truncated", f"data block LEN {length}, {n - pos} bytes left"))
            break
        blocks.append((cat, data[pos + 3 : pos + length]))
        pos += length
    return blocks, problems


def peek_sensor(data: bytes) -> tuple[int, int] | None:
    """SAC/SIC of the first record of the first CAT048 data block, read straight from the
    bytes (I048/010 is the first item of the UAP), or None. Cheap: used to queue datagrams
    per sensor before decoding them."""
    if len(data) < 6 or data[0] != 48:
        return None
    fspec = data[3]
    if not fspec & 0x80:
        return None
    pos = 3
    while pos < len(data) and data[pos] & 0x01:  # FX: more FSPEC bytes follow
        pos += 1
    if pos + 2 >= len(data):
        return None
    return data[pos + 1], data[pos + 2]


def _q(item, sub: str, unit: str) -> float:
    return float(item.variation.get_item(sub).variation.content.as_quantity(unit))


def decode_cat048(data: bytes) -> tuple[Cat048Plots, list[tuple[str, str]]]:
    """The CAT048 target reports in a datagram, and the problems met (never raises on
    bad input). Data blocks of other categories are skipped and reported as
    ``category``; a data block whose records do not parse is dropped whole."""
    blocks, problems = split_blocks(data)
    spec = cat048()
    base = _base()
    cols: dict[str, list] = {c: [] for c in _CAT048_COLS}
    for cat, body in blocks:
        if cat != 48:
            problems.append(("category", f"CAT{cat:03d} data block"))
            continue
        try:
            recs = spec.cv_uap.parse(base.Bits.from_bytes(body))
        except (ValueError, IndexError, KeyError, AssertionError, RecursionError) as exc:
            recs = ValueError(str(exc))
        if isinstance(recs, ValueError):
            problems.append(("bad_record", str(recs)[:80] or "CAT048 records do not parse"))
            continue
        for rec in recs:
            row = _cat048_row(rec)
            if isinstance(row, tuple):
                problems.append(row)
                continue
            for c in _CAT048_COLS:
                cols[c].append(row[c])
    out = _empty_cat048(0)
    if cols["sac"]:
        out = {c: np.asarray(v, np.int64 if c in _INT_COLS else float) for c, v in cols.items()}
    return Cat048Plots(**out), problems


def _cat048_row(rec) -> dict | tuple[str, str]:
    """One CAT048 record as a row of :data:`_CAT048_COLS` (absent items as -1 or NaN), or a
    ``(kind, detail)`` problem."""
    i010, i040, i140 = rec.get_item("010"), rec.get_item("040"), rec.get_item("140")
    if i010 is None or i040 is None or i140 is None:
        missing = [n for n, it in (("010", i010), ("040", i040), ("140", i140)) if it is None]
        return ("missing_item", "no I048/" + ", I048/".join(missing))
    row: dict = {c: (-1 if c in _INT_COLS else float("nan")) for c in _CAT048_COLS}
    row["sac"] = i010.variation.get_item("SAC").as_uint()
    row["sic"] = i010.variation.get_item("SIC").as_uint()
    row["tod_s"] = float(i140.variation.content.as_quantity("s"))
    row["range_m"] = _q(i040, "RHO", "NM") * NM_M
    row["az_rad"] = np.radians(_q(i040, "THETA", "°"))
    for name, read in _CAT048_OPTIONAL:
        item = rec.get_item(name)
        if item is not None:
            read(item, row)
    if not (row["range_m"] > 0.0):
        return ("bad_value", "RHO is 0")
    return row


def _read_020(item, row: dict) -> None:
    row["typ"] = item.variation.get_item("TYP").as_uint()
    row["simulated"] = item.variation.get_item("SIM").as_uint()


def _read_070(item, row: dict) -> None:
    row["mode3a"] = item.variation.get_item("MODE3A").as_uint()


def _read_090(item, row: dict) -> None:
    row["flight_level"] = _q(item, "FL", "FL")


def _read_110(item, row: dict) -> None:
    row["height_m"] = _q(item, "3DH", "ft") * FT_M


def _read_120(item, row: dict) -> None:
    """The calculated Doppler speed, when present and valid (D = 0)."""
    cal = item.variation.get_item("CAL")
    if cal is not None and cal.variation.get_item("D").as_uint() == 0:
        row["range_rate_mps"] = float(
            cal.variation.get_item("CAL").variation.content.as_quantity("m/s")
        )


def _read_130(item, row: dict) -> None:
    pam = item.variation.get_item("PAM")
    if pam is not None:
        row["snr_db"] = float(pam.variation.content.as_quantity("dBm"))


def _read_161(item, row: dict) -> None:
    row["track_number"] = item.variation.get_item("TRN").as_uint()


def _read_200(item, row: dict) -> None:
    row["ground_speed_mps"] = _q(item, "GSP", "NM/s") * NM_M
    row["heading_rad"] = np.radians(_q(item, "HDG", "°"))


def _read_220(item, row: dict) -> None:
    row["address"] = item.variation.content.as_uint()


# the optional CAT048 items we read, each with the function that writes it into a row
_CAT048_OPTIONAL = (
    ("020", _read_020),
    ("070", _read_070),
    ("090", _read_090),
    ("110", _read_110),
    ("120", _read_120),
    ("130", _read_130),
    ("161", _read_161),
    ("200", _read_200),
    ("220", _read_220),
)


# --- CAT062 -------------------------------------------------------------------------------


@dataclass
class SystemTracks:
    """System tracks to publish as CAT062, arrays of shape ``(n,)`` (``vel`` ``(n, 3)``)."""

    track_number: np.ndarray
    tod_s: np.ndarray  # time of track information (I062/070)
    lat_deg: np.ndarray
    lon_deg: np.ndarray
    pos_en_m: np.ndarray  # (n, 2) I062/100 Cartesian position from the system reference
    vel_enu_mps: np.ndarray  # (n, 3): I062/185 Vx, Vy; climb to I062/220
    alt_m: np.ndarray  # I062/130 geometric altitude
    confirmed: np.ndarray  # I062/080 CNF (0 confirmed, 1 tentative)
    first: np.ndarray  # I062/080 TSB, first message for the track
    last: np.ndarray  # I062/080 TSE, last message (track ended)
    track_age_s: np.ndarray  # I062/290 TRK
    psr_age_s: np.ndarray  # I062/290 PSR
    simulated: bool = False
    multisensor: bool = True
    extra: dict = field(default_factory=dict)
    mode3a: np.ndarray | None = None  # I062/060 track Mode 3/A code (-1: none, item left out)


def cat062_records(tracks: SystemTracks, *, sac: int, sic: int, service_id: int = 1) -> list:
    """libasterix CAT062 records, one per track."""
    spec = cat062().cv_record
    n = tracks.track_number.size
    tod_raw = np.round(np.mod(tracks.tod_s, DAY_S) * 128.0).astype(np.int64) % (1 << 24)
    lat_raw = np.round(tracks.lat_deg / 180.0 * (1 << 25)).astype(np.int64)
    lon_raw = np.round(tracks.lon_deg / 180.0 * (1 << 25)).astype(np.int64)
    lim24 = (1 << 23) - 1
    xy_raw = np.clip(np.round(tracks.pos_en_m * 2.0), -lim24 - 1, lim24).astype(np.int64)
    v_raw = np.clip(np.round(tracks.vel_enu_mps[:, :2] * 4.0), -32768, 32767).astype(np.int64)
    alt_raw = np.clip(np.round(tracks.alt_m / FT_M / 6.25), -32768, 32767).astype(np.int64)
    roc_raw = np.clip(
        np.round(tracks.vel_enu_mps[:, 2] / FT_M * 60.0 / 6.25), -32768, 32767
    ).astype(np.int64)
    out = []
    for i in range(n):
        items = {
            "010": (("SAC", int(sac)), ("SIC", int(sic))),
            "015": int(service_id) & 0xFF,
            "070": int(tod_raw[i]),
            "105": (("LAT", int(lat_raw[i]) & 0xFFFFFFFF), ("LON", int(lon_raw[i]) & 0xFFFFFFFF)),
            "100": (("X", int(xy_raw[i, 0]) & 0xFFFFFF), ("Y", int(xy_raw[i, 1]) & 0xFFFFFF)),
            "185": (("VX", int(v_raw[i, 0]) & 0xFFFF), ("VY", int(v_raw[i, 1]) & 0xFFFF)),
            "040": int(tracks.track_number[i]) & 0xFFFF,
            "080": (
                (("MON", int(not tracks.multisensor)), ("SPI", 0), ("MRH", 1), ("SRC", 2),
                 ("CNF", int(not tracks.confirmed[i])), None),
                (("SIM", int(bool(tracks.simulated))), ("TSE", int(bool(tracks.last[i]))),
                 ("TSB", int(bool(tracks.first[i]))), ("FPC", 0), ("AFF", 0), ("STP", 0),
                 ("KOS", 0), None),
            ),
            "290": {
                "TRK": int(np.clip(np.round(tracks.track_age_s[i] * 4.0), 0, 255)),
                "PSR": int(np.clip(np.round(tracks.psr_age_s[i] * 4.0), 0, 255)),
            },
            "130": int(alt_raw[i]) & 0xFFFF,
            "220": int(roc_raw[i]) & 0xFFFF,
        }  # fmt: skip
        if tracks.mode3a is not None and tracks.mode3a[i] >= 0:
            code = int(tracks.mode3a[i]) & 0o7777
            items["060"] = (("V", 0), ("G", 0), ("CH", 0), 0, ("MODE3A", code))
        out.append(spec.create(items))
    return out


def encode_cat062(
    tracks: SystemTracks,
    *,
    sac: int,
    sic: int,
    service_id: int = 1,
    max_bytes: int = DEFAULT_BLOCK_BYTES,
) -> list[bytes]:
    """CAT062 data blocks for system tracks."""
    return data_blocks(cat062(), cat062_records(tracks, sac=sac, sic=sic, service_id=service_id),
                       max_bytes)  # fmt: skip


def decode_cat062(data: bytes) -> tuple[list[dict], list[tuple[str, str]]]:
    """CAT062 records of a datagram as dicts (for tests and tools): sac, sic, service_id,
    tod_s, track_number, lat, lon, x_m, y_m, vx_mps, vy_mps, alt_m, climb_mps, confirmed,
    first, last, simulated, track_age_s, psr_age_s (None where absent)."""
    blocks, problems = split_blocks(data)
    spec = cat062()
    base = _base()
    out: list[dict] = []
    for cat, body in blocks:
        if cat != 62:
            problems.append(("category", f"CAT{cat:03d} data block"))
            continue
        try:
            recs = spec.cv_uap.parse(base.Bits.from_bytes(body))
        except (ValueError, IndexError, KeyError, AssertionError, RecursionError) as exc:
            recs = ValueError(str(exc))
        if isinstance(recs, ValueError):
            problems.append(("bad_record", str(recs)[:80]))
            continue
        for rec in recs:
            out.append(_cat062_row(rec))
    return out, problems


def _cat062_row(rec) -> dict:
    def get(name):
        return rec.get_item(name)

    row: dict = {}
    i010 = get("010")
    row["sac"] = None if i010 is None else i010.variation.get_item("SAC").as_uint()
    row["sic"] = None if i010 is None else i010.variation.get_item("SIC").as_uint()
    i015 = get("015")
    row["service_id"] = None if i015 is None else i015.as_uint()
    i070 = get("070")
    row["tod_s"] = None if i070 is None else float(i070.variation.content.as_quantity("s"))
    i040 = get("040")
    row["track_number"] = None if i040 is None else i040.as_uint()
    i105 = get("105")
    row["lat"] = None if i105 is None else _q(i105, "LAT", "°")
    row["lon"] = None if i105 is None else _q(i105, "LON", "°")
    i100 = get("100")
    row["x_m"] = None if i100 is None else _q(i100, "X", "m")
    row["y_m"] = None if i100 is None else _q(i100, "Y", "m")
    i185 = get("185")
    row["vx_mps"] = None if i185 is None else _q(i185, "VX", "m/s")
    row["vy_mps"] = None if i185 is None else _q(i185, "VY", "m/s")
    i060 = get("060")
    row["mode3a"] = -1 if i060 is None else i060.variation.get_item("MODE3A").as_uint()
    i130 = get("130")
    row["alt_m"] = None if i130 is None else float(i130.variation.content.as_quantity("ft")) * FT_M
    i220 = get("220")
    row["climb_mps"] = (
        None if i220 is None else float(i220.variation.content.as_quantity("ft/min")) * FT_M / 60
    )
    i080 = get("080")
    if i080 is not None:
        v = i080.variation
        row["confirmed"] = v.get_item("CNF").as_uint() == 0
        sim, tse, tsb = v.get_item("SIM"), v.get_item("TSE"), v.get_item("TSB")
        row["simulated"] = None if sim is None else sim.as_uint() == 1
        row["last"] = None if tse is None else tse.as_uint() == 1
        row["first"] = None if tsb is None else tsb.as_uint() == 1
    i290 = get("290")
    for sub, key in (("TRK", "track_age_s"), ("PSR", "psr_age_s")):
        it = None if i290 is None else i290.variation.get_item(sub)
        row[key] = None if it is None else float(it.variation.content.as_quantity("s"))
    return row


# --- the recording file -------------------------------------------------------------------
#
# A recording is a libpcap capture of the datagrams (opencram.interop.pcap). Recordings made
# before that are the own container below, which stays readable: the 8 bytes
# ``OCRAMAX1``, then per datagram a big-endian timestamp (unsigned 64-bit, µs since the
# Unix epoch), its length (unsigned 32-bit) and its bytes.

CONTAINER_MAGIC = b"OCRAMAX1"  # the container of opencram 0.1 recordings
_ENTRY = struct.Struct(">QI")  # timestamp (µs since the Unix epoch), datagram length


@dataclass
class Recording:
    """The ASTERIX datagrams of a recording, (timestamp in seconds since the Unix epoch,
    bytes) in file order; for a capture, what was skipped (``opencram.interop.pcap``)."""

    datagrams: list[tuple[float, bytes]]
    format: str  # "pcap", "pcapng" or "opencram" (the old container)
    summary: str  # one line on what was read and skipped
    skipped: dict = field(default_factory=dict)


def write_recording(
    path: str | Path, entries: Sequence[tuple[float, bytes]], port: int | None = None
) -> None:
    """Write a recording (atomically): a libpcap capture with one UDP packet to ``port``
    (default 8600, Wireshark's ASTERIX port) per (timestamp, datagram)."""
    from opencram.interop.pcap import ASTERIX_UDP_PORT, write_pcap  # deferred: dpkt

    write_pcap(path, entries, ASTERIX_UDP_PORT if port is None else port)


def load_recording(path: str | Path, port: int | None = None) -> Recording:
    """Read a recording: a pcap or pcapng capture (the UDP datagrams to ``port``, default
    8600; other packets skipped and counted) or the old container. A file that is none of
    them, or is cut short inside the container, is a :class:`UserError` naming it."""
    from opencram.interop.pcap import ASTERIX_UDP_PORT, capture_format, read_capture

    label = str(path)
    try:
        with open(path, "rb") as f:
            head = f.read(len(CONTAINER_MAGIC))
    except FileNotFoundError:
        raise UserError(f"{label}: file not found") from None
    except OSError as exc:
        raise UserError(f"{label}: cannot read: {exc.strerror or exc}") from None
    if head == CONTAINER_MAGIC:
        entries = list(iter_recording(path))
        return Recording(entries, "opencram", f"opencram recording: {len(entries)} datagrams")
    if capture_format(head) is None:
        raise UserError(
            f"{label}: not an ASTERIX recording (neither a pcap or pcapng capture nor an "
            f"opencram recording {CONTAINER_MAGIC.decode()})"
        )
    cap = read_capture(path, ASTERIX_UDP_PORT if port is None else port)
    return Recording(cap.datagrams, cap.format, cap.summary(), dict(cap.skipped))


def read_recording(path: str | Path, port: int | None = None) -> list[tuple[float, bytes]]:
    """The datagrams of a recording (:func:`load_recording`)."""
    return load_recording(path, port).datagrams


def iter_recording(path: str | Path) -> Iterator[tuple[float, bytes]]:
    """The entries of an old container recording; a bad or truncated one is a
    :class:`UserError` naming it and the byte offset."""
    label = str(path)
    try:
        data = Path(path).read_bytes()
    except FileNotFoundError:
        raise UserError(f"{label}: file not found") from None
    except OSError as exc:
        raise UserError(f"{label}: cannot read: {exc.strerror or exc}") from None
    if data[: len(CONTAINER_MAGIC)] != CONTAINER_MAGIC:
        raise UserError(f"{label}: not an opencram ASTERIX recording (no {CONTAINER_MAGIC!r})")
    pos = len(CONTAINER_MAGIC)
    while pos < len(data):
        if len(data) - pos < _ENTRY.size:
            raise UserError(f"{label}: byte {pos}: truncated entry header")
        t_us, n = _ENTRY.unpack_from(data, pos)
        pos += _ENTRY.size
        if len(data) - pos < n:
            raise UserError(f"{label}: byte {pos}: datagram of {n} bytes is truncated")
        yield t_us / 1e6, data[pos : pos + n]
        pos += n


# --- plots to a recording -----------------------------------------------------------------

DEFAULT_EPOCH_UNIX_S = 1_639_872_000.0  # 2021-12-19T00:00:00Z, scenario time 0
GROUP_S = 0.1  # a datagram carries one sensor's plots arriving within this span


def plots_to_datagrams(
    plots,
    sensor_alt_m: Sequence[float],
    *,
    sac: int = 0,
    simulated: bool = True,
    group_s: float = GROUP_S,
    max_bytes: int = DEFAULT_BLOCK_BYTES,
) -> list[tuple[float, bytes]]:
    """CAT048 datagrams for a :class:`~opencram.sense.plots.Plots` batch, as (arrival
    time, bytes) in arrival order. Sensor ``k`` is SAC ``sac``, SIC ``k + 1``; plot times
    become times of day (scenario time 0 is midnight). Each datagram holds one sensor's
    plots that arrive within ``group_s`` of its first; it is stamped with the last arrival."""
    order = np.lexsort((plots.time_s, plots.arrival_s))
    p = plots.take(order)
    alt = np.asarray(sensor_alt_m, dtype=float)
    out: list[tuple[float, bytes]] = []
    for k in np.unique(p.sensor).tolist():
        sel = np.flatnonzero(p.sensor == k)
        arr = p.arrival_s[sel]
        start = 0
        while start < sel.size:
            stop = int(np.searchsorted(arr, arr[start] + group_s, side="right"))
            idx = sel[start:stop]
            height = alt[k] + p.range_m[idx] * np.sin(p.el_rad[idx])
            blocks = encode_cat048(
                max_bytes=max_bytes,
                sac=sac,
                sic=k + 1,
                tod_s=p.time_s[idx],
                range_m=p.range_m[idx],
                az_rad=p.az_rad[idx],
                height_m=height,
                range_rate_mps=p.range_rate_mps[idx],
                snr_db=p.snr_db[idx],
                simulated=simulated,
                mode3a=p.mode3a[idx],
            )
            t_arr = float(arr[stop - 1])
            out.extend((t_arr, b) for b in blocks)
            start = stop
    out.sort(key=lambda e: e[0])  # stable: one sensor's blocks keep their order
    return out


def export_recording(
    path: str | Path,
    plots,
    sensor_alt_m: Sequence[float],
    *,
    sac: int = 0,
    epoch_unix_s: float = DEFAULT_EPOCH_UNIX_S,
    simulated: bool = True,
) -> int:
    """Write simulated plots as a CAT048 recording (a libpcap capture, UDP to port 8600);
    returns the number of datagrams."""
    entries = plots_to_datagrams(plots, sensor_alt_m, sac=sac, simulated=simulated)
    write_recording(path, [(epoch_unix_s + t, b) for t, b in entries])
    return len(entries)
