"""The whole study as one library function: nested CV, final model, test metrics, figures, report.

:func:`run_study` returns data (a metrics.json-shaped dict, PNG bytes of each figure, the report
texts and the fitted model); :meth:`StudyResult.write` writes it as a run folder.
"""

from __future__ import annotations

import platform
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.model_selection import train_test_split

from mnist_logreg import __version__
from mnist_logreg.datasets import Dataset
from mnist_logreg.errors import InputError
from mnist_logreg.evaluation import (
    classification_metrics,
    evaluate_predictions,
    figure_to_png,
    render_classification_report,
    render_html,
    render_markdown,
    study_figures,
    study_summary_html,
)
from mnist_logreg.model_selection import (
    FINAL,
    FoldOutcome,
    TaskDone,
    TaskRunner,
    count_tasks,
    run_nested_cv,
)
from mnist_logreg.study._config import StudyConfig
from mnist_logreg.study._run_folder import WritesRunFolder

SCHEMA_VERSION = 1

FIGURE_FILES: tuple[str, ...] = (
    "confusion_matrix.png",
    "roc_curves.png",
    "validation_curve.png",
    "coefficients.png",
    "misclassified.png",
    "reliability_diagram.png",
)


@dataclass(frozen=True)
class StudyResult(WritesRunFolder):
    """What a finished study produced, ready to be written to a run folder.

    Attributes
    ----------
    results : dict
        The run's ``metrics.json`` content: dataset, config, versions, per-fold records (chosen
        C, every candidate's inner scores, validation metrics), final search, test metrics with
        95% intervals, timings.
    figures : mapping of str to bytes
        Each figure's file name (:data:`FIGURE_FILES`) to its PNG bytes.
    model : Pipeline
        The final model (pixel scaling, standardization, logistic regression) fitted on all
        training rows at the final C; :func:`~mnist_logreg.persistence.save_model` saves it.
    report_html : str
        The self-contained HTML report (figures embedded).
    report_markdown : str
        The same report in Markdown (figures linked by file name).
    classification_report : str
        scikit-learn's per-class text report on the test set.
    """

    results: dict[str, Any]
    figures: Mapping[str, bytes]
    model: Any
    report_html: str
    report_markdown: str
    classification_report: str

    def _repr_html_(self) -> str:
        """Jupyter's summary: headline test metrics, outer CV accuracy, chosen C per fold."""
        return study_summary_html(self.results)


def versions() -> dict[str, str]:
    """Versions of Python, the platform and the numerical libraries (for reproducibility)."""
    import joblib
    import matplotlib
    import scipy
    import sklearn

    return {
        "mnist_logreg": __version__,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "scikit-learn": sklearn.__version__,
        "matplotlib": matplotlib.__version__,
        "joblib": joblib.__version__,
    }


def training_rows(dataset: Dataset, max_train: int | None, random_state: int) -> np.ndarray:
    """Row indices of the training set the study uses: all, or a seeded stratified subsample."""
    return subsample_rows(dataset.y_train, max_train, random_state)


def subsample_rows(y: np.ndarray, max_train: int | None, random_state: int) -> np.ndarray:
    """Positions of a seeded stratified subsample of ``max_train`` labels (all when ``None``).

    Parameters
    ----------
    y : ndarray of shape (n_samples,)
        The training labels.
    max_train : int or None
        Rows to keep; ``None`` or at least ``n_samples`` keeps them all.
    random_state : int
        Seed of the subsample.

    Returns
    -------
    rows : ndarray of shape (n_rows,)
        Sorted positions into ``y``.

    Raises
    ------
    InputError
        If ``max_train`` is below the class count, or leaves out fewer rows than there are
        classes (a stratified subsample needs every class on both sides).
    """
    n_samples = len(y)
    if max_train is None or max_train >= n_samples:
        return np.arange(n_samples)
    n_classes = len(np.unique(y))
    if max_train < n_classes or n_samples - max_train < n_classes:
        raise InputError(
            f"'max_train' {max_train} cannot be a stratified subsample of {n_samples} rows with "
            f"{n_classes} classes: it needs between {n_classes} and {n_samples - n_classes} rows "
            f"(or at least {n_samples}, all of them)."
        )
    rows, _ = train_test_split(
        np.arange(n_samples),
        train_size=max_train,
        stratify=y,
        random_state=random_state,
    )
    return np.sort(rows)


