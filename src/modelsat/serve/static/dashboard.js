// The modelsat proxy's dashboard: reads /dashboard/data (admin key) every few seconds and /v1/route on demand.
"use strict";

const KEY_STORE = "modelsat-dashboard-key";
const params = new URLSearchParams(location.search);
const refreshMs = 1000 * Math.max(0.5, Number(params.get("refresh") || 5));
let paused = false;
let timer = null;

const $ = (selector, root = document) => root.querySelector(selector);

function authHeaders() {
  const key = sessionStorage.getItem(KEY_STORE);
  return key ? { Authorization: "Bearer " + key } : {};
}

const fmt = {
  count: (x) => String(x),
  share: (x) => (100 * x).toFixed(1) + " %",
  ms: (x) => (x === null || x === undefined ? "–" : x.toFixed(1) + " ms"),
  usd: (x) => (x === null || x === undefined ? "–"
    : "$" + x.toLocaleString("en-US", { maximumSignificantDigits: 3, maximumFractionDigits: 12 })),
  text: (x) => (x === null || x === undefined || x === "" ? "–" : String(x)),
};

// A table cell showing `value` formatted by `kind`; `data-value` keeps the exact figure.
function cell(value, kind, figure, numeric = true) {
  const td = document.createElement("td");
  td.textContent = fmt[kind](value);
  if (figure) td.dataset.figure = figure;
  if (value !== null && value !== undefined) td.dataset.value = String(value);
  if (numeric) td.className = "num";
  return td;
}

function setFigure(name, value, kind) {
  const el = $(`[data-figure="${name}"]`);
  el.textContent = fmt[kind](value);
  if (value === null || value === undefined) delete el.dataset.value;
  else el.dataset.value = String(value);
}

function bar(share, label) {
  const box = document.createElement("span");
  box.className = "barbox";
  box.setAttribute("aria-hidden", "true");
  const fill = document.createElement("span");
  fill.className = "bar";
  fill.style.width = (100 * Math.min(1, share)).toFixed(1) + "%";
  box.append(fill);
  const td = document.createElement("td");
  const text = document.createElement("span");
  text.textContent = label;
  td.append(box, text);
  return td;
}

function fillRows(table, rows, build) {
  const body = $("tbody", table);
  body.replaceChildren(...rows.map((row) => {
    const tr = document.createElement("tr");
    build(tr, row);
    return tr;
  }));
}

function header(text) {
  const th = document.createElement("th");
  th.scope = "row";
  th.textContent = text;
  return th;
}

const STATE_TEXT = { up: "up", cooling: "cooling down", probing: "probing" };

