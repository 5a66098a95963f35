// The playground page: reads the settings from the form (and the URL), asks the Rust server
// for a session, and draws what its JSON API returns. Nothing is computed here but pixels.
"use strict";

const CLASS_COLOURS = [[232, 113, 10], [8, 119, 189], [44, 160, 44]];
const $ = (id) => document.getElementById(id);
const form = $("settings");

const page = {
  session: null,     // id of the server's session
  playing: false,
  points: null,      // {extent, classes, train, test}
  history: [],
  // The loss and accuracy charts' axes, as /status sends them (`history_axes`).
  axes: null,
  sample: { split: "train", index: 0 },
  graph: null,       // the last /graph answer
  pinned: null,      // index of the clicked graph node
  backward: null,    // position in graph.backward_order while stepping through backward
  busy: false,
  refreshPending: false, // a full refresh was asked for while another was in flight
  actions: 0,            // counts play/pause/step/reset, so a reply older than the last one is dropped
  pollTimer: null,
  lastGraphFetch: 0,
  neuron: null,      // {layer, unit} of the hovered hidden unit
  defaults: null,    // the /api/defaults answer
  mode: "points",    // "points" (2-D datasets) or "images" (the server's --dataset)
  images: null,      // defaults.images: {name, train, test, test_split, image, classes} or null
};

// ---------- settings <-> form <-> URL ----------

function formQuery() {
  const params = new URLSearchParams();
  for (const element of form.elements) {
    if (!element.name || element.disabled) continue;
    params.set(element.name, element.type === "checkbox" ? String(element.checked) : element.value.trim());
  }
  return params.toString();
}

function fillForm(query) {
  const params = new URLSearchParams(query);
  for (const [key, value] of params) {
    const element = form.elements.namedItem(key);
    if (!element) continue;
    if (element.type === "checkbox") element.checked = value === "true" || value === "1" || value === "on";
    else element.value = value;
  }
}

function showError(message) {
  const box = $("error");
  box.textContent = message;
  box.hidden = !message;
}

// One call of the server's JSON API; `body` (bytes) is sent as application/octet-stream.
async function api(method, path, body) {
  const options = { method, cache: "no-store" };
  if (body !== undefined) {
    options.body = body;
    options.headers = { "Content-Type": "application/octet-stream" };
  }
  const response = await fetch(path, options);
  const answer = await response.json().catch(() => ({ error: `HTTP ${response.status}` }));
  if (!response.ok) throw new Error(answer.error || `HTTP ${response.status}`);
  return answer;
}

// ---------- sessions ----------

async function newSession(query) {
  stopPolling();
  let created;
  try {
    created = await api("POST", "/api/sessions?" + query);
  } catch (error) {
    showError("Settings not accepted: " + error.message);
    return false;
  }
  showError("");
  page.session = created.id;
  page.playing = false;
  page.history = [];
  page.backward = null;
  hideNeuron();
  applyMode(isImageDataset(new URLSearchParams(created.settings).get("dataset")) ? "images" : "points");
  fillForm(created.settings);
  history.replaceState(null, "", "?" + created.settings);
  $("share").href = "?" + created.settings;
  if (page.mode === "points") {
    page.points = await api("GET", `/api/sessions/${page.session}/points`);
    if (page.sample.split === "drawing") page.sample = { split: "train", index: 0 };
  } else {
    page.points = null;
    Object.assign(imageViews, { unitsAt: -Infinity, confusionAt: -Infinity, drawingAt: -Infinity, units: null, confusion: null });
    closeExamples();
    // A new session holds no drawing: the one on the canvas is sent to it.
    drawing.sent = false;
    markDrawingSplit();
    if (page.sample.split === "drawing" && !drawing.ink) page.sample = { split: "train", index: 0 };
    if (drawing.ink) await postDrawing();
  }
  if (page.sample.index >= sampleCount(page.sample.split)) page.sample.index = 0;
  $("sample-split").value = page.sample.split;
  $("sample-index").value = page.sample.index;
  $("index-control").hidden = page.sample.split === "drawing";
  await refresh(true);
  return true;
}

// How many samples split `split` holds (the drawing is one).
function sampleCount(split) {
  if (page.mode === "points") return page.points ? page.points[split].length : 1;
  if (split === "drawing") return 1;
  return split === "train" ? page.images.train : page.images.test;
}

async function control(action, extra = "") {
  if (page.session === null) return;
  page.actions += 1;
  if (action === "reset") {
    // Back at step 0 no backward pass has run: gradients read "not computed yet" again,
    // also for a sample the learner had stepped through before.
    graphView.backwardAsked = "";
    page.backward = null;
  }
  try {
    const status = await api("POST", `/api/sessions/${page.session}/${action}${extra}`);
    applyStatus(status);
    if (page.playing) startPolling();
    else { stopPolling(); await refresh(true); }
  } catch (error) {
    showError(error.message);
  }
}

function startPolling() {
  if (page.pollTimer === null) page.pollTimer = setInterval(() => refresh(false), 250);
}

function stopPolling() {
  if (page.pollTimer !== null) clearInterval(page.pollTimer);
  page.pollTimer = null;
}

async function refresh(withGraph) {
  if (page.session === null) return;
  if (page.busy) {
    // A poll may skip a beat; a refresh after an action must not be lost.
    if (withGraph) page.refreshPending = true;
    return;
  }
  page.busy = true;
  const id = page.session;
  const actions = page.actions;
  try {
    const status = await api("GET", `/api/sessions/${id}/status`);
    // A status fetched before the last play/pause would undo it: drop it.
    if (id !== page.session || actions !== page.actions) return;
    applyStatus(status);
    if (page.mode === "points") {
      const [map, network] = await Promise.all([
        api("GET", `/api/sessions/${id}/heatmap?resolution=60`),
        api("GET", `/api/sessions/${id}/network`),
      ]);
      if (id !== page.session) return;
      drawHeatmap($("heatmap"), map, page.points);
      drawNetwork(network);
      if (page.neuron) await showNeuron(page.neuron.layer, page.neuron.unit);
    } else {
      await refreshImageViews(id, withGraph || !page.playing);
      if (id !== page.session) return;
    }
    const now = performance.now();
    if (withGraph || !page.playing || now - page.lastGraphFetch > 1500) {
      page.lastGraphFetch = now;
      await loadGraph();
    }
    if (!status.playing) stopPolling();
  } catch (error) {
    showError(error.message);
    stopPolling();
  } finally {
    page.busy = false;
    if (page.refreshPending) {
      page.refreshPending = false;
      refresh(true);
    }
  }
}

function percent(x) { return (100 * x).toFixed(1) + " %"; }

function applyStatus(status) {
  page.playing = status.playing;
  page.history = status.history;
  page.axes = status.history_axes;
  page.steps = status.steps;
  $("play").textContent = status.playing ? "❚❚ Pause" : "▶ Play";
  $("steps").textContent = status.steps;
  $("epoch").textContent = status.epoch;
  if (status.pace !== undefined && document.activeElement !== $("pace")) showPace(status.pace);
  if (status.settings && location.search !== "?" + status.settings) {
    history.replaceState(null, "", "?" + status.settings);
    $("share").href = "?" + status.settings;
  }
  const last = status.history[status.history.length - 1];
  if (last) {
    $("train-loss").textContent = last.train_loss.toFixed(4);
    $("test-loss").textContent = last.test_loss.toFixed(4);
    $("train-accuracy").textContent = percent(last.train_accuracy);
    $("test-accuracy").textContent = percent(last.test_accuracy);
    $("test-accuracy").dataset.value = last.test_accuracy;
  }
  if (status.diverged) showError("Training stopped: the objective J is not finite (the learning rate is probably too large). Press Reset.");
  drawCurves();
}

// Shows `pace` ("10" or "max") in the toolbar's select, adding an entry for a pace the
// address asked for that the list does not offer (pace=7).
function showPace(pace) {
  const select = $("pace");
  if (![...select.options].some((option) => option.value === pace)) {
    const option = new Option(`${pace} steps/s`, pace);
    const after = [...select.options].find((o) => o.value === "max" || Number(o.value) > Number(pace));
    select.add(option, after || null);
  }
  select.value = pace;
}

// ---------- drawing helpers: sharp canvases ----------

// Every axis's ticks come from the server ({value, label}: /heatmap's `ticks`, /status's
// `history_axes`): the page has no tick rule or number formatter of its own.

// A 2-D context drawing in CSS pixels on a backing store of devicePixelRatio times as many,
// so lines and text stay sharp on hi-DPI screens. The CSS size is the canvas's width and
// height attributes as written in the page (kept in data-css-width / data-css-height).
function sharpContext(canvas) {
  if (!canvas.dataset.cssWidth) {
    canvas.dataset.cssWidth = canvas.getAttribute("width");
    canvas.dataset.cssHeight = canvas.getAttribute("height");
  }
  const width = Number(canvas.dataset.cssWidth), height = Number(canvas.dataset.cssHeight);
  const ratio = window.devicePixelRatio || 1;
  if (canvas.width !== Math.round(width * ratio) || canvas.height !== Math.round(height * ratio)) {
    canvas.width = Math.round(width * ratio);
    canvas.height = Math.round(height * ratio);
    canvas.style.width = width + "px";
    canvas.style.height = height + "px";
  }
  const context = canvas.getContext("2d");
  context.setTransform(ratio, 0, 0, ratio, 0, 0);
  context.clearRect(0, 0, width, height);
  return { context, width, height };
}

