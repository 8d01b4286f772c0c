"""The model comparison as one library function: shared folds, searches, test metrics, report.

:func:`run_comparison` returns data (a metrics.json-shaped dict with one entry per model under
``"models"``, PNG bytes of each figure, the report texts and the test predictions);
:meth:`ComparisonResult.write` writes it as a run folder.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from scipy.special import softmax

from mnist_logreg.atomic import write_atomic
from mnist_logreg.datasets import Dataset
from mnist_logreg.evaluation import (
    EXACT_BELOW,
    bootstrap_metrics,
    comparison_figures,
    comparison_summary_html,
    evaluate_predictions,
    figure_to_png,
    pairwise_mcnemar,
    percentile_interval,
    render_comparison_html,
    render_comparison_markdown,
)
from mnist_logreg.model_selection import (
    FINAL,
    MODEL_NAMES,
    CompareConfig,
    TaskDone,
    TaskRunner,
    get_model,
    plan_cost,
)
from mnist_logreg.study._config import ComparisonConfig
from mnist_logreg.study._run_folder import CONFIG_FILE, RunLayout, WritesRunFolder, file_names
from mnist_logreg.study._study import (
    PROBABILITY_METRICS,
    outer_summary,
    results_header,
    run_searches,
    training_rows,
    validation_block,
)

QUICK_MAX_TRAIN = 5000
"""Training rows of ``compare --quick`` unless ``--max-train`` says otherwise."""

_MODEL = f"(?:{file_names(*MODEL_NAMES)})"
COMPARE_LAYOUT = RunLayout(
    command="compare",
    files=file_names(CONFIG_FILE, "metrics.json", "report.html", "report.md",
                     "test_predictions.csv", "accuracy.png") + rf"|confusion_matrix_{_MODEL}\.png",
    checkpoints=rf"{_MODEL}-(?:fold-[0-9]+|final)\.json|{_MODEL}-final\.npz",
)
"""The files a comparison writes in its run folder."""


@dataclass(frozen=True)
class ComparisonResult(WritesRunFolder):
    """What a finished comparison produced, ready to be written to a run folder.

    Attributes
    ----------
    results : dict
        The run's ``metrics.json`` content, one entry per model under ``"models"`` (folds, test
        metrics, chosen hyperparameters, costs), then the pairwise McNemar tests and timings.
    figures : mapping of str to bytes
        Each figure's file name to its PNG bytes.
    report_html : str
        The self-contained HTML report (figures embedded).
    report_markdown : str
        The same report in Markdown (figures linked by file name).
    predictions_csv : str
        CSV ``row,true,<model>...``: each test row's index, true label and every model's
        predicted label.
    checkpoints : mapping of (str, int) to dict
        Each search's checkpoint record keyed by (model, fold), the final search's with its test
        scores, as the run folder's ``checkpoints/`` holds them.
    """

    results: dict[str, Any]
    figures: Mapping[str, bytes]
    report_html: str
    report_markdown: str
    predictions_csv: str
    checkpoints: Mapping[tuple[str, int], dict[str, Any]] = field(default_factory=dict)

    layout = COMPARE_LAYOUT
    protocol_type = CompareConfig

    def write_own_files(self, folder: Path) -> None:
        """Write ``test_predictions.csv``."""
        write_atomic(folder / "test_predictions.csv", self.predictions_csv)

    @property
    def test_scores(self) -> dict[str, np.ndarray]:
        """Each model's final scores of the test rows (n_test, n_classes): probabilities, or the
        SVM's decision function (see each model's ``"scores"`` entry in :attr:`results`); read
        from the final searches' :attr:`checkpoints`."""
        return {model: record["arrays"]["scores"]
                for (model, fold), record in self.checkpoints.items() if fold == FINAL}

    def _repr_html_(self) -> str:
        """Jupyter's summary: the most accurate model, each model's test and outer CV accuracy
        and its chosen hyperparameters per fold."""
        return comparison_summary_html(self.results)


# --- metrics of one model's predictions ------------------------------------------------------


