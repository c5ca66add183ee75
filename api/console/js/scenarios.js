// What-if scenarios (CONTRACTS.md 3): a base plan and variants, solved side by side, shown as
// a comparison table (values with deltas against the base) and a bar chart.

import { get, post, explain } from "./api.js";
import { h, s, fill } from "./dom.js";

export const PRESETS = [
  { name: "one courier fewer", changes: [{ kind: "remove_couriers", count: 1 }] },
  { name: "two couriers off", changes: [{ kind: "remove_couriers", count: 2 }] },
  { name: "one courier more", changes: [{ kind: "add_couriers", count: 1 }] },
  { name: "demand +30%", changes: [{ kind: "demand_scale", factor: 1.3 }] },
  { name: "traffic 20% slower", changes: [{ kind: "traffic", factor: 1.2 }] },
  { name: "1-hour slots", changes: [{ kind: "slot_width", minutes: 60 }] },
  { name: "shifts 1 h later", changes: [{ kind: "shift_offset", minutes: 60 }] },
];

/** Figures in the table, with how to show them and which direction is better. */
export const METRICS = [
  { key: "couriers_used", label: "couriers", digits: 0, better: "lower" },
  { key: "distance_km", label: "distance km", digits: 1, better: "lower" },
  { key: "working_hours", label: "working h", digits: 1, better: "lower" },
  { key: "late_stops", label: "late stops", digits: 0, better: "lower" },
  { key: "late_minutes", label: "late min", digits: 0, better: "lower" },
  { key: "on_time_rate", label: "on-time %", digits: 1, better: "higher", scale: 100 },
  { key: "unassigned", label: "unassigned", digits: 0, better: "lower" },
  { key: "cost", label: "cost", digits: 0, better: "lower" },
];

function show(value, metric) {
  if (value === null || value === undefined || !Number.isFinite(Number(value))) return "–";
  return (Number(value) * (metric.scale || 1)).toFixed(metric.digits);
}

function deltaOf(result, base, key) {
  if (result.delta && result.delta[key] !== undefined && result.delta[key] !== null) return Number(result.delta[key]);
  if (!base || result === base) return null;
  const a = Number(result.kpis && result.kpis[key]);
  const b = Number(base.kpis && base.kpis[key]);
  return Number.isFinite(a) && Number.isFinite(b) ? a - b : null;
}

export function comparisonTable(results) {
  const base = results.find((r) => r.name === "base") || results[0];
  const head = h("tr", {}, h("th", {}, "variant"), METRICS.map((m) => h("th", { class: "num" }, m.label)));
  const rows = results.map((r) =>
    h(
      "tr",
      { class: r === base ? "base" : "", "data-variant": r.name },
      h("th", { scope: "row" }, r.name, r.status === "failed" || r.error ? h("span", { class: "badge late" }, " failed") : null),
      METRICS.map((m) => {
        const value = r.kpis ? r.kpis[m.key] : undefined;
        const d = r === base ? null : deltaOf(r, base, m.key);
        let cls = "";
        if (d !== null && Math.abs(d) > 1e-9) cls = (d < 0) === (m.better === "lower") ? "good" : "bad";
        return h(
          "td",
          { class: "num" },
          show(value, m),
          d !== null ? h("span", { class: `delta ${cls}` }, ` ${d > 0 ? "+" : d < 0 ? "−" : "±"}${show(Math.abs(d), m)}`) : null,
        );
      }),
    ),
  );
  return h("table", { class: "compare" }, h("thead", {}, head), h("tbody", {}, rows));
}

