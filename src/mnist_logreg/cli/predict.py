"""``mnist-logreg predict``: classify pictures and array files with a saved model."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import numpy as np
import typer

from mnist_logreg.errors import InputError, MnistLogregError
from mnist_logreg.persistence import load_model, read_metadata
from mnist_logreg.preprocessing import ModelInputSpec, input_kind, load_digit_file


def _top(proba: np.ndarray, classes: list[Any], names: tuple[str, ...], k: int) -> list[dict]:
    order = np.argsort(-proba, kind="stable")[:k]
    return [
        {"label": classes[i], "class_name": names[i], "probability": float(proba[i])} for i in order
    ]


_KIND_NAMES = {
    "npy": "a .npy array",
    "idx": "an IDX file",
    "png": "a PNG picture",
    "jpeg": "a JPEG picture",
}
#: Rows given to predict_proba at a time (bounds its temporary arrays).
_PREDICT_BATCH = 8192


def check_model_argument(model_path: Path, files: list[Path], command: str = "predict") -> None:
    """Refuse, in one line, a MODEL argument that is recognisably an input file.

    Parameters
    ----------
    model_path : Path
        The MODEL argument.
    files : list of Path
        The other file arguments: one that is a zip archive means the two were swapped.
    command : str, default="predict"
        The command, for the usage hint.

    Raises
    ------
    InputError
        If MODEL starts like a .npy array, an IDX file or a PNG/JPEG picture.
    """
    try:
        kind = input_kind(model_path)
    except InputError:
        return  # missing or unreadable: the model loader says so
    if kind not in _KIND_NAMES:
        return
    models = []
    for path in files:
        try:
            if input_kind(path) == "zip":
                models.append(path)
        except InputError:
            continue
    usage = f"usage: mnist-logreg {command} MODEL" + (" FILE..." if command == "predict" else "")
    if models:
        raise InputError(
            f"arguments swapped? MODEL {model_path} is {_KIND_NAMES[kind]} and FILE {models[0]} "
            f"looks like a model file; the model comes first ({usage})"
        )
    raise InputError(f"MODEL {model_path} is {_KIND_NAMES[kind]}, not a model file ({usage})")


def _read_file(path: Path, spec: ModelInputSpec) -> tuple[np.ndarray | None, int]:
    """Read one input file: (rows, 0), or (None, exit code) after one line on stderr."""
    try:
        X = load_digit_file(path, image_shape=spec.image_shape, pixel_max=spec.pixel_max)
    except InputError as exc:
        return None, _report(str(exc), 2)
    except MnistLogregError as exc:
        return None, _report(str(exc), 1)
    except MemoryError:
        return None, _report(f"{path}: out of memory reading this file", 1)
    except OSError as exc:
        return None, _report(f"{path}: cannot read the file ({exc.strerror or exc})", 1)
    return X, 0


def _report(message: str, code: int) -> int:
    one_line = " ".join(message.split())
    sys.stderr.write(f"mnist-logreg: error: {one_line}\n")
    return code


def _predict_rows(model: Any, X: np.ndarray, path: Path) -> tuple[np.ndarray | None, int]:
    try:
        parts = [
            np.asarray(
                model.predict_proba(X[i : i + _PREDICT_BATCH].astype(np.float32, copy=False)),
                dtype=np.float64,
            )
            for i in range(0, len(X), _PREDICT_BATCH)
        ]
    except MemoryError:
        return None, _report(f"{path}: out of memory predicting its {len(X)} images", 1)
    return np.concatenate(parts), 0


def predict_cli(
    model_path: Path = typer.Argument(..., metavar="MODEL", help="Model file (.npz)."),
    files: list[Path] = typer.Argument(
        ...,
        metavar="FILE...",
        help="PNG/JPEG pictures of one digit each (any size and polarity), .npy arrays or IDX "
        "files of MNIST-style images.",
    ),
    as_json: bool = typer.Option(False, "--json", help="Print a JSON list instead of lines."),
    top: int = typer.Option(3, "--top", help="How many most probable classes to show."),
) -> int:
    """Predict the class of each picture (MNIST-normalized) or array row; print label and top-K.

    Pictures go through the classical MNIST normalization (grayscale, polarity, crop, 20x20 box,
    center of mass in 28x28); .npy and IDX files hold already normalized images on the model's
    pixel scale, one prediction per image. A file that cannot be read is reported in one line on
    stderr and the others are still predicted; the exit code is then 2 (1 if the failure was
    not the file's fault, e.g. out of memory).
    """
    if top < 1:
        raise InputError(f"--top must be an integer >= 1. Got {top} instead.")
    check_model_argument(model_path, files)
    model = load_model(model_path)
    spec = ModelInputSpec.from_model(model, read_metadata(model_path))
    classes = np.asarray(model.classes_).tolist()
    k = min(top, len(classes))

    results = []
    code = 0
    for path in files:
        X, failure = _read_file(path, spec)
        proba = None
        if X is not None:
            proba, failure = _predict_rows(model, X, path)
            del X
        if proba is None:
            code = max(code, failure)
            continue
        for index, row in enumerate(proba):
            best = _top(row, classes, spec.class_names, k)
            results.append(
                {
                    "file": str(path),
                    "index": index if len(proba) > 1 else None,
                    "label": best[0]["label"],
                    "class_name": best[0]["class_name"],
                    "top": best,
                }
            )
    if as_json:
        typer.echo(json.dumps(results, indent=2))
    else:
        for result in results:
            where = (
                result["file"]
                if result["index"] is None
                else (f"{result['file']}[{result['index']}]")
            )
            shown = "  ".join(f"{t['class_name']}={t['probability']:.4f}" for t in result["top"])
            typer.echo(f"{where}\t{result['class_name']}\t{shown}")
    sys.stderr.flush()
    return code
