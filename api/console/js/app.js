// The dispatcher console: sign in, plans, map, timeline, calls, figures and what-if.
// Everything comes from the HTTP API (CONTRACTS.md 3); what is shown follows the key's role.

import { ApiError, explain, forget, get, getText, post, signIn, storedKey, storedMe } from "./api.js";
import { bindSignIn } from "./signin.js";
import { renderCalls } from "./calls.js";
import { problemFromCsv } from "./csv.js";
import { importProblem, showImportErrors, showTemplates } from "./imports.js";
import { $, $$, fill, h, notify } from "./dom.js";
import { courierColours, customerVisits, drawMap, resetMap, zoomMap } from "./map.js";
import { boxAround, fetchRoads } from "./roads.js";
import { scenarioPanel } from "./scenarios.js";
import { drawTimeline } from "./timeline.js";
import { hhmm, offsetOf, paceText, paceTitle, visitState } from "./time.js";

const POLL_MS = 1000;
const HIDDEN_POLL_MS = 5000;
const PLANS_EVERY_MS = 10000;
const STREETS_RETRY_MS = 10000;

const state = {
  me: null,
  config: { tile_url: null },
  planId: null,
  plan: null,
  planText: "",
  places: null,
  paths: null, // GET /v1/plans/{id}/paths: the routes along the streets, for `pathsKey`
  pathsKey: "", // plan id @ version the paths were asked for: once per version
  pathsRetry: 0,
  roads: null, // GET /v1/maps/{name}/roads: the base layer, once per plan
  roadsKey: "",
  colours: new Map(),
  offset: 0,
  callsText: "",
  focus: null,
  timer: null,
  plansAt: 0,
  generation: 0,
  busy: 0,
};

const can = (...roles) => state.me && roles.includes(state.me.role);
const say = (text, kind = "info") => notify($("#notice"), text, kind, kind === "error" ? 10000 : 5000);

// --- sign in and roles ---------------------------------------------------------------------

function showFor(role) {
  document.body.dataset.role = role || "";
  $("#signin").hidden = Boolean(role);
  $("#who").hidden = !role;
  $("#who-role").textContent = role || "";
  for (const node of $$("[data-roles]")) node.hidden = !role || !node.dataset.roles.split(" ").includes(role);
}

async function start() {
  try {
    state.config = await get("/v1/console/config");
  } catch {
    state.config = { tile_url: null };
  }
  const key = storedKey();
  if (!key) {
    showFor(null);
    $("#key").focus();
    return;
  }
  try {
    state.me = await signIn(key);
  } catch (exc) {
    state.me = storedMe();
    if (exc instanceof ApiError && exc.status === 401) {
      forget();
      showFor(null);
      return;
    }
  }
  enter();
}

function enter() {
  if (!state.me) return;
  if (state.me.role === "courier") {
    window.location.replace("courier/");
    return;
  }
  showFor(state.me.role);
  if (can("dispatcher", "planner")) scenarioPanel($("#scenario-panel"), { planId: () => state.planId, status: say });
  refreshPlans().then((plans) => {
    // The plan in the address, else the newest solved one (the day being worked).
    const wanted = new URLSearchParams(window.location.hash.slice(1)).get("plan");
    const newest = (plans || []).find((p) => p.status === "solved");
    if (wanted) openPlan(wanted, { collapse: true });
    else if (newest) openPlan(newest.id, { collapse: false });
  });
}

bindSignIn((me) => {
  state.me = me;
  enter();
});

$("#sign-out").addEventListener("click", () => {
  forget();
  clearTimeout(state.timer);
  state.me = null;
  state.planId = null;
  window.location.hash = "";
  window.location.reload();
});

// --- plans ----------------------------------------------------------------------------------

function created(iso) {
  const d = new Date(iso);
  return Number.isFinite(d.getTime()) ? d.toLocaleString() : "";
}

