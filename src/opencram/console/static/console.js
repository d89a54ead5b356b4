// opencram console: draws the run from the server's websocket and sends operator actions.
// No libraries and no network beyond this server: the map is SVG drawn from the scenario's
// vector features in the local East-North-Up frame (metres), never from map tiles.
// Colours come from /palette.css (opencram.palette): this script only sets classes.
"use strict";

const TAIL_POINTS = 40; // track history shown on the map
const LOG_MAX = 600;
const token = new URLSearchParams(location.search).get("token");

// ---------------------------------------------------------------- state from the server
let map = null; // static features: zones, landmarks, sensors, guns
let state = {}; // clock and control state
let model = emptyModel();
let seeking = false; // the user is dragging the seek bar: the server's clock does not move it

function emptyModel() {
  return {
    tracks: new Map(), // id -> {id, cls, e, n, alt, speed, tail, impact, origin, dropped}
    alerts: new Map(), // zone -> zone_alert event
    guns: new Map(), // id -> {state, ammo}
    impacts: [], // [{e, n, id}]
    kills: [], // engagement results with killed: [{e, n, track}]
    planned: new Map(), // track id -> last engagement (intercept point, footprints)
    truth: new Map(), // object id -> truth event
    logCount: 0,
  };
}

// a track still drawn: not dropped, not destroyed
const shown = (t) => !t.dropped && !t.killed;

function esc(s) {
  return String(s).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
}
const $ = (sel) => document.querySelector(sel);
const fmt = (x, d = 0) => (x === null || x === undefined ? "-" : Number(x).toFixed(d));

// ---------------------------------------------------------------- events into the model
function logLine(ev, text, extra = "") {
  const li = document.createElement("li");
  li.className = `k-${ev.kind} ${extra}`.trim();
  li.dataset.kind = ev.kind;
  li.innerHTML = `<span class="t">${fmt(ev.t_s, 2)}</span>${esc(text)}`;
  const log = $("#log");
  log.prepend(li);
  model.logCount++;
  while (log.children.length > LOG_MAX) log.lastChild.remove();
}

