"""The local drawing page as a Starlette application.

Routes
------
``GET /``
    The self-contained drawing page (:data:`~mnist_logreg.serving._page.PAGE_HTML`).
``GET /info``
    JSON: ``image_shape``, ``n_features``, ``pixel_max``, ``classes``, ``class_names``, ``limits``
    and ``model``, the model card (:func:`~mnist_logreg.serving._card.model_card`: data set, C,
    test accuracy..., ``null`` where the model file does not say).
``POST /predict``
    JSON body, exactly one of:

    - ``{"image": "data:image/png;base64,..."}``: a PNG or JPEG picture (data URL or plain base64)
      of one digit, any size and polarity; it goes through the MNIST normalization
      (:func:`mnist_logreg.preprocessing.normalize_digit`);
    - ``{"pixels": [v_0, ..., v_783]}``: one already normalized image, ``n_features`` numbers on
      the model's scale (0..pixel_max), row by row; used as is.

    Answer (200): ``label``, ``class_name``, ``probabilities`` (K floats in the order of
    ``classes``), ``classes``, ``class_names``, ``image_shape``, ``pixels``: the image the
    model saw, ``n_features`` integers 0..255, and ``evidence`` (``null`` for a model whose last
    step is not linear): the margin of the predicted class k over the runner-up j split over
    the pixels (:func:`~mnist_logreg.serving._evidence.explain_prediction`)::

        {"label": k, "class_name": ..., "versus": j, "versus_name": ...,
         "contributions": [n_features floats], "intercept_difference": b_k - b_j,
         "score_difference": s_k - s_j}

    where ``sum(contributions) + intercept_difference == score_difference`` (float rounding).

Errors answer JSON ``{"error": "<one line>"}``: 400 body not JSON, 413 body larger than
``max_body_bytes`` (refused from its Content-Length header, or as soon as the streamed body
passes the limit, without reading the rest), 415 content type not JSON, 422 wrong schema, size,
type or value, an undecodable or blank picture, a picture over ``max_image_pixels``; 503 (with
``Retry-After``) when ``max_concurrent_decodes`` pictures are being decoded and
``max_queued_decodes`` more are waiting; 404/405 for other paths and methods. Nothing is ever read
from or written to the file system on behalf of a request: pictures are decoded in memory.

Memory
------
A picture's width x height is read from its header and checked before it is decoded; decoded
pictures are shrunk to at most :data:`~mnist_logreg.preprocessing.MAX_WORKING_SIDE` pixels a
side before the normalization (see :func:`~mnist_logreg.preprocessing.load_image`), so one
decode costs at most a few tens of MB (about 27 MB for a 4-megapixel grayscale PNG, 46 MB for
RGBA). Decodes run on a pool of ``max_concurrent_decodes`` threads of their own, so the total is
bounded too, whatever the number of concurrent requests.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import logging
import math
import re
import threading
from collections.abc import AsyncIterator, Callable
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import asynccontextmanager
from typing import Any

import numpy as np
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from mnist_logreg.errors import InputError
from mnist_logreg.preprocessing import ModelInputSpec, load_image
from mnist_logreg.serving._card import model_card
from mnist_logreg.serving._evidence import explain_prediction
from mnist_logreg.serving._page import PAGE_CSP, PAGE_HTML

__all__ = [
    "DEFAULT_MAX_BODY_BYTES",
    "DEFAULT_MAX_CONCURRENT_DECODES",
    "DEFAULT_MAX_IMAGE_PIXELS",
    "DEFAULT_MAX_QUEUED_DECODES",
    "create_app",
]

logger = logging.getLogger(__name__)

#: Largest request body accepted by ``POST /predict`` (a 280x280 canvas PNG is about 10 kB).
DEFAULT_MAX_BODY_BYTES = 1_000_000
#: Largest picture accepted, in pixels, checked from its header before decoding.
DEFAULT_MAX_IMAGE_PIXELS = 4_000_000
#: Pictures decoded at the same time (each on its own thread of a dedicated pool).
DEFAULT_MAX_CONCURRENT_DECODES = 2
#: Pictures waiting for a decoding thread; one more request is answered 503.
DEFAULT_MAX_QUEUED_DECODES = 8

_DATA_URL = re.compile(r"data:image/(png|jpeg|jpg);base64,", re.IGNORECASE)
_SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


class _RequestError(Exception):
    """A client error: HTTP status and a one-line message."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _error(status: int, message: str) -> JSONResponse:
    headers = {**_SECURITY_HEADERS, **({"Retry-After": "1"} if status == 503 else {})}
    return JSONResponse({"error": message}, status_code=status, headers=headers)