async function refreshPlans() {
  state.plansAt = Date.now();
  let plans;
  try {
    plans = await get("/v1/plans?limit=50");
  } catch (exc) {
    say(`plans: ${explain(exc)}`, "error");
    return [];
  }
  const rows = plans.map((p) =>
    h(
      "tr",
      { "data-plan-id": p.id, class: p.id === state.planId ? "current" : "" },
      h("td", {}, p.name),
      h("td", {}, h("span", { class: `badge ${p.status}` }, p.status)),
      h("td", { class: "num" }, String(p.version)),
      h("td", { class: "muted" }, created(p.created_at)),
      h("td", {}, h("button", { type: "button", class: "open", onclick: () => openPlan(p.id, { collapse: true }) }, p.id === state.planId ? "Open ✓" : "Open")),
    ),
  );
  fill($("#plan-list"), rows.length ? rows : h("tr", {}, h("td", { colspan: 5, class: "muted" }, "No plans yet.")));
  $("#plans-count").textContent = `(${plans.length})`;
  return plans;
}

$("#plans-refresh").addEventListener("click", refreshPlans);

for (const radio of $$("input[name=source]")) {
  radio.addEventListener("change", () => {
    const source = $("input[name=source]:checked").value;
    for (const name of ["json", "csv", "sheet"]) $(`.source-${name}`).hidden = source !== name;
  });
}

$("#import-templates").addEventListener("click", () =>
  showTemplates($("#template-links")).catch((exc) => say(`templates: ${explain(exc)}`, "error")),
);

async function readFile(input) {
  const file = input.files && input.files[0];
  if (!file) throw new Error(`choose a file for ${input.name}`);
  return file.text();
}

$("#create-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  const form = e.currentTarget;
  const data = new FormData(form);
  let problem;
  showImportErrors($("#import-errors"), []);
  try {
    if (data.get("source") === "sheet") {
      problem = await importProblem(form);
    } else if (data.get("source") === "csv") {
      const offset = offsetOf(String(data.get("offset") || "+00:00"));
      const date = String(data.get("date") || "");
      if (offset === null) throw new Error("the UTC offset must look like +08:00");
      if (!date) throw new Error("choose the plan's date");
      problem = problemFromCsv(await readFile(form.elements.orders), await readFile(form.elements.couriers), {
        name: String(data.get("name") || "day"),
        date,
        offset,
      });
    } else {
      const raw = JSON.parse(await readFile(form.elements.problem));
      problem = raw && raw.problem ? raw.problem : raw;
    }
  } catch (exc) {
    if (exc instanceof ApiError && exc.details.some((d) => d && d.sheet)) {
      // every bad row, where the dispatcher can fix it; nothing is planned
      showImportErrors($("#import-errors"), exc.details, form);
      say(`${exc.details.length} problem(s) in the sheets: nothing was planned`, "error");
      return;
    }
    say(`cannot read the input: ${explain(exc)}`, "error");
    return;
  }
  try {
    const answer = await post("/v1/plans", {
      problem,
      time_limit_s: Number(data.get("time_limit_s")) || 10,
      engine: String(data.get("engine") || "auto"),
    });
    say(`plan ${problem.name} is ${answer.status}`, "ok");
    $("#create").open = false;
    await refreshPlans();
    await openPlan(answer.id, { collapse: false });
  } catch (exc) {
    say(`the plan was refused: ${explain(exc)}`, "error");
  }
});

// --- one plan, live -------------------------------------------------------------------------

async function openPlan(id, { collapse = true } = {}) {
  state.generation += 1;
  clearTimeout(state.timer);
  state.planId = id;
  state.plan = null;
  state.planText = "";
  state.callsText = "";
  state.places = null;
  state.paths = null;
  state.pathsKey = "";
  state.pathsRetry = 0;
  state.roads = null;
  state.roadsKey = "";
  state.focus = null;
  window.location.hash = `plan=${encodeURIComponent(id)}`;
  for (const row of $$("#plan-list tr")) {
    row.classList.toggle("current", row.dataset.planId === id);
    const button = $("button.open", row);
    if (button) button.textContent = row.dataset.planId === id ? "Open ✓" : "Open";
  }
  $("#plan-head").hidden = false;
  $("#plan-name").textContent = "";
  $("#plan-status").textContent = "loading";
  $("#plan-status").className = "badge";
  $("#plan-version").textContent = "–";
  $("#plan-now").textContent = "";
  if (collapse) $("#plans-box").open = false;
  fill($("#call-list"));
  await tick(state.generation);
}

