// livehost console: live updates (server-sent events), controls and charts.  No build step, no CDN.
"use strict";

const csrf = () => document.querySelector('meta[name="csrf-token"]').content;

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "class") node.className = v; else if (k.startsWith("data-")) node.setAttribute(k, v); else node[k] = v;
  }
  for (const c of children) node.append(c instanceof Node ? c : document.createTextNode(c == null ? "" : String(c)));
  return node;
}

function toast(message, bad) {
  const box = document.getElementById("toast");
  box.textContent = message;
  box.className = bad ? "show bad" : "show";
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => { box.className = ""; }, 5000);
}

async function api(method, url, body) {
  const init = { method, headers: { "X-CSRF-Token": csrf() }, credentials: "same-origin" };
  if (body instanceof FormData) init.body = body;
  else if (body !== undefined) { init.body = JSON.stringify(body); init.headers["Content-Type"] = "application/json"; }
  const response = await fetch(url, init);
  let data = {};
  try { data = await response.json(); } catch (e) { /* not JSON */ }
  if (!response.ok) throw Object.assign(new Error(data.error || data.detail || response.statusText), { data, status: response.status });
  return data;
}

const fmt = {
  duration(s) { if (s == null) return ""; s = Math.floor(s); return `${Math.floor(s / 3600)}h ${Math.floor(s / 60) % 60}m ${s % 60}s`; },
  num(v, digits) { return v == null ? "–" : Number(v).toFixed(digits || 0); },
  time(t) { return new Date(t * 1000).toLocaleTimeString(); },
  datetime(t) { return new Date(t * 1000).toLocaleString(); },
};

// ---------------------------------------------------------------- fleet
const PROBLEMS = ["unreachable", "failed", "reconnecting", "takeover", "paused", "stopped", "starting"];
function fleetRank(c) { const i = PROBLEMS.indexOf(c.state); return i < 0 ? PROBLEMS.length : i; }

function fleetPage() {
  const table = document.getElementById("fleet");
  let sortKey = null, sortDir = 1, channels = [];
  table.querySelectorAll("th[data-key]").forEach((th) => th.addEventListener("click", () => {
    sortDir = sortKey === th.dataset.key ? -sortDir : 1;
    sortKey = th.dataset.key;
    draw();
  }));
  function value(c, key) { return key === "alerts" ? c.alerts.length : c[key]; }
  function draw() {
    const rows = channels.slice().sort((a, b) => {
      if (sortKey) {
        const x = value(a, sortKey), y = value(b, sortKey);
        if (x !== y) return (x == null ? -1 : y == null ? 1 : x < y ? -1 : 1) * sortDir;
      }
      return fleetRank(a) - fleetRank(b) || b.alerts.length - a.alerts.length || (a.id < b.id ? -1 : 1);
    });
    const body = table.tBodies[0];
    body.replaceChildren(...rows.map((c) => el("tr", { "data-id": c.id, class: c.alerts.length ? "trouble" : "" },
      el("td", {}, el("a", { href: `/channels/${encodeURIComponent(c.id)}` }, c.id)),
      el("td", {}, el("span", { class: `state state-${c.state}` }, c.state)),
      el("td", { class: "where" }, c.where || ""),
      el("td", {}, fmt.duration(c.uptime_seconds)),
      el("td", {}, c.product_title || ""),
      el("td", {}, fmt.num(c.fps, 1)), el("td", {}, fmt.num(c.kbps)),
      el("td", {}, fmt.num(c.frames_dropped)), el("td", {}, fmt.num(c.av_offset_ms)),
      el("td", {}, fmt.num(c.queue_depth)), el("td", {}, fmt.num(c.comments_per_minute, 1)),
      el("td", {}, `${fmt.num(c.reply_p50_ms)} / ${fmt.num(c.reply_p95_ms)}`),
      el("td", { class: "alerts" }, c.alerts.join("; ")))));
    if (!rows.length) body.append(el("tr", { class: "empty" }, el("td", { colSpan: 12 }, "No channel is reporting.")));
    document.getElementById("fleet-count").textContent = `${rows.length} channels`;
  }
  const events = new EventSource("/api/events");
  events.addEventListener("channels", (e) => { channels = JSON.parse(e.data); draw(); });
}