class _DecodePool:
    """Run picture decodes on ``workers`` threads of their own, with at most ``queued`` waiting.

    The thread pool bounds the decodes running at once (and so their memory); the count of
    submitted, unfinished decodes bounds the queue: beyond it a request gets 503 at once. The
    count is decreased when a decode really ends, not when its request gives up waiting.
    """

    def __init__(self, workers: int, queued: int) -> None:
        self.workers = workers
        self.limit = workers + queued
        self._pending = 0
        self._lock = threading.Lock()
        self._executor: ThreadPoolExecutor | None = None

    def _done(self, future: Future[Any] | None = None) -> None:
        with self._lock:
            self._pending -= 1

    async def run(self, function: Callable[..., Any], *args: Any) -> Any:
        with self._lock:
            if self._pending >= self.limit:
                raise _RequestError(
                    503,
                    f"server busy: {self._pending} pictures are being decoded or waiting "
                    f"(limit {self.limit}); retry shortly",
                )
            self._pending += 1
            if self._executor is None:
                self._executor = ThreadPoolExecutor(self.workers, thread_name_prefix="decode")
            executor = self._executor
        try:
            future = executor.submit(function, *args)
        except BaseException:
            self._done()
            raise
        future.add_done_callback(self._done)
        return await asyncio.wrap_future(future)

    def shutdown(self) -> None:
        with self._lock:
            executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=False, cancel_futures=True)


async def _read_body(request: Request, limit: int) -> bytes:
    """Read the body, refusing (413) one over ``limit`` bytes without reading all of it."""
    declared = request.headers.get("content-length")
    if declared is not None:
        if not declared.isdigit():
            raise _RequestError(400, "invalid Content-Length header")
        if int(declared) > limit:
            raise _RequestError(
                413, f"request body of {int(declared)} bytes is too large (limit {limit} bytes)"
            )
    chunks = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise _RequestError(413, f"request body is too large (limit {limit} bytes)")
        chunks.append(chunk)
    return b"".join(chunks)


def _parse_json(body: bytes) -> Any:
    def _no_constant(name: str) -> Any:
        raise ValueError(f"{name} is not valid JSON")

    try:
        return json.loads(body.decode("utf-8"), parse_constant=_no_constant)
    except UnicodeDecodeError:
        raise _RequestError(400, "request body is not UTF-8 text") from None
    except (ValueError, RecursionError) as exc:
        reason = " ".join(str(exc).split())[:200] if isinstance(exc, ValueError) else "too deep"
        raise _RequestError(400, f"request body is not valid JSON ({reason})") from None


def _decode_image(value: Any, spec: ModelInputSpec, max_pixels: int) -> np.ndarray:
    if not isinstance(value, str):
        raise _RequestError(422, f"'image' must be a string (a data URL), got {_kind(value)}")
    match = _DATA_URL.match(value)
    if value.startswith("data:") and match is None:
        raise _RequestError(
            422, "'image' must be a data URL of a PNG or JPEG (data:image/png;base64,...)"
        )
    encoded = value[match.end() :] if match else value
    try:
        data = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        raise _RequestError(422, "'image' is not valid base64") from None
    if len(spec.image_shape) != 2:
        raise _RequestError(
            422, f"this model's inputs are not 2-D images (shape {spec.image_shape}); send 'pixels'"
        )
    try:
        pixels = load_image(
            data,
            image_shape=spec.image_shape,  # type: ignore[arg-type]
            name="'image'",
            max_pixels=max_pixels,
        )
    except InputError as exc:
        raise _RequestError(422, str(exc)) from None
    return pixels