function render(data) {
  const minutes = Math.max(1, Math.round(data.window_s / 60));
  document.querySelectorAll(".window").forEach((el) => { el.textContent = `${minutes} min`; });
  fillRows($("#backends"), data.backends, (tr, b) => {
    tr.dataset.model = b.id;
    const state = document.createElement("td");
    const badge = document.createElement("span");
    badge.className = `state state-${b.state}`;
    badge.dataset.figure = "state";
    badge.dataset.value = b.state;
    badge.textContent = STATE_TEXT[b.state] || b.state;
    state.append(badge);
    const price = b.price ? `${b.price.input} / ${b.price.output}` : "–";
    tr.append(header(b.id), cell(b.model, "text", null, false), state,
      cell(b.state === "cooling" ? b.cooldown_left_s : null, "text", "cooldown-left"),
      cell(b.recent_failures, "count", "recent-failures"), cell(b.cooldowns, "count", "cooldowns"),
      cell(b.last_error, "text", "last-error", false), cell(price, "text", null));
  });
  fillRows($("#traffic"), data.models, (tr, m) => {
    tr.dataset.model = m.model;
    const share = bar(m.share, fmt.share(m.share));
    share.dataset.figure = "share";
    share.dataset.value = String(m.share);
    tr.append(header(m.model), cell(m.requests, "count", "requests"), share,
      cell(m.requests_total, "count", "requests-total"), cell(m.share_total, "share", "share-total"),
      cell(m.backend.p50_ms, "ms", "backend-p50"), cell(m.cost_usd_total, "usd", "cost-total"));
  });
  const lat = data.latency;
  setFigure("routing-p50", lat.routing.p50_ms, "ms");
  setFigure("routing-p99", lat.routing.p99_ms, "ms");
  setFigure("routing-count", lat.routing.count, "count");
  setFigure("e2e-p50", lat.end_to_end.p50_ms, "ms");
  setFigure("e2e-p99", lat.end_to_end.p99_ms, "ms");
  setFigure("e2e-count", lat.end_to_end.count, "count");
  const f = data.failures;
  setFigure("fallbacks", f.fallbacks, "count");
  setFigure("fallbacks-total", f.fallbacks_total, "count");
  setFigure("error-responses", f.error_responses, "count");
  setFigure("error-responses-total", f.error_responses_total, "count");
  fillRows($("#backend-errors"), f.backend_errors, (tr, e) => {
    tr.dataset.model = e.model;
    tr.dataset.reason = e.reason;
    tr.append(header(e.model), cell(e.reason, "text", null, false), cell(e.count, "count", "count"),
      cell(e.count_total, "count", "count-total"));
  });
  const c = data.cost;
  setFigure("spent", c.spent_usd_total, "usd");
  setFigure("strongest-model", c.strongest_model, "text");
  setFigure("on-strongest", c.strongest_usd_total, "usd");
  const saved = $('[data-figure="saved"]');
  saved.textContent = c.saved_share === null ? "–" : fmt.share(c.saved_share);
  fillRows($("#keys"), data.keys, (tr, k) => {
    tr.dataset.key = k.name;
    const limit = k.rpm === null ? bar(0, `${k.used_last_minute} (no limit)`)
      : bar(k.used_last_minute / k.rpm, `${k.used_last_minute} / ${k.rpm} per min`);
    limit.dataset.figure = "used-last-minute";
    limit.dataset.value = String(k.used_last_minute);
    const access = [k.admin ? "admin" : null, k.profiles ? "only " + k.profiles.join(", ") : null].filter(Boolean);
    tr.append(header(k.name), cell(k.requests, "count", "requests"), cell(k.requests_total, "count", "requests-total"),
      cell(k.errors_total, "count", "errors-total"), limit, cell(k.cost_usd_total, "usd", "cost-total"),
      cell(access.join("; ") || "all", "text", null, false));
  });
  const targets = data.targets || [];
  $("#targets").hidden = targets.length === 0;
  $("#targets-none").hidden = targets.length > 0;
  fillRows($("#targets"), targets, (tr, t) => {
    tr.dataset.target = t.name;
    const short = (x) => (typeof x === "number" ? String(Number(x.toPrecision(4))) : x);
    const lam = short(t.lambda) + (t.share_alt > 0
      ? ` (${short(t.lambda_alt)} for ${fmt.share(t.share_alt)} of requests)` : "");
    tr.append(header(t.name), cell(t.promise + (t.reachable ? "" : " (not reached: nearest)"), "text", null, false),
      cell(lam, "text", "lambda"), cell(t.expected_accuracy, "share", "expected-accuracy"),
      cell(t.expected_cost, "usd", "expected-cost"), cell(t.tradeoffs.join(", "), "text", null, false));
  });
  const select = $("#try-model");
  if (select.options.length !== data.routed_names.length) {
    select.replaceChildren(...data.routed_names.map((name) => new Option(name, name)));
  }
  $("#status").textContent = `Updated ${new Date().toLocaleTimeString()} · config generation ${data.generation}`
    + (data.mode ? ` · ${data.mode} routing` : "") + ` · up ${Math.round(data.uptime_s)} s`
    + (paused ? " · paused" : "");
}

