"""Randomized search over C: one warm-started regularization path per inner fold.

For each inner split the preprocessing is fitted on the inner training rows only, the sorted
candidates are fitted as one path (each C starts from the previous solution), and every candidate
is scored on the inner held-out rows. The best C maximizes the mean inner score; ties go to the
smaller C (the simpler, more regularized model).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sklearn.metrics import get_scorer, get_scorer_names
from sklearn.model_selection import StratifiedKFold
from threadpoolctl import threadpool_limits

from mnist_logreg.errors import InputError
from mnist_logreg.model_selection import _pipeline
from mnist_logreg.model_selection._execution import resolve_shared


@dataclass(frozen=True)
class CandidateScore:
    """Inner cross-validation score of one candidate C."""

    C: float
    mean_score: float
    std_score: float
    split_scores: tuple[float, ...]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (the ``candidates`` entries of metrics.json)."""
        return {
            "C": self.C,
            "mean_score": self.mean_score,
            "std_score": self.std_score,
            "split_scores": list(self.split_scores),
        }


@dataclass(frozen=True)
class SearchResult:
    """Outcome of one randomized search: every candidate's inner scores and the chosen C."""

    candidates: tuple[CandidateScore, ...]
    best_C: float
    scoring: str
    seconds: float = field(default=0.0, compare=False)
    c_range: dict[str, Any] | None = None
    """The C range searched and its edge flags (:meth:`~._range.RangeSearch.record`), if any."""

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (``best_params``, ``candidates`` and ``range`` of metrics.json)."""
        data: dict[str, Any] = {
            "best_params": {"C": self.best_C},
            "scoring": self.scoring,
            "candidates": [c.to_dict() for c in self.candidates],
        }
        if self.c_range is not None:
            data["range"] = self.c_range
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SearchResult:
        """Inverse of :meth:`to_dict` (used when resuming a run)."""
        candidates = tuple(
            CandidateScore(
                C=float(c["C"]),
                mean_score=float(c["mean_score"]),
                std_score=float(c["std_score"]),
                split_scores=tuple(float(s) for s in c["split_scores"]),
            )
            for c in data["candidates"]
        )
        return cls(
            candidates=candidates,
            best_C=float(data["best_params"]["C"]),
            scoring=str(data["scoring"]),
            c_range=data.get("range"),
        )


CLASSIFICATION_SCORERS: tuple[str, ...] = (
    "accuracy",
    "balanced_accuracy",
    "average_precision",
    "d2_brier_score",
    "d2_log_loss_score",
    "f1_macro",
    "f1_micro",
    "f1_weighted",
    "jaccard_macro",
    "jaccard_micro",
    "jaccard_weighted",
    "matthews_corrcoef",
    "neg_brier_score",
    "neg_log_loss",
    "precision_macro",
    "precision_micro",
    "precision_weighted",
    "recall_macro",
    "recall_micro",
    "recall_weighted",
    "roc_auc_ovo",
    "roc_auc_ovo_weighted",
    "roc_auc_ovr",
    "roc_auc_ovr_weighted",
)
"""scikit-learn scorers that rank a multiclass (and a binary) probabilistic classifier.

Not the binary-only ones (``f1``, ``roc_auc``...), regression ones (``r2``...), clustering ones
(``rand_score``...), or ``top_k_accuracy`` (constant with two classes).
"""


def validate_scoring(scoring: str) -> None:
    """Raise :class:`InputError` unless ``scoring`` is one of :data:`CLASSIFICATION_SCORERS`."""
    if scoring not in CLASSIFICATION_SCORERS or scoring not in get_scorer_names():
        raise InputError(
            f"The 'scoring' parameter must be a scorer for a multiclass classifier, one of "
            f"{', '.join(CLASSIFICATION_SCORERS)}. Got {scoring!r} instead."
        )


def inner_splits(
    y: np.ndarray, n_splits: int, random_state: int
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Stratified, shuffled, seeded K-fold splits of ``y`` (positions into ``y``)."""
    splitter = StratifiedKFold(n_splits=n_splits, shuffle=True, random_state=random_state)
    return list(splitter.split(np.zeros((len(y), 1)), y))


