"""Model files: a ZIP of ``.npy`` entries (arrays plus JSON metadata). Loading never runs code.

Format (version 2)
------------------
A model file is a ZIP archive (deflate) that :func:`numpy.load` can also open. Its entries:

``metadata.npy``
    a uint8 array holding UTF-8 JSON (no NaN or Infinity, no duplicate keys)::

        {"format": "mnist-logreg-model", "format_version": 2, "package_version": "0.1.0",
         "created_utc": "...", "kind": "pipeline" | "estimator",
         "steps": [{"name": "scale", "kind": "PixelScaler", "params": {...},
                    "attributes": {...}, "arrays": {"mean_": "s1.mean_", ...}}, ...],
         "classes": [...], "n_features_in": 784, "extra": {...}}

``s<step>.<attribute>.npy``
    one array per fitted array attribute (``.npy`` format 1.0 or 2.0, never object dtypes).

``integrity.npy``
    a uint8 array holding UTF-8 JSON ``{"sha256": "<hex>"}``, plus ``"hmac_sha256": "<hex>"``
    when the file was saved with a key. Both are computed over the byte string ::

        b"mnist-logreg-model 2\\n" + for each other entry, by name:
            name + b"\\n" + decimal length + b"\\n" + the entry's exact (decompressed) bytes

    so a change to any byte of the metadata or of any array is detected.

What the digest proves: the file is, byte for byte, what ``save_model`` wrote (no corruption, no
accidental or partial edit). It does not prove who wrote it: anyone can edit a file and recompute
the SHA-256. Only the optional HMAC-SHA256 (``key=``, or the ``MNIST_LOGREG_MODEL_KEY`` environment
variable) detects deliberate tampering, by anyone who does not know the key.

Loading, in order (nothing is decompressed before the sizes are known to be honest):

1. the file's size (at most ``max_bytes``) and the ZIP's central directory: at most
   ``MAX_ENTRIES`` entries with plain ``*.npy`` names, no duplicates, no encryption, stored or
   deflated only;
2. ``metadata.npy`` (declared size at most ``MAX_METADATA_BYTES``, read with that bound), parsed
   and checked field by field (:mod:`mnist_logreg._model_schema`): steps, parameters, classes,
   feature count, printable strings. That gives the exact shape of every array;
3. the entry names must be exactly the expected ones, each declared uncompressed size at most
   the expected array's size (plus a small ``.npy`` header), the total at most ``max_bytes``;
4. every entry read with its bound; the digest (and the HMAC when a key is given) verified;
5. every array parsed (:func:`mnist_logreg.datasets.parse_npy`: header checked before any data
   is touched, never pickle) and checked: dtype, exact shape, finite values, positive scales,
   classes equal to the metadata's;
6. the estimators rebuilt from checked values only; their raw predictions bounded for every
   image with pixels in the model's range (so probabilities are finite); one prediction made.

Every failure raises :class:`~mnist_logreg.errors.DataFormatError` (a missing file:
:class:`~mnist_logreg.errors.InputError`) with one line naming the file and the field.

Version 1 files (written before the whole-file digest existed) are still read, with every
check above except that the metadata is not covered by a checksum: version 1 stored a SHA-256
per array in the metadata (``"sha256": {"s1.mean_": ...}``), which is verified. Saving a loaded
version 1 model writes version 2.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import hmac
import io
import json
import logging
import math
import os
import re
import struct
import zipfile
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
from sklearn.pipeline import Pipeline

from mnist_logreg import __version__
from mnist_logreg._model_schema import (
    STEP_SCHEMAS,
    CheckedMetadata,
    build_model,
    check_array,
    check_metadata,
    check_prediction_range,
    model_steps,
)
from mnist_logreg.atomic import write_atomic
from mnist_logreg.datasets import parse_npy
from mnist_logreg.errors import DataFormatError, InputError

__all__ = [
    "FORMAT_NAME",
    "FORMAT_VERSION",
    "KEY_ENV",
    "MAX_MODEL_BYTES",
    "ModelFile",
    "load_model",
    "read_metadata",
    "read_model_file",
    "save_model",
]

logger = logging.getLogger(__name__)

FORMAT_NAME = "mnist-logreg-model"
#: Version written by :func:`save_model`; versions 1 and 2 are read.
FORMAT_VERSION = 2
#: Environment variable holding the HMAC key when ``key`` is not given.
KEY_ENV = "MNIST_LOGREG_MODEL_KEY"
#: Default cap on a model file's size and on its total uncompressed size (64 MiB; an MNIST
#: model is about 70 kB, 784 features x 1,000 classes in float64 about 6 MB).
MAX_MODEL_BYTES = 64 * 2**20
#: Cap on the metadata entry's uncompressed size.
MAX_METADATA_BYTES = 2**20
#: Most entries an archive may have (metadata, integrity and the arrays).
MAX_ENTRIES = 64
#: Largest ``.npy`` header accepted (numpy writes 128 bytes for these arrays).
MAX_NPY_HEADER = 4096

_METADATA = "metadata.npy"
_INTEGRITY = "integrity.npy"
_MAX_INTEGRITY_BYTES = 4096
_ENTRY_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.]{0,99}\.npy")
_HEX64 = re.compile(r"[0-9a-f]{64}")
_ALLOWED_DTYPE_KINDS = "biufU"  # bool, int, uint, float, unicode: never object
_EOCD = struct.Struct("<4s4H2LH")
_EOCD_SIGNATURE = b"PK\x05\x06"
_ZIP64_LOCATOR_SIGNATURE = b"PK\x06\x07"
_MAX_CENTRAL_DIRECTORY = MAX_ENTRIES * (46 + 3 * 2**16)

# What zipfile and zlib raise on damaged bytes (RuntimeError: encrypted entries); caught only
# around the ZIP reading calls, so that no other failure is mistaken for a damaged file.
_ZIP_DAMAGE = (
    zipfile.BadZipFile,
    zipfile.LargeZipFile,
    zlib.error,
    EOFError,
    OSError,
    ValueError,
    struct.error,
    NotImplementedError,
    RuntimeError,
    UnicodeDecodeError,
)


@dataclass(frozen=True)
class ModelFile:
    """A loaded, fully checked model file.

    Attributes
    ----------
    model : Pipeline or estimator
        Rebuilt from the file; predicts from raw pixels.
    metadata : dict
        The file's JSON metadata (format, steps, classes, ``extra``...).
    format_version : int
        1 or 2.
    signed : bool
        Whether an HMAC key was given and the file's HMAC-SHA256 matched it.
    """

    model: Any
    metadata: dict[str, Any]
    format_version: int
    signed: bool


# ---------------------------------------------------------------------------------------------
# Saving
# ---------------------------------------------------------------------------------------------


def _json_value(value: Any) -> Any:
    """Convert a parameter or attribute value to JSON, or raise TypeError."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, type) and issubclass(value, np.generic):
        return {"__dtype__": np.dtype(value).name}
    if isinstance(value, np.dtype):
        return {"__dtype__": value.name}
    if isinstance(value, dict):
        return {"__dict__": [[_json_value(k), _json_value(v)] for k, v in value.items()]}
    if isinstance(value, list | tuple):
        return [_json_value(v) for v in value]
    raise TypeError(type(value).__name__)


