"""scikit-learn's estimator checks on the package's classifiers."""

from __future__ import annotations

import pytest
from sklearn.utils.estimator_checks import (
    check_class_weight_balanced_linear_classifier,
    parametrize_with_checks,
)

from mnist_logreg.linear_model import LogisticRegression, OneVsRestLogisticRegression


@parametrize_with_checks([LogisticRegression(), OneVsRestLogisticRegression()])
def test_sklearn_compatible(estimator, check) -> None:
    """Test that the estimator passes scikit-learn's estimator check."""
    check(estimator)


@pytest.mark.parametrize("estimator", [LogisticRegression(), OneVsRestLogisticRegression()])
def test_class_weight_balanced_as_a_linear_classifier(estimator) -> None:
    """Test scikit-learn's balanced-class-weight check, which it yields only for its own mixin."""
    check_class_weight_balanced_linear_classifier(type(estimator).__name__, estimator)
