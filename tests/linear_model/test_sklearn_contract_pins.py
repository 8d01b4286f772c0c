"""Tests pinning the scikit-learn contract that LogisticRegression now implements itself.

``predict`` (argmax of ``decision_function``), ``score`` (ClassifierMixin's accuracy), the
checks of ``sample_weight`` and of the constructor parameters used to come from private
scikit-learn helpers (``LinearClassifierMixin``, ``_check_sample_weight``,
``sklearn.utils._param_validation``); they are our own short code now (``_logistic``,
``_params``). These tests state the behaviour itself and compare it with scikit-learn's
estimator, so that a difference is caught.
"""

from __future__ import annotations

import re

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


@pytest.mark.parametrize(
    ("sample_weight", "message"),
    [
        (np.zeros(300), "Sample weights must contain at least one non-zero number."),
        (np.ones((300, 1)), "Sample weights must be 1D array or scalar, got 2D array."),
        (np.r_[np.ones(299), np.nan], "Input sample_weight contains NaN."),
    ],
)
def test_bad_sample_weight_messages_equal_scikit_learns(digits, sample_weight, message) -> None:
    """Test that zero, 2-D and NaN sample weights give scikit-learn's own messages."""
    from sklearn.linear_model import LogisticRegression as SklearnLogisticRegression

    X, y = digits
    for estimator in (LogisticRegression(), SklearnLogisticRegression()):
        with pytest.raises(ValueError, match=re.escape(message)):
            estimator.fit(X, y, sample_weight=sample_weight)


@pytest.mark.parametrize(
    ("params", "error"),
    [({"C": True}, "'C' parameter"), ({"tol": -1.0}, "'tol' parameter"),
     ({"fit_intercept": "yes"}, "'fit_intercept' parameter"),
     ({"class_weight": "even"}, "'class_weight' parameter"),
     ({"standardize": 1}, "'standardize' parameter")],
)
def test_invalid_parameters_are_value_and_type_errors(digits, params, error) -> None:
    """Test that an invalid parameter raises an error that is both ValueError and TypeError."""
    X, y = digits
    with pytest.raises(ValueError, match=re.escape(error)) as info:
        LogisticRegression(**params).fit(X, y)
    assert isinstance(info.value, TypeError)


def test_constant_columns_keep_scale_one_as_in_standard_scaler() -> None:
    """Test that the folded standardization finds StandardScaler's constant columns and scales."""
    from sklearn.preprocessing import StandardScaler

    from mnist_logreg.linear_model._standardize import standardization

    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 5))
    X[:, 1] = 0.3  # constant, with rounding in its variance
    X[:, 3] = 1e9 + rng.normal(size=200) * 1e-9  # constant to within float64's bound
    weights = rng.uniform(0.5, 2.0, size=200)
    reference = StandardScaler().fit(X, sample_weight=weights)
    mean, scale, var = standardization(X, weights)
    np.testing.assert_allclose(mean, reference.mean_, rtol=1e-12)
    np.testing.assert_allclose(var, reference.var_, rtol=1e-9, atol=1e-12)
    np.testing.assert_array_equal(scale == 1.0, reference.scale_ == 1.0)
    assert scale[1] == scale[3] == 1.0
    np.testing.assert_allclose(scale, reference.scale_, rtol=1e-9)