// ---------------------------------------------------------------- channel
function channelPage() {
  const id = document.body.dataset.channel;
  const operate = document.body.dataset.operate === "1";
  const q = encodeURIComponent(id);
  if (operate) {  // an operator with this page open and in view is on duty (supervised platforms)
    const beat = () => { if (document.visibilityState === "visible") api("POST", `/api/channels/${q}/presence`).catch(() => {}); };
    beat();
    setInterval(beat, 20000);
    document.addEventListener("visibilitychange", beat);
  }
  const preview = document.getElementById("preview");
  let state = {};

  function showState(s) {
    state = s;
    document.querySelectorAll("[data-field]").forEach((node) => {
      const v = s[node.dataset.field];
      if (node.dataset.field === "state") { node.textContent = v || "gone"; node.className = `state state-${v}`; return; }
      node.textContent = node.dataset.format === "duration" ? fmt.duration(v) : typeof v === "number" ? fmt.num(v, v % 1 ? 1 : 0) : (v == null ? "–" : v);
    });
    document.getElementById("next").replaceChildren(...(s.next || []).map((t) => el("li", {}, t)));
    showChat(s.chat);
    showObs(s.obs);
  }
  function showObs(obs) {
    document.getElementById("obs-card").hidden = !obs;
    if (!obs) return;
    let link = obs.state;
    if (obs.state !== "live" && obs.reason) link += `: ${obs.reason}`;
    if (obs.next_try != null && obs.state !== "live") link += ` (next try in ${Math.max(0, obs.next_try).toFixed(0)} s)`;
    const scene = obs.program + (obs.holding ? ` (holding: ${obs.why_holding})` : "");
    const streaming = obs.stream_active == null ? "–" : obs.stream_active ? (obs.stream_reconnecting ? "reconnecting" : "live") : "off";
    const skipped = obs.output_frames == null ? "–" : `${obs.output_skipped} of ${obs.output_frames} / ${obs.render_skipped} of ${obs.render_frames}`;
    const num = (v, d) => (v == null ? "–" : fmt.num(v, d));
    document.querySelector("#obs tbody").replaceChildren(el("tr", { class: `obs-${obs.state}` }, el("td", {}, link),
      el("td", {}, scene), el("td", {}, streaming), el("td", {}, num(obs.congestion, 2)), el("td", {}, skipped),
      el("td", {}, num(obs.fps, 1)), el("td", {}, num(obs.cpu, 1)), el("td", {}, obs.media_state || "–")));
  }
  function showChat(chat) {
    const card = document.getElementById("chat-card");
    const rooms = (chat && chat.connectors) || [];
    card.hidden = rooms.length === 0;
    const counts = (o) => Object.entries(o || {}).map(([k, v]) => `${k} ${v}`).join(", ") || "–";
    const secs = (v) => (v == null ? "–" : v.toFixed(2));
    document.querySelector("#chat tbody").replaceChildren(...rooms.map((r) => {
      let state = r.state;
      if (r.state === "backing off" && r.next_try) state += ` (next try ${fmt.time(r.next_try)})`;
      if (r.reason && r.state !== "live") state += `: ${r.reason}`;
      return el("tr", { class: `chat-${r.state.replace(" ", "-")}` }, el("td", {}, r.name), el("td", {}, r.platform),
        el("td", {}, state), el("td", {}, counts(chat.per_minute)), el("td", {}, counts(r.events)),
        el("td", {}, `${secs(r.lag_p50)} / ${secs(r.lag_p95)}`), el("td", {}, counts(r.rejected)),
        el("td", {}, r.reply_in_chat ? `${r.replies_sent} (${r.replies_dropped} dropped)` : "off"));
    }));
  }
  const transcript = document.querySelector("#transcript tbody");
  function addTranscript(entries) {
    for (const e of entries) {
      transcript.prepend(el("tr", { class: e.cut ? "cut" : "" }, el("td", {}, fmt.time(e.wall_time)),
        el("td", {}, e.source), el("td", {}, e.text + (e.cut ? ` [cut: ${e.reason}]` : ""))));
    }
    while (transcript.rows.length > 300) transcript.deleteRow(-1);
  }
  function showComments(list) {
    document.querySelector("#comments tbody").replaceChildren(...list.slice().reverse().map((c) => el("tr", {},
      el("td", {}, fmt.time(c.wall_time)), el("td", {}, c.user), el("td", {}, c.text),
      el("td", {}, `${c.action} (${c.intent})`), el("td", { class: "reply" }, c.reply || ""))));
  }
  const events = new EventSource(`/api/events?channel=${q}`);
  events.addEventListener("channels", (e) => {
    const mine = JSON.parse(e.data).find((c) => c.id === id);
    showState(mine || { state: "gone" });
  });
  events.addEventListener("transcript", (e) => addTranscript(JSON.parse(e.data)));
  events.addEventListener("comments", (e) => showComments(JSON.parse(e.data)));

  // the preview: a new snapshot about once a second, only while on air
  const offAir = document.getElementById("off-air");
  function refreshPreview() {
    const on = ["live", "paused", "takeover", "reconnecting"].includes(state.state);
    preview.hidden = !on;
    offAir.hidden = on;
    if (on) preview.src = `/api/channels/${q}/frame.jpg?t=${Date.now()}`;
  }
  setInterval(refreshPreview, 1000);

  async function command(action, body) {
    try {
      const r = await api("POST", `/api/channels/${q}/${action}`, body);
      toast(`${action}: ${r.detail}`);
    } catch (e) { toast(`${action}: ${e.message}`, true); }
  }
  if (operate) {
    document.querySelectorAll("button[data-action]").forEach((b) => b.addEventListener("click", () => {
      if (b.dataset.confirm && !window.confirm(b.dataset.confirm)) return;
      const body = b.dataset.action === "takeover" ? { message: window.prompt("Holding card text (empty: default)", "") || "" } : {};
      command(b.dataset.action, body);
    }));
    for (const [formId, path] of [["say", "say"], ["comment", "comments"]]) {
      const form = document.getElementById(formId);
      form.addEventListener("submit", async (ev) => {
        ev.preventDefault();
        try {
          const r = await api("POST", `/api/channels/${q}/${path}`, { text: form.elements.text.value });
          toast(`${formId}: ${r.detail}`);
          form.reset();
        } catch (e) { toast(`${formId}: ${e.message}`, true); }
      });
    }
  }
  // charts of the last hour, drawn on canvases
  async function charts() {
    try {
      const { samples } = await api("GET", `/api/channels/${q}/history`);
      document.querySelectorAll("canvas[data-key]").forEach((c) => drawChart(c, samples, c.dataset.key));
    } catch (e) { /* next time */ }
  }
  charts();
  setInterval(charts, 10000);
  async function catalog() {
    try {
      const data = await api("GET", `/api/channels/${q}/catalog`);
      document.getElementById("catalog-version").textContent = data.version ? `version ${data.version}` : "";
      document.querySelector("#catalog tbody").replaceChildren(...data.products.map((p) => {
        const out = p.availability === "out_of_stock" || p.stock === 0;
        const row = el("tr", { class: out ? "cut" : "" }, el("td", {}, p.sku), el("td", {}, p.title),
          el("td", {}, `${p.currency} ${p.price}`), el("td", {}, p.sale_price || ""), el("td", {}, p.stock == null ? "" : p.stock));
        if (operate) {
          const pin = el("button", { class: "small" }, "Pin");
          pin.addEventListener("click", () => command("pin", { sku: p.sku }));
          row.append(el("td", {}, pin));
        }
        return row;
      }));
    } catch (e) { /* shown empty */ }
  }
  catalog();
  setInterval(catalog, 30000);
}

