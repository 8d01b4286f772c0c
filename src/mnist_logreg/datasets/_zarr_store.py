"""Chunked on-disk digit stores (Zarr 3): build one chunk at a time, resume, read and verify chunks.

Layout and manifest: see :mod:`mnist_logreg.datasets._store_manifest`. A build

1. checks ``out`` before creating anything: a new build needs a missing or empty folder (never a
   link); ``resume`` needs a folder holding our manifest and only the files a build writes, built
   with the same generator version and parameters;
2. writes the manifest (no chunks yet), then the Zarr group and its two arrays;
3. for each chunk not finished: generates its images, writes them and the labels through Zarr,
   then rewrites the manifest atomically with the chunk's SHA-256. A build killed at any point
   leaves at most one chunk written but not recorded; ``resume`` regenerates it.

Reading a chunk checks the SHA-256 of its uncompressed bytes against the manifest, so a corrupted,
truncated, missing or replaced chunk file is named in one
:class:`~mnist_logreg.errors.DataFormatError` line whenever it is read.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import itertools
import os
import re
import stat
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from mnist_logreg.datasets._deformed import DeformedDigits
from mnist_logreg.datasets._store_manifest import (
    MANIFEST_FILE,
    MAX_CHUNKS,
    ChunkRecord,
    StoreManifest,
    read_manifest,
    write_manifest,
)
from mnist_logreg.errors import DataFormatError, InputError, MnistLogregError

__all__ = [
    "DEFAULT_CHUNK_SIZE",
    "MAX_IMAGES",
    "StoreCheck",
    "build_deformed_store",
    "read_chunk",
    "verify_store",
]

DEFAULT_CHUNK_SIZE = 50_000
#: Most images a store may hold (about 100 GB of pixels).
MAX_IMAGES = 128_000_000
_ARRAYS = ("images", "labels")
# What a build writes at the top of its folder: our files, atomic_open's temporaries.
_OURS = re.compile(r"manifest\.json|zarr\.json|images|labels|\.manifest\.json\..+\.tmp")
_PROGRESS_STEP = 2_000  # images generated between two progress calls

#: Called with the number of images finished so far (chunks already built included).
Progress = Callable[[int], None]


def _sha256(array: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(array).data).hexdigest()


def _versions() -> dict[str, str]:
    found = {}
    for package in ("numpy", "scipy", "zarr", "mnist-logreg"):
        try:
            found[package] = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            found[package] = "?"
    return found


# ----------------------------------------------------------------------------- build


def check_build_args(n: int | None, seed: int | None, chunk_size: int | None) -> None:
    """Check the sizes of a build (``None`` means: not given).

    Raises
    ------
    InputError
        Naming the parameter (``n``, ``seed``, ``chunk_size``) that is not a usable integer.
    """
    for name, value, low, high in (
        ("n", n, 1, MAX_IMAGES),
        ("seed", seed, 0, 2**63 - 1),
        ("chunk_size", chunk_size, 1, MAX_IMAGES),
    ):
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int | np.integer):
            raise InputError(f"The {name!r} parameter must be an integer. Got {value!r} instead.")
        if not low <= value <= high:
            raise InputError(
                f"The {name!r} parameter must be in {low}..{high}. Got {value} instead."
            )
    if n is not None and chunk_size is not None and -(-n // chunk_size) > MAX_CHUNKS:
        raise InputError(
            f"n={n} in chunks of chunk_size={chunk_size} makes more than {MAX_CHUNKS} chunks; "
            "use larger chunks"
        )


def check_new_store_folder(out: Path) -> None:
    """Check that ``out`` may receive a new store: missing, or an empty folder (not a link).

    Raises
    ------
    InputError
        Otherwise, naming ``out``; nothing is created or deleted.
    """
    out = Path(out)
    if out.is_symlink():
        raise InputError(f"{out}: is a symbolic link; give the folder itself")
    if not out.exists():
        if not out.parent.is_dir():
            raise InputError(f"{out}: its parent folder {out.parent} does not exist")
        return
    if not out.is_dir():
        raise InputError(f"{out}: exists and is not a folder")
    if any(out.iterdir()):
        hint = " (resume it instead)" if (out / MANIFEST_FILE).is_file() else ""
        raise InputError(f"{out}: folder exists and is not empty; give a new or empty folder{hint}")


def open_store_for_resume(out: Path) -> StoreManifest:
    """Check that ``out`` is a store a build started; return its manifest.

    Raises
    ------
    InputError
        If ``out`` is not such a store, or holds files a build does not write.
    DataFormatError
        If its manifest is malformed.
    """
    out = Path(out)
    if out.is_symlink() or not out.is_dir():
        raise InputError(f"{out}: no such store folder to resume")
    manifest = read_manifest(out)
    for entry in sorted(out.iterdir()):
        mode = entry.lstat().st_mode
        if not _OURS.fullmatch(entry.name) or stat.S_ISLNK(mode):
            raise InputError(
                f"{out}: holds {entry.name!r}, which a build does not write; nothing was changed"
            )
    return manifest


def _check_same_generator(out: Path, manifest: StoreManifest, generator: DeformedDigits) -> None:
    ours = generator.description()
    if manifest.generator != ours:
        raise InputError(
            f"{out}: built by generator {manifest.generator.get('name')!r} version "
            f"{manifest.generator.get('version')!r} with other parameters; this is "
            f"{ours['name']!r} version {ours['version']}: build it again in a new folder"
        )


def build_deformed_store(
    out: str | os.PathLike[str],
    n: int | None = None,
    *,
    seed: int | None = None,
    chunk_size: int | None = None,
    resume: bool = False,
    generator: DeformedDigits | None = None,
    progress: Progress | None = None,
    n_jobs: int = 1,
) -> StoreManifest:
    """Write (or finish) a store of deformed digits.

    Parameters
    ----------
    out : path
        The store folder: missing or empty for a new build; the interrupted store with
        ``resume``.
    n : int, optional
        Number of images (required for a new build; must match the store's with ``resume``).
    seed : int, optional
        Seed (default 0; must match the store's with ``resume``).
    chunk_size : int, optional
        Rows per chunk (default 50,000; must match the store's with ``resume``).
    resume : bool, default False
        Finish the store in ``out``, skipping its recorded chunks.
    generator : DeformedDigits, optional
        Default: :meth:`DeformedDigits.from_mnist`.
    progress : callable, optional
        Called with the number of images done so far (every 2,000 images with ``n_jobs=1``,
        every chunk otherwise).
    n_jobs : int, default 1
        Processes generating chunks in parallel (each holds a copy of the 47 MB of source
        digits and up to two chunks); the store is the same whatever ``n_jobs``.

    Returns
    -------
    StoreManifest
        The finished store's manifest.

    Raises
    ------
    InputError
        Bad sizes, an ``out`` that may not be written, a resume whose parameters differ.
    DataFormatError
        A malformed manifest or arrays that do not match it (on ``resume``).
    """
    import zarr

    out = Path(out)
    check_build_args(n, seed, chunk_size)
    if isinstance(n_jobs, bool) or not isinstance(n_jobs, int) or not 1 <= n_jobs <= 1024:
        raise InputError(f"The 'n_jobs' parameter must be an integer in 1..1024. Got {n_jobs!r}.")
    if resume:
        manifest = open_store_for_resume(out)
        for name, given, recorded in (
            ("n", n, manifest.n),
            ("seed", seed, manifest.seed),
            (
                "chunk_size",
                None if chunk_size is None else min(chunk_size, manifest.n),
                manifest.chunk_size,
            ),
        ):
            if given is not None and given != recorded:
                raise InputError(
                    f"{out}: the store was started with {name}={recorded}; resuming it with "
                    f"{name}={given} is not possible"
                )
        if generator is None:
            generator = DeformedDigits.from_mnist()
        _check_same_generator(out, manifest, generator)
    else:
        if n is None:
            raise InputError("The 'n' parameter is required for a new store.")
        check_new_store_folder(out)
        if generator is None:
            generator = DeformedDigits.from_mnist()
        manifest = StoreManifest(
            generator=generator.description(),
            seed=0 if seed is None else int(seed),
            n=int(n),
            chunk_size=int(min(chunk_size or DEFAULT_CHUNK_SIZE, n)),
            image_shape=tuple(int(d) for d in generator.images.shape[1:]),
            class_names=tuple(str(c) for c in range(int(generator.labels.max()) + 1)),
            versions=_versions(),
        )
        check_build_args(manifest.n, manifest.seed, manifest.chunk_size)
        try:
            out.mkdir(exist_ok=True)
        except OSError as exc:
            raise InputError(f"{out}: cannot create the folder ({exc.strerror})") from None
        write_manifest(out, manifest)
    images, labels = _open_arrays(zarr, out, manifest, create=not manifest.chunks)
    done = sum(record.stop - record.start for record in manifest.chunks.values())
    if progress is not None:
        progress(done)

    def report(in_chunk: int) -> None:
        if progress is not None:
            progress(done + in_chunk)

    missing = manifest.missing()
    if n_jobs > 1 and len(missing) > 1:
        chunks = _chunks_in_processes(generator, manifest, missing, n_jobs)
    else:
        chunks = _chunks_here(generator, manifest, missing, report)
    for index, chunk_images, chunk_labels in chunks:
        start, stop = manifest.bounds(index)
        images[start:stop] = chunk_images
        labels[start:stop] = chunk_labels
        record = ChunkRecord(
            index=index,
            start=start,
            stop=stop,
            images_sha256=_sha256(chunk_images),
            labels_sha256=_sha256(chunk_labels),
            class_counts=tuple(
                int(c) for c in np.bincount(chunk_labels, minlength=len(manifest.class_names))
            ),
        )
        manifest = manifest.with_chunk(record)
        write_manifest(out, manifest)
        done += stop - start
        report(0)
    return manifest


_Chunk = tuple[int, np.ndarray, np.ndarray]


def _generate_chunk(
    generator: DeformedDigits,
    manifest: StoreManifest,
    index: int,
    report: Callable[[int], None] | None = None,
) -> _Chunk:
    """Images and labels of chunk ``index``, generated in steps (``report`` after each)."""
    start, stop = manifest.bounds(index)
    images = np.empty((stop - start, *manifest.image_shape), np.uint8)
    labels = np.empty(stop - start, np.uint8)
    for begin in range(start, stop, _PROGRESS_STEP):
        end = min(begin + _PROGRESS_STEP, stop)
        step_images, step_labels = generator.generate(manifest.seed, begin, end)
        images[begin - start : end - start] = step_images
        labels[begin - start : end - start] = step_labels
        if report is not None:
            report(end - start)
    return index, images, labels


def _chunks_here(
    generator: DeformedDigits,
    manifest: StoreManifest,
    missing: list[int],
    report: Callable[[int], None],
) -> Iterator[_Chunk]:
    for index in missing:
        yield _generate_chunk(generator, manifest, index, report)


_worker_generator: DeformedDigits | None = None


def _start_worker(images: np.ndarray, labels: np.ndarray, params: Any) -> None:
    global _worker_generator
    _worker_generator = DeformedDigits(images, labels, params)


def _worker_chunk(manifest: StoreManifest, index: int) -> _Chunk:
    if _worker_generator is None:
        raise MnistLogregError("a build worker ran before its initializer")
    return _generate_chunk(_worker_generator, manifest, index)


def _chunks_in_processes(
    generator: DeformedDigits, manifest: StoreManifest, missing: list[int], n_jobs: int
) -> Iterator[_Chunk]:
    """Generate chunks in ``n_jobs`` processes, at most ``2 * n_jobs`` in flight (bounded memory);
    yield each as it finishes (any order: the manifest records chunks by index)."""
    import multiprocessing
    from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait

    header = replace(manifest, chunks={})  # what a worker needs: sizes, seed, shape
    queue = iter(missing)
    pending: set[Future[_Chunk]] = set()
    with ProcessPoolExecutor(
        max_workers=n_jobs,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=_start_worker,
        initargs=(generator.images, generator.labels, generator.params),
    ) as pool:
        try:
            for index in itertools.islice(queue, 2 * n_jobs):
                pending.add(pool.submit(_worker_chunk, header, index))
            while pending:
                finished, _ = wait(pending, return_when=FIRST_COMPLETED)
                for future in finished:
                    pending.discard(future)
                    yield future.result()
                    following = next(queue, None)
                    if following is not None:
                        pending.add(pool.submit(_worker_chunk, header, following))
        finally:
            for future in pending:
                future.cancel()


def _open_arrays(zarr: Any, out: Path, manifest: StoreManifest, *, create: bool) -> tuple[Any, Any]:
    """The store's ``images`` and ``labels`` arrays, created when no chunk is recorded yet."""
    shapes = {
        "images": (
            (manifest.n, *manifest.image_shape),
            (manifest.chunk_size, *manifest.image_shape),
        ),
        "labels": ((manifest.n,), (manifest.chunk_size,)),
    }
    if create:
        group = zarr.open_group(out, mode="a")
        return tuple(
            group.create_array(
                name,
                shape=shape,
                chunks=chunks,
                dtype="uint8",
                fill_value=0,
                overwrite=True,
                config={"write_empty_chunks": True},  # every chunk has its file
            )
            for name, (shape, chunks) in shapes.items()
        )
    arrays = []
    for name, (shape, chunks) in shapes.items():
        array = _open_array(out, name)
        if array.shape != shape or array.chunks != chunks or array.dtype != np.uint8:
            raise DataFormatError(
                f"{out / name}: array of shape {array.shape}, chunks {array.chunks}, dtype "
                f"{array.dtype} does not match the manifest (shape {shape}, chunks {chunks}, uint8)"
            )
        arrays.append(array)
    return arrays[0], arrays[1]


def _open_array(folder: Path, name: str, mode: str = "r+") -> Any:
    import zarr

    try:
        return zarr.open_array(folder / name, mode=mode)
    except Exception as exc:  # zarr raises many kinds on missing or malformed metadata
        raise DataFormatError(
            f"{folder / name}: not a readable Zarr array ({_one_line(exc)})"
        ) from None


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


# ----------------------------------------------------------------------------- read, verify


def read_chunk(folder: str, array: str, record: ChunkRecord) -> np.ndarray:
    """Read one finished chunk of ``images`` or ``labels`` and check its SHA-256.

    Parameters
    ----------
    folder : str
        The store folder.
    array : {"images", "labels"}
        Which array.
    record : ChunkRecord
        The chunk's entry in the manifest.

    Returns
    -------
    ndarray, dtype uint8
        Images of shape (rows, height, width) or labels of shape (rows,).

    Raises
    ------
    DataFormatError
        One line naming the chunk's file if it is missing, cannot be decoded, or does not
        match its checksum.
    """
    index, start, stop = record.index, record.start, record.stop
    zarr_array = _open_array(Path(folder), array, mode="r")
    key = zarr_array.metadata.encode_chunk_key((index,) + (0,) * (zarr_array.ndim - 1))
    where = f"{Path(folder) / array / key}: chunk {index} of {array!r} (rows {start}..{stop - 1})"
    if not (Path(folder) / array / key).is_file():
        raise DataFormatError(f"{where} is missing")
    try:
        data = np.asarray(zarr_array[start:stop])
    except MemoryError:
        raise
    except Exception as exc:  # the codecs raise RuntimeError, ValueError, ... on bad bytes
        raise DataFormatError(f"{where} cannot be decoded ({_one_line(exc)})") from None
    expected = record.images_sha256 if array == "images" else record.labels_sha256
    if data.dtype != np.uint8 or _sha256(data) != expected:
        raise DataFormatError(f"{where} is corrupted: its SHA-256 differs from the manifest's")
    return data


@dataclass(frozen=True)
class StoreCheck:
    """What :func:`verify_store` found: every chunk matched its checksum.

    Attributes
    ----------
    n_chunks : int
        Chunks checked.
    n_images : int
        Images checked.
    pixel_range : tuple of int
        Smallest and largest pixel over all images.
    """

    n_chunks: int
    n_images: int
    pixel_range: tuple[int, int]


def verify_store(folder: str | os.PathLike[str], progress: Progress | None = None) -> StoreCheck:
    """Check every chunk of a complete store against its manifest, one chunk in memory at a time.

    Parameters
    ----------
    folder : path
        The store folder.
    progress : callable, optional
        Called with the number of images checked so far.

    Returns
    -------
    StoreCheck

    Raises
    ------
    InputError
        If the folder or its manifest is missing, or the build is unfinished.
    DataFormatError
        Naming the first chunk (or manifest) that is corrupted, truncated or missing.
    """
    folder = Path(folder)
    manifest = read_manifest(folder)
    require_complete(folder, manifest)
    low, high, done = 255, 0, 0
    for index in range(manifest.n_chunks):
        record = manifest.chunks[index]
        images = read_chunk(str(folder), "images", record)
        labels = read_chunk(str(folder), "labels", record)
        counts = np.bincount(labels, minlength=len(manifest.class_names))
        if counts.size != len(manifest.class_names) or tuple(counts) != tuple(record.class_counts):
            raise DataFormatError(
                f"{folder / MANIFEST_FILE}: class counts of chunk {index} differ from its labels"
            )
        if images.size:
            low, high = min(low, int(images.min())), max(high, int(images.max()))
        done += images.shape[0]
        if progress is not None:
            progress(done)
    return StoreCheck(manifest.n_chunks, done, (low, high))


def require_complete(folder: Path, manifest: StoreManifest) -> None:
    """Refuse a store whose build is unfinished (one :class:`InputError` line)."""
    if not manifest.complete:
        raise InputError(
            f"{folder}: the build is unfinished ({len(manifest.chunks)} of {manifest.n_chunks} "
            f"chunks); finish it with 'mnist-logreg datasets build deformed-mnist --out "
            f"{folder} --resume'"
        )