/** Horizontal bars of one metric, one bar per result. */
export function barChart(results, metricKey) {
  const metric = METRICS.find((m) => m.key === metricKey) || METRICS[1];
  const values = results.map((r) => Number(r.kpis ? r.kpis[metric.key] : NaN) * (metric.scale || 1));
  const finite = values.filter(Number.isFinite);
  const max = Math.max(1e-9, ...finite);
  const label = 190;
  const width = 640;
  const bar = 24;
  const gap = 8;
  const height = results.length * (bar + gap) + 24;
  const svg = s("svg", { class: "bars", viewBox: `0 0 ${width} ${height}`, role: "img", "aria-label": `${metric.label} by variant` });
  results.forEach((r, i) => {
    const y = 8 + i * (bar + gap);
    const v = values[i];
    const w = Number.isFinite(v) ? ((width - label - 70) * Math.max(0, v)) / max : 0;
    svg.append(
      s("text", { x: label - 8, y: y + bar * 0.7, "text-anchor": "end", class: "bar-label" }, r.name),
      s("rect", { x: label, y, width: Math.max(w, 1), height: bar, class: `bar${i === 0 ? " base" : ""}`, "data-variant": r.name }),
      s("text", { x: label + w + 6, y: y + bar * 0.7, class: "bar-value" }, Number.isFinite(v) ? v.toFixed(metric.digits) : "–"),
    );
  });
  return svg;
}

/** Wire up the scenario panel inside `root` for the plan returned by `planId()`. */
export function scenarioPanel(root, { planId, status }) {
  const presets = h(
    "fieldset",
    { class: "presets" },
    h("legend", {}, "Variants"),
    PRESETS.map((p, i) =>
      h("label", { class: "check" }, h("input", { type: "checkbox", name: "variant", value: String(i), checked: i === 0 || i === 3 }), ` ${p.name}`),
    ),
  );
  const custom = h("textarea", {
    name: "custom",
    rows: 3,
    placeholder: '[{"name": "festival", "changes": [{"kind": "demand_scale", "factor": 1.3}, {"kind": "traffic", "factor": 1.2}]}]',
    "aria-label": "more variants as JSON",
  });
  const limit = h("input", { type: "number", name: "time_limit_s", min: 1, max: 600, step: 1, value: 5 });
  const metric = h("select", { name: "metric", "aria-label": "chart figure" }, METRICS.map((m) => h("option", { value: m.key, selected: m.key === "distance_km" }, m.label)));
  const out = h("div", { class: "scenario-out" });
  const state = h("span", { class: "scenario-status muted" });
  let results = [];
  let polling = null;

  const render = () => {
    if (!results.length) return;
    fill(out, comparisonTable(results), h("div", { class: "chart-head" }, h("label", {}, "Chart ", metric)), barChart(results, metric.value));
  };
  metric.addEventListener("change", render);

  const form = h(
    "form",
    { class: "scenario-form" },
    presets,
    h("details", {}, h("summary", {}, "More variants (JSON)"), custom),
    h("div", { class: "row" }, h("label", {}, "Time limit (s) ", limit), h("button", { type: "submit", class: "primary" }, "Compare"), state),
  );
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const id = planId();
    if (!id) {
      status("open a plan first", "error");
      return;
    }
    const variants = [...form.querySelectorAll("input[name=variant]:checked")].map((c) => PRESETS[Number(c.value)]);
    if (custom.value.trim()) {
      try {
        const extra = JSON.parse(custom.value);
        variants.push(...(Array.isArray(extra) ? extra : [extra]));
      } catch (exc) {
        status(`the variants JSON does not parse: ${exc.message}`, "error");
        return;
      }
    }
    if (!variants.length) {
      status("pick at least one variant", "error");
      return;
    }
    clearTimeout(polling);
    results = [];
    fill(out);
    state.textContent = "submitting…";
    try {
      const answer = await post("/v1/scenarios", { base: { plan_id: id }, variants, time_limit_s: Number(limit.value) || 5 });
      state.textContent = answer.status;
      const poll = async () => {
        try {
          const sc = await get(`/v1/scenarios/${encodeURIComponent(answer.id)}`);
          state.textContent = sc.status;
          root.dataset.status = sc.status;
          results = sc.results || [];
          render();
          if (sc.status === "queued" || sc.status === "running") polling = setTimeout(poll, 1000);
          else if (sc.status === "failed") status(`the scenario failed${sc.error ? `: ${sc.error}` : ""}`, "error");
        } catch (exc) {
          state.textContent = "error";
          status(`scenario: ${explain(exc)}`, "error");
        }
      };
      poll();
    } catch (exc) {
      state.textContent = "";
      status(exc.status === 404 || exc.status === 405 ? "what-if scenarios are not available on this server yet" : `scenario: ${explain(exc)}`, "error");
    }
  });
  fill(root, form, out);
}
