"""The drawing page served at ``GET /``: one self-contained HTML document (no external files).

The user draws light ink on a black 280x280 canvas (mouse, pen or touch, through pointer events).
While drawing (at most one request in flight) and at the end of each stroke, the page posts the
canvas as a PNG data URL to ``POST /predict``; the server normalizes it like MNIST and answers with
the probabilities and the 28x28 image the model saw, which the page draws as the predicted class,
one bar per class (``.bar`` elements) and a magnified picture.
"""

from __future__ import annotations

import base64
import hashlib

__all__ = ["PAGE_CSP", "PAGE_HTML"]

_STYLE = """
  :root { color-scheme: light dark; font-family: system-ui, sans-serif; }
  body { margin: 1.5rem; }
  h1 { font-size: 1.4rem; margin: 0 0 1rem; }
  .layout { display: flex; flex-wrap: wrap; gap: 2rem; align-items: flex-start; }
  #pad { background: #000; outline: 1px solid #888; touch-action: none;
         cursor: crosshair; width: 280px; height: 280px; }
  .controls { margin-top: .5rem; display: flex; gap: 1rem; align-items: center; }
  #status { color: #b33; min-height: 1.2em; }
  .prediction { font-size: 1.1rem; margin-bottom: .75rem; }
  #prediction { font-size: 3rem; font-weight: 700; display: inline-block; min-width: 2ch;
                vertical-align: middle; }
  #bars { display: grid; gap: 3px; min-width: 260px; }
  .bar { display: grid; grid-template-columns: 5ch 1fr 6ch; align-items: center; gap: .5rem; }
  .bar .track { background: #8884; height: 14px; border-radius: 3px; overflow: hidden; }
  .bar .fill { background: #3b7dd8; height: 100%; width: 0; transition: width .1s; }
  .bar.top .fill { background: #e07b00; }
  .bar .value { text-align: right; font-variant-numeric: tabular-nums; }
  #seen { width: 112px; height: 112px; image-rendering: pixelated; outline: 1px solid #888;
          background: #000; }
  .seen { margin-top: 1rem; }
"""

_SCRIPT = """
"use strict";
const pad = document.getElementById("pad");
const ctx = pad.getContext("2d");
const seen = document.getElementById("seen");
const predictionEl = document.getElementById("prediction");
const barsEl = document.getElementById("bars");
const statusEl = document.getElementById("status");
let drawing = false, dirty = false, inFlight = false, pending = false, last = null;

function clearPad() {
  ctx.fillStyle = "#000";
  ctx.fillRect(0, 0, pad.width, pad.height);
  dirty = false;
  predictionEl.textContent = "";
  barsEl.replaceChildren();
  statusEl.textContent = "";
  seen.getContext("2d").clearRect(0, 0, seen.width, seen.height);
}

function point(event) {
  const rect = pad.getBoundingClientRect();
  return [(event.clientX - rect.left) * pad.width / rect.width,
          (event.clientY - rect.top) * pad.height / rect.height];
}

function strokeTo(p) {
  ctx.strokeStyle = "#fff";
  ctx.lineWidth = 20;
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
  drawing = true;
  last = point(event);
  ctx.fillStyle = "#fff";
  ctx.beginPath();
  ctx.arc(last[0], last[1], 10, 0, 2 * Math.PI);
  ctx.fill();
  dirty = true;
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
document.getElementById("clear").addEventListener("click", clearPad);

function requestPrediction() {
  if (!dirty) return;
  if (inFlight) { pending = true; return; }
  inFlight = true;
  pending = false;
  fetch("predict", {
    method: "POST",
    headers: {"Content-Type": "application/json"},
    body: JSON.stringify({image: pad.toDataURL("image/png")}),
  })
    .then(async (response) => {
      const body = await response.json().catch(() => ({error: response.statusText}));
      if (!response.ok) throw new Error(body.error || response.statusText);
      return body;
    })
    .then(show)
    .catch((error) => { statusEl.textContent = String(error.message || error); })
    .finally(() => {
      inFlight = false;
      if (pending) requestPrediction();
    });
}

function show(result) {
  if (!dirty) return;  // cleared while the request was in flight
  statusEl.textContent = "";
  predictionEl.textContent = result.class_name;
  const names = result.class_names;
  if (barsEl.children.length !== names.length) {
    barsEl.replaceChildren(...names.map((name) => {
      const bar = document.createElement("div");
      bar.className = "bar";
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
    bar.querySelector(".value").textContent = (100 * p).toFixed(1) + "%";
    bar.title = names[i] + ": " + p.toFixed(4);
  });
  const [rows, cols] = result.image_shape;
  seen.width = cols;
  seen.height = rows;
  const image = seen.getContext("2d").createImageData(cols, rows);
  result.pixels.forEach((v, i) => {
    image.data[4 * i] = image.data[4 * i + 1] = image.data[4 * i + 2] = v;
    image.data[4 * i + 3] = 255;
  });
  seen.getContext("2d").putImageData(image, 0, 0);
}

clearPad();
"""

PAGE_HTML = f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>mnist-logreg: draw a digit</title>
<link rel="icon" href="data:,">
<style>{_STYLE}</style>
</head>
<body>
<h1>Draw a digit</h1>
<div class="layout">
  <div>
    <canvas id="pad" width="280" height="280" aria-label="drawing area"></canvas>
    <div class="controls">
      <button id="clear" type="button">Clear</button>
      <span id="status" role="status" aria-live="polite"></span>
    </div>
  </div>
  <div>
    <div class="prediction">Prediction: <output id="prediction"></output></div>
    <div id="bars" aria-label="probability of each class"></div>
    <div class="seen">What the model saw:<br>
      <canvas id="seen" width="28" height="28" aria-label="normalized input image"></canvas>
    </div>
  </div>
</div>
<script>{_SCRIPT}</script>
</body>
</html>
"""


def _sha256(text: str) -> str:
    return base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii")


#: Content-Security-Policy of the page: only its own inline script and style (by hash) run, and
#: the only place it may connect to is its own origin.
PAGE_CSP = (
    "default-src 'none'; "
    f"script-src 'sha256-{_sha256(_SCRIPT)}'; "
    f"style-src 'sha256-{_sha256(_STYLE)}'; "
    "connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; "
    "frame-ancestors 'none'"
)
