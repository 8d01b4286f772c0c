"""Classification metrics of probabilistic predictions, as JSON-ready data.

Everything scikit-learn has comes from :mod:`sklearn.metrics`; written here by hand are only the
expected calibration error (scikit-learn has none) and the per-sample terms the bootstrap needs.

Conventions
-----------
``classes`` (shape ``(n_classes,)``) lists the labels in the order of the columns of ``proba``
(shape ``(n_samples, n_classes)``), as a fitted classifier's ``classes_`` does. Labels are encoded
once to column indices ``0 .. n_classes - 1`` and every scikit-learn metric is called with
``labels=range(n_classes)``, so string labels, unsorted classes and classes absent from a sample
all work the same way.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike
from sklearn import metrics as skm

logger = logging.getLogger(__name__)

DEFAULT_N_BINS = 15
"""Number of equal-width confidence bins of the expected calibration error."""


def encode_labels(y: ArrayLike, classes: ArrayLike) -> np.ndarray:
    """Map labels to their column index in ``classes``.

    Parameters
    ----------
    y : array-like of shape (n_samples,)
        Labels, each one of ``classes``.
    classes : array-like of shape (n_classes,)
        The labels in the order of the probability columns.

    Returns
    -------
    y_index : ndarray of shape (n_samples,), dtype intp
        ``classes[y_index] == y``.
    """
    y = np.asarray(y)
    classes = np.asarray(classes)
    if y.ndim != 1:
        raise ValueError(f"Expected labels of shape (n_samples,). Got shape {y.shape} instead.")
    if classes.ndim != 1 or classes.size < 2:
        raise ValueError(
            f"Expected at least 2 classes of shape (n_classes,). Got shape {classes.shape} instead."
        )
    sorter = np.argsort(classes, kind="stable")
    sorted_classes = classes[sorter]
    if np.any(sorted_classes[1:] == sorted_classes[:-1]):
        raise ValueError(f"The classes must be unique. Got {classes.tolist()} instead.")
    pos = np.searchsorted(sorted_classes, y)
    pos = np.clip(pos, 0, classes.size - 1)
    unknown = sorted_classes[pos] != y
    if np.any(unknown):
        bad = np.unique(y[unknown])[:5].tolist()
        raise ValueError(
            f"Labels {bad} are not among the classes {classes.tolist()} (the probability columns)."
        )
    return sorter[pos]


def check_proba(proba: ArrayLike, n_samples: int, n_classes: int) -> np.ndarray:
    """Return ``proba`` as a float array of shape (n_samples, n_classes) or raise."""
    proba = np.asarray(proba, dtype=float)
    if proba.shape != (n_samples, n_classes):
        raise ValueError(
            f"Expected proba of shape (n_samples, n_classes) = ({n_samples}, {n_classes}). "
            f"Got shape {proba.shape} instead."
        )
    if n_samples == 0:
        raise ValueError("Expected at least one sample. Got 0 instead.")
    return proba


def json_float(x: float) -> float | None:
    """Return ``x`` as a Python float, or ``None`` where it is NaN or infinite (no JSON value)."""
    x = float(x)
    return x if math.isfinite(x) else None


# --- per-sample terms ---------------------------------------------------------------------------
# Each headline metric that is a mean over samples is written as mean_n term_n, so that a bootstrap
# resample (a weight vector of counts) is just a weighted mean of the same terms.


def sample_terms(y_index: np.ndarray, proba: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-sample cross-entropy and multiclass Brier terms, whose means are the two metrics.

    Cross-entropy: ``-log p_{n, t_n}`` with ``p`` clipped to ``[eps, 1 - eps]`` (``eps`` the
    machine epsilon of ``proba``'s dtype), as :func:`sklearn.metrics.log_loss` does. Brier:
    ``sum_k (p_{n,k} - t_{n,k})^2`` with ``t`` one-hot, expanded so no one-hot matrix is built:
    ``sum_k p_k^2 - 2 p_t + 1`` (values in [0, 2]).

    Parameters
    ----------
    y_index : ndarray of shape (n_samples,)
    proba : ndarray of shape (n_samples, n_classes)

    Returns
    -------
    log_loss, brier : ndarray of shape (n_samples,)
    """
    p_true = proba[np.arange(y_index.size), y_index]
    eps = np.finfo(proba.dtype).eps
    log_loss = -np.log(np.clip(p_true, eps, 1 - eps))
    return log_loss, np.einsum("nk,nk->n", proba, proba) - 2.0 * p_true + 1.0


