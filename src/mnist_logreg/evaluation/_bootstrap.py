"""Percentile bootstrap confidence intervals of the headline metrics, vectorized.

A bootstrap resample draws ``n`` row indices with replacement. It is represented by its count
vector ``w`` (shape ``(n,)``, ``w_i`` = how many times row ``i`` was drawn, ``sum_i w_i = n``);
every metric of the resample is the same metric with sample weights ``w``. Resamples are handled in
blocks: a block is a matrix ``W`` of shape ``(n_block, n)`` and each metric becomes a few matrix
products with per-sample terms, computed once:

- mean-type metrics (accuracy, log-loss, Brier): ``W @ term / n``;
- the expected calibration error: ``(1/n) sum_m | (W @ D)_m |`` with ``D[i, m] = (a_i - c_i)``
  when row ``i`` falls in confidence bin ``m`` (0 elsewhere);
- precision / recall / F1: the weighted confusion matrix ``W @ S``, ``S[i, t_i * K + p_i] = 1``;
- one-vs-rest ROC AUC: for each class, rows sorted once by score; the weighted Mann-Whitney
  statistic ``sum_g pos_g * (neg_before_g + neg_g / 2) / (P * N)`` over groups ``g`` of equal scores
  (ties count one half, exactly like the trapezoidal ROC area).

The interval is the 2.5 and 97.5 percentiles of the resampled values (the percentile method).
The same ``random_state`` gives identical intervals.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import numpy as np
import scipy.sparse as sp
from numpy.typing import ArrayLike

from mnist_logreg.evaluation._metrics import (
    DEFAULT_N_BINS,
    check_proba,
    classification_metrics,
    confidence_bins,
    encode_labels,
    sample_terms,
)

logger = logging.getLogger(__name__)

HEADLINE_METRICS: tuple[str, ...] = (
    "accuracy",
    "precision_weighted",
    "recall_weighted",
    "f1_weighted",
    "precision_macro",
    "recall_macro",
    "f1_macro",
    "roc_auc_ovr",
    "log_loss",
    "brier",
    "ece",
)
"""Metrics reported as ``{"value": v, "ci95": [lo, hi]}``, in display order."""

_BLOCK = 100
"""Resamples per block: bounds memory at about ``_BLOCK * n_samples * 8`` bytes per array."""


def _resample_counts(rng: np.random.Generator, n_resamples: int, n_samples: int) -> np.ndarray:
    """Count matrix of ``n_resamples`` bootstrap resamples, shape (n_resamples, n_samples)."""
    idx = rng.integers(0, n_samples, size=(n_resamples, n_samples))
    idx += (np.arange(n_resamples) * n_samples)[:, None]
    counts = np.bincount(idx.ravel(), minlength=n_resamples * n_samples)
    return counts.reshape(n_resamples, n_samples).astype(float)


class _WeightedStatistics:
    """Headline metrics of weighted samples, for a block of weight vectors at once.

    Built once from ``(y_index, proba)``; :meth:`__call__` maps a weight matrix ``W`` of shape
    ``(n_block, n_samples)`` to ``{metric: values of shape (n_block,)}``. With ``W`` all ones it
    reproduces the unweighted metrics (a test checks it against scikit-learn).
    """

    def __init__(self, y_index: np.ndarray, proba: np.ndarray, n_bins: int) -> None:
        n, k = proba.shape
        self.n_classes = k
        pred = proba.argmax(axis=1)
        confidence = proba.max(axis=1)
        self.correct = (pred == y_index).astype(float)
        self.log_loss, self.brier = sample_terms(y_index, proba)
        rows = np.arange(n)
        bins = confidence_bins(confidence, n_bins)
        # D[i, bin_i] = a_i - c_i
        self.calibration_gap = sp.csc_matrix(
            (self.correct - confidence, (rows, bins)), shape=(n, n_bins)
        )
        # S[i, t_i * K + p_i] = 1: W @ S is the flattened weighted confusion matrix.
        self.cell = sp.csc_matrix((np.ones(n), (rows, y_index * k + pred)), shape=(n, k * k))
        auc_classes = [1] if k == 2 else list(range(k))
        self.auc_data = [self._auc_setup(y_index == c, proba[:, c]) for c in auc_classes]

    @staticmethod
    def _auc_setup(positive: np.ndarray, score: np.ndarray) -> tuple[Any, ...]:
        """Sort rows by score once; return (order, sorted positive mask, group starts or None).

        Group starts (the first row of each run of equal scores) are ``None`` without ties.
        """
        order = np.argsort(score, kind="stable")
        sorted_score = score[order]
        starts = np.flatnonzero(np.r_[True, sorted_score[1:] != sorted_score[:-1]])
        return order, positive[order].astype(float), (None if starts.size == score.size else starts)

    def _auc(self, weights: np.ndarray) -> np.ndarray:
        """Macro one-vs-rest AUC per weight vector (NaN where a class is missing)."""
        aucs = []
        for order, positive, starts in self.auc_data:
            w = np.take(weights, order, axis=1)
            w_pos = w * positive
            w_neg = w - w_pos
            if starts is None:
                # No ties: each positive beats the negatives sorted before it. As a row is either
                # positive or negative, w_pos * cumsum(w_neg) (inclusive) counts exactly those.
                numerator = np.einsum("bn,bn->b", w_pos, np.cumsum(w_neg, axis=1))
            else:
                # Mann-Whitney over groups of equal scores: ties count one half.
                pos_group = np.add.reduceat(w_pos, starts, axis=1)
                neg_group = np.add.reduceat(w_neg, starts, axis=1)
                neg_before = np.cumsum(neg_group, axis=1) - neg_group
                numerator = np.einsum("bg,bg->b", pos_group, neg_before + 0.5 * neg_group)
            total_pos = w_pos.sum(axis=1)
            total_neg = w_neg.sum(axis=1)
            with np.errstate(invalid="ignore", divide="ignore"):
                aucs.append(numerator / (total_pos * total_neg))
        return np.mean(aucs, axis=0)

    def __call__(self, weights: np.ndarray) -> dict[str, np.ndarray]:
        """Metrics of each row of ``weights`` (shape (n_block, n_samples))."""
        k = self.n_classes
        total = weights.sum(axis=1)
        out = {
            "accuracy": weights @ self.correct / total,
            "log_loss": weights @ self.log_loss / total,
            "brier": weights @ self.brier / total,
            "ece": np.abs((self.calibration_gap.T @ weights.T).T).sum(axis=1) / total,
        }
        cm = (self.cell.T @ weights.T).T.reshape(-1, k, k)  # (n_block, true, predicted)
        tp = np.einsum("bkk->bk", cm)
        support = cm.sum(axis=2)
        predicted = cm.sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            # zero_division=0, as in classification_metrics
            precision = np.where(predicted > 0, tp / predicted, 0.0)
            recall = np.where(support > 0, tp / support, 0.0)
            denom = predicted + support
            f1 = np.where(denom > 0, 2.0 * tp / denom, 0.0)
        share = support / support.sum(axis=1, keepdims=True)
        for name, values in (("precision", precision), ("recall", recall), ("f1", f1)):
            out[f"{name}_weighted"] = (values * share).sum(axis=1)
            out[f"{name}_macro"] = values.mean(axis=1)
        out["roc_auc_ovr"] = self._auc(weights)
        return out


def bootstrap_metrics(
    y_true: ArrayLike,
    proba: ArrayLike,
    classes: ArrayLike,
    *,
    n_resamples: int = 1000,
    random_state: int | np.random.Generator | None = 0,
    n_bins: int = DEFAULT_N_BINS,
) -> dict[str, np.ndarray]:
    """Headline metrics of ``n_resamples`` bootstrap resamples of the rows.

    Predictions are the top label, ``classes[argmax_k proba[:, k]]``.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
    proba : array-like of shape (n_samples, n_classes)
        Columns in the order of ``classes``.
    classes : array-like of shape (n_classes,)
    n_resamples : int, default=1000
    random_state : int, Generator or None, default=0
        Seed of the resampling; the same seed gives the same resamples.
    n_bins : int, default=15
        Bins of the expected calibration error.

    Returns
    -------
    values : dict of str to ndarray of shape (n_resamples,)
        One entry per name in :data:`HEADLINE_METRICS`. A resample where a metric is undefined
        (a class missing for the AUC) gives NaN.
    """
    classes = np.asarray(classes)
    y_index = encode_labels(y_true, classes)
    proba_arr = check_proba(proba, y_index.size, classes.size)
    if n_resamples < 1:
        raise ValueError(
            f"The 'n_resamples' parameter must be an int >= 1. Got {n_resamples} instead."
        )
    rng = np.random.default_rng(random_state)
    statistic = _WeightedStatistics(y_index, proba_arr, n_bins)
    blocks: list[dict[str, np.ndarray]] = []
    start = time.perf_counter()
    for first in range(0, n_resamples, _BLOCK):
        size = min(_BLOCK, n_resamples - first)
        blocks.append(statistic(_resample_counts(rng, size, y_index.size)))
    logger.info(
        "bootstrap: %d resamples of %d rows x %d classes in %.2f s",
        n_resamples, y_index.size, classes.size, time.perf_counter() - start,
    )
    return {name: np.concatenate([b[name] for b in blocks]) for name in HEADLINE_METRICS}


def percentile_interval(values: ArrayLike, confidence: float = 0.95) -> list[float | None]:
    """Percentile bootstrap interval ``[q_{(1-c)/2}, q_{(1+c)/2}]``, ignoring NaN resamples.

    Parameters
    ----------
    values : array-like of shape (n_resamples,)
    confidence : float, default=0.95

    Returns
    -------
    interval : list of 2 floats (or ``[None, None]`` when every resample is NaN)
    """
    values = np.asarray(values, dtype=float)
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return [None, None]
    alpha = 100.0 * (1.0 - confidence) / 2.0
    lo, hi = np.percentile(finite, [alpha, 100.0 - alpha])
    return [float(lo), float(hi)]


def evaluate_predictions(
    y_true: ArrayLike,
    proba: ArrayLike,
    classes: ArrayLike,
    *,
    n_bootstrap: int = 1000,
    random_state: int | np.random.Generator | None = 0,
    n_bins: int = DEFAULT_N_BINS,
) -> dict[str, Any]:
    """The ``"test"`` block of ``metrics.json``: every metric, headline ones with 95% CIs.

    Predictions are the top label ``classes[argmax_k proba[:, k]]``. Point values are
    scikit-learn's (see :func:`classification_metrics`); intervals are 95% percentile bootstrap
    intervals over ``n_bootstrap`` resamples of the rows (see :func:`bootstrap_metrics`).

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
    proba : array-like of shape (n_samples, n_classes)
        Columns in the order of ``classes``.
    classes : array-like of shape (n_classes,)
    n_bootstrap : int, default=1000
        Number of resamples; 0 skips the bootstrap (every ``ci95`` is ``None``).
    random_state : int, Generator or None, default=0
    n_bins : int, default=15

    Returns
    -------
    test : dict
        For each name in :data:`HEADLINE_METRICS` (``accuracy``, ``precision_weighted``,
        ``recall_weighted``, ``f1_weighted``, ``precision_macro``, ``recall_macro``, ``f1_macro``,
        ``roc_auc_ovr``, ``log_loss``, ``brier``, ``ece``): ``{"value": v, "ci95": [lo, hi]}``;
        plus ``confusion_matrix``, ``per_class``, ``classification_report``, ``n_samples`` and
        ``bootstrap`` (``{"method": "percentile", "n_resamples", "random_state",
        "confidence"}``).
    """
    if n_bootstrap < 0:
        raise ValueError(
            f"The 'n_bootstrap' parameter must be an int >= 0. Got {n_bootstrap} instead."
        )
    classes = np.asarray(classes)
    proba_arr = np.asarray(proba, dtype=float)
    if proba_arr.ndim != 2:
        raise ValueError(
            f"Expected proba of shape (n_samples, n_classes). Got shape {proba_arr.shape} instead."
        )
    y_pred = classes[proba_arr.argmax(axis=1)]
    point = classification_metrics(y_true, y_pred, proba_arr, classes, n_bins=n_bins)
    resampled = None
    if n_bootstrap > 0:
        resampled = bootstrap_metrics(
            y_true, proba_arr, classes, n_resamples=n_bootstrap, random_state=random_state,
            n_bins=n_bins,
        )
    test: dict[str, Any] = {
        name: {
            "value": point[name],  # already a float, or None where undefined
            "ci95": None if resampled is None else percentile_interval(resampled[name]),
        }
        for name in HEADLINE_METRICS
    }
    test["confusion_matrix"] = point["confusion_matrix"]
    test["per_class"] = point["per_class"]
    test["classification_report"] = point["classification_report"]
    test["n_samples"] = point["n_samples"]
    test["bootstrap"] = {
        "method": "percentile",
        "n_resamples": int(n_bootstrap),
        "random_state": (int(random_state) if isinstance(random_state, int | np.integer)
                         else None),
        "confidence": 0.95,
    }
    return test
