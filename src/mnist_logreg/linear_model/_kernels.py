"""Passes over the training matrix: the map-reduce behind one loss-and-gradient evaluation.

A kernel holds ``X`` (n_samples, n_features) in the form it reads fastest and, for weights
``W`` (n_outputs, n_features) and offsets ``b`` in the space of the rows it holds, returns

    loss_gradient(loss, W, b, target, sw, dtype) = (sum_n s_n loss_n,  A = R^T X,  r = sum_n R_n)

with ``z_n = W x_n + b`` and ``R_n = s_n d loss_n / d z_n``. It knows nothing of the penalty, of
C or of standardization: :class:`~._linear_loss.LinearModelLoss` folds those in. Sums over rows
are accumulated in float64 whatever the stored dtype.

Kernels (``KERNELS``):

* ``"dense"``: row blocks of ~4 MiB (cache-sized), two BLAS products per block (``Z_b = X_b W^T``,
  ``R_b^T X_b``), blocks shared by threads. Integer matrices (uint8 pixels) are cast block by
  block to the arithmetic dtype, never whole.
* ``"sparse"``: scipy.sparse CSR products, single-threaded (the fallback without numba).
* ``"csr"``: compiled (numba) fused pass over compressed rows, one row range per thread
  (:mod:`._numba_kernels`; for 1 and 10 outputs generated kernels compiled with LLVM's SLP
  vectorizer, float64 arithmetic). A dense matrix is compressed once (values kept in their
  dtype, column indices in 2 bytes when n_features <= 65,536).

:func:`select_kernel` picks one per input from its storage, density and size (rule and
measurements next to ``_CSR_MAX_DENSITY``; ``benchmarks/bench_fit.py --only kernels`` measures
each kernel's pass).
"""

from __future__ import annotations

import itertools
import os
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Protocol

import numpy as np
import scipy.sparse as sp

__all__ = [
    "KERNELS",
    "CompiledCsrKernel",
    "DenseKernel",
    "PassKernel",
    "ScipySparseKernel",
    "compute_dtype_of",
    "estimated_density",
    "linear_predict",
    "numba_available",
    "reference_loss_gradient",
    "select_kernel",
]

# Bytes of X per row block: 4 MiB keeps a block, its raw predictions and its gradient in the
# per-core cache (L2 + a share of L3) on the machines we measured.
_BLOCK_BYTES = 4 * 2**20
# Below this many entries of X a single thread is faster than dispatching blocks to a pool.
_MIN_ENTRIES_FOR_THREADS = 2_000_000

_pool: ThreadPoolExecutor | None = None
_pool_pid: int | None = None
_pool_lock = threading.Lock()


def thread_pool(n_threads: int) -> ThreadPoolExecutor:
    """Return the module's thread pool, made anew after a fork (a forked pool has no threads)."""
    global _pool, _pool_pid
    with _pool_lock:
        if _pool is None or _pool_pid != os.getpid() or _pool._max_workers < n_threads:
            _pool = ThreadPoolExecutor(max_workers=max(n_threads, os.cpu_count() or 1))
            _pool_pid = os.getpid()
        return _pool


def _map(work: Callable[[Any], Any], parts: Sequence[Any]) -> list[Any]:
    """Run ``work`` on each part, one thread per part; the first part runs in the caller.

    Running one part inline saves a thread hand-off per pass (measured under load: a submit
    and a wake-up cost milliseconds each, comparable to a pass on 10,000 rows).
    """
    if len(parts) == 1:
        return [work(parts[0])]
    pool = thread_pool(len(parts) - 1)
    futures = [pool.submit(work, part) for part in parts[1:]]
    first = work(parts[0])
    return [first, *(f.result() for f in futures)]


def numba_available() -> bool:
    """Whether the compiled kernels can be used (numba importable)."""
    try:
        import numba  # noqa: F401
    except ImportError:  # pragma: no cover (numba is a dependency)
        return False
    return True