def fold_record(outcome: FoldOutcome, y_eval: np.ndarray) -> dict[str, Any]:
    """The metrics.json entry of one outer fold: chosen C, every candidate, validation metrics."""
    y_pred = outcome.classes[np.argmax(outcome.proba, axis=1)]
    validation = classification_metrics(y_eval, y_pred, outcome.proba, outcome.classes)
    validation.pop("classification_report", None)
    return {
        "fold": outcome.fold,
        **outcome.search.to_dict(),
        "n_train": None,
        "n_validation": len(y_eval),
        "validation": validation,
        "seconds": {"search": outcome.search_seconds, "refit": outcome.refit_seconds},
    }


def run_study(
    dataset: Dataset,
    config: StudyConfig,
    *,
    runner: TaskRunner | None = None,
    completed_folds: Mapping[int, dict[str, Any]] | None = None,
    on_fold: Callable[[dict[str, Any]], None] | None = None,
    on_task: Callable[[TaskDone], None] | None = None,
) -> StudyResult:
    """Run the study on ``dataset`` and return its results, figures and reports.

    Parameters
    ----------
    dataset : Dataset
        Training and test data (raw pixels).
    config : StudyConfig
        The protocol.
    runner : TaskRunner, optional
        Where the fits run (default in-process).
    completed_folds : mapping of int to dict, optional
        Fold records of a previous, interrupted run (``--resume``); those folds are not refitted.
    on_fold : callable, optional
        Called with each new fold record as soon as it is finished (to checkpoint it).
    on_task : callable, optional
        Called after each finished task (progress).

    Returns
    -------
    StudyResult
    """
    config.validate()
    start = time.perf_counter()
    completed = dict(completed_folds or {})
    rows = training_rows(dataset, config.max_train, config.protocol.random_state)
    X, y = dataset.X_train[rows], dataset.y_train[rows]
    todo = [k for k in range(1, config.protocol.outer + 1) if k not in completed]

    records: dict[int, dict[str, Any]] = dict(completed)
    final: list[FoldOutcome] = []
    extension_tasks = 0

    def collect(outcome: FoldOutcome) -> None:
        nonlocal extension_tasks
        segments = (outcome.search.c_range or {}).get("segments", [None])
        extension_tasks += (len(segments) - 1) * config.protocol.inner
        if outcome.fold == FINAL:
            final.append(outcome)
            return
        assert outcome.eval_rows is not None
        record = fold_record(outcome, y[outcome.eval_rows])
        record["n_train"] = len(y) - len(outcome.eval_rows)
        records[outcome.fold] = record
        if on_fold is not None:
            on_fold(record)

    run_nested_cv(
        X,
        y,
        dataset.X_test,
        config.protocol,
        pixel_max=float(dataset.pixel_max),
        runner=runner,
        folds=todo,
        include_final=True,
        on_outcome=collect,
        on_task=on_task,
    )
    cv_seconds = time.perf_counter() - start
    outcome = final[0]
    classes = outcome.classes

    eval_start = time.perf_counter()
    test = evaluate_predictions(
        dataset.y_test,
        outcome.proba,
        classes,
        n_bootstrap=config.n_bootstrap,
        random_state=config.protocol.random_state,
    )
    folds = [records[k] for k in sorted(records)]
    results: dict[str, Any] = {
        **results_header("study", dataset, len(rows), config.to_dict()),
        "folds": folds,
        "outer_summary": _outer_summary(folds),
        "final": {
            **outcome.search.to_dict(),
            "n_train": len(rows),
            "seconds": {"search": outcome.search_seconds, "refit": outcome.refit_seconds},
        },
        "test": test,
        "timings": {},
    }
    figures = _figures(dataset, results, outcome)
    figure_seconds = time.perf_counter() - eval_start
    results["timings"] = {
        "total_seconds": time.perf_counter() - start,
        "cross_validation_seconds": cv_seconds,
        "evaluation_and_figures_seconds": figure_seconds,
        "resumed_folds": sorted(completed),
        "tasks": count_tasks(config.protocol, len(todo)) + extension_tasks,
        "backend": getattr(runner, "description", "in-process (1 worker)"),
    }
    return StudyResult(
        results=results,
        figures=figures,
        model=outcome.model,
        report_html=render_html(results, figures),
        report_markdown=render_markdown(results, {name: name for name in figures}),
        classification_report=render_classification_report(results),
    )