async function loadPlaces(id) {
  const places = await get(`/v1/console/plans/${encodeURIComponent(id)}/places`);
  state.places = places;
  state.colours = courierColours(places.couriers.map((c) => c.id));
  const first = places.couriers[0];
  state.offset = (first && offsetOf(first.shift_start)) || 0;
}

async function tick(generation) {
  if (generation !== state.generation || !state.planId || state.busy === generation) return;
  state.busy = generation;
  try {
    await poll(generation);
  } finally {
    if (state.busy === generation) state.busy = 0;
  }
  if (generation !== state.generation || !state.planId) return;
  clearTimeout(state.timer);
  state.timer = setTimeout(() => tick(generation), document.hidden ? HIDDEN_POLL_MS : POLL_MS);
}

async function poll(generation) {
  const id = state.planId;
  try {
    if (!state.places) await loadPlaces(id);
    const { text } = await getText(`/v1/plans/${encodeURIComponent(id)}`);
    if (generation !== state.generation) return;
    if (text !== state.planText) {
      const plan = JSON.parse(text);
      const before = state.plan;
      state.planText = text;
      state.plan = plan;
      renderPlan(before);
    }
    if (can("dispatcher", "planner") && state.plan && state.plan.status === "solved") await refreshStreets(generation);
    if (can("dispatcher", "service") && state.plan && state.plan.status === "solved") await refreshCalls(generation);
    if (Date.now() - state.plansAt > PLANS_EVERY_MS) refreshPlans();
  } catch (exc) {
    if (exc instanceof ApiError && exc.status === 401) {
      forget();
      state.planId = null;
      say("your key is no longer accepted; sign in again", "error");
      showFor(null);
      return;
    }
    if (exc instanceof ApiError && exc.status === 404) {
      say(`plan ${id} was not found`, "error");
      state.planId = null;
      return;
    }
    say(explain(exc), "error");
  }
}

/** The routes along the streets, fetched once per plan version (a report that only marks a
 * stop served changes no path: the legs driven are read from the plan), and on a road map
 * without a tile server the map's own streets around the plan, once per plan. */
async function refreshStreets(generation) {
  const plan = state.plan;
  const key = `${plan.id}@${plan.version}`;
  if (key === state.pathsKey || Date.now() < state.pathsRetry) return;
  let paths;
  try {
    paths = await get(`/v1/plans/${encodeURIComponent(plan.id)}/paths`);
  } catch (exc) {
    if (generation === state.generation) {
      state.pathsRetry = Date.now() + STREETS_RETRY_MS;
      say(`routes along the streets: ${explain(exc)}`, "error");
    }
    return;
  }
  if (generation !== state.generation) return;
  state.pathsKey = key;
  state.paths = paths;
  const roadsKey = `${plan.id}|${paths.road_map}`;
  if (paths.road_map && !state.config.tile_url && state.places && roadsKey !== state.roadsKey) {
    state.roadsKey = roadsKey;
    const box = boxAround([...state.places.stops, ...state.places.depots], { margin: 0.12, min: 0.004, grid: 0.001 });
    try {
      const roads = await fetchRoads(paths.road_map, box);
      if (generation !== state.generation) return;
      state.roads = roads;
    } catch (exc) {
      if (generation === state.generation) say(`the map's streets: ${explain(exc)}`, "error");
    }
  }
  drawDay();
}