function apply(ev) {
  const m = model;
  switch (ev.kind) {
    case "run_started":
      logLine(ev, `run started: ${ev.scenario} (seed ${ev.seed}, ${ev.n_threats} threats, ${ev.n_aircraft} aircraft)`);
      break;
    case "launch":
      logLine(ev, `launch: ${ev.threat_id} (${ev.threat_type})`);
      break;
    case "truth":
      m.truth.set(ev.object_id, ev);
      break;
    case "track": {
      let t = m.tracks.get(ev.track_id);
      if (!t) {
        t = { id: ev.track_id, tail: [] };
        m.tracks.set(ev.track_id, t);
        logLine(ev, `new track ${ev.track_id}: ${ev.track_class}`);
      }
      const [ve, vn, vu] = ev.vel_enu_mps;
      Object.assign(t, {
        cls: ev.track_class, e: ev.e_m, n: ev.n_m, alt: ev.alt_m, t_s: ev.t_s,
        speed: Math.hypot(ve, vn, vu), sigma: ev.pos_sigma_m, dropped: false,
      });
      t.tail.push([ev.e_m, ev.n_m]);
      if (t.tail.length > TAIL_POINTS) t.tail.shift();
      break;
    }
    case "track_dropped": {
      const t = m.tracks.get(ev.track_id);
      if (t) {
        t.dropped = true;
        t.impact = null;
        t.origin = null;
      }
      // the tracker ends a destroyed threat's track like any other ("landed" once its
      // prediction reaches the ground), but the operator must read that it was destroyed
      if (t && t.killed) logLine(ev, `track ${ev.track_id} destroyed by ${t.killedBy}: track closed`, "destroyed");
      else logLine(ev, `track ${ev.track_id} dropped (${ev.reason})`);
      break;
    }
    case "impact_predicted": {
      const t = m.tracks.get(ev.track_id);
      if (t) t.impact = ev;
      break;
    }
    case "respond": {
      const t = m.tracks.get(ev.track_id);
      if (t) t.origin = ev;
      break;
    }
    case "zone_alert": {
      // an alert up is re-sent ("updated") whenever its tracks, probability or predicted
      // impact time change, so the latest event is the truth: the card shows it
      const prev = m.alerts.get(ev.zone);
      if (ev.state === "cleared") {
        m.alerts.delete(ev.zone);
        logLine(ev, `all clear: ${ev.zone}`);
      } else {
        const tti = ev.time_to_impact_s === null ? "" : `, impact in ${fmt(ev.time_to_impact_s, 1)} s`;
        const what = `p=${fmt(ev.probability * 100, 0)} % (tracks ${ev.track_ids.join(", ")}${tti})`;
        if (ev.state === "raised") logLine(ev, `ALERT ${ev.zone}: ${what}`);
        else if (prev && prev.track_ids.join(",") !== ev.track_ids.join(",")) logLine(ev, `alert ${ev.zone} now: ${what}`);
        m.alerts.set(ev.zone, ev);
      }
      break;
    }
    case "engagement":
      m.planned.set(ev.track_id, ev);
      logLine(ev, `${ev.gun} engages track ${ev.track_id}: ${ev.rounds} rounds at t=${fmt(ev.fire_s, 1)} s, ` +
        `intercept t=${fmt(ev.intercept_s, 1)} s at ${fmt(ev.alt_m)} m, Pk ${fmt(ev.p_kill * 100)} %`);
      break;
    case "engagement_result":
      if (ev.killed) {
        const p = m.planned.get(ev.track_id);
        if (p) m.kills.push({ e: p.e_m, n: p.n_m, track: ev.track_id });
        const t = m.tracks.get(ev.track_id);
        if (t) {
          t.killed = true;
          t.killedBy = ev.gun;
        }
        logLine(ev, `intercept: track ${ev.track_id} destroyed by ${ev.gun}`, "kill");
      } else {
        logLine(ev, `miss: track ${ev.track_id} survived ${ev.gun}'s burst`);
      }
      m.planned.delete(ev.track_id);
      break;
    case "engagement_withheld":
      logLine(ev, `fire withheld${ev.gun ? ` (${ev.gun})` : ""} on track ${ev.track_id}: ${ev.reason}`);
      break;
    case "gun":
      m.guns.set(ev.gun, { state: ev.state, ammo: ev.ammo });
      logLine(ev, `${ev.gun}: ${ev.state}, ${ev.ammo} rounds`);
      break;
    case "operator":
      logLine(ev, `operator: ${ev.action} ${ev.target} ${ev.accepted ? "(done)" : `refused: ${ev.note}`}`,
        ev.accepted ? "" : "refused");
      break;
    case "impact":
      m.impacts.push({ e: ev.e_m, n: ev.n_m, id: ev.threat_id });
      logLine(ev, `IMPACT ${ev.threat_id} in ${ev.zones.length ? ev.zones.join(", ") : "open ground"}`);
      break;
    case "aircraft_left":
      m.truth.delete(ev.aircraft_id);
      logLine(ev, `aircraft ${ev.aircraft_id} left`);
      break;
    case "run_finished":
      logLine(ev, `run finished: ${ev.n_impacts} landed, ${ev.n_destroyed ?? 0} destroyed in the air, ${ev.n_in_flight} still flying`);
      break;
    default:
      break;
  }
  // threats that have landed or been destroyed are no longer in the truth picture
  if (ev.kind === "impact") m.truth.delete(ev.threat_id);
}

// ---------------------------------------------------------------- the map (SVG)
// centre (E, N) and metres per pixel. In auto mode the view covers `box`, which only ever
// grows (to take in new tracks and their origins), so the map never zooms in by itself
// when tracks end or alerts clear. A wheel or a drag leaves auto mode: from then on only
// the user moves the map, until "Fit map".
const view = { cx: 0, cy: 0, mpp: 10, auto: true, box: null };

function toScreen(e, n, w, h) {
  return [w / 2 + (e - view.cx) / view.mpp, h / 2 - (n - view.cy) / view.mpp];
}

function toGround(x, y, w, h) {
  return [view.cx + (x - w / 2) * view.mpp, view.cy - (y - h / 2) * view.mpp];
}

function bounds(withDynamic) {
  const pts = [];
  if (map) {
    for (const z of map.zones) for (const r of z.rings) for (const p of r) pts.push(p);
    for (const l of map.landmarks) pts.push([l.e_m, l.n_m]);
    for (const g of map.guns) pts.push([g.e_m - g.range_m, g.n_m - g.range_m], [g.e_m + g.range_m, g.n_m + g.range_m]);
  }
  if (withDynamic) {
    for (const t of model.tracks.values()) if (shown(t)) for (const p of t.tail) pts.push(p);
    for (const t of model.tracks.values()) if (t.origin && shown(t)) pts.push([t.origin.e_m, t.origin.n_m]);
  }
  if (!pts.length) return null;
  const xs = pts.map((p) => p[0]), ys = pts.map((p) => p[1]);
  return [Math.min(...xs), Math.min(...ys), Math.max(...xs), Math.max(...ys)];
}

