"""Tests of the batched one-vs-rest model against scikit-learn's OneVsRestClassifier."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.datasets import load_digits, load_iris
from sklearn.linear_model import LogisticRegression as SkLogisticRegression
from sklearn.multiclass import OneVsRestClassifier
from sklearn.preprocessing import StandardScaler

from mnist_logreg.linear_model import LogisticRegression, OneVsRestLogisticRegression

TIGHT = {"tol": 1e-8, "max_iter": 10_000}


def _data(name: str):
    loader = load_iris if name == "iris" else load_digits
    X, y = loader(return_X_y=True)
    X, y = X[:300], y[:300]
    return StandardScaler().fit_transform(X), y


@pytest.mark.parametrize(
    ("name", "class_weight"), [("iris", None), ("iris", "balanced"), ("digits", None)]
)
def test_matches_one_vs_rest_classifier(name: str, class_weight) -> None:
    """Test that the K batched binary models equal OneVsRestClassifier(LogisticRegression)."""
    X, y = _data(name)
    if name == "iris":
        keep = np.r_[0:50, 50:65, 100:150]
        X, y = X[keep], y[keep]
    ours = OneVsRestLogisticRegression(C=0.5, class_weight=class_weight, **TIGHT).fit(X, y)
    theirs = OneVsRestClassifier(
        SkLogisticRegression(C=0.5, class_weight=class_weight, **TIGHT)
    ).fit(X, y)
    coef = np.vstack([e.coef_ for e in theirs.estimators_])
    intercept = np.concatenate([e.intercept_ for e in theirs.estimators_])
    np.testing.assert_allclose(ours.coef_, coef, atol=1e-4, rtol=1e-4)
    np.testing.assert_allclose(ours.intercept_, intercept, atol=1e-4, rtol=1e-4)
    np.testing.assert_allclose(ours.predict_proba(X), theirs.predict_proba(X), atol=1e-5)
    np.testing.assert_array_equal(ours.predict(X), theirs.predict(X))


def test_two_classes_is_the_binary_model() -> None:
    """Test that with two classes one-vs-rest is the binary sigmoid model."""
    X, y = _data("digits")
    keep = y < 2
    ovr = OneVsRestLogisticRegression(**TIGHT).fit(X[keep], y[keep])
    binary = LogisticRegression(**TIGHT).fit(X[keep], y[keep])
    assert ovr.coef_.shape == (1, X.shape[1])
    np.testing.assert_allclose(ovr.coef_, binary.coef_, atol=1e-8)


def test_probabilities_are_normalized_sigmoids() -> None:
    """Test that predict_proba is the K sigmoid outputs divided by their sum."""
    X, y = _data("iris")
    model = OneVsRestLogisticRegression().fit(X, y)
    sig = 1 / (1 + np.exp(-model.decision_function(X)))
    np.testing.assert_allclose(model.predict_proba(X), sig / sig.sum(axis=1, keepdims=True))
    np.testing.assert_allclose(np.exp(model.predict_log_proba(X)), model.predict_proba(X))
