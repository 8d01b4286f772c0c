"""Model files: NumPy ``.npz`` arrays plus JSON metadata. Loading never executes code.

Format (version 1)
------------------
A model file is a ZIP archive written by :func:`numpy.savez_compressed` holding

``metadata``
    a uint8 array with UTF-8 JSON::

        {"format": "mnist-logreg-model", "format_version": 1, "package_version": "0.1.0",
         "created_utc": "...", "kind": "pipeline" | "estimator",
         "steps": [{"name": "scale", "kind": "PixelScaler", "params": {...},
                    "attributes": {...}, "arrays": {"mean_": "s1.mean_", ...}}, ...],
         "classes": [...], "n_features_in": 784, "extra": {...},
         "sha256": {"s1.mean_": "<hex>", ...}}

one array per fitted array attribute
    named ``s<step>.<attribute>``, each checked against ``sha256`` on load (the hash covers
    dtype, shape and the raw little-endian bytes).

Only known step kinds can be loaded (pixel scaling, StandardScaler, this package's logistic
regression and its one-vs-rest variant); they are rebuilt from their parameters and fitted
attributes, so the loaded object predicts exactly as the saved one did. Arrays are read with
``allow_pickle=False``: object arrays, and hence code, can never be loaded. A truncated,
corrupted, tampered or newer-format file raises :class:`~mnist_logreg.errors.DataFormatError`
with a one-line message.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import io
import json
import os
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from mnist_logreg import __version__
from mnist_logreg.atomic import write_atomic
from mnist_logreg.errors import DataFormatError, InputError
from mnist_logreg.linear_model import LogisticRegression, OneVsRestLogisticRegression
from mnist_logreg.preprocessing import PixelScaler

FORMAT_NAME = "mnist-logreg-model"
FORMAT_VERSION = 1

_KINDS: dict[str, Any] = {
    "PixelScaler": PixelScaler,
    "StandardScaler": StandardScaler,
    "LogisticRegression": LogisticRegression,
    "OneVsRestLogisticRegression": OneVsRestLogisticRegression,
}
_ALLOWED_DTYPE_KINDS = set("biufU")  # bool, int, uint, float, unicode: never object


def _array_digest(array: np.ndarray) -> str:
    """SHA-256 over dtype, shape and the little-endian bytes of ``array``."""
    canonical = np.ascontiguousarray(array)
    if canonical.dtype.byteorder == ">":
        canonical = canonical.astype(canonical.dtype.newbyteorder("<"))
    digest = hashlib.sha256()
    digest.update(canonical.dtype.str.encode())
    digest.update(repr(tuple(canonical.shape)).encode())
    digest.update(canonical.tobytes())
    return digest.hexdigest()


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


def _from_json(value: Any) -> Any:
    if isinstance(value, dict):
        if set(value) == {"__dtype__"}:
            return np.dtype(value["__dtype__"]).type
        if set(value) == {"__dict__"}:
            return {_from_json(k): _from_json(v) for k, v in value["__dict__"]}
        raise DataFormatError("unexpected object in model metadata")
    if isinstance(value, list):
        return [_from_json(v) for v in value]
    return value


def _steps_of(model: Any) -> list[tuple[str, Any]]:
    if isinstance(model, Pipeline):
        return list(model.steps)
    return [("model", model)]


def save_model(
    model: Any, path: str | os.PathLike[str], *, extra: dict[str, Any] | None = None
) -> None:
    """Save a fitted model or pipeline of known steps to ``path`` (atomically).

    Parameters
    ----------
    model : Pipeline or estimator
        A fitted :class:`~mnist_logreg.linear_model.LogisticRegression`, its one-vs-rest variant,
        or a Pipeline of PixelScaler, StandardScaler and one of those.
    path : path-like
        Destination, conventionally ending in ``.npz``.
    extra : dict, optional
        JSON-serializable information stored with the model (dataset, image shape, ...).
    """
    arrays: dict[str, np.ndarray] = {}
    steps_meta = []
    for index, (name, step) in enumerate(_steps_of(model)):
        kind = type(step).__name__
        if _KINDS.get(kind) is not type(step):
            known = ", ".join(sorted(_KINDS))
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
                key = f"s{index}.{attr}"
                arrays[key] = value
                array_keys[attr] = key
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
    final_step = _steps_of(model)[-1][1]
    classes = getattr(final_step, "classes_", None)
    metadata = {
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "package_version": __version__,
        "created_utc": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        "kind": "pipeline" if isinstance(model, Pipeline) else "estimator",
        "steps": steps_meta,
        "classes": None if classes is None else np.asarray(classes).tolist(),
        "n_features_in": _json_value(getattr(_steps_of(model)[0][1], "n_features_in_", None)),
        "extra": extra or {},
        "sha256": {key: _array_digest(value) for key, value in arrays.items()},
    }
    buffer = io.BytesIO()
    entries: dict[str, Any] = {
        "metadata": np.frombuffer(json.dumps(metadata).encode("utf-8"), dtype=np.uint8),
        **arrays,
    }
    np.savez_compressed(buffer, **entries)
    write_atomic(path, buffer.getvalue())


def read_metadata(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Return the JSON metadata of a model file (checked format and version)."""
    metadata, _ = _read(path, load_arrays=False)
    return metadata