def confidence_bins(confidence: np.ndarray, n_bins: int = DEFAULT_N_BINS) -> np.ndarray:
    """Index of the equal-width bin of each confidence.

    Bin ``m`` (0-based) is the interval ``(m / M, (m + 1) / M]``; a confidence of exactly 0 goes
    to bin 0.

    Parameters
    ----------
    confidence : ndarray of shape (n_samples,), values in [0, 1]
    n_bins : int
        ``M``, the number of bins.

    Returns
    -------
    bins : ndarray of shape (n_samples,), values in ``0 .. M - 1``
    """
    if n_bins < 1:
        raise ValueError(f"The 'n_bins' parameter must be an int >= 1. Got {n_bins} instead.")
    inner_edges = np.linspace(0.0, 1.0, n_bins + 1)[1:-1]
    # side="left" counts the inner edges strictly below each confidence: right-closed bins.
    return np.searchsorted(inner_edges, confidence, side="left")


@dataclass(frozen=True)
class CalibrationBins:
    """Top-label calibration of predictions in equal-width confidence bins.

    Attributes
    ----------
    edges : ndarray of shape (n_bins + 1,)
        Bin edges, ``0, 1/M, ..., 1``.
    counts : ndarray of shape (n_bins,)
        Number of samples whose top-label confidence falls in each bin.
    mean_confidence : ndarray of shape (n_bins,)
        Mean top-label confidence per bin (NaN for an empty bin).
    accuracy : ndarray of shape (n_bins,)
        Fraction of correct top-label predictions per bin (NaN for an empty bin).
    ece : float
        Expected calibration error, ``sum_m (|B_m| / n) |accuracy_m - mean_confidence_m|``.
    """

    edges: np.ndarray
    counts: np.ndarray
    mean_confidence: np.ndarray
    accuracy: np.ndarray
    ece: float


def calibration_bins(
    y_true: ArrayLike,
    proba: ArrayLike,
    classes: ArrayLike | None = None,
    *,
    n_bins: int = DEFAULT_N_BINS,
) -> CalibrationBins:
    """Top-label reliability table and expected calibration error (ECE).

    With top-label confidence ``c_n = max_k p_{n,k}``, prediction ``argmax_k p_{n,k}``,
    ``a_n = 1`` when the prediction is right (else 0) and ``M`` bins ``B_m = (m/M, (m+1)/M]``::

        ECE = sum_m (|B_m| / n) * | mean_{n in B_m} a_n - mean_{n in B_m} c_n |
            = (1 / n) * sum_m | sum_{n in B_m} (a_n - c_n) |

    (Guo et al., 2017, "On Calibration of Modern Neural Networks"). 0 means that in every bin the
    average confidence equals the accuracy.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        True labels.
    proba : array-like of shape (n_samples, n_classes)
        Predicted probabilities, columns in the order of ``classes``.
    classes : array-like of shape (n_classes,), default=None
        Labels of the columns; ``None`` means ``0 .. n_classes - 1``.
    n_bins : int, default=15
        Number of equal-width bins ``M``.

    Returns
    -------
    CalibrationBins
    """
    proba_arr = np.asarray(proba, dtype=float)
    if proba_arr.ndim != 2:
        raise ValueError(
            f"Expected proba of shape (n_samples, n_classes). Got shape {proba_arr.shape} instead."
        )
    if classes is None:
        classes = np.arange(proba_arr.shape[1])
    classes = np.asarray(classes)
    y_index = encode_labels(y_true, classes)
    proba_arr = check_proba(proba_arr, y_index.size, classes.size)
    confidence = proba_arr.max(axis=1)
    correct = (proba_arr.argmax(axis=1) == y_index).astype(float)
    bins = confidence_bins(confidence, n_bins)
    counts = np.bincount(bins, minlength=n_bins)
    sum_conf = np.bincount(bins, weights=confidence, minlength=n_bins)
    sum_correct = np.bincount(bins, weights=correct, minlength=n_bins)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_conf = np.where(counts > 0, sum_conf / counts, np.nan)
        accuracy = np.where(counts > 0, sum_correct / counts, np.nan)
    ece = float(np.abs(sum_correct - sum_conf).sum() / y_index.size)
    return CalibrationBins(
        edges=np.linspace(0.0, 1.0, n_bins + 1),
        counts=counts,
        mean_confidence=mean_conf,
        accuracy=accuracy,
        ece=ece,
    )