function drawChart(canvas, samples, key) {
  const ctx = canvas.getContext("2d");
  const w = canvas.width, h = canvas.height, pad = 24;
  ctx.clearRect(0, 0, w, h);
  const pts = samples.filter((s) => s[key] != null).map((s) => [s.updated, s[key]]);
  ctx.fillStyle = "#666"; ctx.font = "11px sans-serif";
  if (pts.length < 2) { ctx.fillText("no data yet", pad, h / 2); return; }
  const t0 = pts[0][0], t1 = pts[pts.length - 1][0];
  const max = Math.max(...pts.map((p) => p[1])) * 1.1 || 1;
  ctx.strokeStyle = "#ccc"; ctx.beginPath(); ctx.moveTo(pad, 4); ctx.lineTo(pad, h - pad); ctx.lineTo(w - 4, h - pad); ctx.stroke();
  ctx.fillText(max.toFixed(0), 2, 12); ctx.fillText("0", 2, h - pad);
  ctx.fillText(`${Math.round((t1 - t0) / 60)} min`, w - 50, h - 6);
  ctx.strokeStyle = "#0a7"; ctx.lineWidth = 1.5; ctx.beginPath();
  pts.forEach(([t, v], i) => {
    const x = pad + (w - pad - 4) * (t1 > t0 ? (t - t0) / (t1 - t0) : 0), y = h - pad - (h - pad - 4) * v / max;
    if (i) ctx.lineTo(x, y); else ctx.moveTo(x, y);
  });
  ctx.stroke();
}