function fit() {
  const b = bounds(true);
  const svg = $("#map");
  if (!b || !svg.clientWidth) return;
  const o = view.box;
  view.box = o ? [Math.min(o[0], b[0]), Math.min(o[1], b[1]), Math.max(o[2], b[2]), Math.max(o[3], b[3])] : b;
  const [x0, y0, x1, y1] = view.box;
  view.cx = (x0 + x1) / 2;
  view.cy = (y0 + y1) / 2;
  view.mpp = Math.max((x1 - x0) / (svg.clientWidth - 60), (y1 - y0) / (svg.clientHeight - 60), 0.5);
}

function userMoved() {
  view.auto = false;
  view.box = null;
}

function ring(r, w, h) {
  return r.map((p) => toScreen(p[0], p[1], w, h).map((v) => v.toFixed(1)).join(",")).join(" ");
}

function ellipse(ev, cls, w, h) {
  if (!ev || ev.e_m === undefined) return "";
  const [x, y] = toScreen(ev.e_m, ev.n_m, w, h);
  const a = Math.max(ev.ellipse95.semi_major_m / view.mpp, 1.5);
  const b = Math.max(ev.ellipse95.semi_minor_m / view.mpp, 1.5);
  // orientation: azimuth of the major axis, clockwise from north; SVG rotates clockwise
  // from +x (east) on a screen whose y points south, so the angle is azimuth - 90.
  const rot = ev.ellipse95.orientation_deg - 90;
  return `<ellipse class="${cls}" cx="${x.toFixed(1)}" cy="${y.toFixed(1)}" rx="${a.toFixed(1)}" ry="${b.toFixed(1)}" transform="rotate(${rot.toFixed(1)} ${x.toFixed(1)} ${y.toFixed(1)})"/>`;
}

// Base-map tiles (opencram console --tiles): Web-Mercator tiles from map.tiles.template
// (this server's /tiles route for an MBTiles archive, or the user's URL template), each
// placed by its corner latitudes and longitudes in the local tangent plane at the site
// (metres per degree from the WGS-84 radii of curvature there). That plane agrees with the
// server's ENU frame to about d²·tan(lat)/(2R): 1 m at 5 km from the site, 5 m at 10 km.
function tileFrame() {
  const rad = Math.PI / 180, a = 6378137.0, f = 1 / 298.257223563, e2 = f * (2 - f);
  const s = Math.sin(map.site.lat * rad);
  const rn = a / Math.sqrt(1 - e2 * s * s), rm = (a * (1 - e2)) / (1 - e2 * s * s) ** 1.5;
  return { kx: rn * Math.cos(map.site.lat * rad) * rad, ky: rm * rad, rad };
}

function tileList(w, h) {
  const { kx, ky, rad } = tileFrame();
  const t = map.tiles;
  const fine = Math.round(Math.log2((156543.034 * Math.cos(map.site.lat * rad)) / view.mpp));
  const z = Math.min(Math.max(fine, t.zooms[0]), t.zooms[1]);
  const n = 2 ** z;
  const [e0, n0] = toGround(0, h, w, h), [e1, n1] = toGround(w, 0, w, h);
  const col = (e) => Math.min(Math.max(Math.floor(((map.site.lon + e / kx + 180) / 360) * n), 0), n - 1);
  const row = (nm) => Math.min(Math.max(Math.floor(((1 - Math.asinh(Math.tan((map.site.lat + nm / ky) * rad)) / Math.PI) / 2) * n), 0), n - 1);
  const lat = (y) => Math.atan(Math.sinh(Math.PI * (1 - (2 * y) / n))) / rad;
  const east = (x) => ((x / n) * 360 - 180 - map.site.lon) * kx;
  const north = (y) => (lat(y) - map.site.lat) * ky;
  const out = [];
  for (let y = row(n1); y <= row(n0) && out.length < 200; y++) {
    for (let x = col(e0); x <= col(e1); x++) out.push({ z, x, y, nw: [east(x), north(y)], se: [east(x + 1), north(y + 1)] });
  }
  return out;
}

function drawTiles(out, w, h) {
  const t = map.tiles;
  if (!t) return;
  const own = t.template.startsWith("/") && token ? `?token=${encodeURIComponent(token)}` : "";
  for (const k of tileList(w, h)) {
    const url = t.template.replaceAll("{z}", k.z).replaceAll("{x}", k.x).replaceAll("{y}", k.y) + own;
    const [x0, y0] = toScreen(...k.nw, w, h), [x1, y1] = toScreen(...k.se, w, h);
    out.push(`<image class="tile" data-tile="${k.z}/${k.x}/${k.y}" href="${esc(url)}" x="${x0.toFixed(1)}" y="${y0.toFixed(1)}" width="${(x1 - x0).toFixed(1)}" height="${(y1 - y0).toFixed(1)}" preserveAspectRatio="none"/>`);
  }
}

