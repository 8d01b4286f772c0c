"use strict";
const byId = (id) => document.getElementById(id);
const pad = byId("pad");
const ctx = pad.getContext("2d");
const seen = byId("seen");
const evidenceCanvas = byId("evidence");
const predictionEl = byId("prediction");
const topEl = byId("top");
const barsEl = byId("bars");
const statusEl = byId("status");
const sourceEl = byId("source");
const cursorEl = byId("cursor");
const dropEl = byId("drop");
const fileEl = byId("file");
const INK = 20;                         // pen width, in canvas pixels
const FOR = [213, 94, 0];               // red: pixels for the predicted class
const AGAINST = [0, 114, 178];          // blue: pixels for the runner-up
let limits = {max_body_bytes: 1000000};
let generation = 0;                     // bumped by every clear: older answers are dropped
let drawing = false, dirty = false, inFlight = false, pending = false, last = null;
let showingPicture = false;
let awaited = 0;                        // answers awaited
const pen = {x: 140, y: 140, down: false};

// ---- model card -------------------------------------------------------------------------
function cardValue(id, text) {
  const el = byId(id);
  el.textContent = text === null ? "unknown" : text;
  el.classList.toggle("unknown", text === null);
}

function fillCard(info) {
  const card = (info && info.model) || {};
  const known = (v) => v !== null && v !== undefined;
  cardValue("card-dataset", known(card.dataset) ? card.dataset : null);
  cardValue("card-c", known(card.C) ? String(Number(card.C.toPrecision(3))) : null);
  cardValue("card-accuracy",
            known(card.test_accuracy) ? (100 * card.test_accuracy).toFixed(2) + "%" : null);
  byId("card-classes").textContent = info && info.classes
    ? info.classes.length + " classes, " + info.n_features + " pixels" : "";
  byId("card-model").textContent = [card.classifier, card.strategy].filter(known).join(", ");
  const ci = card.test_accuracy_ci95;
  byId("card-ci").textContent = known(ci) && known(card.test_accuracy)
    ? "95% CI " + (100 * ci[0]).toFixed(1) + "\u2013" + (100 * ci[1]).toFixed(1) + "%" : "";
  const notes = [];
  if (known(card.created_utc)) {
    notes.push("Model file written " + card.created_utc.slice(0, 10)
               + (known(card.package_version) ? " by mnist-logreg " + card.package_version : ""));
  }
  if (card.from_run_metrics) notes.push("completed from its run folder's metrics.json");
  byId("card-note").textContent = notes.length ? notes.join("; ") + "." : "";
}

fetch("info")
  .then((response) => (response.ok ? response.json() : Promise.reject(response.statusText)))
  .then((info) => { if (info.limits) limits = info.limits; fillCard(info); })
  .catch(() => fillCard(null));

// ---- the pad ----------------------------------------------------------------------------
function clearCanvas(canvas) { canvas.getContext("2d").clearRect(0, 0, canvas.width, canvas.height); }

function clearPad() {
  generation++;
  ctx.fillStyle = "#000";
  ctx.fillRect(0, 0, pad.width, pad.height);
  dirty = false;
  pending = false;
  showingPicture = false;
  sourceEl.textContent = "";
  predictionEl.textContent = "";
  topEl.replaceChildren();
  barsEl.replaceChildren();
  statusEl.textContent = "";
  clearCanvas(seen);
  clearCanvas(evidenceCanvas);
  byId("evidence-caption").textContent = "Draw a digit to see which pixels decided.";
  byId("legend-for").textContent = "";
  byId("legend-against").textContent = "";
  byId("evidence-sum").textContent = "";
  markBusy();
}

function startFresh() { if (showingPicture) clearPad(); }

function point(event) {
  const rect = pad.getBoundingClientRect();
  return [(event.clientX - rect.left) * pad.width / rect.width,
          (event.clientY - rect.top) * pad.height / rect.height];
}

function dot(p) {
  ctx.fillStyle = "#fff";
  ctx.beginPath();
  ctx.arc(p[0], p[1], INK / 2, 0, 2 * Math.PI);
  ctx.fill();
  last = p;
  dirty = true;
}

function strokeTo(p) {
  ctx.strokeStyle = "#fff";
  ctx.lineWidth = INK;
  ctx.lineCap = "round";
  ctx.lineJoin = "round";
  ctx.beginPath();
  ctx.moveTo(last[0], last[1]);
  ctx.lineTo(p[0], p[1]);
  ctx.stroke();
  last = p;
  dirty = true;
}

pad.addEventListener("pointerdown", (event) => {
  event.preventDefault();
  pad.setPointerCapture(event.pointerId);
  startFresh();
  drawing = true;
  dot(point(event));
  requestPrediction();
});
pad.addEventListener("pointermove", (event) => {
  if (!drawing) return;
  event.preventDefault();
  strokeTo(point(event));
  requestPrediction();
});
function endStroke() {
  if (!drawing) return;
  drawing = false;
  requestPrediction();
}
pad.addEventListener("pointerup", endStroke);
pad.addEventListener("pointercancel", endStroke);
byId("clear").addEventListener("click", clearPad);

