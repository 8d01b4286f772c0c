"""The regularized objective of a linear model, written once.

For rows x_n of ``X``, target rows t_n, sample weights s_n, weights ``coef`` W of shape
(n_outputs, n_features) and ``intercept`` b of shape (n_outputs,)::

    objective(W, b) = 1/2 ||W||^2 + C * sum_n s_n * loss(t_n, W x_n + b)

with the intercept not penalized. This is scikit-learn's definition, so a given C means the same
model here and there. Solvers minimize the same function divided by ``C * sum_n s_n`` (the mean
form, ``mean_n loss_n + ||W||^2 / (2 C sum_n s_n)``, of order one for every C and n_samples); that
scaling lives only in :attr:`LinearModelLoss.scale`.

One evaluation reads ``X`` once: rows are taken in blocks that stay in the processor cache and for
each block the raw prediction ``Z_b = X_b W^T + b``, the loss and its gradient ``R_b`` with respect
to ``Z_b`` and the contribution ``R_b^T X_b`` to the gradient are computed before moving on
(instead of two passes, ``X W^T`` then ``X^T R``, each streaming the whole matrix from memory).
Blocks are shared between threads; the matrix keeps its dtype (float32 stays float32), while the
sums over blocks are accumulated in float64.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from mnist_logreg.linear_model._loss import BinaryCrossEntropy, MultinomialCrossEntropy

__all__ = ["LinearModelLoss"]

# Bytes of X per row block: 4 MiB keeps a block, its raw predictions and its gradient in the
# per-core cache (L2 + a share of L3) on the machines we measured.
_BLOCK_BYTES = 4 * 2**20
# Below this many entries of X a single thread is faster than dispatching blocks to a pool.
_MIN_ENTRIES_FOR_THREADS = 2_000_000

_pool: ThreadPoolExecutor | None = None
_pool_pid: int | None = None


def _thread_pool(n_threads: int) -> ThreadPoolExecutor:
    """Return the module's thread pool, made anew after a fork (a forked pool has no threads)."""
    global _pool, _pool_pid
    if _pool is None or _pool_pid != os.getpid() or _pool._max_workers < n_threads:
        _pool = ThreadPoolExecutor(max_workers=max(n_threads, os.cpu_count() or 1))
        _pool_pid = os.getpid()
    return _pool


