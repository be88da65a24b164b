// toolkit review: the candidate list, one candidate's page, labels by key or button, re-rank.
"use strict";
const $ = (id) => document.getElementById(id);
const KEYS = { i: "interesting", a: "artefact", k: "known", b: "boring", s: "skip" };
const state = { info: null, ranking: null, offset: 0, limit: 50, rows: [], total: 0, cur: -1, detail: null };

async function api(path, body) {
  const opts = body === undefined ? {} :
    { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) };
  const res = await fetch(path, opts);
  const data = await res.json();
  if (!res.ok) throw new Error(data.error || res.statusText);
  return data;
}

function option(sel, value, text) {
  const o = document.createElement("option");
  o.value = value; o.textContent = text === undefined ? value : text; sel.appendChild(o); return o;
}

function fmt(v) {
  if (v === null || v === undefined) return "–";
  if (typeof v === "number") return Math.abs(v) >= 1e5 || (Math.abs(v) < 1e-3 && v !== 0) ? v.toExponential(4) : +v.toPrecision(6);
  return String(v);
}

function showNotice(text, isError) {
  const n = $("notice");
  n.hidden = !text; n.textContent = text || ""; n.className = isError ? "notice error" : "notice";
}

async function init() {
  const info = await api("/api/run");
  state.info = info;
  $("run-name").textContent = `${info.run} (${info.n_rows} stars, ${info.n_flagged} flagged)`;
  $("mock-banner").hidden = !info.mock;
  if (info.mock) $("mock-banner").title = info.data_warning || "";
  if (info.labels_notice) showNotice(info.labels_notice, true);
  fillRankings(info.rankings.map((r) => r.name), info.default_ranking);
  option($("flag"), "all", "all stars"); option($("flag"), "any", "by any detector");
  info.detectors.forEach((d) => option($("flag"), d, `by ${d}`));
  option($("label-filter"), "", "any"); option($("label-filter"), "unlabelled"); option($("label-filter"), "labelled");
  Object.keys(info.labels).forEach((l) => option($("label-filter"), l));
  option($("verdict"), "", "any");
  info.verdicts.forEach((v) => { option($("verdict"), v.name, `${v.name} (${v.n})`); option($("verdict"), "!" + v.name, `not ${v.name}`); });
  info.methods.forEach((m) => option($("method"), m));
  info.features.forEach((f) => { option($("pair-x"), f); option($("pair-y"), f); });
  if (info.features.length > 1) $("pair-y").value = info.features[1];
  for (const [kind, fig] of [["hr", "plot-hr"], ["toomre", "plot-toomre"], ["pair", "plot-pair"]])
    $(fig).parentElement.hidden = !info.diagrams.includes(kind);
  for (const id of ["ranking", "flag", "label-filter", "verdict"]) $(id).addEventListener("change", () => loadList(0));
  $("search").addEventListener("input", () => loadList(0));
  $("pair-x").addEventListener("change", drawPlots); $("pair-y").addEventListener("change", drawPlots);
  $("prev-page").addEventListener("click", () => loadList(Math.max(0, state.offset - state.limit)));
  $("next-page").addEventListener("click", () => { if (state.offset + state.limit < state.total) loadList(state.offset + state.limit); });
  $("rerank").addEventListener("click", rerank);
  document.querySelectorAll(".labelbar button").forEach((b) => b.addEventListener("click", () => labelCurrent(b.dataset.label)));
  document.addEventListener("keydown", onKey);
  await loadList(0);
  if (state.rows.length) await select(0);
  document.body.dataset.ready = "1";
}

function fillRankings(names, chosen) {
  const sel = $("ranking"); sel.innerHTML = "";
  names.forEach((n) => option(sel, n));
  sel.value = chosen;
}

