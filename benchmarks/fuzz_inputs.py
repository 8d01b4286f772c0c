"""Long fuzz of the inputs sent to a fitted model: the server's JSON, pictures and .npy files.

Three targets, each fed ``--n`` generated inputs, in process:

``json``
    ``POST /predict`` of the server (:func:`mnist_logreg.serving.create_app`), through
    Starlette's ASGI test client: random bytes, random JSON documents, near-valid bodies
    (``pixels`` arrays of random lengths and types, ``image`` data URLs of mutated pictures) and
    byte mutations of valid bodies, with a random Content-Type now and then. Allowed answers: 2xx,
    or a 4xx/503 whose body is our JSON ``{"error": "<one line>"}``.
``pictures``
    :func:`mnist_logreg.preprocessing.load_image` on mutated PNG and JPEG files (gray, RGB, RGBA,
    palette, 16-bit, progressive, EXIF-rotated seeds; PNG chunk checksums recomputed for half of
    them so the mutations reach the decoder). Allowed: a (784,) uint8 image or our InputError.
``npy``
    :func:`mnist_logreg.preprocessing.load_digit_file` on mutated ``.npy`` files (byte mutations of
    whole files and text mutations of their headers: shapes, dtypes, lengths), written to a
    temporary folder. Allowed: (n, 784) rows or our InputError / DataFormatError.

Every input gets a time limit (``--time-limit``, 10 s): a watchdog thread reports an input that
runs longer as a hang, prints the summary and exits 3. Outcomes are counted per target: ``ok``,
``our error``, ``traceback`` (any other exception, a 500, or an answer outside the contract) and
``hang``; the peak resident memory of the process is printed after each target. The exit code is
1 if any target had a traceback, 3 on a hang, 0 otherwise.

Usage::

    python benchmarks/fuzz_inputs.py --n 100000 --seed 0 --target all
    python benchmarks/fuzz_inputs.py --n 2000 --target pictures
"""

from __future__ import annotations

import argparse
import base64
import io
import json
import os
import random
import resource
import struct
import sys
import tempfile
import threading
import time
import traceback
import warnings
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from mnist_logreg.errors import InputError

TARGETS = ("json", "pictures", "npy")
_INTERESTING_32 = (0, 1, 0x7F, 0x80, 0xFF, 0x7FFF, 0xFFFF, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF)


# ---------------------------------------------------------------- mutations


def mutate(rng: random.Random, data: bytes) -> bytes:
    """Return ``data`` with 1 to 16 random byte-level mutations."""
    b = bytearray(data)
    for _ in range(rng.choice((1, 1, 1, 2, 2, 3, 4, 8, 16))):
        op = rng.randrange(8)
        if op == 0 and b:  # set a byte
            b[rng.randrange(len(b))] = rng.randrange(256)
        elif op == 1 and b:  # flip a bit
            i = rng.randrange(len(b))
            b[i] ^= 1 << rng.randrange(8)
        elif op == 2:  # insert random bytes
            i = rng.randrange(len(b) + 1)
            b[i:i] = rng.randbytes(rng.randint(1, 16))
        elif op == 3 and b:  # delete a slice
            i = rng.randrange(len(b))
            del b[i : i + rng.randint(1, 32)]
        elif op == 4 and b:  # truncate
            del b[rng.randrange(len(b)) :]
        elif op == 5 and len(b) > 2:  # duplicate a slice elsewhere
            i = rng.randrange(len(b))
            chunk = b[i : i + rng.randint(1, 64)]
            j = rng.randrange(len(b))
            b[j:j] = chunk
        elif op == 6 and len(b) >= 4:  # an interesting 32-bit value (sizes, lengths)
            i = rng.randrange(len(b) - 3)
            order = rng.choice("<>")
            b[i : i + 4] = struct.pack(f"{order}I", rng.choice(_INTERESTING_32))
        elif op == 7 and len(b) >= 2:  # an interesting 16-bit value
            i = rng.randrange(len(b) - 1)
            b[i : i + 2] = struct.pack(f"{rng.choice('<>')}H", rng.choice((0, 1, 0xFF, 0xFFFF)))
    return bytes(b)