def expected_calibration_error(
    y_true: ArrayLike,
    proba: ArrayLike,
    classes: ArrayLike | None = None,
    *,
    n_bins: int = DEFAULT_N_BINS,
) -> float:
    """Expected calibration error of the top label in ``n_bins`` equal-width bins.

    ``ECE = (1 / n) * sum_m | sum_{n in B_m} (a_n - c_n) |``; see :func:`calibration_bins`.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
    proba : array-like of shape (n_samples, n_classes)
    classes : array-like of shape (n_classes,), default=None
        Labels of the columns; ``None`` means ``0 .. n_classes - 1``.
    n_bins : int, default=15

    Returns
    -------
    ece : float in [0, 1]
    """
    return calibration_bins(y_true, proba, classes, n_bins=n_bins).ece


def multiclass_brier_score(y_true: ArrayLike, proba: ArrayLike, classes: ArrayLike) -> float:
    """Multiclass Brier score ``(1 / n) sum_n sum_k (p_{n,k} - t_{n,k})^2``, in [0, 2].

    ``t`` is the one-hot encoding of the true label. This is scikit-learn's
    ``brier_score_loss(..., scale_by_half=False)`` (its multiclass definition); it is used for
    two classes as well, where it is twice the customary binary Brier score.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
    proba : array-like of shape (n_samples, n_classes)
    classes : array-like of shape (n_classes,)

    Returns
    -------
    brier : float
    """
    classes = np.asarray(classes)
    y_index = encode_labels(y_true, classes)
    proba_arr = check_proba(proba, y_index.size, classes.size)
    return float(
        skm.brier_score_loss(
            y_index, proba_arr, labels=np.arange(classes.size), scale_by_half=False
        )
    )


def roc_auc_ovr(y_index: np.ndarray, proba: np.ndarray) -> float:
    """Macro one-vs-rest ROC AUC (binary: the AUC of the second column), NaN if undefined.

    Parameters
    ----------
    y_index : ndarray of shape (n_samples,)
        Column index of each true label.
    proba : ndarray of shape (n_samples, n_classes)

    Returns
    -------
    auc : float
    """
    n_classes = proba.shape[1]
    if np.unique(y_index).size < 2:
        return math.nan
    if n_classes == 2:
        return float(skm.roc_auc_score(y_index, proba[:, 1]))
    if np.unique(y_index).size < n_classes:
        # scikit-learn's macro average is undefined (NaN, with a warning) in this case.
        return math.nan
    return float(
        skm.roc_auc_score(y_index, proba, multi_class="ovr", average="macro",
                          labels=np.arange(n_classes))
    )


def per_class_auc(y_index: np.ndarray, proba: np.ndarray) -> list[float | None]:
    """One-vs-rest ROC AUC of each class's own column (None where the class or its complement is
    absent); ``proba`` may be any scores, probabilities or a decision function."""
    out: list[float | None] = []
    for k in range(proba.shape[1]):
        positive = y_index == k
        if positive.all() or not positive.any():
            out.append(None)
        else:
            out.append(float(skm.roc_auc_score(positive, proba[:, k])))
    return out