// ---------- decision boundary ----------

// Where the boundary plot sits on its canvas (CSS pixels): room on the left and below for
// the x₂ and x₁ ticks.
const HEATMAP_MARGIN = { left: 40, top: 8, right: 10, bottom: 34 };

function toCanvas(extent, size, x, y) {
  const span = extent.max - extent.min;
  return [((x - extent.min) / span) * size, ((extent.max - y) / span) * size];
}

// The network's predicted class over the input plane (`map`, from /heatmap), the points
// (`points`, from /points: {extent, classes, train, test}) on top, with x₁ and x₂ ticks.
function drawHeatmap(canvas, map, points) {
  const { context, width, height } = sharpContext(canvas);
  const m = HEATMAP_MARGIN;
  const size = Math.min(width - m.left - m.right, height - m.top - m.bottom);
  const n = map.resolution;
  const cells = document.createElement("canvas");
  cells.width = n; cells.height = n;
  const cellContext = cells.getContext("2d");
  const image = cellContext.createImageData(n, n);
  const classes = points ? points.classes : 3;
  for (let i = 0; i < n * n; i++) {
    const colour = CLASS_COLOURS[map.classes[i] % CLASS_COLOURS.length];
    const strength = Math.max(0, (map.confidence[i] - 1 / classes) / (1 - 1 / classes));
    const alpha = 0.15 + 0.55 * strength;
    for (let c = 0; c < 3; c++) image.data[4 * i + c] = Math.round(255 * (1 - alpha) + colour[c] * alpha);
    image.data[4 * i + 3] = 255;
  }
  cellContext.putImageData(image, 0, 0);
  context.imageSmoothingEnabled = true;
  context.drawImage(cells, m.left, m.top, size, size);
  context.strokeStyle = "#999";
  context.lineWidth = 1;
  context.strokeRect(m.left - 0.5, m.top - 0.5, size + 1, size + 1);
  drawAxes(context, map.extent, size, map.ticks);
  canvas.plot = { left: m.left, top: m.top, size, extent: map.extent };
  canvas.extent = map.extent;
  canvas.dataset.drawn = "true";
  if (!points) return;
  context.save();
  context.translate(m.left, m.top);
  context.beginPath();
  context.rect(0, 0, size, size);
  context.clip();
  for (const split of ["train", "test"]) {
    points[split].forEach(([x, y, label]) => {
      const [px, py] = toCanvas(map.extent, size, x, y);
      const colour = CLASS_COLOURS[label % CLASS_COLOURS.length];
      context.beginPath();
      context.arc(px, py, 3.2, 0, 2 * Math.PI);
      context.fillStyle = `rgb(${colour.join(",")})`;
      context.fill();
      context.lineWidth = split === "train" ? 1 : 1.6;
      context.strokeStyle = split === "train" ? "white" : "#222";
      context.stroke();
    });
  }
  const selected = canvas === $("heatmap") && points[page.sample.split] && points[page.sample.split][page.sample.index];
  if (selected) {
    const [px, py] = toCanvas(map.extent, size, selected[0], selected[1]);
    context.beginPath();
    context.arc(px, py, 8, 0, 2 * Math.PI);
    context.lineWidth = 2.5;
    context.strokeStyle = "#d62728";
    context.stroke();
  }
  context.restore();
}

// The x₁ (horizontal) and x₂ (vertical) axes of the boundary plot, `size` CSS pixels square
// at HEATMAP_MARGIN: faint lines through 0, and `ticks` ({value, label}: /heatmap's or
// /neuron's) on both.
// The labels are kept in the canvas's data-x-ticks / data-y-ticks (JSON) for tests and tools.
function drawAxes(context, extent, size, ticks) {
  const m = HEATMAP_MARGIN;
  const [ox, oy] = toCanvas(extent, size, 0, 0);
  context.save();
  context.translate(m.left, m.top);
  context.strokeStyle = "rgba(0,0,0,0.18)";
  context.lineWidth = 1;
  context.beginPath();
  context.moveTo(ox, 0); context.lineTo(ox, size);
  context.moveTo(0, oy); context.lineTo(size, oy);
  context.stroke();
  context.strokeStyle = "#555";
  context.fillStyle = "#333";
  context.font = "11px DejaVu Sans, sans-serif";
  context.beginPath();
  for (const { value: v } of ticks) {
    const [px, py] = toCanvas(extent, size, v, v);
    context.moveTo(px, size + 1); context.lineTo(px, size + 5);
    context.moveTo(-1, py); context.lineTo(-5, py);
  }
  context.stroke();
  context.textAlign = "center";
  context.textBaseline = "top";
  for (const t of ticks) context.fillText(t.label, toCanvas(extent, size, t.value, 0)[0], size + 6);
  context.textAlign = "right";
  context.textBaseline = "middle";
  for (const t of ticks) context.fillText(t.label, -7, toCanvas(extent, size, 0, t.value)[1]);
  context.font = "italic 12px DejaVu Serif, serif";
  context.textAlign = "center";
  context.textBaseline = "bottom";
  context.fillText("x₁", size / 2, size + m.bottom - 1);
  context.save();
  context.translate(-m.left + 9, size / 2);
  context.rotate(-Math.PI / 2);
  context.textBaseline = "middle";
  context.fillText("x₂", 0, 0);
  context.restore();
  context.restore();
  const labels = JSON.stringify(ticks.map((t) => t.label));
  context.canvas.dataset.xTicks = labels;
  context.canvas.dataset.yTicks = labels;
}

function pickPoint(event) {
  const canvas = $("heatmap");
  if (!page.points || !canvas.plot) return;
  const box = canvas.getBoundingClientRect();
  const scale = Number(canvas.dataset.cssWidth) / box.width;
  const px = (event.clientX - box.left) * scale - canvas.plot.left;
  const py = (event.clientY - box.top) * scale - canvas.plot.top;
  let best = null;
  for (const split of ["train", "test"]) {
    page.points[split].forEach(([x, y], index) => {
      const [qx, qy] = toCanvas(canvas.plot.extent, canvas.plot.size, x, y);
      const distance = Math.hypot(qx - px, qy - py);
      if (!best || distance < best.distance) best = { split, index, distance };
    });
  }
  if (best && best.distance < 12) selectSample(best.split, best.index);
}

function selectSample(split, index) {
  page.sample = { split, index };
  $("sample-split").value = split;
  $("sample-index").value = index;
  $("index-control").hidden = split === "drawing";
  if (page.mode === "points") refresh(true);
  else loadGraph().catch((error) => showError(error.message));
}

// ---------- curves ----------

// How each run's train and test curves are drawn: never a class colour (orange, blue,
// green), train solid and test dashed, and each further run in its own hue.
const RUN_STYLES = [
  { train: "#333333", test: "#8e44ad", trainDash: [], testDash: [6, 4] },
  { train: "#a0522d", test: "#c2185b", trainDash: [10, 3, 2, 3], testDash: [2, 3] },
];

function drawCurves() {
  const runs = [{ label: "", history: page.history }];
  drawCurve($("loss-curve"), runs, "train_loss", "test_loss", page.axes.loss, false, heldOutName());
  drawCurve($("accuracy-curve"), runs, "train_accuracy", "test_accuracy", page.axes.accuracy, true, heldOutName());
}

