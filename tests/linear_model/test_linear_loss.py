"""Tests of the regularized objective: scikit-learn's scale, gradients, Hessian products."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import log_loss

from mnist_logreg.linear_model import _kernels
from mnist_logreg.linear_model._linear_loss import LinearModelLoss
from mnist_logreg.linear_model._loss import BinaryCrossEntropy, MultinomialCrossEntropy


def _problem(kind: str, fit_intercept: bool = True, dtype=np.float64, n: int = 40, d: int = 5):
    rng = np.random.default_rng(1)
    X = rng.normal(size=(n, d)).astype(dtype)
    y = rng.integers(0, 3, size=n)
    if kind == "binary":
        loss, target = BinaryCrossEntropy, (y == 1).astype(dtype)[:, None]
        sw = rng.uniform(0.5, 2, size=n)
    elif kind == "ovr":  # three binary columns, weights per sample and column
        loss, target = BinaryCrossEntropy, np.eye(3, dtype=dtype)[y]
        sw = rng.uniform(0.5, 2, size=(n, 3))
    else:
        loss, target = MultinomialCrossEntropy, np.eye(3, dtype=dtype)[y]
        sw = rng.uniform(0.5, 2, size=n)
    obj = LinearModelLoss(loss, X, target, sw, C=0.7, fit_intercept=fit_intercept)
    w = rng.normal(size=obj.n_params)
    return obj, w, X, y, sw


@pytest.mark.parametrize("kind", ["binary", "multinomial"])
def test_objective_is_scikit_learn_scale(kind: str) -> None:
    """Test that objective = 1/2 ||W||^2 + C sum_n s_n loss_n, computed independently."""
    obj, w, X, y, sw = _problem(kind)
    coef, intercept = obj.unpack(w)
    Z = X @ coef.T + intercept
    if kind == "binary":
        p = 1 / (1 + np.exp(-Z[:, 0]))
        data_term = log_loss(y == 1, p, sample_weight=sw, normalize=False)
    else:
        Z -= Z.max(axis=1, keepdims=True)
        P = np.exp(Z) / np.exp(Z).sum(axis=1, keepdims=True)
        data_term = log_loss(y, P, sample_weight=sw, normalize=False, labels=[0, 1, 2])
    expected = 0.5 * np.sum(coef**2) + 0.7 * data_term
    assert obj.objective(coef, intercept) == pytest.approx(expected, rel=1e-12)
    value, _ = obj.value_and_grad(w)
    assert value / obj.scale == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("kind", ["binary", "multinomial", "ovr"])
@pytest.mark.parametrize("fit_intercept", [True, False])
def test_gradient_matches_finite_differences(kind: str, fit_intercept: bool) -> None:
    """Test that the objective's gradient (with sample weights) matches central differences."""
    obj, w, *_ = _problem(kind, fit_intercept)
    _, grad = obj.value_and_grad(w)
    eps = 1e-6
    fd = np.empty_like(w)
    for i in range(w.size):
        e = np.zeros_like(w)
        e[i] = eps
        fd[i] = (obj.value_and_grad(w + e)[0] - obj.value_and_grad(w - e)[0]) / (2 * eps)
    np.testing.assert_allclose(grad, fd, rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("kind", ["binary", "multinomial"])
def test_float32_evaluation_agrees_with_float64(kind: str) -> None:
    """Test that float32 data gives the float64 value and gradient to float32 precision."""
    obj64, w, *_ = _problem(kind, dtype=np.float64)
    obj32, *_ = _problem(kind, dtype=np.float32)
    v64, g64 = obj64.value_and_grad(w)
    v32, g32 = obj32.value_and_grad(w)
    assert g32.dtype == np.float64
    assert v32 == pytest.approx(v64, rel=1e-5)
    np.testing.assert_allclose(g32, g64, rtol=1e-4, atol=1e-5 * np.abs(g64).max())


def test_threaded_blocks_agree_with_one_pass(monkeypatch: pytest.MonkeyPatch) -> None:
    """Test that splitting the rows into blocks over threads gives the single-pass result."""
    rng = np.random.default_rng(3)
    X = rng.normal(size=(1000, 7))
    target = np.eye(4)[rng.integers(0, 4, size=1000)]
    single = LinearModelLoss(MultinomialCrossEntropy, X, target, C=2.0)
    monkeypatch.setattr(_kernels, "_MIN_ENTRIES_FOR_THREADS", 0)
    threaded = LinearModelLoss(MultinomialCrossEntropy, X, target, C=2.0, n_threads=3)
    threaded.kernel.block_rows = 64
    w = rng.normal(size=single.n_params)
    v1, g1 = single.value_and_grad(w)
    v2, g2 = threaded.value_and_grad(w)
    assert v2 == pytest.approx(v1, rel=1e-12)
    np.testing.assert_allclose(g2, g1, rtol=1e-10, atol=1e-14)


def test_pack_unpack_round_trip() -> None:
    """Test that pack and unpack are inverse and that unpack sees the intercept column."""
    obj, w, *_ = _problem("multinomial")
    coef, intercept = obj.unpack(w)
    assert coef.shape == (3, 5) and intercept.shape == (3,)
    np.testing.assert_array_equal(obj.pack(coef, intercept), w)


def test_gram_is_weighted_second_moment() -> None:
    """Test that gram() is X~^T S X~ / sum(s) with the intercept's column of ones."""
    obj, _, X, _, sw = _problem("binary")
    Xt = np.hstack([X, np.ones((X.shape[0], 1))])
    expected = (Xt * sw[:, None]).T @ Xt / sw.sum()
    np.testing.assert_allclose(obj.gram(), expected, rtol=1e-12)


def test_gram_does_not_depend_on_the_number_of_threads(monkeypatch: pytest.MonkeyPatch) -> None:
    """Test that gram() gives the same bits with 1 and 3 threads (reproducible runs)."""
    from mnist_logreg.linear_model import _linear_loss

    monkeypatch.setattr(_linear_loss, "_GRAM_BLOCK_ROWS", 16)
    rng = np.random.default_rng(4)
    X = rng.normal(size=(1000, 9)).astype(np.float32)
    target = np.eye(3)[rng.integers(0, 3, size=1000)]
    one = LinearModelLoss(MultinomialCrossEntropy, X, target, n_threads=1).gram()
    three = LinearModelLoss(MultinomialCrossEntropy, X, target, n_threads=3).gram()
    np.testing.assert_array_equal(one, three)
    Xt = np.hstack([X, np.ones((1000, 1), dtype=np.float32)]).astype(np.float64)
    np.testing.assert_allclose(one, Xt.T @ Xt / 1000, rtol=1e-5, atol=1e-6)
