"""Tests of the warm-started regularization path."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.datasets import load_digits
from sklearn.preprocessing import StandardScaler

from mnist_logreg.linear_model import (
    LogisticPath,
    LogisticRegression,
    OneVsRestLogisticRegression,
    logistic_regression_path,
    path_estimators,
)

CS = [10.0, 0.01, 0.1, 1.0]


def _digits(n: int = 500):
    X, y = load_digits(return_X_y=True)
    return StandardScaler().fit_transform(X[:n]), y[:n]


@pytest.mark.parametrize("multi_class", ["multinomial", "ovr"])
def test_path_agrees_with_independent_fits(multi_class: str) -> None:
    """Test that each C of the path equals a cold fit of that C."""
    X, y = _digits()
    path = logistic_regression_path(X, y, CS, multi_class=multi_class, tol=1e-8)
    assert isinstance(path, LogisticPath)
    np.testing.assert_array_equal(path.Cs, sorted(CS))
    assert path.coefs.shape == (4, 10, X.shape[1]) and path.intercepts.shape == (4, 10)
    cls = OneVsRestLogisticRegression if multi_class == "ovr" else LogisticRegression
    for i, C in enumerate(path.Cs):
        cold = cls(C=C, tol=1e-8).fit(X, y)
        assert path.objectives[i] == pytest.approx(cold.objective_, rel=1e-8)
        np.testing.assert_allclose(path.coefs[i], cold.coef_, atol=1e-3)


def test_warm_start_saves_iterations() -> None:
    """Test that the warm-started path needs fewer iterations than cold fits."""
    X, y = _digits()
    path = logistic_regression_path(X, y, CS, tol=1e-6)
    cold = sum(LogisticRegression(C=C, tol=1e-6).fit(X, y).n_iter_[0] for C in CS)
    assert path.n_iter.sum() < cold


def test_predictions_for_all_Cs_match_estimators() -> None:
    """Test that the path's batched predictions equal those of its per-C estimators."""
    X, y = _digits()
    path = logistic_regression_path(X[:400], y[:400], CS)
    X_test = X[400:]
    Z = path.decision_function(X_test)
    P = path.predict_proba(X_test)
    labels = path.predict(X_test)
    assert Z.shape == (4, 100, 10) and P.shape == (4, 100, 10)
    for i, est in enumerate(path_estimators(path)):
        assert est.C == path.Cs[i]
        np.testing.assert_allclose(Z[i], est.decision_function(X_test), rtol=1e-12)
        np.testing.assert_allclose(P[i], est.predict_proba(X_test), rtol=1e-12)
        np.testing.assert_array_equal(labels[i], est.predict(X_test))


def test_binary_path_predictions() -> None:
    """Test that a two-class path predicts with the sigmoid of one score per C."""
    X, y = _digits()
    keep = y < 2
    path = logistic_regression_path(X[keep], y[keep], [0.1, 1.0])
    assert path.coefs.shape == (2, 1, X.shape[1])
    P = path.predict_proba(X[keep])
    assert P.shape == (2, keep.sum(), 2)
    second = path_estimators(path)[1]
    np.testing.assert_array_equal(path.predict(X[keep])[1], second.predict(X[keep]))


def test_bad_Cs_are_rejected() -> None:
    """Test that a C <= 0 or an empty list of C raises a ValueError."""
    X, y = _digits()
    with pytest.raises(ValueError, match="Every C must be a float > 0"):
        logistic_regression_path(X, y, [0.1, -1.0])
    with pytest.raises(ValueError, match="Every C must be a float > 0"):
        logistic_regression_path(X, y, [])


def test_default_tolerance_path_is_as_good_as_cold_fits() -> None:
    """Test that every warm-started point iterates and ends as close as a cold fit."""
    X, y = _digits()
    Cs = np.logspace(-2, 1, 4)
    path = logistic_regression_path(X, y, Cs)
    assert np.all(path.n_iter > 0)
    for i, C in enumerate(Cs):
        optimum = LogisticRegression(C=C, tol=1e-7).fit(X, y).objective_
        cold = LogisticRegression(C=C).fit(X, y).objective_
        assert path.objectives[i] - optimum <= max(2 * (cold - optimum), 1e-3 * optimum)