async function refreshCalls(generation) {
  const { text } = await getText(`/v1/plans/${encodeURIComponent(state.planId)}/calls?status=open`);
  // The plan's "now" decides which calls are overdue: a new day time re-renders the list too.
  const now = (state.plan && state.plan.now) || null;
  const key = `${now}|${text}`;
  if (generation !== state.generation || key === state.callsText) return;
  state.callsText = key;
  const calls = JSON.parse(text);
  $("#call-count").textContent = String(calls.length);
  $("#calls").dataset.count = String(calls.length);
  renderCalls($("#call-list"), calls, {
    offset: state.offset,
    now,
    status: say,
    readOnly: !can("dispatcher", "service"),
    onDone: () => {
      const left = $$("#call-list li.call").length;
      $("#call-count").textContent = String(left);
      $("#calls").dataset.count = String(left);
      if (!left) fill($("#call-list"), h("li", { class: "empty" }, "No open calls."));
    },
  });
}

function renderPlan(before) {
  const plan = state.plan;
  $("#plan-name").textContent = plan.name;
  const badge = $("#plan-status");
  badge.textContent = plan.status;
  badge.className = `badge ${plan.status}`;
  $("#plan-version").textContent = String(plan.version);
  $("#plan-now").textContent = plan.now ? `day time ${hhmm(plan.now, state.offset)}` : "";
  document.body.dataset.planVersion = String(plan.version);
  $("#calls-plan").textContent = plan.name;
  $("#plans-current").textContent = `· open: ${plan.name} (${plan.status})`;
  if (before && before.version !== plan.version) {
    const flash = $("#plan-updated");
    flash.textContent = `updated to version ${plan.version}`;
    flash.hidden = false;
    clearTimeout(flash._timer);
    flash._timer = setTimeout(() => { flash.hidden = true; }, 5000);
  }
  if (plan.status === "failed") say(`the plan failed: ${plan.error || "no reason given"}`, "error");
  if (before && before.status !== plan.status) refreshPlans();
  if (can("dispatcher", "planner")) {
    drawDay();
    renderFigures();
  }
}

function drawDay() {
  const plan = state.plan;
  if (!plan || !state.places) return;
  const drew = drawMap($("#map"), plan, state.places, state.colours, {
    tileUrl: state.config.tile_url,
    offset: state.offset,
    focus: state.focus,
    paths: state.paths && state.paths.plan_id === plan.id ? state.paths : null,
    roads: state.roads,
  });
  // the map's authors are credited wherever their data is drawn (ODbL)
  const credit = $("#map-attribution");
  const attribution = (state.paths && state.paths.attribution) || (state.roads && state.roads.attribution) || "";
  credit.hidden = !(drew.streets || drew.roads) || !attribution;
  $("#driven-key").hidden = !drew.streets;
  if (!credit.hidden && credit.textContent !== attribution) fill(credit, credited(attribution));
  drawTimeline($("#timeline-svg"), plan, state.places, state.colours, {
    offset: state.offset,
    focus: state.focus,
    showIdle: $("#show-idle").checked,
  });
  const used = (plan.routes || []).filter((r) => r.visits.length);
  fill(
    $("#legend"),
    used.map((r) => {
      const late = r.visits.filter((v) => visitState(v) === "late").length;
      const pace = paceText(r.pace);
      return h(
        "li",
        {},
        h(
          "button",
          {
            type: "button",
            class: `courier${state.focus === r.courier_id ? " focus" : ""}`,
            "data-courier": r.courier_id,
            "aria-pressed": state.focus === r.courier_id ? "true" : "false",
            onclick: () => {
              state.focus = state.focus === r.courier_id ? null : r.courier_id;
              drawDay();
            },
          },
          h("span", { class: "swatch", style: `background:${state.colours.get(r.courier_id) || "#555"}` }),
          `${r.courier_id} · ${customerVisits(r).length} stops · ${r.distance_km.toFixed(1)} km`,
          late ? h("span", { class: "late" }, ` · ${late} late`) : null,
          pace ? h("span", { class: `pace${r.pace > 1 ? " slow" : ""}`, title: paceTitle(r.pace) }, ` · ${pace}`) : null,
          ` · v${r.version}`,
        ),
      );
    }),
  );
}

