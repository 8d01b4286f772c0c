"""End-to-end test of the drawing page in real headless Chromium (Debian's), through Playwright."""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
if not os.path.exists(CHROMIUM):
    pytest.skip(
        f"{CHROMIUM} is missing (apt-get install chromium; .ci/run installs it)",
        allow_module_level=True,
    )
pytest.importorskip("playwright.sync_api", reason="playwright is missing (pip install playwright)")
pytest.importorskip("uvicorn", reason="needs the 'serve' extra: pip install 'mnist-logreg[serve]'")

import uvicorn  # noqa: E402
from playwright.sync_api import sync_playwright  # noqa: E402

from mnist_logreg.datasets import load_dataset  # noqa: E402
from mnist_logreg.model_selection import build_model  # noqa: E402
from mnist_logreg.serving import create_app  # noqa: E402

# Flags for a root user on a machine without a GPU or outside network (see DESIGN.md).
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def server_url() -> Iterator[str]:
    """The drawing page of a small MNIST model, served by uvicorn on 127.0.0.1 in a thread."""
    data = load_dataset("mnist")
    model = build_model(0.05, pixel_max=255.0).fit(data.X_train[:2000], data.y_train[:2000])
    metadata = {"extra": {"image_shape": [28, 28], "class_names": list(data.class_names)}}
    port = _free_port()
    config = uvicorn.Config(
        create_app(model, metadata), host="127.0.0.1", port=port, log_level="error"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "uvicorn did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}/"
    server.should_exit = True
    thread.join(timeout=10)


def test_drawing_a_digit_shows_a_prediction_and_ten_bars(server_url: str, tmp_path: Path) -> None:
    """Test that a stroke drawn with the mouse yields a predicted digit and ten probability bars."""
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        try:
            page = browser.new_page(viewport={"width": 900, "height": 600})
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
            page.goto(server_url)
            box = page.locator("#pad").bounding_box()
            assert box is not None and round(box["width"]) == 280
            # a "1": one vertical stroke, drawn in small mouse steps
            x = box["x"] + 140
            page.mouse.move(x, box["y"] + 50)
            page.mouse.down()
            for step in range(1, 19):
                page.mouse.move(x + step * 0.5, box["y"] + 50 + step * 10)
            page.mouse.up()

            page.wait_for_function(
                "document.querySelectorAll('#bars .bar').length === 10"
                " && document.getElementById('prediction').textContent.trim() !== ''",
                timeout=15_000,
            )
            prediction = page.locator("#prediction").text_content()
            assert prediction is not None and prediction.strip() in [str(d) for d in range(10)]
            assert page.locator("#bars .bar").count() == 10
            widths = page.eval_on_selector_all(
                "#bars .bar .fill", "els => els.map(e => parseFloat(e.style.width))"
            )
            assert len(widths) == 10 and abs(sum(widths) - 100) < 1.0
            # the 28x28 image the model saw is drawn, and it is not empty
            lit = page.evaluate(
                "() => { const c = document.getElementById('seen');"
                " const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;"
                " let n = 0; for (let i = 0; i < d.length; i += 4) if (d[i] > 0) n++; return n; }"
            )
            assert lit > 10
            page.screenshot(path=str(tmp_path / "page.png"))
            page.click("#clear")
            assert page.locator("#bars .bar").count() == 0
            assert errors == []
        finally:
            browser.close()