def results_header(
    command: str, dataset: Dataset, n_train_used: int, config: dict[str, Any]
) -> dict[str, Any]:
    """The first keys of a run's ``metrics.json``, the same for every command.

    Parameters
    ----------
    command : str
        The command that made the run (``study``, ``compare``).
    dataset : Dataset
        The loaded dataset.
    n_train_used : int
        Training rows the run used.
    config : dict
        The run's configuration, JSON-ready.

    Returns
    -------
    dict
        ``schema``, ``command``, ``dataset`` (see :func:`dataset_block`), ``config`` and
        ``versions``, in this order.
    """
    return {
        "schema": SCHEMA_VERSION,
        "command": command,
        "dataset": dataset_block(dataset, n_train_used),
        "config": config,
        "versions": versions(),
    }


def dataset_block(dataset: Dataset, n_train_used: int) -> dict[str, Any]:
    """The ``"dataset"`` block of a run's results (``study`` and ``compare``).

    Parameters
    ----------
    dataset : Dataset
        The loaded dataset.
    n_train_used : int
        Training rows the run used (fewer than the dataset's with ``--max-train``).

    Returns
    -------
    dict
        Name, source, row counts, feature count, image shape, pixel maximum, class names and
        checksums, JSON-ready.
    """
    return {
        "name": dataset.name,
        "source": dataset.source,
        "n_train": len(dataset.y_train),
        "n_train_used": int(n_train_used),
        "n_test": len(dataset.y_test),
        "n_features": int(dataset.X_train.shape[1]),
        "image_shape": list(dataset.image_shape),
        "pixel_max": float(dataset.pixel_max),
        "class_names": list(dataset.class_names),
        "checksums": dict(dataset.checksums),
    }


def _outer_summary(folds: list[dict[str, Any]]) -> dict[str, Any]:
    """Mean and standard deviation of the outer validation metrics (the procedure's estimate)."""
    summary: dict[str, Any] = {}
    if not folds:
        return summary
    for name, value in folds[0]["validation"].items():
        if isinstance(value, int | float):
            values = np.array([f["validation"][name] for f in folds], dtype=float)
            summary[name] = {"mean": float(values.mean()), "std": float(values.std())}
    summary["chosen_C"] = [f["best_params"]["C"] for f in folds]
    return summary


def _figures(dataset: Dataset, results: dict[str, Any], outcome: FoldOutcome) -> dict[str, bytes]:
    """Every report figure as PNG bytes, keyed by its file name in the run folder."""
    figures = study_figures(
        dataset.y_test,
        outcome.proba,
        outcome.classes,
        folds=results["folds"],
        chosen_C=outcome.search.best_C,
        coef=np.asarray(outcome.model[-1].coef_),
        images=dataset.X_test,
        image_shape=(int(dataset.image_shape[0]), int(dataset.image_shape[1])),
        class_names=list(dataset.class_names),
        scoring=outcome.search.scoring,
    )
    return {f"{name}.png": figure_to_png(figure) for name, figure in figures.items()}
