"""Peak memory of ``mnist-logreg serve`` under large pictures, with a real uvicorn server.

Starts ``python -m mnist_logreg serve MODEL --port P`` (a model fitted here on 1,000 MNIST rows)
on 127.0.0.1 as a child process for each scenario, sends it bounded loops of requests, and reads
the server's peak resident memory (``VmHWM`` in ``/proc/PID/status``):

``sequential``
    ``--requests`` requests one after the other, each a 2000x2000 (4-megapixel) PNG of a digit
    stroke (about 11 kB of base64: a small request, a large picture).
``concurrent``
    ``--clients`` threads at once, each sending ``--requests`` such requests; a 503 answer is
    retried after its ``Retry-After`` (at most 60 times per request).

Each scenario prints the server's resident memory after start-up, its peak, and the answers'
status counts. A guard stops the server if its memory passes ``--kill-above-mb``. Run it with
``PYTHONPATH`` pointing at the code to measure (e.g. an older checkout to compare).

Usage::

    python benchmarks/serve_memory.py --clients 40 --requests 3
"""

from __future__ import annotations

import argparse
import base64
import http.client
import io
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

import numpy as np
from PIL import Image


def _picture_body(side: int) -> bytes:
    picture = np.full((side, side), 255, dtype=np.uint8)
    picture[side // 5 : 4 * side // 5, side // 2 - side // 30 : side // 2 + side // 30] = 0
    buffer = io.BytesIO()
    Image.fromarray(picture).save(buffer, format="PNG")
    data_url = "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()
    return json.dumps({"image": data_url}).encode()


def _status_kb(pid: int, field: str) -> int:
    with open(f"/proc/{pid}/status") as handle:
        for line in handle:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"no {field} for process {pid}")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _post(port: int, body: bytes) -> tuple[int, float]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    try:
        connection.request(
            "POST", "/predict", body=body, headers={"Content-Type": "application/json"}
        )
        response = connection.getresponse()
        response.read()
        retry = float(response.getheader("Retry-After") or 1)
        return response.status, retry
    finally:
        connection.close()


def _scenario(
    name: str, model: Path, clients: int, requests: int, body: bytes, kill_above_mb: float
) -> None:
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "mnist_logreg", "serve", str(model), "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise RuntimeError(f"server did not start: {server.stderr.read()}") from None
                time.sleep(0.1)
        started_mb = _status_kb(server.pid, "VmRSS") / 1024
        statuses: Counter[int] = Counter()
        lock = threading.Lock()
        stop = threading.Event()

        def guard() -> None:
            while not stop.wait(0.05):
                if _status_kb(server.pid, "VmRSS") / 1024 > kill_above_mb:
                    print(f"  guard: server passed {kill_above_mb:.0f} MB, stopping it")
                    server.kill()
                    return

        def client() -> None:
            for _ in range(requests):
                for _attempt in range(60):
                    try:
                        status, retry = _post(port, body)
                    except OSError:
                        status, retry = -1, 0.0
                    with lock:
                        statuses[status] += 1
                    if status != 503:
                        break
                    time.sleep(retry)

        watcher = threading.Thread(target=guard, daemon=True)
        watcher.start()
        start = time.monotonic()
        threads = [threading.Thread(target=client) for _ in range(clients)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = time.monotonic() - start
        stop.set()
        peak_mb = _status_kb(server.pid, "VmHWM") / 1024 if server.poll() is None else float("nan")
        print(
            f"{name}: {clients} client(s) x {requests} request(s) in {elapsed:.1f} s; server RSS "
            f"{started_mb:.0f} MB after start-up, peak {peak_mb:.0f} MB; "
            f"answers {dict(sorted(statuses.items()))}",
            flush=True,
        )
    finally:
        server.terminate()
        server.wait(timeout=30)


def main(argv: list[str] | None = None) -> int:
    """Fit a small model, then run the sequential and concurrent scenarios."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=40)
    parser.add_argument("--requests", type=int, default=3, help="requests per client")
    parser.add_argument("--side", type=int, default=2000, help="picture side in pixels")
    parser.add_argument("--kill-above-mb", type=float, default=6000)
    args = parser.parse_args(argv)

    from mnist_logreg.datasets import load_dataset
    from mnist_logreg.model_selection import build_model
    from mnist_logreg.persistence import save_model

    mnist = load_dataset("mnist")
    model = build_model(0.05, pixel_max=255.0).fit(mnist.X_train[:1000], mnist.y_train[:1000])
    body = _picture_body(args.side)
    print(f"code: {os.environ.get('PYTHONPATH', '(installed package)')}")
    print(f"request: {args.side}x{args.side} PNG, body {len(body)} bytes")
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "model.npz"
        save_model(model, path, extra={"image_shape": [28, 28], "pixel_max": 255.0})
        _scenario("sequential", path, 1, 2 * args.requests, body, args.kill_above_mb)
        _scenario("concurrent", path, args.clients, args.requests, body, args.kill_above_mb)
    return 0


if __name__ == "__main__":
    sys.exit(main())
