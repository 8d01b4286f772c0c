"""Tests of the metrics: scikit-learn agreement, hand-computed ECE and Brier score."""

from __future__ import annotations

import json

import numpy as np
import pytest
from sklearn import metrics as skm

from mnist_logreg.evaluation import (
    calibration_bins,
    classification_metrics,
    encode_labels,
    expected_calibration_error,
    multiclass_brier_score,
)
from mnist_logreg.evaluation._metrics import confidence_bins

from .conftest import make_predictions


@pytest.mark.parametrize(
    "classes",
    [None, np.array(["cat", "ant", "dog", "bee"])],
    ids=["int-labels", "unsorted-string-labels"],
)
def test_classification_metrics_match_sklearn(classes) -> None:
    """Test that every metric equals scikit-learn's on a random probabilistic fixture."""
    p = make_predictions(250, 4, seed=3, classes=classes)
    got = classification_metrics(p.y_true, p.y_pred, p.proba, p.classes)

    # scikit-learn wants sorted labels and matching probability columns
    order = np.argsort(p.classes)
    labels, proba = p.classes[order], p.proba[:, order]
    assert got["accuracy"] == pytest.approx(skm.accuracy_score(p.y_true, p.y_pred))
    for average in ("weighted", "macro"):
        precision, recall, f1, _ = skm.precision_recall_fscore_support(
            p.y_true, p.y_pred, labels=labels, average=average, zero_division=0
        )
        assert got[f"precision_{average}"] == pytest.approx(precision)
        assert got[f"recall_{average}"] == pytest.approx(recall)
        assert got[f"f1_{average}"] == pytest.approx(f1)
    assert got["roc_auc_ovr"] == pytest.approx(
        skm.roc_auc_score(p.y_true, proba, multi_class="ovr", labels=labels)
    )
    assert got["log_loss"] == pytest.approx(skm.log_loss(p.y_true, proba, labels=labels))
    assert got["brier"] == pytest.approx(
        skm.brier_score_loss(p.y_true, proba, labels=labels, scale_by_half=False)
    )
    assert got["confusion_matrix"] == skm.confusion_matrix(
        p.y_true, p.y_pred, labels=p.classes
    ).tolist()
    precision, recall, f1, support = skm.precision_recall_fscore_support(
        p.y_true, p.y_pred, labels=p.classes, zero_division=0
    )
    assert list(got["per_class"]) == [str(c) for c in p.classes]
    for k, entry in enumerate(got["per_class"].values()):
        assert entry["precision"] == pytest.approx(precision[k])
        assert entry["recall"] == pytest.approx(recall[k])
        assert entry["f1"] == pytest.approx(f1[k])
        assert entry["support"] == support[k]
        assert entry["roc_auc"] == pytest.approx(
            skm.roc_auc_score(p.y_true == p.classes[k], p.proba[:, k])
        )
    assert "macro avg" in got["classification_report"]
    json.dumps(got, allow_nan=False)  # JSON-ready


def test_binary_metrics_use_the_positive_column() -> None:
    """Test that two classes give the AUC of classes[1] and twice the binary Brier score."""
    p = make_predictions(200, 2, seed=1)
    got = classification_metrics(p.y_true, p.y_pred, p.proba, p.classes)
    assert got["roc_auc_ovr"] == pytest.approx(skm.roc_auc_score(p.y_true, p.proba[:, 1]))
    assert got["brier"] == pytest.approx(2 * skm.brier_score_loss(p.y_true, p.proba[:, 1]))


def test_ece_matches_a_hand_computed_case() -> None:
    """Test that the ECE of four samples in five bins equals the value worked out by hand."""
    proba = np.array([
        [0.90, 0.05, 0.05],  # conf .90, bin 4, right
        [0.10, 0.85, 0.05],  # conf .85, bin 4, wrong
        [0.70, 0.20, 0.10],  # conf .70, bin 3, right
        [0.25, 0.30, 0.45],  # conf .45, bin 2, right
    ])
    y = np.array([0, 0, 0, 2])
    # bin 4: |(1 - .9) + (0 - .85)| = .75; bin 3: |1 - .7| = .3; bin 2: |1 - .45| = .55
    assert expected_calibration_error(y, proba, n_bins=5) == pytest.approx((0.75 + 0.3 + 0.55) / 4)
    table = calibration_bins(y, proba, n_bins=5)
    np.testing.assert_array_equal(table.counts, [0, 0, 1, 1, 2])
    np.testing.assert_allclose(table.accuracy[2:], [1.0, 1.0, 0.5])
    np.testing.assert_allclose(table.mean_confidence[2:], [0.45, 0.7, 0.875])


def test_ece_is_zero_when_confidence_equals_accuracy() -> None:
    """Test that a perfectly calibrated construction has zero ECE."""
    # 10 samples at confidence .8 with 8 right; 5 at confidence .6 with 3 right
    proba = np.array([[0.8, 0.2]] * 10 + [[0.4, 0.6]] * 5)
    y = np.array([0] * 8 + [1] * 2 + [1] * 3 + [0] * 2)
    assert expected_calibration_error(y, proba) == pytest.approx(0.0, abs=1e-12)


def test_confidence_bins_are_right_closed() -> None:
    """Test that a confidence on a bin edge falls in the lower bin, and 0 and 1 in the ends."""
    np.testing.assert_array_equal(confidence_bins(np.array([0.0, 0.2, 0.2001, 1.0]), 5),
                                  [0, 0, 1, 4])


def test_brier_score_by_hand() -> None:
    """Test that the multiclass Brier score is the mean of sum_k (p_k - t_k)^2."""
    proba = np.array([[0.7, 0.2, 0.1], [0.5, 0.5, 0.0]])
    y = np.array([0, 2])
    # (.3^2 + .2^2 + .1^2) = .14 ; (.5^2 + .5^2 + 1^2) = 1.5
    assert multiclass_brier_score(y, proba, [0, 1, 2]) == pytest.approx((0.14 + 1.5) / 2)


def test_missing_class_gives_undefined_auc_not_an_error(predictions) -> None:
    """Test that a class absent from y_true makes the macro AUC None (JSON null)."""
    keep = predictions.y_true != 3
    got = classification_metrics(predictions.y_true[keep], predictions.y_pred[keep],
                                 predictions.proba[keep], predictions.classes)
    assert got["roc_auc_ovr"] is None
    assert got["per_class"]["3"]["roc_auc"] is None
    assert got["per_class"]["3"]["support"] == 0


def test_bad_inputs_raise_clear_errors(predictions) -> None:
    """Test that unknown labels and a wrong proba shape name the problem."""
    with pytest.raises(ValueError, match=r"Labels \[7\] are not among the classes"):
        encode_labels(np.array([0, 7]), [0, 1, 2])
    with pytest.raises(ValueError, match=r"Expected proba of shape .*\(300, 4\).*\(300, 3\)"):
        classification_metrics(predictions.y_true, predictions.y_pred,
                               predictions.proba[:, :3], predictions.classes)
