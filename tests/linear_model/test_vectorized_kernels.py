"""Tests of the generated (SLP-vectorized) compiled CSR passes against plain numpy."""

from __future__ import annotations

import re

import numpy as np
import pytest
import scipy.sparse as sp

from mnist_logreg.linear_model import _kernels, _numba_kernels
from mnist_logreg.linear_model._kernels import reference_loss_gradient, select_kernel
from mnist_logreg.linear_model._linear_loss import LinearModelLoss
from mnist_logreg.linear_model._loss import BinaryCrossEntropy, MultinomialCrossEntropy
from mnist_logreg.linear_model._standardize import standardization


def _rows(n: int, d: int, density: float, dtype, seed: int) -> np.ndarray:
    """Random non-negative rows with empty rows and rows of odd and even entry counts."""
    rng = np.random.default_rng(seed)
    X = rng.integers(1, 256, size=(n, d)) * (rng.random((n, d)) < density)
    X[::7] = 0  # empty rows
    X[3, :5] = 9  # a short row (odd count: the second chain's remainder)
    X[3, 5:] = 0
    X[4, :6] = 11  # an even count
    X[4, 6:] = 0
    return X.astype(dtype)


def _problem(kind: str, n: int, d: int, seed: int):
    rng = np.random.default_rng(seed + 1)
    y = rng.integers(0, 10, size=n)
    if kind == "binary":
        loss, target, sw = BinaryCrossEntropy, (y == 1).astype(float)[:, None], None
        sw = rng.uniform(0.5, 2, (n, 1))
    elif kind == "ovr":
        loss, target, sw = BinaryCrossEntropy, np.eye(10)[y], rng.uniform(0.5, 2, (n, 10))
    else:
        loss, target, sw = MultinomialCrossEntropy, np.eye(10)[y], rng.uniform(0.5, 2, (n, 1))
    K = target.shape[1]
    W, b = rng.normal(scale=0.01, size=(K, d)), rng.normal(size=K)
    return loss, target, sw, W, b


