// The day on a map: an equirectangular projection around the plan's centre (flat enough for
// a city), one path per courier in its colour, stops coloured by their risk band (on track,
// at risk, likely late; served and failed ones by how they stand), the depots.
// On a road map the paths follow the streets (GET /paths), the legs already driven fainter.
// Underneath: raster tiles (Web Mercator, {z}/{x}/{y}) when a tile URL is set, else the road
// map's own streets when the plan has one (GET /v1/maps/{name}/roads), else nothing.

import { s, fill } from "./dom.js";
import { legsOfRoute, pathData, roadsLayer } from "./roads.js";
import { hhmm, paceText, riskBand, riskClass, riskText, visitState, RISK_LABEL, STATE_LABEL } from "./time.js";

const KM_PER_DEG_LAT = 110.574;
const KM_PER_DEG_LON = 111.32;
const MAX_TILES = 64;

export function projection(points) {
  const lats = points.map((p) => p.lat);
  const lons = points.map((p) => p.lon);
  const lat0 = (Math.min(...lats) + Math.max(...lats)) / 2;
  const lon0 = (Math.min(...lons) + Math.max(...lons)) / 2;
  const cos0 = Math.cos((lat0 * Math.PI) / 180);
  const project = (lat, lon) => [(lon - lon0) * cos0 * KM_PER_DEG_LON, -(lat - lat0) * KM_PER_DEG_LAT];
  const unproject = (x, y) => [lat0 - y / KM_PER_DEG_LAT, lon0 + x / (cos0 * KM_PER_DEG_LON)];
  const xy = points.map((p) => project(p.lat, p.lon));
  const xs = xy.map((p) => p[0]);
  const ys = xy.map((p) => p[1]);
  const pad = Math.max(0.5, (Math.max(...xs) - Math.min(...xs)) * 0.04);
  const box = {
    x: Math.min(...xs) - pad,
    y: Math.min(...ys) - pad,
    w: Math.max(...xs) - Math.min(...xs) + 2 * pad,
    h: Math.max(...ys) - Math.min(...ys) + 2 * pad,
  };
  return { project, unproject, box, lat0, lon0 };
}

function tileLayer(tileUrl, proj, points) {
  const lats = points.map((p) => p.lat);
  const lons = points.map((p) => p.lon);
  const west = Math.min(...lons);
  const east = Math.max(...lons);
  const south = Math.min(...lats);
  const north = Math.max(...lats);
  const span = Math.max(east - west, 1e-3);
  let z = Math.max(3, Math.min(18, Math.round(Math.log2((360 * 4) / span))));
  const tileX = (lon, zz) => Math.floor(((lon + 180) / 360) * 2 ** zz);
  const tileY = (lat, zz) => {
    const r = (lat * Math.PI) / 180;
    return Math.floor(((1 - Math.log(Math.tan(r) + 1 / Math.cos(r)) / Math.PI) / 2) * 2 ** zz);
  };
  let x0, x1, y0, y1;
  for (;;) {
    // One tile of margin around the plan, so the view's sides are covered too.
    [x0, x1, y0, y1] = [tileX(west, z) - 1, tileX(east, z) + 1, tileY(north, z) - 1, tileY(south, z) + 1];
    if ((x1 - x0 + 1) * (y1 - y0 + 1) <= MAX_TILES || z <= 3) break;
    z -= 1;
  }
  const lonOf = (x) => (x / 2 ** z) * 360 - 180;
  const latOf = (y) => (Math.atan(Math.sinh(Math.PI * (1 - (2 * y) / 2 ** z))) * 180) / Math.PI;
  const group = s("g", { class: "tiles" });
  for (let x = x0; x <= x1; x++) {
    for (let y = y0; y <= y1; y++) {
      const [ax, ay] = proj.project(latOf(y), lonOf(x));
      const [bx, by] = proj.project(latOf(y + 1), lonOf(x + 1));
      const href = tileUrl.replace("{z}", z).replace("{x}", x).replace("{y}", y);
      group.append(
        s("image", { href, x: ax, y: ay, width: bx - ax, height: by - ay, preserveAspectRatio: "none" }),
      );
    }
  }
  return group;
}

