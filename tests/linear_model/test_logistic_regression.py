"""Tests of LogisticRegression: scikit-learn's model and contract, extreme inputs, errors."""

from __future__ import annotations

import re
import warnings

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.datasets import load_digits, load_iris, make_classification
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression as SkLogisticRegression
from sklearn.model_selection import GridSearchCV, cross_validate
from sklearn.multiclass import OneVsRestClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from mnist_logreg.linear_model import LogisticRegression

TIGHT = {"tol": 1e-8, "max_iter": 10_000}


def _digits(n: int = 600):
    X, y = load_digits(return_X_y=True)
    return StandardScaler().fit_transform(X[:n]), y[:n]


def _iris():
    X, y = load_iris(return_X_y=True)
    return StandardScaler().fit_transform(X), y


def _binary():
    return make_classification(n_samples=300, n_features=8, n_informative=5, random_state=0)


def _assert_same_model(ours, theirs, X, coef_atol=1e-4) -> None:
    np.testing.assert_allclose(ours.coef_, theirs.coef_, atol=coef_atol, rtol=1e-4)
    np.testing.assert_allclose(ours.intercept_, theirs.intercept_, atol=coef_atol, rtol=1e-4)
    np.testing.assert_allclose(ours.predict_proba(X), theirs.predict_proba(X), atol=1e-5)
    np.testing.assert_array_equal(ours.predict(X), theirs.predict(X))


@pytest.mark.parametrize("data", [_binary, _iris, _digits], ids=["binary", "iris", "digits"])
@pytest.mark.parametrize("C", [0.05, 1.0])
def test_matches_scikit_learn(data, C: float) -> None:
    """Test that coefficients and probabilities match scikit-learn's at a tight tolerance."""
    X, y = data()
    ours = LogisticRegression(C=C, **TIGHT).fit(X, y)
    theirs = SkLogisticRegression(C=C, **TIGHT).fit(X, y)
    assert ours.coef_.shape == theirs.coef_.shape
    _assert_same_model(ours, theirs, X)
    np.testing.assert_allclose(ours.decision_function(X), theirs.decision_function(X), atol=1e-4)
    np.testing.assert_allclose(ours.predict_log_proba(X), theirs.predict_log_proba(X), atol=1e-4)


@pytest.mark.parametrize("data", [_binary, _iris], ids=["binary", "iris"])
def test_sample_weight_matches_scikit_learn(data) -> None:
    """Test that sample weights give scikit-learn's model."""
    X, y = data()
    sw = np.random.default_rng(0).uniform(0.1, 3, size=len(y))
    ours = LogisticRegression(C=0.3, **TIGHT).fit(X, y, sample_weight=sw)
    theirs = SkLogisticRegression(C=0.3, **TIGHT).fit(X, y, sample_weight=sw)
    _assert_same_model(ours, theirs, X)


@pytest.mark.parametrize("class_weight", ["balanced", {0: 0.2, 1: 3.0, 2: 1.5}])
def test_class_weight_matches_scikit_learn(class_weight) -> None:
    """Test that class_weight ("balanced" or a dict) gives scikit-learn's model."""
    X, y = _iris()
    keep = np.r_[0:50, 50:70, 100:150]  # unbalanced classes
    X, y = X[keep], y[keep]
    ours = LogisticRegression(C=0.5, class_weight=class_weight, **TIGHT).fit(X, y)
    theirs = SkLogisticRegression(C=0.5, class_weight=class_weight, **TIGHT).fit(X, y)
    _assert_same_model(ours, theirs, X)


def test_integer_sample_weight_equals_repeated_rows() -> None:
    """Test that a sample weight of 2 is the same as repeating the row."""
    X, y = _binary()
    sw = np.ones(len(y))
    sw[:50] = 2
    weighted = LogisticRegression(**TIGHT).fit(X, y, sample_weight=sw)
    repeated = LogisticRegression(**TIGHT).fit(np.vstack([X, X[:50]]), np.r_[y, y[:50]])
    np.testing.assert_allclose(weighted.coef_, repeated.coef_, atol=1e-6)


def test_float32_agrees_with_float64() -> None:
    """Test that float32 input is computed in float32 and reaches the float64 model."""
    X, y = _digits()
    m64 = LogisticRegression(C=0.5, tol=1e-5).fit(X, y)
    m32 = LogisticRegression(C=0.5, tol=1e-5).fit(X.astype(np.float32), y)
    assert m32.objective_ == pytest.approx(m64.objective_, rel=1e-5)
    np.testing.assert_allclose(m32.coef_, m64.coef_, atol=2e-3)
    assert np.mean(m32.predict(X) == m64.predict(X)) > 0.995


def test_binary_model_is_the_sigmoid_of_one_score() -> None:
    """Test that two classes give one coefficient row and P(classes_[1]) = sigma(score)."""
    X, y = _binary()
    labels = np.array(["no", "yes"])[y]
    model = LogisticRegression().fit(X, labels)
    assert model.coef_.shape == (1, X.shape[1]) and model.intercept_.shape == (1,)
    score = model.decision_function(X)
    np.testing.assert_allclose(model.predict_proba(X)[:, 1], 1 / (1 + np.exp(-score)), rtol=1e-12)
    np.testing.assert_array_equal(model.predict(X), np.where(score > 0, "yes", "no"))