function drawMap() {
  const svg = $("#map");
  const w = svg.clientWidth, h = svg.clientHeight;
  if (!map || !w) return;
  if (view.auto) fit();
  Object.assign(svg.dataset, { cx: view.cx.toFixed(2), cy: view.cy.toFixed(2), mpp: view.mpp.toFixed(4), auto: String(view.auto) });
  const out = [];
  const alerted = model.alerts;
  const acked = new Set(state.acknowledged || []);
  drawTiles(out, w, h); // the base map beneath everything
  // then the site layers (rivers, roads, buildings, districts)
  for (const l of map.layers || []) {
    const what = `${esc(l.name)}${l.source ? ` (source: ${esc(l.source)})` : ""}`;
    for (const r of l.polygons) out.push(`<polygon class="layer ly-${esc(l.kind)}" data-layer="${esc(l.name)}" points="${ring(r, w, h)}"><title>${what}</title></polygon>`);
    for (const r of l.lines) out.push(`<polyline class="layer-line ly-${esc(l.kind)}" data-layer="${esc(l.name)}" points="${ring(r, w, h)}"><title>${what}</title></polyline>`);
  }
  for (const z of map.zones) {
    const cls = `zone ${z.kind}${alerted.has(z.name) ? " alerted" : ""}${acked.has(z.name) ? " acked" : ""}`;
    for (const r of z.rings) out.push(`<polygon class="${cls}" data-zone="${esc(z.name)}" points="${ring(r, w, h)}"><title>${esc(z.name)} (${z.kind})</title></polygon>`);
  }
  for (const z of map.zones) {
    const r = z.rings[0];
    const cx = r.reduce((s, p) => s + p[0], 0) / r.length, cy = r.reduce((s, p) => s + p[1], 0) / r.length;
    const [x, y] = toScreen(cx, cy, w, h);
    const xs = r.map((p) => p[0]);
    const widthPx = (Math.max(...xs) - Math.min(...xs)) / view.mpp;
    if (widthPx > z.name.length * 6.5) out.push(`<text x="${x.toFixed(1)}" y="${y.toFixed(1)}" text-anchor="middle">${esc(z.name)}</text>`);
  }
  for (const g of map.guns) {
    const [x, y] = toScreen(g.e_m, g.n_m, w, h);
    out.push(`<circle class="range" cx="${x.toFixed(1)}" cy="${y.toFixed(1)}" r="${(g.range_m / view.mpp).toFixed(1)}"/>`);
  }
  for (const l of map.landmarks) {
    const [x, y] = toScreen(l.e_m, l.n_m, w, h);
    out.push(`<circle class="landmark" cx="${x.toFixed(1)}" cy="${y.toFixed(1)}" r="3"/><text x="${(x + 6).toFixed(1)}" y="${(y + 4).toFixed(1)}">${esc(l.name)}</text>`);
  }
  for (const s of map.sensors) {
    const [x, y] = toScreen(s.e_m, s.n_m, w, h);
    out.push(`<path class="sensor" d="M${x.toFixed(1)},${(y - 7).toFixed(1)} l6,11 h-12z"><title>radar ${esc(s.id)}</title></path>`);
  }
  for (const g of map.guns) {
    const [x, y] = toScreen(g.e_m, g.n_m, w, h);
    const st = (model.guns.get(g.id) || { state: "ready" }).state;
    out.push(`<rect class="gun st-${esc(st)}" data-gun="${esc(g.id)}" x="${(x - 5).toFixed(1)}" y="${(y - 5).toFixed(1)}" width="10" height="10"><title>${esc(g.id)}: ${st}</title></rect>`);
    out.push(`<text x="${(x + 8).toFixed(1)}" y="${(y + 12).toFixed(1)}">${esc(g.id)}</text>`);
  }
  for (const t of model.tracks.values()) {
    if (!shown(t)) continue;
    out.push(ellipse(t.impact, "ell-impact", w, h));
    out.push(ellipse(t.origin, "ell-origin", w, h));
  }
  for (const p of model.planned.values()) {
    for (const f of p.footprints || []) {
      const [x, y] = toScreen(f.e_m, f.n_m, w, h);
      out.push(`<circle class="footprint ${esc(f.kind)}" cx="${x.toFixed(1)}" cy="${y.toFixed(1)}" r="${Math.max(f.radius_m / view.mpp, 2).toFixed(1)}"><title>${f.kind} footprint</title></circle>`);
    }
  }
  if ($("#show-truth").checked) {
    for (const o of model.truth.values()) {
      const [x, y] = toScreen(o.e_m, o.n_m, w, h);
      out.push(`<circle class="truth" cx="${x.toFixed(1)}" cy="${y.toFixed(1)}" r="2.5"><title>truth ${esc(o.object_id)}</title></circle>`);
    }
  }
  const friendly = new Set(state.friendly_tracks || []);
  for (const t of model.tracks.values()) {
    if (!shown(t)) continue;
    out.push(`<polyline class="tail" points="${ring(t.tail, w, h)}"/>`);
    const [x, y] = toScreen(t.e, t.n, w, h);
    out.push(`<circle class="trk c-${esc(t.cls)}${friendly.has(t.id) || t.cls === "friendly" ? " friendly" : ""}" data-track="${t.id}" cx="${x.toFixed(1)}" cy="${y.toFixed(1)}" r="5"/>`);
    out.push(`<text class="trk-label" x="${(x + 8).toFixed(1)}" y="${(y - 6).toFixed(1)}">T${t.id} ${esc(t.cls)} ${fmt(t.alt)} m</text>`);
  }
  for (const k of model.kills) {
    const [x, y] = toScreen(k.e, k.n, w, h);
    out.push(`<path class="kill-mark" d="M${x},${y - 9} l3,6 6,1 -4.5,4 1,6 -5.5,-3 -5.5,3 1,-6 -4.5,-4 6,-1z"><title>track ${k.track} destroyed</title></path>`);
  }
  for (const i of model.impacts) {
    const [x, y] = toScreen(i.e, i.n, w, h);
    out.push(`<path class="impact-mark" d="M${x - 6},${y - 6} l12,12 M${x + 6},${y - 6} l-12,12"><title>impact ${esc(i.id)}</title></path>`);
  }
  drawFurniture(out, w, h);
  svg.innerHTML = out.join("");
  const bar = niceScale(view.mpp * 120);
  $("#scale").textContent = `scale: ${(bar / view.mpp).toFixed(0)} px = ${bar >= 1000 ? `${bar / 1000} km` : `${bar} m`}`;
}