async function loadList(offset, selectIndex) {
  const p = new URLSearchParams({ ranking: $("ranking").value, flag: $("flag").value, label: $("label-filter").value,
    verdict: $("verdict").value, q: $("search").value, offset: offset, limit: state.limit });
  let data;
  try { data = await api("/api/candidates?" + p); } catch (e) { showNotice(e.message, true); return; }
  state.rows = data.rows; state.total = data.total; state.offset = data.offset; state.ranking = data.ranking;
  const tb = document.querySelector("#list tbody"); tb.innerHTML = "";
  data.rows.forEach((r, k) => {
    const tr = document.createElement("tr"); tr.dataset.id = r.id; tr.dataset.index = k;
    tr.innerHTML = `<td>${r.rank}</td><td class="id"></td><td>${fmt(r.score)}</td>` +
      `<td class="lab"></td><td>${[...r.flags.map((f) => "⚑" + f), ...r.verdicts].join(" ")}</td>`;
    tr.querySelector(".id").textContent = r.id;
    setRowLabel(tr, r.label);
    tr.addEventListener("click", () => select(k));
    tb.appendChild(tr);
  });
  $("list-summary").textContent = `${data.total} stars match; ranked by ${data.ranking}`;
  $("page-info").textContent = data.total ? `${data.offset + 1}–${data.offset + data.rows.length} of ${data.total}` : "none";
  state.cur = -1;
  if (selectIndex !== undefined && data.rows.length) await select(Math.min(selectIndex, data.rows.length - 1));
}

function setRowLabel(tr, label) {
  const td = tr.querySelector(".lab");
  td.textContent = label || ""; td.className = "lab" + (label ? " lab-" + label : "");
}

async function select(k) {
  if (k < 0 || k >= state.rows.length) return;
  state.cur = k;
  document.querySelectorAll("#list tr.current").forEach((tr) => tr.classList.remove("current"));
  const tr = document.querySelector(`#list tbody tr[data-index="${k}"]`);
  if (tr) { tr.classList.add("current"); tr.scrollIntoView({ block: "nearest" }); }
  const id = state.rows[k].id;
  $("d-id").textContent = id; $("note").value = "";
  let d;
  try { d = await api("/api/candidate?id=" + encodeURIComponent(id)); } catch (e) { showNotice(e.message, true); return; }
  if (!state.rows[state.cur] || state.rows[state.cur].id !== id) return;  // a newer selection won
  state.detail = d;
  renderDetail(d);
}

function kvTable(el, rows, cells) {
  el.innerHTML = "";
  if (!rows.length) { el.innerHTML = "<tr><td>none</td></tr>"; return; }
  for (const r of rows) {
    const tr = document.createElement("tr");
    for (const [cls, text, title] of cells(r)) {
      const td = document.createElement("td"); td.className = cls || ""; td.textContent = text;
      if (title) td.title = title; tr.appendChild(td);
    }
    el.appendChild(tr);
  }
}

function renderDetail(d) {
  $("detail-empty").hidden = true; $("detail").hidden = false;
  $("d-id").textContent = d.id;
  const lab = d.label ? d.label.label : "";
  $("d-label").textContent = lab || "unlabelled"; $("d-label").className = "badge" + (lab ? " lab-" + lab : "");
  $("note").value = d.label ? d.label.note : "";
  $("save-status").textContent = d.label ? `saved ${d.label.time}` : "";
  const links = $("d-links"); links.innerHTML = "";
  d.links.forEach((l) => { const a = document.createElement("a"); a.href = l.url; a.target = "_blank"; a.rel = "noopener noreferrer";
    a.textContent = l.name; links.appendChild(a); links.appendChild(document.createTextNode("  ")); });
  if (d.mock) links.appendChild(document.createTextNode("(mock data: these coordinates are simulated)"));
  kvTable($("d-scores"), d.scores, (s) => [["", s.ranking], ["", fmt(s.score)], ["", s.rank ? "rank " + s.rank : ""],
    ["", s.flagged === null ? "" : (s.flagged ? "flagged" : "not flagged")]]);
  drawPlots();
  const ex = $("d-explain"); ex.textContent = "loading the saved model…";
  api("/api/explain?id=" + encodeURIComponent(d.id)).then((r) => {
    if (state.detail && state.detail.id === r.id) renderExplain(r.explain);
  }).catch((e) => { ex.textContent = e.message; });
  kvTable($("d-orbit"), d.orbit, (o) => [["", o.name], ["", fmt(o.value)], ["unit", o.unit]]);
  kvTable($("d-matches"), d.matches, (m) => [["", m.catalog], ["", m.name || "no match"],
    ["unit", m.sep_arcsec === null ? "" : fmt(m.sep_arcsec) + " arcsec"]]);
  kvTable($("d-values"), d.values, (v) => [["", v.name, v.description], ["", fmt(v.value)], ["unit", v.unit]]);
}