/**
 * Draw `plan` (GET /v1/plans/{id}) with `places` (GET /v1/console/plans/{id}/places) into
 * `svg`. `colours` maps courier id -> CSS colour. `paths` (GET /v1/plans/{id}/paths) on a road
 * map draws the routes along the streets; `roads` (GET /v1/maps/{name}/roads) is the base
 * layer when no `tileUrl` is set. Keeps the user's zoom across redraws. Returns what map data
 * it drew: {streets, roads} (both owe the map's attribution).
 */
export function drawMap(
  svg,
  plan,
  places,
  colours,
  { tileUrl = null, offset = 0, focus = null, paths = null, roads = null } = {},
) {
  const stops = new Map(places.stops.map((p) => [p.id, p]));
  const depots = new Map(places.depots.map((d) => [d.id, d]));
  const couriers = new Map(places.couriers.map((c) => [c.id, c]));
  const points = [...places.stops, ...places.depots];
  const drew = { streets: false, roads: false };
  if (!points.length) {
    fill(svg);
    return drew;
  }
  const proj = svg._proj && svg._planId === plan.id ? svg._proj : projection(points);
  const fresh = svg._planId !== plan.id;
  svg._proj = proj;
  svg._planId = plan.id;
  if (fresh || !svg._view) svg._view = { ...proj.box };
  const v = svg._view;
  svg.setAttribute("viewBox", `${v.x} ${v.y} ${v.w} ${v.h}`);
  svg.setAttribute("preserveAspectRatio", "xMidYMid meet");
  const r = stopRadius(svg);

  const layers = [];
  if (tileUrl) layers.push(tileLayer(tileUrl, proj, points));
  else if (roads && roads.lines.length) {
    // built once per plan and set of roads: redraws (every change of the plan) reuse it
    if (svg._roads !== roads || svg._roadsProj !== proj) {
      svg._roadsLayer = roadsLayer(roads, proj.project);
      svg._roads = roads;
      svg._roadsProj = proj;
    }
    layers.push(svg._roadsLayer);
    drew.roads = true;
  }
  svg.classList.toggle("has-roads", drew.roads);
  const onStreets = paths && paths.road_map ? new Map(paths.couriers.map((c) => [c.courier_id, c])) : null;

  const routesLayer = s("g", { class: "routes" });
  const stopsLayer = s("g", { class: "stops" });
  const onRoute = new Set();
  for (const route of plan.routes || []) {
    if (!route.visits.length) continue;
    const courier = couriers.get(route.courier_id);
    const start = courier && depots.get(courier.depot);
    const end = courier && depots.get(courier.end_depot || courier.depot);
    const colour = colours.get(route.courier_id) || "#555";
    const xy = [];
    if (start) xy.push(proj.project(start.lat, start.lon));
    for (const visit of route.visits) {
      // a reload (a second trip) goes back through the courier's depot
      const p = visit.kind === "reload" ? start : stops.get(visit.stop_id);
      if (p) xy.push(proj.project(p.lat, p.lon));
    }
    const customers = customerVisits(route).length;
    const trips = 1 + route.visits.filter((v) => v.kind === "reload").length;
    if (end) xy.push(proj.project(end.lat, end.lon));
    const dim = focus && focus !== route.courier_id;
    const title = s("title", {}, `${route.courier_id}: ${customers} stops${trips > 1 ? ` in ${trips} trips` : ""}, ${route.distance_km.toFixed(1)} km${paceText(route.pace) ? `, ${paceText(route.pace)}` : ""}`);
    const legs = onStreets && legsOfRoute(onStreets.get(route.courier_id), route);
    if (legs) {
      routesLayer.append(...streetRoute(route, legs, { proj, colour, dim, title, place: placeOf(route, stops, depots, start) }));
      drew.streets = true;
    } else {
      routesLayer.append(
        s(
          "path",
          {
            class: `route${dim ? " dim" : ""}`,
            "data-courier": route.courier_id,
            "data-along": "straight",
            d: xy.map(([x, y], i) => `${i ? "L" : "M"}${x.toFixed(3)} ${y.toFixed(3)}`).join(" "),
            stroke: colour,
            "vector-effect": "non-scaling-stroke",
          },
          title,
        ),
      );
    }
    route.visits.forEach((visit, i) => {
      const p = stops.get(visit.stop_id);
      if (!p) return;
      onRoute.add(visit.stop_id);
      const [x, y] = proj.project(p.lat, p.lon);
      const state = visitState(visit);
      const band = riskBand(visit);
      const who = visit.customer && visit.customer.name ? ` · ${visit.customer.name}` : "";
      stopsLayer.append(
        s(
          "circle",
          {
            class: `stop ${state}${band ? ` ${riskClass(band)}` : ""}${dim ? " dim" : ""}${visit.kind === "pickup" ? " pickup" : ""}`,
            "data-stop": visit.stop_id,
            "data-courier": route.courier_id,
            cx: x.toFixed(3),
            cy: y.toFixed(3),
            r,
            stroke: colour,
            "vector-effect": "non-scaling-stroke",
          },
          s(
            "title",
            {},
            `${visit.stop_id}${who} · ${route.courier_id} #${i + 1} · ${band ? RISK_LABEL[band] : STATE_LABEL[state]}\n` +
              `window ${hhmm(visit.window.start, offset)}–${hhmm(visit.window.end, offset)} · ETA ${hhmm(visit.eta, offset)}` +
              (visit.late_min > 0 ? ` (${Math.round(visit.late_min)} min late)` : "") +
              (band ? `\n${riskText(visit, offset)}` : ""),
          ),
        ),
      );
    });
  }
  const reasons = new Map((plan.unassigned || []).map((u) => [u.stop_id, u.reason]));
  for (const p of places.stops) {
    if (onRoute.has(p.id)) continue;
    const [x, y] = proj.project(p.lat, p.lon);
    const reason = reasons.get(p.id);
    stopsLayer.append(
      s(
        "circle",
        { class: `stop unassigned`, "data-stop": p.id, cx: x.toFixed(3), cy: y.toFixed(3), r, "vector-effect": "non-scaling-stroke" },
        s("title", {}, `${p.id} · not on any route${reason ? `: ${reason}` : ""}`),
      ),
    );
  }
  const depotLayer = s("g", { class: "depots" });
  for (const d of places.depots) {
    const [x, y] = proj.project(d.lat, d.lon);
    depotLayer.append(
      s(
        "rect",
        {
          class: "depot",
          "data-depot": d.id,
          x: x - r * 1.6,
          y: y - r * 1.6,
          width: r * 3.2,
          height: r * 3.2,
          "vector-effect": "non-scaling-stroke",
        },
        s("title", {}, `depot ${d.id}`),
      ),
    );
  }
  layers.push(routesLayer, stopsLayer, depotLayer);
  fill(svg, layers);
  if (!svg._interactive) makeInteractive(svg);
  return drew;
}

