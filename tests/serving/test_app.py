"""Tests of the drawing page's server: predictions, strict validation, limits, ``serve``."""

from __future__ import annotations

import base64
import io
import json
import math
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

pytest.importorskip(
    "starlette", reason="needs the 'serve' extra: pip install 'mnist-logreg[serve]'"
)
pytest.importorskip("httpx2", reason="Starlette's TestClient needs httpx2 (the 'test' extra)")

from PIL import Image
from starlette.testclient import TestClient

from mnist_logreg.datasets import load_dataset
from mnist_logreg.errors import InputError
from mnist_logreg.model_selection import build_model
from mnist_logreg.persistence import load_model, read_metadata, save_model
from mnist_logreg.preprocessing import normalize_digit
from mnist_logreg.serving import create_app


@pytest.fixture(scope="module")
def mnist():
    """The bundled MNIST data set."""
    return load_dataset("mnist")


@pytest.fixture(scope="module")
def model_file(mnist, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A multinomial model fitted on 2,000 MNIST training images, saved as a model file."""
    model = build_model(0.05, pixel_max=255.0).fit(mnist.X_train[:2000], mnist.y_train[:2000])
    path = tmp_path_factory.mktemp("serve") / "model.npz"
    extra = {"image_shape": [28, 28], "pixel_max": 255.0, "class_names": list(mnist.class_names)}
    save_model(model, path, extra=extra)
    return path


@pytest.fixture(scope="module")
def model(model_file: Path) -> Any:
    """The loaded model."""
    return load_model(model_file)


@pytest.fixture(scope="module")
def client(model: Any, model_file: Path) -> Iterator[TestClient]:
    """A TestClient of the app with a small body limit (100 kB) to test it cheaply."""
    app = create_app(model, read_metadata(model_file), max_body_bytes=100_000)
    with TestClient(app) as test_client:
        yield test_client


def _data_url(array: np.ndarray, fmt: str = "PNG") -> str:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format=fmt)
    mime = "png" if fmt == "PNG" else "jpeg"
    return f"data:image/{mime};base64," + base64.b64encode(buffer.getvalue()).decode()


def _assert_still_works(client: TestClient) -> None:
    response = client.post("/predict", json={"pixels": [0] * 784})
    assert response.status_code == 200


def test_page_is_self_contained_with_a_strict_policy(client: TestClient) -> None:
    """Test GET /: the HTML page with its canvas, inline script and a CSP without outside hosts."""
    response = client.get("/")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    html = response.text
    assert '<canvas id="pad" width="280" height="280"' in html and "<script>" in html
    assert "http://" not in html and "https://" not in html and " src=" not in html
    policy = response.headers["content-security-policy"]
    assert "default-src 'none'" in policy and "connect-src 'self'" in policy


def test_info(client: TestClient) -> None:
    """Test GET /info: the model's input description and limits."""
    info = client.get("/info").json()
    assert info["image_shape"] == [28, 28] and info["n_features"] == 784
    assert info["class_names"] == [str(d) for d in range(10)]
    assert info["limits"] == {
        "max_body_bytes": 100_000,
        "max_image_pixels": 4_000_000,
        "max_concurrent_decodes": 2,
        "max_queued_decodes": 8,
    }
    card = info["model"]
    assert card["classifier"] == "LogisticRegression" and card["n_classes"] == 10
    assert card["C"] == 0.05  # not in this file's extra: the classifier's own C
    assert card["dataset"] is None and card["test_accuracy"] is None  # shown as "unknown"
    assert card["package_version"] is not None and card["created_utc"] is not None


def test_predict_a_picture(client: TestClient, model: Any, mnist) -> None:
    """Test a dark-on-light PNG picture: normalized like MNIST, answer for the image it saw."""
    digit = mnist.X_test[0].reshape(28, 28)
    big = np.asarray(Image.fromarray(255 - digit).resize((140, 140), Image.Resampling.NEAREST))
    response = client.post(
        "/predict", json={"image": _data_url(np.pad(big, 30, constant_values=255))}
    )
    assert response.status_code == 200, response.text
    result = response.json()
    seen = np.array(result["pixels"])
    assert seen.shape == (784,) and seen.min() >= 0 and seen.max() <= 255
    assert np.array_equal(seen, normalize_digit(digit))
    expected = model.predict_proba(seen[None, :].astype(np.uint8))[0]
    assert np.allclose(result["probabilities"], expected, atol=1e-12)
    assert result["label"] == 7 and result["class_name"] == "7"
    assert result["classes"] == list(range(10)) and result["image_shape"] == [28, 28]
    assert result["evidence"]["label"] == 7 and len(result["evidence"]["contributions"]) == 784
    jpeg = client.post("/predict", json={"image": _data_url(255 - big, "JPEG")})
    assert jpeg.status_code == 200 and jpeg.json()["label"] == 7


def test_predict_pixels_as_is(client: TestClient, model: Any, mnist) -> None:
    """Test already normalized pixels: used unchanged, probabilities equal predict_proba's."""
    x = mnist.X_test[3]
    result = client.post("/predict", json={"pixels": x.tolist()}).json()
    assert np.allclose(result["probabilities"], model.predict_proba(x[None, :])[0], atol=1e-6)
    assert result["pixels"] == x.tolist()


def _check_evidence(result: dict[str, Any], model: Any, x: np.ndarray) -> None:
    evidence = result["evidence"]
    p = np.array(result["probabilities"])
    order = np.argsort(-p, kind="stable")
    classes = result["classes"]
    k, j = classes.index(evidence["label"]), classes.index(evidence["versus"])
    assert evidence["label"] == result["label"] and evidence["class_name"] == result["class_name"]
    assert k == order[0] and j == order[1] and evidence["versus_name"] == str(classes[j])
    contributions = evidence["contributions"]
    assert len(contributions) == 784
    total = math.fsum(contributions) + evidence["intercept_difference"]
    assert total == pytest.approx(evidence["score_difference"], rel=1e-12, abs=1e-12)
    raw = model.decision_function(x[None, :])[0]
    # the evidence is computed in float64; a float32 model's own scores carry float32 rounding
    # (relative to the scores themselves, since their difference may cancel)
    rel = max(1e-9, 100 * float(np.finfo(raw.dtype).eps))
    assert evidence["score_difference"] == pytest.approx(
        float(raw[k]) - float(raw[j]), rel=rel, abs=rel * max(abs(float(raw[k])), 1.0)
    )
    # softmax: the margin of k over j is also the log of their probability ratio
    assert evidence["score_difference"] == pytest.approx(
        np.log(p[k] / p[j]), rel=max(1e-6, rel), abs=max(1e-9, rel)
    )


def test_evidence_adds_up_to_the_score_difference(client: TestClient, model: Any, mnist) -> None:
    """Test /predict's evidence: shares + (b_k - b_j) == s_k - s_j == log(p_k / p_j)."""
    for x in mnist.X_test[:10]:
        result = client.post("/predict", json={"pixels": x.tolist()}).json()
        _check_evidence(result, model, x)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    pixels=st.lists(st.integers(0, 255), min_size=784, max_size=784)
    | st.lists(st.floats(0, 255), min_size=784, max_size=784)
)
def test_evidence_adds_up_for_any_image(client: TestClient, model: Any, pixels: list) -> None:
    """Test that the evidence sums to the score difference for arbitrary valid pixel arrays."""
    response = client.post("/predict", json={"pixels": pixels})
    assert response.status_code == 200, response.text
    x = np.asarray(pixels, dtype=np.float64)
    _check_evidence(response.json(), model, x.astype(np.float32))


