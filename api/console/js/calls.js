// The proactive call list: who to call, why, the booked window and the new ETA, the chance
// of a late start and the latest time the call is still useful (`call_by`), with the outcome
// buttons (CONTRACTS.md 3 "Call tasks" and "Risk"). The list keeps the API's order: it comes
// ranked by `call_by`.

import { post, explain } from "./api.js";
import { h, fill } from "./dom.js";
import { dateIn, hhmm, isoAt, ms, percent, riskBand, riskClass, RISK_LABEL } from "./time.js";

const KIND_LABEL = { late: "will be late", dropped: "not on any route", failed: "delivery failed" };

/** The call's `call_by` has passed at the plan's `now` (ISO; none: nothing is overdue). */
export function isOverdue(call, now) {
  if (!now || !call.call_by) return false;
  return ms(call.call_by) < ms(now);
}

/** A proposal for the rebooked window: the next whole hour at or after the ETA, two hours long. */
function proposal(call, offset) {
  const base = call.eta ? ms(call.eta) : ms(call.window.end);
  const hour = 3600000;
  const local = base + offset * 60000;
  const start = Math.ceil(local / hour) * hour - offset * 60000;
  return { start: hhmm(start, offset), end: hhmm(start + 2 * hour, offset) };
}

function rebookForm(call, offset, done, status) {
  const date = dateIn(call.window.start, offset);
  const p = proposal(call, offset);
  const start = h("input", { type: "time", name: "start", value: p.start, required: true, "aria-label": "new window start" });
  const end = h("input", { type: "time", name: "end", value: p.end, required: true, "aria-label": "new window end" });
  const day = h("input", { type: "date", name: "date", value: date, required: true, "aria-label": "new window date" });
  const form = h(
    "form",
    { class: "rebook" },
    h("label", {}, "New window ", day),
    h("span", { class: "rebook-times" }, start, " – ", end),
    h("button", { type: "submit", class: "primary" }, "Save new window"),
    h("button", { type: "button", class: "link", onclick: () => form.remove() }, "Cancel"),
  );
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    const window = { start: isoAt(day.value, start.value, offset), end: isoAt(day.value, end.value, offset) };
    if (ms(window.end) <= ms(window.start)) {
      status(`the new window must end after it starts`, "error");
      return;
    }
    done("rebooked", window);
  });
  return form;
}

/**
 * Render `calls` (open ones) into `list`. `onDone(call, outcome)` is called after an outcome
 * has been recorded; `status(text, kind)` reports progress and errors.
 */
