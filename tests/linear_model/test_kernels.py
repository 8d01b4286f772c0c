"""Tests of the pass kernels: each agrees with the plain numpy reference."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from mnist_logreg.linear_model import _kernels
from mnist_logreg.linear_model._kernels import (
    KERNELS,
    linear_predict,
    reference_loss_gradient,
    select_kernel,
)
from mnist_logreg.linear_model._loss import BinaryCrossEntropy, MultinomialCrossEntropy


def _data(n: int, d: int, density: float, dtype, seed: int = 0):
    rng = np.random.default_rng(seed)
    X = rng.integers(1, 256, size=(n, d)) * (rng.random((n, d)) < density)
    return X.astype(dtype)


def _problem(kind: str, n: int, d: int, seed: int = 0):
    rng = np.random.default_rng(seed + 1)
    K = 1 if kind == "binary" else 4
    y = rng.integers(0, 4, size=n)
    if kind == "binary":
        loss, target = BinaryCrossEntropy, (y == 1).astype(np.float64)[:, None]
        sw = rng.uniform(0.5, 2, size=(n, 1))
    elif kind == "ovr":
        loss, target = BinaryCrossEntropy, np.eye(K)[y]
        sw = rng.uniform(0.5, 2, size=(n, K))
    else:
        loss, target = MultinomialCrossEntropy, np.eye(K)[y]
        sw = rng.uniform(0.5, 2, size=(n, 1))
    W = rng.normal(scale=0.01, size=(target.shape[1], d))
    b = rng.normal(size=target.shape[1])
    return loss, target, sw, W, b


@pytest.mark.parametrize("kernel", sorted(KERNELS))
@pytest.mark.parametrize("kind", ["binary", "multinomial", "ovr"])
@pytest.mark.parametrize("dtype", [np.uint8, np.float32, np.float64, np.int32])
@pytest.mark.parametrize("n_threads", [1, 2])
def test_kernel_agrees_with_numpy_reference(
    kernel: str, kind: str, dtype, n_threads: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Test that a kernel's loss, R^T X and sum of R equal the float64 numpy reference."""
    monkeypatch.setattr(_kernels, "_MIN_ENTRIES_FOR_THREADS", 0)
    X = _data(300, 17, 0.3, dtype)
    loss, target, sw, W, b = _problem(kind, 300, 17)
    Xk = X if kernel == "dense" else sp.csr_matrix(X)
    k = select_kernel(Xk, n_threads, kernel)
    if kernel == "dense":
        k.block_rows = 64
    compute = _kernels.compute_dtype_of(X.dtype)
    target, sw = target.astype(compute), sw.astype(compute)  # as LinearModelLoss stores them
    loss_sum, A, r_sum = k.loss_gradient(loss, W, b, target, sw, compute)
    ref_loss, ref_A, ref_r = reference_loss_gradient(loss, X, W, b, target, sw)
    rtol = 1e-5 if compute == np.float32 and kernel != "csr" else 1e-10
    assert loss_sum == pytest.approx(ref_loss, rel=rtol)
    np.testing.assert_allclose(A, ref_A, rtol=rtol, atol=rtol * np.abs(ref_A).max())
    np.testing.assert_allclose(r_sum, ref_r, rtol=rtol, atol=rtol * np.abs(ref_r).max())
    Z = k.raw_prediction(W, b, np.dtype(np.float64))
    np.testing.assert_allclose(Z, X.astype(np.float64) @ W.T + b, rtol=rtol, atol=rtol)
    R = np.random.default_rng(3).normal(size=(300, W.shape[0]))
    np.testing.assert_allclose(k.rmatmul(R), R.T @ X.astype(np.float64), rtol=1e-5,
                               atol=1e-5 * np.abs(R.T @ X).max())
    rows = np.array([5, 0, 299, 17])
    np.testing.assert_array_equal(k.dense_rows(rows, np.dtype(np.float64)), X[rows])


