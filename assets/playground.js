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
  $("play").textContent = status.playing ? "❚❚ Pause" : "▶ Play";
  $("steps").textContent = status.steps;
  $("epoch").textContent = status.epoch;
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

// ---------- decision boundary ----------

function toCanvas(extent, size, x, y) {
  const span = extent.max - extent.min;
  return [((x - extent.min) / span) * size, ((extent.max - y) / span) * size];
}

function drawHeatmap(canvas, map, points) {
  const context = canvas.getContext("2d");
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
  context.clearRect(0, 0, canvas.width, canvas.height);
  context.drawImage(cells, 0, 0, canvas.width, canvas.height);
  drawAxes(context, map.extent, canvas.width);
  if (!points) return;
  for (const split of ["train", "test"]) {
    points[split].forEach(([x, y, label], index) => {
      const [px, py] = toCanvas(map.extent, canvas.width, x, y);
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
  const selected = canvas === $("heatmap") && points[page.sample.split][page.sample.index];
  if (selected) {
    const [px, py] = toCanvas(map.extent, canvas.width, selected[0], selected[1]);
    context.beginPath();
    context.arc(px, py, 8, 0, 2 * Math.PI);
    context.lineWidth = 2.5;
    context.strokeStyle = "#d62728";
    context.stroke();
  }
  canvas.dataset.drawn = "true";
  canvas.extent = map.extent;
}

function drawAxes(context, extent, size) {
  context.strokeStyle = "rgba(0,0,0,0.15)";
  context.lineWidth = 1;
  const [ox, oy] = toCanvas(extent, size, 0, 0);
  context.beginPath();
  context.moveTo(ox, 0); context.lineTo(ox, size);
  context.moveTo(0, oy); context.lineTo(size, oy);
  context.stroke();
}

function pickPoint(event) {
  const canvas = $("heatmap");
  if (!page.points || !canvas.extent) return;
  const box = canvas.getBoundingClientRect();
  const px = ((event.clientX - box.left) / box.width) * canvas.width;
  const py = ((event.clientY - box.top) / box.height) * canvas.height;
  let best = null;
  for (const split of ["train", "test"]) {
    page.points[split].forEach(([x, y], index) => {
      const [qx, qy] = toCanvas(canvas.extent, canvas.width, x, y);
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

function drawCurves() {
  const runs = [{ label: "", history: page.history }];
  drawCurve($("loss-curve"), runs, "train_loss", "test_loss", null);
  drawCurve($("accuracy-curve"), runs, "train_accuracy", "test_accuracy", [0, 1]);
}

// runs: [{label, history}]; each run after the first is drawn in its own colour.
function drawCurve(canvas, runs, trainKey, testKey, fixedRange) {
  const context = canvas.getContext("2d");
  const w = canvas.width, h = canvas.height, left = 40, bottom = 18, top = 6, right = 8;
  context.clearRect(0, 0, w, h);
  const all = runs.flatMap((run) => run.history);
  const lastStep = all.length ? Math.max(1, ...all.map((p) => p.step)) : 1;
  let low = 0, high = 1;
  if (fixedRange) [low, high] = fixedRange;
  else if (all.length) high = Math.max(1e-6, ...all.map((p) => Math.max(p[trainKey], p[testKey])));
  const x = (step) => left + (step / lastStep) * (w - left - right);
  const y = (v) => top + (1 - (v - low) / (high - low)) * (h - top - bottom);
  context.strokeStyle = "#ccc";
  context.fillStyle = "#666";
  context.font = "10px DejaVu Sans, sans-serif";
  context.lineWidth = 1;
  for (let i = 0; i <= 4; i++) {
    const v = low + ((high - low) * i) / 4;
    context.beginPath(); context.moveTo(left, y(v)); context.lineTo(w - right, y(v)); context.stroke();
    context.fillText(fixedRange ? (100 * v).toFixed(0) + "%" : v.toPrecision(2), 2, y(v) + 3);
  }
  context.fillText("step " + lastStep, w - right - 60, h - 4);
  const RUN_COLOURS = [["#183153", "#e8710a"], ["#8e44ad", "#17a589"]];
  runs.forEach((run, r) => {
    const [trainColour, testColour] = RUN_COLOURS[r % RUN_COLOURS.length];
    for (const [key, dash] of [[trainKey, []], [testKey, [5, 4]]]) {
      context.beginPath();
      context.setLineDash(dash);
      context.strokeStyle = key === trainKey ? trainColour : testColour;
      context.lineWidth = 2;
      run.history.forEach((p, i) => (i ? context.lineTo(x(p.step), y(p[key])) : context.moveTo(x(p.step), y(p[key]))));
      context.stroke();
    }
  });
  context.setLineDash([]);
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

async function loadGraph() {
  if (page.session === null) return;
  const { split, index } = page.sample;
  const answer = await api("GET", `/api/sessions/${page.session}/graph?split=${split}&index=${index}`);
  page.graph = answer.graph;
  const label = answer.graph.label;
  $("sample-name").textContent = `${split} sample ${index} (x = [${answer.graph.x.map((v) => v.toFixed(3)).join(", ")}], y = ${label}, J = ${answer.graph.objective.toPrecision(4)})`;
  const container = $("graph");
  container.innerHTML = answer.graph.svg;
  for (const element of container.querySelectorAll("g.node")) {
    const node = Number(element.dataset.node);
    element.addEventListener("mouseenter", () => showNode(node));
    element.addEventListener("mouseleave", () => showNode(currentNode()));
    element.addEventListener("click", () => {
      page.pinned = node;
      page.backward = null;
      markGraph();
      showNode(node);
    });
  }
  container.dataset.drawn = "true";
  markGraph();
  showNode(currentNode());
}

function currentNode() {
  if (page.backward !== null && page.graph) return page.graph.backward_order[page.backward];
  return page.pinned;
}

function markGraph() {
  const order = page.graph ? page.graph.backward_order : [];
  for (const element of $("graph").querySelectorAll("g.node")) {
    const node = Number(element.dataset.node);
    const position = order.indexOf(node);
    element.classList.toggle("selected", page.backward === null && node === page.pinned);
    element.classList.toggle("backward-current", page.backward !== null && position === page.backward);
    element.classList.toggle("backward-done", page.backward !== null && position >= 0 && position < page.backward);
  }
  const stepping = page.backward !== null;
  $("backward-mode").classList.toggle("active", stepping);
  $("backward-mode").textContent = stepping ? "Stop stepping" : "Step through backward";
  $("backward-prev").hidden = !stepping;
  $("backward-next").hidden = !stepping;
  $("backward-position").textContent = stepping ? `operator ${page.backward + 1} of ${order.length} in backward order` : "";
}

function numbers(values, shape) {
  if (!values.length) return "none";
  const text = values.map((v) => (Math.abs(v) < 1e-4 && v !== 0 ? v.toExponential(2) : v.toFixed(4))).join(", ");
  const total = shape ? shape.split("x").reduce((a, b) => a * Number(b), 1) : values.length;
  return "[" + text + (total > values.length ? `, … (${total} in all)` : "") + "]";
}

function escapeHtml(text) {
  return String(text).replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]);
}

function equationBlock(title, equation) {
  if (!equation) return `<div class="equation"><b>${title}</b>: —</div>`;
  return `<div class="equation"><b>${title}</b><br><span class="equation-number">(${escapeHtml(equation.number)})</span><span class="formula">${escapeHtml(equation.formula)}</span></div>`;
}

function showNode(node) {
  const info = $("node-info");
  if (node === null || node === undefined || !page.graph) {
    info.innerHTML = `<p class="hint">Hover or click a node of the graph: its value and gradient for the selected sample, and the equation that produced them.</p>`;
    return;
  }
  const n = page.graph.nodes[node];
  const operator = n.kind === "operator";
  let html = `<div class="head"><h3>${escapeHtml(n.label)}</h3><div class="kind">${n.kind}${n.shape ? ", " + n.shape : ""}</div></div>`;
  html += equationBlock(operator ? "forward rule" : "forward", n.equations.forward);
  html += equationBlock(operator ? "backward (its vector-Jacobian product)" : "backward", n.equations.backward);
  if (!operator) {
    html += `<div><div><b>value</b> <div class="numbers">${numbers(n.value, n.shape)}</div></div>`;
    html += `<div><b>∂J/∂${escapeHtml(n.label)}</b>${n.gradient_norm !== null ? ` (norm ${n.gradient_norm.toPrecision(4)})` : ""} <div class="numbers">${numbers(n.gradient, n.shape)}</div></div></div>`;
  }
  info.innerHTML = html;
  info.dataset.node = node;
}

function stepBackward(delta) {
  if (!page.graph) return;
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

// ---------- wiring ----------

form.addEventListener("change", () => newSession(formQuery()));
form.addEventListener("submit", (event) => { event.preventDefault(); newSession(formQuery()); });
$("play").addEventListener("click", () => control(page.playing ? "pause" : "play"));
$("step").addEventListener("click", () => control("step"));
$("reset").addEventListener("click", () => control("reset"));
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

(async () => {
  const query = location.search.replace(/^\?/, "");
  if (!(await newSession(query))) {
    const error = $("error").textContent;
    const defaults = await api("GET", "/api/defaults");
    if (await newSession(defaults.settings)) showError(error + " — the defaults are shown instead.");
  }
})();