def fix_png_crcs(data: bytes) -> bytes:
    """Recompute the CRC of every complete PNG chunk (so mutations get past the checksum)."""
    if not data.startswith(b"\x89PNG\r\n\x1a\n"):
        return data
    out = bytearray(data[:8])
    pos = 8
    while pos + 8 <= len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        end = pos + 12 + length
        if end > len(data):
            break
        kind_and_body = data[pos + 4 : pos + 8 + length]
        out += data[pos : pos + 4] + kind_and_body + struct.pack(">I", zlib.crc32(kind_and_body))
        pos = end
    out += data[pos:]
    return bytes(out)


# ---------------------------------------------------------------- seeds


def _digit_canvas(rng: np.random.Generator, side: int) -> np.ndarray:
    canvas = np.full((side, side), 255, np.uint8)
    a, b = sorted(rng.integers(side // 8, side - side // 8, size=2))
    canvas[a : max(b, a + 2), side // 3 : side // 3 + max(2, side // 8)] = 0
    return canvas


def picture_seeds(seed: int) -> list[bytes]:
    """Small valid PNG and JPEG pictures of a stroke, in many modes."""
    rng = np.random.default_rng(seed)
    seeds = []
    for side in (28, 40, 64):
        gray = _digit_canvas(rng, side)
        image = Image.fromarray(gray)
        variants: list[tuple[Image.Image, str, dict[str, Any]]] = [
            (image, "PNG", {}),
            (image.convert("RGB"), "PNG", {}),
            (image.convert("P"), "PNG", {}),
            (image.convert("1"), "PNG", {}),
            (Image.fromarray(gray.astype(np.uint16) * 257), "PNG", {}),
            (image, "JPEG", {"quality": 80}),
            (image.convert("RGB"), "JPEG", {"progressive": True}),
            (image.convert("CMYK"), "JPEG", {}),
        ]
        rgba = np.zeros((side, side, 4), np.uint8)
        rgba[..., 3] = 255 - gray
        variants.append((Image.fromarray(rgba, mode="RGBA"), "PNG", {}))
        la = Image.fromarray(gray).convert("LA")
        variants.append((la, "PNG", {}))
        rotated = Image.fromarray(gray)
        exif = rotated.getexif()
        exif[0x0112] = 6
        variants.append((rotated, "JPEG", {"exif": exif.tobytes()}))
        for picture, fmt, options in variants:
            buffer = io.BytesIO()
            picture.save(buffer, format=fmt, **options)
            seeds.append(buffer.getvalue())
    return seeds


def npy_seeds() -> list[bytes]:
    """Valid .npy files of accepted and refused shapes and dtypes."""
    arrays = [
        np.zeros((28, 28), np.uint8),
        np.arange(784, dtype=np.uint8),
        np.ones((3, 28, 28), np.float32),
        np.full((2, 784), 7, np.int16),
        np.zeros((2, 28, 28), dtype=">f8"),
        np.asfortranarray(np.zeros((28, 28), np.uint8)),
        np.zeros((1, 784), bool),
        np.zeros((5, 5), np.uint8),
    ]
    seeds = []
    for array in arrays:
        buffer = io.BytesIO()
        np.save(buffer, array)
        seeds.append(buffer.getvalue())
    return seeds


_HEADER_WORDS = (
    "'descr'", "'<u1'", "'|u1'", "'<f8'", "'>i4'", "'|O'", "'<U3'", "'V8'", "[('a', '<u1')]",
    "'fortran_order'", "True", "False", "None", "'shape'", "()", "(28, 28)", "(-1, 784)",
    "(4294967296, 784)", "(2**62,)", "(1, 28, 28)", "{", "}", "(", ")", ",", ":", "'", "\\x00",
    "1e309", "((((((((((", "9" * 40,
)  # fmt: skip


def mutate_npy_header(rng: random.Random, data: bytes) -> bytes:
    """Replace or insert words in the header text of a .npy file, keeping its length field right."""
    if len(data) < 10 or data[6] != 1:
        return mutate(rng, data)
    (length,) = struct.unpack("<H", data[8:10])
    header = data[10 : 10 + length].decode("latin1")
    payload = data[10 + length :]
    for _ in range(rng.randint(1, 3)):
        word = rng.choice(_HEADER_WORDS)
        i = rng.randrange(len(header) + 1)
        if rng.random() < 0.5:
            header = header[:i] + word + header[i + rng.randint(0, 12) :]
        else:
            header = header[:i] + word + header[i:]
    encoded = header.encode("latin1", "replace")[:65535]
    if rng.random() < 0.3:
        payload = mutate(rng, payload) if payload else payload
    return data[:8] + struct.pack("<H", len(encoded)) + encoded + payload


# ---------------------------------------------------------------- JSON bodies


def random_json(rng: random.Random, depth: int = 0) -> Any:
    """A random JSON value, nested up to 4 levels."""
    kind = rng.randrange(8 if depth < 4 else 5)
    if kind == 0:
        return None
    if kind == 1:
        return rng.random() < 0.5
    if kind == 2:
        return rng.choice((0, -1, 255, 256, 1e308, -0.0, 2**70, rng.uniform(-1e3, 1e3)))
    if kind == 3:
        return "".join(rng.choice('ab\u00e9\u2603\x00\n"\\ ') for _ in range(rng.randint(0, 12)))
    if kind == 4:
        return rng.choice(
            ("image", "pixels", "data:image/png;base64,", "data:image/jpeg;base64,AA")
        )
    if kind == 5:
        return [random_json(rng, depth + 1) for _ in range(rng.randint(0, 5))]
    keys = ("image", "pixels", "x", "", "IMAGE")
    return {rng.choice(keys): random_json(rng, depth + 1) for _ in range(rng.randint(0, 3))}


def json_bodies(rng: random.Random, pictures: list[bytes]) -> Iterator[tuple[bytes, str]]:
    """Endless (body, content type) pairs for POST /predict."""
    valid_pixels = json.dumps({"pixels": [0] * 784}).encode()
    while True:
        kind = rng.randrange(10)
        if kind == 0:
            body = rng.randbytes(rng.randint(0, 200))
        elif kind == 1:
            body = json.dumps(random_json(rng)).encode()
        elif kind == 2:
            n = rng.choice((0, 1, 783, 784, 784, 784, 785))
            values = [
                rng.choice((0, 1, 255, 255.5, -1, 1e400, "1", None, True, [], 17.25))
                for _ in range(n)
            ]
            body = json.dumps({"pixels": values}).encode()
        elif kind == 3:
            body = mutate(rng, valid_pixels)
        elif kind in (4, 5, 6):
            picture = rng.choice(pictures)
            if rng.random() < 0.8:
                picture = mutate(rng, picture)
                if rng.random() < 0.5:
                    picture = fix_png_crcs(picture)
            prefix = rng.choice(("data:image/png;base64,", "data:image/jpeg;base64,", ""))
            encoded = base64.b64encode(picture).decode()
            body = json.dumps({"image": prefix + encoded}).encode()
        elif kind == 7:
            encoded = base64.b64encode(rng.choice(pictures)).decode()
            body = mutate(rng, json.dumps({"image": "data:image/png;base64," + encoded}).encode())
        elif kind == 8:
            body = ("[" * rng.randint(1, 5000) + "]" * rng.randint(0, 5000)).encode()
        else:
            body = json.dumps(
                {"image": rng.choice(("", "data:", "%%%", "AAAA", "data:image/png;base64,="))}
            ).encode()
        content_type = "application/json" if rng.random() < 0.95 else rng.choice(("text/plain", ""))
        yield body, content_type


# ---------------------------------------------------------------- the run


class Watchdog:
    """Reports an input that runs longer than ``limit`` seconds as a hang, then exits 3."""

    def __init__(self, limit: float, on_hang: Callable[[str], None]) -> None:
        self.limit = limit
        self.on_hang = on_hang
        self.started: float | None = None
        self.label = ""
        self.longest = 0.0
        thread = threading.Thread(target=self._watch, daemon=True)
        thread.start()

    def begin(self, label: str) -> None:
        self.label = label
        self.started = time.monotonic()

    def end(self) -> None:
        if self.started is not None:
            self.longest = max(self.longest, time.monotonic() - self.started)
        self.started = None

    def _watch(self) -> None:
        while True:
            time.sleep(min(1.0, self.limit / 4))
            started = self.started
            if started is not None and time.monotonic() - started > self.limit:
                self.on_hang(self.label)
                os._exit(3)


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far, in MB (Linux reports KB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _fitted_model() -> tuple[Any, dict[str, Any]]:
    from mnist_logreg.datasets import load_dataset
    from mnist_logreg.model_selection import build_model

    mnist = load_dataset("mnist")
    model = build_model(0.05, pixel_max=255.0).fit(mnist.X_train[:1000], mnist.y_train[:1000])
    metadata = {"extra": {"image_shape": [28, 28], "pixel_max": 255.0}}
    return model, metadata


def run_json(n: int, rng: random.Random, check: Callable[..., None], seed: int) -> None:
    """Fuzz POST /predict through Starlette's test client."""
    from starlette.testclient import TestClient

    from mnist_logreg.serving import create_app

    model, metadata = _fitted_model()
    app = create_app(model, metadata)
    bodies = json_bodies(rng, picture_seeds(seed))
    with TestClient(app, raise_server_exceptions=False) as client:
        for i in range(n):
            body, content_type = next(bodies)

            def one(body: bytes = body, content_type: str = content_type) -> str:
                headers = {"content-type": content_type} if content_type else {}
                response = client.post("/predict", content=body, headers=headers)
                status = response.status_code
                if status == 200:
                    result = response.json()
                    assert len(result["probabilities"]) == 10 and len(result["pixels"]) == 784
                    return "ok"
                error = response.json()["error"]
                if (status >= 500 and status != 503) or not isinstance(error, str) or "\n" in error:
                    raise AssertionError(f"status {status}: {error!r}")
                return "our error"

            check(f"json #{i}: {body[:120]!r}", one)


def run_pictures(n: int, rng: random.Random, check: Callable[..., None], seed: int) -> None:
    """Fuzz load_image on mutated PNG and JPEG bytes."""
    from mnist_logreg.preprocessing import DEFAULT_MAX_IMAGE_PIXELS, load_image

    seeds = picture_seeds(seed)
    for i in range(n):
        data = mutate(rng, rng.choice(seeds))
        if rng.random() < 0.5:
            data = fix_png_crcs(data)

        def one(data: bytes = data) -> str:
            try:
                pixels = load_image(data, name="fuzz.png", max_pixels=DEFAULT_MAX_IMAGE_PIXELS)
            except InputError as exc:
                if "\n" in str(exc):
                    raise AssertionError(f"a message of more than one line: {exc!r}") from None
                return "our error"
            assert pixels.shape == (784,) and pixels.dtype == np.uint8
            return "ok"

        check(f"pictures #{i}: {data[:64]!r}", one)


def run_npy(n: int, rng: random.Random, check: Callable[..., None], seed: int) -> None:
    """Fuzz load_digit_file on mutated .npy files."""
    from mnist_logreg.preprocessing import load_digit_file

    seeds = npy_seeds()
    with tempfile.TemporaryDirectory(prefix="fuzz-npy-") as folder:
        path = Path(folder) / "input.npy"
        for i in range(n):
            seed_bytes = rng.choice(seeds)
            data = (
                mutate_npy_header(rng, seed_bytes)
                if rng.random() < 0.5
                else mutate(rng, seed_bytes)
            )
            path.write_bytes(data)

            def one() -> str:
                try:
                    rows = load_digit_file(path)
                except InputError as exc:
                    if "\n" in str(exc):
                        raise AssertionError(f"a message of more than one line: {exc!r}") from None
                    return "our error"
                assert rows.ndim == 2 and rows.shape[1] == 784
                return "ok"

            check(f"npy #{i}: {data[:100]!r}", one)


RUNNERS = {"json": run_json, "pictures": run_pictures, "npy": run_npy}


def _run_target(
    name: str, args: argparse.Namespace, print_summary: Callable[[], None]
) -> dict[str, Any]:
    """Feed one target ``args.n`` inputs; return its summary row."""
    row: dict[str, Any] = {"inputs": 0, "ok": 0, "our error": 0, "traceback": 0, "hang": 0}
    row.update(longest=0.0, rate=0.0, peak_rss_mb=peak_rss_mb())
    shown = 0

    def on_hang(label: str) -> None:
        row["hang"] += 1
        print(f"HANG (over {args.time_limit:g} s): {label}", flush=True)
        print_summary()

    watchdog = Watchdog(args.time_limit, on_hang)

    def check(label: str, one: Callable[[], str]) -> None:
        nonlocal shown
        watchdog.begin(label)
        try:
            outcome = one()
        except Exception:
            outcome = "traceback"
            if shown < args.show:
                shown += 1
                print(f"TRACEBACK {label}\n{traceback.format_exc()}", flush=True)
        finally:
            watchdog.end()
        row["inputs"] += 1
        row[outcome] += 1
        row["peak_rss_mb"] = peak_rss_mb()

    start = time.monotonic()
    RUNNERS[name](args.n, random.Random(f"{args.seed}-{name}"), check, args.seed)
    elapsed = time.monotonic() - start
    watchdog.limit = float("inf")
    row.update(longest=watchdog.longest, rate=row["inputs"] / elapsed, peak_rss_mb=peak_rss_mb())
    counts = {k: row[k] for k in ("ok", "our error", "traceback")}
    print(f"{name}: {counts} in {elapsed:.1f} s, peak RSS {row['peak_rss_mb']:.0f} MB", flush=True)
    return row


def main(argv: list[str] | None = None) -> int:
    """Run the fuzz targets and print a summary; the exit code says whether all held."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10_000, help="inputs per target")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--target", choices=(*TARGETS, "all"), default="all")
    parser.add_argument("--time-limit", type=float, default=10.0, help="seconds per input")
    parser.add_argument("--show", type=int, default=5, help="tracebacks shown per target")
    args = parser.parse_args(argv)
    if args.n < 1 or args.time_limit <= 0:
        parser.error("--n must be >= 1 and --time-limit > 0")
    warnings.simplefilter("ignore")  # Pillow's and NumPy's warnings on odd inputs
    targets = TARGETS if args.target == "all" else (args.target,)
    summary: dict[str, dict[str, Any]] = {}

    def print_summary() -> None:
        print(f"\nsummary (seed {args.seed}, time limit {args.time_limit:g} s per input)")
        print(f"{'target':<10}{'inputs':>9}{'ok':>9}{'our error':>11}{'traceback':>11}"
              f"{'hang':>6}{'longest s':>11}{'inputs/s':>10}{'peak RSS MB':>13}")  # fmt: skip
        for name, row in summary.items():
            print(
                f"{name:<10}{row['inputs']:>9}{row['ok']:>9}{row['our error']:>11}"
                f"{row['traceback']:>11}{row['hang']:>6}{row['longest']:>11.3f}"
                f"{row['rate']:>10.0f}{row['peak_rss_mb']:>13.0f}"
            )
        sys.stdout.flush()

    for name in targets:
        summary[name] = _run_target(name, args, print_summary)
    print_summary()
    return 1 if any(row["traceback"] for row in summary.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