// Train and test curves of `runs` ([{label, history}], history as /status returns it) on
// `axes` (one chart of /status's `history_axes`: the steps and values spanned, and the
// ticks), and a legend naming each line (the held-out line `testName`), in the plot's
// bottom right corner when `legendBelow` (accuracy, which rises towards the top) else its
// top right. The tick labels are kept in data-x-ticks / data-y-ticks (JSON) and the legend
// in data-legend.
function drawCurve(canvas, runs, trainKey, testKey, axes, legendBelow, testName = "test") {
  const { context, width: w, height: h } = sharpContext(canvas);
  const left = 46, bottom = 34, top = 8, right = 12;
  const [firstStep, lastStep] = axes.steps;
  const [low, high] = axes.values;
  const x = (step) => left + ((step - firstStep) / (lastStep - firstStep)) * (w - left - right);
  const y = (v) => top + (1 - (Math.min(high, Math.max(low, v)) - low) / (high - low)) * (h - top - bottom);
  const yTicks = axes.y_ticks.map((t) => t.value);
  const xTicks = axes.x_ticks.map((t) => t.value);
  context.font = "11px DejaVu Sans, sans-serif";
  context.lineWidth = 1;
  context.strokeStyle = "#e2e2e2";
  context.beginPath();
  for (const v of yTicks) { context.moveTo(left, Math.round(y(v)) + 0.5); context.lineTo(w - right, Math.round(y(v)) + 0.5); }
  for (const s of xTicks) { context.moveTo(Math.round(x(s)) + 0.5, top); context.lineTo(Math.round(x(s)) + 0.5, h - bottom); }
  context.stroke();
  context.strokeStyle = "#666";
  context.beginPath();
  context.moveTo(left + 0.5, top); context.lineTo(left + 0.5, h - bottom + 0.5); context.lineTo(w - right, h - bottom + 0.5);
  for (const s of xTicks) { context.moveTo(Math.round(x(s)) + 0.5, h - bottom); context.lineTo(Math.round(x(s)) + 0.5, h - bottom + 4); }
  context.stroke();
  context.fillStyle = "#333";
  context.textAlign = "right";
  context.textBaseline = "middle";
  for (const t of axes.y_ticks) context.fillText(t.label, left - 5, y(t.value));
  context.textAlign = "center";
  context.textBaseline = "top";
  for (const t of axes.x_ticks) context.fillText(t.label, x(t.value), h - bottom + 5);
  context.fillStyle = "#555";
  context.textBaseline = "bottom";
  context.fillText("step (parameter updates)", left + (w - left - right) / 2, h - 2);
  context.save();
  context.beginPath();
  context.rect(left, top - 2, w - left - right, h - top - bottom + 4);
  context.clip();
  const legend = [];
  runs.forEach((run, r) => {
    const style = RUN_STYLES[r % RUN_STYLES.length];
    for (const [key, colour, dash, name] of [[trainKey, style.train, style.trainDash, "train"], [testKey, style.test, style.testDash, testName]]) {
      context.beginPath();
      context.setLineDash(dash);
      context.strokeStyle = colour;
      context.lineWidth = 2;
      run.history.forEach((p, i) => (i ? context.lineTo(x(p.step), y(p[key])) : context.moveTo(x(p.step), y(p[key]))));
      context.stroke();
      legend.push({ run: r, name, text: (run.label ? run.label + " " : "") + name, colour, dash });
    }
  });
  context.restore();
  // Each line's latest point, marked: the train value a disc, the test value a ring around
  // it, so both show where they coincide, and at step 0, before any line, the start shows.
  context.setLineDash([]);
  runs.forEach((run, r) => {
    const style = RUN_STYLES[r % RUN_STYLES.length];
    const last = run.history[run.history.length - 1];
    if (!last) return;
    context.beginPath();
    context.fillStyle = style.train;
    context.arc(x(last.step), y(last[trainKey]), 3, 0, 2 * Math.PI);
    context.fill();
    context.beginPath();
    context.strokeStyle = style.test;
    context.lineWidth = 1.5;
    context.arc(x(last.step), y(last[testKey]), 5, 0, 2 * Math.PI);
    context.stroke();
  });
  // The legend, one row per run (its label, then its train and test lines), on a white box
  // so curves under it stay apart from it.
  const rowHeight = 15, sample = 24;
  const labelWidth = Math.max(0, ...runs.map((run) => (run.label ? context.measureText(run.label).width + 8 : 0)));
  const entryWidth = (name) => sample + 4 + context.measureText(name).width + 10;
  const boxWidth = 6 + labelWidth + entryWidth("train") + entryWidth(testName);
  const boxHeight = 6 + rowHeight * runs.length;
  const boxLeft = w - right - boxWidth - 4;
  const boxTop = legendBelow ? h - bottom - boxHeight - 4 : top + 4;
  context.fillStyle = "rgba(255,255,255,0.88)";
  context.fillRect(boxLeft, boxTop, boxWidth, boxHeight);
  context.strokeStyle = "#ccc";
  context.lineWidth = 1;
  context.strokeRect(boxLeft + 0.5, boxTop + 0.5, boxWidth, boxHeight);
  context.textAlign = "left";
  context.textBaseline = "middle";
  runs.forEach((run, r) => {
    const rowY = boxTop + 3 + rowHeight * (r + 0.5);
    let at = boxLeft + 6;
    context.fillStyle = "#222";
    if (run.label) context.fillText(run.label, at, rowY);
    at += labelWidth;
    for (const item of legend.filter((entry) => entry.run === r)) {
      context.beginPath();
      context.setLineDash(item.dash);
      context.strokeStyle = item.colour;
      context.lineWidth = 2;
      context.moveTo(at, rowY); context.lineTo(at + sample, rowY);
      context.stroke();
      context.setLineDash([]);
      context.fillStyle = "#222";
      context.fillText(item.name, at + sample + 4, rowY);
      at += entryWidth(item.name);
    }
  });
  canvas.dataset.xTicks = JSON.stringify(axes.x_ticks.map((t) => t.label));
  canvas.dataset.yTicks = JSON.stringify(axes.y_ticks.map((t) => t.label));
  canvas.dataset.legend = JSON.stringify(legend.map((item) => [item.text, item.colour]));
}

// ---------- network ----------

// Where a network view and its hover thumbnail live: the session's (run null) or a
// side-by-side run's ("a" or "b"), whose elements have the ids of the session's prefixed
// with `compare-a-` or `compare-b-`.
function neuronView(run) {
  if (run === null) {
    return { prefix: "", panel: "network-panel", owner: page.session, api: `/api/sessions/${page.session}`, hovered: page.neuron };
  }
  return { prefix: `compare-${run}-`, panel: `compare-${run}-run`, owner: compare.id, api: `/api/comparisons/${compare.id}/${run}`, hovered: compare.neurons[run] };
}

function setHovered(run, neuron) {
  if (run === null) page.neuron = neuron;
  else compare.neurons[run] = neuron;
}

// Hidden units carry data-layer (L = 1..) and data-unit (u = 0..); hovering one shows its
// thumbnail (showNeuron). The units' positions are kept for placing the thumbnail.
function drawNetwork(network, run = null) {
  const view = neuronView(run);
  const svg = $(view.prefix + "network");
  const width = 320, height = 330, margin = 28;
  const sizes = network.layer_sizes;
  const columnX = (k) => margin + (k * (width - 2 * margin)) / (sizes.length - 1);
  const nodeY = (k, i) => {
    const n = sizes[k];
    const gap = Math.min(24, (height - 2 * margin) / Math.max(1, n - 1));
    return height / 2 + (i - (n - 1) / 2) * gap;
  };
  let largest = 1e-9;
  for (const w of network.weights) for (const row of w) for (const v of row) largest = Math.max(largest, Math.abs(v));
  const parts = [];
  network.weights.forEach((w, k) => {
    w.forEach((row, out) => row.forEach((v, input) => {
      const strength = Math.abs(v) / largest;
      const colour = v >= 0 ? "8,119,189" : "232,113,10";
      parts.push(`<line x1="${columnX(k)}" y1="${nodeY(k, input)}" x2="${columnX(k + 1)}" y2="${nodeY(k + 1, out)}" stroke="rgba(${colour},${(0.15 + 0.85 * strength).toFixed(3)})" stroke-width="${(0.3 + 3.7 * strength).toFixed(2)}"/>`);
    }));
  });
  const hovered = view.hovered;
  sizes.forEach((n, k) => {
    const hidden = k > 0 && k < sizes.length - 1;
    for (let i = 0; i < n; i++) {
      const r = n > 24 ? 3 : 6;
      const cx = columnX(k), cy = nodeY(k, i);
      if (hidden) {
        const on = hovered && hovered.layer === k && hovered.unit === i;
        parts.push(`<g class="unit${on ? " hovered" : ""}" data-layer="${k}" data-unit="${i}" data-x="${cx}" data-y="${cy}"><circle class="hit" cx="${cx}" cy="${cy}" r="${Math.max(r + 3, 8)}" fill="transparent"/><circle class="dot" cx="${cx}" cy="${cy}" r="${r}" fill="white" stroke="#183153" stroke-width="1.5"/></g>`);
      } else {
        parts.push(`<circle cx="${cx}" cy="${cy}" r="${r}" fill="white" stroke="#183153" stroke-width="1.5"/>`);
      }
    }
    const name = k === 0 ? "x" : k === sizes.length - 1 ? "o" : "h" + (sizes.length > 3 ? k : "");
    parts.push(`<text x="${columnX(k)}" y="${height - 6}" text-anchor="middle" font-size="12" font-style="italic" fill="#183153">${name} (${n})</text>`);
  });
  svg.innerHTML = parts.join("");
  svg.dataset.layers = sizes.length;
}

// ---------- neurons: one hidden unit's output over the input plane ----------

// The name the network view gives hidden layer L's vector (h with one hidden layer, as §4.7).
function hiddenName(layer, run = null) {
  const depth = Number($(neuronView(run).prefix + "network").dataset.layers || 3);
  return depth > 3 ? `h${layer}` : "h";
}

function inputName(layer, index, run = null) {
  return layer === 1 ? `x${index + 1}` : `${hiddenName(layer - 1, run)}[${index}]`;
}

// Shows the thumbnail of hidden unit h_layer[unit] of the session (run null) or of a
// side-by-side run.
async function showNeuron(layer, unit, run = null) {
  const asked = neuronView(run);
  if (asked.owner === null) return;
  setHovered(run, { layer, unit });
  const answer = await api("GET", `${asked.api}/neuron?layer=${layer}&unit=${unit}&resolution=32`);
  const now = neuronView(run);
  if (now.owner !== asked.owner || !now.hovered || now.hovered.layer !== layer || now.hovered.unit !== unit) return;
  drawNeuron(answer, run);
}

function hideNeuron(run = null) {
  setHovered(run, null);
  const prefix = neuronView(run).prefix;
  $(prefix + "neuron-card").hidden = true;
  for (const g of $(prefix + "network").querySelectorAll("g.unit.hovered")) g.classList.remove("hovered");
}

