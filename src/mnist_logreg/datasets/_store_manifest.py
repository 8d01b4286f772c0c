"""The manifest of a chunked digit store: what was built, and the SHA-256 of every finished chunk.

A store folder holds ``manifest.json`` (this module), a Zarr group (``zarr.json``) and two arrays,
``images`` of shape (n, 28, 28) and ``labels`` of shape (n,), both uint8 and chunked by rows,
chunk ``k`` holding rows ``k * chunk_size`` to ``min((k + 1) * chunk_size, n) - 1``. The manifest
is written first (it marks the folder as ours), then rewritten atomically after each chunk is
written whole, so a chunk is part of the store exactly when the manifest records it::

    {"format": "mnist-logreg digit store", "format_version": 1,
     "generator": {"name": "deformed-mnist", "version": 1, "params": {...}, "n_sources": 60000},
     "seed": 0, "n": 60000, "chunk_size": 50000, "image_shape": [28, 28],
     "class_names": ["0", ..., "9"], "versions": {"numpy": ..., "scipy": ..., "zarr": ...},
     "chunks": [{"index": 0, "start": 0, "stop": 50000, "images_sha256": "...",
                 "labels_sha256": "...", "class_counts": [...]}, ...]}

Checksums are over the chunk's uncompressed C-order uint8 bytes, so they do not depend on the
compressor. Everything read back is checked; any problem is one
:class:`~mnist_logreg.errors.DataFormatError` line naming the manifest.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from mnist_logreg.atomic import write_atomic
from mnist_logreg.errors import DataFormatError, InputError

__all__ = [
    "MANIFEST_FILE",
    "MAX_CHUNKS",
    "STORE_FORMAT",
    "STORE_FORMAT_VERSION",
    "ChunkRecord",
    "StoreManifest",
    "read_manifest",
    "write_manifest",
]

MANIFEST_FILE = "manifest.json"
STORE_FORMAT = "mnist-logreg digit store"
STORE_FORMAT_VERSION = 1
#: Most chunks a store may have (a manifest of about 30 MB).
MAX_CHUNKS = 100_000
_MAX_MANIFEST_BYTES = 64 * 1024 * 1024
_SHA256 = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True)
class ChunkRecord:
    """One finished chunk: its rows and the SHA-256 of its images and labels.

    Attributes
    ----------
    index : int
        Chunk number.
    start, stop : int
        Its rows, ``start .. stop - 1``.
    images_sha256, labels_sha256 : str
        SHA-256 (hex) of the uncompressed uint8 bytes of its images and labels.
    class_counts : tuple of int
        Images per class in the chunk.
    """

    index: int
    start: int
    stop: int
    images_sha256: str
    labels_sha256: str
    class_counts: tuple[int, ...]

    def as_dict(self) -> dict[str, Any]:
        """Return the record as a JSON-ready dict."""
        return {
            "index": self.index,
            "start": self.start,
            "stop": self.stop,
            "images_sha256": self.images_sha256,
            "labels_sha256": self.labels_sha256,
            "class_counts": list(self.class_counts),
        }


@dataclass(frozen=True)
class StoreManifest:
    """What a store holds: its generator, size, chunking and finished chunks.

    Attributes
    ----------
    generator : dict
        ``name``, ``version``, ``params`` and ``n_sources`` of the generator.
    seed : int
        Seed of the images.
    n : int
        Number of images.
    chunk_size : int
        Rows per chunk (the last chunk may be shorter).
    image_shape : tuple of int
        Shape of one image.
    class_names : tuple of str
        Name of each label.
    versions : dict of str to str
        Versions of the libraries that built the store.
    chunks : dict of int to ChunkRecord
        The finished chunks, by index.
    """

    generator: dict[str, Any]
    seed: int
    n: int
    chunk_size: int
    image_shape: tuple[int, ...]
    class_names: tuple[str, ...]
    versions: dict[str, str] = field(default_factory=dict)
    chunks: dict[int, ChunkRecord] = field(default_factory=dict)

    @property
    def n_chunks(self) -> int:
        """Number of chunks, ``ceil(n / chunk_size)``."""
        return math.ceil(self.n / self.chunk_size)

    @property
    def complete(self) -> bool:
        """Whether every chunk is finished."""
        return len(self.chunks) == self.n_chunks

    def bounds(self, index: int) -> tuple[int, int]:
        """Rows ``(start, stop)`` of chunk ``index``."""
        start = index * self.chunk_size
        return start, min(start + self.chunk_size, self.n)

    def missing(self) -> list[int]:
        """Indices of the chunks not finished yet, in order."""
        return [k for k in range(self.n_chunks) if k not in self.chunks]

    def with_chunk(self, record: ChunkRecord) -> StoreManifest:
        """A copy with ``record`` added."""
        return replace(self, chunks={**self.chunks, record.index: record})

    def class_counts(self) -> list[int]:
        """Images per class over the finished chunks."""
        totals = [0] * len(self.class_names)
        for record in self.chunks.values():
            for label, count in enumerate(record.class_counts):
                totals[label] += count
        return totals

    def as_dict(self) -> dict[str, Any]:
        """Return the manifest as a JSON-ready dict (chunks in order)."""
        return {
            "format": STORE_FORMAT,
            "format_version": STORE_FORMAT_VERSION,
            "generator": self.generator,
            "seed": self.seed,
            "n": self.n,
            "chunk_size": self.chunk_size,
            "image_shape": list(self.image_shape),
            "class_names": list(self.class_names),
            "versions": self.versions,
            "chunks": [self.chunks[k].as_dict() for k in sorted(self.chunks)],
        }


def write_manifest(folder: Path, manifest: StoreManifest) -> None:
    """Write ``folder/manifest.json`` atomically."""
    write_atomic(Path(folder) / MANIFEST_FILE, json.dumps(manifest.as_dict(), indent=1) + "\n")


def read_manifest(folder: str | Path) -> StoreManifest:
    """Read and check ``folder/manifest.json``.

    Parameters
    ----------
    folder : str or Path
        The store folder.

    Returns
    -------
    StoreManifest

    Raises
    ------
    InputError
        If the folder or its manifest is missing or unreadable.
    DataFormatError
        If the manifest is not a store manifest of a known version, or is inconsistent.
    """
    path = Path(folder) / MANIFEST_FILE
    if not Path(folder).is_dir():
        raise InputError(f"{folder}: no such store folder")
    try:
        with path.open("rb") as handle:
            raw = handle.read(_MAX_MANIFEST_BYTES + 1)
    except FileNotFoundError:
        raise InputError(
            f"{path}: not found; {folder} is not a store made by "
            "'mnist-logreg datasets build' (or its build never started)"
        ) from None
    except OSError as exc:
        raise InputError(f"{path}: cannot read the manifest ({exc.strerror})") from None
    if len(raw) > _MAX_MANIFEST_BYTES:
        raise DataFormatError(f"{path}: manifest larger than {_MAX_MANIFEST_BYTES} bytes")
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise DataFormatError(f"{path}: manifest is not valid JSON ({exc})") from None
    return _parse(data, path)


def _parse(data: Any, path: Path) -> StoreManifest:
    def bad(what: str) -> DataFormatError:
        return DataFormatError(f"{path}: {what}")

    if not isinstance(data, dict) or data.get("format") != STORE_FORMAT:
        raise bad(f"not a manifest of a {STORE_FORMAT!r}")
    if data.get("format_version") != STORE_FORMAT_VERSION:
        raise bad(
            f"format_version {data.get('format_version')!r} is not supported "
            f"(this version reads {STORE_FORMAT_VERSION})"
        )

    def integer(key: str, low: int) -> int:
        value = data.get(key)
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise bad(f"{key!r} must be an integer >= {low}, got {value!r}")
        return value

    seed, n, chunk_size = integer("seed", 0), integer("n", 1), integer("chunk_size", 1)
    if math.ceil(n / chunk_size) > MAX_CHUNKS:
        raise bad(f"{math.ceil(n / chunk_size)} chunks; at most {MAX_CHUNKS} are supported")
    generator = data.get("generator")
    if not isinstance(generator, dict):
        raise bad("'generator' must be an object")
    shape = data.get("image_shape")
    if not (
        isinstance(shape, list)
        and len(shape) == 2
        and all(isinstance(d, int) and not isinstance(d, bool) and 1 <= d <= 1024 for d in shape)
    ):
        raise bad(f"'image_shape' must be two integers in 1..1024, got {shape!r}")
    names = data.get("class_names")
    if not (
        isinstance(names, list)
        and 2 <= len(names) <= 256
        and all(isinstance(c, str) for c in names)
    ):
        raise bad("'class_names' must be a list of 2 to 256 strings (labels are uint8)")
    versions = data.get("versions", {})
    if not isinstance(versions, dict):
        raise bad("'versions' must be an object")
    manifest = StoreManifest(
        generator=generator,
        seed=seed,
        n=n,
        chunk_size=chunk_size,
        image_shape=tuple(shape),
        class_names=tuple(names),
        versions={str(k): str(v) for k, v in versions.items()},
    )
    records = data.get("chunks")
    if not isinstance(records, list):
        raise bad("'chunks' must be a list")
    chunks: dict[int, ChunkRecord] = {}
    for position, entry in enumerate(records):
        record = _parse_chunk(entry, manifest, f"chunks[{position}]", bad)
        if record.index in chunks:
            raise bad(f"chunks[{position}]: chunk {record.index} is listed twice")
        chunks[record.index] = record
    return replace(manifest, chunks=chunks)


def _parse_chunk(entry: Any, manifest: StoreManifest, where: str, bad: Any) -> ChunkRecord:
    if not isinstance(entry, dict):
        raise bad(f"{where} must be an object")
    index = entry.get("index")
    if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < manifest.n_chunks:
        raise bad(f"{where}: 'index' must be an integer in 0..{manifest.n_chunks - 1}")
    start, stop = manifest.bounds(index)
    if entry.get("start") != start or entry.get("stop") != stop:
        raise bad(
            f"{where}: chunk {index} must hold rows {start}..{stop - 1}, "
            f"got start {entry.get('start')!r}, stop {entry.get('stop')!r}"
        )
    digests = []
    for key in ("images_sha256", "labels_sha256"):
        value = entry.get(key)
        if not (isinstance(value, str) and _SHA256.fullmatch(value)):
            raise bad(f"{where}: {key!r} must be 64 lowercase hex digits")
        digests.append(value)
    counts = entry.get("class_counts")
    if not (
        isinstance(counts, list)
        and len(counts) == len(manifest.class_names)
        and all(isinstance(c, int) and not isinstance(c, bool) and c >= 0 for c in counts)
        and sum(counts) == stop - start
    ):
        raise bad(
            f"{where}: 'class_counts' must be {len(manifest.class_names)} counts "
            f"summing to {stop - start}"
        )
    return ChunkRecord(index, start, stop, digests[0], digests[1], tuple(counts))
