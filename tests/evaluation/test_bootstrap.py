"""Tests of the bootstrap confidence intervals and the ``"test"`` block."""

from __future__ import annotations

import json

import numpy as np
import pytest

from mnist_logreg.evaluation import (
    HEADLINE_METRICS,
    bootstrap_metrics,
    classification_metrics,
    evaluate_predictions,
)
from mnist_logreg.evaluation._bootstrap import _WeightedStatistics

from .conftest import make_predictions


def test_weighted_statistics_equal_metrics_of_repeated_rows() -> None:
    """Test that count weights give the metrics of the rows repeated that often (ties included)."""
    p = make_predictions(120, 3, seed=5)
    proba = np.round(p.proba, 2)  # ties in the scores exercise the AUC's tie handling
    proba /= proba.sum(axis=1, keepdims=True)
    counts = np.random.default_rng(1).integers(0, 4, size=(3, p.y_true.size))
    got = _WeightedStatistics(p.y_true, proba, n_bins=15)(counts.astype(float))
    for b, row_counts in enumerate(counts):
        rows = np.repeat(np.arange(p.y_true.size), row_counts)
        y = p.y_true[rows]
        expected = classification_metrics(y, p.classes[proba[rows].argmax(axis=1)], proba[rows],
                                          p.classes)
        for name in HEADLINE_METRICS:
            assert got[name][b] == pytest.approx(expected[name], abs=1e-12), name


def test_intervals_contain_the_point_estimates(predictions) -> None:
    """Test that each 95% interval contains the metric's value (ECE aside: it is biased)."""
    test = evaluate_predictions(predictions.y_true, predictions.proba, predictions.classes,
                                n_bootstrap=300, random_state=0)
    for name in HEADLINE_METRICS:
        lo, hi = test[name]["ci95"]
        assert lo <= hi, name
        if name != "ece":  # resampling inflates the ECE, so its interval can sit above the value
            assert lo <= test[name]["value"] <= hi, name


def test_same_seed_same_intervals_other_seed_other_intervals(predictions) -> None:
    """Test that the intervals are a deterministic function of the seed."""
    args = (predictions.y_true, predictions.proba, predictions.classes)
    first = evaluate_predictions(*args, n_bootstrap=100, random_state=7)
    assert evaluate_predictions(*args, n_bootstrap=100, random_state=7) == first
    assert evaluate_predictions(*args, n_bootstrap=100, random_state=8) != first


def test_intervals_narrow_with_more_data() -> None:
    """Test that ten times the rows gives clearly narrower intervals (about 1/sqrt(10))."""
    def width(n: int) -> float:
        p = make_predictions(n, 3, seed=2)
        values = bootstrap_metrics(p.y_true, p.proba, p.classes, n_resamples=200, random_state=0)
        lo, hi = np.percentile(values["accuracy"], [2.5, 97.5])
        return hi - lo

    assert width(2000) < 0.6 * width(200)


def test_test_block_shape_and_no_bootstrap(predictions) -> None:
    """Test the keys of the "test" block, that it is JSON-ready, and n_bootstrap=0 gives no CI."""
    test = evaluate_predictions(predictions.y_true, predictions.proba, predictions.classes,
                                n_bootstrap=0)
    for name in ("accuracy", "precision_weighted", "recall_weighted", "f1_weighted", "f1_macro",
                 "roc_auc_ovr", "log_loss", "brier", "ece"):
        assert set(test[name]) == {"value", "ci95"}
        assert test[name]["ci95"] is None
    assert {"confusion_matrix", "per_class", "classification_report"} <= set(test)
    assert test["bootstrap"]["n_resamples"] == 0
    json.dumps(test, allow_nan=False)