/** Where a route's place id lies, as [lat, lon]: a stop, a depot, a reload (the courier's
 * depot); null for one the console does not know (a hand-over meeting). */
function placeOf(route, stops, depots, start) {
  const reloads = new Set(route.visits.filter((v) => v.kind === "reload").map((v) => v.stop_id));
  return (id) => {
    const p = reloads.has(id) ? start : stops.get(id) || depots.get(id);
    return p ? [p.lat, p.lon] : null;
  };
}

/**
 * A route along the streets: the legs still ahead as `path.route` in the courier's colour,
 * those driven as a fainter dashed `path.route-driven`, and a leg no road joins as a thin
 * dotted straight `path.route-gap`. `data-points` counts the points drawn.
 */
function streetRoute(route, legs, { proj, colour, dim, title, place }) {
  const parts = { ahead: [], driven: [], gap: [] };
  const counts = { ahead: 0, driven: 0, gap: 0 };
  for (const leg of legs) {
    let points = leg.points;
    let part = leg.done ? "driven" : "ahead";
    if (points.length < 2) {
      const a = place(leg.from_id);
      const b = place(leg.to_id);
      if (!a || !b) continue;
      points = [a, b];
      part = "gap";
    }
    parts[part].push(pathData(points, proj.project));
    counts[part] += points.length;
  }
  const common = {
    "data-courier": route.courier_id,
    "data-along": "streets",
    stroke: colour,
    "vector-effect": "non-scaling-stroke",
  };
  const out = [];
  if (parts.driven.length) {
    out.push(s("path", { ...common, class: `route-driven${dim ? " dim" : ""}`, d: parts.driven.join(""), "data-points": counts.driven }));
  }
  if (parts.gap.length) {
    out.push(s("path", { ...common, class: `route-gap${dim ? " dim" : ""}`, d: parts.gap.join(""), "data-points": counts.gap }, s("title", {}, "no road joins these places on the map")));
  }
  // always one path.route per courier, the one the legend and the tests look for
  out.push(s("path", { ...common, class: `route${dim ? " dim" : ""}`, d: parts.ahead.join(""), "data-points": counts.ahead }, title));
  return out;
}