export function renderCalls(list, calls, { offset = 0, now = null, onDone = () => {}, status = () => {}, readOnly = false } = {}) {
  const sorted = [...calls]; // the API's order: ranked by call_by
  if (!sorted.length) {
    fill(list, h("li", { class: "empty" }, "No open calls."));
    return;
  }
  // Keyed by call id: a call keeps its node for as long as it is open. When its facts change
  // (a new ETA after a re-plan) the node is refreshed in place, so a rebook form being filled
  // in stays, and nothing holding the node (focus, a scroll, a test) sees it detached.
  const existing = new Map([...list.children].filter((li) => li.dataset.callId).map((li) => [li.dataset.callId, li]));
  const items = sorted.map((call) => {
    const sig = `${JSON.stringify(call)}|${isOverdue(call, now)}`;
    const item = existing.get(call.id) || h("li", { "data-call-id": call.id });
    if (item._sig !== sig) {
      item._sig = sig;
      item._call = call;
      describe(item, call);
    }
    return item;
  });
  const current = [...list.children];
  if (current.length !== items.length || current.some((node, i) => node !== items[i])) fill(list, items);

  function describe(item, call) {
    const band = riskBand(call);
    const overdue = isOverdue(call, now);
    item.className = `call${call.urgent ? " urgent" : ""} kind-${call.kind} ${riskClass(band)}${overdue ? " overdue" : ""}`;
    item.dataset.stop = call.stop_id;
    item.dataset.risk = band;
    const form = item.querySelector("form.rebook");
    item.replaceChildren();
    const record = async (outcome, newWindow) => {
      const open = item._call;
      for (const b of item.querySelectorAll("button")) b.disabled = true;
      try {
        const body = { outcome };
        if (newWindow) body.new_window = newWindow;
        await post(`/v1/calls/${encodeURIComponent(open.id)}/outcome`, body);
        item.classList.add("closed");
        item.remove();
        status(`${open.customer ? open.customer.name || open.stop_id : open.stop_id}: ${outcome.replace("_", " ")}`, "ok");
        onDone(open, outcome);
      } catch (exc) {
        for (const b of item.querySelectorAll("button")) b.disabled = false;
        status(`could not record the outcome: ${explain(exc)}`, "error");
      }
    };
    const customer = call.customer || { name: "", phone: "" };
    const phone = customer.phone
      ? h("a", { class: "phone", href: `tel:${customer.phone.replace(/[^+\d]/g, "")}` }, customer.phone)
      : h("span", { class: "phone muted" }, "no phone");
    const late = call.late_min > 0 ? ` (+${Math.round(call.late_min)} min)` : "";
    item.append(
      h(
        "div",
        { class: "call-head" },
        call.urgent ? h("span", { class: "badge urgent" }, "window over") : null,
        overdue ? h("span", { class: "badge overdue", title: `the call was useful until ${hhmm(call.call_by, offset)}` }, "call-by passed") : null,
        h("span", { class: `badge kind ${call.kind}` }, call.kind === "late" && !(call.late_min > 0) ? "may be late" : KIND_LABEL[call.kind] || call.kind),
        h("strong", { class: "customer" }, customer.name || "(no name)"),
        phone,
      ),
      h(
        "div",
        { class: "call-facts" },
        h("span", {}, "stop ", h("code", {}, call.stop_id)),
        call.courier_id ? h("span", {}, "courier ", h("code", {}, call.courier_id)) : null,
        h("span", {}, `booked ${hhmm(call.window.start, offset)}–${hhmm(call.window.end, offset)}`),
        call.kind === "failed"
          ? h("span", {}, `attempted ${call.eta ? hhmm(call.eta, offset) : "–"}`)
          : h(
              "span",
              { class: call.late_min > 0 ? "late" : "" },
              `new ETA ${call.eta ? hhmm(call.eta, offset) : "none"}${late}`,
              call.eta_p90 ? h("span", { class: "p90 muted" }, ` · p90 ${hhmm(call.eta_p90, offset)}`) : null,
            ),
        h(
          "span",
          { class: `p-late ${riskClass(band)}`, title: `${RISK_LABEL[band]}: the chance that service starts after the booked window ends` },
          `${percent(call.p_late || 0)} chance late`,
        ),
        h(
          "span",
          { class: `call-by${overdue ? " overdue" : ""}`, title: "the latest time the call is still useful" },
          `call by ${call.call_by ? hhmm(call.call_by, offset) : "–"}`,
        ),
      ),
      h("div", { class: "call-reason" }, call.reason),
    );
    if (!readOnly) {
      const actions = h(
        "div",
        { class: "call-actions" },
        h("button", { type: "button", "data-outcome": "accepted_late", onclick: () => record("accepted_late") }, "Accepted late"),
        h(
          "button",
          {
            type: "button",
            "data-outcome": "rebooked",
            onclick: () => {
              if (!item.querySelector("form.rebook")) {
                const form = rebookForm(call, offset, record, status);
                item.append(form);
                form.querySelector("input[name=start]").focus();
              }
            },
          },
          "Rebook…",
        ),
        h("button", { type: "button", "data-outcome": "unreachable", onclick: () => record("unreachable") }, "Unreachable"),
        h("button", { type: "button", "data-outcome": "cancelled", onclick: () => record("cancelled") }, "Cancelled"),
      );
      item.append(actions);
      if (form) item.append(form);
    }
  }
}
