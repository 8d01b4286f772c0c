"""Long fuzz of the model-file loader (issue 13): mutated model files, each loaded in-process.

Seeds: real model files fitted here on scikit-learn's digits (a multinomial pipeline with class
names, a one-vs-rest pipeline, a bare binary LogisticRegression, string classes, an HMAC-signed
file), the format-version-1 file of ``tests/data``, and bombs built at startup by streaming (so
the fuzzer itself stays small): a 256 MiB array entry deflated to about 250 kB, the same entry
with its declared size patched down (a lying central directory), a 64 MiB metadata entry, and an
honest 62 MB model of zeros in about 70 kB (its metadata says 600,000 features, digest updated).

Each input is one seed with one mutation, chosen at random:

flip, truncate, splice
    raw byte edits of the file (mostly caught by the ZIP's CRC or structure).
member_flip, member_drop, member_add, member_rename, member_replace, npy_header
    edits of the decompressed entries, re-zipped with valid CRCs: byte flips inside an entry,
    entries removed, added (odd names, pickled object arrays, junk), renamed, replaced by random
    arrays (every dtype, NaN/inf/huge/negative values, wrong shapes), ``.npy`` headers rewritten;
    the digest is recomputed for most of them, as a deliberate editor would.
json_edit, json_raw, json_consistent
    the metadata JSON edited with the digest recomputed: any field replaced by a random JSON
    value (control characters, huge numbers, wrong types) or deleted; the raw text given NaN,
    1e999, duplicate keys, deep nesting, invalid UTF-8; consistent edits of the feature and class
    counts.
declared_size
    central-directory sizes of an entry patched (0, small, 2^32 - 1, random).
bomb, junk
    a bomb seed (sometimes also byte-flipped); random bytes or a ZIP of random entries.

10% of inputs are loaded with an HMAC key (wrong for most files).

Each input is written to a temporary file and loaded with ``read_model_file`` in this process
under a per-input limit of CPU time (``--timeout``, SIGPROF via ``setitimer(ITIMER_PROF)``: CPU
time rather than wall time, so a busy shared machine does not pass for a hang; the largest
honest input, the 62 MB model, takes about 0.5 s). Outcomes:

ok
    loaded; ``predict_proba`` on an all-zero image and on random images with pixels in the
    model's range is finite with rows summing to 1, and ``predict`` returns known classes.
error
    ``DataFormatError`` / ``InputError`` with one line that starts with the file name.
traceback
    any other exception, an error message that is not one line naming the file, or a loaded
    model that predicts non-finite probabilities.
hang
    over ``--timeout`` CPU seconds.

Prints a summary (inputs, outcomes per mutation, most common errors, peak RSS from
``resource.getrusage``, slowest input) and exits 1 on any traceback or hang. Run it with
``-W error::RuntimeWarning`` to also count any numpy overflow or invalid-value warning (while
loading, or while a loaded model predicts) as a traceback.

Usage::

    nice python -W error::RuntimeWarning benchmarks/fuzz_model_files.py --n 100000 --seed 0
    python benchmarks/fuzz_model_files.py --n 2000 --save-failures /tmp/fuzz-failures
"""

from __future__ import annotations

import argparse
import collections
import hashlib
import hmac
import io
import json
import re
import resource
import signal
import struct
import sys
import tempfile
import time
import traceback
import warnings
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from mnist_logreg.datasets import load_dataset
from mnist_logreg.errors import DataFormatError, InputError
from mnist_logreg.linear_model import LogisticRegression
from mnist_logreg.model_selection import build_model
from mnist_logreg.persistence import read_model_file, save_model

ROOT = Path(__file__).resolve().parents[1]
V1_FILE = ROOT / "tests" / "data" / "model_v1_digits.npz"
KEY = b"fuzz-key"
CHUNK = 2**20

Entries = list[tuple[str, bytes]]


class Hang(BaseException):
    """Raised by the SIGPROF handler when one input uses more CPU time than allowed."""


def _time_limit(signum: int, frame: Any) -> None:
    raise Hang


