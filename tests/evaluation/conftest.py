"""Shared fixtures of the evaluation tests: small seeded probabilistic predictions."""

from __future__ import annotations

from dataclasses import dataclass

import matplotlib
import numpy as np
import pytest

matplotlib.use("Agg")


@dataclass(frozen=True)
class Predictions:
    """Labels, probabilities and classes of a synthetic classifier."""

    y_true: np.ndarray
    proba: np.ndarray
    classes: np.ndarray

    @property
    def y_pred(self) -> np.ndarray:
        """Top-label predictions."""
        return self.classes[self.proba.argmax(axis=1)]


def make_predictions(
    n_samples: int, n_classes: int, *, seed: int = 0, signal: float = 1.5, classes=None
) -> Predictions:
    """Softmax of noisy scores with a boost on the true class: imperfect, probabilistic."""
    rng = np.random.default_rng(seed)
    classes = np.arange(n_classes) if classes is None else np.asarray(classes)
    y_index = rng.integers(0, n_classes, n_samples)
    scores = rng.normal(size=(n_samples, n_classes))
    scores[np.arange(n_samples), y_index] += signal
    proba = np.exp(scores - scores.max(axis=1, keepdims=True))
    proba /= proba.sum(axis=1, keepdims=True)
    return Predictions(classes[y_index], proba, classes)


@pytest.fixture(scope="session")
def predictions() -> Predictions:
    """300 samples, 4 integer classes."""
    return make_predictions(300, 4, seed=0)
