"""Tests of the pointwise losses: values, derivatives against finite differences, stability."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.special import expit, softmax

from mnist_logreg.linear_model._loss import BinaryCrossEntropy, MultinomialCrossEntropy

RNG = np.random.default_rng(0)


def _binary_data(n: int = 7, k: int = 3) -> tuple[np.ndarray, np.ndarray]:
    return RNG.integers(0, 2, size=(n, k)).astype(float), RNG.normal(scale=3, size=(n, k))


def _multinomial_data(n: int = 7, k: int = 4) -> tuple[np.ndarray, np.ndarray]:
    target = np.eye(k)[RNG.integers(0, k, size=n)]
    return target, RNG.normal(scale=3, size=(n, k))


def test_binary_loss_matches_definition() -> None:
    """Test that the binary loss equals -t log sigma(z) - (1 - t) log(1 - sigma(z))."""
    t, z = _binary_data()
    p = expit(z)
    expected = -t * np.log(p) - (1 - t) * np.log(1 - p)
    np.testing.assert_allclose(BinaryCrossEntropy.loss(t, z), expected, rtol=1e-12)
    loss, grad = BinaryCrossEntropy.loss_gradient(t, z)
    np.testing.assert_allclose(loss, expected, rtol=1e-12)
    np.testing.assert_allclose(grad, p - t, rtol=1e-12, atol=1e-15)


def test_multinomial_loss_matches_definition() -> None:
    """Test that the multinomial loss equals -log softmax(z)_t and its gradient softmax(z) - t."""
    t, z = _multinomial_data()
    p = softmax(z, axis=1)
    expected = -np.log((p * t).sum(axis=1, keepdims=True))
    np.testing.assert_allclose(MultinomialCrossEntropy.loss(t, z), expected, rtol=1e-12)
    loss, grad = MultinomialCrossEntropy.loss_gradient(t, z)
    np.testing.assert_allclose(loss, expected, rtol=1e-12)
    np.testing.assert_allclose(grad, p - t, atol=1e-15)
    np.testing.assert_allclose(MultinomialCrossEntropy.predict_proba(z), p, rtol=1e-12)


@pytest.mark.parametrize("loss_cls", [BinaryCrossEntropy, MultinomialCrossEntropy])
def test_gradient_matches_finite_differences(loss_cls) -> None:
    """Test that the gradient with respect to raw_prediction matches central differences."""
    t, z = _binary_data() if loss_cls is BinaryCrossEntropy else _multinomial_data()
    _, grad = loss_cls.loss_gradient(t, z)
    eps = 1e-6
    for j in range(z.shape[1]):
        dz = np.zeros_like(z)
        dz[:, j] = eps
        fd = (loss_cls.loss(t, z + dz).sum(axis=1) - loss_cls.loss(t, z - dz).sum(axis=1)) / (
            2 * eps
        )
        np.testing.assert_allclose(grad[:, j], fd, rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("loss_cls", [BinaryCrossEntropy, MultinomialCrossEntropy])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_losses_are_finite_at_extreme_raw_predictions(loss_cls, dtype) -> None:
    """Test that raw predictions of +-1e4 give finite losses, gradients and curvatures."""
    z = np.array([[1e4, -1e4], [-1e4, 1e4], [0.0, 1e4]], dtype=dtype)
    t = np.array([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0]], dtype=dtype)
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        loss, grad = loss_cls.loss_gradient(t, z)
        curvature = loss_cls.hessian_diagonal(z)
    for a in (loss, grad, curvature):
        assert np.all(np.isfinite(a))
    if loss_cls is BinaryCrossEntropy:
        # right with certainty costs 0, wrong with certainty costs |z|
        np.testing.assert_allclose(loss[0], [0.0, 0.0], atol=1e-30)
        np.testing.assert_allclose(loss[1], [1e4, 1e4], rtol=1e-6)
    else:
        np.testing.assert_allclose(loss[:, 0], [0.0, 2e4, 0.0], rtol=1e-6, atol=1e-30)
