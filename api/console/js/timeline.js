// One row per courier: the shift (pale), the route from start to end (a line in the courier's
// colour), each visit's booked window (a light bar) and ETA (a mark), breaks (hatched), the
// shift end (a dark tick) and the plan's "now". The ETA mark is coloured by the visit's risk
// band (on track, at risk, likely late), with a thin line on to the 90th-percentile ETA; late
// visits are red, with a red line from the window's end to the ETA.

import { s, fill } from "./dom.js";
import { hhmm, ms, paceText, riskBand, riskClass, riskText, visitState, RISK_LABEL, STATE_LABEL } from "./time.js";

const WIDTH = 1200;
const LABEL = 86;
const AXIS = 22;
const LANE = 7;
const PAD = 5;
const HOUR = 3600000;

/** Greedy lanes so that overlapping windows of one courier do not hide each other. */
function lanes(visits) {
  const ends = [];
  return visits.map((v) => {
    const start = ms(v.window.start);
    let lane = ends.findIndex((end) => end <= start);
    if (lane < 0) {
      lane = ends.length;
      ends.push(0);
    }
    ends[lane] = ms(v.window.end);
    return lane;
  });
}

export function drawTimeline(svg, plan, places, colours, { offset = 0, focus = null, showIdle = false } = {}) {
  const shifts = new Map(places.couriers.map((c) => [c.id, c]));
  const order = new Map(places.couriers.map((c, i) => [c.id, i]));
  const routes = (plan.routes || [])
    .filter((r) => showIdle || r.visits.length)
    .sort((a, b) => (order.get(a.courier_id) ?? 0) - (order.get(b.courier_id) ?? 0));
  const times = [];
  for (const r of routes) {
    const shift = shifts.get(r.courier_id);
    if (shift) times.push(ms(shift.shift_start), ms(shift.shift_end));
    if (r.start) times.push(ms(r.start));
    if (r.end) times.push(ms(r.end));
    for (const v of r.visits) {
      times.push(ms(v.eta));
      // a customer's booked window sets the time axis; a reload or a meeting is booked by no one
      if (v.kind !== "reload" && v.kind !== "handover") times.push(ms(v.window.start), ms(v.window.end));
      if (v.eta_p90 && riskBand(v)) times.push(ms(v.eta_p90));
    }
  }
  if (!times.length) {
    svg.setAttribute("viewBox", `0 0 ${WIDTH} 40`);
    fill(svg, s("text", { x: 10, y: 24, class: "tl-empty" }, "no routes"));
    return;
  }
  const local = (t) => t + offset * 60000;
  const t0 = Math.floor(local(Math.min(...times)) / HOUR) * HOUR - offset * 60000;
  const t1 = Math.ceil(local(Math.max(...times)) / HOUR) * HOUR - offset * 60000;
  const x = (t) => LABEL + ((t - t0) / (t1 - t0)) * (WIDTH - LABEL - 8);

  const rows = [];
  let y = AXIS;
  for (const route of routes) {
    const laneOf = lanes(route.visits);
    const count = Math.max(1, ...laneOf.map((l) => l + 1));
    const height = count * LANE + 2 * PAD;
    const colour = colours.get(route.courier_id) || "#555";
    const shift = shifts.get(route.courier_id);
    const dim = focus && focus !== route.courier_id;
    const late = route.visits.filter((v) => visitState(v) === "late").length;
    const g = s("g", { class: `tl-row${dim ? " dim" : ""}${late ? " has-late" : ""}`, "data-courier": route.courier_id });
    g.append(
      s("rect", { class: "tl-band", x: 0, y, width: WIDTH, height }),
      s("text", { class: "tl-label", x: 6, y: y + height / 2 + 4 }, route.courier_id),
      s("rect", { class: "tl-swatch", x: LABEL - 14, y: y + height / 2 - 4, width: 8, height: 8, fill: colour }),
    );
    if (shift) {
      g.append(
        s(
          "rect",
          { class: "tl-shift", x: x(ms(shift.shift_start)), y: y + 2, width: Math.max(0, x(ms(shift.shift_end)) - x(ms(shift.shift_start))), height: height - 4 },
          s("title", {}, `${route.courier_id} shift ${hhmm(shift.shift_start, offset)}–${hhmm(shift.shift_end, offset)}`),
        ),
        s(
          "line",
          { class: "tl-shift-end", x1: x(ms(shift.shift_end)), x2: x(ms(shift.shift_end)), y1: y + 1, y2: y + height - 1 },
        ),
      );
    }
    if (route.start && route.end) {
      g.append(
        s(
          "line",
          { class: "tl-route", x1: x(ms(route.start)), x2: x(ms(route.end)), y1: y + height / 2, y2: y + height / 2, stroke: colour },
          s("title", {}, `${route.courier_id} route ${hhmm(route.start, offset)}–${hhmm(route.end, offset)}, ${route.distance_km.toFixed(1)} km${paceText(route.pace) ? `, ${paceText(route.pace)}` : ""}`),
        ),
        s("circle", { class: "tl-route-end", cx: x(ms(route.end)), cy: y + height / 2, r: 3.5, fill: colour },
          s("title", {}, `${route.courier_id} back at ${hhmm(route.end, offset)}`)),
      );
    }
    for (const b of route.breaks || []) {
      g.append(
        s(
          "rect",
          { class: "tl-break", x: x(ms(b.start)), y: y + 1, width: Math.max(1, x(ms(b.end)) - x(ms(b.start))), height: height - 2 },
          s("title", {}, `break ${hhmm(b.start, offset)}–${hhmm(b.end, offset)}`),
        ),
      );
    }
    route.visits.forEach((visit, i) => {
      const state = visitState(visit);
      const band = riskBand(visit);
      const ly = y + PAD + laneOf[i] * LANE;
      const ws = x(ms(visit.window.start));
      const we = x(ms(visit.window.end));
      const eta = x(ms(visit.eta));
      const who = visit.customer && visit.customer.name ? ` · ${visit.customer.name}` : "";
      const label =
        `${visit.stop_id}${who} · ${band ? RISK_LABEL[band] : STATE_LABEL[state]}\nwindow ${hhmm(visit.window.start, offset)}–${hhmm(visit.window.end, offset)} · ETA ${hhmm(visit.eta, offset)}` +
        (visit.late_min > 0 ? ` (${Math.round(visit.late_min)} min late)` : "") +
        (band ? `\n${riskText(visit, offset)}` : "");
      const v = s("g", { class: `tl-visit ${state}${band ? ` ${riskClass(band)}` : ""}`, "data-stop": visit.stop_id });
      v.append(
        s("rect", { class: "tl-window", x: ws, y: ly + 1, width: Math.max(1, we - ws), height: LANE - 2, fill: colour }),
      );
      if (state === "late") v.append(s("line", { class: "tl-lateness", x1: we, x2: eta, y1: ly + LANE / 2, y2: ly + LANE / 2 }));
      if (band && visit.eta_p90 && ms(visit.eta_p90) > ms(visit.eta)) {
        v.append(s("line", { class: "tl-p90", x1: eta, x2: x(ms(visit.eta_p90)), y1: ly + LANE / 2, y2: ly + LANE / 2 }));
      }
      v.append(s("rect", { class: "tl-eta", x: eta - 1.5, y: ly - 0.5, width: 3, height: LANE + 1 }));
      v.append(s("title", {}, label));
      g.append(v);
    });
    rows.push(g);
    y += height + 2;
  }

  const axis = s("g", { class: "tl-axis" });
  for (let t = t0; t <= t1; t += HOUR) {
    axis.append(
      s("line", { class: "tl-grid", x1: x(t), x2: x(t), y1: AXIS - 4, y2: y }),
      s("text", { class: "tl-tick", x: x(t), y: AXIS - 8, "text-anchor": "middle" }, hhmm(t, offset)),
    );
  }
  const hatch = s(
    "defs",
    {},
    s(
      "pattern",
      { id: "tl-hatch", width: 5, height: 5, patternUnits: "userSpaceOnUse", patternTransform: "rotate(45)" },
      s("rect", { width: 5, height: 5, fill: "#e2e5ea" }),
      s("line", { x1: 0, y1: 0, x2: 0, y2: 5, stroke: "#8d96a3", "stroke-width": 2 }),
    ),
  );
  const parts = [hatch, axis, ...rows];
  if (plan.now) {
    const n = x(ms(plan.now));
    if (n >= LABEL && n <= WIDTH) {
      parts.push(
        s("line", { class: "tl-now", x1: n, x2: n, y1: AXIS - 6, y2: y }),
        s("text", { class: "tl-now-label", x: n + 3, y: y - 3 }, `now ${hhmm(plan.now, offset)}`),
      );
    }
  }
  svg.setAttribute("viewBox", `0 0 ${WIDTH} ${y + 4}`);
  fill(svg, parts);
}
