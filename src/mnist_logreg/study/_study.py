"""The whole study as one library function: nested CV, final model, test metrics, figures, report.

:func:`run_study` returns data (a metrics.json-shaped dict, PNG bytes of each figure, the report
texts and the fitted model); :meth:`StudyResult.write` writes it as a run folder.
"""

from __future__ import annotations

import platform
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from scipy.special import softmax
from sklearn.model_selection import train_test_split

from mnist_logreg import __version__
from mnist_logreg.atomic import write_atomic
from mnist_logreg.datasets import Dataset
from mnist_logreg.errors import InputError
from mnist_logreg.evaluation import (
    classification_metrics,
    encode_labels,
    evaluate_predictions,
    figure_to_png,
    per_class_auc,
    render_classification_report,
    render_html,
    render_markdown,
    study_figures,
    study_summary_html,
)
from mnist_logreg.model_selection import (
    FINAL,
    NestedCVConfig,
    SearchOutcome,
    TaskDone,
    TaskRunner,
    run_nested_cv,
)
from mnist_logreg.persistence import save_model
from mnist_logreg.study._config import RunConfig, StudyConfig
from mnist_logreg.study._run_folder import CONFIG_FILE, RunLayout, WritesRunFolder, file_names

SCHEMA_VERSION = 1

FIGURE_FILES: tuple[str, ...] = (
    "confusion_matrix.png",
    "roc_curves.png",
    "validation_curve.png",
    "coefficients.png",
    "misclassified.png",
    "reliability_diagram.png",
)

STUDY_LAYOUT = RunLayout(
    command="study",
    files=file_names(CONFIG_FILE, "metrics.json", "report.html", "report.md",
                     "classification_report.txt", "model.npz", *FIGURE_FILES),
    checkpoints=r"fold-[0-9]+\.json",
)
"""The files a study writes in its run folder."""


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
    checkpoints : mapping of (str, int) to dict
        Each outer fold's checkpoint record keyed by (model, fold), as the run folder's
        ``checkpoints/`` holds them (:func:`~mnist_logreg.study.write_checkpoint`).
    """

    results: dict[str, Any]
    figures: Mapping[str, bytes]
    model: Any
    report_html: str
    report_markdown: str
    classification_report: str
    checkpoints: Mapping[tuple[str, int], dict[str, Any]] = field(default_factory=dict)

    layout = STUDY_LAYOUT
    protocol_type = NestedCVConfig

    def _repr_html_(self) -> str:
        """Jupyter's summary: headline test metrics, outer CV accuracy, chosen C per fold."""
        return study_summary_html(self.results)

    def write_own_files(self, folder: Path) -> None:
        """Write ``classification_report.txt`` and ``model.npz`` (:func:`study_model_extra`)."""
        write_atomic(folder / "classification_report.txt", self.classification_report)
        classes = getattr(self.model, "classes_", None)
        extra = study_model_extra(self.results, None if classes is None else len(classes))
        save_model(self.model, folder / "model.npz", extra=extra)


def study_model_extra(results: dict[str, Any], n_classes: int | None = None) -> dict[str, Any]:
    """The ``extra`` metadata of a study's ``model.npz``: what the model card shows, and more.

    The keys are those ``mnist-logreg fit`` writes (``dataset``, ``C``, ``strategy``,
    ``test_accuracy``, ``image_shape``, ``pixel_max``, ``class_names``), plus
    ``test_accuracy_ci95``, the bootstrap interval of the test accuracy, when there is one.

    Parameters
    ----------
    results : dict
        The study's ``metrics.json`` content.
    n_classes : int, optional
        The model's class count; ``class_names`` is stored only when the data set names as many
        classes.

    Returns
    -------
    dict
        JSON-ready.
    """
    dataset = results["dataset"]
    accuracy = results["test"]["accuracy"]
    extra: dict[str, Any] = {
        "dataset": dataset["name"],
        "C": results["final"]["best_params"]["C"],
        "strategy": results["config"]["strategy"],
        "image_shape": list(dataset["image_shape"]),
        "pixel_max": dataset["pixel_max"],
        "test_accuracy": accuracy["value"],
    }
    names = [str(name) for name in dataset.get("class_names") or ()]
    if names and len(names) == n_classes:
        extra["class_names"] = names
    ci = accuracy.get("ci95")
    if ci and None not in ci:
        extra["test_accuracy_ci95"] = list(ci)
    return extra


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