def score_metrics(
    y_true: np.ndarray,
    scores: np.ndarray,
    classes: np.ndarray,
    *,
    scores_are_proba: bool,
    n_bootstrap: int,
    random_state: int,
) -> dict[str, Any]:
    """Test metrics of one model's scores, with 95% bootstrap intervals.

    Predictions are ``classes[argmax(scores)]`` for every model. Probabilities go through
    :func:`~mnist_logreg.evaluation.evaluate_predictions` as in the study. Decision-function
    scores (the SVM) have no probabilities: the label metrics come from the same function applied
    to ``softmax(scores)`` (same argmax, so the same labels), the one-vs-rest ROC AUC from the raw
    scores (per class, the rank of the class's own score; its intervals from the same bootstrap
    resamples, same seed), and ``log_loss``, ``brier`` and ``ece`` are ``None``.

    Parameters
    ----------
    y_true : ndarray of shape (n_samples,)
    scores : ndarray of shape (n_samples, n_classes)
    classes : ndarray of shape (n_classes,)
    scores_are_proba : bool
    n_bootstrap : int
        0 skips the intervals.
    random_state : int

    Returns
    -------
    test : dict
        The ``"test"`` block of the study, plus ``"scores"``: ``"probabilities"`` or
        ``"decision_function"``.
    """
    if scores_are_proba:
        block = evaluate_predictions(y_true, scores, classes, n_bootstrap=n_bootstrap,
                                     random_state=random_state)
        block["scores"] = "probabilities"
        return block
    block = evaluate_predictions(y_true, softmax(scores, axis=1), classes, n_bootstrap=n_bootstrap,
                                 random_state=random_state)
    point = validation_block(y_true, scores, classes, scores_are_proba=False)
    interval = None
    if n_bootstrap > 0:
        # The bootstrap's AUC is rank-based per class; its accuracy is the argmax's. Both are
        # valid for decision scores; its probability metrics of these scores are discarded.
        resampled = bootstrap_metrics(y_true, scores, classes, n_resamples=n_bootstrap,
                                      random_state=random_state)
        interval = percentile_interval(resampled["roc_auc_ovr"])
    block["roc_auc_ovr"] = {"value": point["roc_auc_ovr"], "ci95": interval}
    block["per_class"] = point["per_class"]
    block.update({name: {"value": None, "ci95": None} for name in PROBABILITY_METRICS})
    block["scores"] = "decision_function"
    return block


# --- the comparison --------------------------------------------------------------------------