// Outputs on the diverging scale of divergingRgb (as the edges).
function drawNeuron(neuron, run = null) {
  const view = neuronView(run);
  const id = (name) => $(view.prefix + name);
  const card = id("neuron-card");
  const canvas = id("neuron-map");
  const n = neuron.resolution;
  const scale = Math.max(1e-9, Math.abs(neuron.range[0]), Math.abs(neuron.range[1]));
  drawPixels(canvas, n, n, (i) => divergingRgb(neuron.values[i] / scale), true);
  drawAxes(canvas.getContext("2d"), neuron.extent, canvas.width, neuron.ticks);
  const name = `${hiddenName(neuron.layer, run)}[${neuron.unit}]`;
  const z = `${hiddenName(neuron.layer, run).replace("h", "z")}[${neuron.unit}]`;
  id("neuron-title").innerHTML = `<i>${name}</i> = ${escapeHtml(neuron.activation)}(<i>${z}</i>) over the plane`;
  id("neuron-range").innerHTML = `<i>${name}</i> from ${escapeHtml(neuron.text.range[0])} to ${escapeHtml(neuron.text.range[1])}: <span class="neg">orange −</span>, white 0, <span class="pos">blue +</span>`;
  const rows = neuron.text.incoming.map((text, i) => {
    const sign = neuron.incoming[i] >= 0 ? "pos" : "neg";
    return `<span class="weight"><i>${inputName(neuron.layer, i, run)}</i> <b class="${sign}">${escapeHtml(text)}</b></span>`;
  });
  if (neuron.text.bias !== null) rows.push(`<span class="weight">bias <b class="${neuron.bias >= 0 ? "pos" : "neg"}">${escapeHtml(neuron.text.bias)}</b></span>`);
  id("neuron-weights").innerHTML = `<div class="caption">incoming weights (row ${neuron.unit} of W${neuron.layer})</div><div class="list">${rows.join("")}</div>`;
  id("neuron-weights").classList.toggle("many", rows.length > 8);
  const unit = id("network").querySelector(`g.unit[data-layer="${neuron.layer}"][data-unit="${neuron.unit}"]`);
  if (unit) {
    const panel = $(view.panel).getBoundingClientRect();
    const svgBox = id("network").getBoundingClientRect();
    const ux = svgBox.left - panel.left + (Number(unit.dataset.x) * svgBox.width) / 320;
    const uy = svgBox.top - panel.top + (Number(unit.dataset.y) * svgBox.height) / 330;
    card.hidden = false;
    // Beside the unit, on the right if the window has room, else on the left.
    const right = panel.left + ux + 16 + card.offsetWidth <= document.documentElement.clientWidth;
    card.style.left = `${right ? ux + 16 : Math.max(0, ux - 16 - card.offsetWidth)}px`;
    const top = svgBox.top - panel.top;
    card.style.top = `${Math.max(top, Math.min(uy - card.offsetHeight / 2, panel.height - card.offsetHeight))}px`;
  }
  card.hidden = false;
  card.dataset.layer = neuron.layer;
  card.dataset.unit = neuron.unit;
  canvas.dataset.drawn = "true";
}

// ---------- the D2L network's graph (§4.7) ----------
// Every figure below is written by the server (src/format.rs); the page only places it.

const graphView = {
  zoom: 1,           // the drawing's scale: 1 is its natural size (text at least 11 px)
  backwardAsked: "", // the sample (session/split/index) the learner ran backward for
  drag: null,        // {x, y, left, top, moved} while the panel is dragged to pan
};

function sampleKey() {
  return `${page.session}/${page.sample.split}/${page.sample.index}/${sampleLabel()}`;
}

// The label the graph's loss is computed for ("" for the sample's own; image mode only).
function sampleLabel() {
  return page.mode === "images" ? $("sample-label").value : "";
}

// Backward propagation runs for the shown sample once the session has trained (a step ran
// forward and backward) or the learner steps through it; until then gradients read "not
// computed yet" (the /graph route's backward=false).
function graphWantsBackward() {
  return (page.steps || 0) > 0 || graphView.backwardAsked === sampleKey();
}

async function loadGraph() {
  if (page.session === null) return;
  const { split, index } = page.sample;
  const backward = graphWantsBackward();
  const label = sampleLabel();
  const session = page.session;
  const answer = await api("GET", `/api/sessions/${session}/graph?split=${split}&index=${index}&backward=${backward}${label === "" ? "" : "&label=" + label}`);
  if (session !== page.session) return;
  page.graph = answer.graph;
  if (page.mode === "images") showGraphImage(answer);
  else $("sample-name").innerHTML = `${split} sample ${index}: ${escapeHtml(answer.graph.caption)}`;
  const container = $("graph");
  const [left, top] = [container.scrollLeft, container.scrollTop];
  const first = !container.querySelector("svg");
  container.innerHTML = answer.graph.svg;
  for (const element of container.querySelectorAll("g.node")) {
    const node = Number(element.dataset.node);
    element.addEventListener("mouseenter", () => showNode(node));
    element.addEventListener("mouseleave", () => showNode(currentNode()));
    element.addEventListener("click", () => {
      if (graphView.drag && graphView.drag.moved) return;
      page.pinned = node;
      page.backward = null;
      markGraph();
      showNode(node);
    });
  }
  applyZoom(graphView.zoom);
  // First shown at the lower left, where x enters (as in Fig. 4.7.1); afterwards where it was.
  [container.scrollLeft, container.scrollTop] = first ? [0, container.scrollHeight] : [left, top];
  container.dataset.drawn = "true";
  markGraph();
  showNode(currentNode());
}

// Scales the drawing; the panel scrolls (and drags) to show the rest.
function applyZoom(zoom) {
  graphView.zoom = Math.min(3, Math.max(0.25, zoom));
  const svg = $("graph").querySelector("svg");
  if (svg) {
    svg.style.width = `${svg.width.baseVal.value * graphView.zoom}px`;
    svg.style.height = `${svg.height.baseVal.value * graphView.zoom}px`;
  }
  $("graph-zoom").textContent = `${Math.round(100 * graphView.zoom)} %`;
}

function fitZoom() {
  const svg = $("graph").querySelector("svg");
  if (svg) applyZoom(Math.min(1, ($("graph").clientWidth - 4) / svg.width.baseVal.value));
}

function currentNode() {
  if (page.backward !== null && page.graph) return page.graph.backward_order[page.backward];
  return page.pinned;
}

// Where each operator stands in backward order (undefined for variables).
function backwardPositions() {
  const positions = new Map();
  if (page.graph) page.graph.backward_order.forEach((node, position) => positions.set(node, position));
  return positions;
}

// The contributions to variable node `n` that backward has made so far: all of them unless
// stepping, then those of the operators up to the current one.
function reachedContributions(n) {
  if (page.backward === null) return n.contributions;
  const positions = backwardPositions();
  return n.contributions.filter((c) => positions.get(c.operator) <= page.backward);
}

function markGraph() {
  const order = page.graph ? page.graph.backward_order : [];
  const positions = backwardPositions();
  const stepping = page.backward !== null;
  for (const element of $("graph").querySelectorAll("g.node")) {
    const node = Number(element.dataset.node);
    const position = order.indexOf(node);
    element.classList.toggle("selected", page.backward === null && node === page.pinned);
    element.classList.toggle("backward-current", stepping && position === page.backward);
    element.classList.toggle("backward-done", stepping && position >= 0 && position < page.backward);
    const n = page.graph ? page.graph.nodes[node] : null;
    const pending = stepping && n && n.kind !== "operator" && n.contributions.length > 0 && reachedContributions(n).length < n.contributions.length;
    element.classList.toggle("gradient-pending", Boolean(pending));
  }
  for (const edge of $("graph").querySelectorAll("line.edge")) {
    const position = positions.get(Number(edge.dataset.to));
    const backwardEdge = page.graph && page.graph.nodes[Number(edge.dataset.from)].contributions.some((c) => c.operator === Number(edge.dataset.to));
    edge.classList.toggle("backward-current", stepping && backwardEdge && position === page.backward);
    edge.classList.toggle("backward-done", stepping && backwardEdge && position < page.backward);
  }
  $("backward-mode").classList.toggle("active", stepping);
  $("backward-mode").textContent = stepping ? "Stop stepping" : "Step through backward";
  $("backward-prev").hidden = !stepping;
  $("backward-next").hidden = !stepping;
  $("backward-position").textContent = stepping ? `operator ${page.backward + 1} of ${order.length} in backward order` : "";
}

function escapeHtml(text) {
  return String(text).replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]);
}

function equationBlock(title, equation, plugged) {
  if (!equation) return `<div class="equation"><b>${title}</b>: —</div>`;
  const numbers = plugged ? `<div class="plugged">${plugged}</div>` : "";
  return `<div class="equation"><b>${title}</b><br><span class="equation-number">(${escapeHtml(equation.number)})</span><span class="formula">${equation.formula_html}</span>${numbers}</div>`;
}

// One contribution as a list item: the equation it comes from, the term, its numbers and value.
function contributionItem(c, nodes, direction) {
  const other = direction === "to" ? nodes[c.variable] : nodes[c.operator];
  const along = direction === "to" ? `to ∂J/∂${other.label_html}` : `from ${other.label_html}`;
  return `<li class="contribution" data-operator="${c.operator}" data-variable="${c.variable}"><span class="equation-number">(${escapeHtml(c.number)})</span> <span class="term">${c.term_html}</span> <span class="along">${along}</span><br><span class="plugged">= ${c.plugged}</span><br>= <span class="value">${escapeHtml(c.value_text)}</span></li>`;
}

const NOT_COMPUTED = "not computed yet";