# ---------------------------------------------------------------------------------------------
# ZIP and digest helpers (written from the documented format, not from persistence.py)
# ---------------------------------------------------------------------------------------------


def read_entries(data: bytes) -> Entries:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return [(info.filename, archive.read(info)) for info in archive.infolist()]


def write_entries(entries: Entries, *, compress: bool = True) -> bytes:
    buffer = io.BytesIO()
    method = zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED
    with zipfile.ZipFile(buffer, "w", compression=method) as archive:
        for name, data in entries:
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = method
            archive.writestr(info, data)
    return buffer.getvalue()


def npy(array: np.ndarray, *, allow_pickle: bool = False) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=allow_pickle)
    return buffer.getvalue()


def json_entry(value: Any) -> bytes:
    return npy(np.frombuffer(json.dumps(value).encode(), dtype=np.uint8))


def integrity(
    chunks_by_name: dict[str, Callable[[], Iterator[bytes]]],
    sizes: dict[str, int],
    key: bytes | None,
) -> bytes:
    """integrity.npy for entries given as chunk generators (so bombs never sit in memory)."""
    sha = hashlib.sha256(b"mnist-logreg-model 2\n")
    mac = hmac.new(key, b"mnist-logreg-model 2\n", hashlib.sha256) if key else None
    for name in sorted(n for n in chunks_by_name if n != "integrity.npy"):
        head = f"{name}\n{sizes[name]}\n".encode()
        sha.update(head)
        if mac:
            mac.update(head)
        for chunk in chunks_by_name[name]():
            sha.update(chunk)
            if mac:
                mac.update(chunk)
    value = {"sha256": sha.hexdigest()}
    if mac:
        value["hmac_sha256"] = mac.hexdigest()
    return json_entry(value)


def reseal(entries: Entries, key: bytes | None = None) -> Entries:
    """Recompute integrity.npy over the (unique) entries, as anyone editing a file can."""
    kept = [(n, d) for n, d in entries if n != "integrity.npy"]
    chunks = {n: (lambda d=d: iter([d])) for n, d in kept}
    sizes = {n: len(d) for n, d in kept}
    return [*kept, ("integrity.npy", integrity(chunks, sizes, key))]


def metadata_of(entries: Entries) -> dict[str, Any]:
    data = dict(entries)["metadata.npy"]
    return json.loads(np.load(io.BytesIO(data)).tobytes().decode())


def replace(entries: Entries, name: str, data: bytes) -> Entries:
    return [(n, data if n == name else d) for n, d in entries]


# ---------------------------------------------------------------------------------------------
# Seeds
# ---------------------------------------------------------------------------------------------


def build_seeds(workdir: Path) -> dict[str, bytes]:
    digits = load_dataset("digits")
    X, y = digits.X_train, digits.y_train
    extra = {"dataset": "digits", "image_shape": [8, 8], "pixel_max": 16.0}
    seeds: dict[str, bytes] = {}

    def save(name: str, model: Any, **kwargs: Any) -> None:
        path = workdir / f"{name}.npz"
        save_model(model, path, **kwargs)
        seeds[name] = path.read_bytes()

    save(
        "multinomial",
        build_model(0.5, pixel_max=16).fit(X, y),
        extra={**extra, "class_names": list(digits.class_names)},
    )
    four = y < 4
    save("ovr", build_model(0.5, pixel_max=16, strategy="ovr").fit(X[four], y[four]), extra=extra)
    two = y < 2
    save("binary", LogisticRegression(C=0.1).fit(X[two] / 16.0, y[two]), extra={"pixel_max": 1.0})
    three = y < 3
    names = np.array(["zero", "one", "two"])
    save("strings", build_model(1.0, pixel_max=16).fit(X[three], names[y[three]]), extra=extra)
    save("signed", build_model(0.5, pixel_max=16).fit(X[four], y[four]), extra=extra, key=KEY)
    if V1_FILE.is_file():
        seeds["v1"] = V1_FILE.read_bytes()
    return seeds