def _read(
    path: str | os.PathLike[str], *, load_arrays: bool
) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: model file not found")
    try:
        with np.load(path, allow_pickle=False) as archive:
            if "metadata" not in archive.files:
                raise DataFormatError(f"{path}: not an mnist-logreg model file (no metadata)")
            metadata = json.loads(archive["metadata"].tobytes().decode("utf-8"))
            arrays = {}
            if load_arrays:
                arrays = {k: archive[k] for k in archive.files if k != "metadata"}
    except DataFormatError:
        raise
    except (
        zipfile.BadZipFile,
        EOFError,
        OSError,
        KeyError,
        ValueError,
        UnicodeDecodeError,
        json.JSONDecodeError,
    ) as exc:
        reason = "object arrays are refused" if "pickle" in str(exc) else exc.__class__.__name__
        raise DataFormatError(
            f"{path}: not a valid mnist-logreg model file (truncated or corrupted: {reason})"
        ) from exc
    if not isinstance(metadata, dict) or metadata.get("format") != FORMAT_NAME:
        raise DataFormatError(f"{path}: not an mnist-logreg model file (format tag missing)")
    version = metadata.get("format_version")
    if not isinstance(version, int):
        raise DataFormatError(f"{path}: model file has no valid format_version")
    if version > FORMAT_VERSION:
        raise DataFormatError(
            f"{path}: written in model format version {version} by mnist-logreg "
            f"{metadata.get('package_version', '?')}; this version reads up to {FORMAT_VERSION} "
            "(upgrade mnist-logreg)"
        )
    return metadata, arrays


def load_model(path: str | os.PathLike[str]) -> Any:
    """Load a model file saved by :func:`save_model`; the result predicts from raw pixels.

    Raises
    ------
    DataFormatError
        Truncated, corrupted, tampered (checksum mismatch) or newer-format file.
    """
    metadata, arrays = _read(path, load_arrays=True)
    try:
        checksums = metadata["sha256"]
        steps_meta = metadata["steps"]
        expected_keys = {key for step in steps_meta for key in step["arrays"].values()}
    except (KeyError, TypeError, AttributeError) as exc:
        raise DataFormatError(f"{path}: model metadata is incomplete ({exc!r})") from exc
    if set(arrays) != expected_keys or set(checksums) != expected_keys:
        raise DataFormatError(f"{path}: model arrays do not match the metadata (tampered file?)")
    for key, array in arrays.items():
        if array.dtype.kind not in _ALLOWED_DTYPE_KINDS:
            raise DataFormatError(f"{path}: array {key!r} has unsupported dtype {array.dtype}")
        if _array_digest(array) != checksums[key]:
            raise DataFormatError(
                f"{path}: array {key!r} fails its SHA-256 check (file tampered or corrupted)"
            )
    steps = []
    for step_meta in steps_meta:
        try:
            kind = step_meta["kind"]
            cls = _KINDS[kind]
        except (KeyError, TypeError) as exc:
            raise DataFormatError(f"{path}: unknown model step type {exc}") from exc
        try:
            params = {k: _from_json(v) for k, v in step_meta["params"].items()}
            step = cls(**params)
            for attr, value in step_meta["attributes"].items():
                _set_fitted(step, attr, _from_json(value))
            for attr, key in step_meta["arrays"].items():
                _set_fitted(step, attr, arrays[key])
        except (TypeError, ValueError, KeyError, AttributeError) as exc:
            raise DataFormatError(f"{path}: step {kind} cannot be rebuilt ({exc})") from exc
        steps.append((str(step_meta["name"]), step))
    if metadata.get("kind") == "pipeline":
        return Pipeline(steps)
    if len(steps) != 1:
        raise DataFormatError(f"{path}: an estimator file must hold exactly one step")
    return steps[0][1]


def _set_fitted(step: Any, attr: str, value: Any) -> None:
    if not (attr.endswith("_") and not attr.startswith("_") and attr.isidentifier()):
        raise ValueError(f"refusing attribute name {attr!r}")
    setattr(step, attr, value)
