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
