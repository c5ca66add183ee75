// The courier's phone view: my stops in order (address, window, ETA, masked phone), the way
// to the next stop on a small map (the route's `next_leg`, along the streets on a road map,
// over the map's own streets), and the reports a courier makes: delivered, failed (with a
// reason), "I will be N minutes late".
// Events carry a fresh event_id and `at` = now; `?at=ISO` overrides `at` (the service's
// clock is event time, so a test or a replayed day can say when things happen).

import { ApiError, explain, forget, get, getText, newId, post, signIn, storedKey, storedMe } from "../js/api.js";
import { $, fill, h, notify, s } from "../js/dom.js";
import { projection } from "../js/map.js";
import { boxAround, fetchRoads, pathData, roadsLayer } from "../js/roads.js";
import { bindSignIn } from "../js/signin.js";
import { hhmm, nowIso, offsetOf, paceText, paceTitle, riskBand, riskClass, riskText, RISK_LABEL, STATE_LABEL, visitState } from "../js/time.js";

const POLL_MS = 1500;
const REASONS = ["customer not at home", "wrong address", "refused by customer", "parcel damaged", "no access to building"];

const params = new URLSearchParams(window.location.search);
const state = {
  me: null,
  planId: params.get("plan"),
  text: "",
  route: null,
  timer: null,
  busy: false,
  map: undefined, // the plan's road map {name, attribution}; null: none; undefined: not asked yet
  roads: null, // GET /v1/maps/{name}/roads around the next leg
  roadsKey: "",
};
const say = (text, kind = "info") => notify($("#notice"), text, kind, kind === "error" ? 10000 : 5000);
const eventTime = () => params.get("at") || nowIso();

async function start() {
  const key = storedKey();
  if (!key) {
    $("#signin").hidden = false;
    return;
  }
  try {
    state.me = await signIn(key);
  } catch (exc) {
    if (exc instanceof ApiError && exc.status === 401) {
      forget();
      $("#signin").hidden = false;
      return;
    }
    state.me = storedMe();
  }
  enter();
}

function enter() {
  if (!state.me) return;
  if (state.me.role !== "courier") {
    window.location.replace("../");
    return;
  }
  state.planId = state.planId || state.me.plan_id;
  $("#signin").hidden = true;
  $("#who").hidden = false;
  $("#route-head").hidden = false;
  $("#courier-id").textContent = state.me.courier_id;
  $("#route").hidden = false;
  if (!state.planId) {
    fill($("#stops"), h("li", { class: "muted" }, "No route for you today yet."));
    return;
  }
  tick();
}

bindSignIn((me) => {
  state.me = me;
  enter();
});

$("#sign-out").addEventListener("click", () => {
  forget();
  window.location.reload();
});

async function tick() {
  if (state.busy) return;
  state.busy = true;
  try {
    await refresh();
  } finally {
    state.busy = false;
  }
  clearTimeout(state.timer);
  if (state.planId) state.timer = setTimeout(tick, document.hidden ? 5000 : POLL_MS);
}

async function refresh() {
  try {
    const path = `/v1/plans/${encodeURIComponent(state.planId)}/couriers/${encodeURIComponent(state.me.courier_id)}/route`;
    const { text } = await getText(path);
    if (text === state.text) return;
    if (document.querySelector("form.fail")) return; // keep the form being filled in; next poll renders
    const route = JSON.parse(text);
    const before = state.route;
    state.text = text;
    state.route = route;
    if (before && before.version !== route.version) {
      const flash = $("#route-updated");
      flash.textContent = `new stop list (v${route.version})`;
      flash.hidden = false;
      clearTimeout(flash._timer);
      flash._timer = setTimeout(() => { flash.hidden = true; }, 8000);
    }
    render();
    await drawNext(route);
  } catch (exc) {
    if (exc instanceof ApiError && exc.status === 401) {
      forget();
      state.planId = null;
      say("your key is no longer accepted", "error");
      return;
    }
    if (exc instanceof ApiError && exc.status === 409) {
      fill($("#stops"), h("li", { class: "muted" }, "The day is still being planned…"));
      return;
    }
    say(explain(exc), "error");
  }
}

async function send(body, what) {
  const event = { event_id: newId(), courier_id: state.me.courier_id, at: eventTime(), ...body };
  try {
    const answer = await post(`/v1/plans/${encodeURIComponent(state.planId)}/events`, event);
    const calls = answer.calls.length ? ` · ${answer.calls.length} customer(s) will be called` : "";
    say(`${what} reported${calls}`, "ok");
    document.body.dataset.lastEvent = event.event_id;
    await refresh();
    return answer;
  } catch (exc) {
    say(`${what}: ${explain(exc)}`, "error");
    return null;
  }
}

