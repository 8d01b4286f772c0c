"""Tests that fitted attributes and predictions keep scikit-learn 1.9's dtypes."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression as SklearnLogisticRegression

from mnist_logreg.linear_model import (
    LogisticRegression,
    OneVsRestLogisticRegression,
    logistic_regression_path,
    path_estimators,
)

RNG = np.random.default_rng(0)
X64 = RNG.normal(size=(120, 6))
Y3 = RNG.integers(0, 3, size=120)
INPUTS = {
    "float32": X64.astype(np.float32),
    "float64": X64,
    "uint8": (np.abs(X64) * 40).astype(np.uint8),
    "int64": (np.abs(X64) * 40).astype(np.int64),
    "float16": X64.astype(np.float16),
    "csr-float32": sp.csr_matrix(X64.astype(np.float32)),
    "csc-float64": sp.csc_matrix(X64),
}
EXPECTED = {"float32": np.float32, "csr-float32": np.float32}


def _fitted(estimator, X, y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return estimator.fit(X, y)


@pytest.mark.parametrize("name", list(INPUTS))
@pytest.mark.parametrize("n_classes", [2, 3])
@pytest.mark.parametrize(
    "make",
    [
        lambda: LogisticRegression(),
        lambda: LogisticRegression(standardize=True),
        lambda: OneVsRestLogisticRegression(),
    ],
    ids=["multinomial", "standardized", "ovr"],
)
def test_fitted_arrays_and_predictions_keep_the_input_float_dtype(name, n_classes, make) -> None:
    """Test that float32 input gives float32 coef_ and probabilities, any other input float64."""
    X, y = INPUTS[name], Y3 % n_classes
    expected = np.dtype(EXPECTED.get(name, np.float64))
    model = _fitted(make(), X, y)
    assert model.coef_.dtype == expected and model.intercept_.dtype == expected
    for method in ("decision_function", "predict_proba", "predict_log_proba"):
        assert getattr(model, method)(X).dtype == expected, method
    if model.standardize:
        assert model.standardized_coef_.dtype == expected
        assert model.standardized_intercept_.dtype == expected
        assert model.mean_.dtype == model.scale_.dtype == np.float64  # as StandardScaler's
    proba = model.predict_proba(X)
    assert np.allclose(proba.sum(axis=1), 1, atol=1e-6)


@pytest.mark.parametrize("name", ["float32", "float64", "uint8", "float16", "csr-float32"])
def test_dtypes_equal_those_of_scikit_learn(name) -> None:
    """Test that coef_, decision_function and predict_proba dtypes equal scikit-learn 1.9's."""
    X = INPUTS[name]
    ours = _fitted(LogisticRegression(), X, Y3)
    theirs = _fitted(SklearnLogisticRegression(), X, Y3)
    assert ours.coef_.dtype == theirs.coef_.dtype
    assert ours.intercept_.dtype == theirs.intercept_.dtype
    assert ours.predict_proba(X).dtype == theirs.predict_proba(X).dtype
    assert ours.decision_function(X).dtype == theirs.decision_function(X).dtype
    # a float32 model on float64 rows predicts in float64, as scikit-learn's
    assert ours.predict_proba(X64).dtype == theirs.predict_proba(X64).dtype == np.float64


def test_float32_model_equals_the_float64_model_to_float32_precision() -> None:
    """Test that the float32 fit's probabilities equal the float64 fit's to about 1e-4."""
    tight = {"tol": 1e-6, "max_iter": 500}
    p32 = _fitted(LogisticRegression(**tight), INPUTS["float32"], Y3).predict_proba(X64)
    p64 = _fitted(LogisticRegression(**tight), X64, Y3).predict_proba(X64)
    assert np.abs(p32 - p64).max() < 1e-4


def test_path_estimators_follow_the_same_rule() -> None:
    """Test that path_estimators gives float32 fitted arrays for float32 X, float64 for uint8."""
    for X, expected in ((INPUTS["float32"], np.float32), (INPUTS["uint8"], np.float64)):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            path = logistic_regression_path(X, Y3, [0.1, 1.0], standardize=True)
        for estimator in path_estimators(path):
            assert estimator.coef_.dtype == estimator.intercept_.dtype == expected
            assert estimator.standardized_coef_.dtype == expected
            assert estimator.predict_proba(X).dtype == expected
