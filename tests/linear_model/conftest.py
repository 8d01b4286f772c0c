"""Shared fixtures of the linear-model tests."""

from __future__ import annotations

import numpy as np
from sklearn.datasets import load_digits
from sklearn.preprocessing import StandardScaler

from mnist_logreg.linear_model._linear_loss import LinearModelLoss
from mnist_logreg.linear_model._loss import MultinomialCrossEntropy


def digits_objective(C: float = 1.0, n: int = 500) -> LinearModelLoss:
    """The multinomial objective on the first ``n`` standardized 8x8 digits."""
    X, y = load_digits(return_X_y=True)
    X = StandardScaler().fit_transform(X[:n])
    return LinearModelLoss(MultinomialCrossEntropy, X, np.eye(10)[y[:n]], C=C)