@pytest.mark.parametrize(
    ("body", "headers", "status", "message"),
    [
        (b"{not json", {}, 400, "not valid JSON"),
        (b"\xff\xfe", {}, 400, "not UTF-8"),
        (b'{"pixels": [NaN]}', {}, 400, "NaN is not valid JSON"),
        (b"[" * 50_000 + b"]" * 50_000, {}, 400, "not valid JSON"),
        (b'{"pixels": []}', {"content-type": "text/plain"}, 415, "application/json"),
        (b"[1, 2, 3]", {}, 422, "JSON object"),
        (b"{}", {}, 422, "exactly one of"),
        (b'{"pixels": [], "image": ""}', {}, 422, "exactly one of"),
        (b'{"pixel": []}', {}, 422, "unknown field(s) 'pixel'"),
        (b'{"pixels": "0,0,0"}', {}, 422, "must be an array of 784 numbers, got a string"),
        (b'{"pixels": [0, 0, 0]}', {}, 422, "must hold 784 numbers, got 3"),
        (json.dumps({"pixels": [0] * 783 + ["0"]}).encode(), {}, 422, "'pixels'[783] must be"),
        (json.dumps({"pixels": [True] * 784}).encode(), {}, 422, "got a boolean"),
        (json.dumps({"pixels": [0] * 783 + [256]}).encode(), {}, 422, "outside 0..255"),
        (json.dumps({"pixels": [-1] + [0] * 783}).encode(), {}, 422, "outside 0..255"),
        (b'{"pixels": [' + b", ".join([b"1e400"] * 784) + b"]}", {}, 422, "outside 0..255"),
        (b'{"image": 42}', {}, 422, "'image' must be a string"),
        (b'{"image": "data:image/gif;base64,R0lGOD"}', {}, 422, "PNG or JPEG"),
        (b'{"image": "data:image/png;base64,%%%"}', {}, 422, "not valid base64"),
        (b'{"image": "aGVsbG8="}', {}, 422, "not a readable PNG or JPEG"),
        (b'{"image": ["data:image/png;base64,"]}', {}, 422, "'image' must be a string"),
        (b'{"image": null}', {}, 422, "got null"),
        (b'{"pixels": {"0": 1}}', {}, 422, "got an object"),
        (json.dumps({"pixels": [[0]] * 784}).encode(), {}, 422, "got an array"),
        (json.dumps({"pixels": [None] * 784}).encode(), {}, 422, "got null"),
        (b'"pixels"', {}, 422, "got a string"),
        (b"null", {}, 422, "got null"),
        (b"", {}, 400, "not valid JSON"),
        (b'{"pixels": [0]', {}, 400, "not valid JSON"),
    ],
)
def test_malformed_requests_get_4xx(
    client: TestClient, body: bytes, headers: dict[str, str], status: int, message: str
) -> None:
    """Test wrong JSON, wrong schema, sizes and types: a 4xx with a clear JSON message."""
    response = client.post(
        "/predict", content=body, headers={"content-type": "application/json", **headers}
    )
    assert response.status_code == status, response.text
    assert message in response.json()["error"]
    _assert_still_works(client)