function renderExplain(explain) {
  const ex = $("d-explain"); ex.innerHTML = "";
  for (const [det, e] of Object.entries(explain)) {
    const h = document.createElement("div"); h.textContent = det + ": " + (e.unavailable || e.note); ex.appendChild(h);
    if (e.features) {
      const t = document.createElement("table"); t.className = "kv"; ex.appendChild(t);
      kvTable(t, e.features, (f) => [["", f.name], ["", (100 * f.share).toFixed(1) + " %"],
        ["", "value " + fmt(f.value) + ", reconstructed " + fmt(f.reconstruction)]]);
      t.querySelectorAll("tr").forEach((tr, k) => { const bar = document.createElement("span"); bar.className = "bar";
        bar.style.width = (120 * e.features[k].share) + "px"; tr.children[1].prepend(bar); });
    }
  }
}

function drawPlots() {
  const d = state.detail; if (!d) return;
  const id = encodeURIComponent(d.id);
  $("plot-hr").src = `/api/plot?kind=hr&id=${id}`;
  $("plot-toomre").src = `/api/plot?kind=toomre&id=${id}`;
  $("plot-pair").src = `/api/plot?kind=pair&id=${id}&x=${encodeURIComponent($("pair-x").value)}&y=${encodeURIComponent($("pair-y").value)}`;
}

let pending = 0;
function labelCurrent(label) {
  // save in the background and move on at once, so quick keystrokes label consecutive stars
  if (state.cur < 0) return;
  const row = state.rows[state.cur];
  const note = $("note").value;
  pending += 1; document.body.dataset.pending = pending;
  api("/api/label", { id: row.id, label: label, note: note, detector: state.ranking }).then((saved) => {
    row.label = saved.label;
    const tr = document.querySelector(`#list tbody tr[data-id="${CSS.escape(saved.id)}"]`);
    if (tr) setRowLabel(tr, saved.label);
    $("save-status").textContent = `saved ${saved.label} for ${saved.id}`;
  }).catch((e) => showNotice("label not saved: " + e.message, true))
    .finally(() => { pending -= 1; document.body.dataset.pending = pending; });
  next();
}

async function next() {
  if (state.cur + 1 < state.rows.length) return select(state.cur + 1);
  if (state.offset + state.limit < state.total) return loadList(state.offset + state.limit, 0);
}

async function prev() {
  if (state.cur > 0) return select(state.cur - 1);
  if (state.offset > 0) return loadList(Math.max(0, state.offset - state.limit), state.limit - 1);
}

async function rerank() {
  const status = $("rerank-status");
  status.textContent = "re-ranking…";
  try {
    const r = await api("/api/rerank", { method: $("method").value });
    const names = [...$("ranking").options].map((o) => o.value);
    if (!names.includes(r.ranking)) option($("ranking"), r.ranking);
    $("ranking").value = r.ranking;
    status.textContent = `${r.ranking}: ${r.n_labels} labels, ${r.seconds} s`;
    await loadList(0, 0);
  } catch (e) { status.textContent = ""; showNotice("re-rank failed: " + e.message, true); }
}

function onKey(ev) {
  const t = ev.target;
  const typing = t && (t.tagName === "INPUT" || t.tagName === "SELECT" || t.tagName === "TEXTAREA");
  if (typing) { if (ev.key === "Escape" || (ev.key === "Enter" && t.id === "note")) t.blur(); return; }
  if (ev.ctrlKey || ev.metaKey || ev.altKey) return;
  const key = ev.key.toLowerCase();
  if (KEYS[key]) { ev.preventDefault(); labelCurrent(KEYS[key]); }
  else if (key === "n" || ev.key === "ArrowDown") { ev.preventDefault(); next(); }
  else if (key === "p" || ev.key === "ArrowUp") { ev.preventDefault(); prev(); }
  else if (key === "/") { ev.preventDefault(); $("search").focus(); }
  else if (key === "r") { ev.preventDefault(); rerank(); }
}

init().catch((e) => showNotice("cannot load the run: " + e.message, true));
