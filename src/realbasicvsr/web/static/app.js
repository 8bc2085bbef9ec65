// The page of `realbasicvsr serve`: uploads, the before/after view, and the live job list (server-sent events).
"use strict";

const token = document.querySelector('meta[name="realbasicvsr-token"]').content;
const maxUploadMb = Number(document.querySelector('meta[name="realbasicvsr-max-upload-mb"]').content);
const $ = (id) => document.getElementById(id);
const state = { jobs: [], models: [], selected: null, busy: false };

// ---- talking to the server ------------------------------------------------------------------------

async function api(method, path, body) {
  const options = { method, headers: { "X-Token": token } };
  if (body !== undefined) {
    options.headers["Content-Type"] = "application/json";
    options.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(path, options);
  } catch {
    throw new Error("the server can't be reached (is `realbasicvsr serve` still running?)");
  }
  const data = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(data.error || `${response.status} ${response.statusText}`);
  return data;
}

function withToken(path) {
  return `${path}${path.includes("?") ? "&" : "?"}token=${encodeURIComponent(token)}`;
}

function uploadFile(file, onProgress) {
  // XMLHttpRequest rather than fetch: it reports upload progress. The body is the file itself.
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open("POST", `/api/uploads?name=${encodeURIComponent(file.name)}`);
    xhr.setRequestHeader("X-Token", token);
    xhr.setRequestHeader("Content-Type", "application/octet-stream");
    xhr.upload.onprogress = (e) => e.lengthComputable && onProgress(e.loaded / e.total);
    xhr.onload = () => {
      let data = {};
      try { data = JSON.parse(xhr.responseText); } catch { /* not JSON: use the status line */ }
      if (xhr.status >= 200 && xhr.status < 300) resolve(data);
      else reject(new Error(data.error || `${xhr.status} ${xhr.statusText}`));
    };
    xhr.onerror = () => reject(new Error("the upload failed: the server closed the connection"));
    xhr.send(file);
  });
}

// ---- messages and formatting ------------------------------------------------------------------------

function showMessage(text, kind = "error") {
  const box = $("message");
  box.textContent = text;
  box.className = kind === "error" ? "" : "info";
  box.hidden = !text;
}

function duration(seconds) {
  if (seconds == null || !isFinite(seconds)) return "?";
  if (seconds < 90) return `${Math.max(1, Math.round(seconds))} s`;
  if (seconds < 5400) return `${Math.round(seconds / 60)} min`;
  return `${(seconds / 3600).toFixed(1)} h`;
}

function element(tag, attributes = {}, text = "") {
  const node = document.createElement(tag);
  Object.entries(attributes).forEach(([k, v]) => node.setAttribute(k, v));
  if (text) node.textContent = text;
  return node;
}

// ---- settings -----------------------------------------------------------------------------------------

function settings() {
  const scale = $("outscale").value;
  const chunk = $("chunk").value;
  return {
    model: $("model").value,
    outscale: scale ? Number(scale) : null,
    precision: $("precision").value,
    crf: Number($("crf").value),
    chunk_frames: chunk ? Number(chunk) : null,
    ensemble: Number($("ensemble").value),
  };
}

function describeSettings(s) {
  if (!s) return "";
  const scale = s.outscale ? `x${s.outscale}` : "own scale";
  return `${s.model}, ${scale}, ${s.precision}, CRF ${s.crf}${s.chunk_frames ? `, chunks of ${s.chunk_frames}` : ""}${s.ensemble > 1 ? `, ensemble of ${s.ensemble}` : ""}`;
}

async function loadModels() {
  state.models = await api("GET", "/api/models");
  const select = $("model");
  const groups = { true: element("optgroup", { label: "Offline" }), false: element("optgroup", { label: "Needs a download on first use" }) };
  for (const m of state.models) {
    groups[m.offline].append(element("option", { value: m.name }, `${m.name} (x${m.scale})`));
  }
  select.append(...[groups.true, groups.false].filter((g) => g.children.length));
  if (state.models.some((m) => m.name === "realbasicvsr_lite_x4")) select.value = "realbasicvsr_lite_x4";
  modelChanged();
}

function modelChanged() {
  const m = state.models.find((x) => x.name === $("model").value);
  if (!m) return;
  $("model-note").textContent = `${m.description} — ${m.where}.`;
  $("own-scale").textContent = `model's own (x${m.scale})`;
}

// ---- uploads ------------------------------------------------------------------------------------------