def test_blank_and_oversized_pictures(client: TestClient, model: Any) -> None:
    """Test a blank canvas and a picture over the pixel limit: 422 naming the problem."""
    blank = client.post("/predict", json={"image": _data_url(np.zeros((280, 280), np.uint8))})
    assert blank.status_code == 422 and "no digit found" in blank.json()["error"]
    small_limit = TestClient(create_app(model, None, max_image_pixels=1000))
    big = small_limit.post("/predict", json={"image": _data_url(np.zeros((100, 100), np.uint8))})
    assert big.status_code == 422 and "too large" in big.json()["error"]


def _stroke_png(width: int, height: int) -> str:
    """A data URL of a white width x height PNG with a dark vertical bar (a '1')."""
    picture = np.full((height, width), 255, dtype=np.uint8)
    picture[height // 5 : 4 * height // 5, width // 2 - width // 30 : width // 2 + width // 30] = 0
    return _data_url(picture)


def test_four_megapixel_pictures_pass_and_larger_ones_get_422(client: TestClient) -> None:
    """Test the default picture limit: 2000x2000 is predicted, 2001x2000 refused from its header."""
    at_limit = client.post("/predict", json={"image": _stroke_png(2000, 2000)})
    assert at_limit.status_code == 200, at_limit.text
    assert at_limit.json()["label"] == 1
    over = client.post("/predict", json={"image": _stroke_png(2001, 2000)})
    assert over.status_code == 422
    assert over.json()["error"] == (
        "'image': image of 2001x2000 pixels is too large (at most 4000000 pixels)"
    )


def test_decodes_beyond_the_queue_get_503(
    model: Any, monkeypatch: pytest.MonkeyPatch, mnist
) -> None:
    """Test 2 decoding threads and a queue of 1: of 5 concurrent pictures, 2 get 503, 3 answers."""
    import mnist_logreg.serving._app as app_module

    real_load_image = app_module.load_image
    release = threading.Event()
    lock = threading.Lock()
    running = {"now": 0, "most": 0}

    def slow_load_image(*args: Any, **kwargs: Any) -> np.ndarray:
        with lock:
            running["now"] += 1
            running["most"] = max(running["most"], running["now"])
        release.wait(timeout=60)
        with lock:
            running["now"] -= 1
        return real_load_image(*args, **kwargs)

    monkeypatch.setattr(app_module, "load_image", slow_load_image)
    app = create_app(model, None, max_concurrent_decodes=2, max_queued_decodes=1)
    body = {"image": _data_url(mnist.X_test[0].reshape(28, 28))}
    statuses: list[int] = []
    answers: list[Any] = []
    with TestClient(app) as test_client:

        def send() -> None:
            response = test_client.post("/predict", json=body)
            with lock:
                statuses.append(response.status_code)
                answers.append(response)

        threads = [threading.Thread(target=send) for _ in range(5)]
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + 30
        while statuses.count(503) < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert statuses == [503, 503]  # the others are decoding (2) or queued (1)
        release.set()
        for thread in threads:
            thread.join(timeout=30)
    assert sorted(statuses) == [200, 200, 200, 503, 503]
    assert running["most"] == 2
    busy = [a for a in answers if a.status_code == 503]
    assert all(a.headers["retry-after"] == "1" for a in busy)
    assert busy[0].json()["error"] == (
        "server busy: 3 pictures are being decoded or waiting (limit 3); retry shortly"
    )
    assert all(a.json()["label"] == 7 for a in answers if a.status_code == 200)


@pytest.mark.parametrize(
    ("parameter", "value"),
    [("max_concurrent_decodes", 0), ("max_queued_decodes", -1), ("max_image_pixels", 1.5)],
)
def test_create_app_validates_its_limits(model: Any, parameter: str, value: Any) -> None:
    """Test that impossible limits are refused, naming the parameter."""
    with pytest.raises(InputError, match=f"'{parameter}' parameter of create_app"):
        create_app(model, None, **{parameter: value})


_JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=5)
        | st.dictionaries(
            st.sampled_from(["image", "pixels", "x", ""]) | st.text(max_size=5), children
        )
    ),
    max_leaves=20,
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(payload=_JSON_VALUES)
def test_fuzzed_json_bodies_get_our_4xx(client: TestClient, payload: Any) -> None:
    """Test (Hypothesis) that arbitrary JSON bodies get 200 or a 4xx with our one-line error."""
    response = client.post("/predict", json=payload)
    assert response.status_code == 200 or 400 <= response.status_code < 500, response.text
    if response.status_code != 200:
        error = response.json()["error"]
        assert isinstance(error, str) and error and "\n" not in error


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(body=st.binary(max_size=300) | st.text(max_size=300).map(str.encode))
def test_fuzzed_byte_bodies_get_our_4xx(client: TestClient, body: bytes) -> None:
    """Test (Hypothesis) that arbitrary bytes get a 4xx with our JSON error, never a 500."""
    response = client.post("/predict", content=body, headers={"content-type": "application/json"})
    assert 400 <= response.status_code < 500 or response.status_code == 200, response.text
    if response.status_code != 200:
        assert "\n" not in response.json()["error"]


