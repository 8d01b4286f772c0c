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
from mnist_logreg.preprocessing import ModelInputSpec, load_digit_file


def _top(proba: np.ndarray, classes: list[Any], names: tuple[str, ...], k: int) -> list[dict]:
    order = np.argsort(-proba, kind="stable")[:k]
    return [
        {"label": classes[i], "class_name": names[i], "probability": float(proba[i])} for i in order
    ]


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
    pixel scale, one prediction per image. A file that cannot be read is reported on stderr and
    the others are still predicted; the exit code is then 1.
    """
    if top < 1:
        raise InputError(f"--top must be an integer >= 1. Got {top} instead.")
    model = load_model(model_path)
    spec = ModelInputSpec.from_model(model, read_metadata(model_path))
    classes = np.asarray(model.classes_).tolist()
    k = min(top, len(classes))

    names: list[str] = []
    indices: list[int | None] = []
    batches: list[np.ndarray] = []
    failed = 0
    for path in files:
        try:
            X = load_digit_file(path, image_shape=spec.image_shape, pixel_max=spec.pixel_max)
        except MnistLogregError as exc:
            failed += 1
            message = " ".join(str(exc).split())
            sys.stderr.write(f"mnist-logreg: error: {message}\n")
            continue
        batches.append(X.astype(np.float32, copy=False))
        names.extend([str(path)] * len(X))
        indices.extend([None] if len(X) == 1 else range(len(X)))

    results = []
    if batches:
        proba = np.asarray(model.predict_proba(np.concatenate(batches)), dtype=np.float64)
        for name, index, row in zip(names, indices, proba, strict=True):
            best = _top(row, classes, spec.class_names, k)
            results.append(
                {
                    "file": name,
                    "index": index,
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
    return 1 if failed else 0