// The gradient part of a variable's panel: each contribution and their sum, or why there is none.
function gradientBlock(n) {
  const name = `∂J/∂${n.label_html}`;
  if (!page.graph.gradients_computed) {
    return `<div class="gradient"><b>${name}</b>: <span class="not-computed">${NOT_COMPUTED}</span> — backward propagation has not run for this sample (press Step, or Step through backward).</div>`;
  }
  if (n.gradient_text === null) return `<div class="gradient"><b>${name}</b>: none (backward computes no gradient for data)</div>`;
  const reached = reachedContributions(n);
  const items = reached.map((c) => contributionItem(c, page.graph.nodes, "from")).join("");
  const heading = n.contributions.length > 1 ? `${n.contributions.length} contributions, one per operator that reads ${n.label_html}; ∂J/∂${n.label_html} is their sum` : "";
  if (reached.length < n.contributions.length) {
    return `<div class="gradient"><b>${name}</b>: <span class="not-computed">${NOT_COMPUTED}</span> — backward has made ${reached.length} of its ${n.contributions.length} contributions.<ul>${items}</ul></div>`;
  }
  return `<div class="gradient">${heading ? `<div class="kind">${heading}</div>` : ""}<ul>${items}</ul><div class="sum"><b>${name}</b> = <span class="value">${escapeHtml(n.gradient_text)}</span>${n.gradient_norm !== null ? ` <span class="kind">(norm ${escapeHtml(n.gradient_norm_text)})</span>` : ""}</div>${n.backward_plugged ? `<div class="plugged">${n.backward_plugged}</div>` : ""}</div>`;
}

function showNode(node) {
  const info = $("node-info");
  if (node === null || node === undefined || !page.graph) {
    info.innerHTML = `<p class="hint">Hover or click a node of the graph: its value and gradient for the selected sample, the equation that produced them with the numbers plugged in, and each contribution to the gradient.</p>`;
    return;
  }
  const n = page.graph.nodes[node];
  const operator = n.kind === "operator";
  let html = `<div class="head"><h3>${n.label_html}</h3><div class="kind">${n.kind}${n.section_shape ? ", " + escapeHtml(n.section_shape) : ""}</div></div>`;
  if (operator) {
    html += `<div>${equationBlock("forward rule", n.equations.forward)}${equationBlock("backward (its vector-Jacobian product)", n.equations.backward)}</div>`;
    const given = page.graph.nodes.flatMap((v) => v.contributions.filter((c) => c.operator === node));
    const body = !page.graph.gradients_computed
      ? `<span class="not-computed">${NOT_COMPUTED}</span> — backward propagation has not run for this sample.`
      : `<ul>${given.map((c) => contributionItem(c, page.graph.nodes, "to")).join("") || "<li>nothing: no input leads to a parameter</li>"}</ul>`;
    html += `<div class="gradient"><b>hands back in backward propagation</b>${body}</div>`;
  } else {
    html += `<div>${equationBlock("forward", n.equations.forward, n.forward_plugged)}<div><b>value</b> <span class="value">${escapeHtml(n.value_text)}</span></div></div>`;
    html += `<div>${equationBlock("backward", n.equations.backward)}${gradientBlock(n)}</div>`;
  }
  info.innerHTML = html;
  info.dataset.node = node;
}

async function stepBackward(delta) {
  if (!page.graph) return;
  if (!page.graph.gradients_computed) {
    graphView.backwardAsked = sampleKey();
    page.backward = 0;
    await loadGraph();
    return;
  }
  const count = page.graph.backward_order.length;
  page.backward = page.backward === null ? 0 : Math.min(count - 1, Math.max(0, page.backward + delta));
  markGraph();
  showNode(currentNode());
}

// ---------- side by side: two runs in lockstep (a comparison) ----------

// Each preset compares the settings of the form with one key changed: [key, a's value, b's value].
const COMPARE_PRESETS = {
  activation: ["activation", "relu", "sigmoid"],
  lambda: ["lambda", "0", "0.01"],
  optimizer: ["optimizer", "sgd", "adam"],
};

const compare = {
  id: null,
  labels: ["a", "b"],
  playing: false,
  busy: false,
  timer: null,
  actions: 0,
  points: null,
  neurons: { a: null, b: null }, // {layer, unit} of the hovered hidden unit of each run
};

async function startComparison(preset) {
  const [key, first, second] = COMPARE_PRESETS[preset];
  const a = new URLSearchParams(formQuery());
  const b = new URLSearchParams(formQuery());
  a.set(key, first);
  b.set(key, second);
  stopComparisonPolling();
  let created;
  try {
    created = await api("POST", `/api/comparisons?a=${encodeURIComponent(a.toString())}&b=${encodeURIComponent(b.toString())}`);
  } catch (error) {
    showError("Comparison not started: " + error.message);
    return;
  }
  showError("");
  const symbol = key === "lambda" ? "λ = " : "";
  compare.id = created.id;
  compare.labels = [`a: ${symbol}${first}`, `b: ${symbol}${second}`];
  compare.playing = false;
  for (const button of document.querySelectorAll("#compare-presets button")) button.classList.toggle("active", button.dataset.preset === preset);
  $("compare-a-name").textContent = compare.labels[0];
  $("compare-b-name").textContent = compare.labels[1];
  $("compare-note").textContent = created.same_initial_weights
    ? `Both start from the same initial weights (a's draw) and see the same minibatches; only ${key === "lambda" ? "λ" : key} differs.`
    : "The layer shapes differ, so b draws its own initial weights; both see the same data and minibatches.";
  $("compare-body").hidden = false;
  $("compare-controls").hidden = false;
  compare.points = await api("GET", `/api/comparisons/${compare.id}/a/points`);
  await refreshComparison();
}

function closeComparison() {
  stopComparisonPolling();
  if (compare.id !== null && compare.playing) api("POST", `/api/comparisons/${compare.id}/pause`).catch(() => {});
  compare.id = null;
  compare.playing = false;
  for (const run of ["a", "b"]) hideNeuron(run);
  $("compare-body").hidden = true;
  $("compare-controls").hidden = true;
  $("compare-note").textContent = "";
  for (const button of document.querySelectorAll("#compare-presets button")) button.classList.remove("active");
}

async function compareControl(action) {
  if (compare.id === null) return;
  compare.actions += 1;
  try {
    applyComparisonStatus(await api("POST", `/api/comparisons/${compare.id}/${action}`));
    if (compare.playing) {
      if (compare.timer === null) compare.timer = setInterval(refreshComparison, 250);
    } else {
      stopComparisonPolling();
      await refreshComparison();
    }
  } catch (error) {
    showError(error.message);
  }
}

function stopComparisonPolling() {
  if (compare.timer !== null) clearInterval(compare.timer);
  compare.timer = null;
}

async function refreshComparison() {
  if (compare.id === null || compare.busy) return;
  compare.busy = true;
  const id = compare.id;
  const actions = compare.actions;
  try {
    const status = await api("GET", `/api/comparisons/${id}/status`);
    if (id !== compare.id || actions !== compare.actions) return;
    applyComparisonStatus(status);
    const maps = await Promise.all(["a", "b"].map((run) => api("GET", `/api/comparisons/${id}/${run}/heatmap?resolution=48`)));
    if (id !== compare.id) return;
    drawHeatmap($("compare-a-heatmap"), maps[0], compare.points);
    drawHeatmap($("compare-b-heatmap"), maps[1], compare.points);
    const networks = await Promise.all(["a", "b"].map((run) => api("GET", `/api/comparisons/${id}/${run}/network`)));
    if (id !== compare.id) return;
    for (const [i, run] of ["a", "b"].entries()) {
      drawNetwork(networks[i], run);
      const hovered = compare.neurons[run];
      if (hovered) await showNeuron(hovered.layer, hovered.unit, run);
    }
    if (!status.playing) stopComparisonPolling();
  } catch (error) {
    showError(error.message);
    stopComparisonPolling();
  } finally {
    compare.busy = false;
  }
}

function applyComparisonStatus(status) {
  compare.playing = status.playing;
  $("compare-play").textContent = status.playing ? "❚❚ Pause" : "▶ Play";
  $("compare-steps").textContent = status.steps;
  $("compare-epoch").textContent = status.epoch;
  const runs = status.runs.map((run, i) => ({ label: compare.labels[i], history: run.history }));
  status.runs.forEach((run, i) => {
    const last = run.history[run.history.length - 1];
    const name = ["a", "b"][i];
    const text = last ? `test accuracy ${percent(last.test_accuracy)}, test loss ${last.test_loss.toFixed(4)}` : "";
    $(`compare-${name}-stats`).textContent = run.diverged ? "stopped: J is not finite" : text;
  });
  for (const [id, trainKey, testKey, axes, legendBelow] of [["compare-loss", "train_loss", "test_loss", status.history_axes.loss, false], ["compare-accuracy", "train_accuracy", "test_accuracy", status.history_axes.accuracy, true]]) {
    const canvas = $(id);
    drawCurve(canvas, runs, trainKey, testKey, axes, legendBelow);
    canvas.dataset.runs = JSON.stringify(runs.filter((run) => run.history.length).map((run) => run.label));
    canvas.dataset.steps = JSON.stringify(status.runs.map((run) => run.steps));
  }
}

