"""End-to-end tests of the drawing page in real headless Chromium (Debian's), through Playwright.

Each test drives the page as a user would (mouse, keyboard, file chooser, drag and drop), then
checks the page's state and a screenshot of it. Set ``MNIST_LOGREG_SCREENSHOTS=DIR`` to keep the
screenshots in DIR.
"""

from __future__ import annotations

import io
import os
import re
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
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
from PIL import Image  # noqa: E402
from playwright.sync_api import Browser, FileChooser, Page, sync_playwright  # noqa: E402

from mnist_logreg.datasets import load_dataset  # noqa: E402
from mnist_logreg.model_selection import build_model  # noqa: E402
from mnist_logreg.persistence import load_model, read_metadata, save_model  # noqa: E402
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
def mnist():
    """The bundled MNIST data set."""
    return load_dataset("mnist")


@pytest.fixture(scope="module")
def server_url(mnist, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The page of a small MNIST model file (with its card), served by uvicorn in a thread."""
    model = build_model(0.05, pixel_max=255.0).fit(mnist.X_train[:2000], mnist.y_train[:2000])
    accuracy = float(model.score(mnist.X_test, mnist.y_test))
    path = tmp_path_factory.mktemp("browser") / "model.npz"
    extra = {
        "dataset": "mnist",
        "C": 0.05,
        "test_accuracy": accuracy,
        "image_shape": [28, 28],
        "pixel_max": 255.0,
        "class_names": list(mnist.class_names),
    }
    save_model(model, path, extra=extra)
    port = _free_port()
    app = create_app(load_model(path), read_metadata(path))
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "uvicorn did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}/"
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """One headless Chromium for the module."""
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def page(browser: Browser, server_url: str) -> Iterator[Page]:
    """A fresh page on the server, failing the test on any script error or console error.

    A test that provokes an error on purpose removes it from ``page.console_errors``.
    """
    context = browser.new_context(viewport={"width": 1100, "height": 1000})
    tab = context.new_page()
    errors: list[str] = []
    tab.on("pageerror", lambda exc: errors.append(str(exc)))
    tab.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    tab.console_errors = errors  # type: ignore[attr-defined]
    tab.goto(server_url)
    tab.wait_for_function("() => document.getElementById('card-dataset').textContent !== '\u2026'")
    yield tab
    context.close()
    assert errors == []


_COLOURS = """(id) => {
  const c = document.getElementById(id);
  const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
  let red = 0, blue = 0, lit = 0;
  for (let i = 0; i < d.length; i += 4) {
    if (d[i] > d[i + 2] + 30) red++;
    if (d[i + 2] > d[i] + 30) blue++;
    if (d[i] > 0) lit++;
  }
  return {red, blue, lit, n: d.length / 4};
}"""

# an answer is shown and no other is awaited (the page marks its result panels aria-busy)
_SETTLED = "document.getElementById('prediction-panel').getAttribute('aria-busy') === 'false'"
_ANSWERED = (
    "() => document.querySelectorAll('#bars .bar').length === 10"
    " && document.getElementById('evidence-sum').textContent !== ''"
    f" && {_SETTLED}"
)


def _screenshot(page: Page, path: Path) -> Image.Image:
    """Take a screenshot (kept in $MNIST_LOGREG_SCREENSHOTS when set) and open it."""
    page.screenshot(path=str(path), full_page=True)
    keep = os.environ.get("MNIST_LOGREG_SCREENSHOTS")
    if keep:
        shutil.copy(path, Path(keep) / path.name)
    return Image.open(path).convert("RGB")


def _region(shot: Image.Image, page: Page, selector: str) -> np.ndarray:
    box = page.locator(selector).bounding_box()
    assert box is not None
    scroll = page.evaluate("() => [window.scrollX, window.scrollY]")
    left, top = round(box["x"] + scroll[0]), round(box["y"] + scroll[1])
    crop = shot.crop((left, top, left + round(box["width"]), top + round(box["height"])))
    return np.asarray(crop, dtype=int)


def _red_and_blue(pixels: np.ndarray) -> tuple[int, int]:
    r, b = pixels[..., 0], pixels[..., 2]
    return int(np.sum(r > b + 30)), int(np.sum(b > r + 30))


def _check_answer(page: Page, expected: str | None = None) -> None:
    """The prediction, the top three, ten bars and an evidence map that adds up."""
    prediction = (page.locator("#prediction").text_content() or "").strip()
    assert prediction in [str(d) for d in range(10)]
    if expected is not None:
        assert prediction == expected
    top = page.locator("#top li").all_text_contents()
    assert len(top) == 3 and top[0].startswith(prediction + ": ")
    shares = [float(t.split(": ")[1].rstrip("%")) for t in top]
    assert shares == sorted(shares, reverse=True)
    widths = page.eval_on_selector_all(
        "#bars .bar .fill", "els => els.map(e => parseFloat(e.style.width))"
    )
    assert len(widths) == 10 and abs(sum(widths) - 100) < 1.0
    assert page.evaluate(_COLOURS, "seen")["lit"] > 10
    colours = page.evaluate(_COLOURS, "evidence")
    assert colours["n"] == 784 and colours["red"] >= 10 and colours["blue"] >= 10
    caption = page.locator("#evidence-caption").text_content() or ""
    assert caption.startswith(f"Red: for {prediction}. Blue: for ")
    text = page.locator("#evidence-sum").text_content() or ""
    match = re.fullmatch(
        rf"score {prediction} \u2212 score (\d) = (-?[\d.]+) = pixels (-?[\d.]+)"
        r" \+ intercepts (-?[\d.]+)",
        text,
    )
    assert match is not None, text
    assert match.group(1) != prediction and match.group(1) == top[1].split(": ")[0]
    margin, pixels, intercepts = (float(match.group(i)) for i in (2, 3, 4))
    assert margin > 0 and abs(pixels + intercepts - margin) <= 0.0015


def test_drawing_shows_the_model_card_prediction_and_evidence_map(
    page: Page, tmp_path: Path
) -> None:
    """Test a mouse-drawn digit: card, top classes, ten bars, a red/blue evidence map on screen."""
    box = page.locator("#pad").bounding_box()
    assert box is not None and round(box["width"]) == 280
    # a "7": a bar, then a diagonal, drawn in small mouse steps
    x, y = box["x"], box["y"]
    page.mouse.move(x + 70, y + 60)
    page.mouse.down()
    for step in range(1, 15):
        page.mouse.move(x + 70 + step * 10, y + 60)
    for step in range(1, 18):
        page.mouse.move(x + 210 - step * 5, y + 60 + step * 11)
    page.mouse.up()
    page.wait_for_function(_ANSWERED, timeout=15_000)
    _check_answer(page)

    card = page.locator("#model-card")
    assert card.is_visible()
    assert page.locator("#card-dataset").inner_text() == "mnist"
    assert page.locator("#card-c").inner_text() == "0.05"
    assert re.fullmatch(r"\d{2}\.\d{2}%", page.locator("#card-accuracy").inner_text())
    assert "10 classes, 784 pixels" in card.inner_text()
    assert page.locator("#card-note").inner_text().startswith("Model file written 20")

    shot = _screenshot(page, tmp_path / "drawn.png")
    red, blue = _red_and_blue(_region(shot, page, "#evidence"))
    assert red > 400 and blue > 400  # of 196 x 196 on screen: both colours really shown
    card_pixels = _region(shot, page, "#card-dataset")
    assert (card_pixels.sum(axis=2) < 200).sum() > 50  # dark text drawn on the light card
    pad = _region(shot, page, "#pad")
    assert (pad.min(axis=2) > 200).sum() > 1000  # the white ink

    page.click("#clear")
    assert page.locator("#bars .bar").count() == 0
    assert page.locator("#evidence-sum").text_content() == ""
    assert page.evaluate(_COLOURS, "evidence")["red"] == 0


def test_the_keyboard_draws_clears_and_opens_the_file_chooser(
    page: Page, mnist, tmp_path: Path
) -> None:
    """Test Tab to the pad, arrows and Space to draw, Enter on Clear, Space on Choose."""
    choosers: list[FileChooser] = []
    page.on("filechooser", lambda chooser: choosers.append(chooser))  # intercepted from now
    page.keyboard.press("Tab")
    assert page.evaluate("() => document.activeElement.id") == "pad"
    assert page.locator("#cursor").is_visible()
    outline = page.evaluate("() => getComputedStyle(document.activeElement).outlineStyle")
    assert outline == "solid"  # visible focus
    page.keyboard.press("Space")  # pen down
    for _ in range(16):
        page.keyboard.press("ArrowDown")
    page.keyboard.press("Space")  # pen up
    assert "pen up" in (page.locator("#pad").get_attribute("aria-label") or "")
    page.wait_for_function(_ANSWERED, timeout=15_000)
    _check_answer(page, expected="1")
    _screenshot(page, tmp_path / "keyboard.png")

    page.keyboard.press("Backspace")  # clears, the pen stays where it was
    assert page.locator("#bars .bar").count() == 0
    page.keyboard.press("Enter")  # a dot: a new drawing, answered again
    page.wait_for_function(_ANSWERED, timeout=15_000)

    page.keyboard.press("Tab")
    assert page.evaluate("() => document.activeElement.id") == "clear"
    page.keyboard.press("Enter")
    assert page.locator("#bars .bar").count() == 0

    page.keyboard.press("Tab")
    assert page.evaluate("() => document.activeElement.id") == "choose"
    page.keyboard.press("Space")
    deadline = time.monotonic() + 15
    while not choosers:
        assert time.monotonic() < deadline, "Space on 'Choose a picture' opened no file chooser"
        page.wait_for_timeout(50)
    choosers[0].set_files(
        files=[{"name": "seven.png", "mimeType": "image/png", "buffer": _picture(mnist, 0)}]
    )
    page.wait_for_function(_ANSWERED, timeout=15_000)
    _check_answer(page, expected="7")


def _picture(mnist, index: int) -> bytes:
    """A PNG of a test digit as a scan would give it: dark ink on white, 168 x 168."""
    digit = mnist.X_test[index].reshape(28, 28)
    big = np.kron(255 - digit, np.ones((6, 6), dtype=np.uint8))
    buffer = io.BytesIO()
    Image.fromarray(big).save(buffer, format="PNG")
    return buffer.getvalue()


_DROP = """([name, bytes]) => {
  const data = new DataTransfer();
  data.items.add(new File([new Uint8Array(bytes)], name, {type: "image/png"}));
  document.getElementById("pad").dispatchEvent(
    new DragEvent("drop", {dataTransfer: data, bubbles: true, cancelable: true}));
}"""


def test_chosen_and_dropped_pictures_are_predicted(page: Page, mnist, tmp_path: Path) -> None:
    """Test a chosen PNG, a dropped PNG, and a dropped non-picture (the server's error shown)."""
    assert mnist.y_test[0] == 7 and mnist.y_test[1] == 2
    seven = {"name": "seven.png", "mimeType": "image/png", "buffer": _picture(mnist, 0)}
    page.set_input_files("#file", files=[seven])
    page.wait_for_function(_ANSWERED, timeout=15_000)
    _check_answer(page, expected="7")
    assert "seven.png" in (page.locator("#source").text_content() or "")
    shot = _screenshot(page, tmp_path / "chosen.png")
    red, blue = _red_and_blue(_region(shot, page, "#evidence"))
    assert red > 400 and blue > 400
    pad = _region(shot, page, "#pad")
    assert (pad.min(axis=2) > 200).sum() > 10_000  # the picture's white background, previewed

    page.evaluate(_DROP, ["two.png", list(_picture(mnist, 1))])
    page.wait_for_function(
        "() => document.getElementById('source').textContent.includes('two.png')"
        f" && document.getElementById('prediction').textContent === '2' && {_SETTLED}",
        timeout=15_000,
    )
    _check_answer(page, expected="2")

    noise = np.random.default_rng(0).integers(0, 256, (600, 600, 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(noise).save(buffer, format="PNG")
    assert len(buffer.getvalue()) > 1_000_000 * 3 / 4  # over the body limit once in base64
    big = {"name": "big.png", "mimeType": "image/png", "buffer": buffer.getvalue()}
    page.set_input_files("#file", files=[big])
    status = page.locator("#status").text_content() or ""
    assert status.startswith("big.png is too large (") and "up to 750 kB" in status
    assert page.locator("#bars .bar").count() == 0

    page.evaluate(_DROP, ["notes.png", list(b"not a picture at all")])
    page.wait_for_function(
        f"() => document.getElementById('status').textContent !== '' && {_SETTLED}",
        timeout=15_000,
    )
    status = page.locator("#status").text_content() or ""
    assert status.startswith("notes.png: ") and "PNG or JPEG" in status
    assert page.locator("#bars .bar").count() == 0
    refused = "Failed to load resource: the server responded with a status of 422"
    assert [e for e in page.console_errors if e.startswith(refused)] != []  # type: ignore[attr-defined]
    page.console_errors[:] = [e for e in page.console_errors if not e.startswith(refused)]  # type: ignore[attr-defined]
