"""Tests pinning what LogisticRegression takes from scikit-learn's private helpers.

``decision_function``, ``predict`` and ``score`` come from ``sklearn.linear_model._base.
LinearClassifierMixin`` and sample weights are checked by ``sklearn.utils.validation.
_check_sample_weight`` (see tests/test_private_imports.py). These tests state the behaviour
itself, so that an upgrade of scikit-learn that changes it, or a replacement by our own code,
is caught.
"""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.datasets import load_digits

from mnist_logreg.linear_model import LogisticRegression


@pytest.fixture(scope="module")
def digits() -> tuple[np.ndarray, np.ndarray]:
    X, y = load_digits(return_X_y=True)
    return X[:300] / 16.0, y[:300]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_decision_function_predict_and_score_of_several_classes(digits, dtype) -> None:
    """Test decision_function = X W^T + b (n, K), predict = its argmax, score = accuracy."""
    X, y = digits
    X = X.astype(dtype)
    model = LogisticRegression(C=0.5).fit(X, y)
    raw = model.decision_function(X)
    assert raw.shape == (300, 10)
    np.testing.assert_allclose(raw, X.astype(np.float64) @ model.coef_.T + model.intercept_,
                               rtol=1e-5, atol=1e-5)
    predicted = model.predict(X)
    np.testing.assert_array_equal(predicted, model.classes_[np.argmax(raw, axis=1)])
    assert model.score(X, y) == pytest.approx(np.mean(predicted == y))


def test_decision_function_and_predict_of_two_classes(digits) -> None:
    """Test that a binary model gives one raveled decision column, positive for classes_[1]."""
    X, y = digits
    keep = np.isin(y, [3, 8])
    labels = np.where(y[keep] == 3, "three", "eight")
    model = LogisticRegression(C=0.5).fit(X[keep], labels)
    raw = model.decision_function(X[keep])
    assert raw.shape == (int(keep.sum()),)
    np.testing.assert_allclose(raw, X[keep] @ model.coef_[0] + model.intercept_[0], rtol=1e-10,
                               atol=1e-10)
    np.testing.assert_array_equal(model.predict(X[keep]), model.classes_[(raw > 0).astype(int)])


def test_sample_weight_scalar_list_and_wrong_length(digits) -> None:
    """Test that a scalar or list sample_weight acts as the array; a wrong length is refused."""
    X, y = digits
    n = len(y)
    full = LogisticRegression(C=0.5).fit(X, y, sample_weight=np.full(n, 2.0))
    scalar = LogisticRegression(C=0.5).fit(X, y, sample_weight=2.0)
    listed = LogisticRegression(C=0.5).fit(X, y, sample_weight=[2.0] * n)
    np.testing.assert_array_equal(scalar.coef_, full.coef_)
    np.testing.assert_array_equal(listed.coef_, full.coef_)
    with pytest.raises(ValueError, match=r"sample_weight"):
        LogisticRegression().fit(X, y, sample_weight=np.ones(n - 1))