def _kind(value: Any) -> str:
    return {dict: "an object", list: "an array", str: "a string", bool: "a boolean"}.get(
        type(value), "null" if value is None else "a number"
    )


def _decode_pixels(value: Any, spec: ModelInputSpec) -> np.ndarray:
    n = spec.n_features
    if not isinstance(value, list):
        raise _RequestError(422, f"'pixels' must be an array of {n} numbers, got {_kind(value)}")
    if len(value) != n:
        raise _RequestError(422, f"'pixels' must hold {n} numbers, got {len(value)}")
    for index, v in enumerate(value):
        if isinstance(v, bool) or not isinstance(v, int | float):
            raise _RequestError(422, f"'pixels'[{index}] must be a number, got {_kind(v)}")
        if not (math.isfinite(v) and 0 <= v <= spec.pixel_max):
            raise _RequestError(422, f"'pixels'[{index}] = {v!r} is outside 0..{spec.pixel_max:g}")
    return np.asarray(value, dtype=np.float64)


def create_app(
    model: Any,
    metadata: dict[str, Any] | None = None,
    *,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    max_image_pixels: int = DEFAULT_MAX_IMAGE_PIXELS,
    max_concurrent_decodes: int = DEFAULT_MAX_CONCURRENT_DECODES,
    max_queued_decodes: int = DEFAULT_MAX_QUEUED_DECODES,
    card: dict[str, Any] | None = None,
) -> Starlette:
    """Return the Starlette application of the drawing page for a fitted model.

    Parameters
    ----------
    model : Pipeline or estimator
        A fitted model that predicts from raw pixels of shape (n, n_features), as returned by
        :func:`mnist_logreg.persistence.load_model`.
    metadata : dict, optional
        Its file's :func:`~mnist_logreg.persistence.read_metadata`: ``extra`` gives the image
        shape, pixel scale and class names (see
        :class:`~mnist_logreg.preprocessing.ModelInputSpec`).
    max_body_bytes : int, default=DEFAULT_MAX_BODY_BYTES
        Larger request bodies get 413.
    max_image_pixels : int, default=DEFAULT_MAX_IMAGE_PIXELS
        Larger pictures (width x height, from their header) get 422 before they are decoded.
    max_concurrent_decodes : int, default=DEFAULT_MAX_CONCURRENT_DECODES
        Pictures decoded at the same time, >= 1.
    max_queued_decodes : int, default=DEFAULT_MAX_QUEUED_DECODES
        Pictures waiting for a decoding thread, >= 0; more requests with a picture get 503.
    card : dict, optional
        The model card shown by the page (``GET /info``'s ``model``); default
        ``model_card(model, metadata)`` (see :func:`~mnist_logreg.serving.model_card`).

    Returns
    -------
    app : starlette.applications.Starlette
        Serve it with uvicorn (``mnist-logreg serve`` binds 127.0.0.1 by default). See the module
        docstring for the routes.
    """
    for parameter, value, low in [
        ("max_body_bytes", max_body_bytes, 1),
        ("max_image_pixels", max_image_pixels, 1),
        ("max_concurrent_decodes", max_concurrent_decodes, 1),
        ("max_queued_decodes", max_queued_decodes, 0),
    ]:
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise InputError(
                f"The '{parameter}' parameter of create_app must be an int >= {low}. "
                f"Got {value!r} instead."
            )
    spec = ModelInputSpec.from_model(model, metadata)
    decodes = _DecodePool(max_concurrent_decodes, max_queued_decodes)
    classes = np.asarray(model.classes_)
    class_list = classes.tolist()
    display_scale = 255.0 / spec.pixel_max
    if card is None:
        card = model_card(model, metadata)

    def _predict(x: np.ndarray) -> dict[str, Any]:
        model_input = x[None, :]
        if spec.pixel_max != 255.0 or x.dtype != np.uint8:
            model_input = model_input.astype(np.float32)
        proba = np.asarray(model.predict_proba(model_input), dtype=np.float64)[0]
        best = int(np.argmax(proba))
        shown = np.clip(np.rint(x.astype(np.float64) * display_scale), 0, 255).astype(int)
        evidence = explain_prediction(model, model_input, predicted=best)
        explained = None
        if evidence is not None:
            explained = {
                "label": class_list[evidence.predicted],
                "class_name": spec.class_names[evidence.predicted],
                "versus": class_list[evidence.runner_up],
                "versus_name": spec.class_names[evidence.runner_up],
                "contributions": evidence.contributions.tolist(),
                "intercept_difference": evidence.intercept_difference,
                "score_difference": evidence.score_difference,
            }
        return {
            "label": class_list[best],
            "class_name": spec.class_names[best],
            "probabilities": [float(p) for p in proba],
            "classes": class_list,
            "class_names": list(spec.class_names),
            "image_shape": list(spec.image_shape),
            "pixels": shown.tolist(),
            "evidence": explained,
        }

    async def page(request: Request) -> Response:
        headers = {**_SECURITY_HEADERS, "Content-Security-Policy": PAGE_CSP}
        return HTMLResponse(PAGE_HTML, headers=headers)

    async def info(request: Request) -> Response:
        return JSONResponse(
            {
                "n_features": spec.n_features,
                "image_shape": list(spec.image_shape),
                "pixel_max": spec.pixel_max,
                "classes": class_list,
                "class_names": list(spec.class_names),
                "model": card,
                "limits": {
                    "max_body_bytes": max_body_bytes,
                    "max_image_pixels": max_image_pixels,
                    "max_concurrent_decodes": max_concurrent_decodes,
                    "max_queued_decodes": max_queued_decodes,
                },
            },
            headers=_SECURITY_HEADERS,
        )

    async def predict(request: Request) -> Response:
        try:
            content_type = request.headers.get("content-type", "")
            if content_type.split(";")[0].strip().lower() != "application/json":
                raise _RequestError(
                    415, f"Content-Type must be application/json, got {content_type or 'none'!r}"
                )
            body = await _read_body(request, max_body_bytes)
            payload = _parse_json(body)
            if not isinstance(payload, dict):
                raise _RequestError(
                    422,
                    f"body must be a JSON object with 'image' or 'pixels', got {_kind(payload)}",
                )
            unknown = sorted(set(payload) - {"image", "pixels"})
            if unknown:
                raise _RequestError(
                    422,
                    f"unknown field(s) {', '.join(map(repr, unknown))}; "
                    "expected 'image' or 'pixels'",
                )
            if len(payload) != 1:
                raise _RequestError(422, "body must hold exactly one of 'image' or 'pixels'")
            if "image" in payload:
                x = await decodes.run(_decode_image, payload["image"], spec, max_image_pixels)
            else:
                x = _decode_pixels(payload["pixels"], spec)
            result = await run_in_threadpool(_predict, x)
        except _RequestError as exc:
            return _error(exc.status, exc.message)
        except MemoryError:
            return _error(503, "out of memory while answering this request; retry shortly")
        return JSONResponse(result, headers=_SECURITY_HEADERS)

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        return _error(exc.status_code, str(exc.detail))

    async def server_error(request: Request, exc: Exception) -> Response:
        logger.exception("unexpected error while answering %s", request.url.path)
        return _error(500, "internal error (see the server log)")

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        decodes.shutdown()

    return Starlette(
        lifespan=lifespan,
        routes=[
            Route("/", page, methods=["GET"]),
            Route("/info", info, methods=["GET"]),
            Route("/predict", predict, methods=["POST"]),
        ],
        exception_handlers={HTTPException: http_error, Exception: server_error},
    )