$("#delay-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  const minutes = Number($("#delay-minutes").value);
  if (!(minutes > 0)) return;
  const button = $("#delay-send");
  button.disabled = true;
  await send({ type: "delay", delay_min: minutes }, `${minutes} min delay`);
  button.disabled = false;
});

function failForm(visit, item) {
  const reason = h("select", { name: "reason", "aria-label": "reason" }, REASONS.map((r) => h("option", { value: r }, r)), h("option", { value: "" }, "other…"));
  const other = h("input", { type: "text", name: "other", maxlength: 300, placeholder: "what happened", hidden: true });
  reason.addEventListener("change", () => { other.hidden = reason.value !== ""; });
  const form = h(
    "form",
    { class: "fail" },
    reason,
    other,
    h("button", { type: "submit", class: "primary" }, "Report failed"),
    h("button", { type: "button", class: "link", onclick: () => form.remove() }, "Cancel"),
  );
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const text = reason.value || other.value.trim() || "failed";
    for (const b of item.querySelectorAll("button")) b.disabled = true;
    form.remove();
    const answer = await send({ type: "stop_failed", stop_id: visit.stop_id, reason: text }, `${visit.stop_id} failed`);
    for (const b of item.querySelectorAll("button")) b.disabled = false;
    if (!answer) item.append(form);
  });
  return form;
}

function render() {
  const route = state.route;
  const offset = offsetOf((route.visits[0] && route.visits[0].eta) || route.start || "") || 0;
  $("#route-version").textContent = String(route.version);
  document.body.dataset.routeVersion = String(route.version);
  const open = route.visits.filter((v) => v.status === "planned");
  const late = open.filter((v) => visitState(v) === "late").length;
  fill(
    $("#route-facts"),
    h("span", {}, `${open.length} stop(s) left`),
    h("span", {}, `${route.distance_km.toFixed(1)} km`),
    route.end ? h("span", {}, `back ${hhmm(route.end, offset)}`) : null,
    late ? h("span", { class: "late" }, `${late} late`) : null,
    paceText(route.pace) ? h("span", { class: `pace${route.pace > 1 ? " slow" : ""}`, title: paceTitle(route.pace) }, paceText(route.pace)) : null,
    params.get("at") ? h("span", { class: "muted" }, `reporting as of ${hhmm(params.get("at"), offset)}`) : null,
  );
  const next = open[0];
  const items = route.visits.map((visit, i) => {
    const st = visitState(visit);
    const band = riskBand(visit);
    const item = h("li", {
      class: `stop ${st}${band ? ` ${riskClass(band)}` : ""}${visit === next ? " next" : ""}`,
      "data-stop": visit.stop_id,
      "data-state": st,
    });
    const customer = visit.customer || { name: "", phone: "" };
    item.append(
      h(
        "div",
        { class: "stop-head" },
        h("span", { class: "seq" }, `${i + 1}.`),
        h("strong", {}, customer.name || visit.stop_id),
        h("span", { class: `badge ${band === "high" || st === "late" ? "late" : ""}` }, band ? RISK_LABEL[band] : STATE_LABEL[st]),
        h("span", { class: "eta" }, `ETA ${hhmm(visit.eta, offset)}`),
      ),
      h(
        "div",
        { class: "stop-body" },
        h("span", { class: "address" }, visit.address || `stop ${visit.stop_id}`),
        h("span", {}, `window ${hhmm(visit.window.start, offset)}–${hhmm(visit.window.end, offset)}`, visit.late_min > 0 ? h("span", { class: "late" }, ` · ${Math.round(visit.late_min)} min late`) : null),
        band ? h("span", { class: "risk" }, riskText(visit, offset)) : null,
        customer.phone ? h("span", { class: "phone" }, customer.phone) : null,
      ),
    );
    if (visit.status === "planned") {
      item.append(
        h(
          "div",
          { class: "stop-actions" },
          h("button", {
            type: "button",
            class: "delivered",
            onclick: async (e) => {
              const button = e.currentTarget;
              button.disabled = true;
              if (!(await send({ type: "stop_completed", stop_id: visit.stop_id }, `${visit.stop_id} delivered`))) button.disabled = false;
            },
          }, "Delivered"),
          h("button", {
            type: "button",
            class: "failed",
            onclick: () => {
              if (!item.querySelector("form.fail")) item.append(failForm(visit, item));
            },
          }, "Failed…"),
        ),
      );
    }
    return item;
  });
  fill($("#stops"), items.length ? items : h("li", { class: "muted" }, "No stops on your route."));
}

