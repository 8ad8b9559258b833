// Live missile warning: the region's map (vendored world-atlas boundaries, drawn with d3-geo,
// no tile server) and the tracks the node pushes over Server-Sent Events.
import { geoMercator, geoPath, geoGraticule10 } from "../vendor/d3-geo/d3-geo.min.mjs";
import { feature } from "../vendor/topojson-client/src/index.js";

const NS = "http://www.w3.org/2000/svg";
const W = 800, H = 600, PAD = 12;
const mapBox = document.getElementById("map");
const land = document.getElementById("map-land");
const layer = document.getElementById("map-tracks");
const list = document.querySelector("#track-list tbody");
const status = document.getElementById("live-status");
const tracks = new Map();
let bounds = [[119.5, 31.0], [146.5, 46.0]]; // [[west, south], [east, north]]
let countries = null;
let projection = null;
const LABELS = [["DPRK", 126.6, 40.4], ["ROK", 127.9, 36.4], ["JAPAN", 138.6, 36.2],
  ["East Sea / Sea of Japan", 134.0, 40.2], ["CHINA", 122.5, 42.0], ["RUSSIA", 134.5, 45.2]];

const el = (name, attrs = {}, parent = null) => {
  const node = document.createElementNS(NS, name);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  if (parent) parent.appendChild(node);
  return node;
};
const say = (text) => { status.textContent = text; };

// -------------------------------------------------------------------------- geometry

const R = 6371008.8;
function destination(lat, lon, azimuthDeg, dist) {
  const p1 = lat * Math.PI / 180, l1 = lon * Math.PI / 180, az = azimuthDeg * Math.PI / 180;
  const d = dist / R;
  const p2 = Math.asin(Math.sin(p1) * Math.cos(d) + Math.cos(p1) * Math.sin(d) * Math.cos(az));
  const l2 = l1 + Math.atan2(Math.sin(az) * Math.sin(d) * Math.cos(p1), Math.cos(d) - Math.sin(p1) * Math.sin(p2));
  return [((l2 * 180 / Math.PI + 540) % 360) - 180, p2 * 180 / Math.PI];
}

// The uncertainty ellipse on the ground: semi-axes in metres, major axis clockwise from north.
export function ellipseRing(point, ellipse, n = 72) {
  const o = ellipse.orientation * Math.PI / 180, ring = [];
  for (let k = 0; k < n; k++) {
    const t = 2 * Math.PI * k / n;
    const along = ellipse.semi_major * Math.cos(t), across = ellipse.semi_minor * Math.sin(t);
    const dn = along * Math.cos(o) - across * Math.sin(o), de = along * Math.sin(o) + across * Math.cos(o);
    ring.push(destination(point.lat, point.lon, Math.atan2(de, dn) * 180 / Math.PI, Math.hypot(dn, de)));
  }
  return ring;
}

function extend(lonlat) {
  const [lon, lat] = lonlat;
  let [[w, s], [e, n]] = bounds, grew = false;
  if (lon < w + 0.5) { w = lon - 1.5; grew = true; }
  if (lon > e - 0.5) { e = lon + 1.5; grew = true; }
  if (lat < s + 0.5) { s = lat - 1.5; grew = true; }
  if (lat > n - 0.5) { n = lat + 1.5; grew = true; }
  if (grew) { bounds = [[w, s], [e, n]]; drawLand(); }
  return grew;
}

// ------------------------------------------------------------------------------ map

function drawLand() {
  const [[w, s], [e, n]] = bounds;
  const frame = { type: "MultiPoint", coordinates: [[w, s], [e, s], [e, n], [w, n]] };
  projection = geoMercator().fitExtent([[PAD, PAD], [W - PAD, H - PAD]], frame).clipExtent([[0, 0], [W, H]]);
  const path = geoPath(projection);
  land.replaceChildren();
  el("path", { class: "map-graticule", d: path(geoGraticule10()) }, land);
  if (countries) {
    for (const f of countries.features) {
      const d = path(f);
      if (d) el("path", { class: "map-land", d }, land).appendChild(document.createElementNS(NS, "title")).textContent = f.properties?.name ?? "";
    }
  }
  for (const [text, lon, lat] of LABELS) {
    const [x, y] = projection([lon, lat]);
    if (x > 0 && x < W && y > 0 && y < H) el("text", { class: "map-label", x, y, "text-anchor": "middle" }, land).textContent = text;
  }
  for (const t of tracks.values()) drawTrack(t);
}

const xy = (lonlat) => projection(lonlat).map((v) => v.toFixed(1)).join(",");