// ---- the keyboard pen: arrows move it, Space or Enter lifts or lowers it ------------------
function placeCursor() {
  const scale = pad.clientWidth / pad.width;
  cursorEl.style.left = pad.offsetLeft + pad.clientLeft + pen.x * scale + "px";
  cursorEl.style.top = pad.offsetTop + pad.clientTop + pen.y * scale + "px";
  cursorEl.classList.toggle("down", pen.down);
  const column = Math.round(pen.x / pad.width * 28), row = Math.round(pen.y / pad.height * 28);
  pad.setAttribute("aria-label", "drawing pad, pen " + (pen.down ? "down" : "up")
                   + " at column " + column + ", row " + row + " of 28");
}

function setPen(down) {
  pen.down = down;
  if (down) { startFresh(); dot([pen.x, pen.y]); }
  placeCursor();
  requestPrediction();
}

const MOVES = {ArrowLeft: [-1, 0], ArrowRight: [1, 0], ArrowUp: [0, -1], ArrowDown: [0, 1]};
pad.addEventListener("keydown", (event) => {
  if (event.key in MOVES) {
    event.preventDefault();
    const step = event.shiftKey ? 4 : 12;
    const [dx, dy] = MOVES[event.key];
    const next = [Math.min(pad.width - 1, Math.max(0, pen.x + dx * step)),
                  Math.min(pad.height - 1, Math.max(0, pen.y + dy * step))];
    if (pen.down) { last = [pen.x, pen.y]; strokeTo(next); }
    [pen.x, pen.y] = next;
    placeCursor();
    if (pen.down) requestPrediction();
  } else if (event.key === " " || event.key === "Enter") {
    event.preventDefault();
    if (!event.repeat) setPen(!pen.down);
  } else if (event.key === "Escape" && pen.down) {
    setPen(false);
  } else if (event.key === "Backspace" || event.key === "Delete") {
    event.preventDefault();
    pen.down = false;
    clearPad();
    placeCursor();
  }
});
pad.addEventListener("focus", () => {
  cursorEl.hidden = !pad.matches(":focus-visible");
  placeCursor();
});
pad.addEventListener("blur", () => {
  cursorEl.hidden = true;
  if (pen.down) setPen(false);
});

// ---- predictions ------------------------------------------------------------------------
// The result panels are aria-busy while an answer is awaited or another one will be asked for.
function markBusy() {
  const busy = String(awaited > 0 || pending);
  for (const id of ["prediction-panel", "evidence-panel"]) byId(id).setAttribute("aria-busy", busy);
}

// Post one request; show its answer (or its error) unless the pad was cleared meanwhile.
function ask(body, errorPrefix) {
  const asked = generation;
  awaited++;
  markBusy();
  return fetch("predict", {
    method: "POST",
    headers: {"Content-Type": "application/json"},
    body: JSON.stringify(body),
  }).then(async (response) => {
    const answer = await response.json().catch(() => ({error: response.statusText}));
    if (!response.ok) throw new Error(answer.error || response.statusText);
    if (asked === generation) show(answer);
  }).catch((error) => {
    if (asked === generation) statusEl.textContent = errorPrefix + String(error.message || error);
  }).finally(() => { awaited--; markBusy(); });
}

function requestPrediction() {
  if (!dirty || showingPicture) { pending = false; markBusy(); return; }
  if (inFlight) { pending = true; markBusy(); return; }
  inFlight = true;
  pending = false;
  ask({image: pad.toDataURL("image/png")}, "").finally(() => {
    inFlight = false;
    if (pending) requestPrediction();
  });
}

// ---- a picture, dropped or chosen -------------------------------------------------------
function usePicture(file) {
  if (!file) return;
  clearPad();
  const asked = generation;
  const encoded = 4 * Math.ceil(file.size / 3) + 16;  // base64 in {"image": "..."}
  if (encoded > limits.max_body_bytes) {
    statusEl.textContent = file.name + " is too large (" + Math.ceil(file.size / 1000)
      + " kB; this server takes pictures up to " + Math.floor(limits.max_body_bytes * 0.75 / 1000)
      + " kB)";
    return;
  }
  showingPicture = true;
  dirty = true;
  sourceEl.textContent = "Picture: " + file.name + " (drawing on the pad starts a new digit)";
  createImageBitmap(file).then((bitmap) => {
    if (asked !== generation) return;
    const scale = Math.min(pad.width / bitmap.width, pad.height / bitmap.height);
    const w = bitmap.width * scale, h = bitmap.height * scale;
    ctx.drawImage(bitmap, (pad.width - w) / 2, (pad.height - h) / 2, w, h);
  }).catch(() => {});  // no preview; the server still reads (or refuses) the picture
  const reader = new FileReader();
  reader.onload = () => {
    if (asked !== generation) return;
    const url = String(reader.result);
    ask({image: url.slice(url.indexOf(",") + 1)}, file.name + ": ");
  };
  reader.onerror = () => { statusEl.textContent = "could not read " + file.name; };
  reader.readAsDataURL(file);
}