// Zoom buttons, Ctrl + wheel and drag to pan for the graph panel.
function wireGraphPanel() {
  const container = $("graph");
  $("graph-zoom-in").addEventListener("click", () => applyZoom(graphView.zoom * 1.25));
  $("graph-zoom-out").addEventListener("click", () => applyZoom(graphView.zoom / 1.25));
  $("graph-zoom-reset").addEventListener("click", () => applyZoom(1));
  $("graph-zoom-fit").addEventListener("click", fitZoom);
  container.addEventListener("wheel", (event) => {
    if (!event.ctrlKey) return;
    event.preventDefault();
    applyZoom(graphView.zoom * (event.deltaY < 0 ? 1.1 : 1 / 1.1));
  }, { passive: false });
  container.addEventListener("mousedown", (event) => {
    graphView.drag = { x: event.clientX, y: event.clientY, left: container.scrollLeft, top: container.scrollTop, moved: false };
  });
  window.addEventListener("mousemove", (event) => {
    const drag = graphView.drag;
    if (!drag || !(event.buttons & 1)) return;
    const [dx, dy] = [event.clientX - drag.x, event.clientY - drag.y];
    if (Math.abs(dx) + Math.abs(dy) > 4) drag.moved = true;
    if (drag.moved) {
      container.scrollLeft = drag.left - dx;
      container.scrollTop = drag.top - dy;
      container.classList.add("panning");
    }
  });
  window.addEventListener("mouseup", () => {
    container.classList.remove("panning");
    // The click that ends a drag comes after mouseup: forget the drag just after it.
    setTimeout(() => { graphView.drag = null; }, 0);
  });
}

// ---------- image mode: the server's --dataset (MNIST, Fashion-MNIST or a folder) ----------

function datasetEntry(name) {
  const list = (page.defaults && page.defaults.datasets) || [];
  return list.find((entry) => entry.name === name) || null;
}

function isImageDataset(name) {
  const entry = datasetEntry(name);
  return Boolean(entry && entry.kind === "images");
}

// The held-out split's name: "test", or "validation" when the image folder had no test files.
function heldOutName() {
  return page.mode === "images" && page.images ? page.images.test_split : "test";
}

// The name of class k ("3"; "3 Dress" when the classes have names of their own).
function className(k) {
  const name = page.images ? page.images.classes[k] : String(k);
  return name === String(k) ? name : `${k} ${name}`;
}

// Adds the server's image dataset to the dataset menu, or says how to get one.
async function loadDefaults() {
  page.defaults = await api("GET", "/api/defaults");
  page.images = page.defaults.images || null;
  const select = form.elements.namedItem("dataset");
  for (const entry of page.defaults.datasets || []) {
    if (entry.kind !== "images" || [...select.options].some((option) => option.value === entry.name)) continue;
    select.add(new Option(entry.title, entry.name));
  }
  $("dataset-note").hidden = Boolean(page.images);
  if (page.images) $("images-note").textContent = `${page.images.title}: ${page.images.image[0]} x ${page.images.image[1]} images, ${page.images.classes.length} classes`;
  if (page.images) {
    const labels = $("sample-label");
    page.images.classes.forEach((_, k) => labels.add(new Option(className(k), String(k))));
  }
}

// The settings a switch to `dataset` starts from: that kind's defaults (a 784-H-10 network
// wants other settings than a 2-D one).
function kindDefaults(dataset) {
  const images = isImageDataset(dataset);
  const params = new URLSearchParams(images ? page.defaults.image_defaults : page.defaults.settings);
  params.set("dataset", dataset);
  return params.toString();
}

// Shows the panels of `mode` ("points" or "images") and only its settings (the others are
// disabled, so they are not sent).
function applyMode(mode) {
  const images = mode === "images";
  if (images && compare.id !== null) closeComparison();
  page.mode = mode;
  for (const element of document.querySelectorAll(".points-only")) element.hidden = images;
  for (const element of document.querySelectorAll(".images-only")) element.hidden = !images;
  for (const element of form.querySelectorAll(".points-only input, .points-only select")) element.disabled = images;
  markDrawingSplit();
  const name = heldOutName();
  for (const element of document.querySelectorAll(".held-out-name")) element.textContent = name;
  $("sample-split").querySelector('option[value="test"]').textContent = name;
  $("accuracy-note").textContent = `share of ${images ? "images" : "points"} classified correctly`;
  $("confusion-note").textContent = `the ${name} images by true class (rows) and predicted class; shade: share of the row; click a cell for its images`;
  $("index-control").hidden = page.sample.split === "drawing";
}

// ---------- 28 x 28 images ----------

// Draws a rows x cols image on `canvas`, scaled to the canvas: pixel i has colour
// `colour(i)` ([r, g, b]); square pixels unless `smooth`.
function drawPixels(canvas, rows, cols, colour, smooth = false) {
  const cells = document.createElement("canvas");
  cells.width = cols;
  cells.height = rows;
  const cellContext = cells.getContext("2d");
  const image = cellContext.createImageData(cols, rows);
  for (let i = 0; i < rows * cols; i++) {
    const rgb = colour(i);
    for (let c = 0; c < 3; c++) image.data[4 * i + c] = rgb[c];
    image.data[4 * i + 3] = 255;
  }
  cellContext.putImageData(image, 0, 0);
  const context = canvas.getContext("2d");
  context.imageSmoothingEnabled = smooth;
  context.drawImage(cells, 0, 0, canvas.width, canvas.height);
  canvas.dataset.drawn = "true";
}

// A grey level in [0, 1] as the network reads it: 0 black background, 1 white ink.
function greyRgb(v) {
  const g = Math.round(255 * Math.min(1, Math.max(0, v)));
  return [g, g, g];
}

// A value in [-1, 1] on the page's diverging scale: orange below 0, white at 0, blue above
// (the network view's edge colours).
function divergingRgb(v) {
  const colour = v >= 0 ? CLASS_COLOURS[1] : CLASS_COLOURS[0];
  const alpha = Math.min(1, Math.abs(v)) * 0.9;
  return colour.map((c) => Math.round(255 * (1 - alpha) + c * alpha));
}

// The class probabilities as labelled bars, the most likely class highlighted.
function showProbabilities(container, probabilities) {
  const best = probabilities.indexOf(Math.max(...probabilities));
  container.innerHTML = probabilities.map((p, k) => `<div class="bar-row${k === best ? " top" : ""}" data-class="${k}" data-probability="${p}"><span class="bar-name">${escapeHtml(className(k))}</span><span class="bar"><span style="width:${(100 * p).toFixed(2)}%"></span></span><span class="bar-value">${percent(p)}</span></div>`).join("");
}

// ---------- the drawing canvas ----------

// Brush width in canvas pixels: a digit drawn across most of the 280-pixel square is scaled
// into 20 pixels, so its strokes end up about 2 pixels wide, as MNIST's pen strokes.
const BRUSH = 22;
// The least time between two drawings sent while a stroke goes on (ms).
const DRAWING_INTERVAL = 120;

const drawing = {
  ink: false,      // something is drawn on the canvas
  sent: false,     // the session holds the drawing (it was posted)
  graphed: false,  // the graph was switched to the session's first drawing
  pointer: null,   // the id of the pointer drawing now
  last: null,      // its last position [x, y]
  dirty: false,    // the canvas changed since it was last posted
  inFlight: false,
  lastPost: 0,
  timer: null,
};

function clearDrawing() {
  const canvas = $("drawing");
  const context = canvas.getContext("2d");
  context.fillStyle = "black";
  context.fillRect(0, 0, canvas.width, canvas.height);
  drawing.ink = false;
  drawing.dirty = false;
  $("probabilities").innerHTML = `<p class="hint">Draw something on the black square.</p>`;
  $("drawing-status").textContent = "";
  const input = $("drawing-input");
  input.getContext("2d").clearRect(0, 0, input.width, input.height);
  delete input.dataset.drawn;
}

function canvasPoint(canvas, event) {
  const box = canvas.getBoundingClientRect();
  return [((event.clientX - box.left) * canvas.width) / box.width, ((event.clientY - box.top) * canvas.height) / box.height];
}

// A round-capped line of ink from the last position to `point` (a dot when it is the first).
function inkTo(point) {
  const context = $("drawing").getContext("2d");
  context.strokeStyle = "white";
  context.lineWidth = BRUSH;
  context.lineCap = "round";
  context.lineJoin = "round";
  context.beginPath();
  const from = drawing.last || point;
  context.moveTo(from[0], from[1]);
  context.lineTo(point[0], point[1] + (drawing.last ? 0 : 0.01));
  context.stroke();
  drawing.last = point;
  drawing.ink = true;
  drawing.dirty = true;
}

// The canvas as the drawing route wants it: one grey byte per pixel, row-major, 255 = ink.
function drawingBytes() {
  const canvas = $("drawing");
  const data = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
  const bytes = new Uint8Array(canvas.width * canvas.height);
  for (let i = 0; i < bytes.length; i++) bytes[i] = data[4 * i];
  return bytes;
}

// Posts the drawing when the last post is DRAWING_INTERVAL old and none is in flight.
function scheduleDrawingPost() {
  if (!drawing.ink || !drawing.dirty || page.mode !== "images" || page.session === null) return;
  if (drawing.inFlight || drawing.timer !== null) return;
  const wait = DRAWING_INTERVAL - (performance.now() - drawing.lastPost);
  if (wait > 0) {
    drawing.timer = setTimeout(() => {
      drawing.timer = null;
      scheduleDrawingPost();
    }, wait);
    return;
  }
  postDrawing();
}