def test_huge_bodies_get_413(client: TestClient) -> None:
    """Test bodies over the limit, declared or streamed without a length: 413."""
    declared = client.post(
        "/predict", content=b" " * 200_000, headers={"content-type": "application/json"}
    )
    assert declared.status_code == 413 and "too large" in declared.json()["error"]

    def chunks() -> Iterator[bytes]:
        for _ in range(50):
            yield b" " * 10_000

    streamed = client.post(
        "/predict", content=chunks(), headers={"content-type": "application/json"}
    )
    assert streamed.status_code == 413
    _assert_still_works(client)


def test_unknown_routes_and_methods_answer_json(client: TestClient) -> None:
    """Test 404 and 405 answers: JSON errors too."""
    assert client.get("/predict").status_code == 405
    missing = client.get("/etc/passwd")
    assert missing.status_code == 404 and "error" in missing.json()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_real_server_refuses_a_huge_body_without_reading_it(model: Any) -> None:
    """Test uvicorn on 127.0.0.1: a 50 MB declared body gets 413 at once, the server lives on."""
    import urllib.request

    import uvicorn

    port = _free_port()
    config = uvicorn.Config(create_app(model, None), host="127.0.0.1", port=port, log_level="error")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 20
        while not server.started:
            assert time.monotonic() < deadline and thread.is_alive(), "server did not start"
            time.sleep(0.05)
        with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
            sock.sendall(
                b"POST /predict HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                b"Content-Type: application/json\r\nContent-Length: 50000000\r\n\r\n" + b" " * 1000
            )
            start = time.monotonic()
            answer = sock.recv(65536).decode("latin-1")
            assert time.monotonic() - start < 5
        assert answer.startswith("HTTP/1.1 413")
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/predict",
            data=json.dumps({"pixels": [0] * 784}).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=10) as ok:
            assert ok.status == 200 and len(json.load(ok)["probabilities"]) == 10
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def test_serve_cli_binds_loopback_by_default(
    model_file: Path, run_cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Test that ``serve`` runs uvicorn on 127.0.0.1:8000 by default and warns on other hosts."""
    import uvicorn

    calls: list[dict[str, Any]] = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **kwargs: calls.append(kwargs))
    result = run_cli("serve", model_file)
    assert result.code == 0, result.err
    assert calls[-1]["host"] == "127.0.0.1" and calls[-1]["port"] == 8000
    assert "http://127.0.0.1:8000/" in result.out and result.err == ""
    exposed = run_cli("serve", model_file, "--host", "0.0.0.0", "--port", "8123")
    assert calls[-1]["host"] == "0.0.0.0" and calls[-1]["port"] == 8123
    assert "reachable from other machines" in exposed.err
    missing = run_cli("serve", model_file.parent / "none.npz")
    assert missing.code == 2 and "model file not found" in missing.err
    array = model_file.parent / "x.npy"
    np.save(array, np.zeros((2, 784), dtype=np.uint8))
    not_a_model = run_cli("serve", array)
    assert not_a_model.code == 2 and not_a_model.err == (
        f"mnist-logreg: error: MODEL {array} is a .npy array, not a model file "
        "(usage: mnist-logreg serve MODEL)\n"
    )
    bad_port = run_cli("serve", model_file, "--port", "70000")
    assert bad_port.code == 2 and "--port must be an integer from 0 to 65535" in bad_port.err


def test_serve_cli_completes_the_card_from_the_run_folders_metrics(
    model_file: Path, run_cli, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Test that a study's metrics.json beside model.npz fills the card, only for the same C."""
    import shutil

    import uvicorn

    apps: list[Any] = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **kwargs: apps.append(app))
    shutil.copy(model_file, tmp_path / "model.npz")
    metrics = {
        "command": "study",
        "dataset": {"name": "mnist"},
        "config": {"strategy": "multinomial"},
        "final": {"best_params": {"C": 0.05}},
        "test": {"accuracy": {"value": 0.9262, "ci95": [0.921, 0.9311]}},
    }

    def card_served(text: str) -> dict[str, Any]:
        (tmp_path / "metrics.json").write_text(text, encoding="utf-8")
        result = run_cli("serve", tmp_path / "model.npz")
        assert result.code == 0, result.err
        return TestClient(apps[-1]).get("/info").json()["model"]

    card = card_served(json.dumps(metrics))
    assert card["dataset"] == "mnist" and card["test_accuracy"] == 0.9262
    assert card["test_accuracy_ci95"] == [0.921, 0.9311] and card["strategy"] == "multinomial"
    assert card["C"] == 0.05 and card["from_run_metrics"] is True
    metrics["final"]["best_params"]["C"] = 0.5  # another run's metrics: ignored
    other = card_served(json.dumps(metrics))
    assert other["dataset"] is None and other["test_accuracy"] is None
    assert other["from_run_metrics"] is False
    broken = card_served("{not json")
    assert broken["dataset"] is None and broken["C"] == 0.05
