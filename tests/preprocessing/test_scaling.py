"""Tests of PixelScaler and the scale-then-standardize preprocessor."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.base import clone
from sklearn.model_selection import KFold
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

from mnist_logreg.preprocessing import PixelScaler, make_preprocessor


@parametrize_with_checks([PixelScaler(), PixelScaler(pixel_max=16.0, dtype=np.float64)])
def test_sklearn_compatible(estimator: Any, check: Any) -> None:
    """Test that PixelScaler passes scikit-learn's estimator checks."""
    check(estimator)


def test_scales_uint8_to_unit_interval_in_float32() -> None:
    """Test that uint8 pixels 0..255 map to [0, 1] in float32 without modifying the input."""
    X = np.array([[0, 51, 255], [255, 0, 102]], dtype=np.uint8)
    X_scaled = PixelScaler().fit_transform(X)
    assert X_scaled.dtype == np.float32
    np.testing.assert_allclose(X_scaled, [[0, 0.2, 1], [1, 0, 0.4]], rtol=1e-7)
    assert X.tolist() == [[0, 51, 255], [255, 0, 102]]


def test_pixel_max_and_float64() -> None:
    """Test that digits-style pixels 0..16 scale by 16 and float64 output is exact."""
    X = np.array([[0, 4, 16]], dtype=np.uint8)
    X_scaled = PixelScaler(pixel_max=16, dtype=np.float64).fit(X).transform(X)
    assert X_scaled.dtype == np.float64
    np.testing.assert_array_equal(X_scaled, [[0.0, 0.25, 1.0]])


def test_out_of_range_values_are_scaled_not_clipped() -> None:
    """Test that values outside 0..pixel_max are scaled linearly, not clipped."""
    X = np.array([[-255.0, 510.0]])
    np.testing.assert_allclose(PixelScaler().fit_transform(X), [[-1.0, 2.0]])


def test_sparse_input_stays_sparse() -> None:
    """Test that a sparse matrix is scaled into a sparse matrix of the output dtype."""
    X = sp.csr_matrix(np.array([[0, 255], [51, 0]], dtype=np.uint8))
    X_scaled = PixelScaler().fit_transform(X)
    assert sp.issparse(X_scaled) and X_scaled.dtype == np.float32
    np.testing.assert_allclose(X_scaled.toarray(), [[0, 1], [0.2, 0]])
    assert X.dtype == np.uint8 and X.toarray().max() == 255


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"pixel_max": 0}, "'pixel_max' parameter of PixelScaler must be a float > 0. Got 0"),
        ({"pixel_max": -1.0}, "must be a float > 0. Got -1.0 instead"),
        ({"pixel_max": "255"}, "must be a float > 0"),
        ({"pixel_max": float("inf")}, "must be finite"),
        ({"dtype": np.int32}, "'dtype' parameter of PixelScaler must be numpy.float32"),
    ],
)
def test_invalid_parameters_are_refused(params: dict[str, Any], match: str) -> None:
    """Test that a bad pixel_max or dtype raises ValueError in scikit-learn's message style."""
    with pytest.raises(ValueError, match=match):
        PixelScaler(**params).fit(np.zeros((2, 2)))


def test_nan_is_refused() -> None:
    """Test that NaN pixels raise ValueError through scikit-learn's input validation."""
    with pytest.raises(ValueError, match="NaN"):
        PixelScaler().fit(np.array([[0.0, np.nan]]))
    scaler = PixelScaler().fit(np.zeros((1, 2)))
    with pytest.raises(ValueError, match="NaN"):
        scaler.transform(np.array([[0.0, np.nan]]))


def test_transform_checks_the_feature_count() -> None:
    """Test that transform refuses a different number of features than fit saw."""
    scaler = PixelScaler().fit(np.zeros((3, 4)))
    with pytest.raises(ValueError, match="4 features"):
        scaler.transform(np.zeros((3, 5)))


def test_make_preprocessor_steps() -> None:
    """Test that the preprocessor is PixelScaler(pixel_max) then StandardScaler, in float32."""
    pipeline = make_preprocessor(16.0)
    assert [name for name, _ in pipeline.steps] == ["scale", "standardize"]
    assert isinstance(pipeline.named_steps["scale"], PixelScaler)
    assert pipeline.named_steps["scale"].pixel_max == 16.0
    assert isinstance(pipeline.named_steps["standardize"], StandardScaler)
    rng = np.random.default_rng(0)
    X = rng.integers(0, 17, size=(50, 6)).astype(np.uint8)
    Z = pipeline.fit_transform(X)
    assert Z.dtype == np.float32
    np.testing.assert_allclose(Z.mean(axis=0), 0, atol=1e-5)
    np.testing.assert_allclose(Z.std(axis=0), 1, atol=1e-4)


def test_each_fold_fits_its_own_statistics() -> None:
    """Test that in cross-validation the standardizer learns only from the fold's training rows."""
    rng = np.random.default_rng(0)
    X = rng.integers(0, 256, size=(60, 5)).astype(np.uint8)
    X[40:] = 255  # validation rows of the last fold differ strongly from the others
    template = make_preprocessor(255.0)
    for train, _ in KFold(n_splits=3).split(X):
        fitted = clone(template).fit(X[train])
        expected_mean = X[train].astype(np.float64).mean(axis=0) / 255.0
        np.testing.assert_allclose(
            fitted.named_steps["standardize"].mean_, expected_mean, rtol=1e-6
        )
    leaky_mean = X.astype(np.float64).mean(axis=0) / 255.0
    assert not np.allclose(fitted.named_steps["standardize"].mean_, leaky_mean)
