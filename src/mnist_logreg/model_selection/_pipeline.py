"""The model of the study as one scikit-learn Pipeline: scale -> standardize -> classifier.

Every fit (inner path, outer refit, final model) builds its own pipeline from raw pixels, so
StandardScaler only ever sees the training rows of that fit: no validation or test row leaks
into the standardization statistics.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from sklearn.pipeline import Pipeline

from mnist_logreg.errors import InputError
from mnist_logreg.linear_model import (
    LogisticRegression,
    OneVsRestLogisticRegression,
    logistic_regression_path,
)
from mnist_logreg.preprocessing import make_preprocessor

Strategy = str  # "multinomial" or "ovr", checked by validate_strategy
STRATEGIES: tuple[str, ...] = ("multinomial", "ovr")


def validate_strategy(strategy: str) -> None:
    """Raise :class:`InputError` unless ``strategy`` is ``multinomial`` or ``ovr``."""
    if strategy not in STRATEGIES:
        raise InputError(
            f"--strategy must be one of {', '.join(STRATEGIES)}. Got {strategy!r} instead."
        )


def build_preprocessor(pixel_max: float) -> Pipeline:
    """Return the unfitted preprocessing pipeline (pixels / pixel_max, then StandardScaler)."""
    return make_preprocessor(pixel_max)


def build_classifier(C: float, strategy: Strategy = "multinomial", **solver_options: Any) -> Any:
    """Return the unfitted classifier: multinomial softmax or the batched one-vs-rest model."""
    validate_strategy(strategy)
    if strategy == "ovr":
        return OneVsRestLogisticRegression(C=C, **solver_options)
    return LogisticRegression(C=C, **solver_options)


def fit_classifier_path(
    X: np.ndarray,
    y: np.ndarray,
    Cs: Sequence[float] | np.ndarray,
    *,
    strategy: Strategy = "multinomial",
    **solver_options: Any,
) -> list[Any]:
    """Fit the classifier at each C of ``Cs`` as one warm-started regularization path.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
        Preprocessed (standardized) training rows; float32 keeps the fits in float32.
    y : ndarray of shape (n_samples,)
    Cs : sequence of float
        Candidates in ascending order (small C, the most regularized and easiest problem, first).
    strategy : {"multinomial", "ovr"}
    **solver_options
        ``tol``, ``max_iter``, ``solver`` of :func:`logistic_regression_path`.

    Returns
    -------
    estimators : list
        One fitted classifier per C, in the order of ``Cs``.
    """
    validate_strategy(strategy)
    multi_class: Any = strategy
    path = logistic_regression_path(
        X, y, np.asarray(Cs, dtype=np.float64), multi_class=multi_class, **solver_options
    )
    return path.estimators()


def build_model(
    C: float, *, pixel_max: float, strategy: Strategy = "multinomial", **solver_options: Any
) -> Pipeline:
    """Return the unfitted study pipeline ``scale -> standardize -> classifier``."""
    preprocessor = build_preprocessor(pixel_max)
    return Pipeline(
        [*preprocessor.steps, ("classifier", build_classifier(C, strategy, **solver_options))]
    )