function stopRadius(svg) {
  const v = svg._view;
  return Math.max(v.w, v.h) / 170;
}

function applyView(svg) {
  const v = svg._view;
  svg.setAttribute("viewBox", `${v.x} ${v.y} ${v.w} ${v.h}`);
  const r = stopRadius(svg);
  for (const c of svg.querySelectorAll("circle.stop")) c.setAttribute("r", r);
  for (const d of svg.querySelectorAll("rect.depot")) {
    const cx = Number(d.getAttribute("x")) + Number(d.getAttribute("width")) / 2;
    const cy = Number(d.getAttribute("y")) + Number(d.getAttribute("height")) / 2;
    d.setAttribute("x", cx - r * 1.6);
    d.setAttribute("y", cy - r * 1.6);
    d.setAttribute("width", r * 3.2);
    d.setAttribute("height", r * 3.2);
  }
}

/** Zoom by `factor` around the point (fx, fy) given as fractions of the view. */
/** A route's visits to customers: not its reloads at the depot nor its hand-over meetings. */
export function customerVisits(route) {
  return route.visits.filter((v) => v.kind !== "reload" && v.kind !== "handover");
}

export function zoomMap(svg, factor, fx = 0.5, fy = 0.5) {
  const v = svg._view;
  if (!v) return;
  const w = Math.min(Math.max(v.w * factor, 0.2), svg._proj.box.w * 4);
  const h = (v.h * w) / v.w;
  svg._view = { x: v.x + (v.w - w) * fx, y: v.y + (v.h - h) * fy, w, h };
  applyView(svg);
}

export function resetMap(svg) {
  if (!svg._proj) return;
  svg._view = { ...svg._proj.box };
  applyView(svg);
}

function makeInteractive(svg) {
  svg._interactive = true;
  svg.addEventListener(
    "wheel",
    (e) => {
      e.preventDefault();
      const rect = svg.getBoundingClientRect();
      zoomMap(svg, e.deltaY > 0 ? 1.2 : 1 / 1.2, (e.clientX - rect.left) / rect.width, (e.clientY - rect.top) / rect.height);
    },
    { passive: false },
  );
  let drag = null;
  svg.addEventListener("pointerdown", (e) => {
    drag = { x: e.clientX, y: e.clientY, view: { ...svg._view } };
    svg.setPointerCapture(e.pointerId);
  });
  svg.addEventListener("pointermove", (e) => {
    if (!drag) return;
    const rect = svg.getBoundingClientRect();
    const scale = Math.max(drag.view.w / rect.width, drag.view.h / rect.height);
    svg._view = { ...drag.view, x: drag.view.x - (e.clientX - drag.x) * scale, y: drag.view.y - (e.clientY - drag.y) * scale };
    applyView(svg);
  });
  const end = () => { drag = null; };
  svg.addEventListener("pointerup", end);
  svg.addEventListener("pointercancel", end);
  svg.addEventListener("dblclick", () => resetMap(svg));
}

/** Distinct colours for couriers, stable by their order in the problem. */
export function courierColours(ids) {
  const base = [
    "#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b", "#e377c2",
    "#bcbd22", "#393b79", "#637939", "#e7298a", "#a6761d", "#66a61e", "#7570b3", "#d95f02",
  ];
  const map = new Map();
  ids.forEach((id, i) => {
    map.set(id, i < base.length ? base[i] : `hsl(${(i * 137.508) % 360} 65% 42%)`);
  });
  return map;
}
