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
    drawHeatmap(map);
    drawNetwork(network);
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

function drawHeatmap(map) {
  const canvas = $("heatmap");
  const context = canvas.getContext("2d");
  const n = map.resolution;
  const cells = document.createElement("canvas");
  cells.width = n; cells.height = n;
  const cellContext = cells.getContext("2d");
  const image = cellContext.createImageData(n, n);
  const classes = page.points ? page.points.classes : 3;
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
  if (!page.points) return;
  for (const split of ["train", "test"]) {
    page.points[split].forEach(([x, y, label], index) => {
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
  const selected = page.points[page.sample.split][page.sample.index];
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
  drawCurve($("loss-curve"), "train_loss", "test_loss", null);
  drawCurve($("accuracy-curve"), "train_accuracy", "test_accuracy", [0, 1]);
}

function drawCurve(canvas, trainKey, testKey, fixedRange) {
  const context = canvas.getContext("2d");
  const w = canvas.width, h = canvas.height, left = 40, bottom = 18, top = 6, right = 8;
  context.clearRect(0, 0, w, h);
  const points = page.history;
  const lastStep = points.length ? Math.max(1, points[points.length - 1].step) : 1;
  let low = 0, high = 1;
  if (fixedRange) [low, high] = fixedRange;
  else if (points.length) high = Math.max(1e-6, ...points.map((p) => Math.max(p[trainKey], p[testKey])));
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
  for (const [key, dash] of [[trainKey, []], [testKey, [5, 4]]]) {
    context.beginPath();
    context.setLineDash(dash);
    context.strokeStyle = key === trainKey ? "#183153" : "#e8710a";
    context.lineWidth = 2;
    points.forEach((p, i) => (i ? context.lineTo(x(p.step), y(p[key])) : context.moveTo(x(p.step), y(p[key]))));
    context.stroke();
  }
  context.setLineDash([]);
}

// ---------- network ----------

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
  sizes.forEach((n, k) => {
    for (let i = 0; i < n; i++) {
      const r = n > 24 ? 3 : 6;
      parts.push(`<circle cx="${columnX(k)}" cy="${nodeY(k, i)}" r="${r}" fill="white" stroke="#183153" stroke-width="1.5"/>`);
    }
    const name = k === 0 ? "x" : k === sizes.length - 1 ? "o" : "h" + (sizes.length > 3 ? k : "");
    parts.push(`<text x="${columnX(k)}" y="${height - 6}" text-anchor="middle" font-size="12" font-style="italic" fill="#183153">${name} (${n})</text>`);
  });
  svg.innerHTML = parts.join("");
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
wireGraphPanel();

(async () => {
  const query = location.search.replace(/^\?/, "");
  if (!(await newSession(query))) {
    const error = $("error").textContent;
    const defaults = await api("GET", "/api/defaults");
    if (await newSession(defaults.settings)) showError(error + " — the defaults are shown instead.");
  }
})();
