"""scikit-learn's estimator checks on the package's classifiers."""

from __future__ import annotations

from sklearn.utils.estimator_checks import parametrize_with_checks

from mnist_logreg.linear_model import LogisticRegression, OneVsRestLogisticRegression


@parametrize_with_checks([LogisticRegression(), OneVsRestLogisticRegression()])
def test_sklearn_compatible(estimator, check) -> None:
    """Test that the estimator passes scikit-learn's estimator check."""
    check(estimator)
