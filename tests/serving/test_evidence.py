"""Tests of the evidence map (each pixel's share of the margin) and of the model card."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression as SklearnLogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.tree import DecisionTreeClassifier

from mnist_logreg.datasets import load_dataset
from mnist_logreg.linear_model import LogisticRegression
from mnist_logreg.model_selection import build_model
from mnist_logreg.serving._card import model_card
from mnist_logreg.serving._evidence import explain_prediction


@pytest.fixture(scope="module")
def mnist():
    """The bundled MNIST data set."""
    return load_dataset("mnist")


def _fitted(kind: str, mnist) -> Any:
    X, y = mnist.X_train[:600], mnist.y_train[:600]
    if kind == "binary":
        keep = np.isin(y, [3, 8])
        X, y = X[keep], y[keep]
    if kind in ("multinomial", "binary"):
        return build_model(0.05, pixel_max=255.0).fit(X, y)
    if kind == "ovr":
        return build_model(0.05, pixel_max=255.0, strategy="ovr").fit(X, y)
    if kind == "sklearn-binary":
        keep = np.isin(y, [3, 8])
        return make_pipeline(StandardScaler(), SklearnLogisticRegression(C=0.05)).fit(
            X[keep].astype(np.float64), y[keep]
        )
    assert kind == "bare"  # no pipeline: the estimator reads the pixels / 255 itself
    return LogisticRegression(C=0.05).fit(X.astype(np.float64) / 255.0, y)


@pytest.mark.parametrize("kind", ["multinomial", "binary", "ovr", "sklearn-binary", "bare"])
def test_contributions_add_up_to_the_models_own_score_difference(kind: str, mnist) -> None:
    """Test that the shares plus b_k - b_j equal the model's decision_function margin k - j."""
    model = _fitted(kind, mnist)
    classes = list(model.classes_)
    for x in mnist.X_test[:5]:
        X = x[None, :].astype(np.float64) / (255.0 if kind == "bare" else 1.0)
        evidence = explain_prediction(model, X)
        assert evidence is not None
        assert evidence.contributions.shape == (784,)
        total = evidence.contributions.sum() + evidence.intercept_difference
        assert total == pytest.approx(evidence.score_difference, rel=1e-12, abs=1e-12)
        raw = np.atleast_1d(model.decision_function(X)[0])
        if raw.shape == (1,):  # binary: the score of classes_[1] against classes_[0]
            raw = np.array([0.0, raw[0]])
        k, j = evidence.predicted, evidence.runner_up
        assert classes[k] == model.predict(X)[0]
        assert k != j and raw[j] == max(np.delete(raw, k))
        assert evidence.score_difference == pytest.approx(raw[k] - raw[j], rel=1e-5, abs=1e-5)
        assert evidence.score_difference >= 0


def test_contributions_are_weight_differences_times_standardized_pixels(mnist) -> None:
    """Test the shares pixel by pixel against (w_k - w_j) * (x / 255 - mean) / scale."""
    model = _fitted("multinomial", mnist)
    x = mnist.X_test[0].astype(np.float64)
    evidence = explain_prediction(model, x[None, :])
    assert evidence is not None
    scaler, classifier = model.named_steps["standardize"], model.named_steps["classifier"]
    z = (x / 255.0 - scaler.mean_) / scaler.scale_
    W = classifier.coef_
    expected = (W[evidence.predicted] - W[evidence.runner_up]) * z
    np.testing.assert_allclose(evidence.contributions, expected, rtol=1e-5, atol=1e-6)
    # a pixel without ink still counts where its training mean is not zero
    blank = x == 0
    assert np.any(evidence.contributions[blank & (scaler.mean_ > 0)] != 0)


def test_a_chosen_class_is_explained_against_the_best_other(mnist) -> None:
    """Test predicted=: that class is k, and j is the highest score of the others."""
    model = _fitted("multinomial", mnist)
    X = mnist.X_test[:1].astype(np.float64)
    raw = model.decision_function(X)[0]
    weakest = int(np.argmin(raw))
    evidence = explain_prediction(model, X, predicted=weakest)
    assert evidence is not None and evidence.predicted == weakest
    assert evidence.runner_up == int(np.argmax(raw))
    assert evidence.score_difference == pytest.approx(raw[weakest] - raw.max(), rel=1e-5)
    assert evidence.score_difference < 0


def test_a_model_without_coefficients_has_no_evidence(mnist) -> None:
    """Test that a decision tree (no coef_) gives None instead of failing."""
    tree = DecisionTreeClassifier(max_depth=3, random_state=0)
    tree.fit(mnist.X_train[:300], mnist.y_train[:300])
    assert explain_prediction(tree, mnist.X_test[:1]) is None


def test_model_card_reads_the_metadata_and_says_what_it_does_not_know(mnist) -> None:
    """Test the card: fields from extra, None when absent or malformed, C from the model."""
    model = _fitted("multinomial", mnist)
    metadata = {
        "created_utc": "2026-12-03T09:00:00+00:00",
        "package_version": "0.1.0",
        "extra": {
            "dataset": "fashion-mnist",
            "C": 0.59,
            "test_accuracy": 0.9243,
            "strategy": "multinomial",
        },
    }
    card = model_card(model, metadata)
    assert card == {
        "dataset": "fashion-mnist",
        "C": 0.59,
        "test_accuracy": 0.9243,
        "test_accuracy_ci95": None,
        "strategy": "multinomial",
        "classifier": "LogisticRegression",
        "n_classes": 10,
        "created_utc": "2026-12-03T09:00:00+00:00",
        "package_version": "0.1.0",
        "from_run_metrics": False,
    }
    # a run's metrics.json fills only what the file lacks (its interval goes with its accuracy)
    run = {
        "dataset": {"name": "mnist"},
        "final": {"best_params": {"C": 0.05}},
        "test": {"accuracy": {"value": 0.9, "ci95": [0.89, 0.91]}},
    }
    assert model_card(model, metadata, run_metrics=run) == card
    partial = model_card(model, {"extra": {"dataset": "mine"}}, run_metrics=run)
    assert partial["dataset"] == "mine" and partial["test_accuracy"] == 0.9
    assert partial["test_accuracy_ci95"] == [0.89, 0.91] and partial["from_run_metrics"]
    bare = model_card(model, None)
    assert bare["dataset"] is None and bare["test_accuracy"] is None
    assert bare["C"] == 0.05  # the classifier's own parameter
    odd = model_card(
        model,
        {
            "extra": {"dataset": 5, "C": "big", "test_accuracy": 1.5, "strategy": ["x"]},
            "created_utc": None,
        },
    )
    assert odd["dataset"] is None and odd["C"] == 0.05 and odd["test_accuracy"] is None
    assert odd["strategy"] is None and odd["created_utc"] is None
    long = model_card(model, {"extra": {"dataset": "d" * 500}})
    assert len(long["dataset"]) == 120 and long["dataset"].endswith("\u2026")
