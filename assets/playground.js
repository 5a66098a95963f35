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
};

// ---------- settings <-> form <-> URL ----------

function formQuery() {
  const params = new URLSearchParams();
  for (const element of form.elements) {
    if (!element.name) continue;
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

async function api(method, path) {
  const response = await fetch(path, { method, cache: "no-store" });
  const body = await response.json().catch(() => ({ error: `HTTP ${response.status}` }));
  if (!response.ok) throw new Error(body.error || `HTTP ${response.status}`);
  return body;
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
  fillForm(created.settings);
  history.replaceState(null, "", "?" + created.settings);
  $("share").href = "?" + created.settings;
  page.points = await api("GET", `/api/sessions/${page.session}/points`);
  const count = page.points[page.sample.split].length;
  if (page.sample.index >= count) page.sample.index = 0;
  await refresh(true);
  return true;
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
    const [map, network] = await Promise.all([
      api("GET", `/api/sessions/${id}/heatmap?resolution=60`),
      api("GET", `/api/sessions/${id}/network`),
    ]);
    if (id !== page.session) return;
    drawHeatmap($("heatmap"), map, page.points);
    drawNetwork(network);
    if (page.neuron) await showNeuron(page.neuron.layer, page.neuron.unit);
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

// ---------- drawing helpers: sharp canvases, round ticks ----------

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

// Round tick values (1, 2 or 5 times a power of ten apart, and at least `smallestGap`)
// covering [low, high], about `count` of them.
function roundTicks(low, high, count, smallestGap = 0) {
  if (!(high > low)) return [low];
  const raw = Math.max(smallestGap, (high - low) / Math.max(1, count));
  const power = Math.pow(10, Math.floor(Math.log10(raw)));
  const gap = [1, 2, 5, 10].map((m) => m * power).find((g) => g >= raw * 0.999);
  const ticks = [];
  for (let v = Math.ceil(low / gap - 1e-9) * gap; v <= high + gap * 1e-9; v += gap) {
    ticks.push(Math.abs(v) < gap * 1e-9 ? 0 : Number(v.toPrecision(12)));
  }
  return ticks;
}

// A tick label as src/format.rs's axis_tick writes it: up to four decimals, trailing zeros
// dropped; scientific with one decimal outside 1e-3 .. 1e5.
function tickLabel(value) {
  const magnitude = Math.abs(value);
  if (value === 0) return "0";
  if (magnitude < 1e-3 || magnitude >= 1e5) return value.toExponential(1).replace(".0e", "e");
  return value.toFixed(4).replace(/0+$/, "").replace(/\.$/, "");
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
  drawAxes(context, map.extent, size);
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
// at HEATMAP_MARGIN: faint lines through 0, ticks at round values, labelled. The labels are
// kept in the canvas's data-x-ticks / data-y-ticks (JSON) for tests and tools.
function drawAxes(context, extent, size) {
  const m = HEATMAP_MARGIN;
  const ticks = roundTicks(extent.min, extent.max, 5);
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
  for (const v of ticks) {
    const [px, py] = toCanvas(extent, size, v, v);
    context.moveTo(px, size + 1); context.lineTo(px, size + 5);
    context.moveTo(-1, py); context.lineTo(-5, py);
  }
  context.stroke();
  context.textAlign = "center";
  context.textBaseline = "top";
  for (const v of ticks) context.fillText(tickLabel(v), toCanvas(extent, size, v, 0)[0], size + 6);
  context.textAlign = "right";
  context.textBaseline = "middle";
  for (const v of ticks) context.fillText(tickLabel(v), -7, toCanvas(extent, size, 0, v)[1]);
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
  const labels = JSON.stringify(ticks.map(tickLabel));
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
  refresh(true);
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
  drawCurve($("loss-curve"), runs, "train_loss", "test_loss", null);
  drawCurve($("accuracy-curve"), runs, "train_accuracy", "test_accuracy", [0, 1]);
}

// Train and test curves of `runs` ([{label, history}], history as /status returns it) over
// the steps made: the x axis spans the real range of steps, both axes have round ticks
// (accuracy, `fixedRange` [0, 1], in %), and a legend names each line. The tick labels are
// kept in data-x-ticks / data-y-ticks (JSON) and the legend in data-legend.
function drawCurve(canvas, runs, trainKey, testKey, fixedRange) {
  const { context, width: w, height: h } = sharpContext(canvas);
  const left = 46, bottom = 34, top = 8, right = 12;
  const points = runs.flatMap((run) => run.history);
  const firstStep = points.length ? Math.min(...points.map((p) => p.step)) : 0;
  // At least ten steps wide, so the first few steps are not stretched across the plot.
  const lastStep = Math.max(firstStep + 10, ...points.map((p) => p.step));
  let low = 0, high = 1;
  if (fixedRange) [low, high] = fixedRange;
  else if (points.length) {
    // Up to the first round tick at or above the largest value.
    const largest = Math.max(1e-6, ...points.map((p) => Math.max(p[trainKey], p[testKey])).filter(Number.isFinite));
    const ticks = roundTicks(0, largest, 4);
    const gap = ticks.length > 1 ? ticks[1] - ticks[0] : largest;
    high = ticks[ticks.length - 1];
    if (high < largest * 0.999) high += gap;
  }
  const x = (step) => left + ((step - firstStep) / (lastStep - firstStep)) * (w - left - right);
  const y = (v) => top + (1 - (Math.min(high, Math.max(low, v)) - low) / (high - low)) * (h - top - bottom);
  const yTicks = roundTicks(low, high, fixedRange ? 5 : 4);
  const xTicks = roundTicks(firstStep, lastStep, Math.max(2, Math.floor((w - left - right) / 55)), 1);
  const yLabel = (v) => (fixedRange ? tickLabel(Math.round(100 * v)) + " %" : tickLabel(v));
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
  for (const v of yTicks) context.fillText(yLabel(v), left - 5, y(v));
  context.textAlign = "center";
  context.textBaseline = "top";
  for (const s of xTicks) context.fillText(tickLabel(s), x(s), h - bottom + 5);
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
    for (const [key, colour, dash, name] of [[trainKey, style.train, style.trainDash, "train"], [testKey, style.test, style.testDash, "test"]]) {
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
  // The legend, one row per run (its label, then its train and test lines), in the top
  // right corner of the plot (the bottom right for accuracy, which rises towards the top),
  // on a white box so curves under it stay apart from it.
  context.setLineDash([]);
  const rowHeight = 15, sample = 24;
  const labelWidth = Math.max(0, ...runs.map((run) => (run.label ? context.measureText(run.label).width + 8 : 0)));
  const entryWidth = (name) => sample + 4 + context.measureText(name).width + 10;
  const boxWidth = 6 + labelWidth + entryWidth("train") + entryWidth("test");
  const boxHeight = 6 + rowHeight * runs.length;
  const boxLeft = w - right - boxWidth - 4;
  const boxTop = fixedRange ? h - bottom - boxHeight - 4 : top + 4;
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
  canvas.dataset.xTicks = JSON.stringify(xTicks.map(tickLabel));
  canvas.dataset.yTicks = JSON.stringify(yTicks.map(yLabel));
  canvas.dataset.legend = JSON.stringify(legend.map((item) => [item.text, item.colour]));
}

// ---------- network ----------

// Hidden units carry data-layer (L = 1..) and data-unit (u = 0..); hovering one shows its
// thumbnail (showNeuron). The units' positions are kept for placing the thumbnail.
function drawNetwork(network) {
  const svg = $("network");
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
  const hovered = page.neuron;
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
function hiddenName(layer) {
  const depth = Number($("network").dataset.layers || 3);
  return depth > 3 ? `h${layer}` : "h";
}

function inputName(layer, index) {
  return layer === 1 ? `x${index + 1}` : `${hiddenName(layer - 1)}[${index}]`;
}

async function showNeuron(layer, unit) {
  if (page.session === null) return;
  page.neuron = { layer, unit };
  const session = page.session;
  const answer = await api("GET", `/api/sessions/${session}/neuron?layer=${layer}&unit=${unit}&resolution=32`);
  if (session !== page.session || !page.neuron || page.neuron.layer !== layer || page.neuron.unit !== unit) return;
  drawNeuron(answer);
}

function hideNeuron() {
  page.neuron = null;
  $("neuron-card").hidden = true;
  for (const g of $("network").querySelectorAll("g.unit.hovered")) g.classList.remove("hovered");
}

// Outputs on a diverging scale: orange below 0, white at 0, blue above (as the edges).
function drawNeuron(neuron) {
  const card = $("neuron-card");
  const canvas = $("neuron-map");
  const n = neuron.resolution;
  const cells = document.createElement("canvas");
  cells.width = n; cells.height = n;
  const cellContext = cells.getContext("2d");
  const image = cellContext.createImageData(n, n);
  const scale = Math.max(1e-9, Math.abs(neuron.range[0]), Math.abs(neuron.range[1]));
  for (let i = 0; i < n * n; i++) {
    const v = neuron.values[i] / scale;
    const colour = v >= 0 ? CLASS_COLOURS[1] : CLASS_COLOURS[0];
    const alpha = Math.min(1, Math.abs(v)) * 0.9;
    for (let c = 0; c < 3; c++) image.data[4 * i + c] = Math.round(255 * (1 - alpha) + colour[c] * alpha);
    image.data[4 * i + 3] = 255;
  }
  cellContext.putImageData(image, 0, 0);
  const context = canvas.getContext("2d");
  context.imageSmoothingEnabled = true;
  context.drawImage(cells, 0, 0, canvas.width, canvas.height);
  drawAxes(context, neuron.extent, canvas.width);
  const name = `${hiddenName(neuron.layer)}[${neuron.unit}]`;
  const z = `${hiddenName(neuron.layer).replace("h", "z")}[${neuron.unit}]`;
  $("neuron-title").innerHTML = `<i>${name}</i> = ${escapeHtml(neuron.activation)}(<i>${z}</i>) over the plane`;
  $("neuron-range").innerHTML = `<i>${name}</i> from ${escapeHtml(neuron.text.range[0])} to ${escapeHtml(neuron.text.range[1])}: <span class="neg">orange −</span>, white 0, <span class="pos">blue +</span>`;
  const rows = neuron.text.incoming.map((text, i) => {
    const sign = neuron.incoming[i] >= 0 ? "pos" : "neg";
    return `<span class="weight"><i>${inputName(neuron.layer, i)}</i> <b class="${sign}">${escapeHtml(text)}</b></span>`;
  });
  if (neuron.text.bias !== null) rows.push(`<span class="weight">bias <b class="${neuron.bias >= 0 ? "pos" : "neg"}">${escapeHtml(neuron.text.bias)}</b></span>`);
  $("neuron-weights").innerHTML = `<div class="caption">incoming weights (row ${neuron.unit} of W${neuron.layer})</div><div class="list">${rows.join("")}</div>`;
  $("neuron-weights").classList.toggle("many", rows.length > 8);
  const unit = $("network").querySelector(`g.unit[data-layer="${neuron.layer}"][data-unit="${neuron.unit}"]`);
  if (unit) {
    const panel = $("network-panel").getBoundingClientRect();
    const svgBox = $("network").getBoundingClientRect();
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
  return `${page.session}/${page.sample.split}/${page.sample.index}`;
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
  const answer = await api("GET", `/api/sessions/${page.session}/graph?split=${split}&index=${index}&backward=${backward}`);
  page.graph = answer.graph;
  $("sample-name").innerHTML = `${split} sample ${index}: ${escapeHtml(answer.graph.caption)}`;
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
  for (const [id, trainKey, testKey, range] of [["compare-loss", "train_loss", "test_loss", null], ["compare-accuracy", "train_accuracy", "test_accuracy", [0, 1]]]) {
    const canvas = $(id);
    drawCurve(canvas, runs, trainKey, testKey, range);
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

// ---------- wiring ----------

form.addEventListener("change", () => newSession(formQuery()));
form.addEventListener("submit", (event) => { event.preventDefault(); newSession(formQuery()); });
$("play").addEventListener("click", () => control(page.playing ? "pause" : "play"));
$("step").addEventListener("click", () => control("step"));
$("reset").addEventListener("click", () => control("reset"));
$("pace").addEventListener("change", () => control("pace", "?pace=" + encodeURIComponent($("pace").value)));
$("heatmap").addEventListener("click", pickPoint);
$("sample-split").addEventListener("change", () => selectSample($("sample-split").value, 0));
$("sample-index").addEventListener("change", () => {
  const count = page.points ? page.points[$("sample-split").value].length : 1;
  const index = Math.min(count - 1, Math.max(0, Number($("sample-index").value) || 0));
  selectSample($("sample-split").value, index);
});
$("backward-mode").addEventListener("click", () => {
  if (page.backward === null) stepBackward(0);
  else { page.backward = null; markGraph(); showNode(currentNode()); }
});
$("backward-next").addEventListener("click", () => stepBackward(1));
$("backward-prev").addEventListener("click", () => stepBackward(-1));
$("network").addEventListener("mouseover", (event) => {
  const unit = event.target.closest("g.unit");
  if (!unit) return;
  const layer = Number(unit.dataset.layer), index = Number(unit.dataset.unit);
  if (page.neuron && page.neuron.layer === layer && page.neuron.unit === index) return;
  for (const g of $("network").querySelectorAll("g.unit.hovered")) g.classList.remove("hovered");
  unit.classList.add("hovered");
  showNeuron(layer, index).catch((error) => showError(error.message));
});
$("network").addEventListener("mouseleave", hideNeuron);
for (const button of document.querySelectorAll("#compare-presets button")) button.addEventListener("click", () => startComparison(button.dataset.preset));
$("compare-play").addEventListener("click", () => compareControl(compare.playing ? "pause" : "play"));
$("compare-step").addEventListener("click", () => compareControl("step?count=10"));
$("compare-reset").addEventListener("click", () => compareControl("reset"));
$("compare-close").addEventListener("click", closeComparison);

wireGraphPanel();

(async () => {
  const query = location.search.replace(/^\?/, "");
  if (!(await newSession(query))) {
    const error = $("error").textContent;
    const defaults = await api("GET", "/api/defaults");
    if (await newSession(defaults.settings)) showError(error + " — the defaults are shown instead.");
  }
})();
