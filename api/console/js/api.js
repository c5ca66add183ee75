// The HTTP API (CONTRACTS.md 3), with the key from sessionStorage (never localStorage).

const KEY_ITEM = "ontime.key";
const ROLE_ITEM = "ontime.me";

export class ApiError extends Error {
  constructor(status, code, message, details) {
    super(message);
    this.status = status;
    this.code = code;
    this.details = details || [];
  }
}

export function storedKey() {
  return sessionStorage.getItem(KEY_ITEM);
}

export function storedMe() {
  try {
    return JSON.parse(sessionStorage.getItem(ROLE_ITEM) || "null");
  } catch {
    return null;
  }
}

export function forget() {
  sessionStorage.removeItem(KEY_ITEM);
  sessionStorage.removeItem(ROLE_ITEM);
}

/** Base of the API relative to this page: /console/... -> /v1/... on the same origin. */
function url(path) {
  return new URL(path, window.location.origin).toString();
}

async function parse(response) {
  const text = await response.text();
  let body = null;
  if (text) {
    try {
      body = JSON.parse(text);
    } catch {
      body = null;
    }
  }
  if (!response.ok) {
    const err = (body && body.error) || {};
    throw new ApiError(response.status, err.code || "error", err.message || `HTTP ${response.status}`, err.details);
  }
  return { body, text };
}

/** One request; resolves to {body, text}; rejects with ApiError. */
export async function call(method, path, { body, key, signal } = {}) {
  const headers = { Accept: "application/json" };
  const useKey = key ?? storedKey();
  if (useKey) headers["X-API-Key"] = useKey;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let response;
  try {
    response = await fetch(url(path), {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      signal,
      cache: "no-store",
    });
  } catch (exc) {
    if (exc && exc.name === "AbortError") throw exc;
    throw new ApiError(0, "unavailable", "the service cannot be reached");
  }
  return parse(response);
}

export const get = (path, opts) => call("GET", path, opts).then((r) => r.body);
export const getText = (path, opts) => call("GET", path, opts);
export const post = (path, body, opts = {}) => call("POST", path, { ...opts, body }).then((r) => r.body);

/** Check a key and remember it with its role for this browser tab only. */
export async function signIn(key) {
  const me = await get("/v1/console/me", { key });
  sessionStorage.setItem(KEY_ITEM, key);
  sessionStorage.setItem(ROLE_ITEM, JSON.stringify(me));
  return me;
}

/** A readable message for an error, naming the field and id the API named. */
export function explain(exc) {
  if (!(exc instanceof ApiError)) return String((exc && exc.message) || exc);
  const first = exc.details && exc.details.length > 1 ? ` (+${exc.details.length - 1} more)` : "";
  return `${exc.message}${first}`;
}

/** A fresh id for an event: crypto.randomUUID where the page is a secure context. */
export function newId() {
  if (window.crypto && typeof window.crypto.randomUUID === "function") return window.crypto.randomUUID();
  const bytes = window.crypto.getRandomValues(new Uint8Array(16));
  bytes[6] = (bytes[6] & 0x0f) | 0x40;
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  const hex = [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
