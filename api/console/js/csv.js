// Orders and couriers from CSV files into a problem (CONTRACTS.md 3). The columns are
// documented in ../README.md. Times are "HH:MM" (on the plan's date, in its UTC offset) or
// full ISO 8601 with an offset.

import { isoAt } from "./time.js";

export class CsvError extends Error {}

/** RFC 4180-ish: quoted fields, doubled quotes, CRLF or LF; returns rows of strings. */
export function parseCsv(text) {
  const rows = [];
  let row = [];
  let field = "";
  let quoted = false;
  const src = text.replace(/^\uFEFF/, "");
  for (let i = 0; i < src.length; i++) {
    const ch = src[i];
    if (quoted) {
      if (ch === '"') {
        if (src[i + 1] === '"') {
          field += '"';
          i++;
        } else {
          quoted = false;
        }
      } else {
        field += ch;
      }
    } else if (ch === '"' && field === "") {
      quoted = true;
    } else if (ch === ",") {
      row.push(field);
      field = "";
    } else if (ch === "\n" || ch === "\r") {
      if (ch === "\r" && src[i + 1] === "\n") i++;
      row.push(field);
      rows.push(row);
      row = [];
      field = "";
    } else {
      field += ch;
    }
  }
  if (quoted) throw new CsvError("a quoted field is not closed");
  if (field !== "" || row.length) {
    row.push(field);
    rows.push(row);
  }
  return rows.filter((r) => r.some((f) => f.trim() !== ""));
}

/** Rows as objects keyed by the (trimmed, lower-case) header; each remembers its line. */
export function records(text, required, what) {
  const rows = parseCsv(text);
  if (!rows.length) throw new CsvError(`${what}: the file is empty`);
  const header = rows[0].map((h) => h.trim().toLowerCase());
  const missing = required.filter((c) => !header.includes(c));
  if (missing.length) throw new CsvError(`${what}: missing column(s) ${missing.join(", ")}`);
  return rows.slice(1).map((r, i) => {
    const rec = { _line: i + 2 };
    header.forEach((h, k) => {
      rec[h] = (r[k] ?? "").trim();
    });
    return rec;
  });
}

function number(rec, column, what, { optional = false } = {}) {
  const raw = rec[column];
  if (raw === undefined || raw === "") {
    if (optional) return undefined;
    throw new CsvError(`${what} line ${rec._line}: ${column} is empty`);
  }
  const value = Number(raw);
  if (!Number.isFinite(value)) throw new CsvError(`${what} line ${rec._line}: ${column} "${raw}" is not a number`);
  return value;
}

function time(rec, column, what, date, offset, { optional = false } = {}) {
  const raw = rec[column];
  if (raw === undefined || raw === "") {
    if (optional) return undefined;
    throw new CsvError(`${what} line ${rec._line}: ${column} is empty`);
  }
  if (/^\d{1,2}:\d{2}(:\d{2})?$/.test(raw)) {
    const [hh, mm, ss] = raw.split(":");
    return isoAt(date, `${hh.padStart(2, "0")}:${mm}:${ss || "00"}`, offset);
  }
  if (/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?([+-]\d{2}:?\d{2}|Z)$/.test(raw)) return raw;
  throw new CsvError(`${what} line ${rec._line}: ${column} "${raw}" is not HH:MM nor ISO 8601 with an offset`);
}

const ORDER_COLUMNS = ["id", "lat", "lon", "window_start", "window_end"];
const COURIER_COLUMNS = ["id", "depot_lat", "depot_lon", "shift_start", "shift_end"];

/** Build a problem from the two CSV texts; `date` is YYYY-MM-DD, `offset` minutes east of UTC. */
export function problemFromCsv(ordersText, couriersText, { name, date, offset }) {
  const orders = records(ordersText, ORDER_COLUMNS, "orders");
  const fleet = records(couriersText, COURIER_COLUMNS, "couriers");
  if (!orders.length) throw new CsvError("orders: no rows");
  if (!fleet.length) throw new CsvError("couriers: no rows");
  const depots = [];
  const depotAt = new Map();
  const couriers = fleet.map((rec) => {
    const lat = number(rec, "depot_lat", "couriers");
    const lon = number(rec, "depot_lon", "couriers");
    const key = `${lat},${lon}`;
    if (!depotAt.has(key)) {
      const id = rec.depot_id || (depots.length ? `hub${depots.length + 1}` : "hub");
      depotAt.set(key, id);
      depots.push({ id, lat, lon });
    }
    const capacity = {};
    const weight = number(rec, "weight_kg", "couriers", { optional: true });
    const parcels = number(rec, "parcels", "couriers", { optional: true });
    if (weight !== undefined) capacity.weight_kg = weight;
    if (parcels !== undefined) capacity.parcels = parcels;
    const courier = {
      id: rec.id,
      depot: depotAt.get(key),
      shift_start: time(rec, "shift_start", "couriers", date, offset),
      shift_end: time(rec, "shift_end", "couriers", date, offset),
      capacity,
    };
    const speed = number(rec, "speed_kmh", "couriers", { optional: true });
    if (speed !== undefined) courier.speed_kmh = speed;
    const earliest = time(rec, "break_earliest", "couriers", date, offset, { optional: true });
    if (earliest !== undefined) {
      courier.breaks = [
        {
          earliest_start: earliest,
          latest_start: time(rec, "break_latest", "couriers", date, offset),
          duration_min: number(rec, "break_min", "couriers"),
        },
      ];
    }
    return courier;
  });
  const stops = orders.map((rec) => {
    const windows = [
      { start: time(rec, "window_start", "orders", date, offset), end: time(rec, "window_end", "orders", date, offset) },
    ];
    const second = time(rec, "window2_start", "orders", date, offset, { optional: true });
    if (second !== undefined) windows.push({ start: second, end: time(rec, "window2_end", "orders", date, offset) });
    const demand = {};
    const weight = number(rec, "weight_kg", "orders", { optional: true });
    const parcels = number(rec, "parcels", "orders", { optional: true });
    if (weight !== undefined) demand.weight_kg = weight;
    if (parcels !== undefined) demand.parcels = parcels;
    const stop = {
      id: rec.id,
      lat: number(rec, "lat", "orders"),
      lon: number(rec, "lon", "orders"),
      windows,
      demand,
    };
    const service = number(rec, "service_min", "orders", { optional: true });
    if (service !== undefined) stop.service_min = service;
    if (rec.customer_name || rec.phone) stop.customer = { name: rec.customer_name || "", phone: rec.phone || "" };
    if (rec.address) stop.address = rec.address;
    return stop;
  });
  return { name, depots, couriers, stops };
}
