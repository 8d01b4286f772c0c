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

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (``best_params`` and ``candidates`` of metrics.json)."""
        return {
            "best_params": {"C": self.best_C},
            "scoring": self.scoring,
            "candidates": [c.to_dict() for c in self.candidates],
        }

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
        )


def validate_scoring(scoring: str) -> None:
    """Raise :class:`InputError` unless ``scoring`` is a scikit-learn scorer name."""
    if scoring not in get_scorer_names():
        examples = "accuracy, balanced_accuracy, f1_macro, neg_log_loss, roc_auc_ovr"
        raise InputError(
            f"--scoring {scoring!r} is not a scikit-learn scorer name (for example: {examples})."
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
) -> tuple[np.ndarray, float]:
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

    Returns
    -------
    scores : ndarray of shape (n_candidates,)
        The scorer's value for each C on the held-out rows.
    seconds : float
        Wall time of the task.
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
        estimators = _pipeline.fit_folded_path(
            X_train, y[train_rows], Cs, strategy=strategy, **(solver_options or {})
        )
        scores = np.array([scorer(est, X_test, y[test_rows]) for est in estimators])
    return scores, time.perf_counter() - start


def summarize_search(
    Cs: Sequence[float] | np.ndarray, split_scores: np.ndarray, scoring: str, seconds: float = 0.0
) -> SearchResult:
    """Combine per-split scores (n_splits, n_candidates) into a :class:`SearchResult`."""
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
        candidates=candidates, best_C=float(Cs[best]), scoring=scoring, seconds=seconds
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