byId("choose").addEventListener("click", () => fileEl.click());
fileEl.addEventListener("change", () => {
  usePicture(fileEl.files[0]);
  fileEl.value = "";
});
const hasFiles = (event) => event.dataTransfer && [...event.dataTransfer.types].includes("Files");
document.addEventListener("dragover", (event) => {
  if (!hasFiles(event)) return;
  event.preventDefault();
  event.dataTransfer.dropEffect = "copy";
  dropEl.classList.add("dragging");
});
document.addEventListener("dragleave", (event) => {
  if (event.relatedTarget === null) dropEl.classList.remove("dragging");
});
document.addEventListener("drop", (event) => {
  if (!hasFiles(event)) return;
  event.preventDefault();
  dropEl.classList.remove("dragging");
  usePicture(event.dataTransfer.files[0]);
});

// ---- showing an answer ------------------------------------------------------------------
function percent(p) { return (100 * p).toFixed(1) + "%"; }

function showBars(result) {
  const names = result.class_names;
  if (barsEl.children.length !== names.length) {
    barsEl.replaceChildren(...names.map((name) => {
      const bar = document.createElement("div");
      bar.className = "bar";
      bar.setAttribute("role", "listitem");
      bar.dataset.class = name;
      const label = document.createElement("span");
      label.className = "label";
      label.textContent = name;
      const track = document.createElement("div");
      track.className = "track";
      const fill = document.createElement("div");
      fill.className = "fill";
      track.append(fill);
      const value = document.createElement("span");
      value.className = "value";
      bar.append(label, track, value);
      return bar;
    }));
  }
  const best = result.probabilities.indexOf(Math.max(...result.probabilities));
  result.probabilities.forEach((p, i) => {
    const bar = barsEl.children[i];
    bar.classList.toggle("top", i === best);
    bar.querySelector(".fill").style.width = (100 * p).toFixed(1) + "%";
    bar.querySelector(".value").textContent = percent(p);
    bar.title = names[i] + ": " + p.toFixed(4);
  });
}

function showTop(result) {
  const ranked = result.probabilities.map((p, i) => [p, i]).sort((a, b) => b[0] - a[0]);
  topEl.replaceChildren(...ranked.slice(0, 3).map(([p, i]) => {
    const item = document.createElement("li");
    item.textContent = result.class_names[i] + ": " + percent(p);
    return item;
  }));
}

function showSeen(result, rows, cols) {
  seen.width = cols;
  seen.height = rows;
  const image = seen.getContext("2d").createImageData(cols, rows);
  result.pixels.forEach((v, i) => {
    image.data[4 * i] = image.data[4 * i + 1] = image.data[4 * i + 2] = v;
    image.data[4 * i + 3] = 255;
  });
  seen.getContext("2d").putImageData(image, 0, 0);
}

// The image the model saw as grey ink on white, each pixel tinted by its share of the margin:
// red for the predicted class, blue for the runner-up; the largest share is fully coloured.
function showEvidence(result, rows, cols) {
  const evidence = result.evidence;
  const caption = byId("evidence-caption");
  if (!evidence) {
    clearCanvas(evidenceCanvas);
    caption.textContent = "This model is not linear: no evidence map.";
    return;
  }
  const shares = evidence.contributions;
  const largest = Math.max(...shares.map(Math.abs)) || 1;
  evidenceCanvas.width = cols;
  evidenceCanvas.height = rows;
  const image = evidenceCanvas.getContext("2d").createImageData(cols, rows);
  shares.forEach((share, i) => {
    const base = 255 - 0.6 * result.pixels[i];
    const alpha = Math.sqrt(Math.abs(share) / largest);
    const colour = share > 0 ? FOR : AGAINST;
    for (let c = 0; c < 3; c++) {
      image.data[4 * i + c] = Math.round(base * (1 - alpha) + colour[c] * alpha);
    }
    image.data[4 * i + 3] = 255;
  });
  evidenceCanvas.getContext("2d").putImageData(image, 0, 0);
  const k = evidence.class_name, j = evidence.versus_name;
  caption.textContent = "Red: for " + k + ". Blue: for " + j + " (the runner-up).";
  byId("legend-for").textContent = "for " + k;
  byId("legend-against").textContent = "for " + j;
  const total = shares.reduce((a, b) => a + b, 0);
  byId("evidence-sum").textContent = "score " + k + " \u2212 score " + j + " = "
    + evidence.score_difference.toFixed(3) + " = pixels " + total.toFixed(3)
    + " + intercepts " + evidence.intercept_difference.toFixed(3);
}

function show(result) {
  statusEl.textContent = "";
  predictionEl.textContent = result.class_name;
  showTop(result);
  showBars(result);
  const [rows, cols] = result.image_shape.length === 2
    ? result.image_shape : [1, result.image_shape[0]];
  showSeen(result, rows, cols);
  showEvidence(result, rows, cols);
}

clearPad();