// ---------------------------------------------------------------- map furniture
// A latitude/longitude graticule, a north arrow and a scale bar, drawn over everything.
// The map's plane is the site's local east-north frame; at city scale a parallel or a
// meridian is drawn as the straight line through its point at the view's centre, using
// the metres per degree at the site (tileFrame): the curvature this neglects is
// d^2 tan(lat) / (2 R), under 1 m within 5 km of the site.
const GRID_STEPS_DEG = [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5];

function gridStep(spanDeg) {
  return GRID_STEPS_DEG.find((s) => spanDeg / s <= 8) || 10;
}

function drawGraticule(out, w, h) {
  const { kx, ky } = tileFrame();
  const [e0, n0] = toGround(0, h, w, h), [e1, n1] = toGround(w, 0, w, h);
  const lon0 = map.site.lon + e0 / kx, lon1 = map.site.lon + e1 / kx;
  const lat0 = map.site.lat + n0 / ky, lat1 = map.site.lat + n1 / ky;
  const step = gridStep(Math.max(lon1 - lon0, lat1 - lat0));
  const dec = Math.max(0, -Math.floor(Math.log10(step)));
  for (let k = Math.ceil(lon0 / step); k * step <= lon1; k++) {
    const lon = k * step, [x] = toScreen((lon - map.site.lon) * kx, 0, w, h);
    out.push(`<line class="graticule" data-lon="${lon.toFixed(dec)}" x1="${x.toFixed(1)}" y1="0" x2="${x.toFixed(1)}" y2="${h}"/>`);
    out.push(`<text class="grat-label" x="${(x + 2).toFixed(1)}" y="12">${lon.toFixed(dec)}\u00b0E</text>`);
  }
  for (let k = Math.ceil(lat0 / step); k * step <= lat1; k++) {
    const lat = k * step, [, y] = toScreen(0, (lat - map.site.lat) * ky, w, h);
    out.push(`<line class="graticule" data-lat="${lat.toFixed(dec)}" x1="0" y1="${y.toFixed(1)}" x2="${w}" y2="${y.toFixed(1)}"/>`);
    out.push(`<text class="grat-label" x="${w - 4}" y="${(y - 2).toFixed(1)}" text-anchor="end">${lat.toFixed(dec)}\u00b0N</text>`);
  }
}

