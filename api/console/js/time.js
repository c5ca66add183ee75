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

/** How a visit stands: "done", "failed", "late", "at-risk" (ETA within 15 min of the window end) or "on-time". */
export function visitState(visit) {
  if (visit.status === "done") return "done";
  if (visit.status === "failed") return "failed";
  if (visit.late_min > 0) return "late";
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