function drawTrack(t) {
  if (!projection) return;
  let g = layer.querySelector(`g[data-track="${CSS.escape(t.id)}"]`);
  if (!g) g = el("g", { class: `track track-${t.originator.toLowerCase()}`, "data-track": t.id }, layer);
  g.replaceChildren();
  el("title", {}, g).textContent = `${t.id} (${t.marking})`;
  if (t.impact) {
    const ring = ellipseRing(t.impact.point, t.impact.ellipse);
    el("path", { class: "impact-ellipse", d: "M" + ring.map(xy).join("L") + "Z" }, g);
    const [x, y] = projection([t.impact.point.lon, t.impact.point.lat]);
    const cross = el("g", { class: "impact-point" }, g);
    el("line", { x1: x - 6, y1: y - 6, x2: x + 6, y2: y + 6 }, cross);
    el("line", { x1: x - 6, y1: y + 6, x2: x + 6, y2: y - 6 }, cross);
  }
  if (t.points.length > 1) el("path", { class: "track-path", d: "M" + t.points.map(xy).join("L") }, g);
  if (t.launch) {
    const [x, y] = projection(t.launch);
    el("path", { class: "launch-point", d: `M${x},${y - 8}L${x + 7},${y + 5}L${x - 7},${y + 5}Z` }, g);
  }
  if (t.points.length && !t.ended) {
    const [x, y] = projection(t.points[t.points.length - 1]);
    el("circle", { class: "track-head", cx: x, cy: y, r: 5 }, g);
  }
}

// ------------------------------------------------------------------------ track list

function listRow(t) {
  list.querySelector("tr.empty")?.remove();
  let row = list.querySelector(`tr[data-track="${CSS.escape(t.id)}"]`);
  if (!row) { row = document.createElement("tr"); row.dataset.track = t.id; list.appendChild(row); }
  row.replaceChildren();
  const cell = (text, lang) => {
    const td = document.createElement("td");
    if (lang) { const span = document.createElement("span"); span.lang = lang; span.textContent = text; td.appendChild(span); }
    else td.textContent = text;
    row.appendChild(td);
    return td;
  };
  const th = document.createElement("th"); th.scope = "row"; th.textContent = `${t.id} (${t.sensor})`; row.appendChild(th);
  const label = cell("");
  for (const m of [t.markings.originator, t.markings.ours]) {
    if (!m || (m === t.markings.ours && m.party === t.markings.originator.party)) continue;
    const span = document.createElement("span"); span.lang = m.lang; span.textContent = m.level;
    const div = document.createElement("div"); div.append(`${m.party}: `, span, m.english ? ` (${m.english})` : "");
    label.appendChild(div);
  }
  cell(`${t.ended ? "ended" : t.kind} #${t.seq}${t.alt != null ? `, ${(t.alt / 1000).toFixed(0)} km` : ""}`);
  cell(t.impact ? `${t.impact.impact_time.slice(11, 19)}Z ±${(t.impact.ellipse.semi_major / 1000).toFixed(0)} km` : "—");
}

// ------------------------------------------------------------------------------ stream

function onTrack(m) {
  let t = tracks.get(m.track);
  if (!t) {
    t = { id: m.track, sensor: m.sensor, originator: m.label.originator, points: [], seq: 0,
      markings: m.markings, marking: m.markings.originator.level };
    tracks.set(m.track, t);
  }
  if (m.seq <= t.seq) return; // a reconnect replays the backlog: keep each message once
  t.seq = m.seq; t.kind = m.kind; t.markings = m.markings;
  const b = m.body;
  let grew = false;
  if (m.kind === "launch") { t.launch = [b.point.lon, b.point.lat]; grew = extend(t.launch); }
  if (m.kind === "update") { t.points.push([b.position.lon, b.position.lat]); t.alt = b.position.hae; grew = extend(t.points.at(-1)); }
  if (m.kind === "impact") { t.impact = b; grew = extend([b.point.lon, b.point.lat]); }
  if (m.kind === "end") { t.ended = true; }
  if (!grew) drawTrack(t);
  listRow(t);
}

function connect() {
  const source = new EventSource("/web/live/events");
  source.addEventListener("hello", (e) => {
    const h = JSON.parse(e.data);
    say(h.reader ? `Connected to the ${h.party} node as ${h.official}: live.` : `Connected as ${h.official}; you may not see track messages.`);
    mapBox.dataset.connected = "yes";
  });
  source.addEventListener("track", (e) => onTrack(JSON.parse(e.data)));
  source.addEventListener("signed-out", () => { source.close(); say("Signed out: reload the page to sign in again."); });
  source.onerror = () => { if (source.readyState === EventSource.CLOSED) say("Disconnected."); else say("Reconnecting…"); };
}

const form = document.getElementById("simulate-form");
form?.addEventListener("submit", async (event) => {
  event.preventDefault();
  const body = new URLSearchParams(new FormData(form));
  const answer = await fetch(form.action, { method: "POST", body, headers: { Accept: "application/json" }, credentials: "same-origin" });
  const data = await answer.json();
  say(answer.ok ? `Simulation started: ${data.messages} messages over ${data.duration_s.toFixed(0)} s (${data.tracks.join(", ")}).`
    : `Refused: ${data.code}: ${data.detail}`);
});

drawLand();
connect();
fetch(mapBox.dataset.atlas).then((r) => r.json()).then((topology) => {
  countries = feature(topology, topology.objects.countries);
  drawLand();
  mapBox.dataset.land = "drawn";
});