// ---------------------------------------------------------------- catalog
function catalogPage() {
  const form = document.getElementById("import");
  if (!form) return;
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const data = new FormData(form);
    if (!form.elements.file.files.length) data.delete("file");
    if (!data.get("file") && !data.get("url")) { toast("Choose a file or give a URL", true); return; }
    let r;
    try { r = await api("POST", "/api/catalog/import", data); } catch (e) { r = e.data || { error: e.message }; }
    document.getElementById("import-result").hidden = false;
    document.getElementById("import-summary").textContent = r.error && !r.rejected
      ? `Nothing imported: ${r.error}`
      : `${r.imported} products imported into ${r.scope}, ${r.rejected_count} rejected` +
        (r.version ? `; version ${r.version}` : "") + (r.error ? `. Not used: ${r.error}` : "");
    document.querySelector("#rejected tbody").replaceChildren(...(r.rejected || []).map((x) => el("tr", {},
      el("td", {}, x.row ?? ""), el("td", {}, x.id ?? ""), el("td", {}, x.field ?? ""), el("td", {}, x.value ?? ""), el("td", {}, x.reason))));
  });
}

// ---------------------------------------------------------------- audit
function auditPage() {
  const form = document.getElementById("audit-search");
  function params() {
    const p = new URLSearchParams();
    for (const name of ["channel", "q"]) if (form.elements[name].value) p.set(name, form.elements[name].value);
    for (const name of ["since", "until"]) {
      const v = form.elements[name].value;
      if (v) p.set(name, String(new Date(v).getTime() / 1000));  // the browser's local time
    }
    return p;
  }
  async function search() {
    const p = params();
    document.getElementById("audit-csv").href = `/api/audit?${p}&format=csv`;
    try {
      const r = await api("GET", `/api/audit?${p}`);
      document.getElementById("audit-count").textContent = `${r.count} found`;
      document.querySelector("#audit tbody").replaceChildren(...r.entries.map((e) => el("tr", { class: e.cut ? "cut" : "" },
        el("td", {}, fmt.datetime(e.wall_time)), el("td", {}, e.channel), el("td", {}, e.source), el("td", {}, e.text),
        el("td", {}, e.cut ? e.reason : ""))));
      const a = new URLSearchParams(); if (p.get("channel")) a.set("channel", p.get("channel"));
      document.getElementById("actions-csv").href = `/api/audit/actions?${a}&format=csv`;
      const acts = await api("GET", `/api/audit/actions?${a}`);
      document.querySelector("#actions tbody").replaceChildren(...acts.actions.map((x) => el("tr", { class: x.ok ? "" : "cut" },
        el("td", {}, fmt.datetime(x.wall_time)), el("td", {}, x.channel), el("td", {}, x.user), el("td", {}, x.action),
        el("td", {}, x.detail))));
    } catch (e) { toast(e.message, true); }
  }
  form.addEventListener("submit", (ev) => { ev.preventDefault(); search(); });
  search();
}

document.addEventListener("DOMContentLoaded", () => {
  const pages = { fleet: fleetPage, channel: channelPage, catalog: catalogPage, audit: auditPage };
  const page = pages[document.body.dataset.page];
  if (page) page();
});
