"""Tests of the comparison's scoring: SVM decision scores, classes missing from a fit."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from mnist_logreg.datasets import load_dataset
from mnist_logreg.model_selection import (
    FINAL,
    CompareConfig,
    ModelBudget,
    _protocol,
    get_model,
    run_nested_cv,
)
from mnist_logreg.model_selection._compare_models import predict_scores
from mnist_logreg.study import score_metrics

MISSING = 3  # a class in the middle, so that a wrong column order shows


@pytest.fixture(scope="module")
def digits():
    return load_dataset("digits")


def _softmax(scores: np.ndarray) -> np.ndarray:
    e = np.exp(scores - scores.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def test_svm_scores_are_its_decision_function(digits) -> None:
    """Test that the SVM's comparison scores are its decision function, whose argmax is predict."""
    spec = get_model("svm")
    assert spec.gives_proba is False
    model = spec.build({"kernel": "rbf", "C": 10.0}, 16.0, 0, len(digits.y_train))
    model.fit(digits.X_train, digits.y_train)
    scores = predict_scores(spec, model, digits.X_test)
    np.testing.assert_array_equal(scores, model.decision_function(digits.X_test))
    assert scores.dtype == np.float64 and scores.shape == (450, 10)
    # decision scores, not probabilities: no row sums to one
    assert not np.any(np.isclose(scores.sum(axis=1), 1.0))
    np.testing.assert_array_equal(
        model.classes_[scores.argmax(axis=1)], model.predict(digits.X_test)
    )


def test_binary_svm_scores_are_two_opposite_columns(digits) -> None:
    """Test that a two-class SVM's one decision column becomes [-d, d] (column 1 = classes_[1])."""
    keep = np.isin(digits.y_train, [4, 9])
    test_keep = np.isin(digits.y_test, [4, 9])
    spec = get_model("svm")
    model = spec.build({"kernel": "poly", "C": 1.0}, 16.0, 0, int(keep.sum()))
    model.fit(digits.X_train[keep], digits.y_train[keep])
    X_eval = digits.X_test[test_keep]
    d = model.decision_function(X_eval)
    scores = predict_scores(spec, model, X_eval)
    assert scores.shape == (int(test_keep.sum()), 2)
    np.testing.assert_array_equal(scores[:, 1], d)
    np.testing.assert_array_equal(scores[:, 0], -d)
    np.testing.assert_array_equal(model.classes_[scores.argmax(axis=1)], model.predict(X_eval))


def test_decision_scores_give_rank_aucs_and_no_probability_metrics() -> None:
    """Test that decision scores get per-class AUCs of the raw scores and no log-loss/Brier/ECE."""
    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, 200)
    scores = rng.normal(size=(200, 3)) * np.array([1.0, 4.0, 0.3])  # unequal column scales
    scores[np.arange(200), y] += 1.0
    classes = np.arange(3)
    block = score_metrics(y, scores, classes, scores_are_proba=False, n_bootstrap=0,
                          random_state=0)
    raw = [roc_auc_score(y == k, scores[:, k]) for k in classes]
    of_softmax = [roc_auc_score(y == k, _softmax(scores)[:, k]) for k in classes]
    # the data are such that the two ways of scoring disagree: the test can tell them apart
    assert max(abs(a - b) for a, b in zip(raw, of_softmax, strict=True)) > 0.01
    assert [block["per_class"][str(k)]["roc_auc"] for k in classes] == pytest.approx(raw)
    assert block["roc_auc_ovr"] == {"value": pytest.approx(np.mean(raw)), "ci95": None}
    assert block["accuracy"]["value"] == pytest.approx(np.mean(scores.argmax(axis=1) == y))
    for name in ("log_loss", "brier", "ece"):
        assert block[name] == {"value": None, "ci95": None}
    assert block["scores"] == "decision_function"
    with_intervals = score_metrics(y, scores, classes, scores_are_proba=False, n_bootstrap=200,
                                   random_state=1)
    lo, hi = with_intervals["roc_auc_ovr"]["ci95"]
    assert lo < np.mean(raw) < hi and hi - lo < 0.2


def test_a_class_missing_from_a_fit_gets_an_empty_column(digits, monkeypatch) -> None:
    """Test that a class absent from a refit's rows gets probability 0, or the lowest score."""
    returned: dict[str, dict[str, Any]] = {}
    original = _protocol.fit_and_predict

    def fit_without_class(name, params, X_train, y_train, X_eval, *args: Any,
                          **kwargs: Any) -> dict[str, Any]:
        keep = y_train != MISSING
        result = original(name, params, X_train[keep], y_train[keep], X_eval, *args, **kwargs)
        returned[name] = result
        return result

    monkeypatch.setattr(_protocol, "fit_and_predict", fit_without_class)
    budget = ModelBudget(search_rows=300, inner=2, n_candidates=2)
    budgets = {"lr": budget, "svm": budget}
    config = CompareConfig(models=("lr", "svm"), outer=3, random_state=3, budgets=budgets)
    only_final = {(m, k) for m in config.models for k in range(1, config.outer + 1)}
    outcomes = run_nested_cv(digits.X_train, digits.y_train, digits.X_test, config,
                             pixel_max=16, skip=only_final)
    assert [(o.model, o.fold) for o in outcomes] == [("lr", FINAL), ("svm", FINAL)]
    present = np.flatnonzero(np.arange(10) != MISSING)
    for outcome in outcomes:
        fitted = returned[outcome.model]
        np.testing.assert_array_equal(fitted["classes"], present)
        np.testing.assert_array_equal(outcome.classes, np.arange(10))
        assert outcome.scores.shape == (450, 10)
        # the fitted columns land under their own classes, unchanged
        np.testing.assert_array_equal(outcome.scores[:, present], fitted["scores"])
        column = outcome.scores[:, MISSING]
        if outcome.scores_are_proba:
            np.testing.assert_array_equal(column, 0.0)
            np.testing.assert_allclose(outcome.scores.sum(axis=1), 1.0, rtol=0, atol=1e-12)
        else:
            np.testing.assert_array_equal(column, fitted["scores"].min() - 1.0)
            assert np.all(column < outcome.scores[:, present].min(axis=1))
        assert MISSING not in outcome.predictions