async function postDrawing() {
  const canvas = $("drawing");
  const session = page.session;
  const strokeEnded = drawing.pointer === null;
  drawing.dirty = false;
  drawing.inFlight = true;
  drawing.lastPost = performance.now();
  try {
    const answer = await api("POST", `/api/sessions/${session}/drawing?width=${canvas.width}&height=${canvas.height}`, drawingBytes());
    if (session !== page.session || !drawing.ink) return;
    drawing.sent = true;
    markDrawingSplit();
    showDrawingAnswer(answer);
    // When a stroke ends the graph shows the drawing: switched to it once per session, then
    // redrawn whenever the learner keeps it there.
    if (strokeEnded && !drawing.graphed && page.sample.split !== "drawing") selectSample("drawing", 0);
    else if (strokeEnded && page.sample.split === "drawing") await loadGraph();
    if (strokeEnded) drawing.graphed = true;
  } catch (error) {
    showError(error.message);
  } finally {
    drawing.inFlight = false;
    if (drawing.dirty) scheduleDrawingPost();
  }
}

function showDrawingAnswer(answer) {
  showProbabilities($("probabilities"), answer.probabilities);
  const input = $("drawing-input");
  drawPixels(input, page.images.image[0], page.images.image[1], (i) => greyRgb(answer.input[i]));
  $("drawing-status").textContent = `predicted ${className(answer.predicted)} (weights of step ${answer.step})`;
}

// The graph's split menu offers the drawing once the session holds one.
function markDrawingSplit() {
  const option = $("sample-split").querySelector('option[value="drawing"]');
  option.disabled = page.mode !== "images" || !drawing.sent;
}

function wireDrawing() {
  const canvas = $("drawing");
  clearDrawing();
  canvas.addEventListener("pointerdown", (event) => {
    if (event.pointerType === "mouse" && event.button !== 0) return;
    event.preventDefault();
    canvas.setPointerCapture(event.pointerId);
    drawing.pointer = event.pointerId;
    drawing.last = null;
    inkTo(canvasPoint(canvas, event));
    scheduleDrawingPost();
  });
  canvas.addEventListener("pointermove", (event) => {
    if (event.pointerId !== drawing.pointer) return;
    const events = event.getCoalescedEvents ? event.getCoalescedEvents() : [];
    for (const each of events.length ? events : [event]) inkTo(canvasPoint(canvas, each));
    scheduleDrawingPost();
  });
  const end = (event) => {
    if (event.pointerId !== drawing.pointer) return;
    drawing.pointer = null;
    drawing.last = null;
    drawing.dirty = drawing.ink;
    scheduleDrawingPost();
  };
  canvas.addEventListener("pointerup", end);
  canvas.addEventListener("pointercancel", end);
  $("drawing-clear").addEventListener("click", clearDrawing);
}

// ---------- image mode's views: hidden units, confusion matrix, examples ----------

const imageViews = {
  unitsAt: -Infinity,     // when each view was last fetched (performance.now())
  confusionAt: -Infinity,
  drawingAt: -Infinity,
  units: null,            // the last /units answer
  hoveredUnit: null,      // index in it of the unit under the mouse
  confusion: null,        // the last /confusion answer
  cell: null,             // {actual, predicted, offset} of the clicked cell
};
// Images shown per page of a confusion cell (at most the server's max_examples).
const EXAMPLES_PER_PAGE = 20;
// While training plays: the hidden units and the drawing's probabilities every second, the
// confusion matrix every two.
const UNITS_EVERY = 1000, CONFUSION_EVERY = 2000, DRAWING_EVERY = 1000;

async function refreshImageViews(session, force) {
  const now = performance.now();
  const jobs = [];
  if (force || now - imageViews.unitsAt > UNITS_EVERY) {
    imageViews.unitsAt = now;
    jobs.push(api("GET", `/api/sessions/${session}/units`).then((answer) => session === page.session && drawUnits(answer)));
  }
  if (force || now - imageViews.confusionAt > CONFUSION_EVERY) {
    imageViews.confusionAt = now;
    jobs.push(api("GET", `/api/sessions/${session}/confusion`).then((answer) => session === page.session && drawConfusion(answer)));
    if (imageViews.cell) jobs.push(loadExamples(imageViews.cell.actual, imageViews.cell.predicted, imageViews.cell.offset));
  }
  if (drawing.sent && !drawing.inFlight && (force || now - imageViews.drawingAt > DRAWING_EVERY)) {
    imageViews.drawingAt = now;
    jobs.push(api("GET", `/api/sessions/${session}/drawing`).then(
      (answer) => session === page.session && drawing.ink && showDrawingAnswer(answer),
      () => {
        // The session no longer holds it (a reset): send it again.
        drawing.sent = false;
        drawing.dirty = drawing.ink;
        scheduleDrawingPost();
      },
    ));
  }
  await Promise.all(jobs);
}

// W1's rows as a grid of images, on one diverging scale (the largest |w| sent).
function drawUnits(answer) {
  imageViews.units = answer;
  const grid = $("units");
  while (grid.children.length > answer.units.length) grid.lastChild.remove();
  while (grid.children.length < answer.units.length) {
    const canvas = document.createElement("canvas");
    canvas.width = 2 * answer.cols;
    canvas.height = 2 * answer.rows;
    grid.append(canvas);
  }
  const scale = Math.max(1e-12, answer.scale);
  answer.units.forEach((unit, i) => {
    const canvas = grid.children[i];
    drawPixels(canvas, answer.rows, answer.cols, (p) => divergingRgb(unit.weights[p] / scale));
    canvas.dataset.position = i;
    canvas.dataset.unit = unit.unit;
    canvas.title = unitText(unit);
  });
  grid.dataset.step = answer.step;
  grid.dataset.drawn = "true";
  showUnitCaption();
}

function unitText(unit) {
  return `unit ${unit.unit} (row ${unit.unit} of W1): ‖w‖₂ = ${unit.norm_text}`;
}

function showUnitCaption() {
  const answer = imageViews.units;
  if (!answer) return;
  const unit = imageViews.hoveredUnit === null ? null : answer.units[imageViews.hoveredUnit];
  $("units-caption").textContent = unit
    ? unitText(unit)
    : `The ${answer.units.length} of ${answer.hidden} units with the largest norm, at step ${answer.step}; full colour at |w| = ${answer.scale_text}. Hover a unit for its index and norm.`;
}

// Where the confusion matrix's cells sit on its canvas (CSS pixels).
const CONFUSION_CELL = 38;

function drawConfusion(answer) {
  imageViews.confusion = answer;
  const canvas = $("confusion");
  const n = answer.classes.length;
  const names = answer.classes.map((_, k) => className(k));
  const measure = canvas.getContext("2d");
  measure.font = "12px DejaVu Sans, sans-serif";
  const widest = Math.max(...names.map((name) => measure.measureText(name).width));
  const long = widest > CONFUSION_CELL - 6;
  const cell = CONFUSION_CELL;
  const left = 22 + widest + 8;
  const top = 20 + (long ? widest * 0.75 + 10 : 18);
  canvas.dataset.cssWidth = left + n * cell + 4;
  canvas.dataset.cssHeight = top + n * cell + 4;
  const { context } = sharpContext(canvas);
  context.font = "12px DejaVu Sans, sans-serif";
  const selected = imageViews.cell;
  for (let a = 0; a < n; a++) {
    const row = answer.counts[a];
    const total = row.reduce((sum, c) => sum + c, 0);
    for (let p = 0; p < n; p++) {
      const count = row[p];
      const share = total ? count / total : 0;
      const colour = a === p ? CLASS_COLOURS[1] : [214, 39, 40];
      const alpha = count ? 0.1 + 0.9 * share : 0;
      const rgb = colour.map((c) => Math.round(255 * (1 - alpha) + c * alpha));
      const x = left + p * cell, y = top + a * cell;
      context.fillStyle = `rgb(${rgb.join(",")})`;
      context.fillRect(x, y, cell, cell);
      context.strokeStyle = "#e2e4e8";
      context.lineWidth = 1;
      context.strokeRect(x + 0.5, y + 0.5, cell - 1, cell - 1);
      if (count) {
        context.fillStyle = alpha > 0.55 ? "white" : "#222";
        context.textAlign = "center";
        context.textBaseline = "middle";
        context.fillText(String(count), x + cell / 2, y + cell / 2);
      }
    }
  }
  if (selected) {
    context.strokeStyle = "#183153";
    context.lineWidth = 3;
    context.strokeRect(left + selected.predicted * cell + 1.5, top + selected.actual * cell + 1.5, cell - 3, cell - 3);
  }
  context.fillStyle = "#333";
  context.textAlign = "right";
  context.textBaseline = "middle";
  names.forEach((name, k) => context.fillText(name, left - 6, top + (k + 0.5) * cell));
  names.forEach((name, k) => {
    context.save();
    context.translate(left + (k + 0.5) * cell, top - 6);
    if (long) {
      context.rotate(-Math.PI / 4);
      context.textAlign = "left";
    } else context.textAlign = "center";
    context.textBaseline = long ? "middle" : "bottom";
    context.fillText(name, 0, 0);
    context.restore();
  });
  context.fillStyle = "#183153";
  context.font = "bold 12px DejaVu Sans, sans-serif";
  context.textAlign = "center";
  context.textBaseline = "top";
  context.fillText("predicted", left + (n * cell) / 2, 2);
  context.save();
  context.translate(4, top + (n * cell) / 2);
  context.rotate(-Math.PI / 2);
  context.fillText("true", 0, 0);
  context.restore();
  canvas.plot = { left, top, cell, classes: n };
  canvas.dataset.drawn = "true";
  canvas.dataset.total = answer.total;
  $("confusion-note").textContent = `the ${answer.split} images at step ${answer.step}: accuracy ${percent(answer.accuracy)}; rows are true classes, shade the share of the row; click a cell for its images`;
}