VALIDATION_METRICS: tuple[str, ...] = ("accuracy", "f1_macro", "roc_auc_ovr", "log_loss")
"""Metrics a comparison records for each outer validation fold (a study records them all)."""
PROBABILITY_METRICS: tuple[str, ...] = ("log_loss", "brier", "ece")
"""Metrics that need probabilities (left empty for a decision-function model)."""


def validation_block(
    y_true: np.ndarray, scores: np.ndarray, classes: np.ndarray, scores_are_proba: bool
) -> dict[str, Any]:
    """Metrics of one outer fold's validation scores (no intervals).

    Decision-function scores (the SVM) have no probabilities: the label metrics come from
    ``softmax(scores)`` (same argmax, so the same labels), the one-vs-rest ROC AUC from the raw
    scores, and the probability metrics are ``None``.
    """
    proba = scores if scores_are_proba else softmax(scores, axis=1)
    block = classification_metrics(y_true, classes[np.argmax(scores, axis=1)], proba, classes)
    block.pop("classification_report", None)
    if not scores_are_proba:
        aucs = per_class_auc(encode_labels(y_true, classes), scores)
        present = [a for a in aucs if a is not None]
        block["roc_auc_ovr"] = float(np.mean(present)) if len(present) == len(aucs) else None
        for name, auc in zip(block["per_class"], aucs, strict=True):
            block["per_class"][name]["roc_auc"] = auc
        block.update(dict.fromkeys(PROBABILITY_METRICS))
    return block


def outcome_record(
    outcome: SearchOutcome, y_eval: np.ndarray | None = None, *, full_validation: bool = False
) -> dict[str, Any]:
    """The checkpoint of one finished search and refit, the same shape for every command.

    An outer fold's record carries its validation metrics (from ``y_eval``, the labels of its
    validation rows): all of them (``full_validation``, the study) or
    :data:`VALIDATION_METRICS`; the final model's carries ``"arrays": {"scores": ndarray}`` (the
    test scores, which the comparison needs again) instead.
    """
    n_eval = int(outcome.scores.shape[0])
    record: dict[str, Any] = {
        "model": outcome.model,
        "fold": outcome.fold,
        **outcome.search.to_dict(),
        "n_train": outcome.n_train,
        "n_search": outcome.n_search,
        "n_eval": n_eval,
        "seconds": {"search": outcome.search_seconds, "fit": outcome.fit_seconds,
                    "predict": outcome.predict_seconds},
        "predict_seconds_per_10k": outcome.predict_seconds * 10_000 / max(n_eval, 1),
        "model_bytes": outcome.model_bytes,
        "details": outcome.details,
        "scores_are_proba": outcome.scores_are_proba,
    }
    if outcome.fold == FINAL:
        record["arrays"] = {"scores": outcome.scores}
        return record
    if y_eval is None:
        raise ValueError("An outer fold's record needs the labels of its validation rows.")
    block = validation_block(y_eval, outcome.scores, outcome.classes, outcome.scores_are_proba)
    record["validation"] = block if full_validation else {k: block[k] for k in VALIDATION_METRICS}
    return record


def fold_record(record: Mapping[str, Any]) -> dict[str, Any]:
    """The study's metrics.json entry of one outer fold, from its record (:func:`outcome_record`):
    chosen C, every candidate, C range, validation metrics."""
    return {
        "fold": record["fold"],
        "best_params": record["best_params"],
        "scoring": record["scoring"],
        "candidates": [{**c["params"], **{k: v for k, v in c.items() if k != "params"}}
                       for c in record["candidates"]],
        "range": record["range"],
        "n_train": record["n_train"],
        "n_validation": record["n_eval"],
        "validation": record["validation"],
        "seconds": {"search": record["seconds"]["search"], "refit": record["seconds"]["fit"]},
    }