class LinearModelLoss:
    """Objective ``1/2 ||W||^2 + C sum_n s_n loss(t_n, W x_n + b)`` and its derivatives.

    The parameters of the solvers are one flat float64 vector ``w`` holding the matrix
    ``[W | b]`` of shape (n_outputs, n_features + fit_intercept) row by row.

    Parameters
    ----------
    loss : {BinaryCrossEntropy, MultinomialCrossEntropy}
        The pointwise loss.
    X : ndarray of shape (n_samples, n_features), float32 or float64
        Never copied; computations run in its dtype.
    target : ndarray of shape (n_samples, n_outputs)
        0/1 labels per column (binary) or one-hot rows (multinomial), in ``X``'s dtype.
    sample_weight : ndarray of shape (n_samples,) or (n_samples, n_outputs), default=None
        Weights s_n (one per sample, or one per sample and output for one-vs-rest).
    C : float, default=1.0
        Inverse regularization strength.
    fit_intercept : bool, default=True
        Whether ``b`` is a parameter (otherwise it is zero).
    n_threads : int, default=1
        Threads sharing the row blocks of one evaluation. Callers should limit the BLAS
        libraries to one thread each while evaluating with several.
    """

    def __init__(
        self,
        loss: type[BinaryCrossEntropy] | type[MultinomialCrossEntropy],
        X: np.ndarray,
        target: np.ndarray,
        sample_weight: np.ndarray | None = None,
        *,
        C: float = 1.0,
        fit_intercept: bool = True,
        n_threads: int = 1,
    ) -> None:
        self.loss = loss
        self.X = X
        self.target = target
        n_samples, n_features = X.shape
        if sample_weight is None:
            sample_weight = np.ones(n_samples, dtype=X.dtype)
        sample_weight = np.asarray(sample_weight, dtype=X.dtype)
        # Stored as a column (n_samples, 1) or a matrix (n_samples, n_outputs): broadcasts on Z.
        self.sample_weight = (
            sample_weight[:, None] if sample_weight.ndim == 1 else sample_weight
        )
        self.C = float(C)
        self.fit_intercept = bool(fit_intercept)
        self.n_samples = n_samples
        self.n_features = n_features
        self.n_outputs = target.shape[1]
        self.n_threads = max(1, int(n_threads))
        # Arithmetic dtype: X's own, until a solver asks for more precision (float32 data is
        # then cast to float64 block by block, never copied whole).
        self.compute_dtype = X.dtype
        # sum_n s_n (per output for one-vs-rest; the scale uses the mean over outputs)
        self.weight_sum = float(np.mean(self.sample_weight.sum(axis=0, dtype=np.float64)))
        itemsize = X.dtype.itemsize
        self.block_rows = int(np.clip(_BLOCK_BYTES // max(1, n_features * itemsize), 64, 16384))
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
    # row-block engine
    def _blocks(self) -> list[slice]:
        rows = self.block_rows
        return [slice(i, min(i + rows, self.n_samples)) for i in range(0, self.n_samples, rows)]

    def _map_blocks(self, work: Callable[[list[slice]], tuple]) -> list[tuple]:
        """Run ``work`` on contiguous runs of blocks, one run per thread; return the results."""
        blocks = self._blocks()
        n_threads = self.n_threads
        if n_threads == 1 or self.X.size < _MIN_ENTRIES_FOR_THREADS or len(blocks) < 2:
            return [work(blocks)]
        n_threads = min(n_threads, len(blocks))
        bounds = np.linspace(0, len(blocks), n_threads + 1).astype(int)
        pool = _thread_pool(n_threads)
        futures = [
            pool.submit(work, blocks[bounds[i] : bounds[i + 1]]) for i in range(n_threads)
        ]
        return [f.result() for f in futures]

    def raw_prediction(self, coef: np.ndarray, intercept: np.ndarray) -> np.ndarray:
        """Return ``X W^T + b`` of shape (n_samples, n_outputs) in ``X``'s dtype."""
        Z = self.X @ np.asarray(coef, dtype=self.X.dtype).T
        Z += np.asarray(intercept, dtype=self.X.dtype)
        return Z

    # ----------------------------------------------------------------------------------------
    # objective in scikit-learn's scale
    def objective(self, coef: np.ndarray, intercept: np.ndarray) -> float:
        """Return ``1/2 ||W||^2 + C sum_n s_n loss(t_n, W x_n + b)``: scikit-learn's scale.

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

        f(w) = scale * (1/2 ||W||^2 + C sum_n s_n loss_n), with scale = 1 / (C sum_n s_n);
        grad_W f = scale * (W + C R^T X), grad_b f = scale * C sum_n R_n, where
        R_n = s_n * d loss_n / d z_n.

        Parameters
        ----------
        w : ndarray of shape (n_params,)

        Returns
        -------
        value : float
        grad : ndarray of shape (n_params,), float64
        """
        coef, intercept = self.unpack(w)
        dtype = self.compute_dtype
        cast = dtype != self.X.dtype
        coef_T = np.ascontiguousarray(coef.T, dtype=dtype)  # (n_features, n_outputs)
        b = intercept.astype(dtype)
        X, target, sw = self.X, self.target, self.sample_weight
        per_sample_sw = sw.shape[0] == self.n_samples
        n_outputs, n_features = self.n_outputs, self.n_features
        loss_gradient = self.loss.loss_gradient

        def work(blocks: list[slice]) -> tuple[float, np.ndarray, np.ndarray]:
            loss_sum = 0.0
            grad_coef = np.zeros((n_outputs, n_features))
            grad_b = np.zeros(n_outputs)
            for sl in blocks:
                X_b = X[sl].astype(dtype) if cast else X[sl]
                Z = X_b @ coef_T  # raw_prediction of the block
                Z += b
                loss, R = loss_gradient(target[sl], Z)
                s = sw[sl] if per_sample_sw else sw
                loss_sum += float(np.sum(s * loss, dtype=np.float64))
                R *= s
                grad_coef += R.T @ X_b  # (n_outputs, n_features), accumulated in float64
                grad_b += R.sum(axis=0, dtype=np.float64)
            return loss_sum, grad_coef, grad_b

        parts = self._map_blocks(work)
        loss_sum = sum(p[0] for p in parts)
        grad_coef = parts[0][1]
        grad_b = parts[0][2]
        for p in parts[1:]:
            grad_coef += p[1]
            grad_b += p[2]
        C, scale = self.C, self.scale
        # objective = 1/2 ||W||^2 + C sum_n s_n loss_n
        value = 0.5 * float(np.vdot(coef, coef)) + C * loss_sum
        # gradient = W + C R^T X  (and C sum_n R_n for the intercept)
        grad_coef *= C
        grad_coef += coef
        if self.fit_intercept:
            grad = np.hstack([grad_coef, C * grad_b[:, None]]).ravel()
        else:
            grad = grad_coef.ravel()
        grad *= scale
        if "grad_at_zero" not in self._cache and not np.any(w):
            # a cold start's first evaluation is also the stopping rule's reference
            self._cache["grad_at_zero"] = float(np.max(np.abs(grad)))
        return value * scale, grad

    def hessp(self, w: np.ndarray) -> Callable[[np.ndarray], np.ndarray]:
        """Return the function ``v -> H(w) v`` (Hessian of the solver's objective at ``w``).

        The loss curvature at ``w`` is computed once (one pass over ``X``) and kept, of shape
        (n_samples, n_outputs); each product then reads ``X`` once more:
        H v = scale * (P V + C X~^T (s * hess_loss(U))), U = X~ V^T, where X~ = [X, 1] and
        P zeroes the intercept (not penalized).

        Parameters
        ----------
        w : ndarray of shape (n_params,)

        Returns
        -------
        hessp : callable
            Maps an ndarray of shape (n_params,) to one of the same shape.
        """
        coef, intercept = self.unpack(w)
        X = self.X
        dtype = self.compute_dtype
        cast = dtype != X.dtype
        curvature = self.loss.curvature(self.raw_prediction(coef, intercept).astype(dtype))
        n_outputs, n_features = self.n_outputs, self.n_features
        C, scale = self.C, self.scale
        hessian_product = self.loss.hessian_product

        def product(v: np.ndarray) -> np.ndarray:
            V, v_b = self.unpack(np.asarray(v, dtype=np.float64))
            V_T = np.ascontiguousarray(V.T, dtype=dtype)
            vb = v_b.astype(dtype)

            def work(blocks: list[slice]) -> tuple[np.ndarray, np.ndarray]:
                out = np.zeros((n_outputs, n_features))
                out_b = np.zeros(n_outputs)
                for sl in blocks:
                    X_b = X[sl].astype(dtype) if cast else X[sl]
                    U = X_b @ V_T
                    U += vb
                    Q = hessian_product(curvature[sl], U)  # loss Hessian times U, per row
                    Q *= self._row_weight(sl)
                    out += Q.T @ X_b
                    out_b += Q.sum(axis=0, dtype=np.float64)
                return out, out_b

            parts = self._map_blocks(work)
            out, out_b = parts[0]
            for p in parts[1:]:
                out += p[0]
                out_b += p[1]
            out *= C
            out += V
            if self.fit_intercept:
                res = np.hstack([out, C * out_b[:, None]]).ravel()
            else:
                res = out.ravel()
            return res * scale

        return product

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
        """Return ``G = X~^T diag(s) X~ / sum_n s_n`` with ``X~ = [X, 1]``, computed once.

        The weighted second-moment matrix of the features (with the intercept's column of ones
        when ``fit_intercept``): the curvature model of the preconditioner. Every row counts: a
        row subsample misses the rare pixels, and the preconditioner then amplifies exactly the
        directions it knows least. Computed as ``Y_b^T Y_b`` with ``Y_b = sqrt(s_b) X_b`` per
        block (a symmetric rank-k update), one pass over ``X``; cached and shared by
        :meth:`with_C` copies. Sample weights per output (one-vs-rest) enter as their mean.

        Returns
        -------
        gram : ndarray of shape (n_features + fit_intercept, n_features + fit_intercept)
        """
        if "gram" in self._cache:
            return self._cache["gram"]  # type: ignore[return-value]
        X, sw = self.X, self.sample_weight
        n_features = self.n_features
        uniform = bool(np.all(sw == sw.flat[0]))

        def work(blocks: list[slice]) -> tuple[np.ndarray, np.ndarray, float]:
            G = np.zeros((n_features, n_features))
            col_sum = np.zeros(n_features)
            total = 0.0
            for sl in blocks:
                X_b = X[sl]
                if uniform:
                    s_b = np.full(X_b.shape[0], sw.flat[0], dtype=X.dtype)
                    Y = X_b
                else:
                    s_b = self._row_weight(sl).mean(axis=1).astype(X.dtype)
                    Y = X_b * np.sqrt(s_b)[:, None]
                G += Y.T @ Y  # numpy runs A^T A as a symmetric rank-k update (syrk)
                col_sum += s_b @ X_b
                total += float(s_b.sum(dtype=np.float64))
            if uniform:
                G *= float(sw.flat[0])
            return G, col_sum, total

        parts = self._map_blocks(work)
        G_xx, col_sum, total = parts[0]
        for part in parts[1:]:
            G_xx += part[0]
            col_sum += part[1]
            total += part[2]
        if not self.fit_intercept:
            G = G_xx
        else:
            G = np.empty((n_features + 1, n_features + 1))
            G[:n_features, :n_features] = G_xx
            G[-1, :n_features] = col_sum
            G[:n_features, -1] = col_sum
            G[-1, -1] = total
        G /= max(total, np.finfo(np.float64).tiny)
        self._cache["gram"] = G
        return G

    def curvature_blocks(self, w: np.ndarray, max_rows: int = 10_000) -> np.ndarray:
        """Return per-output blocks of the loss term's Hessian at ``w`` (solver scale).

        B_k = X~^T diag(s * d_k) X~ / sum_n s_n, with d_nk the diagonal loss curvature
        (sigma(1 - sigma), or p_k (1 - p_k) for the softmax). These are the exact diagonal
        blocks of the Hessian (the whole Hessian for one-vs-rest, whose problems do not
        interact); the softmax's blocks between classes, -X~^T diag(s p_k p_j) X~, are left out.
        For each output only the ``max_rows`` rows of largest curvature are summed exactly;
        the others, individually small, enter as their total curvature times G
        (:meth:`gram`), as if spread like the data. Cost: one product ``X W^T`` and
        n_outputs rank-k updates of ``max_rows`` rows.

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
        X, n_features = self.X, self.n_features
        p = n_features + self.fit_intercept
        total = self.weight_sum
        m = min(max_rows, self.n_samples)
        blocks = np.empty((self.n_outputs, p, p))

        def work(outputs: list[int]) -> None:
            for k in outputs:
                d = D[:, k]
                rows = np.argpartition(-d, m - 1)[:m] if m < self.n_samples else slice(None)
                d_rows = d[rows]
                Y = X[rows] * np.sqrt(d_rows).astype(X.dtype)[:, None]
                B = blocks[k]
                B[:n_features, :n_features] = Y.T @ Y  # symmetric rank-k update
                if self.fit_intercept:
                    col = d_rows.astype(X.dtype) @ X[rows]
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
            pool = _thread_pool(n_threads)
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