def compute_dtype_of(dtype: np.dtype) -> np.dtype:
    """Arithmetic dtype for stored values: float32 for float32 and small integers, else float64.

    Integers of at most 16 bits are exact in float32 (24-bit significand).
    """
    dtype = np.dtype(dtype)
    if dtype == np.float32 or (dtype.kind in "uib" and dtype.itemsize <= 2):
        return np.dtype(np.float32)
    return np.dtype(np.float64)


class PassKernel(Protocol):
    """What :class:`~._linear_loss.LinearModelLoss` asks of a kernel."""

    name: str
    n_samples: int
    n_features: int
    stored_dtype: np.dtype

    def loss_gradient(
        self, loss: Any, W: np.ndarray, b: np.ndarray, target: np.ndarray, sw: np.ndarray,
        dtype: np.dtype,
    ) -> tuple[float, np.ndarray, np.ndarray]: ...

    def raw_prediction(self, W: np.ndarray, b: np.ndarray, dtype: np.dtype) -> np.ndarray: ...

    def rmatmul(self, R: np.ndarray) -> np.ndarray: ...

    def dense_rows(self, rows: np.ndarray | slice, dtype: np.dtype) -> np.ndarray: ...


def _loss_sum(s: np.ndarray, loss_values: np.ndarray) -> float:
    return float(np.sum(s * loss_values, dtype=np.float64))