def run_comparison(
    dataset: Dataset,
    config: ComparisonConfig,
    *,
    runner: TaskRunner | None = None,
    completed: Mapping[tuple[str, int], dict[str, Any]] | None = None,
    on_checkpoint: Callable[[dict[str, Any]], None] | None = None,
    on_task: Callable[[TaskDone], None] | None = None,
) -> ComparisonResult:
    """Compare the configured models on ``dataset`` and return results, figures and reports.

    Parameters
    ----------
    dataset : Dataset
        Training and test data (raw pixels).
    config : ComparisonConfig
    runner : TaskRunner, optional
        Where the fits run (default in-process).
    completed : mapping of (model, fold) to dict, optional
        Records of a previous, interrupted run (``--resume``), as given to ``on_checkpoint``
        (fold 0, the final model, with its ``"arrays"``); those searches are not rerun.
    on_checkpoint : callable, optional
        Called with each new record (see :func:`~mnist_logreg.study.outcome_record`) as soon as
        it is finished.
    on_task : callable, optional
        Called with a :class:`~mnist_logreg.model_selection.TaskDone` after every task.

    Returns
    -------
    ComparisonResult
    """
    config.validate()
    cv = config.protocol
    start = time.perf_counter()
    rows = training_rows(dataset, config.max_train, cv.random_state)
    cv.validate_for(dataset.y_train[rows])
    planned = plan_cost(cv, len(rows), len(dataset.y_test), int(dataset.X_train.shape[1]),
                        set(completed or {}))
    rows, y, records, _ = run_searches(dataset, config, runner, completed or {}, on_checkpoint,
                                       on_task)
    cv_seconds = time.perf_counter() - start

    eval_start = time.perf_counter()
    classes = np.unique(y)
    models: dict[str, Any] = {}
    predictions: dict[str, np.ndarray] = {}
    for name in cv.models:
        final = records[(name, FINAL)]
        scores = np.asarray(final["arrays"]["scores"], dtype=float)
        predictions[name] = classes[np.argmax(scores, axis=1)]
        models[name] = _model_entry(
            name, cv, final, [records[(name, k)] for k in range(1, cv.outer + 1)],
            score_metrics(dataset.y_test, scores, classes,
                          scores_are_proba=bool(final["scores_are_proba"]),
                          n_bootstrap=config.n_bootstrap, random_state=cv.random_state),
        )
    results: dict[str, Any] = {
        **results_header(dataset, len(rows), config),
        "models": models,
        "mcnemar": {
            "test": "McNemar's test on the paired test-set predictions of each pair of models",
            "method": (f"exact two-sided binomial test when the models disagree on fewer than "
                       f"{EXACT_BELOW} rows, else chi-square with continuity correction "
                       "(|b - c| - 1)^2 / (b + c)"),
            "correction": "Holm step-down over all pairs",
            "alpha": 0.05,
            "pairs": pairwise_mcnemar(dataset.y_test, predictions) if len(predictions) > 1
            else [],
        },
        "timings": {},
    }
    class_names = [str(c) for c in dataset.class_names] if dataset.class_names else None
    figures = {f"{stem}.png": figure_to_png(fig)
               for stem, fig in comparison_figures(results, class_names).items()}
    results["timings"] = {
        "total_seconds": time.perf_counter() - start,
        "cross_validation_seconds": cv_seconds,
        "evaluation_and_figures_seconds": time.perf_counter() - eval_start,
        "planned_single_core_seconds": planned,
        "resumed": sorted(f"{m}/{'final' if k == FINAL else k}" for m, k in (completed or {})),
        "backend": getattr(runner, "description", "in-process (1 worker)"),
    }
    return ComparisonResult(
        results=results,
        figures=figures,
        report_html=render_comparison_html(results, figures),
        report_markdown=render_comparison_markdown(results, {name: name for name in figures}),
        predictions_csv=_predictions_csv(dataset.y_test, predictions),
        checkpoints=records,
    )


def _model_entry(name: str, cv: CompareConfig, final: dict[str, Any],
                 folds: list[dict[str, Any]], test: dict[str, Any]) -> dict[str, Any]:
    spec = get_model(name)
    fold_records = [{k: v for k, v in f.items() if k != "arrays"} for f in folds]
    summary = {**outer_summary(fold_records),
               "chosen_params": [f["best_params"] for f in fold_records]}
    return {
        "label": spec.label,
        "pipeline": spec.pipeline,
        "search_space": spec.space,
        "budget": cv.budget(name).to_dict(),
        "notes": spec.notes,
        "scores": "probabilities" if final["scores_are_proba"] else "decision_function",
        "best_params": final["best_params"],
        "final": {k: v for k, v in final.items() if k not in ("arrays", "model", "fold")},
        "folds": fold_records,
        "outer_summary": summary,
        "test": test,
        "fit_seconds": final["seconds"]["fit"],
        "predict_seconds_per_10k": final["predict_seconds_per_10k"],
        "model_bytes": final["model_bytes"],
        "details": final["details"],
    }


def _predictions_csv(y_test: np.ndarray, predictions: Mapping[str, np.ndarray]) -> str:
    """``row,true,<model>...``: every model's predicted label of every test row."""
    names = list(predictions)
    lines = [",".join(["row", "true", *names])]
    columns = [np.asarray(predictions[n]) for n in names]
    for i, label in enumerate(np.asarray(y_test)):
        lines.append(",".join([str(i), str(label), *(str(c[i]) for c in columns)]))
    return "\n".join(lines) + "\n"


__all__ = [
    "QUICK_MAX_TRAIN",
    "ComparisonConfig",
    "ComparisonResult",
    "run_comparison",
    "score_metrics",
]