@settings(max_examples=60, deadline=None)
@given(
    n=st.integers(1, 40),
    d=st.integers(1, 12),
    density=st.floats(0.0, 1.0),
    seed=st.integers(0, 1000),
    kind=st.sampled_from(["binary", "multinomial", "ovr"]),
)
def test_compiled_kernel_fuzz(n: int, d: int, density: float, seed: int, kind: str) -> None:
    """Test that the compiled CSR kernel equals the reference on random shapes and densities."""
    X = _data(n, d, density, np.uint8, seed)
    loss, target, sw, W, b = _problem(kind, n, d, seed)
    k = select_kernel(X, 2, "csr")
    loss_sum, A, r_sum = k.loss_gradient(loss, W, b, target, sw, np.dtype(np.float64))
    ref_loss, ref_A, ref_r = reference_loss_gradient(loss, X, W, b, target, sw)
    assert loss_sum == pytest.approx(ref_loss, rel=1e-10, abs=1e-12)
    np.testing.assert_allclose(A, ref_A, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(r_sum, ref_r, rtol=1e-10, atol=1e-12)


def test_select_kernel_rule_and_errors() -> None:
    """Test that auto picks a kernel from the storage and that bad names are refused."""
    X = _data(50, 6, 0.5, np.uint8)
    assert select_kernel(X).name == "dense"  # small
    assert select_kernel(sp.csr_matrix(X)).name == "csr"
    sparse_rows = _data(3000, 784, 0.15, np.uint8)
    dense_rows = _data(3000, 784, 0.5, np.uint8)
    assert select_kernel(sparse_rows).name == "csr"
    assert select_kernel(dense_rows).name == "dense"
    assert select_kernel(_data(3000, 784, 0.35, np.uint8)).name == "csr"  # below 40%
    # without an unrolled kernel for 4 outputs the CSR kernel needs sparser rows
    assert select_kernel(sparse_rows, n_outputs=4).name == "dense"
    with pytest.raises(ValueError, match="Unknown kernel 'fast'"):
        select_kernel(X, kernel="fast")
    with pytest.raises(ValueError, match="needs a dense X"):
        select_kernel(sp.csr_matrix(X), kernel="dense")


@pytest.mark.parametrize("form", ["uint8", "int64", "float32", "csr", "csc"])
def test_linear_predict_reads_every_storage(form: str) -> None:
    """Test that raw predictions of integer, float and sparse rows equal the float64 product."""
    X = _data(70, 9, 0.4, np.uint8)
    W = np.random.default_rng(0).normal(size=(3, 9))
    b = np.array([0.5, -1.0, 2.0])
    Xf = {"csr": sp.csr_matrix(X), "csc": sp.csc_matrix(X)}.get(form)
    if Xf is None:
        Xf = X.astype(form)
    expected = X.astype(np.float64) @ W.T + b
    np.testing.assert_allclose(linear_predict(Xf, W, b), expected, rtol=1e-6, atol=1e-4)


@pytest.mark.parametrize("kind", ["binary", "multinomial", "ovr"])
def test_unrolled_compiled_kernels_agree_with_reference(kind: str) -> None:
    """Test that the generated kernels (1 and 10 outputs) equal the numpy reference."""
    from mnist_logreg.linear_model import _numba_kernels

    rng = np.random.default_rng(4)
    X = _data(300, 23, 0.3, np.uint8)
    y = rng.integers(0, 10, size=300)
    if kind == "binary":
        loss, target, sw = BinaryCrossEntropy, (y == 1).astype(float)[:, None], np.ones((300, 1))
    elif kind == "ovr":
        loss, target, sw = BinaryCrossEntropy, np.eye(10)[y], rng.uniform(0.5, 2, (300, 10))
    else:
        loss, target, sw = MultinomialCrossEntropy, np.eye(10)[y], rng.uniform(0.5, 2, (300, 1))
    K = target.shape[1]
    assert (loss.name, K) in _numba_kernels.UNROLLED
    W, b = rng.normal(scale=0.01, size=(K, 23)), rng.normal(size=K)
    k = select_kernel(X, 2, "csr")
    loss_sum, A, r_sum = k.loss_gradient(loss, W, b, target, sw, np.dtype(np.float64))
    ref_loss, ref_A, ref_r = reference_loss_gradient(loss, X, W, b, target, sw)
    assert loss_sum == pytest.approx(ref_loss, rel=1e-12)
    np.testing.assert_allclose(A, ref_A, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(r_sum, ref_r, rtol=1e-10, atol=1e-12)


def test_generated_module_is_up_to_date() -> None:
    """Test that _numba_fused.py is exactly what the generator writes (no hand edits, no drift)."""
    from pathlib import Path

    from mnist_logreg.linear_model import _numba_kernels

    path = Path(_numba_kernels.__file__).with_name("_numba_fused.py")
    assert path.read_text() == _numba_kernels.fused_module_source()