function drawFurniture(out, w, h) {
  drawGraticule(out, w, h);
  // north arrow, top right: north is up in the local frame
  const ax = w - 24, ay = 20;
  out.push(`<g class="north-arrow"><path d="M${ax},${ay} l7,20 -7,-5 -7,5z"/><text x="${ax}" y="${ay + 33}" text-anchor="middle">N</text></g>`);
  // scale bar, top right under the arrow (the legend holds the bottom): a round length
  // near 120 px
  const m = niceScale(view.mpp * 120), px = m / view.mpp, x0 = w - 16 - px, y0 = 76;
  const label = m >= 1000 ? `${m / 1000} km` : `${m} m`;
  out.push(`<g class="scale-bar" data-m="${m}" data-px="${px.toFixed(2)}"><path d="M${x0},${y0 - 5} v5 h${px.toFixed(1)} v-5"/><text x="${(x0 + px / 2).toFixed(1)}" y="${y0 - 8}" text-anchor="middle">${label}</text></g>`);
}

function niceScale(m) {
  const p = 10 ** Math.floor(Math.log10(m));
  for (const k of [5, 2, 1]) if (k * p <= m) return k * p;
  return p;
}

// pan and zoom
(function interact() {
  const svg = $("#map");
  let drag = null;
  svg.addEventListener("wheel", (e) => {
    e.preventDefault();
    const r = svg.getBoundingClientRect();
    const px = e.clientX - r.left - r.width / 2, py = e.clientY - r.top - r.height / 2;
    const k = e.deltaY > 0 ? 1.2 : 1 / 1.2;
    view.cx += px * view.mpp * (1 - k);
    view.cy -= py * view.mpp * (1 - k);
    view.mpp *= k;
    userMoved();
    schedule();
  }, { passive: false });
  svg.addEventListener("mousedown", (e) => { drag = [e.clientX, e.clientY]; });
  window.addEventListener("mouseup", () => { drag = null; });
  window.addEventListener("mousemove", (e) => {
    if (!drag || (e.clientX === drag[0] && e.clientY === drag[1])) return;
    view.cx -= (e.clientX - drag[0]) * view.mpp;
    view.cy += (e.clientY - drag[1]) * view.mpp;
    drag = [e.clientX, e.clientY];
    userMoved();
    schedule();
  });
  svg.addEventListener("mousemove", (e) => {
    const r = svg.getBoundingClientRect();
    showCursor(toGround(e.clientX - r.left, e.clientY - r.top, r.width, r.height));
  });
  window.addEventListener("resize", schedule);
})();

// ---------------------------------------------------------------- the cursor readout
// The map's plane is the local East-North-Up frame at the site (WGS-84), so the point under
// the pointer is (E, N, up 0): to ECEF by the frame's rotation, then to latitude and
// longitude by the usual fixed-point iteration (well under a millimetre in 6 passes).
const WGS84_A = 6378137.0;
const WGS84_E2 = (1 / 298.257223563) * (2 - 1 / 298.257223563);
const RAD = Math.PI / 180;

function ecef(latDeg, lonDeg, h) {
  const f = latDeg * RAD, l = lonDeg * RAD;
  const nu = WGS84_A / Math.sqrt(1 - WGS84_E2 * Math.sin(f) ** 2);
  return [(nu + h) * Math.cos(f) * Math.cos(l), (nu + h) * Math.cos(f) * Math.sin(l), (nu * (1 - WGS84_E2) + h) * Math.sin(f)];
}

function enuToLatLon(e, n, site) {
  const f = site.lat * RAD, l = site.lon * RAD;
  const [x0, y0, z0] = ecef(site.lat, site.lon, site.alt_m || 0);
  const x = x0 - Math.sin(l) * e - Math.sin(f) * Math.cos(l) * n;
  const y = y0 + Math.cos(l) * e - Math.sin(f) * Math.sin(l) * n;
  const z = z0 + Math.cos(f) * n;
  const p = Math.hypot(x, y);
  let lat = Math.atan2(z, p * (1 - WGS84_E2));
  for (let i = 0; i < 6; i++) {
    const nu = WGS84_A / Math.sqrt(1 - WGS84_E2 * Math.sin(lat) ** 2);
    const h = p / Math.cos(lat) - nu;
    lat = Math.atan2(z, p * (1 - (WGS84_E2 * nu) / (nu + h)));
  }
  return [lat / RAD, Math.atan2(y, x) / RAD];
}

function showCursor([e, n]) {
  if (!map) return;
  const [lat, lon] = enuToLatLon(e, n, map.site);
  const grid = window.opencramMgrs ? ` \u00b7 MGRS ${window.opencramMgrs(lat, lon)}` : "";
  $("#cursor").textContent = `lat ${lat.toFixed(6)}, lon ${lon.toFixed(6)}${grid} \u00b7 E ${fmt(e)} m, N ${fmt(n)} m`;
}

// the site layers in the legend, each with its source
function drawLayerLegend() {
  const box = $("#legend-layers");
  box.innerHTML = (map.layers || []).map((l) => `<span class="lg layer ly-${esc(l.kind)}">${esc(l.name)}${l.source ? ` (${esc(l.source)})` : ""}</span>`).join("");
}