def _steps_of(model: Any) -> list[tuple[str, Any]]:
    """The steps a file stores: a classifier fitted with ``standardize=True`` is stored unfolded.

    Its ``unfold()`` gives the StandardScaler and the classifier on standardized rows that it
    equals exactly (W = V / s, b = c - W m), so a model file always holds plain, checkable
    steps and older readers of the format need nothing new.
    """
    steps = model_steps(model)
    stored: list[tuple[str, Any]] = []
    for name, step in steps:
        if getattr(step, "standardize", False) and hasattr(step, "unfold"):
            scaler, classifier = step.unfold()
            stored += [(f"{name}_standardize", scaler), (name, classifier)]
        else:
            stored.append((name, step))
    return stored


def _npy_bytes(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.lib.format.write_array(buffer, np.ascontiguousarray(array), allow_pickle=False)
    return buffer.getvalue()


def _json_npy(value: Any) -> bytes:
    text = json.dumps(value, allow_nan=False, ensure_ascii=True)
    return _npy_bytes(np.frombuffer(text.encode("ascii"), dtype=np.uint8))


def _signed_message(entries: Mapping[str, bytes], hasher: Any) -> Any:
    """Feed the digest's byte string (see the module docstring) to ``hasher``; return it."""
    hasher.update(b"mnist-logreg-model 2\n")
    for name in sorted(entries):
        if name != _INTEGRITY:
            data = entries[name]
            hasher.update(f"{name}\n{len(data)}\n".encode("ascii"))
            hasher.update(data)
    return hasher


def _key_bytes(key: bytes | str | None) -> bytes | None:
    """The HMAC key: ``key``, else the environment variable, else None."""
    if key is None:
        key = os.environ.get(KEY_ENV) or None
    if key is None:
        return None
    raw = key.encode("utf-8") if isinstance(key, str) else bytes(key)
    if not raw:
        raise InputError("The 'key' for model files must not be empty.")
    return raw


def _archive(entries: Mapping[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries.items():
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, data)
    return buffer.getvalue()


def save_model(
    model: Any,
    path: str | os.PathLike[str],
    *,
    extra: dict[str, Any] | None = None,
    key: bytes | str | None = None,
) -> None:
    """Save a fitted model or pipeline of known steps to ``path`` (atomically).

    The file is built in memory and read back through the same checks as :func:`load_model`
    before it is written, so a file this function writes always loads.

    Parameters
    ----------
    model : Pipeline or estimator
        A fitted :class:`~mnist_logreg.linear_model.LogisticRegression`, its one-vs-rest variant,
        or a Pipeline of PixelScaler, StandardScaler and one of those.
    path : path-like
        Destination, conventionally ending in ``.npz``.
    extra : dict, optional
        JSON-serializable information stored with the model (dataset, image shape, pixel scale,
        class names, ...); strings must be printable, numbers finite.
    key : bytes or str, optional
        Secret key: also store an HMAC-SHA256 of the file, which :func:`load_model` verifies
        when given the same key. Default: the ``MNIST_LOGREG_MODEL_KEY`` environment variable
        when set, else no HMAC.

    Raises
    ------
    InputError
        The model has an unknown step type, is not fitted, or holds values a model file may not
        hold (NaN coefficients, unprintable class names, ...).
    """
    raw_key = _key_bytes(key)
    arrays: dict[str, bytes] = {}
    steps_meta = []
    steps = _steps_of(model)
    for index, (name, step) in enumerate(steps):
        step_type: type = type(step)
        kind = step_type.__name__
        schema = STEP_SCHEMAS.get(kind)
        if schema is None or schema.cls is not step_type:
            known = ", ".join(sorted(STEP_SCHEMAS))
            raise InputError(f"cannot save a model step of type {kind}; known step types: {known}")
        params = {k: _json_value(v) for k, v in step.get_params(deep=False).items()}
        attributes: dict[str, Any] = {}
        array_keys: dict[str, str] = {}
        fitted = [k for k in vars(step) if k.endswith("_") and not k.startswith("_")]
        if not fitted:
            raise InputError(f"cannot save: step {name!r} ({kind}) is not fitted")
        for attr in fitted:
            value = getattr(step, attr)
            if isinstance(value, np.ndarray):
                if value.dtype.kind not in _ALLOWED_DTYPE_KINDS:
                    raise InputError(
                        f"cannot save {name}.{attr}: arrays of dtype {value.dtype} "
                        "are not supported"
                    )
                key_name = f"s{index}.{attr}"
                arrays[f"{key_name}.npy"] = _npy_bytes(value)
                array_keys[attr] = key_name
            else:
                try:
                    attributes[attr] = _json_value(value)
                except TypeError as exc:
                    raise InputError(f"cannot save {name}.{attr} of type {exc}") from exc
        steps_meta.append(
            {
                "name": name,
                "kind": kind,
                "params": params,
                "attributes": attributes,
                "arrays": array_keys,
            }
        )
    classes = getattr(steps[-1][1], "classes_", None)
    metadata = {
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "package_version": __version__,
        "created_utc": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        "kind": "pipeline" if isinstance(model, Pipeline) else "estimator",
        "steps": steps_meta,
        "classes": None if classes is None else np.asarray(classes).tolist(),
        "n_features_in": _json_value(getattr(steps[0][1], "n_features_in_", None)),
        "extra": extra or {},
    }
    try:
        entries = {_METADATA: _json_npy(metadata), **arrays}
    except (TypeError, ValueError) as exc:
        raise InputError(f"cannot save the model: metadata is not plain JSON ({exc})") from None
    integrity = {"sha256": _signed_message(entries, hashlib.sha256()).hexdigest()}
    if raw_key is not None:
        integrity["hmac_sha256"] = _signed_message(
            entries, hmac.new(raw_key, digestmod=hashlib.sha256)
        ).hexdigest()
    data = _archive({**entries, _INTEGRITY: _json_npy(integrity)})
    try:
        _read_archive(io.BytesIO(data), len(data), key=raw_key, max_bytes=MAX_MODEL_BYTES)
    except DataFormatError as exc:
        raise InputError(f"cannot save the model: {exc}") from None
    write_atomic(path, data)


# ---------------------------------------------------------------------------------------------
# Loading
# ---------------------------------------------------------------------------------------------


def read_model_file(
    path: str | os.PathLike[str],
    *,
    key: bytes | str | None = None,
    max_bytes: int = MAX_MODEL_BYTES,
) -> ModelFile:
    """Read, check and rebuild a model file (see the module docstring for every check).

    Parameters
    ----------
    path : path-like
        The model file.
    key : bytes or str, optional
        HMAC key: when given (or set in ``MNIST_LOGREG_MODEL_KEY``), the file must carry an
        HMAC-SHA256 made with this key.
    max_bytes : int, default=MAX_MODEL_BYTES
        Cap on the file's size and on its total uncompressed size.

    Returns
    -------
    model_file : ModelFile

    Raises
    ------
    InputError
        The file does not exist.
    DataFormatError
        Anything else: one line naming the file and what is wrong.
    """
    path = Path(path)
    raw_key = _key_bytes(key)
    if not path.exists():
        raise InputError(f"{path}: model file not found")
    if not path.is_file():
        raise InputError(f"{path}: not a regular file; give a model file (.npz)")
    try:
        handle = path.open("rb")
    except OSError as exc:
        raise InputError(f"{path}: cannot read the model file ({exc.strerror or exc})") from None
    try:
        with handle:
            size = os.fstat(handle.fileno()).st_size
            return _read_archive(handle, size, key=raw_key, max_bytes=max_bytes)
    except DataFormatError as exc:
        raise DataFormatError(f"{path}: {exc}") from None


def load_model(path: str | os.PathLike[str], *, key: bytes | str | None = None) -> Any:
    """Load a model file saved by :func:`save_model`; the result predicts from raw pixels.

    Parameters
    ----------
    path : path-like
    key : bytes or str, optional
        HMAC key the file must be signed with (default: ``MNIST_LOGREG_MODEL_KEY`` when set).

    Raises
    ------
    DataFormatError
        Truncated, corrupted, edited (digest mismatch), inconsistent, oversized or newer-format
        file; a wrong or missing HMAC when a key is given.
    """
    return read_model_file(path, key=key).model


def read_metadata(
    path: str | os.PathLike[str], *, key: bytes | str | None = None
) -> dict[str, Any]:
    """Return the JSON metadata of a model file, after checking the whole file.

    The metadata's ``extra`` (image shape, pixel scale, class names) changes predictions, so it
    is returned only from a file that passes every check of :func:`load_model`.
    """
    return read_model_file(path, key=key).metadata


def _check_end_record(handle: BinaryIO, size: int) -> None:
    """Refuse an archive whose central directory is too large before zipfile parses it.

    Finds the end-of-central-directory record as :mod:`zipfile` does (at the very end, else the
    last signature in the final 64 kB) and bounds its entry count and directory size, so a tiny
    file cannot make zipfile build millions of entries.
    """
    tail_size = min(size, _EOCD.size + 2**16)
    handle.seek(size - tail_size)
    tail = handle.read(tail_size)
    if (
        len(tail) >= _EOCD.size
        and tail[-_EOCD.size :][:4] == _EOCD_SIGNATURE
        and tail[-2:] == (b"\x00\x00")
    ):
        start = len(tail) - _EOCD.size
    else:
        start = tail.rfind(_EOCD_SIGNATURE)
    if start < 0 or len(tail) - start < _EOCD.size:
        raise DataFormatError(
            "not a valid mnist-logreg model file (truncated or corrupted: no ZIP end record)"
        )
    _, _, _, _, n_entries, cd_size, _, _ = _EOCD.unpack_from(tail, start)
    if start >= 20 and tail[start - 20 : start - 16] == _ZIP64_LOCATOR_SIGNATURE:
        raise DataFormatError("ZIP64 archives are not model files")
    if n_entries > MAX_ENTRIES or cd_size > _MAX_CENTRAL_DIRECTORY:
        raise DataFormatError(
            f"the archive declares {n_entries} entries in a {cd_size}-byte directory; a model "
            f"file has at most {MAX_ENTRIES}"
        )
    handle.seek(0)


def _check_entries(infos: list[zipfile.ZipInfo]) -> dict[str, zipfile.ZipInfo]:
    """Names, count, flags and compression of the archive's entries (nothing read yet)."""
    if len(infos) > MAX_ENTRIES:
        raise DataFormatError(f"the archive has {len(infos)} entries, at most {MAX_ENTRIES}")
    by_name: dict[str, zipfile.ZipInfo] = {}
    for info in infos:
        name = info.filename
        if not _ENTRY_NAME.fullmatch(name):
            raise DataFormatError(f"unexpected archive entry {name[:80]!r}")
        if name in by_name:
            raise DataFormatError(f"archive entry {name!r} appears twice")
        if info.flag_bits & 0x1:
            raise DataFormatError(f"archive entry {name!r} is encrypted")
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise DataFormatError(
                f"archive entry {name!r} uses compression method {info.compress_type} "
                "(only stored or deflated)"
            )
        by_name[name] = info
    if _METADATA not in by_name:
        raise DataFormatError("not an mnist-logreg model file (no metadata entry)")
    return by_name


def _damaged(exc: BaseException) -> DataFormatError:
    message = " ".join(str(exc).split())[:120]
    return DataFormatError(
        "not a valid mnist-logreg model file (truncated or corrupted: "
        f"{type(exc).__name__}: {message})"
    )


def _read_entry(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> bytes:
    """The entry's bytes, never more than its declared (already bounded) size; CRC checked."""
    try:
        with archive.open(info) as stream:
            data = stream.read(info.file_size + 1)
    except _ZIP_DAMAGE as exc:
        raise _damaged(exc) from None
    if len(data) != info.file_size:
        raise DataFormatError(
            f"archive entry {info.filename!r} holds {len(data)} bytes, declares {info.file_size}"
        )
    return data


def _parse_npy(data: bytes, field: str) -> np.ndarray:
    """Decode an entry with the package's strict ``.npy`` reader (never object arrays)."""
    return parse_npy(data, field, kinds=_ALLOWED_DTYPE_KINDS, what="allowed in a model file")


def _parse_json(data: bytes, field: str) -> Any:
    """Strict JSON from a uint8 ``.npy`` entry: no NaN/Infinity, no duplicate keys."""
    payload = _parse_npy(data, field)
    if payload.dtype != np.uint8 or payload.ndim != 1:
        raise DataFormatError(f"{field}: expected a 1-D uint8 array, got {payload.dtype}")

    def no_constant(name: str) -> Any:
        raise DataFormatError(f"{field}: {name} is not a valid JSON number")

    def finite_float(text: str) -> float:
        value = float(text)
        if not math.isfinite(value):
            raise DataFormatError(f"{field}: number {text[:30]} is out of range")
        return value

    def unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        result = dict(pairs)
        if len(result) != len(pairs):
            raise DataFormatError(f"{field}: duplicate JSON key")
        return result

    try:
        return json.loads(
            payload.tobytes().decode("utf-8"),
            parse_constant=no_constant,
            parse_float=finite_float,
            object_pairs_hook=unique_keys,
        )
    except (ValueError, RecursionError) as exc:  # JSONDecodeError, UnicodeDecodeError, int limit
        if isinstance(exc, DataFormatError):
            raise
        message = " ".join(str(exc).split())[:100]
        raise DataFormatError(f"{field}: not valid UTF-8 JSON ({message})") from None


def _check_version(metadata: Any) -> int:
    if not isinstance(metadata, dict) or metadata.get("format") != FORMAT_NAME:
        raise DataFormatError("not an mnist-logreg model file (format tag missing)")
    version = metadata.get("format_version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise DataFormatError(f"format_version must be an integer >= 1, got {version!r:.40}")
    if version > FORMAT_VERSION:
        writer = metadata.get("package_version")
        writer = writer if isinstance(writer, str) and writer.isprintable() else "?"
        raise DataFormatError(
            f"written in model format version {version} by mnist-logreg {writer[:40]}; this "
            f"version reads up to {FORMAT_VERSION} (upgrade mnist-logreg)"
        )
    return version


def _expected_sizes(
    checked: CheckedMetadata, version: int, by_name: Mapping[str, zipfile.ZipInfo], max_bytes: int
) -> None:
    """Entry names must be exactly the expected ones, declared sizes within their bounds."""
    bounds = {f"{spec.entry}.npy": spec.max_nbytes + MAX_NPY_HEADER for spec in checked.arrays}
    bounds[_METADATA] = MAX_METADATA_BYTES
    if version >= 2:
        bounds[_INTEGRITY] = _MAX_INTEGRITY_BYTES
    missing = sorted(set(bounds) - set(by_name))
    unexpected = sorted(set(by_name) - set(bounds))
    if missing or unexpected:
        parts = []
        if missing:
            parts.append("missing " + ", ".join(missing))
        if unexpected:
            parts.append("unexpected " + ", ".join(unexpected))
        raise DataFormatError(f"archive entries do not match the metadata: {'; '.join(parts)}")
    largest = sum(spec.max_nbytes for spec in checked.arrays)
    if largest > max_bytes:
        raise DataFormatError(
            f"the metadata describes arrays of up to {largest} bytes (n_features_in="
            f"{checked.dims.n_features}, {checked.dims.n_classes} classes), more than the "
            f"limit of {max_bytes}"
        )
    total = 0
    for name, bound in bounds.items():
        declared = by_name[name].file_size
        if declared > bound:
            raise DataFormatError(
                f"archive entry {name!r} declares {declared} bytes uncompressed; the metadata "
                f"allows at most {bound}"
            )
        total += declared
    if total > max_bytes:
        raise DataFormatError(
            f"the model's arrays total {total} bytes uncompressed, more than the limit of "
            f"{max_bytes}"
        )


def _verify_integrity(entries: Mapping[str, bytes], key: bytes | None) -> bool:
    """Version 2: check the SHA-256 (and the HMAC when a key is given); return whether signed."""
    integrity = _parse_json(entries[_INTEGRITY], "integrity")
    if (
        not isinstance(integrity, dict)
        or "sha256" not in integrity
        or not set(integrity) <= {"sha256", "hmac_sha256"}
        or not all(isinstance(v, str) and _HEX64.fullmatch(v) for v in integrity.values())
    ):
        raise DataFormatError('integrity must be {"sha256": <64 hex digits>[, "hmac_sha256": ...]}')
    digest = _signed_message(entries, hashlib.sha256()).hexdigest()
    if not hmac.compare_digest(digest, integrity["sha256"]):
        raise DataFormatError(
            "SHA-256 integrity check failed (the file was corrupted or edited after it was saved)"
        )
    if key is None:
        return False
    if "hmac_sha256" not in integrity:
        raise DataFormatError("no HMAC signature, but a key was given (the file is not signed)")
    mac = _signed_message(entries, hmac.new(key, digestmod=hashlib.sha256)).hexdigest()
    if not hmac.compare_digest(mac, integrity["hmac_sha256"]):
        raise DataFormatError("HMAC signature does not match the key (wrong key or tampered file)")
    return True


def _array_digest(array: np.ndarray) -> str:
    """Version 1's per-array SHA-256: over dtype, shape and the little-endian bytes."""
    canonical = np.ascontiguousarray(array)
    if canonical.dtype.byteorder == ">" or (
        canonical.dtype.byteorder == "=" and not np.little_endian
    ):
        canonical = canonical.astype(canonical.dtype.newbyteorder("<"))
    digest = hashlib.sha256()
    digest.update(canonical.dtype.str.encode())
    digest.update(repr(tuple(canonical.shape)).encode())
    digest.update(canonical.tobytes())
    return digest.hexdigest()


def _verify_v1_checksums(
    metadata: dict[str, Any], checked: CheckedMetadata, arrays: Mapping[str, np.ndarray]
) -> None:
    sums = metadata["sha256"]
    expected = {spec.entry for spec in checked.arrays}
    if not isinstance(sums, dict) or set(sums) != expected:
        raise DataFormatError("sha256 must list exactly the file's arrays")
    for entry, array in arrays.items():
        value = sums[entry]
        if not (isinstance(value, str) and _HEX64.fullmatch(value)):
            raise DataFormatError(f"sha256.{entry} must be 64 hex digits")
        if not hmac.compare_digest(_array_digest(array), value):
            raise DataFormatError(
                f"array {entry!r} fails its SHA-256 check (file corrupted or edited)"
            )


def _smoke_test(model: Any, n_features: int) -> None:
    """One prediction on an all-zero image must give finite probabilities."""
    with np.errstate(all="ignore"):
        proba = model.predict_proba(np.zeros((1, n_features), dtype=np.float32))
    if not np.isfinite(proba).all():
        raise DataFormatError(
            "the model predicts non-finite probabilities (coefficients or scales out of range)"
        )


def _read_archive(handle: BinaryIO, size: int, *, key: bytes | None, max_bytes: int) -> ModelFile:
    """Every check of the module docstring, in order, on an open archive of ``size`` bytes."""
    if size > max_bytes:
        raise DataFormatError(f"file of {size} bytes exceeds the limit of {max_bytes}")
    _check_end_record(handle, size)
    try:
        archive = zipfile.ZipFile(handle)
    except _ZIP_DAMAGE as exc:
        raise _damaged(exc) from None
    with archive:
        by_name = _check_entries(archive.infolist())
        if by_name[_METADATA].file_size > MAX_METADATA_BYTES:
            raise DataFormatError(
                f"metadata entry declares {by_name[_METADATA].file_size} bytes, "
                f"at most {MAX_METADATA_BYTES}"
            )
        entries = {_METADATA: _read_entry(archive, by_name[_METADATA])}
        metadata = _parse_json(entries[_METADATA], "metadata")
        version = _check_version(metadata)
        checked = check_metadata(metadata, version)
        _expected_sizes(checked, version, by_name, max_bytes)
        for name, info in by_name.items():
            if name != _METADATA:
                entries[name] = _read_entry(archive, info)
    signed = False
    if version >= 2:
        signed = _verify_integrity(entries, key)
    elif key is not None:
        raise DataFormatError("format version 1 files carry no HMAC signature, but a key was given")
    arrays = {}
    for spec in checked.arrays:  # free each entry once parsed: peak ~ total + largest array
        arrays[spec.entry] = _parse_npy(entries.pop(f"{spec.entry}.npy"), spec.field)
    del entries
    if version == 1:
        _verify_v1_checksums(metadata, checked, arrays)
        logger.info("model file in format version 1: its metadata has no checksum; re-save it")
    for spec in checked.arrays:
        check_array(spec, arrays[spec.entry], checked)
    model = build_model(checked, arrays)
    check_prediction_range(model, checked)
    _smoke_test(model, checked.dims.n_features)
    return ModelFile(model, metadata, version, signed)
