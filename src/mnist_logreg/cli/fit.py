"""``mnist-logreg fit``: train the pipeline at a fixed C on a dataset's training set and save it.

With ``--scheduler`` the fit runs on a Dask cluster (``local:N`` or ``tcp://HOST:PORT``), each
pass a map-reduce over the training rows' chunks (``zarr:DIR`` stores stay on disk or in the
workers' memory), and ``--C-path MIN:MAX:N`` picks C on held-out validation rows first.
"""

from __future__ import annotations

import contextlib
import math
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import typer
from rich.console import Console

from mnist_logreg.cli._options import SchedulerOption, check_n_jobs, flags_named
from mnist_logreg.datasets import load_dataset
from mnist_logreg.errors import InputError
from mnist_logreg.model_selection import (
    fit_model,
    validate_C,
    validate_scheduler,
    validate_strategy,
)
from mnist_logreg.persistence import read_metadata, save_model

# Rows per Dask chunk when an in-memory dataset is fitted on a cluster.
_CHUNK_ROWS = 10_000
# Training digits a deformed store cycles through (row i deforms digit i mod 60,000).
_BASE_DIGITS = 60_000
_PERSIST_VALUES: dict[str, bool | str] = {"auto": "auto", "true": True, "false": False}


def fit_cli(
    dataset: str = typer.Option(
        "mnist", "--dataset", help="Dataset name (see `mnist-logreg datasets`), or zarr:DIR."
    ),
    C: float | None = typer.Option(
        None, "--C", help="Inverse regularization strength (scikit-learn's C)."
    ),
    strategy: str = typer.Option("multinomial", "--strategy", help="multinomial or ovr."),
    out: Path | None = typer.Option(None, "--out", help="Model file to write (.npz; required)."),
    force: bool = typer.Option(False, "--force", help="Overwrite --out if it is a model file."),
    scheduler: SchedulerOption = None,
    C_path: str | None = typer.Option(
        None, "--C-path",
        help="MIN:MAX:N: N log-spaced C values, scored on validation rows (needs --scheduler); "
        "the best is refitted on every training row.",
    ),
    validation: float = typer.Option(
        0.1, "--validation",
        help="With --C-path: share of the training rows held out to score C (0 to 1).",
    ),
    connect_timeout: float = typer.Option(
        10.0, "--connect-timeout", help="Seconds to wait for a tcp:// scheduler."
    ),
    persist: str = typer.Option(
        "auto", "--persist",
        help="With --scheduler: keep the training rows in the workers' memory (true), read "
        "them from their store in every pass (false), or true when they fit in half the "
        "workers' memory (auto).",
    ),
) -> None:
    """Fit scale -> standardize -> logistic regression at C and save it as a model file.

    The fit reads the raw pixels with the standardization folded into the classifier. With
    --scheduler it runs on a Dask cluster, progress per pass on stderr.
    """
    Cs = _check_C_options(C, C_path, validation, scheduler)
    validate_strategy(strategy)
    validate_scheduler(scheduler)
    check_n_jobs(1, scheduler)
    if not math.isfinite(connect_timeout) or connect_timeout <= 0:
        raise InputError(f"--connect-timeout must be > 0 seconds. Got {connect_timeout!r}.")
    persist_rows = _PERSIST_VALUES.get(persist.lower())
    if persist_rows is None:
        raise InputError(f"--persist must be auto, true or false. Got {persist!r}.")
    if scheduler is None and persist_rows != "auto":
        raise InputError("--persist needs --scheduler (it says where a cluster keeps the rows)")
    if out is None:
        raise InputError("Missing option '--out' (the model file to write)")
    _check_model_out(out, force=force)
    if scheduler is not None:
        _fit_on_cluster(dataset, Cs, strategy, out, scheduler, validation if C_path else None,
                        connect_timeout, persist_rows)
        return
    assert C is not None
    data = load_dataset(dataset)
    start = time.perf_counter()
    # The folded fit reads the raw pixels (no float copy) and returns the same
    # scale -> standardize -> classifier pipeline the old float pipeline fitted.
    model = fit_model(
        data.X_train, data.y_train, C, pixel_max=float(data.pixel_max), strategy=strategy
    )
    seconds = time.perf_counter() - start
    test_accuracy = float(model.score(data.X_test, data.y_test))
    save_model(model, out, extra=_metadata(data, C, strategy, seconds, test_accuracy))
    Console().print(
        f"Fitted {strategy} logistic regression (C={C:g}) on {len(data.y_train)} {data.name} "
        f"images in {seconds:.1f} s; test accuracy {test_accuracy:.4f}. Saved {out}."
    )


def _metadata(data: Any, C: float, strategy: str, seconds: float, test_accuracy: float
              ) -> dict[str, Any]:
    return {
        "dataset": data.name,
        "C": C,
        "strategy": strategy,
        "image_shape": list(data.image_shape),
        "pixel_max": float(data.pixel_max),
        "class_names": list(data.class_names),
        "fit_seconds": seconds,
        "test_accuracy": test_accuracy,
    }