function askForKey(message) {
  $("#panels").hidden = true;
  $("#key-form").hidden = false;
  $("#key-error").textContent = message || "";
  $("#status").textContent = "An admin key is needed.";
  $("#key").focus();
}

async function refresh() {
  clearTimeout(timer);
  try {
    const reply = await fetch("/dashboard/data", { headers: authHeaders(), cache: "no-store" });
    if (reply.status === 401 || reply.status === 403) {
      const body = await reply.json().catch(() => ({}));
      askForKey(sessionStorage.getItem(KEY_STORE) ? (body.error && body.error.message) || "Key refused." : "");
      return;
    }
    if (!reply.ok) throw new Error(`HTTP ${reply.status}`);
    const data = await reply.json();
    const opening = $("#panels").hidden;
    $("#key-form").hidden = true;
    $("#panels").hidden = false;
    render(data);
    if (opening) $("h1").focus(); // the page opens at its top (after the key form too)
    document.body.dataset.loaded = String(Number(document.body.dataset.loaded || 0) + 1);
  } catch (error) {
    $("#status").textContent = `Cannot reach the proxy (${error.message}); retrying.`;
  }
  if (!paused) timer = setTimeout(refresh, refreshMs);
}

async function tryRequest(event) {
  event.preventDefault();
  const error = $("#try-error");
  error.textContent = "";
  const reply = await fetch("/v1/route", {
    method: "POST",
    headers: { ...authHeaders(), "Content-Type": "application/json" },
    body: JSON.stringify({ prompt: $("#try-text").value, model: $("#try-model").value || "modelsat" }),
  });
  const body = await reply.json().catch(() => ({}));
  if (!reply.ok) {
    error.textContent = (body.error && body.error.message) || `HTTP ${reply.status}`;
    $("#try-output").hidden = true;
    return;
  }
  $("#try-routing-text").textContent = body.routing_text;
  setFigure("try-tokens", body.routing_tokens, "count");
  setFigure("try-ms", body.routing_ms, "ms");
  fillRows($("#try-ranking"), body.ranking, (tr, r) => {
    tr.dataset.model = r.model;
    const price = r.price ? `${r.price.input} / ${r.price.output}` : null;
    tr.append(cell(body.ranking.indexOf(r) + 1, "count", "rank"), header(r.model), cell(r.score.toFixed(3), "text", "score"),
      cell(price, "text", null), cell(r.cost_usd, "usd", "cost"),
      cell(r.available ? "yes" : "no (cooling down)", "text", "available", false));
  });
  const tradeoff = $("#try-tradeoff");
  tradeoff.hidden = !body.tradeoff;
  if (body.tradeoff) {
    const t = body.tradeoff;
    const short = (x) => (typeof x === "number" ? String(Number(x.toPrecision(4))) : x);
    const lam = short(t.lambda) + (t.share_alt > 0
      ? ` (${short(t.lambda_alt)} for ${fmt.share(t.share_alt)} of requests)` : "");
    tradeoff.textContent = `Ranked by P(Yes) − λ·cost with λ = ${lam}`
      + (t.target ? ` (target ${t.target.target}: ${t.target.promise})` : "")
      + (t.max_cost !== null ? `, at most ${fmt.usd(t.max_cost)} per request` : "") + ".";
  }
  $("#try-output").hidden = false;
}

document.addEventListener("DOMContentLoaded", () => {
  $("#key-form").addEventListener("submit", (event) => {
    event.preventDefault();
    sessionStorage.setItem(KEY_STORE, $("#key").value);
    $("#key").value = "";
    refresh();
  });
  $("#try-form").addEventListener("submit", tryRequest);
  $("#try-text").addEventListener("keydown", (event) => {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) $("#try-form").requestSubmit();
  });
  $("#pause").addEventListener("click", (event) => {
    paused = !paused;
    event.target.setAttribute("aria-pressed", String(paused));
    event.target.textContent = paused ? "Resume refresh" : "Pause refresh";
    if (!paused) refresh(); else clearTimeout(timer);
  });
  refresh();
});
