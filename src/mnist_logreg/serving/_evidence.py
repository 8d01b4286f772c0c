"""Why a linear model chose its class: each pixel's share of the winning margin.

For a linear classifier the score of class k is ``s_k = w_k . z + b_k``, where ``z`` is the image
as the linear step sees it (after every earlier step of the pipeline: pixel scaling and
standardization here). The margin of the predicted class k over the runner-up j splits exactly
over the pixels::

    s_k - s_j = sum_p (w_k - w_j)_p * z_p  +  (b_k - b_j)

so ``contributions[p] = (w_k - w_j)_p * z_p`` says how much pixel p pushed towards k (positive)
or towards j (negative). A pixel without ink still counts when its standardized value is not
zero: the model reads each pixel relative to its training mean.

Binary models hold one row of ``coef_`` (the score of ``classes_[1]`` against ``classes_[0]``):
it is read as the two rows ``[0, w]`` and intercepts ``[0, b]``, which give the same margins.
Softmax and one-vs-rest models both rank classes by score, so k and j are the two most probable
classes either way.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["Evidence", "explain_prediction"]


@dataclass(frozen=True)
class Evidence:
    """The margin of the predicted class over the runner-up, split over the pixels.

    Attributes
    ----------
    predicted : int
        Index (into ``classes_``) of the predicted class k.
    runner_up : int
        Index of the second most probable class j.
    contributions : ndarray of shape (n_features,)
        ``(w_k - w_j)_p * z_p`` per pixel, float64.
    intercept_difference : float
        ``b_k - b_j``.
    score_difference : float
        ``s_k - s_j``, computed from the two scores; equals ``contributions.sum() +
        intercept_difference`` to float64 rounding.
    """

    predicted: int
    runner_up: int
    contributions: np.ndarray
    intercept_difference: float
    score_difference: float


def _linear_parts(model: Any) -> tuple[Any, Any]:
    """Split ``model`` into (the steps before the linear one, or None; the linear step)."""
    steps = getattr(model, "steps", None)
    if steps:
        before = model[:-1] if len(steps) > 1 else None
        return before, steps[-1][1]
    return None, model


def explain_prediction(
    model: Any, X: np.ndarray, *, predicted: int | None = None
) -> Evidence | None:
    """Split the predicted class's score margin over the pixels of one image.

    Parameters
    ----------
    model : Pipeline or estimator
        Fitted; its last step has ``coef_`` of shape (n_classes, n_features) or (1, n_features)
        for two classes, and ``intercept_``; every earlier step has ``transform``.
    X : ndarray of shape (1, n_features)
        One image exactly as the model receives it (raw pixels).
    predicted : int, optional
        Index of the class to explain (the one the caller reports, e.g. the argmax of
        ``predict_proba``); default: the highest score. The runner-up is the highest score of
        the other classes.

    Returns
    -------
    evidence : Evidence or None
        None when the model's last step is not linear (no ``coef_``) or has fewer than two
        classes.
    """
    before, linear = _linear_parts(model)
    coef = getattr(linear, "coef_", None)
    intercept = getattr(linear, "intercept_", None)
    if coef is None or intercept is None:
        return None
    W = np.atleast_2d(np.asarray(coef, dtype=np.float64))
    b = np.atleast_1d(np.asarray(intercept, dtype=np.float64))
    if W.shape[0] == 1:
        W = np.vstack([np.zeros_like(W), W])
        b = np.concatenate([np.zeros(1), b])
    if W.shape[0] < 2 or b.shape != (W.shape[0],):
        return None
    z = np.asarray(before.transform(X) if before is not None else X, dtype=np.float64)[0]
    scores = W @ z + b
    k = int(np.argmax(scores)) if predicted is None else int(predicted)
    others = scores.copy()
    others[k] = -np.inf
    j = int(np.argmax(others))
    return Evidence(
        predicted=k,
        runner_up=j,
        contributions=(W[k] - W[j]) * z,
        intercept_difference=float(b[k] - b[j]),
        score_difference=float(scores[k] - scores[j]),
    )
