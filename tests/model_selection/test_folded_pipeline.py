"""Tests of the study's lr model fitted on raw pixels with the standardization folded in."""

from __future__ import annotations

import numpy as np
import pytest

from mnist_logreg.datasets import load_dataset
from mnist_logreg.model_selection import _pipeline
from mnist_logreg.preprocessing import make_preprocessor


@pytest.fixture(scope="module")
def mnist_rows():
    data = load_dataset("mnist")
    return np.asarray(data.X_train[:1500]), np.asarray(data.y_train[:1500]), data.X_test[:300]


@pytest.mark.parametrize("strategy", ["multinomial", "ovr"])
def test_fit_model_equals_the_scaler_pipeline(mnist_rows, strategy: str) -> None:
    """Test that the folded fit, returned as a pipeline, equals the scale->standardize->LR fit."""
    X, y, X_test = mnist_rows
    options = {"tol": 1e-8, "max_iter": 5000}
    folded = _pipeline.fit_model(X, y, 0.1, pixel_max=255.0, strategy=strategy, **options)
    explicit = _pipeline.build_model(0.1, pixel_max=255.0, strategy=strategy, **options)
    explicit.fit(X, y)
    assert [name for name, _ in folded.steps] == [name for name, _ in explicit.steps]
    np.testing.assert_allclose(folded[1].mean_, explicit[1].mean_, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(folded[1].scale_, explicit[1].scale_, rtol=1e-6)
    assert folded[-1].objective_ == pytest.approx(explicit[-1].objective_, rel=1e-6)
    np.testing.assert_allclose(folded[-1].coef_, explicit[-1].coef_, atol=1e-3)
    np.testing.assert_allclose(folded.predict_proba(X_test), explicit.predict_proba(X_test),
                               atol=1e-3)
    assert np.mean(folded.predict(X_test) == explicit.predict(X_test)) >= 0.99


def test_folded_path_scores_raw_rows_like_the_standardized_path(mnist_rows) -> None:
    """Test that the folded path predicts raw rows as the path on standardized rows does."""
    X, y, X_test = mnist_rows
    Cs = [0.01, 0.1]
    folded = _pipeline.fit_path(X, y, Cs, tol=1e-8, max_iter=5000)
    preprocessor = make_preprocessor(255.0)
    Z, Z_test = preprocessor.fit_transform(X), preprocessor.transform(X_test)
    explicit = _pipeline.fit_path(Z, y, Cs, standardize=False, tol=1e-8,
                                 max_iter=5000)
    for ours, theirs in zip(folded, explicit, strict=True):
        np.testing.assert_allclose(ours.predict_proba(X_test), theirs.predict_proba(Z_test),
                                   atol=1e-3)