@pytest.mark.parametrize("kind", ["binary", "multinomial", "ovr"])
@pytest.mark.parametrize("dtype", [np.uint8, np.float32, np.float64, np.int32])
@pytest.mark.parametrize("n_threads", [1, 2])
def test_vectorized_kernel_agrees_with_reference(
    kind: str, dtype, n_threads: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Test that the vectorized pass equals the float64 numpy reference for every value dtype."""
    monkeypatch.setattr(_kernels, "_MIN_ENTRIES_FOR_THREADS", 0)
    X = _rows(257, 37, 0.3, dtype, seed=1)
    if dtype == np.float32:
        X = X * np.float32(0.37)  # non-integer values
    loss, target, sw, W, b = _problem(kind, 257, 37, seed=2)
    k = select_kernel(X, n_threads, "csr")
    assert isinstance(_numba_kernels.fused_pass(loss.name, W.shape[0]),
                      _numba_kernels.VectorizedPass)
    for t in (target, target.astype(np.float32)):  # LinearModelLoss may store it as float32
        loss_sum, A, r_sum = k.loss_gradient(loss, W, b, t, sw, np.dtype(np.float64))
        ref_loss, ref_A, ref_r = reference_loss_gradient(loss, X, W, b, target, sw)
        assert loss_sum == pytest.approx(ref_loss, rel=1e-12)
        np.testing.assert_allclose(A, ref_A, rtol=1e-11, atol=1e-11 * np.abs(ref_A).max())
        np.testing.assert_allclose(r_sum, ref_r, rtol=1e-11, atol=1e-12)


def test_vectorized_kernel_reads_wide_sparse_input() -> None:
    """Test that int32 column indices (more than 65,536 features) give the reference pass."""
    n, d = 120, 70_000
    rng = np.random.default_rng(5)
    rows = np.concatenate([rng.integers(0, n, 20 * n), np.arange(n)])
    cols = np.concatenate([rng.integers(0, d, 20 * n), np.full(n, d - 1)])  # past 65,535 too
    vals = rng.integers(1, 256, rows.size).astype(np.float64)
    X = sp.csr_matrix((vals, (rows, cols)), shape=(n, d))
    loss, target, sw, W, b = _problem("multinomial", n, d, seed=7)
    k = select_kernel(X, 2, "csr")
    assert k.indices.dtype == np.int32
    loss_sum, A, r_sum = k.loss_gradient(loss, W, b, target, sw, np.dtype(np.float64))
    ref_loss, ref_A, ref_r = reference_loss_gradient(loss, X, W, b, target, sw)
    assert loss_sum == pytest.approx(ref_loss, rel=1e-12)
    np.testing.assert_allclose(A, ref_A, rtol=1e-11, atol=1e-11 * np.abs(ref_A).max())
    np.testing.assert_allclose(r_sum, ref_r, rtol=1e-11, atol=1e-12)


@pytest.mark.parametrize("kind", ["binary", "multinomial"])
@pytest.mark.parametrize("form", ["dense", "csr"])
def test_folded_pass_with_zero_variance_columns(kind: str, form: str) -> None:
    """Test that the folded csr objective and gradient equal the dense float64 kernel's.

    Raw uint8 rows with all-zero and constant columns (scale 1), sample weights, standardization
    folded: the vectorized compiled kernel against the dense blocked kernel on float64 rows.
    """
    n, d = 400, 30
    X = _rows(n, d, 0.25, np.uint8, seed=3)
    X[:, 0] = 0  # zero variance, all zero
    X[:, 1] = 7  # zero variance, constant
    rng = np.random.default_rng(8)
    y = rng.integers(0, 10, size=n)
    target = (y == 2).astype(np.float64)[:, None] if kind == "binary" else np.eye(10)[y]
    loss = BinaryCrossEntropy if kind == "binary" else MultinomialCrossEntropy
    weights = rng.uniform(0.2, 3.0, size=n)
    mean, scale, _ = standardization(X, weights)
    assert scale[0] == 1.0 and scale[1] == 1.0
    Xc = sp.csr_matrix(X) if form == "csr" else X
    objs = [LinearModelLoss(loss, Xk, target, weights, C=0.7, kernel=kernel, mean=mean,
                            scale=scale)
            for Xk, kernel in ((Xc, "csr"), (X.astype(np.float64), "dense"))]
    w = rng.normal(scale=0.3, size=objs[0].n_params)
    (v_csr, g_csr), (v_ref, g_ref) = (o.value_and_grad(w) for o in objs)
    assert v_csr == pytest.approx(v_ref, rel=1e-12)
    np.testing.assert_allclose(g_csr, g_ref, rtol=1e-10, atol=1e-12 * np.abs(g_ref).max())


def test_generated_kernels_are_vectorized() -> None:
    """Test that the generated multinomial pass compiles to packed (vector) float64 arithmetic.

    Compiled afresh from the generator's source (numba cannot show cached machine code) inside
    the same ``slp_vectorization`` block that :func:`fused_pass` compiles in.
    """
    import math

    from numba import njit

    namespace = {"njit": njit, "np": np, "math": math}
    exec(_numba_kernels.fused_source("multinomial", 10).replace("cache=True, ", ""), namespace)
    dispatcher = namespace["fused_multinomial_10"]
    X = _rows(50, 12, 0.5, np.uint8, seed=4)
    k = select_kernel(X, 1, "csr")
    args = (k.data, k.indices, k.indptr, np.zeros(120), np.zeros(10),
            np.zeros((50, 10), np.float32), np.ones((50, 1)), 0, 50)
    with _numba_kernels.slp_vectorization():
        dispatcher(*args)
    asm = dispatcher.inspect_asm(dispatcher.signatures[0])
    packed = re.findall(r"\b(?:v?mulpd|vfn?m(?:add|sub)\d{3}pd)\b", asm)
    assert len(packed) >= 10, "no packed multiply-adds: SLP vectorization did not apply"
