"""The model of the study as one scikit-learn Pipeline: scale -> standardize -> classifier.

Every fit (inner path, outer refit, final model) standardizes with statistics of its own training
rows only: no validation or test row leaks into the standardization. The fits themselves read
the raw pixels (uint8 stays uint8) with the standardization folded into the classifier
(``LogisticRegression(standardize=True)``: the objective of StandardScaler -> LogisticRegression
without building the standardized float matrix); a fitted model is then returned as the same
three-step pipeline as before (:func:`unfolded_pipeline`), so model files, exports, serving and
the report see the same model.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from mnist_logreg.errors import InputError
from mnist_logreg.linear_model import (
    LogisticRegression,
    OneVsRestLogisticRegression,
    logistic_regression_path,
    path_estimators,
)
from mnist_logreg.preprocessing import PixelScaler, make_preprocessor

Strategy = str  # "multinomial" or "ovr", checked by validate_strategy
STRATEGIES: tuple[str, ...] = ("multinomial", "ovr")


def validate_strategy(strategy: str) -> None:
    """Raise :class:`InputError` unless ``strategy`` is ``multinomial`` or ``ovr``."""
    if strategy not in STRATEGIES:
        raise InputError(
            f"--strategy must be one of {', '.join(STRATEGIES)}. Got {strategy!r} instead."
        )


def build_classifier(C: float, strategy: Strategy = "multinomial", **solver_options: Any) -> Any:
    """Return the unfitted classifier: multinomial softmax or the batched one-vs-rest model."""
    validate_strategy(strategy)
    if strategy == "ovr":
        return OneVsRestLogisticRegression(C=C, **solver_options)
    return LogisticRegression(C=C, **solver_options)


def fit_path(
    X: Any,
    y: np.ndarray,
    Cs: Sequence[float] | np.ndarray,
    *,
    strategy: Strategy = "multinomial",
    standardize: bool = True,
    **solver_options: Any,
) -> list[Any]:
    """Fit the classifier at each C of ``Cs`` as one warm-started regularization path.

    With ``standardize`` (the default) the rows are raw and the standardization is folded into
    the fit: equivalent to the path on ``StandardScaler().fit_transform(X)`` (pixel scaling does
    not change standardized rows), without building that matrix.

    Parameters
    ----------
    X : ndarray or scipy.sparse matrix of shape (n_samples, n_features)
        Raw training rows (uint8 pixels are read as they are), or already preprocessed rows
        (``standardize=False``; float32 keeps the fits in float32).
    y : ndarray of shape (n_samples,)
    Cs : sequence of float
        Candidates in ascending order (small C, the most regularized and easiest problem, first).
    strategy : {"multinomial", "ovr"}
    standardize : bool
        Fold the standardization into the fit (``predict*`` then take raw rows).
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
        X, y, np.asarray(Cs, dtype=np.float64), multi_class=multi_class, standardize=standardize,
        **solver_options,
    )
    return path_estimators(path)


def build_model(
    C: float, *, pixel_max: float, strategy: Strategy = "multinomial", **solver_options: Any
) -> Pipeline:
    """Return the unfitted study pipeline ``scale -> standardize -> classifier``."""
    preprocessor = make_preprocessor(pixel_max)
    return Pipeline(
        [*preprocessor.steps, ("classifier", build_classifier(C, strategy, **solver_options))]
    )


def unfolded_pipeline(classifier: Any, pixel_max: float) -> Pipeline:
    """Return ``scale -> standardize -> classifier`` equal to a ``standardize=True`` classifier.

    The folded classifier learnt the mean m and scale s of raw pixels; on pixels / pixel_max
    those are m / pixel_max and s / pixel_max (1 for constant columns in both spaces), and the
    standardized rows, hence the standardized weights, are the same.

    Parameters
    ----------
    classifier : LogisticRegression or OneVsRestLogisticRegression
        Fitted with ``standardize=True``.
    pixel_max : float

    Returns
    -------
    model : Pipeline
        Fitted ``[("scale", PixelScaler), ("standardize", StandardScaler), ("classifier", ...)]``.
    """
    raw_scaler, inner = classifier.unfold()
    preprocessor = make_preprocessor(pixel_max)
    pixel_scaler: PixelScaler = preprocessor.steps[0][1]
    pixel_scaler.fit(np.zeros((1, classifier.n_features_in_), dtype=np.float32))
    scaler: StandardScaler = preprocessor.steps[1][1]
    constant = (raw_scaler.scale_ == 1.0) & (raw_scaler.var_ < 0.5)
    scaler.mean_ = raw_scaler.mean_ / pixel_max
    scaler.var_ = raw_scaler.var_ / pixel_max**2
    scaler.scale_ = np.where(constant, 1.0, raw_scaler.scale_ / pixel_max)
    scaler.n_features_in_ = raw_scaler.n_features_in_
    scaler.n_samples_seen_ = raw_scaler.n_samples_seen_
    return Pipeline([*preprocessor.steps, ("classifier", inner)])


def fit_model(
    X: Any, y: np.ndarray, C: float, *, pixel_max: float, strategy: Strategy = "multinomial",
    **solver_options: Any,
) -> Pipeline:
    """Fit the study model on raw rows (standardization folded) and return it as the pipeline.

    Same model as ``build_model(C, ...).fit(X, y)`` (to the solver's tolerance) without the
    float copies of ``X`` that the pipeline's transformers make.
    """
    classifier = build_classifier(C, strategy, standardize=True, **solver_options)
    classifier.fit(X, y)
    return unfolded_pipeline(classifier, pixel_max)