def test_huge_feature_values_stay_finite() -> None:
    """Test that features of order 1e6 (unscaled) give finite coefficients and probabilities."""
    X, y = _binary()
    X = X * 1e6
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model = LogisticRegression(max_iter=50).fit(X, y)
    proba = model.predict_proba(X)
    assert np.all(np.isfinite(model.coef_)) and np.all(np.isfinite(proba))
    assert model.score(X, y) > 0.8


def test_constant_columns_get_zero_coefficients() -> None:
    """Test that constant (all-zero) columns, like MNIST's border pixels, get coefficient 0."""
    X, y = _iris()
    X = np.hstack([np.zeros((len(y), 2)), X])
    model = LogisticRegression(C=1.0, tol=1e-8).fit(X, y)
    np.testing.assert_allclose(model.coef_[:, :2], 0, atol=1e-12)
    assert model.score(X, y) > 0.9


def test_one_class_is_a_clear_error() -> None:
    """Test that training data of one class raises a ValueError naming the class."""
    X, _ = _binary()
    with pytest.raises(ValueError, match=r"at least 2 classes.*only one class: (np.int64\()?3"):
        LogisticRegression().fit(X, np.full(len(X), 3))


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_nan_or_inf_in_X_is_a_clear_error(bad: float) -> None:
    """Test that NaN or infinity in X raises scikit-learn's ValueError."""
    X, y = _binary()
    X[3, 2] = bad
    with pytest.raises(ValueError, match=r"Input X contains (NaN|infinity)"):
        LogisticRegression().fit(X, y)


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"C": -1}, "The 'C' parameter of LogisticRegression must be a float > 0. "
                    "Got -1 instead."),
        ({"C": "1"}, "The 'C' parameter of LogisticRegression must be a float > 0. "
                     "Got '1' instead."),
        ({"max_iter": -3}, "The 'max_iter' parameter of LogisticRegression must be an int in "
                           "the range [0, inf). Got -3 instead."),
        ({"solver": "sgd"}, "The 'solver' parameter of LogisticRegression must be a str among"),
    ],
)
def test_bad_parameters_are_named(params: dict, message: str) -> None:
    """Test that invalid parameters raise scikit-learn's InvalidParameterError message."""
    X, y = _binary()
    with pytest.raises(ValueError, match=re.escape(message)):
        LogisticRegression(**params).fit(X, y)


def test_convergence_warning_names_iterations_and_remedies() -> None:
    """Test that stopping at max_iter warns with the iteration count and what to change."""
    X, y = _digits()
    with pytest.warns(ConvergenceWarning, match=r"after 3 iterations.*Increase max_iter \(now 3\), "
                      r"loosen tol, or standardize the features"):
        model = LogisticRegression(max_iter=3).fit(X, y)
    assert model.n_iter_[0] == 3


def test_warm_start_continues_from_the_previous_fit() -> None:
    """Test that warm_start reuses coef_ and converges faster to the same model."""
    X, y = _digits()
    cold = LogisticRegression(C=1.0, tol=1e-6).fit(X, y)
    warm = LogisticRegression(C=0.5, tol=1e-6, warm_start=True).fit(X, y)
    warm.set_params(C=1.0).fit(X, y)
    assert warm.n_iter_[0] < cold.n_iter_[0]
    assert warm.objective_ == pytest.approx(cold.objective_, rel=1e-6)


def test_works_in_pipeline_grid_search_and_cross_validate() -> None:
    """Test that the estimator works in Pipeline, clone, GridSearchCV and cross_validate."""
    X, y = load_digits(return_X_y=True)
    X, y = X[:400], y[:400]
    pipe = make_pipeline(StandardScaler(), LogisticRegression())
    grid = [0.01, 1.0]
    search = GridSearchCV(pipe, {"logisticregression__C": grid}, cv=3).fit(X, y)
    means = [
        cross_validate(clone(pipe).set_params(logisticregression__C=C), X, y, cv=3)[
            "test_score"
        ].mean()
        for C in grid
    ]
    assert means[0] != means[1]  # C reaches the estimator: the grid's scores differ
    np.testing.assert_allclose(search.cv_results_["mean_test_score"], means, rtol=0, atol=1e-12)
    assert search.best_params_["logisticregression__C"] == grid[int(np.argmax(means))]
    scores = cross_validate(clone(pipe), X, y, cv=3)["test_score"]
    assert np.all(scores > 0.85)


def test_works_inside_one_vs_rest_classifier() -> None:
    """Test that sklearn's OneVsRestClassifier around our model equals it around sklearn's."""
    X, y = _iris()
    ours = OneVsRestClassifier(LogisticRegression(**TIGHT)).fit(X, y)
    theirs = OneVsRestClassifier(SkLogisticRegression(**TIGHT)).fit(X, y)
    np.testing.assert_allclose(ours.predict_proba(X), theirs.predict_proba(X), atol=1e-5)


def test_float32_switches_to_float64_for_tight_tolerances() -> None:
    """Test that a tolerance beyond float32's reach still converges, to the float64 optimum."""
    X, y = _digits()
    m64 = LogisticRegression(C=0.5, tol=1e-7).fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        m32 = LogisticRegression(C=0.5, tol=1e-7).fit(X.astype(np.float32), y)
    # (X rounded to float32 is a slightly different problem: agreement to ~1e-8, not 1e-16)
    assert m32.objective_ == pytest.approx(m64.objective_, rel=1e-7)