def classification_metrics(
    y_true: ArrayLike,
    y_pred: ArrayLike,
    proba: ArrayLike,
    classes: ArrayLike,
    *,
    n_bins: int = DEFAULT_N_BINS,
) -> dict[str, Any]:
    """Every metric of the study for one set of predictions, as JSON-ready values.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        True labels, each one of ``classes``.
    y_pred : array-like of shape (n_samples,)
        Predicted labels (usually ``classes[proba.argmax(axis=1)]``).
    proba : array-like of shape (n_samples, n_classes)
        Predicted probabilities, columns in the order of ``classes``.
    classes : array-like of shape (n_classes,)
        The labels of the columns of ``proba`` (a classifier's ``classes_``).
    n_bins : int, default=15
        Number of bins of the expected calibration error.

    Returns
    -------
    metrics : dict
        ``n_samples``; floats ``accuracy``, ``precision_weighted``, ``recall_weighted``,
        ``f1_weighted``, ``precision_macro``, ``recall_macro``, ``f1_macro``, ``roc_auc_ovr``
        (macro one-vs-rest; binary: AUC of ``classes[1]``), ``log_loss``, ``brier`` (see
        :func:`multiclass_brier_score`), ``ece`` (see :func:`calibration_bins`);
        ``confusion_matrix`` (list of lists, rows = true class, columns = predicted, in the order
        of ``classes``); ``per_class`` (``{str(label): {"precision", "recall", "f1", "support",
        "roc_auc"}}``); ``classification_report`` (scikit-learn's text). Undefined values
        (e.g. an AUC with one class present) are ``None``. Zero divisions count as 0.
    """
    classes = np.asarray(classes)
    n_classes = classes.size
    y_index = encode_labels(y_true, classes)
    pred_index = encode_labels(y_pred, classes)
    if pred_index.size != y_index.size:
        raise ValueError(
            f"Expected y_pred of shape ({y_index.size},) like y_true. "
            f"Got shape {pred_index.shape} instead."
        )
    proba_arr = check_proba(proba, y_index.size, n_classes)
    labels = np.arange(n_classes)
    names = [str(c) for c in classes]

    precision, recall, f1, support = skm.precision_recall_fscore_support(
        y_index, pred_index, labels=labels, zero_division=0
    )
    averaged: dict[str, float] = {}
    for average in ("weighted", "macro"):
        p, r, f, _ = skm.precision_recall_fscore_support(
            y_index, pred_index, labels=labels, average=average, zero_division=0
        )
        averaged[f"precision_{average}"] = float(p)
        averaged[f"recall_{average}"] = float(r)
        averaged[f"f1_{average}"] = float(f)

    aucs = per_class_auc(y_index, proba_arr)
    per_class = {
        name: {
            "precision": float(precision[k]),
            "recall": float(recall[k]),
            "f1": float(f1[k]),
            "support": int(support[k]),
            "roc_auc": aucs[k],
        }
        for k, name in enumerate(names)
    }
    log_loss = skm.log_loss(y_index, proba_arr, labels=labels)
    return {
        "n_samples": int(y_index.size),
        "accuracy": float(skm.accuracy_score(y_index, pred_index)),
        "precision_weighted": averaged["precision_weighted"],
        "recall_weighted": averaged["recall_weighted"],
        "f1_weighted": averaged["f1_weighted"],
        "precision_macro": averaged["precision_macro"],
        "recall_macro": averaged["recall_macro"],
        "f1_macro": averaged["f1_macro"],
        "roc_auc_ovr": json_float(roc_auc_ovr(y_index, proba_arr)),
        "log_loss": json_float(log_loss),
        "brier": json_float(multiclass_brier_score(y_index, proba_arr, labels)),
        "ece": json_float(expected_calibration_error(y_index, proba_arr, labels, n_bins=n_bins)),
        "confusion_matrix": skm.confusion_matrix(y_index, pred_index, labels=labels).tolist(),
        "per_class": per_class,
        "classification_report": skm.classification_report(
            y_index, pred_index, labels=labels, target_names=names, digits=4, zero_division=0
        ),
    }
