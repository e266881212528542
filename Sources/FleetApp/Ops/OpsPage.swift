/// The ops page: one HTML document with its style and script inline, so that it works
/// on an admin listener with no internet access and loads nothing from anywhere else.
/// The script polls `/ops/data` every 2 s and draws every figure from it; each figure
/// carries `data-k` (the field) and `data-v` (the raw value) inside an element that
/// names its row (`data-route`, `data-queue`, ...), so a test can match the page
/// against the JSON without parsing formatted text. `body[data-state]` becomes `ready`
/// once data has been drawn, and `data-generated-at` says from which answer.
enum OpsPage {
    static let html = #"""
<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Fleet ops</title>
<style>
:root { --bg:#0f1419; --card:#182029; --line:#2a3542; --text:#d8dee6; --dim:#8a96a3; --ok:#4cc38a; --warn:#e5b454; --bad:#ef6b6b; --accent:#5fa8ff; }
* { box-sizing: border-box; }
body { margin:0; background:var(--bg); color:var(--text); font:13px/1.4 system-ui, -apple-system, "Segoe UI", sans-serif; }
header { display:flex; align-items:baseline; gap:16px; padding:10px 16px; border-bottom:1px solid var(--line); }
header h1 { font-size:16px; margin:0; }
header .dim { color:var(--dim); }
main { display:grid; grid-template-columns:repeat(auto-fill, minmax(430px, 1fr)); gap:12px; padding:12px 16px; }
section { background:var(--card); border:1px solid var(--line); border-radius:6px; padding:8px 10px; min-width:0; }
section.wide { grid-column:1 / -1; }
h2 { font-size:12px; text-transform:uppercase; letter-spacing:.06em; color:var(--dim); margin:0 0 6px; }
table { width:100%; border-collapse:collapse; font-variant-numeric:tabular-nums; }
th, td { text-align:right; padding:2px 6px; border-bottom:1px solid var(--line); white-space:nowrap; }
th:first-child, td:first-child { text-align:left; }
td.name { text-align:left; max-width:320px; overflow:hidden; text-overflow:ellipsis; }
th { color:var(--dim); font-weight:normal; }
.cards { display:grid; grid-template-columns:repeat(6, 1fr); gap:8px; }
.card { background:#121a22; border:1px solid var(--line); border-radius:4px; padding:6px 8px; }
.card .label { color:var(--dim); font-size:11px; }
.card .value { font-size:20px; font-variant-numeric:tabular-nums; }
svg.spark { display:block; width:100%; height:28px; }
svg.spark polyline { fill:none; stroke:var(--accent); stroke-width:1.5; }
svg.mini { width:120px; height:18px; display:inline-block; vertical-align:middle; }
.ok { color:var(--ok); } .warn { color:var(--warn); } .bad { color:var(--bad); }
button { background:#223041; color:var(--text); border:1px solid var(--line); border-radius:3px; padding:1px 8px; cursor:pointer; }
button:disabled { opacity:.4; cursor:default; }
input { background:#0b1016; color:var(--text); border:1px solid var(--line); border-radius:3px; padding:2px 6px; }
#problems { color:var(--warn); }
.empty { color:var(--dim); text-align:left; }
</style>
</head>
<body data-state="loading">
<header>
  <h1>Fleet ops</h1>
  <span class="dim">instance <b id="instance-id" data-k="instance.id"></b> (<span data-k="instance.role"></span>)</span>
  <span class="dim">updated <span id="updated">never</span></span>
  <span id="problems"></span>
</header>
<main>
  <section class="wide">
    <h2>Traffic (all routes, last <span data-k="traffic.windowSeconds"></span> s)</h2>
    <div class="cards">
      <div class="card"><div class="label">requests / s</div><div class="value" data-k="traffic.rate"></div><svg class="spark" data-spark="rate"></svg></div>
      <div class="card"><div class="label">error rate (5xx)</div><div class="value" data-k="traffic.errorRate"></div><svg class="spark" data-spark="errorRate"></svg></div>
      <div class="card"><div class="label">p99 latency</div><div class="value" data-k="traffic.p99"></div><svg class="spark" data-spark="p99"></svg></div>
      <div class="card"><div class="label">cache hit ratio (since start)</div><div class="value" data-k="cacheHitRatio"></div><svg class="spark" data-spark="cacheHitRatio"></svg></div>
      <div class="card"><div class="label">queue depth</div><div class="value" data-k="queueDepth"></div><svg class="spark" data-spark="queueDepth"></svg></div>
      <div class="card"><div class="label">in flight / limit</div><div class="value"><span data-k="limiter.inFlight"></span> / <span data-k="limiter.limit"></span></div><svg class="spark" data-spark="inFlight"></svg></div>
    </div>
    <div class="dim" style="margin-top:4px">requests since start: <span data-k="traffic.totalRequests"></span> · p50 <span data-k="traffic.p50"></span> · p95 <span data-k="traffic.p95"></span></div>
  </section>
  <section class="wide">
    <h2>Routes</h2>
    <table><thead><tr><th>route</th><th>req/s</th><th>last minutes</th><th>p50 ms</th><th>p95 ms</th><th>p99 ms</th><th>5xx rate</th><th>4xx</th><th>requests</th></tr></thead><tbody id="routes"></tbody></table>
  </section>
  <section>
    <h2>Instances</h2>
    <table><thead><tr><th>instance</th><th>role</th><th>address</th><th>req/s</th><th>p99 ms</th><th>errors</th><th>seen</th></tr></thead><tbody id="instances"></tbody></table>
  </section>
  <section>
    <h2>Shards</h2>
    <table><thead><tr><th>shard / node</th><th>role</th><th>health</th><th>breaker</th><th>lag ms</th></tr></thead><tbody id="shards"></tbody></table>
  </section>
  <section>
    <h2>Pools</h2>
    <table><thead><tr><th>shard</th><th>in use</th><th>waiting</th><th>open</th><th>max</th></tr></thead><tbody id="pools"></tbody></table>
  </section>
  <section>
    <h2>Queues</h2>
    <table><thead><tr><th>queue</th><th>depth</th><th>oldest s</th><th>scheduled</th><th>running</th><th>dead</th></tr></thead><tbody id="queues"></tbody></table>
  </section>
  <section>
    <h2>Redis</h2>
    <table><tbody id="redis"></tbody></table>
  </section>
  <section>
    <h2>Circuit breakers</h2>
    <table><thead><tr><th>breaker</th><th>state</th><th>calls</th><th>failure rate</th></tr></thead><tbody id="breakers"></tbody></table>
  </section>
  <section class="wide">
    <h2>Dead jobs</h2>
    <div style="margin-bottom:6px"><label>admin token <input id="token" type="password" autocomplete="off" size="24"></label> <span id="action-status" class="dim"></span></div>
    <table><thead><tr><th>job</th><th>queue</th><th>name</th><th>attempts</th><th>failed at</th><th>last error</th><th></th></tr></thead><tbody id="dead"></tbody></table>
  </section>
  <section class="wide">
    <h2>Caches</h2>
    <table><thead><tr><th>cache</th><th>layer</th><th>hits</th><th>misses</th><th>hit ratio</th></tr></thead><tbody id="caches"></tbody></table>
  </section>
</main>
<script>
"use strict";
let latest = null;
const fmt = {
  n: v => String(v),
  f1: v => Number(v).toFixed(1),
  f2: v => Number(v).toFixed(2),
  pct: v => (100 * Number(v)).toFixed(1) + " %",
  ms: v => Number(v).toFixed(1) + " ms",
};
function el(tag, attrs, text) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
  if (text !== undefined) e.textContent = text;
  return e;
}
function cell(key, value, format, cls) {
  const td = el("td", { "data-k": key, "data-v": String(value) }, (format || fmt.n)(value));
  if (cls) td.className = cls;
  return td;
}
// A table row: each cell is [key, value, format, class] or a ready-made node.
function row(attrs, cells) {
  const tr = el("tr", attrs);
  for (const c of cells) {
    if (c instanceof Node) {
      if (c.tagName.toLowerCase() === "td") tr.appendChild(c); else { const td = el("td"); td.appendChild(c); tr.appendChild(td); }
    } else tr.appendChild(cell(c[0], c[1], c[2], c[3]));
  }
  return tr;
}
function setField(key, value, format) {
  for (const e of document.querySelectorAll('[data-k="' + key + '"]')) {
    e.setAttribute("data-v", String(value));
    e.textContent = (format || fmt.n)(value);
  }
}
function spark(svg, values) {
  svg.setAttribute("viewBox", "0 0 100 20");
  svg.setAttribute("preserveAspectRatio", "none");
  svg.textContent = "";
  if (values.length < 2) return;
  const max = Math.max(...values, 1e-9), step = 100 / (values.length - 1);
  const points = values.map((v, i) => (i * step).toFixed(2) + "," + (19 - 18 * v / max).toFixed(2)).join(" ");
  const line = document.createElementNS("http://www.w3.org/2000/svg", "polyline");
  line.setAttribute("points", points);
  svg.appendChild(line);
}
function miniSpark(values) {
  const svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
  svg.setAttribute("class", "spark mini");
  spark(svg, values);
  return svg;
}
function fill(id, rows, empty, columns) {
  const body = document.getElementById(id);
  body.textContent = "";
  if (rows.length === 0) {
    const tr = el("tr");
    tr.appendChild(el("td", { class: "empty", colspan: String(columns) }, empty));
    body.appendChild(tr);
  }
  for (const row of rows) body.appendChild(row);
}
function stateClass(state) {
  return ({ closed: "ok", up: "ok", primary: "ok", replica: "ok", forced_closed: "warn", half_open: "warn", unknown: "bad", open: "bad", forced_open: "bad", down: "bad" })[state] || "";
}
function render(d) {
  const history = d.history || [];
  setField("instance.id", d.instance.id);
  setField("instance.role", d.instance.role);
  setField("traffic.windowSeconds", Math.round(d.traffic.windowSeconds));
  setField("traffic.rate", d.traffic.rate, fmt.f1);
  setField("traffic.errorRate", d.traffic.errorRate, fmt.pct);
  setField("traffic.p50", d.traffic.p50, fmt.ms);
  setField("traffic.p95", d.traffic.p95, fmt.ms);
  setField("traffic.p99", d.traffic.p99, fmt.ms);
  setField("traffic.totalRequests", d.traffic.totalRequests);
  // Every lookup starts in L1; what L1 missed, L2 may have had.
  const lookups = d.caches.filter(c => c.layer === "l1").reduce((n, c) => n + c.hits + c.misses, 0);
  const hits = d.caches.reduce((n, c) => n + c.hits, 0);
  setField("cacheHitRatio", lookups ? hits / lookups : 0, fmt.pct);
  setField("queueDepth", d.queues.reduce((s, q) => s + q.depth, 0));
  setField("limiter.inFlight", d.limiter.inFlight);
  setField("limiter.limit", d.limiter.enabled ? Math.round(d.limiter.limit) : "off");
  for (const svg of document.querySelectorAll("svg[data-spark]")) spark(svg, history.map(s => s[svg.getAttribute("data-spark")] || 0));

  fill("routes", d.routes.map(r => row({ "data-route": r.route }, [
    ["route", r.route, fmt.n, "name"], ["rate", r.rate, fmt.f1], miniSpark(history.map(s => (s.routes || {})[r.route] || 0)),
    ["p50", r.p50, fmt.f1], ["p95", r.p95, fmt.f1], ["p99", r.p99, fmt.f1],
    ["errorRate", r.errorRate, fmt.pct, r.errorRate > 0.01 ? "bad" : ""], ["clientErrors", r.clientErrors], ["totalRequests", r.totalRequests],
  ])), "no requests yet", 9);

  fill("instances", d.instances.map(i => row({ "data-instance": i.id }, [
    ["id", i.id, fmt.n, "name"], ["role", i.role], ["address", i.address], ["rate", i.rate, fmt.f1], ["p99", i.p99, fmt.f1],
    ["errorRate", i.errorRate, fmt.pct], ["lastSeen", i.lastSeen, v => Math.max(0, Math.round((d.generatedAt - v) / 1000)) + " s ago"],
  ])), "", 7);

  fill("shards", d.shards.flatMap(s => s.nodes.map(n => row({ "data-shard": String(s.shard), "data-node": n.address }, [
    ["node", s.shard + " · " + s.system + " · " + n.address, fmt.n, "name"], ["role", n.role, fmt.n, stateClass(n.role)],
    ["health", n.health, fmt.n, stateClass(n.health)], ["breaker", n.breaker, fmt.n, stateClass(n.breaker)],
    ["lagMilliseconds", n.lagMilliseconds, v => n.role === "replica" ? fmt.f1(v) : "–"],
  ]))), "no shards", 5);

  fill("pools", d.pools.map(p => row({ "data-pool": String(p.shard) }, [
    ["shard", p.shard], ["inUse", p.inUse], ["waiting", p.waiting, fmt.n, p.waiting > 0 ? "warn" : ""], ["open", p.open], ["max", p.max],
  ])), "", 5);

  const ping = d.redis.pingMilliseconds === null || d.redis.pingMilliseconds === undefined ? "none" : d.redis.pingMilliseconds;
  const redisRows = [["configured", "configured", d.redis.configured, v => v ? "yes" : "no (L1 cache, local limits)"]];
  if (d.redis.configured) {
    redisRows.push(["connected", "connected", d.redis.connected, v => v ? "yes" : "no", d.redis.connected ? "ok" : "bad"]);
    redisRows.push(["breaker", "breaker", d.redis.breaker, fmt.n, stateClass(d.redis.breaker)]);
    redisRows.push(["ping", "pingMilliseconds", ping, v => v === "none" ? "no answer" : fmt.ms(v)]);
  }
  fill("redis", redisRows.map(([label, ...c]) => row({ "data-redis": c[0] }, [el("td", {}, label), c])), "", 2);

  fill("caches", d.caches.map(c => row({ "data-cache": c.cache, "data-layer": c.layer }, [
    ["cache", c.cache], ["layer", c.layer], ["hits", c.hits], ["misses", c.misses], ["hitRatio", c.hitRatio, fmt.pct],
  ])), "caching is off", 5);

  fill("breakers", d.breakers.map(b => row({ "data-breaker": b.name }, [
    ["name", b.name, fmt.n, "name"], ["state", b.state, fmt.n, stateClass(b.state)], ["calls", b.calls], ["failureRate", b.failureRate, fmt.pct],
  ])), "no breakers yet (one per dependency, made on first use)", 4);

  fill("queues", d.queues.map(q => row({ "data-queue": q.queue }, [
    ["queue", q.queue], ["depth", q.depth], ["oldestSeconds", q.oldestSeconds, fmt.f1, q.oldestSeconds > 60 ? "warn" : ""],
    ["scheduled", q.scheduled], ["running", q.running], ["dead", q.dead, fmt.n, q.dead > 0 ? "bad" : ""],
  ])), "no jobs waiting, running or dead", 6);

  fill("dead", d.deadJobs.map(j => {
    const actions = el("td");
    for (const action of ["retry", "discard"]) {
      const button = el("button", { "data-action": action }, action);
      button.disabled = !d.actionsEnabled;
      button.title = d.actionsEnabled ? "" : "set ops.admin.token to enable";
      button.addEventListener("click", () => act(action, j.id));
      actions.appendChild(button);
    }
    return row({ "data-job": j.id }, [
      ["id", j.id], ["queue", j.queue], ["name", j.name], ["attempts", j.attempts],
      ["finishedAt", j.finishedAt, v => new Date(v).toISOString().replace("T", " ").slice(0, 19)], ["error", j.error, fmt.n, "name"], actions,
    ]);
  }), "no dead jobs", 7);

  document.getElementById("problems").textContent = d.problems.join("; ");
  document.getElementById("updated").textContent = new Date(d.generatedAt).toISOString().slice(11, 19) + " UTC";
  document.body.setAttribute("data-generated-at", String(d.generatedAt));
  document.body.setAttribute("data-state", "ready");
}
async function act(action, id) {
  const status = document.getElementById("action-status");
  const response = await fetch("/ops/jobs/" + encodeURIComponent(id) + "/" + action, {
    method: "POST", headers: { "X-Ops-Token": document.getElementById("token").value },
  });
  if (response.ok) {
    status.textContent = "job " + id + ": " + action + " done";
  } else {
    let message = response.status + "";
    try { message += " " + JSON.stringify((await response.json()).errors); } catch (e) {}
    status.textContent = "job " + id + ": " + message;
  }
  refresh();
}
async function refresh() {
  try {
    const response = await fetch("/ops/data", { cache: "no-store" });
    if (!response.ok) throw new Error("HTTP " + response.status);
    latest = await response.json();
    render(latest);
  } catch (error) {
    document.getElementById("problems").textContent = "cannot read /ops/data: " + error.message;
    document.body.setAttribute("data-state", latest ? "stale" : "error");
  }
}
refresh();
setInterval(refresh, 2000);
</script>
</body>
</html>
"""#
}