async function uploadAll(files) {
  showMessage("");
  for (const file of files) {
    const row = element("li", {}, `${file.name}: uploading`);
    const bar = element("progress", { max: "1", value: "0" });
    row.append(bar);
    $("uploads").append(row);
    try {
      if (file.size > maxUploadMb * 2 ** 20) {
        throw new Error(`${file.name} is ${Math.round(file.size / 2 ** 20)} MB; this server takes at most ${maxUploadMb} MB`);
      }
      const job = await uploadFile(file, (f) => { bar.value = f; });
      state.selected = job.id;
      upsertJob(job);
      row.remove();
    } catch (e) {
      row.remove();
      showMessage(`${file.name}: ${e.message}`);
    }
  }
  $("files").value = "";
  render();
}

function upsertJob(job) {
  const i = state.jobs.findIndex((j) => j.id === job.id);
  if (i >= 0) state.jobs[i] = { ...state.jobs[i], ...job };
  else state.jobs.push(job);
}

// ---- preview and the comparison view ----------------------------------------------------------------------

function selectedJob() {
  return state.jobs.find((j) => j.id === state.selected) || null;
}

async function preview() {
  const job = selectedJob();
  if (!job) return;
  setBusy(true);
  showMessage(`Upscaling one frame of ${job.name}...`, "info");
  try {
    job.preview = await api("POST", `/api/jobs/${job.id}/preview`, settings());
    showMessage("");
    render();
  } catch (e) {
    showMessage(`Preview of ${job.name}: ${e.message}`);
  } finally {
    setBusy(false);
  }
}

function showPreview(job) {
  const p = job && job.preview;
  $("stage").hidden = $("compare-controls").hidden = !p;
  $("empty").hidden = !!p;
  $("preview-info").textContent = "";
  if (!p) return;
  const stamp = `&v=${p.made}`;
  $("before").src = withToken(`/api/jobs/${job.id}/preview/before.png`) + stamp;
  $("after").src = withToken(`/api/jobs/${job.id}/preview/after.png`) + stamp;
  $("stage").style.setProperty("--aspect", String(p.width / p.height));
  const frames = job.info.frames;
  $("preview-info").textContent =
    `Frame ${p.frame + 1}${frames ? ` of ${frames}` : ""}, ${p.width}x${p.height} with ${describeSettings(p.settings)}: ` +
    `${p.seconds_per_frame.toFixed(2)} s per frame; the full run would take about ${duration(p.projected_seconds)}.`;
}

function setSplit() {
  $("stage").style.setProperty("--split", `${$("split").value}%`);
}

function zoomAt(event) {
  const box = $("stage").getBoundingClientRect();
  const x = ((event.clientX - box.left) / box.width) * 100;
  const y = ((event.clientY - box.top) / box.height) * 100;
  for (const img of [$("before"), $("after")]) img.style.transformOrigin = `${x}% ${y}%`;
  if ($("zoom").value === "1") $("zoom").value = "4";
  applyZoom();
}

function applyZoom() {
  for (const img of [$("before"), $("after")]) img.style.transform = `scale(${$("zoom").value})`;
}

// ---- jobs ---------------------------------------------------------------------------------------------

async function action(method, path, body, done) {
  try {
    const job = await api(method, path, body);
    if (done) done(job);
  } catch (e) {
    showMessage(e.message);
  }
}

function startJob(job) {
  showMessage("");
  action("POST", `/api/jobs/${job.id}/start`, settings(), upsertJob).then(render);
}

