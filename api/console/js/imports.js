// Orders and couriers sheets (CSV or Excel) with a mapping file, read by the service
// (POST /v1/imports/problem) into a problem for POST /v1/plans; or every bad row, listed with
// its sheet, row number (as Excel shows it) and column, so the dispatcher can fix the file.

import { get, post } from "./api.js";
import { fill, h } from "./dom.js";

const SHEETS = { orders: "sheet_orders", couriers: "sheet_couriers", depots: "sheet_depots", mapping: "sheet_mapping" };

/** A file's bytes in base64 (the API takes files inside JSON: no multipart). */
function base64Of(file) {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => {
      const url = String(reader.result);
      resolve(url.slice(url.indexOf(",") + 1));
    };
    reader.onerror = () => reject(new Error(`cannot read ${file.name}`));
    reader.readAsDataURL(file);
  });
}

function chosen(form, role) {
  const input = form.elements[SHEETS[role]];
  return (input && input.files && input.files[0]) || null;
}

async function upload(form, role, required = true) {
  const file = chosen(form, role);
  if (!file) {
    if (required) throw new Error(`choose the ${role} file`);
    return null;
  }
  return { filename: file.name, content_base64: await base64Of(file) };
}

/** The problem the service reads from the form's sheets; rejects with the API's error (its
 * details list the bad rows) or an Error for a file not chosen. */
export async function importProblem(form) {
  const body = {
    orders: await upload(form, "orders"),
    couriers: await upload(form, "couriers"),
    mapping: await upload(form, "mapping"),
  };
  const depots = await upload(form, "depots", false);
  if (depots) body.depots = depots;
  const date = form.elements.sheet_date && form.elements.sheet_date.value;
  if (date) body.date = date;
  return post("/v1/imports/problem", body);
}

/** List the bad rows in `node` (or hide it when there are none). */
export function showImportErrors(node, details, form = null) {
  if (!details.length) {
    fill(node);
    node.hidden = true;
    return;
  }
  const fileOf = (sheet) => {
    const file = form && SHEETS[sheet] ? chosen(form, sheet) : null;
    return file ? file.name : sheet;
  };
  const rows = new Set(details.filter((d) => d.row !== null && d.row !== undefined).map((d) => `${d.sheet}:${d.row}`));
  fill(
    node,
    h("h3", {}, `${details.length} problem${details.length === 1 ? "" : "s"} in ${rows.size} row${rows.size === 1 ? "" : "s"}: nothing was planned`),
    h("p", { class: "muted small" }, "Fix these in the files and solve again. Rows are numbered as Excel numbers them (the header is row 1)."),
    h(
      "table",
      { class: "bad-rows" },
      h("thead", {}, h("tr", {}, h("th", {}, "file"), h("th", { class: "num" }, "row"), h("th", {}, "column"), h("th", {}, "problem"))),
      h(
        "tbody",
        {},
        details.map((d) =>
          h(
            "tr",
            { class: "bad-row", dataset: { sheet: d.sheet || "", row: d.row === null || d.row === undefined ? "" : String(d.row), column: d.column || "" } },
            h("td", {}, fileOf(d.sheet)),
            h("td", { class: "num" }, d.row === null || d.row === undefined ? "–" : String(d.row)),
            h("td", {}, d.column || ""),
            h("td", { class: "message" }, d.message || ""),
          ),
        ),
      ),
    ),
  );
  node.hidden = false;
  node.scrollIntoView({ block: "nearest" });
}

/** Links to download the example sheets and mapping (GET /v1/imports/templates). */
export async function showTemplates(node) {
  const { files } = await get("/v1/imports/templates");
  for (const link of node.querySelectorAll("a[href^='blob:']")) URL.revokeObjectURL(link.href);
  fill(
    node,
    files.map((f) =>
      h("a", { href: URL.createObjectURL(new Blob([f.text], { type: "text/plain;charset=utf-8" })), download: f.name, class: "template" }, f.name),
    ),
  );
}