// ---------------------------------------------------------------- panels
function drawPanels() {
  $("#scenario").textContent = state.scenario || "-";
  $("#mode").textContent = state.mode === "replay" ? "REPLAY" : "LIVE";
  const st = state.paused && state.status === "running" ? "paused" : state.status || "?";
  const s = $("#status");
  s.textContent = st + (state.error ? `: ${state.error}` : "");
  s.className = `chip ${st}`;
  if (!seeking) $("#clock").textContent = `T+ ${fmt(state.t_s, 1)} s / ${fmt(state.end_s, 0)} s`;
  const sp = $("#speed");
  if (document.activeElement !== sp && state.speed !== undefined) {
    const v = String(state.speed);
    if (![...sp.options].some((o) => o.value === v)) sp.add(new Option(`${v}\u00d7`, v));
    sp.value = v;
  }
  const live = state.mode !== "replay";
  for (const b of document.querySelectorAll("#btn-hold-all, #btn-free-all")) b.disabled = !live;
  // a finished run can still be seeked back and run on from there
  const over = ["error", "stopped"].includes(state.status);
  for (const b of document.querySelectorAll("#btn-resume, #btn-pause, #btn-step")) b.disabled = over;
  drawSeek();

  const held = new Set(state.weapons_hold || []);
  const dis = live ? "" : " disabled";
  const guns = (map ? map.guns : []).map((g) => {
    const gs = model.guns.get(g.id) || { state: "ready", ammo: g.ammo };
    const btn = held.has(g.id)
      ? `<button class="free" data-action="weapons_free" data-target="${esc(g.id)}"${dis}>Weapons free</button>`
      : `<button class="hold" data-action="weapons_hold" data-target="${esc(g.id)}"${dis}>Weapons hold</button>`;
    return {
      key: g.id, cls: "gun", data: { gun: g.id },
      cells: [`<b>${esc(g.id)}</b>`, `<span class="state ${gs.state}">${gs.state}</span>`,
        `${gs.ammo} rds${held.has(g.id) ? " &middot; HOLD" : ""}`, btn],
    };
  });
  renderRows("#guns", "div", "span", guns, '<p class="empty">no guns</p>');

  const acked = new Set(state.acknowledged || []);
  const alerts = [...model.alerts.values()].map((a) => {
    const ack = acked.has(a.zone);
    // the event's time to impact counts from the event (the alert is re-sent when the
    // predicted impact time moves by more than 1 s); count it down from now
    const left = a.time_to_impact_s === null ? null : a.t_s + a.time_to_impact_s - state.t_s;
    const tti = left === null ? "" : left >= 0 ? ` &middot; impact in ${fmt(left, 1)} s` : " &middot; impact due";
    return {
      key: a.zone, cls: `alert${ack ? " acked" : ""}`, data: { zone: a.zone },
      cells: [`<b>${esc(a.zone)}</b> &middot; tracks ${a.track_ids.join(", ")}${tti}`,
        `<span class="p">${fmt(a.probability * 100)} %</span>`,
        ack ? "acknowledged" : `<button class="ack" data-action="ack_alert" data-target="${esc(a.zone)}"${dis}>Ack</button>`],
    };
  });
  renderRows("#alerts", "div", "span", alerts, '<p class="empty">no zone alerted</p>');

  const friendly = new Set(state.friendly_tracks || []);
  const rows = [...model.tracks.values()].sort((a, b) => a.id - b.id).map((t) => {
    const tti = t.impact && shown(t) ? `${fmt(t.impact.impact_time_s - state.t_s, 1)} s` : "-";
    const status = t.killed ? "destroyed" : t.dropped ? "dropped" : friendly.has(t.id) ? "friendly" : model.planned.has(t.id) ? "engaged" : "live";
    const btn = shown(t) && !friendly.has(t.id) && live
      ? `<button class="friendly" data-action="mark_friendly" data-target="${t.id}">Friendly</button>` : "";
    return {
      key: String(t.id), cls: status, data: { track: String(t.id) },
      cells: [String(t.id), esc(t.cls), fmt(t.alt), fmt(t.speed), tti, status, btn],
      cellCls: ["", "", "num", "num", "num", "", ""],
    };
  });
  renderRows("#tracks tbody", "tr", "td", rows, "");
}

// The seek bar: the clock's position in the run, and a way to go to any other time (on
// release the server sends the backlog of that time as a "reset"; a live run re-runs its
// engine to get there, showing "seeking" meanwhile).
function drawSeek() {
  const bar = $("#seek");
  bar.disabled = ["error", "stopped", "disconnected"].includes(state.status);
  if (state.end_s !== undefined && bar.max !== String(state.end_s)) bar.max = String(state.end_s);
  if (!seeking && state.t_s !== undefined) bar.value = String(state.t_s);
}

