// opencram: the MGRS grid reference of a WGS-84 latitude and longitude, for the pointer
// readouts of the report's map (inlined in report.html) and the console (served as
// /mgrs.js). Defines window.opencramMgrs(lat, lon) -> "38SMB4324285554" (1 m).
"use strict";
(function () {
  const RAD = Math.PI / 180;
  const A = 6378137.0; // WGS-84 semi-major axis (m)
  const F = 1 / 298.257223563; // WGS-84 flattening
  const E2 = F * (2 - F);

  // ------------------------------------------------------------ MGRS (from lat/lon)
  // Transverse Mercator by Krüger's series in n (to n^4: well under a millimetre inside
  // a UTM zone), then the MGRS letters: the latitude band, the 100 km square's column
  // (sets of 8 letters repeating every 3 zones) and row (20 letters, offset by 5 in even
  // zones), and the easting and northing within the square, truncated to the metre.
  const N_ = F / (2 - F);
  const AA = (A / (1 + N_)) * (1 + N_ ** 2 / 4 + N_ ** 4 / 64);
  const ALPHA = [
    N_ / 2 - (2 / 3) * N_ ** 2 + (5 / 16) * N_ ** 3 + (41 / 180) * N_ ** 4,
    (13 / 48) * N_ ** 2 - (3 / 5) * N_ ** 3 + (557 / 1440) * N_ ** 4,
    (61 / 240) * N_ ** 3 - (103 / 140) * N_ ** 4,
    (49561 / 161280) * N_ ** 4,
  ];
  const BANDS = "CDEFGHJKLMNPQRSTUVWXX";
  const COLS = ["ABCDEFGH", "JKLMNPQR", "STUVWXYZ"];
  const ROWS = "ABCDEFGHJKLMNPQRSTUV";

  function utmZone(lat, lon) {
    let z = Math.floor((lon + 180) / 6) + 1;
    if (z > 60) z = 60;
    if (lat >= 56 && lat < 64 && lon >= 3 && lon < 12) z = 32; // Norway
    if (lat >= 72 && lat < 84 && lon >= 0 && lon < 42) {
      // Svalbard: zones 31, 33, 35 and 37 only
      z = lon < 9 ? 31 : lon < 21 ? 33 : lon < 33 ? 35 : 37;
    }
    return z;
  }

  function toUtm(lat, lon, zone) {
    const phi = lat * RAD;
    const lam = (lon - (zone * 6 - 183)) * RAD;
    const e = Math.sqrt(E2);
    const t = Math.sinh(Math.atanh(Math.sin(phi)) - e * Math.atanh(e * Math.sin(phi)));
    const xi = Math.atan2(t, Math.cos(lam));
    const eta = Math.atanh(Math.sin(lam) / Math.sqrt(1 + t * t));
    let x = eta, y = xi;
    for (let j = 1; j <= 4; j++) {
      x += ALPHA[j - 1] * Math.cos(2 * j * xi) * Math.sinh(2 * j * eta);
      y += ALPHA[j - 1] * Math.sin(2 * j * xi) * Math.cosh(2 * j * eta);
    }
    const k0 = 0.9996;
    const easting = 500000 + k0 * AA * x;
    let northing = k0 * AA * y;
    if (lat < 0) northing += 10000000;
    return [easting, northing];
  }

  function mgrs(lat, lon) {
    if (!(lat >= -80 && lat <= 84)) return "outside UTM (polar)";
    const zone = utmZone(lat, lon);
    const band = BANDS[Math.floor((lat + 80) / 8)];
    const [e, n] = toUtm(lat, lon, zone);
    const col = COLS[(zone - 1) % 3][Math.floor(e / 100000) - 1];
    const row = ROWS[(Math.floor(n / 100000) + (zone % 2 === 0 ? 5 : 0)) % 20];
    const pad = (v) => String(Math.floor(v % 100000)).padStart(5, "0");
    return `${zone}${band}${col}${row}${pad(e)}${pad(n)}`;
  }

  window.opencramMgrs = mgrs;
})();