/** The map's attribution, linked to the licence when the data is OpenStreetMap's. */
function credited(text) {
  if (!/openstreetmap/i.test(text)) return text;
  return h("a", { href: "https://www.openstreetmap.org/copyright", target: "_blank", rel: "noopener" }, text);
}

$("#show-idle").addEventListener("change", drawDay);
$("#zoom-in").addEventListener("click", () => zoomMap($("#map"), 1 / 1.4));
$("#zoom-out").addEventListener("click", () => zoomMap($("#map"), 1.4));
$("#zoom-reset").addEventListener("click", () => resetMap($("#map")));

function kpiCard(label, value, cls = "") {
  return h("div", { class: `kpi ${cls}` }, h("div", { class: "kpi-value" }, value), h("div", { class: "kpi-label" }, label));
}

function renderFigures() {
  const plan = state.plan;
  const k = plan.kpis;
  if (!k) {
    fill($("#kpis"), h("p", { class: "muted" }, `The plan is ${plan.status}.`));
    fill($("#per-courier"));
    fill($("#unassigned"));
    return;
  }
  fill(
    $("#kpis"),
    kpiCard("on-time rate", `${(k.on_time_rate * 100).toFixed(1)}%`, k.on_time_rate < 0.95 ? "bad" : "good"),
    kpiCard("stops", String(k.stops)),
    kpiCard("late stops", String(k.late_stops), k.late_stops ? "bad" : ""),
    kpiCard("late minutes", String(Math.round(k.late_minutes ?? 0)), k.late_minutes ? "bad" : ""),
    kpiCard("unassigned", String(k.unassigned ?? 0), k.unassigned ? "bad" : ""),
    kpiCard("distance", `${k.distance_km.toFixed(1)} km`),
    kpiCard("couriers used", String(k.couriers_used)),
    kpiCard("working hours", `${(k.working_hours ?? 0).toFixed(1)} h`),
  );
  const used = (plan.routes || []).filter((r) => r.visits.length);
  fill(
    $("#per-courier"),
    h(
      "thead",
      {},
      h("tr", {}, ["courier", "stops", "done", "late", "at risk", "pace", "km", "start", "end", "version"].map((t, i) => h("th", { class: i ? "num" : "" }, t))),
    ),
    h(
      "tbody",
      {},
      used.map((r) => {
        const count = (st) => r.visits.filter((v) => visitState(v) === st).length;
        return h(
          "tr",
          { "data-courier": r.courier_id },
          h("td", {}, h("span", { class: "swatch", style: `background:${state.colours.get(r.courier_id) || "#555"}` }), r.courier_id),
          h("td", { class: "num" }, String(customerVisits(r).length)),
          h("td", { class: "num" }, String(count("done"))),
          h("td", { class: `num${count("late") ? " late" : ""}` }, String(count("late"))),
          h("td", { class: "num" }, String(count("at-risk"))),
          h(
            "td",
            { class: `num pace${paceText(r.pace) && r.pace > 1 ? " slow" : ""}`, title: paceText(r.pace) ? paceTitle(r.pace) : null },
            paceText(r.pace).replace("pace ", "") || "–",
          ),
          h("td", { class: "num" }, r.distance_km.toFixed(1)),
          h("td", { class: "num" }, r.start ? hhmm(r.start, state.offset) : "–"),
          h("td", { class: "num" }, r.end ? hhmm(r.end, state.offset) : "–"),
          h("td", { class: "num" }, String(r.version)),
        );
      }),
    ),
  );
  const left = plan.unassigned || [];
  fill(
    $("#unassigned"),
    left.length
      ? [h("h3", {}, `Not on any route (${left.length})`), h("ul", { class: "unassigned" }, left.map((u) => h("li", {}, h("code", {}, u.stop_id), ` ${u.reason}`)))]
      : null,
  );
}

document.addEventListener("visibilitychange", () => {
  if (!document.hidden && state.planId) {
    clearTimeout(state.timer);
    tick(state.generation);
  }
});

start();