// Keyed update of a list: rows and cells are reused and a cell is rewritten only when its
// content changes, so a button under the pointer is not replaced while it is clicked.
function renderRows(sel, rowTag, cellTag, rows, emptyHtml) {
  const box = $(sel);
  const old = new Map();
  for (const el of [...box.children]) {
    if (el.dataset.key === undefined) el.remove();
    else old.set(el.dataset.key, el);
  }
  rows.forEach((r, i) => {
    let el = old.get(r.key);
    if (el) old.delete(r.key);
    else {
      el = document.createElement(rowTag);
      el.dataset.key = r.key;
      for (const [k, v] of Object.entries(r.data)) el.dataset[k] = v;
    }
    if (el.className !== r.cls) el.className = r.cls;
    while (el.children.length < r.cells.length) el.appendChild(document.createElement(cellTag));
    r.cells.forEach((html, j) => {
      const c = el.children[j];
      if (c._html !== html) {
        c.innerHTML = html;
        c._html = html;
      }
      const cc = (r.cellCls && r.cellCls[j]) || "";
      if (c.className !== cc) c.className = cc;
    });
    if (box.children[i] !== el) box.insertBefore(el, box.children[i] || null);
  });
  for (const el of old.values()) el.remove();
  if (!rows.length && emptyHtml) box.innerHTML = emptyHtml;
}

let pending = false;
function schedule() {
  if (pending) return;
  pending = true;
  requestAnimationFrame(() => {
    pending = false;
    drawPanels();
    drawMap();
  });
}

// ---------------------------------------------------------------- talking to the server
function headers() {
  const h = { "Content-Type": "application/json" };
  if (token) h["X-Opencram-Token"] = token;
  return h;
}

async function post(path, body) {
  const r = await fetch(path, { method: "POST", headers: headers(), body: JSON.stringify(body) });
  const data = await r.json().catch(() => ({}));
  if (!r.ok) toast(`${path}: ${data.detail || r.status}`);
  else if (data.type === "state") { state = data; schedule(); }
  return r.ok;
}

function toast(text) {
  const t = $("#toast");
  t.textContent = text;
  t.hidden = false;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => { t.hidden = true; }, 5000);
}

function connect() {
  const proto = location.protocol === "https:" ? "wss:" : "ws:";
  const ws = new WebSocket(`${proto}//${location.host}/ws${token ? `?token=${encodeURIComponent(token)}` : ""}`);
  ws.onmessage = (msg) => {
    const data = JSON.parse(msg.data);
    if (data.type === "hello") {
      map = data.map;
      drawLayerLegend();
      state = data.state;
      model = emptyModel();
      $("#log").innerHTML = "";
      view.auto = true;
      view.box = null;
    } else if (data.type === "reset") {
      // a seek: the picture starts over from the backlog at the new time; the view stays
      state = data.state;
      model = emptyModel();
      $("#log").innerHTML = "";
      for (const ev of data.events) apply(ev);
    } else if (data.type === "events") {
      for (const ev of data.events) apply(ev);
    } else if (data.type === "state") {
      state = data;
    }
    schedule();
  };
  ws.onclose = () => {
    state = { ...state, status: "disconnected" };
    schedule();
    setTimeout(connect, 2000);
  };
}

document.addEventListener("click", (e) => {
  const b = e.target.closest("button[data-action]");
  if (b) post("/api/action", { action: b.dataset.action, target: b.dataset.target });
});
$("#btn-resume").onclick = () => post("/api/control", { op: "resume" });
$("#btn-pause").onclick = () => post("/api/control", { op: "pause" });
$("#btn-step").onclick = () => post("/api/control", { op: "step", value: 1 });
$("#speed").onchange = (e) => post("/api/control", { op: "speed", value: Number(e.target.value) });
$("#seek").oninput = (e) => {
  seeking = true;
  $("#clock").textContent = `T+ ${fmt(Number(e.target.value), 1)} s / ${fmt(state.end_s, 0)} s`;
};
$("#seek").onchange = async (e) => {
  await post("/api/control", { op: "seek", value: Number(e.target.value) });
  seeking = false;
};
$("#btn-hold-all").onclick = () => post("/api/action", { action: "weapons_hold", target: "*" });
$("#btn-free-all").onclick = () => post("/api/action", { action: "weapons_free", target: "*" });
$("#btn-fit").onclick = () => {
  view.auto = true;
  view.box = null;
  schedule();
};
$("#show-truth").onchange = schedule;
connect();