function statusCell(job) {
  const cell = element("td", { class: `status-${job.status}` });
  const p = job.progress || {};
  if (job.status === "running") {
    const total = p.total || job.info.frames || 0;
    const bar = element("progress", { max: String(total || 1), value: String(p.done || 0) });
    const parts = [`${p.done || 0} / ${total || "?"} frames`];
    if (p.fps) parts.push(`${p.fps.toFixed(2)} fps`);
    if (p.eta != null) parts.push(`ETA ${duration(p.eta)}`);
    cell.append(element("div", {}, p.done ? "running" : "running (loading the model)"), bar,
                element("div", { class: "progress-text" }, parts.join(" · ")));
  } else if (job.status === "queued") {
    cell.textContent = `queued${job.position ? ` (#${job.position})` : ""}`;
  } else if (job.status === "done") {
    const r = job.result || {};
    const resumed = r.resumed_frames ? `, ${r.resumed_frames} resumed from an earlier run` : "";
    cell.textContent = `done: ${r.frames} frames in ${duration(r.seconds)}${resumed}`;
    if (r.cuts) {  // scene cuts: each shot was upscaled as its own sequence
      cell.append(element("div", { class: "note" }, r.cuts.length
        ? `scene cuts at frame${r.cuts.length > 1 ? "s" : ""} ${r.cuts.join(", ")}` : "scene cuts: none"));
    }
    for (const w of r.warnings || []) cell.append(element("div", { class: "note" }, `warning: ${w}`));
  } else if (job.status === "failed") {
    cell.textContent = `failed: ${job.error}`;
  } else if (job.status === "cancelled") {
    cell.textContent = `cancelled${p.done ? ` at ${p.done} frames (Start resumes it)` : ""}`;
  } else {
    cell.textContent = "ready";
  }
  return cell;
}

function actionsCell(job) {
  const box = element("div", { class: "actions" });
  const button = (label, onClick, cls = "") => {
    const b = element("button", { type: "button", class: cls }, label);
    b.addEventListener("click", (e) => { e.stopPropagation(); onClick(); });
    box.append(b);
  };
  if (["ready", "failed", "cancelled", "done"].includes(job.status)) {
    const again = job.status === "done" ? "Run again" : job.status === "ready" ? "Start" : "Resume";
    button(again, () => startJob(job), job.status === "ready" ? "primary" : "");
  }
  if (["queued", "running"].includes(job.status)) {
    button("Cancel", () => action("POST", `/api/jobs/${job.id}/cancel`));
  }
  if (job.status === "done") {
    box.append(element("a", { class: "button primary download", href: withToken(`/api/jobs/${job.id}/result`), download: "" }, "Download"));
  }
  box.append(element("a", { class: "button", href: withToken(`/api/jobs/${job.id}/log`), target: "_blank", rel: "noopener" }, "Log"));
  if (job.status !== "running") {
    button("Delete", () => action("DELETE", `/api/jobs/${job.id}`, undefined, () => {
      state.jobs = state.jobs.filter((j) => j.id !== job.id);
      if (state.selected === job.id) state.selected = null;
      render();
    }));
  }
  const cell = element("td");
  cell.append(box);
  return cell;
}

function render() {
  const body = $("jobs").querySelector("tbody");
  body.replaceChildren();
  for (const job of [...state.jobs].reverse()) {
    const row = element("tr", { "data-job": job.id, "data-status": job.status, class: job.id === state.selected ? "selected" : "" });
    const name = element("td", { class: "name", title: "show this file's preview" }, job.name);
    name.addEventListener("click", () => { state.selected = job.id; render(); });
    const i = job.info;
    const input = `${i.width}x${i.height}${i.kind === "video" ? `, ${i.frames ?? "?"} frames` : ", image"}`;
    row.append(name, element("td", {}, input), element("td", {}, describeSettings(job.settings)), statusCell(job), actionsCell(job));
    body.append(row);
  }
  $("jobs").hidden = state.jobs.length === 0;
  $("no-jobs").hidden = state.jobs.length > 0;
  const job = selectedJob();
  $("selected-name").textContent = job ? job.name : "No file yet";
  $("preview-btn").disabled = $("start-btn").disabled = !job || state.busy;
  const shown = job ? `${job.id}:${job.preview ? job.preview.made : ""}` : "";
  if (shown !== render.shown) {  // new images only when the selection or its preview changed
    showPreview(job);
    render.shown = shown;
  }
}

function setBusy(busy) {
  state.busy = busy;
  $("preview-btn").disabled = $("start-btn").disabled = busy || !selectedJob();
}

function listen() {
  const events = new EventSource(withToken("/api/events"));
  events.onopen = () => { $("connection").textContent = ""; };
  events.onmessage = (e) => {
    state.jobs = JSON.parse(e.data);
    if (!selectedJob() && state.jobs.length) state.selected = state.jobs[state.jobs.length - 1].id;
    render();
  };
  events.onerror = () => { $("connection").textContent = "connection lost: retrying..."; };
}

// ---- wiring -----------------------------------------------------------------------------------------------

function init() {
  const drop = $("drop");
  const files = $("files");
  files.addEventListener("change", () => uploadAll([...files.files]));
  files.addEventListener("dragenter", () => drop.classList.add("over"));
  files.addEventListener("dragleave", () => drop.classList.remove("over"));
  files.addEventListener("drop", () => drop.classList.remove("over"));
  // a file dropped next to the drop zone must not navigate away from the page (on it, the input takes it)
  for (const kind of ["dragover", "drop"]) {
    window.addEventListener(kind, (e) => { if (e.target !== files) e.preventDefault(); });
  }
  $("model").addEventListener("change", modelChanged);
  $("crf").addEventListener("input", () => { $("crf-value").textContent = $("crf").value; });
  $("preview-btn").addEventListener("click", preview);
  $("start-btn").addEventListener("click", () => { const job = selectedJob(); if (job) startJob(job); });
  $("split").addEventListener("input", setSplit);
  $("zoom").addEventListener("change", applyZoom);
  $("stage").addEventListener("click", zoomAt);
  setSplit();
  loadModels().catch((e) => showMessage(`Loading the models: ${e.message}`));
  listen();
}

init();
