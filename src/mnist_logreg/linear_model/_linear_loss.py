"""The regularized objective of a linear model, written once, with standardization folded in.

For rows x_n of ``X``, target rows t_n, sample weights s_n, weights ``coef`` V of shape
(n_outputs, n_features) and ``intercept`` c of shape (n_outputs,)::

    objective(V, c) = 1/2 ||V||^2 + C * sum_n s_n * loss(t_n, V u_n + c)

with the intercept not penalized, where u_n is the row the model sees: x_n itself, or, when a
feature mean m and scale s are given (``mean``, ``scale``), the standardized row
u_n = (x_n - m) / s of scikit-learn's StandardScaler. This is scikit-learn's definition, so a
given C means the same model here and in ``StandardScaler -> LogisticRegression``. Solvers
minimize the same function divided by ``C * sum_n s_n`` (the mean form,
``mean_n loss_n + ||V||^2 / (2 C sum_n s_n)``, of order one for every C and n_samples); that
scaling lives only in :attr:`LinearModelLoss.scale`.

Standardization, folded
-----------------------
The standardized matrix is never built. Since standardization is affine,

    V (x - m) / s + c = W x + b,    W = V / s (column j divided by s_j),    b = c - W m,

so a pass reads the raw rows (uint8 pixels, sparse rows: whatever the kernel holds) with the
raw-space weights W and offsets b. With R the matrix of rows R_n = s_n d loss_n / d z_n and
A = R^T X (what a kernel returns, raw space) and r = sum_n R_n, the loss term's gradient folds
back the same way:

    d/dV  sum_n s_n loss_n = R^T U = (R^T X - r m^T) / s = (A - r m^T) / s
    d/dc  sum_n s_n loss_n = r.

The penalty stays 1/2 ||V||^2 on the standardized weights (V = W * s): the objective is exactly
that of the pipeline. Without an intercept the offset b = -W m is still applied (StandardScaler
centres the rows whether or not the classifier has an intercept). Curvature models
(:meth:`LinearModelLoss.gram`, :meth:`LinearModelLoss.curvature_blocks`) standardize row blocks
on the fly, once per data set.

One evaluation is one pass of a kernel (:mod:`._kernels`: dense row blocks in cache shared by
threads, or a compiled fused pass over compressed rows); sums over rows are accumulated in
float64 while products run in the arithmetic dtype (float32 for float32 data and small
integers, until a solver asks for more precision).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.linalg import blas

from mnist_logreg.linear_model._kernels import (
    PassKernel,
    compute_dtype_of,
    select_kernel,
    thread_pool,
)
from mnist_logreg.linear_model._loss import BinaryCrossEntropy, MultinomialCrossEntropy
from mnist_logreg.linear_model._solvers import _symmetrize_from_lower

__all__ = ["LinearModelLoss"]

# Rows per block when building curvature models from standardized row blocks, and blocks per
# chunk (the unit whose product is accumulated in the data's dtype, see gram()).
_GRAM_BLOCK_ROWS = 512
_GRAM_CHUNK_BLOCKS = 8


class LinearModelLoss:
    """Objective ``1/2 ||V||^2 + C sum_n s_n loss(t_n, V u_n + c)`` and its derivatives.

    The parameters of the solvers are one flat float64 vector ``w`` holding the matrix
    ``[V | c]`` of shape (n_outputs, n_features + fit_intercept) row by row, in the space of the
    rows u_n the model sees (standardized ones when ``mean`` and ``scale`` are given).

    Parameters
    ----------
    loss : {BinaryCrossEntropy, MultinomialCrossEntropy}
        The pointwise loss.
    X : ndarray or scipy.sparse matrix of shape (n_samples, n_features)
        Raw rows, float or integer; never copied whole into another dtype.
    target : ndarray of shape (n_samples, n_outputs)
        0/1 labels per column (binary) or one-hot rows (multinomial).
    sample_weight : ndarray of shape (n_samples,) or (n_samples, n_outputs), default=None
        Weights s_n (one per sample, or one per sample and output for one-vs-rest).
    C : float, default=1.0
        Inverse regularization strength.
    fit_intercept : bool, default=True
        Whether ``c`` is a parameter (otherwise it is zero).
    n_threads : int, default=1
        Threads sharing one evaluation. Callers should limit the BLAS libraries to one thread
        each while evaluating with several.
    mean, scale : ndarray of shape (n_features,), default=None
        Standardization folded into the model (module docstring): u_n = (x_n - mean) / scale.
    kernel : str or PassKernel, default="auto"
        The pass kernel (name of :data:`~._kernels.KERNELS`, or "auto": chosen from X).
    """

    def __init__(
        self,
        loss: type[BinaryCrossEntropy] | type[MultinomialCrossEntropy],
        X: Any,
        target: np.ndarray,
        sample_weight: np.ndarray | None = None,
        *,
        C: float = 1.0,
        fit_intercept: bool = True,
        n_threads: int = 1,
        mean: np.ndarray | None = None,
        scale: np.ndarray | None = None,
        kernel: str | PassKernel = "auto",
    ) -> None:
        self.loss = loss
        self.X = X
        n_samples, n_features = X.shape
        self.n_threads = max(1, int(n_threads))
        self.kernel: PassKernel = (
            select_kernel(X, self.n_threads, kernel, loss=loss.name, n_outputs=target.shape[1])
            if isinstance(kernel, str) else kernel
        )
        # Arithmetic dtype: float32 for float32 data and small integers, until a solver asks
        # for more precision (blocks are then cast to float64 as they are read, never copied).
        self.compute_dtype = compute_dtype_of(X.dtype)
        target_dtype: np.dtype = self.compute_dtype
        if self.kernel.name == "csr":  # the compiled kernel computes in float64 whatever X holds
            self.compute_dtype = np.dtype(np.float64)
            # and reads each target entry as float64: a float32 target (0/1 labels, exact) is
            # kept as it is instead of a float64 copy (4.6 MiB for 60,000 rows and 10 classes)
            target = np.asarray(target)
            target_dtype = np.dtype(np.float32 if target.dtype == np.float32 else np.float64)
        self.target = np.asarray(target, dtype=target_dtype)
        if sample_weight is None:
            sample_weight = np.ones(n_samples, dtype=self.compute_dtype)
        sample_weight = np.asarray(sample_weight, dtype=self.compute_dtype)
        # Stored as a column (n_samples, 1) or a matrix (n_samples, n_outputs): broadcasts on Z.
        self.sample_weight = (
            sample_weight[:, None] if sample_weight.ndim == 1 else sample_weight
        )
        self.C = float(C)
        self.fit_intercept = bool(fit_intercept)
        self.n_samples = n_samples
        self.n_features = n_features
        self.n_outputs = self.target.shape[1]
        if (mean is None) != (scale is None):
            raise ValueError("Pass both mean and scale to fold a standardization, or neither.")
        self.mean = None if mean is None else np.asarray(mean, dtype=np.float64)
        self.feature_scale = None if scale is None else np.asarray(scale, dtype=np.float64)
        # sum_n s_n (per output for one-vs-rest; the scale uses the mean over outputs)
        self.weight_sum = float(np.mean(self.sample_weight.sum(axis=0, dtype=np.float64)))
        # Quantities that depend on X, target and weights but not on C (shared by with_C copies).
        self._cache: dict[str, object] = {}

    # ----------------------------------------------------------------------------------------
    # parameters
    @property
    def n_params(self) -> int:
        """Length of the flat parameter vector."""
        return self.n_outputs * (self.n_features + self.fit_intercept)

    @property
    def scale(self) -> float:
        """Factor from the objective to what solvers minimize: ``1 / (C sum_n s_n)``."""
        return 1.0 / (self.C * self.weight_sum)

    def with_C(self, C: float) -> LinearModelLoss:
        """Return the same objective for another ``C``, sharing the data (for paths)."""
        other = object.__new__(LinearModelLoss)
        other.__dict__.update(self.__dict__)
        other.C = float(C)
        # ||grad(0)|| is proportional to C in the objective's scale and independent of C in the
        # solver's scale, so the cached reference stays valid.
        return other

    def unpack(self, w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Split a flat parameter vector into ``coef`` and ``intercept``.

        Parameters
        ----------
        w : ndarray of shape (n_params,)

        Returns
        -------
        coef : ndarray of shape (n_outputs, n_features)
        intercept : ndarray of shape (n_outputs,)
            Zeros when ``fit_intercept`` is false.
        """
        Wb = w.reshape(self.n_outputs, self.n_features + self.fit_intercept)
        coef = Wb[:, : self.n_features]
        if self.fit_intercept:
            return coef, Wb[:, -1]
        return coef, np.zeros(self.n_outputs, dtype=w.dtype)

    def pack(self, coef: np.ndarray, intercept: np.ndarray | None = None) -> np.ndarray:
        """Join ``coef`` of shape (n_outputs, n_features) and ``intercept`` into a flat vector."""
        coef = np.asarray(coef, dtype=np.float64).reshape(self.n_outputs, self.n_features)
        if not self.fit_intercept:
            return coef.ravel().copy()
        if intercept is None:
            intercept = np.zeros(self.n_outputs)
        b = np.asarray(intercept, dtype=np.float64).reshape(self.n_outputs, 1)
        return np.hstack([coef, b]).ravel()

    # ----------------------------------------------------------------------------------------
    # the fold: standardized parameters (V, c) <-> raw-space weights (W, b)
    def fold(self, coef: np.ndarray, intercept: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Return the raw-space ``W = V / s`` and ``b = c - W m`` (identity without a fold).

        Parameters
        ----------
        coef : ndarray of shape (n_outputs, n_features)
            V, weights of the standardized rows.
        intercept : ndarray of shape (n_outputs,)
            c.

        Returns
        -------
        W : ndarray of shape (n_outputs, n_features), float64
        b : ndarray of shape (n_outputs,), float64
        """
        coef = np.asarray(coef, dtype=np.float64)
        intercept = np.asarray(intercept, dtype=np.float64)
        if self.mean is None or self.feature_scale is None:
            return coef, intercept
        W = coef / self.feature_scale
        return W, intercept - W @ self.mean

    def _unfold_gradient(self, A: np.ndarray, r: np.ndarray) -> np.ndarray:
        """Return the gradient in V of a loss term from ``A = R^T X`` and ``r = sum_n R_n``.

        d/dV sum_n s_n loss_n = (A - r m^T) / s (module docstring).
        """
        if self.mean is None or self.feature_scale is None:
            return A
        A = A - np.outer(r, self.mean)
        A /= self.feature_scale
        return A

    def _standardized(self, X_b: np.ndarray) -> np.ndarray:
        """Return rows u = (x - m) / s of a dense block, in the block's (float) dtype.

        A block that owns its memory (a densified or cast copy) is standardized in place.
        """
        if self.mean is None or self.feature_scale is None:
            return X_b
        if X_b.base is None and X_b.flags.writeable:
            X_b -= self.mean.astype(X_b.dtype)
            U = X_b
        else:
            U = X_b - self.mean.astype(X_b.dtype)
        U /= self.feature_scale.astype(X_b.dtype)
        return U

    def raw_prediction(self, coef: np.ndarray, intercept: np.ndarray) -> np.ndarray:
        """Return ``V u_n + c`` for every row, shape (n_samples, n_outputs), compute dtype."""
        W, b = self.fold(coef, intercept)
        return self.kernel.raw_prediction(W, b, self.compute_dtype)

    # ----------------------------------------------------------------------------------------
    # objective in scikit-learn's scale
    def objective(self, coef: np.ndarray, intercept: np.ndarray) -> float:
        """Return ``1/2 ||V||^2 + C sum_n s_n loss(t_n, V u_n + c)``: scikit-learn's scale.

        Parameters
        ----------
        coef : ndarray of shape (n_outputs, n_features)
        intercept : ndarray of shape (n_outputs,)

        Returns
        -------
        objective : float
        """
        w = self.pack(coef, intercept if self.fit_intercept else None)
        value, _ = self.value_and_grad(w)
        return value / self.scale

    # ----------------------------------------------------------------------------------------
    # what solvers minimize: scale * objective
    def value_and_grad(self, w: np.ndarray) -> tuple[float, np.ndarray]:
        """Return the solver's objective and its gradient at ``w``, in one pass over ``X``.

        f(w) = scale * (1/2 ||V||^2 + C sum_n s_n loss_n), with scale = 1 / (C sum_n s_n);
        grad_V f = scale * (V + C R^T U), grad_c f = scale * C sum_n R_n, where
        R_n = s_n * d loss_n / d z_n and R^T U = (R^T X - r m^T) / s when folded.

        Parameters
        ----------
        w : ndarray of shape (n_params,)

        Returns
        -------
        value : float
        grad : ndarray of shape (n_params,), float64
        """
        coef, intercept = self.unpack(w)
        W, b = self.fold(coef, intercept)
        loss_sum, A, r_sum = self.kernel.loss_gradient(
            self.loss, W, b, self.target, self.sample_weight, self.compute_dtype
        )
        grad_coef = self._unfold_gradient(A, r_sum)
        C, scale = self.C, self.scale
        # objective = 1/2 ||V||^2 + C sum_n s_n loss_n
        value = 0.5 * float(np.vdot(coef, coef)) + C * loss_sum
        # gradient = V + C R^T U  (and C sum_n R_n for the intercept)
        grad_coef *= C
        grad_coef += coef
        if self.fit_intercept:
            grad = np.hstack([grad_coef, C * r_sum[:, None]]).ravel()
        else:
            grad = grad_coef.ravel()
        grad *= scale
        if "grad_at_zero" not in self._cache and not np.any(w):
            # a cold start's first evaluation is also the stopping rule's reference
            self._cache["grad_at_zero"] = float(np.max(np.abs(grad)))
        return value * scale, grad

    def increase_precision(self) -> bool:
        """Switch float32 data to float64 arithmetic; return False if already there.

        Blocks of ``X`` are then cast as they are read (exact: every float32 is a float64), so
        memory stays at one copy of ``X``; a pass costs about twice as much. Solvers call this
        when float32 rounding stops their progress before the tolerance is met.
        """
        if self.compute_dtype == np.float64:
            return False
        self.compute_dtype = np.dtype(np.float64)
        return True

    def _row_weight(self, sl: slice) -> np.ndarray:
        sw = self.sample_weight
        return sw[sl] if sw.shape[0] == self.n_samples else sw

    # ----------------------------------------------------------------------------------------
    # quantities solvers use to calibrate themselves
    def grad_norm_at_zero(self) -> float:
        """Return max |grad f(0)|, the gradient's size at W = 0, b = 0 (solver scale).

        Stopping rules compare the gradient with this reference: it depends neither on the
        starting point nor (in the solver's scale) on C, so a relative tolerance means the same
        thing for every C and every start.
        """
        if "grad_at_zero" not in self._cache:
            # grad f(0) = X~^T S (P(0) - T) / sum_n s_n: no C left in the solver's scale.
            _, g = self.value_and_grad(np.zeros(self.n_params))
            self._cache["grad_at_zero"] = float(np.max(np.abs(g)))
        return float(self._cache["grad_at_zero"])  # type: ignore[arg-type]

    def gram(self) -> np.ndarray:
        """Return ``G = U~^T diag(s) U~ / sum_n s_n`` with ``U~ = [U, 1]``, computed once.

        The weighted second-moment matrix of the rows the model sees (standardized when
        folded), with the intercept's column of ones when ``fit_intercept``: the curvature model
        of the preconditioner. Every row counts: a row subsample misses the rare pixels, and the
        preconditioner then amplifies exactly the directions it knows least. Computed as
        ``Y_b^T Y_b`` with ``Y_b = sqrt(s_b) U_b`` per dense (standardized) block, a symmetric
        rank-k update; one pass over ``X``, cached and shared by :meth:`with_C` copies. Sample
        weights per output (one-vs-rest) enter as their mean.

        Returns
        -------
        gram : ndarray of shape (n_features + fit_intercept, n_features + fit_intercept)
            A new float64 array on each call (callers may modify it in place).
        """
        if "gram" in self._cache:
            return np.array(self._cache["gram"], dtype=np.float64)
        sw = self.sample_weight
        n_features = self.n_features
        uniform = bool(np.all(sw == sw.flat[0]))
        dtype = compute_dtype_of(self.kernel.stored_dtype)

        p = n_features + self.fit_intercept
        # Rows are taken in chunks of _GRAM_CHUNK_BLOCKS blocks; each chunk's product is
        # accumulated (lower triangle, symmetric rank-k updates) in the blocks' dtype and added
        # into one float64 matrix in chunk order, n_threads chunks at a time. The result does
        # not depend on the number of threads (the same data give the same bits) and no
        # thread holds a float64 copy.
        G = np.zeros((p, p))

        def work(blocks: list[slice]) -> tuple[np.ndarray, float, np.ndarray]:
            col_sum = np.zeros(n_features)
            total = 0.0
            acc = np.zeros((n_features, n_features), dtype=dtype, order="F")
            syrk = blas.ssyrk if acc.dtype == np.float32 else blas.dsyrk
            for sl in blocks:
                U_b = self._standardized(self.kernel.dense_rows(sl, dtype))
                if uniform:
                    s_b = np.full(U_b.shape[0], sw.flat[0], dtype=dtype)
                    Y = U_b
                else:
                    s_b = self._row_weight(sl).mean(axis=1).astype(dtype)
                    Y = U_b * np.sqrt(s_b)[:, None]
                col_sum += s_b @ U_b
                total += float(s_b.sum(dtype=np.float64))
                # Y^T Y as a a^T with a = Y^T, a Fortran-ordered view: no copy of the block
                syrk(1.0, Y.T, beta=1.0, c=acc, trans=0, lower=1, overwrite_c=1)
                del Y, U_b
            return col_sum, total, acc

        blocks = [slice(i, min(i + _GRAM_BLOCK_ROWS, self.n_samples))
                  for i in range(0, self.n_samples, _GRAM_BLOCK_ROWS)]
        chunks = [blocks[i : i + _GRAM_CHUNK_BLOCKS]
                  for i in range(0, len(blocks), _GRAM_CHUNK_BLOCKS)]
        n_threads = max(1, min(self.n_threads, len(chunks)))
        col_sum = np.zeros(n_features)
        total = 0.0
        for start in range(0, len(chunks), n_threads):
            round_ = chunks[start : start + n_threads]
            if len(round_) == 1:
                parts = [work(round_[0])]
            else:
                pool = thread_pool(len(round_))
                parts = [f.result() for f in [pool.submit(work, chunk) for chunk in round_]]
            for part in parts:  # in chunk order
                col_sum += part[0]
                total += part[1]
                G[:n_features, :n_features] += part[2]
            del parts
        _symmetrize_from_lower(G[:n_features, :n_features])
        if uniform:
            G[:n_features, :n_features] *= float(sw.flat[0])
        if self.fit_intercept:
            G[-1, :n_features] = col_sum
            G[:n_features, -1] = col_sum
            G[-1, -1] = total
        G /= max(total, np.finfo(np.float64).tiny)
        # Kept in the dtype the products were accumulated in (float32 for float32 data and
        # pixels: 2.4 MiB instead of 4.9 for MNIST, no precision the products had is lost).
        self._cache["gram"] = G.astype(dtype) if dtype != G.dtype else G.copy()
        return G

    def curvature_blocks(self, w: np.ndarray, max_rows: int = 10_000) -> np.ndarray:
        """Return per-output blocks of the loss term's Hessian at ``w`` (solver scale).

        B_k = U~^T diag(s * d_k) U~ / sum_n s_n, with d_nk the diagonal loss curvature
        (sigma(1 - sigma), or p_k (1 - p_k) for the softmax). These are the exact diagonal
        blocks of the Hessian (the whole Hessian for one-vs-rest, whose problems do not
        interact); the softmax's blocks between classes, -U~^T diag(s p_k p_j) U~, are left out.
        For each output only the ``max_rows`` rows of largest curvature are summed exactly
        (densified and standardized); the others, individually small, enter as their total
        curvature times G (:meth:`gram`), as if spread like the data. Cost: one raw prediction
        and n_outputs rank-k updates of ``max_rows`` rows.

        Parameters
        ----------
        w : ndarray of shape (n_params,)
        max_rows : int, default=10000

        Returns
        -------
        blocks : ndarray of shape (n_outputs, n_features + fit_intercept, ...)
        """
        coef, intercept = self.unpack(w)
        Z = self.raw_prediction(coef, intercept).astype(np.float64)
        D = self.loss.hessian_diagonal(Z)
        D *= self.sample_weight
        del Z
        G = self.gram()
        n_features = self.n_features
        dtype = compute_dtype_of(self.kernel.stored_dtype)
        p = n_features + self.fit_intercept
        total = self.weight_sum
        m = min(max_rows, self.n_samples)
        blocks = np.empty((self.n_outputs, p, p))

        def work(outputs: list[int]) -> None:
            for k in outputs:
                d = D[:, k]
                rows = np.argpartition(-d, m - 1)[:m] if m < self.n_samples else slice(None)
                d_rows = d[rows]
                U = self._standardized(self.kernel.dense_rows(rows, dtype))
                Y = U * np.sqrt(d_rows).astype(dtype)[:, None]
                B = blocks[k]
                B[:n_features, :n_features] = Y.T @ Y  # symmetric rank-k update
                if self.fit_intercept:
                    col = d_rows.astype(dtype) @ U
                    B[-1, :n_features] = col
                    B[:n_features, -1] = col
                    B[-1, -1] = d_rows.sum()
                B /= total
                # rows outside the selection: their curvature, spread like the data
                rest = (float(d.sum()) - float(d_rows.sum())) / total
                B += rest * G

        n_threads = min(self.n_threads, self.n_outputs)
        if n_threads == 1:
            work(list(range(self.n_outputs)))
        else:
            pool = thread_pool(n_threads)
            futures = [pool.submit(work, list(range(i, self.n_outputs, n_threads)))
                       for i in range(n_threads)]
            for f in futures:
                f.result()
        return blocks

    @property
    def penalty_mask(self) -> np.ndarray:
        """Return 1 for penalized parameters (coef) and 0 for the intercept, shape (p,)."""
        mask = np.ones(self.n_features + self.fit_intercept)
        if self.fit_intercept:
            mask[-1] = 0.0
        return mask