function pickCell(event) {
  const canvas = $("confusion");
  const plot = canvas.plot;
  if (!plot) return;
  const box = canvas.getBoundingClientRect();
  const x = ((event.clientX - box.left) * Number(canvas.dataset.cssWidth)) / box.width - plot.left;
  const y = ((event.clientY - box.top) * Number(canvas.dataset.cssHeight)) / box.height - plot.top;
  const predicted = Math.floor(x / plot.cell), actual = Math.floor(y / plot.cell);
  if (predicted < 0 || actual < 0 || predicted >= plot.classes || actual >= plot.classes) return;
  loadExamples(actual, predicted, 0).then(() => imageViews.confusion && drawConfusion(imageViews.confusion));
}

// The held-out images of one cell of the confusion matrix, a page at a time, each with the
// probabilities of its true and predicted classes; clicking one shows its graph.
async function loadExamples(actual, predicted, offset) {
  if (page.session === null) return;
  const session = page.session;
  const caps = (page.defaults && page.defaults.image_caps) || {};
  const limit = Math.min(EXAMPLES_PER_PAGE, caps.max_examples || EXAMPLES_PER_PAGE);
  let answer;
  try {
    answer = await api("GET", `/api/sessions/${session}/examples?actual=${actual}&predicted=${predicted}&offset=${offset}&limit=${limit}`);
  } catch (error) {
    showError(error.message);
    return;
  }
  if (session !== page.session) return;
  if (answer.total > 0 && offset >= answer.total) return loadExamples(actual, predicted, Math.max(0, answer.total - limit));
  imageViews.cell = { actual, predicted, offset };
  const shown = answer.examples.length;
  const range = answer.total > shown ? `, ${offset + 1}–${offset + shown} shown` : "";
  const kind = actual === predicted ? "classified correctly" : "misclassified";
  $("examples-head").innerHTML = `<b>true ${escapeHtml(className(actual))}, predicted ${escapeHtml(className(predicted))}</b>: ${answer.total} ${kind} image${answer.total === 1 ? "" : "s"}${range} `
    + `<button id="examples-prev"${offset > 0 ? "" : " disabled"}>◀</button> <button id="examples-next"${offset + shown < answer.total ? "" : " disabled"}>▶</button> <button id="examples-close">Close</button>`;
  $("examples-prev").addEventListener("click", () => loadExamples(actual, predicted, Math.max(0, offset - limit)));
  $("examples-next").addEventListener("click", () => loadExamples(actual, predicted, offset + limit));
  $("examples-close").addEventListener("click", closeExamples);
  const box = $("examples");
  box.innerHTML = "";
  const [rows, cols] = page.images.image;
  for (const example of answer.examples) {
    const figure = document.createElement("figure");
    figure.className = "example";
    figure.dataset.index = example.index;
    figure.title = `${heldOutName()} image ${example.index}: click to show its graph`;
    const canvas = document.createElement("canvas");
    canvas.width = 2 * cols;
    canvas.height = 2 * rows;
    drawPixels(canvas, rows, cols, (i) => greyRgb(example.pixels[i] / 255));
    const caption = document.createElement("figcaption");
    const p = example.probabilities;
    caption.innerHTML = `<b>p(${escapeHtml(className(predicted))}) ${percent(p[predicted])}</b>${actual === predicted ? "" : `<br>p(${escapeHtml(className(actual))}) ${percent(p[actual])}`}`;
    figure.append(canvas, caption);
    figure.addEventListener("click", () => selectSample("test", example.index));
    box.append(figure);
  }
}

function closeExamples() {
  imageViews.cell = null;
  $("examples-head").innerHTML = `<p class="hint">Click a cell of the matrix: its images, with the probabilities the network gives them.</p>`;
  $("examples").innerHTML = "";
  if (imageViews.confusion && page.mode === "images") drawConfusion(imageViews.confusion);
}

// The graph section's picture of its input x and the caption naming the sample.
function showGraphImage(answer) {
  const { split, index } = page.sample;
  const sample = split === "drawing" ? "the drawing" : `${split === "test" ? heldOutName() : split} image ${index}`;
  const own = answer.true_label === null ? "" : `, true label ${escapeHtml(className(answer.true_label))}`;
  const label = answer.label === answer.true_label ? "" : `, loss for label ${escapeHtml(className(answer.label))}${sampleLabel() === "" ? " (its predicted class)" : ""}`;
  $("sample-name").innerHTML = `${sample}${own}${label}: ${escapeHtml(answer.graph.caption)}`;
  if (answer.input_image) {
    const image = answer.input_image;
    drawPixels($("graph-input"), image.rows, image.cols, (i) => greyRgb(image.pixels[i]));
  }
  if (answer.probabilities) {
    const p = answer.probabilities;
    const best = p.indexOf(Math.max(...p));
    $("graph-probabilities").textContent = `x, 28 x 28; predicted ${className(best)} (${percent(p[best])})`;
  }
}

function wireImageViews() {
  $("confusion").addEventListener("click", pickCell);
  $("units").addEventListener("mouseover", (event) => {
    if (event.target.tagName !== "CANVAS") return;
    imageViews.hoveredUnit = Number(event.target.dataset.position);
    showUnitCaption();
  });
  $("units").addEventListener("mouseleave", () => {
    imageViews.hoveredUnit = null;
    showUnitCaption();
  });
}

// ---------- wiring ----------

form.addEventListener("change", (event) => {
  // Between 2-D points and images the settings start from that kind's defaults.
  const dataset = form.elements.namedItem("dataset").value;
  if (event.target.name === "dataset" && isImageDataset(dataset) !== (page.mode === "images")) {
    newSession(kindDefaults(dataset));
  } else {
    newSession(formQuery());
  }
});
form.addEventListener("submit", (event) => { event.preventDefault(); newSession(formQuery()); });
$("play").addEventListener("click", () => control(page.playing ? "pause" : "play"));
$("step").addEventListener("click", () => control("step"));
$("reset").addEventListener("click", () => control("reset"));
$("pace").addEventListener("change", () => control("pace", "?pace=" + encodeURIComponent($("pace").value)));
$("heatmap").addEventListener("click", pickPoint);
$("sample-split").addEventListener("change", () => selectSample($("sample-split").value, 0));
$("sample-index").addEventListener("change", () => {
  const count = sampleCount($("sample-split").value);
  const index = Math.min(count - 1, Math.max(0, Number($("sample-index").value) || 0));
  selectSample($("sample-split").value, index);
});
$("backward-mode").addEventListener("click", () => {
  if (page.backward === null) stepBackward(0);
  else { page.backward = null; markGraph(); showNode(currentNode()); }
});
$("backward-next").addEventListener("click", () => stepBackward(1));
$("backward-prev").addEventListener("click", () => stepBackward(-1));
// Each side-by-side run gets a copy of the session's hover card, its ids prefixed.
for (const run of ["a", "b"]) {
  const card = $("neuron-card").cloneNode(true);
  const prefix = neuronView(run).prefix;
  for (const element of [card, ...card.querySelectorAll("[id]")]) element.id = prefix + element.id;
  $(`compare-${run}-run`).appendChild(card);
}

// Hovering a hidden unit of the session's network, or of either side-by-side run's.
for (const run of [null, "a", "b"]) {
  const svg = $(neuronView(run).prefix + "network");
  svg.addEventListener("mouseover", (event) => {
    const unit = event.target.closest("g.unit");
    if (!unit) return;
    const layer = Number(unit.dataset.layer), index = Number(unit.dataset.unit);
    const hovered = neuronView(run).hovered;
    if (hovered && hovered.layer === layer && hovered.unit === index) return;
    for (const g of svg.querySelectorAll("g.unit.hovered")) g.classList.remove("hovered");
    unit.classList.add("hovered");
    showNeuron(layer, index, run).catch((error) => showError(error.message));
  });
  svg.addEventListener("mouseleave", () => hideNeuron(run));
}
for (const button of document.querySelectorAll("#compare-presets button")) button.addEventListener("click", () => startComparison(button.dataset.preset));
$("compare-play").addEventListener("click", () => compareControl(compare.playing ? "pause" : "play"));
$("compare-step").addEventListener("click", () => compareControl("step?count=10"));
$("compare-reset").addEventListener("click", () => compareControl("reset"));
$("compare-close").addEventListener("click", closeComparison);

$("sample-label").addEventListener("change", () => loadGraph().catch((error) => showError(error.message)));
wireGraphPanel();
wireDrawing();
wireImageViews();

(async () => {
  try {
    await loadDefaults();
  } catch (error) {
    showError("The server's defaults are not available: " + error.message);
  }
  const query = location.search.replace(/^\?/, "");
  if (!(await newSession(query))) {
    const error = $("error").textContent;
    const defaults = page.defaults || (await api("GET", "/api/defaults"));
    if (await newSession(defaults.settings)) showError(error + " — the defaults are shown instead.");
  }
})();
