// The road map in the console: the map's own streets as an offline base layer
// (GET /v1/maps/{name}/roads, drawn when no tile server is set) and routes along the streets
// (GET /v1/plans/{id}/paths). Coordinates go through a map.js projection; strokes are in
// screen pixels (non-scaling), so streets stay thin at any zoom.

import { get } from "./api.js";
import { s } from "./dom.js";

/** The API's road classes (most important first) by how boldly they are drawn. */
const WEIGHT = {
  motorway: "major", motorway_link: "major", trunk: "major", trunk_link: "major",
  primary: "major", primary_link: "major",
  secondary: "mid", secondary_link: "mid", tertiary: "mid", tertiary_link: "mid",
  unclassified: "minor", residential: "minor", living_street: "minor", road: "minor",
  service: "least",
};

/** A box [west, south, east, north] around `points` ({lat, lon}) with `margin` of its span on
 * each side (and at least `min` degrees), snapped outward to `grid` degrees so that a
 * slightly different set of points asks for the same box. */
export function boxAround(points, { margin = 0.15, min = 0.004, grid = 0.001 } = {}) {
  const lats = points.map((p) => p.lat);
  const lons = points.map((p) => p.lon);
  const dLat = Math.max((Math.max(...lats) - Math.min(...lats)) * margin, min);
  const dLon = Math.max((Math.max(...lons) - Math.min(...lons)) * margin, min);
  const down = (x) => Math.floor(x / grid) * grid;
  const up = (x) => Math.ceil(x / grid) * grid;
  return [
    Math.max(down(Math.min(...lons) - dLon), -180),
    Math.max(down(Math.min(...lats) - dLat), -90),
    Math.min(up(Math.max(...lons) + dLon), 180),
    Math.min(up(Math.max(...lats) + dLat), 90),
  ];
}

/** The streets of road map `name` inside `box` (GET /v1/maps/{name}/roads). */
export function fetchRoads(name, box) {
  const [west, south, east, north] = box.map((x) => x.toFixed(5));
  return get(`/v1/maps/${encodeURIComponent(name)}/roads?west=${west}&south=${south}&east=${east}&north=${north}`);
}

/** SVG path data through `points` ([lat, lon] pairs) projected by `project`. */
export function pathData(points, project) {
  return points
    .map(([lat, lon], i) => {
      const [x, y] = project(lat, lon);
      return `${i ? "L" : "M"}${x.toFixed(4)} ${y.toFixed(4)}`;
    })
    .join("");
}

/** The base layer: one path per road class, least important underneath. */
export function roadsLayer(roads, project) {
  const byClass = new Map();
  for (const [cls, points] of roads.lines) {
    if (points.length < 2) continue;
    if (!byClass.has(cls)) byClass.set(cls, []);
    byClass.get(cls).push(pathData(points, project));
  }
  const group = s("g", { class: "roads", "data-map": roads.map, "data-lines": roads.lines.length });
  for (const cls of [...byClass.keys()].sort((a, b) => b - a)) {
    const name = roads.classes[cls] || "road";
    group.append(
      s("path", {
        class: `road ${WEIGHT[name] || "minor"}`,
        "data-class": name,
        d: byClass.get(cls).join(""),
        "vector-effect": "non-scaling-stroke",
      }),
    );
  }
  return group;
}

/** One courier's legs from GET /paths matched to their route in the plan, each with `done`
 * taken from the plan's visits (the newest statuses; the plan is polled, the paths fetched per
 * version). Null when the legs are of another version of the route (the order of their stops
 * differs from the plan's), so the caller draws straight lines until the fresh paths come. */
export function legsOfRoute(entry, route) {
  if (!entry || !entry.legs.length) return null;
  const order = new Map(route.visits.map((v, i) => [v.stop_id, i]));
  const toVisits = entry.legs.slice(0, -1); // the last leg goes back to the depot
  if (toVisits.length > route.visits.length) return null;
  let last = -1;
  for (const leg of toVisits) {
    const k = order.get(leg.to_id);
    if (k === undefined || k <= last) return null;
    last = k;
  }
  return entry.legs.map((leg, i) => {
    const visit = i < toVisits.length ? route.visits[order.get(leg.to_id)] : null;
    return { ...leg, done: visit ? visit.status !== "planned" : false };
  });
}
