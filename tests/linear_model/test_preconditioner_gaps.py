"""Tests of the preconditioners' less travelled paths: a row subset, the pseudo-inverse fallback."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.datasets import load_digits
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

from mnist_logreg.linear_model._linear_loss import LinearModelLoss
from mnist_logreg.linear_model._loss import MultinomialCrossEntropy
from mnist_logreg.linear_model._solvers import (
    BlockPreconditioner,
    SharedPreconditioner,
    preconditioned_lbfgs,
)


def _digits(n: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    X, y = load_digits(return_X_y=True)
    return StandardScaler().fit_transform(X[:n]), y[:n]


def _softmax(Z: np.ndarray) -> np.ndarray:
    e = np.exp(Z - Z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def _expected_block(X: np.ndarray, d: np.ndarray, m: int, C: float) -> np.ndarray:
    """M = (exact curvature of the m rows of largest d + the rest's total d times G) / n + P/(C n),
    written from the definition with numpy, for an unweighted problem with an intercept."""
    n = len(X)
    X1 = np.column_stack([X, np.ones(n)])
    top = np.argsort(-d, kind="stable")[:m]
    G = X1.T @ X1 / n
    M = (X1[top].T * d[top]) @ X1[top] / n + (d.sum() - d[top].sum()) / n * G
    M[np.diag_indices_from(M)] += np.r_[np.ones(X.shape[1]), 0.0] / (C * n)
    return M


def test_block_preconditioner_from_a_row_subset_inverts_its_model() -> None:
    """Test that a block model built from the rows of largest curvature inverts that model."""
    X, y = _digits(400)
    C, m = 0.7, 60
    obj = LinearModelLoss(MultinomialCrossEntropy, X, np.eye(10)[y], C=C)
    rng = np.random.default_rng(4)
    w = 0.2 * rng.normal(size=obj.n_params)
    coef, intercept = obj.unpack(w)
    P = _softmax(X @ coef.T + intercept)
    r = rng.normal(size=obj.n_params)
    subset = BlockPreconditioner(obj, w, center=False, max_rows=m).apply(r).reshape(10, -1)
    every_row = BlockPreconditioner(obj, w, center=False, max_rows=len(X)).apply(r).reshape(10, -1)
    for k in range(10):
        d = P[:, k] * (1 - P[:, k])
        M = _expected_block(X, d, m, C)
        np.testing.assert_allclose(M @ subset[k], r.reshape(10, -1)[k], rtol=1e-6, atol=1e-8)
    # the subset really is an approximation: far from the model built from every row
    assert np.linalg.norm(subset - every_row) > 0.05 * np.linalg.norm(every_row)


def test_tight_fit_with_a_subset_block_preconditioner_reaches_the_optimum() -> None:
    """Test that L-BFGS refined with blocks of a row subset (1,000 of 1,200 rows) stays exact."""
    X, y = _digits(1200)
    obj = LinearModelLoss(MultinomialCrossEntropy, X, np.eye(10)[y], C=0.5)
    # the default subset, max(1000, 50 n / p) rows with p = 65, is smaller than n
    assert max(1000, 50 * obj.n_samples // 65) < obj.n_samples
    w0 = np.zeros(obj.n_params)
    with threadpool_limits(limits=1):
        refined = preconditioned_lbfgs(obj, w0, tol=1e-8, max_iter=3000, center=True)
        shared_only = preconditioned_lbfgs(obj, w0, tol=1e-8, max_iter=3000, center=True,
                                           refine_below=None)
    assert refined.converged and shared_only.converged
    assert refined.grad_ratio <= 1e-8
    assert refined.value == pytest.approx(shared_only.value, rel=1e-10)
    # the refinement pays: measured 42 iterations against 100 with the shared model alone
    assert refined.n_iter < 0.7 * shared_only.n_iter


class _StubObjective:
    """Just what the preconditioners read, around a given curvature matrix."""

    def __init__(self, blocks: np.ndarray, penalty_mask: np.ndarray) -> None:
        self.blocks = blocks
        self.n_outputs = blocks.shape[0]
        self.n_params = blocks.shape[0] * blocks.shape[1]
        self.n_samples = 10
        self.C = 2.0
        self.weight_sum = 10.0
        self.penalty_mask = penalty_mask

    def gram(self) -> np.ndarray:
        return self.blocks[0].copy()

    def curvature_blocks(self, w: np.ndarray, max_rows: int = 10_000) -> np.ndarray:
        return self.blocks.copy()


# Two duplicated columns whose Gram entries rounded apart and a constant zero column, nothing
# penalized: symmetric, singular to within 1e-6 and indefinite, so Cholesky fails.
_NOT_POSITIVE_DEFINITE = np.array([[1.0, 1.0, 0.0], [1.0, 1.0 - 1e-6, 0.0], [0.0, 0.0, 0.0]])
_MASK = np.array([0.0, 0.0, 0.0])


def _floored(M: np.ndarray, objective: _StubObjective) -> np.ndarray:
    M = M.copy()
    M[np.diag_indices_from(M)] += objective.penalty_mask / (objective.C * objective.weight_sum)
    M[np.diag_indices_from(M)] += 1e-10 * np.max(np.diag(M))
    return M


def test_shared_preconditioner_falls_back_to_the_pseudo_inverse() -> None:
    """Test that a curvature model Cholesky cannot factor gets its pseudo-inverse, finite."""
    obj = _StubObjective(_NOT_POSITIVE_DEFINITE[None], _MASK)
    with pytest.raises(np.linalg.LinAlgError):
        np.linalg.cholesky(_floored(_NOT_POSITIVE_DEFINITE, obj))
    r = np.array([1.0, -2.0, 0.5])
    out = SharedPreconditioner(obj, curvature=1.0).apply(r)
    expected = np.linalg.pinv(_floored(_NOT_POSITIVE_DEFINITE, obj), hermitian=True) @ r
    assert np.all(np.isfinite(out))
    np.testing.assert_allclose(out, expected, rtol=1e-6)


def test_block_preconditioner_falls_back_per_block() -> None:
    """Test that an unfactorable block gets its pseudo-inverse and a regular one its inverse."""
    regular = np.array([[2.0, 0.5, 0.0], [0.5, 1.0, 0.0], [0.0, 0.0, 1.0]])
    obj = _StubObjective(np.stack([regular, _NOT_POSITIVE_DEFINITE]), _MASK)
    r = np.array([1.0, -2.0, 0.5, 3.0, 1.0, -1.0])
    out = BlockPreconditioner(obj, np.zeros(6), center=False, max_rows=5).apply(r).reshape(2, 3)
    np.testing.assert_allclose(_floored(regular, obj) @ out[0], r[:3], rtol=1e-10)
    expected = np.linalg.pinv(_floored(_NOT_POSITIVE_DEFINITE, obj), hermitian=True) @ r[3:]
    assert np.all(np.isfinite(out[1]))
    np.testing.assert_allclose(out[1], expected, rtol=1e-6)


class _RowCountingObjective(_StubObjective):
    """A stub that records how many rows the block preconditioner asks to sum exactly."""

    def __init__(self, n_samples: int) -> None:
        super().__init__(np.eye(3)[None], np.array([1.0, 1.0, 0.0]))
        self.n_samples = n_samples
        self.n_params = 785  # one output of MNIST's 784 pixels and an intercept
        self.asked: list[int] = []

    def curvature_blocks(self, w: np.ndarray, max_rows: int = 10_000) -> np.ndarray:
        self.asked.append(max_rows)
        return self.blocks.copy()


@pytest.mark.parametrize(("n_samples", "expected"), [(60_000, 9_936), (10_000, 1_656),
                                                     (3_000, 1_000)])
def test_block_preconditioner_sums_130_n_over_p_rows_by_default(
    n_samples: int, expected: int
) -> None:
    """Test that the default exact rows per output are 130 n_samples / p, at least 1,000."""
    obj = _RowCountingObjective(n_samples)
    BlockPreconditioner(obj, np.zeros(3), center=False)
    BlockPreconditioner(obj, np.zeros(3), center=False, max_rows=7)
    assert obj.asked == [expected, 7]