class DenseKernel:
    """Row blocks of a dense matrix, two BLAS products per block, blocks shared by threads.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
        Float or integer; never copied (integer blocks are cast one at a time).
    n_threads : int, default=1
    """

    name = "dense"

    def __init__(self, X: np.ndarray, n_threads: int = 1) -> None:
        self.X = X
        self.n_samples, self.n_features = X.shape
        self.stored_dtype = X.dtype
        self.n_threads = max(1, int(n_threads))
        itemsize = compute_dtype_of(X.dtype).itemsize
        self.block_rows = int(
            np.clip(_BLOCK_BYTES // max(1, self.n_features * itemsize), 64, 16384)
        )

    def _block_runs(self) -> list[list[slice]]:
        rows = self.block_rows
        blocks = [slice(i, min(i + rows, self.n_samples)) for i in range(0, self.n_samples, rows)]
        n_threads = self.n_threads
        if n_threads == 1 or self.X.size < _MIN_ENTRIES_FOR_THREADS or len(blocks) < 2:
            return [blocks]
        n_threads = min(n_threads, len(blocks))
        bounds = np.linspace(0, len(blocks), n_threads + 1).astype(int)
        return [blocks[bounds[i] : bounds[i + 1]] for i in range(n_threads)]

    def _block(self, sl: slice, dtype: np.dtype) -> np.ndarray:
        X_b = self.X[sl]
        return X_b if X_b.dtype == dtype else X_b.astype(dtype)

    def loss_gradient(
        self, loss: Any, W: np.ndarray, b: np.ndarray, target: np.ndarray, sw: np.ndarray,
        dtype: np.dtype,
    ) -> tuple[float, np.ndarray, np.ndarray]:
        """Return ``(sum_n s_n loss_n, R^T X, sum_n R_n)`` (module docstring)."""
        W_T = np.ascontiguousarray(W.T, dtype=dtype)  # (n_features, n_outputs)
        b = np.asarray(b).astype(dtype)
        per_sample_sw = sw.shape[0] == self.n_samples
        n_outputs, n_features = W.shape
        loss_gradient = loss.loss_gradient

        def work(blocks: list[slice]) -> tuple[float, np.ndarray, np.ndarray]:
            loss_sum = 0.0
            A = np.zeros((n_outputs, n_features))
            r_sum = np.zeros(n_outputs)
            for sl in blocks:
                X_b = self._block(sl, dtype)
                Z = X_b @ W_T  # raw_prediction of the block
                Z += b
                values, R = loss_gradient(target[sl], Z)
                s = sw[sl] if per_sample_sw else sw
                loss_sum += _loss_sum(s, values)
                R *= s
                A += R.T @ X_b  # accumulated in float64
                r_sum += R.sum(axis=0, dtype=np.float64)
            return loss_sum, A, r_sum

        return _reduce(_map(work, self._block_runs()))

    def raw_prediction(self, W: np.ndarray, b: np.ndarray, dtype: np.dtype) -> np.ndarray:
        """Return ``X W^T + b`` of shape (n_samples, n_outputs) in ``dtype``."""
        W_T = np.ascontiguousarray(W.T, dtype=dtype)
        Z = np.empty((self.n_samples, W.shape[0]), dtype=dtype)
        for run in self._block_runs():
            for sl in run:
                np.matmul(self._block(sl, dtype), W_T, out=Z[sl])
        Z += np.asarray(b).astype(dtype)
        return Z

    def rmatmul(self, R: np.ndarray) -> np.ndarray:
        """Return ``R^T X`` of shape (n_outputs, n_features) in float64."""
        out = np.zeros((R.shape[1], self.n_features))
        for run in self._block_runs():
            for sl in run:
                X_b = self._block(sl, R.dtype if R.dtype.kind == "f" else np.dtype(np.float64))
                out += R[sl].T @ X_b
        return out

    def dense_rows(self, rows: np.ndarray | slice, dtype: np.dtype) -> np.ndarray:
        """Return the rows ``rows`` of X as a dense array of ``dtype``."""
        return np.asarray(self.X[rows], dtype=dtype)


class ScipySparseKernel:
    """scipy.sparse CSR products over the whole matrix (single-threaded; fallback without numba).

    Parameters
    ----------
    X : scipy.sparse matrix of shape (n_samples, n_features)
        Converted to CSR (no copy when it already is one).
    """

    name = "sparse"

    def __init__(self, X: Any, n_threads: int = 1) -> None:
        self.X = sp.csr_matrix(X)
        self.n_samples, self.n_features = X.shape
        self.stored_dtype = self.X.dtype
        self.n_threads = 1

    def loss_gradient(
        self, loss: Any, W: np.ndarray, b: np.ndarray, target: np.ndarray, sw: np.ndarray,
        dtype: np.dtype,
    ) -> tuple[float, np.ndarray, np.ndarray]:
        """Return ``(sum_n s_n loss_n, R^T X, sum_n R_n)`` (module docstring)."""
        Z = self.raw_prediction(W, b, dtype)
        values, R = loss.loss_gradient(target, Z)
        loss_sum = _loss_sum(sw, values)
        R *= sw
        return loss_sum, self.rmatmul(R), R.sum(axis=0, dtype=np.float64)

    def raw_prediction(self, W: np.ndarray, b: np.ndarray, dtype: np.dtype) -> np.ndarray:
        """Return ``X W^T + b`` of shape (n_samples, n_outputs) in ``dtype``."""
        Z = np.asarray(self.X @ np.ascontiguousarray(W.T, dtype=dtype)).astype(dtype, copy=False)
        Z += np.asarray(b).astype(dtype)
        return Z

    def rmatmul(self, R: np.ndarray) -> np.ndarray:
        """Return ``R^T X`` of shape (n_outputs, n_features) in float64."""
        return np.asarray(self.X.T @ R, dtype=np.float64).T.copy()

    def dense_rows(self, rows: np.ndarray | slice, dtype: np.dtype) -> np.ndarray:
        """Return the rows ``rows`` of X as a dense array of ``dtype``."""
        return self.X[rows].toarray().astype(dtype, copy=False)


class CompiledCsrKernel:
    """Fused compiled pass over compressed rows (numba), one row range per thread.

    Parameters
    ----------
    X : ndarray or scipy.sparse matrix of shape (n_samples, n_features)
        Compressed once: values in their dtype (integers that fit stay 1-2 bytes), column
        indices as uint16 when n_features <= 65,536.
    n_threads : int, default=1
    """

    name = "csr"

    def __init__(self, X: Any, n_threads: int = 1) -> None:
        from mnist_logreg.linear_model import _numba_kernels as nk

        self._nk = nk
        self.n_samples, self.n_features = X.shape
        index_dtype = np.uint16 if self.n_features <= 65536 else np.int32
        if sp.issparse(X):
            X = sp.csr_matrix(X)
            if not X.has_canonical_format:
                X = X.copy()
                X.sum_duplicates()
            self.data = _compact_values(X.data)
            self.indices = X.indices.astype(index_dtype)
            self.indptr = X.indptr.astype(np.int64)
        else:
            self.data, self.indices, self.indptr = nk.dense_to_compact_csr(X)
            self.data = _compact_values(self.data)
        self.stored_dtype = self.data.dtype
        self.n_threads = max(1, int(n_threads))
        self._converted: tuple[int, int, np.ndarray, np.ndarray] | None = None

    @property
    def nnz(self) -> int:
        """Number of stored entries."""
        return int(self.indptr[-1])

    def _ranges(self) -> list[tuple[int, int]]:
        """One row range per thread, balanced by stored entries."""
        n_threads = self.n_threads if self.nnz >= _MIN_ENTRIES_FOR_THREADS // 4 else 1
        if n_threads == 1 or self.n_samples < 2:
            return [(0, self.n_samples)]
        targets = np.linspace(0, self.nnz, n_threads + 1)
        bounds = np.searchsorted(self.indptr, targets).clip(0, self.n_samples)
        bounds[0], bounds[-1] = 0, self.n_samples
        return [(int(a), int(b)) for a, b in itertools.pairwise(bounds) if b > a]

    def _float64_inputs(self, target: np.ndarray, sw: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Target and weights as C-contiguous arrays the kernels read (once per pair of arrays).

        Weights become float64; a float32 target (0/1 labels, exact) stays float32, since the
        kernels read every entry as float64 anyway (no 4.6 MiB copy for MNIST).
        """
        key = (id(target), id(sw))
        if self._converted is None or self._converted[:2] != key:
            sw2 = sw if sw.ndim == 2 else sw[:, None]
            if sw2.shape[0] != self.n_samples:  # one weight for all rows
                sw2 = np.broadcast_to(sw2, (self.n_samples, sw2.shape[1]))
            target_dtype = np.float32 if np.asarray(target).dtype == np.float32 else np.float64
            self._converted = (
                key[0], key[1],
                np.ascontiguousarray(target, dtype=target_dtype),
                np.ascontiguousarray(sw2, dtype=np.float64),
            )
        return self._converted[2], self._converted[3]

    def loss_gradient(
        self, loss: Any, W: np.ndarray, b: np.ndarray, target: np.ndarray, sw: np.ndarray,
        dtype: np.dtype,
    ) -> tuple[float, np.ndarray, np.ndarray]:
        """Return ``(sum_n s_n loss_n, R^T X, sum_n R_n)``, computed in float64."""
        W_T = np.ascontiguousarray(W.T, dtype=np.float64)
        b = np.ascontiguousarray(b, dtype=np.float64)
        t64, sw64 = self._float64_inputs(target, sw)
        n_outputs = W.shape[0]
        kernel = self._nk.fused_pass(loss.name, n_outputs)
        flat = getattr(kernel, "flat", False)  # generated kernels read W^T raveled
        W_arg = W_T.ravel() if flat else W_T
        data, indices, indptr = self.data, self.indices, self.indptr

        def work(rng: tuple[int, int]) -> tuple[float, np.ndarray, np.ndarray]:
            loss_sum, A_T, r_sum = kernel(data, indices, indptr, W_arg, b, t64, sw64, *rng)
            if flat:
                A_T = A_T.reshape(-1, n_outputs)
            return loss_sum, A_T.T, r_sum

        return _reduce(_map(work, self._ranges()))

    def raw_prediction(self, W: np.ndarray, b: np.ndarray, dtype: np.dtype) -> np.ndarray:
        """Return ``X W^T + b`` of shape (n_samples, n_outputs) (computed in float64)."""
        W_T = np.ascontiguousarray(W.T, dtype=np.float64)
        b = np.ascontiguousarray(b, dtype=np.float64)
        Z = np.empty((self.n_samples, W.shape[0]))
        _map(lambda rng: self._nk.csr_raw_prediction(
            self.data, self.indices, self.indptr, W_T, b, Z, *rng), self._ranges())
        return Z.astype(dtype, copy=False)

    def rmatmul(self, R: np.ndarray) -> np.ndarray:
        """Return ``R^T X`` of shape (n_outputs, n_features) in float64."""
        R = np.ascontiguousarray(R, dtype=np.float64)
        out_T = np.zeros((self.n_features, R.shape[1]))
        self._nk.csr_rmatmul(self.data, self.indices, self.indptr, R, out_T, 0, self.n_samples)
        return out_T.T.copy()

    def dense_rows(self, rows: np.ndarray | slice, dtype: np.dtype) -> np.ndarray:
        """Return the rows ``rows`` of X as a dense array of ``dtype``."""
        idx = (np.arange(*rows.indices(self.n_samples)) if isinstance(rows, slice)
               else np.asarray(rows))
        out = np.zeros((idx.size, self.n_features), dtype=dtype)
        self._nk.csr_take_dense(self.data, self.indices, self.indptr, idx.astype(np.int64), out)
        return out


def _compact_values(values: np.ndarray) -> np.ndarray:
    """Stored values in the smallest exact dtype among uint8, float32 and float64."""
    if values.dtype in (np.uint8, np.float32, np.float64):
        return values
    if values.dtype.kind in "uib":
        if values.size == 0 or (values.min() >= 0 and values.max() <= 255):
            return values.astype(np.uint8)
        if np.abs(values).max() < 2**24:
            return values.astype(np.float32)
    return values.astype(np.float64)


Partial = tuple[float, np.ndarray, np.ndarray]


def _reduce(parts: list[Partial]) -> Partial:
    loss_sum = sum(p[0] for p in parts)
    A, r_sum = parts[0][1], parts[0][2]
    for p in parts[1:]:
        A = A + p[1]
        r_sum = r_sum + p[2]
    return float(loss_sum), A, r_sum


KERNELS: dict[str, type] = {
    "dense": DenseKernel,
    "sparse": ScipySparseKernel,
    "csr": CompiledCsrKernel,
}


# Densities up to which the compiled CSR kernel beats the dense one on a dense matrix, with an
# unrolled (vectorized) kernel for the number of outputs / with the loop kernel. Measured on
# MNIST and Fashion-MNIST pixels thresholded to densities 0.23-0.50 (60,000 x 784, softmax over
# 10 classes, CPU ms per pass, same process, 2026-12-03): dense uint8 (cast per block) 50-58
# whatever the density; vectorized CSR about 4 + 92 x density (22 on MNIST's 19%, 38 at 34%,
# 47 at 44%, 50-54 on Fashion-MNIST's 50%, level with dense there). The limit stays below the
# break-even so that denser data keep the dense kernel; the loop kernel costs about twice the
# former unrolled one (about 12 + 260 x density).
_CSR_MAX_DENSITY = 0.4
_CSR_LOOP_MAX_DENSITY = 0.1
# Rows sampled to estimate a dense matrix's density.
_DENSITY_SAMPLE_ROWS = 2000


def estimated_density(X: np.ndarray) -> float:
    """Fraction of non-zero entries of dense ``X``, from up to 2,000 evenly spaced rows."""
    n = X.shape[0]
    if n == 0 or X.shape[1] == 0:
        return 1.0
    step = max(1, n // _DENSITY_SAMPLE_ROWS)
    sample = X[::step]
    return float(np.count_nonzero(sample)) / sample.size


def select_kernel(
    X: Any, n_threads: int = 1, kernel: str = "auto", *, loss: str = "multinomial",
    n_outputs: int = 10,
) -> PassKernel:
    """Return the pass kernel for ``X``: by name, or chosen from its storage (``"auto"``).

    Rule (``"auto"``): scipy.sparse input gets the compiled CSR kernel (scipy's products without
    numba). A dense matrix of at least 2 million entries whose density is at most 40% (10%
    when no unrolled kernel exists for ``loss`` and ``n_outputs``) is compressed once and gets
    the compiled CSR kernel too; any other dense matrix the dense blocked kernel. Thresholds
    from the measurements next to ``_CSR_MAX_DENSITY``.

    Parameters
    ----------
    X : ndarray or scipy.sparse matrix of shape (n_samples, n_features)
    n_threads : int, default=1
    kernel : {"auto", "dense", "sparse", "csr"}, default="auto"
    loss : {"binary", "multinomial"}, default="multinomial"
    n_outputs : int, default=10

    Returns
    -------
    kernel : PassKernel
    """
    if kernel == "auto":
        if sp.issparse(X):
            kernel = "csr" if numba_available() else "sparse"
        elif X.size >= _MIN_ENTRIES_FOR_THREADS and numba_available():
            from mnist_logreg.linear_model._numba_kernels import UNROLLED

            limit = _CSR_MAX_DENSITY if (loss, n_outputs) in UNROLLED else _CSR_LOOP_MAX_DENSITY
            kernel = "csr" if estimated_density(X) <= limit else "dense"
        else:
            kernel = "dense"
    if kernel not in KERNELS:
        raise ValueError(
            f"Unknown kernel {kernel!r}; known kernels: auto, {', '.join(sorted(KERNELS))}."
        )
    if kernel == "dense" and sp.issparse(X):
        raise ValueError("The 'dense' kernel needs a dense X; got a scipy.sparse matrix.")
    if kernel == "sparse" and not sp.issparse(X):
        X = sp.csr_matrix(X)
    return KERNELS[kernel](X, n_threads)


def reference_loss_gradient(
    loss: Any, X: Any, W: np.ndarray, b: np.ndarray, target: np.ndarray, sw: np.ndarray
) -> tuple[float, np.ndarray, np.ndarray]:
    """Plain numpy float64 pass (no blocks, no threads): what every kernel must agree with.

    Returns
    -------
    loss_sum : float
    A : ndarray of shape (n_outputs, n_features)
        ``R^T X``.
    r_sum : ndarray of shape (n_outputs,)
    """
    X64 = X.toarray() if sp.issparse(X) else np.asarray(X)
    X64 = X64.astype(np.float64)
    Z = X64 @ np.asarray(W, dtype=np.float64).T + np.asarray(b, dtype=np.float64)
    values, R = loss.loss_gradient(np.asarray(target, dtype=np.float64), Z)
    sw = np.asarray(sw, dtype=np.float64)
    sw = sw if sw.ndim == 2 else sw[:, None]
    R = R * sw
    return float(np.sum(sw * values)), R.T @ X64, R.sum(axis=0)


def linear_predict(X: Any, coef: np.ndarray, intercept: np.ndarray) -> np.ndarray:
    """Return ``X @ coef.T + intercept`` for dense (any numeric dtype) or sparse ``X``.

    Float input follows numpy's promotion (float32 rows with float32 ``coef`` stay float32);
    integer rows are cast block by block to float32 or float64 (no float copy of the whole
    matrix); sparse input uses its own product.

    Parameters
    ----------
    X : ndarray or scipy.sparse matrix of shape (n_samples, n_features)
    coef : ndarray of shape (n_outputs, n_features)
    intercept : ndarray of shape (n_outputs,)

    Returns
    -------
    raw_prediction : ndarray of shape (n_samples, n_outputs)
    """
    coef = np.asarray(coef)
    if sp.issparse(X):
        Z = np.asarray(X @ coef.T)
        if Z.dtype.kind != "f":
            Z = Z.astype(np.float64)
        return Z + intercept
    X = np.asarray(X)
    if X.dtype.kind == "f":
        return X @ coef.T + intercept
    dtype = np.result_type(compute_dtype_of(X.dtype), coef.dtype)
    W_T = np.ascontiguousarray(coef.T, dtype=dtype)
    Z = np.empty((X.shape[0], coef.shape[0]), dtype=dtype)
    rows = max(64, _BLOCK_BYTES // max(1, X.shape[1] * dtype.itemsize))
    for start in range(0, X.shape[0], rows):
        np.matmul(X[start : start + rows].astype(dtype), W_T, out=Z[start : start + rows])
    Z += np.asarray(intercept, dtype=dtype)
    return Z