def run_searches(
    dataset: Dataset,
    config: RunConfig[Any],
    runner: TaskRunner | None,
    completed: Mapping[tuple[str, int], dict[str, Any]],
    on_record: Callable[[dict[str, Any]], None] | None,
    on_task: Callable[[TaskDone], None] | None,
) -> tuple[np.ndarray, np.ndarray, dict[tuple[str, int], dict[str, Any]], list[SearchOutcome]]:
    """Run the searches a run still needs: the study's and the comparison's engine-facing part.

    Returns
    -------
    rows : ndarray
        The training rows used (``max_train``).
    y : ndarray
        Their labels.
    records : dict of (model, fold) to dict
        Every finished search's record (``completed`` and the new ones; the study's final search
        has none: it keeps its fitted model instead).
    outcomes : list of SearchOutcome
        The new searches.
    """
    cv = config.protocol
    rows = training_rows(dataset, config.max_train, cv.random_state)
    X, y = dataset.X_train[rows], dataset.y_train[rows]
    records = dict(completed)

    def collect(outcome: SearchOutcome) -> None:
        if cv.c_path and outcome.fold == FINAL:
            return
        y_eval = None if outcome.eval_rows is None else y[outcome.eval_rows]
        record = outcome_record(outcome, y_eval, full_validation=cv.c_path)
        records[(outcome.model, outcome.fold)] = record
        if on_record is not None:
            on_record(record)

    outcomes = run_nested_cv(
        X, y, dataset.X_test, cv, pixel_max=float(dataset.pixel_max), runner=runner,
        skip=set(records), on_outcome=collect, on_task=on_task,
    )
    return rows, y, records, outcomes


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
    # records keyed by (model, fold); fold numbers alone are accepted as the lr model's
    completed = {k if isinstance(k, tuple) else ("lr", k): v
                 for k, v in (completed_folds or {}).items()}
    n_tasks = 0

    def count_task(done: TaskDone) -> None:
        nonlocal n_tasks
        n_tasks += 1
        if on_task is not None:
            on_task(done)

    rows, _, records, outcomes = run_searches(dataset, config, runner, completed, on_fold,
                                              count_task)
    cv_seconds = time.perf_counter() - start
    outcome = outcomes[-1]
    classes = outcome.classes

    eval_start = time.perf_counter()
    test = evaluate_predictions(
        dataset.y_test,
        outcome.proba,
        classes,
        n_bootstrap=config.n_bootstrap,
        random_state=config.protocol.random_state,
    )
    folds = [fold_record(records[k]) for k in sorted(records)]
    results: dict[str, Any] = {
        **results_header(dataset, len(rows), config),
        "folds": folds,
        "outer_summary": {**outer_summary(folds),
                          "chosen_C": [f["best_params"]["C"] for f in folds]} if folds else {},
        "final": {
            **outcome.search.to_dict(flat=True),
            "n_train": len(rows),
            "seconds": {"search": outcome.search_seconds, "refit": outcome.fit_seconds},
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
        "resumed_folds": sorted(fold for _, fold in completed),
        "tasks": n_tasks,
        "backend": getattr(runner, "description", "in-process (1 worker)"),
    }
    return StudyResult(
        results=results,
        figures=figures,
        model=outcome.fitted,
        report_html=render_html(results, figures),
        report_markdown=render_markdown(results, {name: name for name in figures}),
        classification_report=render_classification_report(results),
        checkpoints=records,
    )


def results_header(dataset: Dataset, n_train_used: int, config: RunConfig[Any]) -> dict[str, Any]:
    """The first keys of a run's ``metrics.json``, the same for every command.

    Parameters
    ----------
    dataset : Dataset
        The loaded dataset.
    n_train_used : int
        Training rows the run used (fewer than the dataset's with ``--max-train``).
    config : RunConfig
        The run's configuration.

    Returns
    -------
    dict
        ``schema``, ``command``, ``dataset`` (name, source, row counts, feature count, image
        shape, pixel maximum, class names and checksums), ``config`` and ``versions``, in this
        order, JSON-ready.
    """
    return {
        "schema": SCHEMA_VERSION,
        "command": config.command,
        "dataset": {
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
        },
        "config": config.to_dict(),
        "versions": versions(),
    }


def outer_summary(folds: list[dict[str, Any]]) -> dict[str, Any]:
    """Mean and standard deviation of each outer validation metric (the procedure's estimate),
    over the folds' records; a metric missing a value in some fold is left out."""
    summary: dict[str, Any] = {}
    for name in folds[0]["validation"] if folds else ():
        values = [f["validation"][name] for f in folds]
        if all(isinstance(v, int | float) and not isinstance(v, bool) for v in values):
            array = np.asarray(values, dtype=float)
            summary[name] = {"mean": float(array.mean()), "std": float(array.std())}
    return summary


def _figures(dataset: Dataset, results: dict[str, Any], outcome: SearchOutcome) -> dict[str, bytes]:
    """Every report figure as PNG bytes, keyed by its file name in the run folder."""
    figures = study_figures(
        dataset.y_test,
        outcome.proba,
        outcome.classes,
        folds=results["folds"],
        chosen_C=outcome.search.best_C,
        coef=np.asarray(outcome.fitted[-1].coef_),
        images=dataset.X_test,
        image_shape=(int(dataset.image_shape[0]), int(dataset.image_shape[1])),
        class_names=list(dataset.class_names),
        scoring=outcome.search.scoring,
    )
    return {f"{name}.png": figure_to_png(figure) for name, figure in figures.items()}
