"""Tests of the solver's cheaper bookkeeping: stacked preconditioner solves, the BLAS two-loop
recursion, the Cholesky solve and its fallback, the stopping window, and the memory savings."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.datasets import load_digits

from mnist_logreg.linear_model._kernels import numba_available
from mnist_logreg.linear_model._linear_loss import LinearModelLoss
from mnist_logreg.linear_model._loss import MultinomialCrossEntropy
from mnist_logreg.linear_model._solvers import (
    BlockPreconditioner,
    SharedPreconditioner,
    _PenalizedSolve,
    _stop,
    _two_loop,
)

from .conftest import digits_objective


class _Penalty:
    """The two numbers and the mask _PenalizedSolve reads from an objective."""

    def __init__(self, p: int) -> None:
        self.penalty_mask = np.r_[np.ones(p - 1), 0.0]
        self.C = 2.0
        self.weight_sum = 5.0


def _with_penalty(M: np.ndarray, obj: _Penalty) -> np.ndarray:
    out = M.copy()
    d = np.diag_indices_from(out)
    out[d] += obj.penalty_mask / (obj.C * obj.weight_sum)
    out[d] += 1e-10 * max(float(out[d].max()), 1e-300)
    return out


@pytest.mark.parametrize("kind", ["shared", "block"])
def test_apply_many_equals_apply_row_by_row(kind: str) -> None:
    """Test that one stacked solve gives each row's own preconditioned vector."""
    obj = digits_objective(C=0.5, n=400)
    rng = np.random.default_rng(0)
    if kind == "shared":
        P: SharedPreconditioner | BlockPreconditioner = SharedPreconditioner(obj, 0.05)
    else:
        P = BlockPreconditioner(obj, 0.01 * rng.normal(size=obj.n_params), center=True,
                                max_rows=200)
    R = rng.normal(size=(3, obj.n_params))
    stacked = P.apply_many(R)
    for i in range(3):
        np.testing.assert_allclose(stacked[i], P.apply(R[i]), rtol=1e-12, atol=1e-12)


def test_penalized_solve_matches_a_dense_solve() -> None:
    """Test that the Cholesky solve is (M + P / (C sum s))^{-1} B for several columns."""
    rng = np.random.default_rng(1)
    A = rng.normal(size=(30, 6))
    M = A.T @ A / 30
    obj = _Penalty(6)
    B = rng.normal(size=(6, 4))
    expected = np.linalg.solve(_with_penalty(M, obj), B)
    np.testing.assert_allclose(_PenalizedSolve(M.copy(), obj).solve(B), expected, rtol=1e-10)


def test_penalized_solve_falls_back_to_the_pseudo_inverse_of_the_original_matrix() -> None:
    """Test that a matrix that is not positive definite is pseudo-inverted as it was given.

    The factorization runs in place; the fallback must rebuild M from the triangle LAPACK left.
    """
    M = -np.eye(4)
    M[0, 1] = M[1, 0] = 0.3
    M[2, 3] = M[3, 2] = -0.2
    obj = _Penalty(4)
    B = np.arange(8.0).reshape(4, 2)
    expected = np.linalg.pinv(_with_penalty(M, obj), hermitian=True) @ B
    np.testing.assert_allclose(_PenalizedSolve(M.copy(), obj).solve(B), expected, atol=1e-12)


def test_two_loop_recursion_equals_the_dense_bfgs_inverse() -> None:
    """Test that the recursion returns H g of the BFGS updates of the pairs from gamma H0."""
    rng = np.random.default_rng(2)
    n = 5
    A = rng.normal(size=(n, n))
    hessian = A @ A.T + n * np.eye(n)
    pairs = []
    for _ in range(3):
        s = rng.normal(size=n)
        y = hessian @ s
        pairs.append((s, y, 1.0 / float(s @ y)))
    g = rng.normal(size=n)
    s_last, y_last, _ = pairs[-1]
    H = float(s_last @ y_last) / float(y_last @ y_last) * np.eye(n)
    for s, y, rho in pairs:  # BFGS update of the inverse, oldest pair first
        V = np.eye(n) - rho * np.outer(y, s)
        H = V.T @ H @ V + rho * np.outer(s, s)
    np.testing.assert_allclose(_two_loop(g, pairs, lambda R: R), H @ g, rtol=1e-10)


def test_stop_asks_for_five_iterations_of_small_decrease() -> None:
    """Test that the decrease test looks five iterations back and not before there are five."""
    tol = 1e-3
    flat = [10.0 + 1e-5 * k for k in range(6)][::-1]  # six values: five iterations of 1e-5
    assert _stop(0.5 * tol, flat, tol)
    assert not _stop(0.5 * tol, flat[1:], tol)  # only four iterations so far
    steep = [10.0, 9.99, 9.98, 9.97, 9.96, 9.95]  # 0.05 over five iterations: 5e-3 > tol
    assert not _stop(0.5 * tol, steep, tol)
    assert not _stop(2 * tol, flat, tol)  # gradient still too large
    assert _stop(0.005 * tol, steep[:1], tol)  # already solved


def test_gram_returns_a_new_float64_array_each_call() -> None:
    """Test that callers may scale gram() in place without changing the cached matrix."""
    obj = digits_objective(C=0.5, n=400)
    first = obj.gram()
    first *= 0.0
    second = obj.gram()
    assert second.dtype == np.float64
    assert second.max() > 0.5
    np.testing.assert_array_equal(second, digits_objective(C=0.5, n=400).gram())


@pytest.mark.skipif(not numba_available(), reason="needs numba")
def test_compiled_kernel_reads_a_float32_target_without_a_float64_copy() -> None:
    """Test that the CSR kernel keeps the float32 one-hot target and gives float64 results."""
    X, y = load_digits(return_X_y=True)
    X = X.astype(np.uint8)
    target32 = np.eye(10, dtype=np.float32)[y]
    obj32 = LinearModelLoss(MultinomialCrossEntropy, X, target32, C=0.5, kernel="csr")
    obj64 = LinearModelLoss(MultinomialCrossEntropy, sp.csr_matrix(X), target32.astype(
        np.float64), C=0.5, kernel="csr")
    assert obj32.target is target32
    w = np.random.default_rng(3).normal(scale=1e-3, size=obj32.n_params)
    value32, grad32 = obj32.value_and_grad(w)
    value64, grad64 = obj64.value_and_grad(w)
    assert grad32.dtype == np.float64
    np.testing.assert_allclose(value32, value64, rtol=1e-12)
    np.testing.assert_allclose(grad32, grad64, rtol=1e-10, atol=1e-14)
    t, _ = obj32.kernel._float64_inputs(obj32.target, obj32.sample_weight)  # type: ignore[attr-defined]
    assert t is target32
