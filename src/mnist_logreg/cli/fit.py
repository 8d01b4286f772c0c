"""``mnist-logreg fit``: train the pipeline at a fixed C on a dataset's training set and save it."""

from __future__ import annotations

import time
from pathlib import Path

import typer
from rich.console import Console

from mnist_logreg.cli._options import flags_named
from mnist_logreg.datasets import load_dataset
from mnist_logreg.errors import InputError
from mnist_logreg.model_selection import fit_model, validate_C, validate_strategy
from mnist_logreg.persistence import read_metadata, save_model


def fit_cli(
    dataset: str = typer.Option(
        "mnist", "--dataset", help="Dataset name (see `mnist-logreg datasets`)."
    ),
    C: float = typer.Option(..., "--C", help="Inverse regularization strength (scikit-learn's C)."),
    strategy: str = typer.Option("multinomial", "--strategy", help="multinomial or ovr."),
    out: Path = typer.Option(..., "--out", help="Model file to write (.npz)."),
    force: bool = typer.Option(False, "--force", help="Overwrite --out if it is a model file."),
) -> None:
    """Fit scale -> standardize -> logistic regression at C and save it as a model file.

    The fit reads the raw pixels with the standardization folded into the classifier.
    """
    with flags_named():
        validate_C(C)
    validate_strategy(strategy)
    _check_model_out(out, force=force)
    data = load_dataset(dataset)
    start = time.perf_counter()
    # The folded fit reads the raw pixels (no float copy) and returns the same
    # scale -> standardize -> classifier pipeline the old float pipeline fitted.
    model = fit_model(
        data.X_train, data.y_train, C, pixel_max=float(data.pixel_max), strategy=strategy
    )
    seconds = time.perf_counter() - start
    test_accuracy = float(model.score(data.X_test, data.y_test))
    save_model(
        model,
        out,
        extra={
            "dataset": data.name,
            "C": C,
            "strategy": strategy,
            "image_shape": list(data.image_shape),
            "pixel_max": float(data.pixel_max),
            "class_names": list(data.class_names),
            "fit_seconds": seconds,
            "test_accuracy": test_accuracy,
        },
    )
    Console().print(
        f"Fitted {strategy} logistic regression (C={C:g}) on {len(data.y_train)} {data.name} "
        f"images in {seconds:.1f} s; test accuracy {test_accuracy:.4f}. Saved {out}."
    )


def _check_model_out(out: Path, *, force: bool) -> None:
    """Refuse an ``--out`` that would overwrite anything but an earlier model file (``--force``)."""
    if out.is_symlink():
        raise InputError(f"--out {out}: is a symbolic link; give the file itself")
    if out.is_dir():
        raise InputError(f"--out {out}: is a folder; give a model file name (.npz)")
    if not out.parent.is_dir():
        raise InputError(f"--out {out}: folder {out.parent} does not exist")
    if not out.exists():
        return
    if not force:
        raise InputError(f"--out {out}: file exists; use --force to overwrite it")
    if not out.is_file():
        raise InputError(f"--out {out}: is not a regular file; nothing was changed")
    try:
        read_metadata(out)
    except InputError as exc:
        raise InputError(
            f"--out {out}: --force overwrites only an mnist-logreg model file, and this file is "
            f"not one ({exc}); nothing was changed"
        ) from exc