def score_path_on_split(
    X: Any,
    y: np.ndarray,
    rows: np.ndarray,
    train: np.ndarray,
    test: np.ndarray,
    Cs: np.ndarray,
    *,
    scoring: str,
    strategy: str,
    pixel_max: float,
    solver_options: dict[str, Any] | None = None,
    blas_threads: int | None = None,
    warm_start: tuple[np.ndarray, np.ndarray] | None = None,
    return_edges: bool = False,
) -> tuple[Any, ...]:
    """Fit the warm-started path of ``Cs`` on one inner split and score every C.

    Parameters
    ----------
    X : ndarray of shape (n_samples_total, n_features) or shared handle
        Raw pixels of the whole training set (shared once, never copied per task).
    y : ndarray of shape (n_samples_total,)
        Labels of the whole training set.
    rows : ndarray of shape (n_rows,)
        Rows of ``X`` that this search may see (the outer training rows).
    train, test : ndarray of int
        Positions into ``rows``: the inner training and held-out parts.
    Cs : ndarray of shape (n_candidates,)
        Sorted candidates.
    warm_start : (coef, intercept), optional
        Standardized coefficients and intercepts to start the path from (the solution at the
        nearest C of an earlier path on the same split: a range extension continues the path).
    return_edges : bool
        Also return the solutions at the smallest and largest C.

    Returns
    -------
    scores : ndarray of shape (n_candidates,)
        The scorer's value for each C on the held-out rows.
    seconds : float
        Wall time of the task.
    edges : dict, only with ``return_edges``
        ``{"low": (coef, intercept), "high": (coef, intercept)}``: the standardized solutions
        at the smallest and largest C (``warm_start`` of a further extension).
    """
    start = time.perf_counter()
    X = resolve_shared(X)
    train_rows, test_rows = rows[train], rows[test]
    with threadpool_limits(limits=blas_threads):
        # raw rows: the standardization (fitted on the inner training rows only) is folded into
        # the classifiers, whose predict* read raw rows
        X_train = np.asarray(X[train_rows])
        X_test = np.asarray(X[test_rows])
        scorer = get_scorer(scoring)
        options = dict(solver_options or {})
        if warm_start is not None:
            options["coef_init"], options["intercept_init"] = warm_start
        estimators = _pipeline.fit_folded_path(
            X_train, y[train_rows], Cs, strategy=strategy, **options
        )
        scores = np.array([scorer(est, X_test, y[test_rows]) for est in estimators])
    if not return_edges:
        return scores, time.perf_counter() - start
    edges = {
        side: (np.asarray(est.standardized_coef_), np.asarray(est.standardized_intercept_))
        for side, est in (("low", estimators[0]), ("high", estimators[-1]))
    }
    return scores, time.perf_counter() - start, edges


def summarize_search(
    Cs: Sequence[float] | np.ndarray,
    split_scores: np.ndarray,
    scoring: str,
    seconds: float = 0.0,
    c_range: dict[str, Any] | None = None,
) -> SearchResult:
    """Combine per-split scores (n_splits, n_candidates) into a :class:`SearchResult`.

    ``Cs`` sorted ascending, so that ties go to the smaller C; ``c_range`` is recorded as is.
    """
    split_scores = np.asarray(split_scores, dtype=np.float64)
    means = split_scores.mean(axis=0)
    stds = split_scores.std(axis=0)
    best = int(np.flatnonzero(means == means.max())[0])  # ties -> the smaller C
    candidates = tuple(
        CandidateScore(
            C=float(C),
            mean_score=float(means[i]),
            std_score=float(stds[i]),
            split_scores=tuple(float(s) for s in split_scores[:, i]),
        )
        for i, C in enumerate(Cs)
    )
    return SearchResult(
        candidates=candidates, best_C=float(Cs[best]), scoring=scoring, seconds=seconds,
        c_range=c_range,
    )


def refit_and_predict(
    X: Any,
    y: np.ndarray,
    train_rows: np.ndarray,
    eval_X: Any,
    C: float,
    *,
    strategy: str,
    pixel_max: float,
    solver_options: dict[str, Any] | None = None,
    blas_threads: int | None = None,
) -> tuple[Any, np.ndarray, float]:
    """Fit the whole pipeline at ``C`` on ``train_rows`` and predict probabilities on ``eval_X``.

    Returns
    -------
    model : Pipeline
        The fitted ``scale -> standardize -> classifier`` pipeline.
    proba : ndarray of shape (n_eval, n_classes)
        Predicted probabilities on the evaluation rows.
    seconds : float
        Wall time of the fit.
    """
    X = resolve_shared(X)
    eval_X = resolve_shared(eval_X)
    with threadpool_limits(limits=blas_threads):
        start = time.perf_counter()
        model = _pipeline.fit_model(
            np.asarray(X[train_rows]), y[train_rows], C, pixel_max=pixel_max,
            strategy=strategy, **(solver_options or {}),
        )
        seconds = time.perf_counter() - start
        # float32 models give float32 probabilities; metrics want rows summing to 1 in float64.
        proba = np.asarray(model.predict_proba(np.asarray(eval_X)), dtype=np.float64)
        proba /= proba.sum(axis=1, keepdims=True)
    return model, proba, seconds