def _zeros_npy(
    shape: tuple[int, ...], fill: float = 0.0
) -> tuple[Callable[[], Iterator[bytes]], int]:
    """A float64 .npy of ``shape`` as a chunk generator (never materialized) and its size."""
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        header, {"descr": "<f8", "fortran_order": False, "shape": shape}
    )
    head = header.getvalue()
    n_bytes = int(np.prod(shape)) * 8
    block = np.full(CHUNK // 8, fill).tobytes()

    def chunks() -> Iterator[bytes]:
        yield head
        left = n_bytes
        while left > 0:
            yield block[: min(left, CHUNK)]
            left -= CHUNK

    return chunks, len(head) + n_bytes


def _stream_zip(parts: list[tuple[str, Callable[[], Iterator[bytes]]]]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, chunks in parts:
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            with archive.open(info, "w", force_zip64=True) as handle:
                for chunk in chunks():
                    handle.write(chunk)
    return buffer.getvalue()


def _bomb_file(
    entries: Entries, big: dict[str, tuple[Callable[[], Iterator[bytes]], int]]
) -> bytes:
    """A resealed archive where the ``big`` entries are streamed chunk generators."""
    parts: dict[str, Callable[[], Iterator[bytes]]] = {
        n: (lambda d=d: iter([d])) for n, d in entries if n != "integrity.npy"
    }
    sizes = {n: len(d) for n, d in entries if n != "integrity.npy"}
    for name, (chunks, size) in big.items():
        parts[name], sizes[name] = chunks, size
    seal = integrity(parts, sizes, None)
    parts["integrity.npy"] = lambda: iter([seal])
    return _stream_zip(list(parts.items()))


def patch_declared_size(data: bytes, name: str, size: int) -> bytes:
    """Set an entry's uncompressed size in the central directory (and its local header)."""
    out = bytearray(data)
    encoded = name.encode()
    for signature, offset in ((b"PK\x01\x02", 24), (b"PK\x03\x04", 22)):
        start = 0
        while (start := out.find(signature, start)) >= 0:
            name_at = start + (46 if signature == b"PK\x01\x02" else 30)
            if out[name_at : name_at + len(encoded)] == encoded:
                struct.pack_into("<L", out, start + offset, size & 0xFFFFFFFF)
            start += 4
    return bytes(out)


def build_bombs(seed: bytes) -> dict[str, bytes]:
    entries = read_entries(seed)
    bombs = {}
    coef = _zeros_npy((2**25,))  # 256 MiB of zeros for the coef_ entry
    bombs["bomb_coef"] = _bomb_file(entries, {"s2.coef_.npy": coef})
    bombs["bomb_lying_size"] = patch_declared_size(bombs["bomb_coef"], "s2.coef_.npy", 5248)
    # 64 MiB of JSON whitespace in the metadata entry, streamed
    opening, closing, spaces = b'{"format": "mnist-logreg-model"', b"}", b" " * CHUNK
    n_text = len(opening) + 64 * CHUNK + len(closing)
    payload_head = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        payload_head, {"descr": "|u1", "fortran_order": False, "shape": (n_text,)}
    )
    head = payload_head.getvalue()

    def metadata_chunks() -> Iterator[bytes]:
        yield head + opening
        for _ in range(64):
            yield spaces
        yield closing

    bombs["bomb_metadata"] = _bomb_file(
        entries, {"metadata.npy": (metadata_chunks, len(head) + n_text)}
    )
    # honest but big: metadata says 600,000 features, arrays are streamed zeros (scales ones)
    meta = metadata_of(entries)
    n = 600_000
    meta["n_features_in"] = n
    for step in meta["steps"]:
        step["attributes"]["n_features_in_"] = n
    meta["extra"].pop("image_shape", None)
    big_entries = replace(entries, "metadata.npy", json_entry(meta))
    bombs["bomb_honest_600k"] = _bomb_file(
        big_entries,
        {
            "s1.mean_.npy": _zeros_npy((n,)),
            "s1.var_.npy": _zeros_npy((n,)),
            "s1.scale_.npy": _zeros_npy((n,), 1.0),
            "s2.coef_.npy": _zeros_npy((10, n)),
        },
    )
    return bombs


# ---------------------------------------------------------------------------------------------
# Mutations
# ---------------------------------------------------------------------------------------------

ODD_STRINGS = [
    "",
    "a",
    "\x1b[31mred",
    "\u202eevil",
    "line\nbreak",
    "x" * 300,
    "s2.coef_",
    "float64",
    "PixelScaler",
    "LogisticRegression",
    "auto",
    "balanced",
    "__dtype__",
    "\ud800",
    "0",
]
ODD_NUMBERS = [
    0,
    -1,
    1,
    2,
    3,
    10,
    64,
    2**31 - 1,
    2**63,
    10**30,
    -(2**63),
    0.0,
    -0.0,
    1e-320,
    0.5,
    -1.5,
    1e308,
    16.0,
    255.0,
    1e-300,
]


def random_json(rng: np.random.Generator, depth: int = 0) -> Any:
    kind = int(rng.integers(0, 9 if depth < 3 else 6))
    if kind == 0:
        return None
    if kind == 1:
        return bool(rng.integers(0, 2))
    if kind in (2, 3):
        return ODD_NUMBERS[int(rng.integers(0, len(ODD_NUMBERS)))]
    if kind in (4, 5):
        return ODD_STRINGS[int(rng.integers(0, len(ODD_STRINGS)))]
    if kind == 6:
        return [random_json(rng, depth + 1) for _ in range(int(rng.integers(0, 4)))]
    if kind == 7:
        return {
            ODD_STRINGS[int(rng.integers(0, len(ODD_STRINGS)))]: random_json(rng, depth + 1)
            for _ in range(int(rng.integers(0, 3)))
        }
    return rng.choice(
        [
            {"__dtype__": "float32"},
            {"__dtype__": "object"},
            {"__dict__": [[0, 1.0]]},
            {"__dict__": 5},
        ]
    ).copy()


def json_paths(value: Any, prefix: tuple = ()) -> list[tuple]:
    found = [prefix]
    if isinstance(value, dict):
        for key, sub in value.items():
            found += json_paths(sub, (*prefix, key))
    elif isinstance(value, list):
        for index, sub in enumerate(value):
            found += json_paths(sub, (*prefix, index))
    return found


def random_array(rng: np.random.Generator, like: np.ndarray | None) -> bytes:
    dtypes = ["<f8", "<f4", "<f2", ">f8", "<i8", "<i4", "|u1", "|b1", "<U3", "<c16", "|V8", "O"]
    dtype = dtypes[int(rng.integers(0, len(dtypes)))]
    if like is not None and rng.random() < 0.6:
        shape = like.shape
    else:
        shape = tuple(int(d) for d in rng.integers(0, 12, size=int(rng.integers(0, 3))))
    count = int(np.prod(shape))
    if dtype == "O":
        return npy(np.array([{"x": 1}] * max(count, 1), dtype=object), allow_pickle=True)
    if dtype == "|V8":
        return npy(np.zeros(shape, dtype=[("a", "<f4"), ("b", "<i4")]))
    if dtype == "<U3":
        return npy(np.array(rng.choice(["a", "\x1b", "bb", "0"], size=shape)).astype("<U3"))
    values = rng.normal(size=count) * 10.0 ** float(rng.integers(-5, 40))
    special = [np.nan, np.inf, -np.inf, 0.0, -1.0, 1e308, 1e-310]
    for _ in range(int(rng.integers(0, 3))):
        if count:
            values[int(rng.integers(0, count))] = special[int(rng.integers(0, len(special)))]
    with np.errstate(all="ignore"):
        return npy(values.reshape(shape).astype(np.dtype(dtype)))


def mutate(name: str, data: bytes, rng: np.random.Generator, bombs: dict[str, bytes]) -> bytes:
    """Apply mutation ``name`` to model file bytes ``data``."""
    if name == "flip":
        out = bytearray(data)
        for _ in range(int(rng.integers(1, 9))):
            out[int(rng.integers(0, len(out)))] ^= int(rng.integers(1, 256))
        return bytes(out)
    if name == "truncate":
        return data[: int(rng.integers(0, len(data)))]
    if name == "splice":
        at = int(rng.integers(0, len(data)))
        if rng.random() < 0.5:
            return data[:at] + rng.bytes(int(rng.integers(1, 200))) + data[at:]
        return data[:at] + data[at + int(rng.integers(1, 200)) :]
    if name == "bomb":
        bomb = bombs[list(bombs)[int(rng.integers(0, len(bombs)))]]
        return mutate("flip", bomb, rng, bombs) if rng.random() < 0.3 else bomb
    if name == "junk":
        if rng.random() < 0.5:
            return rng.bytes(int(rng.integers(0, 10_000)))
        junk = [(f"{rng.integers(0, 99)}.npy", rng.bytes(int(rng.integers(0, 500))))]
        return write_entries([*junk, ("metadata.npy", rng.bytes(int(rng.integers(0, 200))))])

    entries = read_entries(data)
    names = [n for n, _ in entries]
    target = names[int(rng.integers(0, len(names)))]
    arrays = [n for n in names if n not in ("metadata.npy", "integrity.npy")]
    do_reseal = rng.random() < 0.8
    if name == "declared_size":
        size = [0, 1, 100, 2**32 - 1, int(rng.integers(0, 2**32))][int(rng.integers(0, 5))]
        return patch_declared_size(data, target, size)
    if name == "member_flip":
        content = bytearray(dict(entries)[target])
        for _ in range(int(rng.integers(1, 5))):
            if content:
                content[int(rng.integers(0, len(content)))] ^= int(rng.integers(1, 256))
        entries = replace(entries, target, bytes(content))
    elif name == "member_drop":
        entries = [(n, d) for n, d in entries if n != target]
    elif name == "member_add":
        new_names = [
            "extra.npy",
            "s9.coef_.npy",
            "../evil.npy",
            "metadata.npy",
            target,
            "a b.npy",
            "s2.coef_",
            "x" * 120 + ".npy",
        ]
        new = new_names[int(rng.integers(0, len(new_names)))]
        entries = [*entries, (new, random_array(rng, None))]
        do_reseal = do_reseal and new not in names
    elif name == "member_rename":
        new = ["s0.coef_.npy", "s2.coef.npy", "metadata.npy", "integrity.npy", "s1.mean_.npy"][
            int(rng.integers(0, 5))
        ]
        entries = [(new if n == target else n, d) for n, d in entries]
        do_reseal = do_reseal and new not in names
    elif name == "member_replace" and arrays:
        victim = arrays[int(rng.integers(0, len(arrays)))]
        like = np.load(io.BytesIO(dict(entries)[victim]), allow_pickle=False)
        entries = replace(entries, victim, random_array(rng, like))
    elif name == "npy_header" and arrays:
        victim = arrays[int(rng.integers(0, len(arrays)))]
        content = dict(entries)[victim]
        end = content.index(b"\n") + 1
        header = content[10:end].decode("latin-1")
        edits = [
            lambda h: re.sub(r"\((\d+),", lambda m: f"({int(m.group(1)) * 1000},", h),
            lambda h: re.sub(r"\(\d+", "(-3", h),
            lambda h: h.replace("'<f8'", "'|O'").replace("'<i8'", "'|O'"),
            lambda h: h.replace("False", "True"),
            lambda h: h.replace("'shape'", "'shap'"),
            lambda h: "{" * 3000,
            lambda h: h.replace("<f8", "<f16").replace("<i8", "<c8"),
        ]
        header = edits[int(rng.integers(0, len(edits)))](header)
        raw = header.encode("latin-1")
        new_head = content[:8] + struct.pack("<H", len(raw) % 65536) + raw
        entries = replace(entries, victim, new_head + content[end:])
    elif name == "json_edit":
        meta = metadata_of(entries)
        paths = json_paths(meta)[1:]
        *parents, last = paths[int(rng.integers(0, len(paths)))]
        node = meta
        for part in parents:
            node = node[part]
        if rng.random() < 0.2:
            del node[last]
        else:
            node[last] = random_json(rng)
        entries = replace(entries, "metadata.npy", json_entry(meta))
    elif name == "json_raw":
        text = json.dumps(metadata_of(entries)).encode()
        choice = int(rng.integers(0, 6))
        if choice == 0:
            text = re.sub(
                rb"\d+\.\d+",
                [b"NaN", b"Infinity", b"1e999", b"-1e999"][int(rng.integers(0, 4))],
                text,
                count=1,
            )
        elif choice == 1:
            text = text.replace(b'"kind": ', b'"kind": "x", "kind": ', 1)
        elif choice == 2:
            at = int(rng.integers(0, len(text)))
            text = text[:at] + b"[" * int(rng.integers(100, 200_000)) + text[at:]
        elif choice == 3:
            at = int(rng.integers(0, len(text)))
            text = text[:at] + b"\xff\xfe" + text[at:]
        elif choice == 4:
            text = text[: int(rng.integers(0, len(text)))]
        else:
            text = text.replace(b'"classes": [', b'"classes": [' + b"9" * 5000 + b", ", 1)
        entries = replace(entries, "metadata.npy", npy(np.frombuffer(text, dtype=np.uint8)))
        do_reseal = rng.random() < 0.9
    elif name == "json_consistent":
        meta = metadata_of(entries)
        if rng.random() < 0.5:
            n = [1, 10, 63, 65, 10**6, 10**9, 2**62][int(rng.integers(0, 7))]
            meta["n_features_in"] = n
            for step in meta["steps"]:
                step["attributes"]["n_features_in_"] = n
        else:
            k = [0, 1, 2, 3, 11, 1000][int(rng.integers(0, 6))]
            meta["classes"] = list(range(k))
            meta["extra"].pop("class_names", None)
            if rng.random() < 0.5 and "s2.classes_.npy" in names:
                entries = replace(entries, "s2.classes_.npy", npy(np.arange(k)))
        entries = replace(entries, "metadata.npy", json_entry(meta))
        do_reseal = True
    if do_reseal and len({n for n, _ in entries}) == len(entries):
        entries = reseal(entries, KEY if rng.random() < 0.1 else None)
    return write_entries(entries, compress=rng.random() < 0.9)


MUTATIONS = {
    "flip": 12,
    "truncate": 5,
    "splice": 4,
    "member_flip": 10,
    "member_drop": 4,
    "member_add": 5,
    "member_rename": 4,
    "member_replace": 14,
    "npy_header": 6,
    "json_edit": 18,
    "json_raw": 5,
    "json_consistent": 6,
    "declared_size": 4,
    "bomb": 0.5,
    "junk": 2,
}


# ---------------------------------------------------------------------------------------------
# Running
# ---------------------------------------------------------------------------------------------


def check_loaded(model_file: Any, rng: np.random.Generator) -> str | None:
    """A loaded model must predict finite probabilities for in-range images; else a problem."""
    model, meta = model_file.model, model_file.metadata
    steps = [s for _, s in getattr(model, "steps", [("m", model)])]
    n_features = int(steps[0].n_features_in_)
    scalers = [s.pixel_max for s in steps if hasattr(s, "pixel_max")]
    top = float(scalers[0] if scalers else meta["extra"].get("pixel_max", 255.0))
    X = np.vstack([np.zeros(n_features), rng.uniform(0, top, size=(3, n_features))])
    X = X.astype(np.float32)
    proba = model.predict_proba(X)
    if proba.shape != (4, len(model.classes_)) or not np.isfinite(proba).all():
        return "non-finite or misshapen probabilities"
    if not np.allclose(proba.sum(axis=1), 1.0):
        return "probabilities do not sum to 1"
    if not set(np.asarray(model.predict(X)).tolist()) <= set(model.classes_.tolist()):
        return "predict returned an unknown class"
    return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=10_000, help="inputs to try")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--timeout", type=float, default=10.0, help="CPU seconds allowed per input (SIGPROF)"
    )
    parser.add_argument("--save-failures", type=Path, default=None, help="folder for failures")
    args = parser.parse_args(argv)

    warnings.filterwarnings("ignore", "Duplicate name", UserWarning)  # duplicates on purpose
    rng = np.random.default_rng(args.seed)
    start = time.perf_counter()
    counts: collections.Counter[str] = collections.Counter()
    by_mutation: dict[str, collections.Counter[str]] = collections.defaultdict(collections.Counter)
    errors: collections.Counter[str] = collections.Counter()
    failures: list[str] = []
    slowest = (0.0, "")
    signal.signal(signal.SIGPROF, _time_limit)
    names = list(MUTATIONS)
    weights = np.array([MUTATIONS[n] for n in names], dtype=float)
    weights /= weights.sum()
    with tempfile.TemporaryDirectory(prefix="fuzz-model-") as tmp:
        workdir = Path(tmp)
        seeds = build_seeds(workdir)
        bombs = build_bombs(seeds["multinomial"])
        setup = time.perf_counter() - start
        setup_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
        seed_names = list(seeds)
        path = workdir / "input.npz"
        for index in range(args.n):
            mutation = str(rng.choice(names, p=weights))
            seed_name = seed_names[int(rng.integers(0, len(seed_names)))]
            data = mutate(mutation, seeds[seed_name], rng, bombs)
            path.write_bytes(data)
            key = None if rng.random() < 0.9 else KEY
            began = time.perf_counter()
            problem = None
            signal.setitimer(signal.ITIMER_PROF, args.timeout)
            try:
                loaded = read_model_file(path, key=key)
                problem = check_loaded(loaded, rng)
                outcome = "ok" if problem is None else "traceback"
            except (DataFormatError, InputError) as exc:
                message = str(exc)
                if "\n" in message or not message.startswith(f"{path}: "):
                    outcome, problem = "traceback", f"bad message: {message!r}"
                else:
                    outcome = "error"
                    errors[re.sub(r"\d+", "N", message[len(str(path)) + 2 :])[:90]] += 1
            except Hang:
                outcome, problem = "hang", f"over {args.timeout} CPU seconds"
            except Exception:  # counting every other exception is the point
                outcome, problem = "traceback", traceback.format_exc()
            finally:
                signal.setitimer(signal.ITIMER_PROF, 0)
            seconds = time.perf_counter() - began
            if seconds > slowest[0]:
                slowest = (seconds, f"{mutation} of {seed_name}")
            counts[outcome] += 1
            by_mutation[mutation][outcome] += 1
            if problem is not None:
                failures.append(f"input {index} ({mutation} of {seed_name}): {problem}")
                if args.save_failures:
                    args.save_failures.mkdir(parents=True, exist_ok=True)
                    (args.save_failures / f"failure-{index}.npz").write_bytes(data)
            if (index + 1) % 10_000 == 0:
                print(f"  {index + 1} inputs, {dict(counts)}", file=sys.stderr, flush=True)

    elapsed = time.perf_counter() - start
    peak_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux: kilobytes
    print(
        f"fuzz_model_files: {args.n} inputs (seed {args.seed}) in {elapsed:.1f} s "
        f"(setup {setup:.1f} s, {1000 * (elapsed - setup) / max(args.n, 1):.2f} ms per input)"
    )
    print(
        f"outcomes: ok {counts['ok']}, our error {counts['error']}, traceback "
        f"{counts['traceback']}, hang {counts['hang']}"
    )
    for mutation in names:
        c = by_mutation[mutation]
        if c:
            print(
                f"  {mutation:16s} {sum(c.values()):6d}  "
                + ", ".join(f"{k} {v}" for k, v in sorted(c.items()))
            )
    print("most common errors:")
    for message, n in errors.most_common(12):
        print(f"  {n:6d}  {message}")
    print(
        f"peak RSS: {peak_rss / 2**20:.0f} MiB (resource.getrusage ru_maxrss, whole process; "
        f"{setup_rss / 2**20:.0f} MiB after fitting the seeds and building the bombs)"
    )
    print(f"slowest input: {slowest[0]:.3f} s ({slowest[1]})")
    for failure in failures[:5]:
        print(failure)
    return 1 if counts["traceback"] or counts["hang"] else 0


if __name__ == "__main__":
    sys.exit(main())