def _check_C_options(C: float | None, C_path: str | None, validation: float,
                     scheduler: str | None) -> list[float]:
    """Return the C values to fit: ``[C]``, or the ``--C-path`` grid (checked, ascending)."""
    if (C is None) == (C_path is None):
        raise InputError("give exactly one of --C (a fixed C) and --C-path MIN:MAX:N")
    if C is not None:
        with flags_named():
            validate_C(C)
        return [C]
    assert C_path is not None
    if scheduler is None:
        raise InputError("--C-path needs --scheduler (the in-memory way is `mnist-logreg study`)")
    parts = C_path.split(":")
    try:
        low, high, n = float(parts[0]), float(parts[1]), int(parts[2])
        if len(parts) != 3:
            raise ValueError
    except (ValueError, IndexError):
        raise InputError(
            f"--C-path must be MIN:MAX:N (e.g. 0.01:10:10). Got {C_path!r} instead."
        ) from None
    for value, what in ((low, "MIN"), (high, "MAX")):
        try:
            validate_C(value)
        except InputError as exc:
            raise InputError(f"--C-path {what}: {exc}") from None
    if not 2 <= n <= 100 or not low < high:
        raise InputError(
            f"--C-path needs MIN < MAX and 2 <= N <= 100. Got {C_path!r} instead."
        )
    if not 0 < validation < 1:
        raise InputError(f"--validation must be between 0 and 1. Got {validation!r} instead.")
    return [float(c) for c in np.geomspace(low, high, n)]


def _progress(phase: str) -> Any:
    def report(n_pass: int, seconds: float) -> None:
        sys.stderr.write(f"{phase}: pass {n_pass} in {seconds * 1e3:.0f} ms\n")
        sys.stderr.flush()

    return report


def _fit_on_cluster(dataset: str, Cs: list[float], strategy: str, out: Path, scheduler: str,
                    validation: float | None, connect_timeout: float,
                    persist: bool | str = "auto") -> None:
    """Fit on Dask arrays (chosen C or a validated C path), save the model, print metrics."""
    import dask.array as da

    from mnist_logreg.datasets import open_zarr_dataset
    from mnist_logreg.linear_model import path_estimators
    from mnist_logreg.linear_model._distributed import (
        connect_scheduler,
        dask_logistic_regression_path,
        dask_path_accuracy,
        holdout_ranges,
    )
    from mnist_logreg.model_selection._pipeline import unfolded_pipeline

    if dataset.startswith("zarr:"):
        data: Any = open_zarr_dataset(dataset.removeprefix("zarr:"), name=dataset)
        X, y = data.X_train, data.y_train
        period = min(int(X.shape[0]), _BASE_DIGITS)
    else:
        data = load_dataset(dataset)
        X = da.from_array(data.X_train, chunks=(_CHUNK_ROWS, -1))
        y = da.from_array(data.y_train, chunks=_CHUNK_ROWS)
        period = int(X.shape[0])
    n_train = int(X.shape[0])
    fit_ranges = val_ranges = None
    if validation is not None:
        with flags_named():
            fit_ranges, val_ranges = holdout_ranges(n_train, validation, period)
    options = {"standardize": True, "multi_class": strategy, "persist": persist}
    start = time.perf_counter()
    scores = None
    with contextlib.ExitStack() as stack:
        try:
            client = stack.enter_context(connect_scheduler(scheduler, timeout=connect_timeout))
        except InputError as exc:
            raise InputError(f"--scheduler: {exc}") from None
        coef_init = intercept_init = None
        C = Cs[0]
        if fit_ranges is not None and val_ranges is not None:
            def rows(a: Any, ranges: list[tuple[int, int]]) -> Any:
                return da.concatenate([a[i:j] for i, j in ranges])

            path = dask_logistic_regression_path(
                rows(X, fit_ranges), rows(y, fit_ranges), Cs, client=client,
                on_pass=_progress(f"path of {len(Cs)} C"), **options,
            )
            scores = dask_path_accuracy(path, rows(X, val_ranges), rows(y, val_ranges),
                                        client=client)
            for c, score in zip(path.Cs, scores, strict=True):
                sys.stderr.write(f"C={c:.4g}: validation accuracy {score:.4f}\n")
            best = int(np.argmax(scores))  # ties: the smallest C (most regularized)
            C = float(path.Cs[best])
            coef_init = path.standardized_coefs[best]
            intercept_init = path.standardized_intercepts[best]
        path = dask_logistic_regression_path(
            X, y, [C], client=client, coef_init=coef_init, intercept_init=intercept_init,
            on_pass=_progress(f"fit at C={C:.4g}"), **options,
        )
    seconds = time.perf_counter() - start
    model = unfolded_pipeline(path_estimators(path)[0], float(data.pixel_max))
    test_accuracy = float(model.score(data.X_test, data.y_test))
    extra = _metadata(data, C, strategy, seconds, test_accuracy)
    extra.update({"scheduler": scheduler, "n_train": n_train, "passes": int(path.n_evals[0]),
                  "objective": float(path.objectives[0])})
    if scores is not None:
        extra.update({"C_path": [float(c) for c in Cs], "validation": validation,
                      "validation_accuracy": [float(s) for s in scores]})
    save_model(model, out, extra=extra)
    Console().print(
        f"Fitted {strategy} logistic regression (C={C:g}) on {n_train} {data.name} images on "
        f"{scheduler} in {seconds:.1f} s ({int(path.n_evals[0])} passes); test accuracy "
        f"{test_accuracy:.4f}. Saved {out}."
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
