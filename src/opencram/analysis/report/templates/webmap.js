// opencram report: the interactive map. Reads the run from <script id="webmap-data">
// (opencram.analysis.report.webmap) and draws it as SVG: site layers beneath, zones, guns,
// radars, landmarks, true flights, tracks, 95 % ellipses, intercepts and footprints, with
// a legend, a scale bar, a north arrow, a latitude/longitude graticule, the pointer's
// position (lat/lon and MGRS) and details on hover. Wheel or buttons zoom, a drag pans,
// the time slider shows the run as it stood at any time. No library and no network.
"use strict";
(function () {
  const RAD = Math.PI / 180;
  const A = 6378137.0; // WGS-84 semi-major axis (m)
  const F = 1 / 298.257223563; // WGS-84 flattening
  const E2 = F * (2 - F);
  // the MGRS reference of a latitude and longitude: templates/mgrs.js, inlined before

  const mgrs = window.opencramMgrs;

  // ------------------------------------------------------------ the projection
  // Local tangent plane at the site, metres east (x) and north (y): the meridian and
  // prime-vertical radii of curvature at the site's latitude.
  const data = JSON.parse(document.getElementById("webmap-data").textContent);
  const [LAT0, LON0] = data.site.ll;
  const s0 = Math.sin(LAT0 * RAD);
  const RN = A / Math.sqrt(1 - E2 * s0 * s0);
  const RM = (A * (1 - E2)) / (1 - E2 * s0 * s0) ** 1.5;
  const KX = RN * Math.cos(LAT0 * RAD) * RAD; // m per degree of longitude
  const KY = RM * RAD; // m per degree of latitude
  const proj = ([lat, lon]) => [(lon - LON0) * KX, (lat - LAT0) * KY];
  const unproj = (x, y) => [LAT0 + y / KY, LON0 + x / KX];

  const C = data.palette;
  const root = document.getElementById("webmap");
  const svg = root.querySelector("svg.wm-map");
  const tip = root.querySelector(".wm-tip");
  const readout = root.querySelector(".wm-readout");
  const slider = root.querySelector(".wm-time");
  const clock = root.querySelector(".wm-clock");
  const view = { cx: 0, cy: 0, mpp: 10 };
  let tNow = data.end_s;

  const esc = (s) => String(s).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
  const f1 = (v) => Number(v).toFixed(1);

  function size() {
    return [svg.clientWidth || 800, svg.clientHeight || 600];
  }
  function scr(p) {
    const [w, h] = size();
    const [x, y] = proj(p);
    return [w / 2 + (x - view.cx) / view.mpp, h / 2 - (y - view.cy) / view.mpp];
  }
  function ground(px, py) {
    const [w, h] = size();
    return [view.cx + (px - w / 2) * view.mpp, view.cy - (py - h / 2) * view.mpp];
  }
  const pts = (ll) => ll.map((p) => scr(p).map(f1).join(",")).join(" ");

  // ------------------------------------------------------------ framing
  function allPoints() {
    const out = [data.site.ll];
    for (const z of data.zones) for (const r of z.rings) out.push(...r);
    for (const t of data.threats) out.push(...t.ll);
    for (const g of data.guns) out.push(g.ll);
    for (const l of data.landmarks) out.push(l.ll);
    return out.map(proj);
  }
  function fit() {
    const p = allPoints();
    const [w, h] = size();
    const xs = p.map((q) => q[0]), ys = p.map((q) => q[1]);
    const x0 = Math.min(...xs), x1 = Math.max(...xs), y0 = Math.min(...ys), y1 = Math.max(...ys);
    view.cx = (x0 + x1) / 2;
    view.cy = (y0 + y1) / 2;
    view.mpp = Math.max((x1 - x0) / (w - 80), (y1 - y0) / (h - 80), 0.5);
  }

  // ------------------------------------------------------------ what is shown at tNow
  function until(path, t) {
    // the path's points up to time t, ending at its position interpolated at t
    const out = [];
    for (let i = 0; i < path.t.length; i++) {
      if (path.t[i] <= t) out.push(path.ll[i]);
      else {
        if (i > 0) {
          const u = (t - path.t[i - 1]) / (path.t[i] - path.t[i - 1]);
          const a = path.ll[i - 1], b = path.ll[i];
          out.push([a[0] + u * (b[0] - a[0]), a[1] + u * (b[1] - a[1])]);
        }
        break;
      }
    }
    return out;
  }
  function latestBy(items, t, key) {
    const out = new Map();
    for (const it of items) if (it.t <= t) out.set(it[key], it);
    return out;
  }

  // ------------------------------------------------------------ drawing
  function ellipse(el, cls, tipText) {
    const [x, y] = scr(el.ll);
    const a = Math.max(el.a / view.mpp, 1.5), b = Math.max(el.b / view.mpp, 1.5);
    // azimuth clockwise from north; SVG rotates clockwise from +x on a y-down screen
    return `<ellipse class="${cls}" cx="${f1(x)}" cy="${f1(y)}" rx="${f1(a)}" ry="${f1(b)}" transform="rotate(${f1(el.deg - 90)} ${f1(x)} ${f1(y)})" data-tip="${esc(tipText)}"/>`;
  }
  function circle(ll, rM, cls, tipText) {
    const [x, y] = scr(ll);
    return `<circle class="${cls}" cx="${f1(x)}" cy="${f1(y)}" r="${f1(Math.max(rM / view.mpp, 1))}" data-tip="${esc(tipText)}"/>`;
  }

  // Base-map tiles (opencram --tiles): Web-Mercator tiles, each placed by its corners.
  // The projection is linear in latitude and longitude, so a tile's edges (a parallel and
  // a meridian each) are straight and its corners land exactly where any point at those
  // coordinates is drawn; inside a tile the image is stretched linearly in latitude, not
  // in Mercator, which is off by R·Δφ²·tan(φ)/8 at mid-tile (under 0.1 m at zoom 14).
  const tiles = data.tiles || { template: "", images: [] };
  function tileLat(z, y) {
    return Math.atan(Math.sinh(Math.PI * (1 - (2 * y) / 2 ** z))) / RAD;
  }
  function templateTiles() {
    // the template's tiles covering the view, at the zoom whose pixel is nearest the view's
    const [w, h] = size();
    const z = Math.min(Math.max(Math.round(Math.log2((156543.034 * Math.cos(LAT0 * RAD)) / view.mpp)), 0), 19);
    const n = 2 ** z;
    const [la0, lo0] = unproj(...ground(0, h));
    const [la1, lo1] = unproj(...ground(w, 0));
    const col = (lo) => Math.min(Math.max(Math.floor(((lo + 180) / 360) * n), 0), n - 1);
    const row = (la) => Math.min(Math.max(Math.floor(((1 - Math.asinh(Math.tan(la * RAD)) / Math.PI) / 2) * n), 0), n - 1);
    const out = [];
    for (let y = row(la1); y <= row(la0) && out.length < 200; y++) {
      for (let x = col(lo0); x <= col(lo1); x++) {
        const uri = tiles.template.replaceAll("{z}", z).replaceAll("{x}", x).replaceAll("{y}", y);
        out.push({ z, x, y, uri, nw: [tileLat(z, y), (x / n) * 360 - 180], se: [tileLat(z, y + 1), ((x + 1) / n) * 360 - 180] });
      }
    }
    return out;
  }
  function drawTiles(out) {
    const list = tiles.template ? templateTiles() : tiles.images;
    for (const t of list) {
      const [x0, y0] = scr(t.nw), [x1, y1] = scr(t.se);
      out.push(`<image class="wm-tile" data-tile="${t.z}/${t.x}/${t.y}" href="${esc(t.uri)}" x="${f1(x0)}" y="${f1(y0)}" width="${f1(x1 - x0)}" height="${f1(y1 - y0)}" preserveAspectRatio="none"/>`);
    }
  }

  function drawLayers(out) {
    for (const l of data.layers) {
      const c = C.layer[l.kind];
      const src = l.source ? ` (source: ${l.source})` : "";
      for (const r of l.polygons) out.push(`<polygon class="wm-layer" style="fill:${c};stroke:${c}" points="${pts(r)}" data-tip="${esc(l.name + src)}"/>`);
      for (const r of l.lines) out.push(`<polyline class="wm-layer-line" style="stroke:${c}" points="${pts(r)}" data-tip="${esc(l.name + src)}"/>`);
    }
  }

  function drawZones(out, labels) {
    for (const z of data.zones) {
      const c = C.zone[z.kind];
      for (const r of z.rings) out.push(`<polygon class="wm-zone wm-zone-${z.kind}" data-zone="${esc(z.name)}" style="fill:${c};stroke:${c}" points="${pts(r)}" data-tip="${esc(`${z.name} (${z.kind} zone)`)}"/>`);
      const r = z.rings[0];
      const cen = [r.reduce((s, p) => s + p[0], 0) / r.length, r.reduce((s, p) => s + p[1], 0) / r.length];
      labels.push({ ll: cen, text: z.name, colour: c, prio: 3, centre: true });
    }
  }

  function drawPlaces(out, labels) {
    for (const g of data.guns) {
      const [x, y] = scr(g.ll);
      out.push(`<circle class="wm-range" cx="${f1(x)}" cy="${f1(y)}" r="${f1(g.range / view.mpp)}"/>`);
      out.push(`<rect class="wm-gun" style="fill:${C.gun.ready}" x="${f1(x - 5)}" y="${f1(y - 5)}" width="10" height="10" data-tip="${esc(`gun ${g.name} (range ${Math.round(g.range)} m)`)}"/>`);
      labels.push({ ll: g.ll, text: g.name, colour: "#333", prio: 2 });
    }
    for (const s of data.sensors) {
      const [x, y] = scr(s.ll);
      out.push(`<path class="wm-sensor" style="fill:${C.mark.sensor}" d="M${f1(x)},${f1(y - 7)} l6,11 h-12z" data-tip="${esc(`radar ${s.name}`)}"/>`);
      labels.push({ ll: s.ll, text: s.name, colour: "#333", prio: 2 });
    }
    for (const l of data.landmarks) {
      out.push(circle(l.ll, 3 * view.mpp, "wm-landmark", `landmark: ${l.name}`).replace("/>", ` data-landmark="${esc(l.name)}"/>`));
      labels.push({ ll: l.ll, text: l.name, colour: "#444", prio: 1 });
    }
  }

  function drawFlights(out, labels, t) {
    for (const a of data.aircraft) {
      const p = until(a, t);
      if (p.length < 2) continue;
      out.push(`<polyline class="wm-aircraft" style="stroke:${C.threat.aircraft}" points="${pts(p)}" data-tip="${esc(`${a.id}: ${a.label}`)}"/>`);
    }
    for (const th of data.threats) {
      const p = until(th, t);
      if (!p.length) continue;
      const end = th.t[th.t.length - 1];
      const where = t >= end ? (th.outcome === "intercepted" ? "destroyed" : "landed") : "in flight";
      const info = `${th.id} (${th.type}): ${where} at T+${f1(Math.min(t, end))} s, outcome ${th.outcome || "-"}`;
      out.push(`<polyline class="wm-threat" data-threat="${esc(th.id)}" style="stroke:${C.outcome[th.outcome] || C.threat.unknown}" points="${pts(p)}" data-tip="${esc(info)}"/>`);
      if (t < end) out.push(circle(p[p.length - 1], 4 * view.mpp, "wm-threat-now", info).replace("/>", ` data-threat="${esc(th.id)}"/>`));
      labels.push({ ll: p[p.length - 1], text: th.id, colour: C.outcome[th.outcome] || "#555", prio: 4 });
    }
  }

  function drawTracks(out, labels, t) {
    for (const tr of data.tracks) {
      if (!tr.t.length || tr.t[0] > t || (tr.end !== null && tr.end < t)) continue;
      const p = until(tr, t);
      const k = Math.max(0, tr.t.findLastIndex((v) => v <= t));
      const info = `track ${tr.id} (${tr.label}) at T+${f1(tr.t[k])} s: alt ${Math.round(tr.alt[k])} m`;
      out.push(`<polyline class="wm-track" data-track="${esc(tr.id)}" style="stroke:${C.mark.track}" points="${pts(p)}" data-tip="${esc(info)}"/>`);
      const [x, y] = scr(p[p.length - 1]);
      out.push(`<circle class="wm-track-now" data-track="${esc(tr.id)}" style="fill:${C.mark.track}" cx="${f1(x)}" cy="${f1(y)}" r="4" data-tip="${esc(info)}"/>`);
      labels.push({ ll: p[p.length - 1], text: tr.id, colour: C.mark.track, prio: 4 });
    }
  }

  function drawEllipses(out, t) {
    const live = new Set(data.tracks.filter((tr) => tr.t.length && tr.t[0] <= t && (tr.end === null || tr.end >= t)).map((tr) => Number(tr.id.slice(1))));
    for (const el of latestBy(data.impact_ellipses, t, "track").values()) {
      if (live.has(el.track)) out.push(ellipse(el, "wm-ell-impact", `predicted impact of T${el.track} (95 %, made at T+${f1(el.t)} s): ${Math.round(el.a)} x ${Math.round(el.b)} m`).replace("/>", ` style="stroke:${C.mark.impact_ellipse};fill:${C.mark.impact_ellipse}"/>`));
    }
    for (const el of latestBy(data.origin_ellipses, t, "track").values()) {
      if (live.has(el.track)) out.push(ellipse(el, "wm-ell-origin", `estimated origin of T${el.track} (95 %, at T+${f1(el.t)} s): ${Math.round(el.a)} x ${Math.round(el.b)} m`).replace("/>", ` style="stroke:${C.mark.origin_ellipse};fill:${C.mark.origin_ellipse}"/>`));
    }
  }

  function drawEngagements(out, t) {
    for (const b of data.bursts) {
      if (b.fire > t) continue;
      for (const f of b.footprints) out.push(circle(f.ll, f.r, `wm-footprint wm-footprint-${f.kind}`, `${f.kind} footprint of ${b.gun}'s burst at T${b.track}: radius ${Math.round(f.r)} m`).replace("/>", ` style="stroke:${C.mark[f.kind + "_footprint"]};fill:${C.mark[f.kind + "_footprint"]}"/>`));
      if (b.t > t) continue;
      const [x, y] = scr(b.ll);
      const info = `${b.gun} on T${b.track}${b.threat ? ` (${b.threat})` : ""}: ${b.result} at T+${f1(b.t)} s, ${b.alt} m up, ${b.rounds} rounds, Pk ${Math.round(b.pk * 100)} %`;
      const star = "M0,-8 L2.4,-2.5 8,-2.5 3.5,1.2 5,7 0,3.6 -5,7 -3.5,1.2 -8,-2.5 -2.4,-2.5Z";
      out.push(`<path class="wm-intercept" style="fill:${b.result === "destroyed" ? C.mark.kill : C.outcome.not_engaged}" transform="translate(${f1(x)} ${f1(y)})" d="${star}" data-tip="${esc(info)}"/>`);
    }
    for (const i of data.impacts) {
      if (i.t > t) continue;
      const [x, y] = scr(i.ll);
      const info = `impact of ${i.id} at T+${f1(i.t)} s in ${i.zones.length ? i.zones.join(", ") : "open ground"}`;
      out.push(`<path class="wm-impact" style="stroke:${C.mark.impact}" d="M${f1(x - 5)},${f1(y - 5)} l10,10 m0,-10 l-10,10" data-tip="${esc(info)}"/>`);
    }
  }

  // Labels: highest priority first, each at the first of four spots beside its point
  // that overlaps no label already placed; a label with no free spot is left out (its
  // thing still says its name on hover).
  function placeLabels(labels) {
    const placed = [];
    const out = [];
    labels.sort((a, b) => b.prio - a.prio);
    for (const l of labels) {
      const [x, y] = scr(l.ll);
      const w = l.text.length * 6.2 + 2, h = 12;
      const spots = l.centre ? [[-w / 2, -h / 2]] : [[6, -h - 2], [6, 2], [-w - 6, -h - 2], [-w - 6, 2]];
      for (const [dx, dy] of spots) {
        const box = [x + dx, y + dy, x + dx + w, y + dy + h];
        if (placed.some((q) => box[0] < q[2] && q[0] < box[2] && box[1] < q[3] && q[1] < box[3])) continue;
        placed.push(box);
        out.push(`<text class="wm-label" x="${f1(box[0] + 1)}" y="${f1(box[3] - 2)}" style="fill:${l.colour}">${esc(l.text)}</text>`);
        break;
      }
    }
    return out;
  }

  function niceStep(x) {
    const p = 10 ** Math.floor(Math.log10(x));
    return [5, 2, 1].map((m) => m * p).find((v) => v <= x) || p;
  }

  function drawGraticule(out) {
    const [w, h] = size();
    const [la0, lo0] = unproj(...ground(0, h));
    const [la1, lo1] = unproj(...ground(w, 0));
    const step = niceStep((la1 - la0) / 4);
    const dp = Math.max(0, -Math.floor(Math.log10(step)));
    for (let la = Math.ceil(la0 / step) * step; la <= la1; la += step) {
      const y = scr([la, lo0])[1];
      out.push(`<line class="wm-grid" x1="0" x2="${w}" y1="${f1(y)}" y2="${f1(y)}"/><text class="wm-grid-label" x="3" y="${f1(y - 2)}">${la.toFixed(dp)}°</text>`);
    }
    const stepx = niceStep((lo1 - lo0) / 4);
    const dpx = Math.max(0, -Math.floor(Math.log10(stepx)));
    for (let lo = Math.ceil(lo0 / stepx) * stepx; lo <= lo1; lo += stepx) {
      const x = scr([la0, lo])[0];
      out.push(`<line class="wm-grid" y1="0" y2="${h}" x1="${f1(x)}" x2="${f1(x)}"/><text class="wm-grid-label" y="${h - 3}" x="${f1(x + 2)}">${lo.toFixed(dpx)}°</text>`);
    }
  }

  function drawFurniture(out) {
    const [w, h] = size();
    const m = niceStep(view.mpp * 120); // a bar of at most 120 px
    const px = m / view.mpp;
    const label = m >= 1000 ? `${m / 1000} km` : `${m} m`;
    out.push(`<g class="wm-scale" data-metres="${m}" data-px="${px.toFixed(2)}" transform="translate(${w - px - 20} ${h - 24})"><rect x="-6" y="-16" width="${f1(px + 12)}" height="24" class="wm-box"/><path d="M0,0 v-6 M0,0 h${f1(px)} v-6"/><text x="${f1(px / 2)}" y="-6" text-anchor="middle">${label}</text></g>`);
    out.push(`<g class="wm-north" transform="translate(${w - 28} 34)"><circle r="17" class="wm-box"/><path d="M0,-14 L5,0 0,-3 -5,0Z"/><text y="13" x="0" text-anchor="middle" font-size="9">N</text></g>`);
  }

  function draw() {
    const out = [];
    const labels = [];
    drawTiles(out);
    drawGraticule(out);
    drawLayers(out);
    drawZones(out, labels);
    drawPlaces(out, labels);
    drawEngagements(out, tNow);
    drawEllipses(out, tNow);
    drawFlights(out, labels, tNow);
    drawTracks(out, labels, tNow);
    out.push(...placeLabels(labels));
    drawFurniture(out);
    svg.innerHTML = out.join("");
    Object.assign(svg.dataset, { cx: view.cx.toFixed(3), cy: view.cy.toFixed(3), mpp: view.mpp.toFixed(5) });
    clock.textContent = `T+ ${tNow.toFixed(1)} s / ${data.end_s.toFixed(1)} s`;
  }

  // ------------------------------------------------------------ legend
  function legend() {
    const item = (cls, colour, text) => `<li class="${cls}"><i style="background:${colour}"></i>${esc(text)}</li>`;
    const kinds = [...new Set(data.zones.map((z) => z.kind))];
    const rows = kinds.map((k) => item(`lg-zone lg-zone-${k}`, C.zone[k], `${k} zone`));
    rows.push(item("lg-outcome", C.outcome.intercepted, "flight: intercepted"), item("lg-outcome", C.outcome.leaked, "flight: leaked"), item("lg-outcome", C.outcome.not_engaged, "flight: not engaged"));
    rows.push(item("lg-track", C.mark.track, "confirmed track"), item("lg-impact", C.mark.impact_ellipse, "impact 95 %"), item("lg-origin", C.mark.origin_ellipse, "origin 95 %"));
    rows.push(item("lg-kill", C.mark.kill, "intercept"), item("lg-x", C.mark.impact, "impact"), item("lg-dud", C.mark.dud_footprint, "dud footprint"), item("lg-debris", C.mark.debris_footprint, "debris footprint"));
    rows.push(item("lg-gun", C.gun.ready, "gun (range dashed)"), item("lg-sensor", C.mark.sensor, "radar"), item("lg-landmark", "#444", "landmark"));
    for (const l of data.layers) rows.push(item(`lg-layer lg-layer-${l.kind}`, C.layer[l.kind], l.source ? `${l.name} (${l.source})` : l.name));
    root.querySelector(".wm-legend").innerHTML = `<ul>${rows.join("")}</ul>`;
  }

  // ------------------------------------------------------------ interaction
  function pointer(ev) {
    const r = svg.getBoundingClientRect();
    return [ev.clientX - r.left, ev.clientY - r.top];
  }
  function zoom(factor, px, py) {
    const [gx, gy] = ground(px, py);
    view.mpp = Math.min(Math.max(view.mpp * factor, 0.05), 5000);
    const [w, h] = size();
    view.cx = gx - (px - w / 2) * view.mpp;
    view.cy = gy + (py - h / 2) * view.mpp;
    draw();
  }
  function showReadout(px, py) {
    const [x, y] = ground(px, py);
    const [lat, lon] = unproj(x, y);
    readout.textContent = `lat ${lat.toFixed(6)}, lon ${lon.toFixed(6)} · MGRS ${mgrs(lat, lon)} · E ${Math.round(x)} m, N ${Math.round(y)} m`;
  }
  let drag = null;
  svg.addEventListener("wheel", (ev) => {
    ev.preventDefault();
    zoom(ev.deltaY < 0 ? 1 / 1.25 : 1.25, ...pointer(ev));
  }, { passive: false });
  svg.addEventListener("mousedown", (ev) => { drag = [...pointer(ev), view.cx, view.cy]; });
  window.addEventListener("mouseup", () => { drag = null; });
  svg.addEventListener("mousemove", (ev) => {
    const [px, py] = pointer(ev);
    if (drag) {
      view.cx = drag[2] - (px - drag[0]) * view.mpp;
      view.cy = drag[3] + (py - drag[1]) * view.mpp;
      draw();
    }
    showReadout(px, py);
    const hit = ev.target.closest ? ev.target.closest("[data-tip]") : null;
    if (hit && !drag) {
      tip.textContent = hit.dataset.tip;
      tip.hidden = false;
      tip.style.left = `${px + 14}px`;
      tip.style.top = `${py + 10}px`;
    } else tip.hidden = true;
  });
  svg.addEventListener("mouseleave", () => { tip.hidden = true; });
  root.querySelector(".wm-zoom-in").onclick = () => zoom(1 / 1.5, ...size().map((v) => v / 2));
  root.querySelector(".wm-zoom-out").onclick = () => zoom(1.5, ...size().map((v) => v / 2));
  root.querySelector(".wm-fit").onclick = () => { fit(); draw(); };
  slider.max = String(data.end_s);
  slider.value = String(data.end_s);
  slider.addEventListener("input", () => { tNow = Number(slider.value); draw(); });

  window.opencramMap = { mgrs, proj, unproj, view, draw };
  legend();
  fit();
  draw();
})();