// --- the way to the next stop ---------------------------------------------------------------

/** The plan's road map and its credit, asked once (the courier's own paths say which). */
async function roadMap() {
  if (state.map !== undefined) return state.map;
  try {
    const paths = await get(`/v1/plans/${encodeURIComponent(state.planId)}/paths?courier_id=${encodeURIComponent(state.me.courier_id)}`);
    state.map = paths.road_map ? { name: paths.road_map, attribution: paths.attribution || "" } : null;
  } catch {
    state.map = null; // the leg is still drawn, without the streets around it
  }
  return state.map;
}

/** The next leg (`route.next_leg`, [lat, lon] from where the courier is to the next stop) on
 * a phone-sized map: the map's streets around it when the plan has a road map, the way in
 * blue, the courier and the next stop as dots. Hidden once the route is driven. */
async function drawNext(route) {
  const card = $("#next-card");
  const leg = route.next_leg;
  const next = route.visits.find((v) => v.status === "planned");
  if (!leg) {
    card.hidden = true;
    return;
  }
  card.hidden = false;
  $("#next-what").textContent = next ? (next.customer && next.customer.name) || next.stop_id : "back to the depot";
  $("#next-no-road").hidden = leg.length > 0;
  $("#next-wrap").hidden = leg.length === 0;
  if (!leg.length) return;
  const svg = $("#next-map");
  const proj = projection(leg.map(([lat, lon]) => ({ lat, lon })));
  // the leg's box widened to the map's shape, so the streets fill what is shown
  const size = svg.getBoundingClientRect();
  const aspect = size.width > 0 && size.height > 0 ? size.width / size.height : 2;
  const xy = leg.map(([lat, lon]) => proj.project(lat, lon));
  const xs = xy.map((q) => q[0]);
  const ys = xy.map((q) => q[1]);
  const pad = Math.max(0.12, (Math.max(...xs) - Math.min(...xs)) * 0.12, (Math.max(...ys) - Math.min(...ys)) * 0.12); // km
  const b = {
    x: Math.min(...xs) - pad,
    y: Math.min(...ys) - pad,
    w: Math.max(...xs) - Math.min(...xs) + 2 * pad,
    h: Math.max(...ys) - Math.min(...ys) + 2 * pad,
  };
  const w = Math.max(b.w, b.h * aspect);
  const hgt = w / aspect;
  const v = { x: b.x - (w - b.w) / 2, y: b.y - (hgt - b.h) / 2, w, h: hgt };
  svg.setAttribute("viewBox", `${v.x} ${v.y} ${v.w} ${v.h}`);
  svg.setAttribute("preserveAspectRatio", "xMidYMid meet");
  const map = await roadMap();
  if (map) {
    const corners = [proj.unproject(v.x, v.y), proj.unproject(v.x + v.w, v.y + v.h)].map(([lat, lon]) => ({ lat, lon }));
    const box = boxAround(corners, { margin: 0.05, min: 0, grid: 0.002 });
    const key = `${map.name}|${box.join(",")}`;
    if (key !== state.roadsKey) {
      try {
        state.roads = await fetchRoads(map.name, box);
        state.roadsKey = key;
      } catch {
        state.roads = null;
        state.roadsKey = "";
      }
    }
  }
  const r = Math.max(v.w, v.h) / 60;
  const roads = map && state.roads ? roadsLayer(state.roads, proj.project) : null;
  const [ax, ay] = proj.project(...leg[0]);
  const [bx, by] = proj.project(...leg[leg.length - 1]);
  fill(
    svg,
    roads,
    s("path", { class: "next-leg", d: pathData(leg, proj.project), "data-points": leg.length, "vector-effect": "non-scaling-stroke" }),
    s("circle", { class: "you", cx: ax, cy: ay, r, "vector-effect": "non-scaling-stroke" }, s("title", {}, "you")),
    s("circle", { class: "next-stop", cx: bx, cy: by, r, "vector-effect": "non-scaling-stroke" }, s("title", {}, next ? next.stop_id : "depot")),
  );
  svg.classList.toggle("has-roads", Boolean(roads));
  const credit = $("#next-attribution");
  credit.hidden = !(map && map.attribution);
  if (!credit.hidden) credit.textContent = map.attribution;
}

document.addEventListener("visibilitychange", () => {
  if (!document.hidden && state.planId && state.me) tick();
});

start();
