// Times on the wire are ISO 8601 with an offset. The console shows every time in the plan's
// own offset (the city's), whatever the browser's time zone, since the API may answer some
// times in UTC ("Z") and others in the plan's offset.

const MIN = 60000;

/** Offset in minutes of an ISO string ("+08:00" -> 480, "Z" -> 0); null when it has none. */
export function offsetOf(iso) {
  if (!iso) return null;
  if (/[zZ]$/.test(iso)) return 0;
  const m = /([+-])(\d\d):?(\d\d)$/.exec(iso);
  if (!m) return null;
  const minutes = Number(m[2]) * 60 + Number(m[3]);
  return m[1] === "-" ? -minutes : minutes;
}

export function offsetText(minutes) {
  const sign = minutes < 0 ? "-" : "+";
  const abs = Math.abs(minutes);
  return `${sign}${String(Math.floor(abs / 60)).padStart(2, "0")}:${String(abs % 60).padStart(2, "0")}`;
}

export function ms(iso) {
  return iso ? Date.parse(iso) : NaN;
}

/** Local wall time "HH:MM" of an instant in the given offset. */
export function hhmm(iso, offset) {
  const t = typeof iso === "number" ? iso : ms(iso);
  if (!Number.isFinite(t)) return "–";
  return new Date(t + offset * MIN).toISOString().slice(11, 16);
}

/** Local date "YYYY-MM-DD" of an instant in the given offset. */
export function dateIn(iso, offset) {
  const t = typeof iso === "number" ? iso : ms(iso);
  return new Date(t + offset * MIN).toISOString().slice(0, 10);
}

/** ISO string for a local date and "HH:MM" in the given offset. */
export function isoAt(date, time, offset) {
  const hm = time.length === 5 ? `${time}:00` : time;
  return `${date}T${hm}${offsetText(offset)}`;
}

/** "Now" as ISO 8601 with the browser's own offset, e.g. 2026-11-26T10:05:00+08:00. */
export function nowIso() {
  const now = new Date();
  const offset = -now.getTimezoneOffset();
  return new Date(now.getTime() + offset * MIN).toISOString().slice(0, 19) + offsetText(offset);
}

export function minutesBetween(a, b) {
  return (ms(b) - ms(a)) / MIN;
}

/** How a visit stands: "done", "failed", "late" (the median ETA is after the window end),
 * "at-risk" (a chance of a late start of 20% or more, CONTRACTS.md 3 "Risk"; without
 * `p_late`, an ETA within 15 min of the window end) or "on-time". */
export function visitState(visit) {
  if (visit.status === "done") return "done";
  if (visit.status === "failed") return "failed";
  if (visit.late_min > 0) return "late";
  if (typeof visit.p_late === "number") return visit.p_late >= RISK_MID ? "at-risk" : "on-time";
  if (minutesBetween(visit.eta, visit.window.end) <= 15) return "at-risk";
  return "on-time";
}

export const STATE_LABEL = {
  "on-time": "on time",
  "at-risk": "at risk",
  late: "late",
  done: "done",
  failed: "failed",
};

// --- risk (CONTRACTS.md 3 "Risk"): three bands of the chance of a late start -------------------

export const RISK_MID = 0.2;
export const RISK_HIGH = 0.5;

/**
 * The risk band of a visit or a call: "high" (likely late: p_late >= 50%, or the median ETA is
 * already after the window end), "mid" (at risk: 20% to 50%) or "low" (on track). Served and
 * failed visits have none (null). A call about a dropped stop or a failed delivery is "high":
 * it will not be served in its window whatever the chance says.
 */
export function riskBand(item) {
  if (item.status === "done" || item.status === "failed") return null;
  if (item.kind === "dropped" || item.kind === "failed") return "high";
  const p = Number(item.p_late) || 0;
  if (p >= RISK_HIGH || item.late_min > 0) return "high";
  if (p >= RISK_MID) return "mid";
  return "low";
}

/** The CSS class of a band ("risk-low", "risk-mid", "risk-high"), "" for none. */
export function riskClass(band) {
  return band ? `risk-${band}` : "";
}

export const RISK_LABEL = { low: "on track", mid: "at risk", high: "likely late" };

/** A chance 0-1 as a whole percentage: 0.652 -> "65%". */
export function percent(p) {
  const v = Number(p);
  return Number.isFinite(v) ? `${Math.round(v * 100)}%` : "–";
}

/** "chance late 65% · p90 ETA 11:25": the risk facts of a planned visit, for tooltips. */
export function riskText(visit, offset) {
  const p90 = visit.eta_p90 ? ` · p90 ETA ${hhmm(visit.eta_p90, offset)}` : "";
  return `chance late ${percent(visit.p_late || 0)}${p90}`;
}

/** "pace +18%" when a courier's learned pace differs from the plan's by more than 5%, else "". */
export function paceText(pace) {
  const v = Number(pace);
  if (!Number.isFinite(v) || Math.abs(v - 1) <= 0.05) return "";
  const d = Math.round((v - 1) * 100);
  return `pace ${d > 0 ? "+" : "−"}${Math.abs(d)}%`;
}

/** What a pace means, for a tooltip: "18% slower than planned (learned from the courier's reports)". */
export function paceTitle(pace) {
  const d = Math.round((Number(pace) - 1) * 100);
  return `${Math.abs(d)}% ${d > 0 ? "slower" : "faster"} than planned (learned from the courier's reports)`;
}
