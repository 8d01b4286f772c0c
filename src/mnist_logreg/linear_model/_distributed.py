"""Data-parallel fit on a Dask cluster: every pass over X is one map-reduce over its chunks.

The rows of a Dask array ``X`` (chunked along rows; any chunk sizes) stay on the cluster. Each
chunk becomes a *block*: the in-memory objective
:class:`~mnist_logreg.linear_model._linear_loss.LinearModelLoss` of that chunk's rows, with the
same pass kernel (``"csr"`` or ``"dense"``, chosen once for the whole array by the in-memory
rule on the rows that rule samples) and the same folded standardization as an in-memory fit.
The client keeps a :class:`DistributedLinearModelLoss`, the same objective whose kernel is
:class:`DaskPassKernel`:

    loss_gradient(W, b) = sum over blocks of block.kernel.loss_gradient(W, b)

computed as one map-reduce. Persisted blocks (the fast case): each worker's blocks held by one
:class:`_WorkerBlocks` actor; a pass calls every actor directly with ``(W, b, dtype)`` (no task,
no scheduler in the loop), each sums ``(loss_sum, R^T X, sum_n R_n)`` over its blocks with each
block's own pass kernel, and the workers' sums are added on the client: one message to each
worker and one reply per pass (measured on MNIST, 2 workers, passes alternated in one run on a
loaded machine: 151 ms against 176 ms with one task per worker and 146 ms in memory; without
actors, when one fails, the passes continue as one task per worker). Streamed blocks:
``(W, b, dtype)`` scattered once to every worker, one task per block, partial sums added in a
tree of width :data:`_TREE_WIDTH`. Penalty, C, unfolding and the solver's scale are the
in-memory code (the inherited ``value_and_grad``), and the solver, its stopping rule and the
warm-started path are the in-memory ones, so a fit reaches the in-memory optimum.

What else the solver asks of the data, also map-reduces (computed once per data set):

* ``gram()`` (the shared preconditioner): each block's Gram matrix times its weight sum,
  added, divided by the total weight: the exact in-memory matrix up to rounding.
* ``curvature_blocks(w, max_rows)`` (only for ``tol <= 1e-4``): each block sums exactly its own
  ``max_rows * n_block / n_samples`` rows of largest curvature per output and spreads the rest
  of its curvature like its own rows (:meth:`LinearModelLoss.curvature_blocks` on the block); the
  in-memory fit picks the ``max_rows`` largest over all rows. Only the preconditioner differs,
  not the objective.
* The statistics: labels, class counts, weight sum, non-zero count and (``standardize``) the
  weighted mean and variance per block, merged with Chan's pairwise formula, in one pass.

Blocks are *persisted* (kept in the workers' memory, compressed rows for the ``"csr"``
kernel) when they fit in half the workers' memory limit, or *streamed*: rebuilt from their
chunk (read from the store) in every pass and dropped after it, so memory stays bounded by a
few chunks per worker.
"""

from __future__ import annotations

import contextlib
import logging
import math
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from mnist_logreg.errors import InputError
from mnist_logreg.linear_model._kernels import (
    _CSR_LOOP_MAX_DENSITY,
    _CSR_MAX_DENSITY,
    _DENSITY_SAMPLE_ROWS,
    _MIN_ENTRIES_FOR_THREADS,
    compute_dtype_of,
    numba_available,
)
from mnist_logreg.linear_model._linear_loss import (
    _GRAM_BLOCK_ROWS,
    _GRAM_CHUNK_BLOCKS,
    LinearModelLoss,
)
from mnist_logreg.linear_model._loss import BinaryCrossEntropy, MultinomialCrossEntropy
from mnist_logreg.linear_model._path import (
    LogisticPath,
    _encode_targets,
    assemble_path,
    fitted_dtype,
    solve_warm_path,
)
from mnist_logreg.linear_model._solvers import get_solver
from mnist_logreg.linear_model._standardize import scale_from_variance, standardization

__all__ = [
    "DaskPassKernel",
    "DistributedLinearModelLoss",
    "connect_scheduler",
    "dask_logistic_regression_path",
    "dask_path_accuracy",
    "fit_dask",
    "holdout_ranges",
    "is_dask_array",
    "local_cluster",
]

logger = logging.getLogger(__name__)

# Partial sums added per reduction task.
_TREE_WIDTH = 8
# Persist the blocks when their estimated size is below this share of the workers' memory.
_PERSIST_MEMORY_SHARE = 0.5


def is_dask_array(X: Any) -> bool:
    """Whether ``X`` is a Dask array (without importing Dask when it is not loaded)."""
    import sys

    if "dask.array" not in sys.modules:
        return False
    import dask.array as da

    return isinstance(X, da.Array)


# --------------------------------------------------------------------------------------------
# work done on the workers, one block at a time


@dataclass(frozen=True)
class _BlockSpec:
    """Everything a worker needs to turn a chunk into a block (small, shipped with the tasks)."""

    loss_name: str
    classes: np.ndarray
    multi_class: str
    class_weight: np.ndarray | None  # weight of each class (index of ``classes``)
    fit_intercept: bool
    mean: np.ndarray | None
    scale: np.ndarray | None
    kernel: str


def _describe_chunk(
    X_b: np.ndarray, y_b: np.ndarray, sw_b: np.ndarray | None, standardize: bool,
    offset: int = 0, step: int = 1,
) -> dict[str, Any]:
    """Per-chunk statistics: labels and counts, rows, weight, non-zeros, mean and variance.

    ``sampled`` counts the non-zeros and entries of the chunk's rows whose global index
    (``offset`` + local index) is a multiple of ``step``: the rows the in-memory kernel rule
    (:func:`~._kernels.estimated_density`) samples, so both engines pick the same kernel.
    """
    labels, counts = np.unique(y_b, return_counts=True)
    sample = X_b[(-offset) % step :: step]
    out: dict[str, Any] = {
        "labels": labels, "counts": counts, "n": X_b.shape[0],
        "nnz": int(np.count_nonzero(X_b)),
        "sampled": (int(np.count_nonzero(sample)), int(sample.size)),
    }
    if standardize:
        mean, _, var = standardization(X_b, sw_b)
        w = float(X_b.shape[0] if sw_b is None else np.sum(sw_b, dtype=np.float64))
        out["stats"] = (w, mean, var)
    return out


def _make_block(
    X_b: np.ndarray, y_b: np.ndarray, sw_b: np.ndarray | None, spec: _BlockSpec
) -> LinearModelLoss:
    """The in-memory objective of one chunk (C = 1: blocks only compute sums over rows)."""
    dtype = compute_dtype_of(X_b.dtype)
    loss, target, y_index = _encode_targets(np.asarray(y_b), spec.classes, spec.multi_class, dtype)
    s = np.ones(X_b.shape[0]) if sw_b is None else np.asarray(sw_b, dtype=np.float64)
    if spec.class_weight is not None:
        s = s * spec.class_weight[y_index]
    return LinearModelLoss(
        loss, X_b, target, s.astype(dtype), C=1.0, fit_intercept=spec.fit_intercept,
        n_threads=1, mean=spec.mean, scale=spec.scale, kernel=spec.kernel,
    )


def _block_pass(block: LinearModelLoss, params: tuple) -> tuple[float, np.ndarray, np.ndarray]:
    """One block's ``(sum_n s_n loss_n, R^T X, sum_n R_n)``: the in-memory pass kernel."""
    W, b, dtype = params
    return block.kernel.loss_gradient(
        block.loss, W, b, block.target, block.sample_weight, np.dtype(dtype)
    )


def _block_gram(block: LinearModelLoss) -> tuple[np.ndarray, float]:
    """One block's unnormalized Gram matrix ``U~^T S U~`` and its weight sum."""
    G = block.gram()
    block._cache.pop("gram", None)  # do not keep a (p, p) matrix per persisted block
    total = float(np.mean(block.sample_weight.sum(axis=0, dtype=np.float64)))
    return G * total, total


def _block_curvature(block: LinearModelLoss, w: np.ndarray, fraction: float) -> np.ndarray:
    """One block's curvature blocks times its weight sum (its own rows of largest curvature)."""
    max_rows = max(1, min(block.n_samples, math.ceil(fraction * block.n_samples)))
    B = block.curvature_blocks(w, max_rows)
    block._cache.pop("gram", None)
    return B * block.weight_sum


def _sum_over_blocks(fn: Callable[..., Any], blocks: list[Any], *args: Any) -> Any:
    """``sum over blocks of fn(block, *args)`` (one worker's share of a pass)."""
    return _add(*(fn(block, *args) for block in blocks))


class _WorkerBlocks:
    """The persisted blocks one worker holds, as a Dask actor (one per worker).

    A pass is then one direct call from the client to each worker and its reply: no task,
    hence no scheduler round trip (measured on MNIST, 2 workers, same run: 10 ms less per
    pass at the fastest, ~25 ms less at the median on a loaded machine).
    """

    def __init__(self, *blocks: LinearModelLoss) -> None:
        self.blocks = list(blocks)

    def sum(self, fn: Callable[..., Any], *args: Any) -> Any:
        """``sum over this worker's blocks of fn(block, *args)``."""
        return _sum_over_blocks(fn, self.blocks, *args)


def _add(*parts: Any) -> Any:
    """Sum of partial results: numbers, arrays, or tuples of them (element by element)."""
    first = parts[0]
    if isinstance(first, tuple):
        return tuple(_add(*items) for items in zip(*parts, strict=True))
    total = first
    for p in parts[1:]:
        total = total + p
    return total


# --------------------------------------------------------------------------------------------
# the client side


class DaskPassKernel:
    """A pass kernel whose rows live on a Dask cluster, one block per chunk.

    Implements the :class:`~._kernels.PassKernel` method the solvers' objective calls per pass
    (``loss_gradient``) as a map-reduce; ``target`` and ``sw`` arguments are ignored (every
    block holds its own).

    Parameters
    ----------
    client : distributed.Client
    make_blocks : callable
        Returns one object per block for the tasks: futures of persisted blocks, or Dask
        delayed objects that build a block from its chunk (streamed).
    persisted : bool
        Whether ``make_blocks`` returns persisted futures (built once) or delayed builds.
    n_samples, n_features : int
    stored_dtype : numpy dtype
    name : str
        The per-block kernel's name.
    on_pass : callable, optional
        Called with the pass number and its seconds after each pass (progress).
    """

    def __init__(
        self, client: Any, blocks: list[Any], *, persisted: bool, n_samples: int,
        n_features: int, stored_dtype: np.dtype, name: str,
        on_pass: Callable[[int, float], None] | None = None,
    ) -> None:
        self.client = client
        self.blocks = blocks
        self.persisted = persisted
        self.n_samples = n_samples
        self.n_features = n_features
        self.stored_dtype = np.dtype(stored_dtype)
        self.name = name
        self.on_pass = on_pass
        # Blocks of rows aligned on the Gram matrix's float32 accumulation unit (see
        # _gram_aligned_chunks), or None when ``blocks`` already are.
        self.gram_blocks: list[Any] | None = None
        self._groups: list[tuple[list[str] | None, list[Any]]] | None = None
        # Futures of the _WorkerBlocks actors (None: not started yet; []: passes run as tasks)
        self._actor_futures: list[Any] | None = None
        self._actors: list[Any] = []
        self.n_passes = 0
        self.pass_seconds: list[float] = []

    def map_reduce(self, fn: Callable[..., Any], *args: Any, gram_blocks: bool = False) -> Any:
        """Return the sum over blocks of ``fn(block, *args)``.

        Persisted blocks: one call per worker to the actor holding that worker's blocks
        (:class:`_WorkerBlocks`; the arguments travel in the call), and the workers' sums
        added here: one message to each worker and its reply per pass. Should an actor call
        fail (a worker lost), the passes continue as one task per worker over the persisted
        futures (the scheduler recomputes what was lost). Streamed blocks (and
        ``gram_blocks``, those of :attr:`gram_blocks`, always streamed): the arguments
        scattered to every worker once, one task per block building it from its chunk, and a
        tree of sums.
        """
        client = self.client
        if self.persisted and not (gram_blocks and self.gram_blocks is not None):
            if self._actor_futures is None:
                self._start_actors()
            if self._actors:
                try:
                    calls = [actor.sum(fn, *args) for actor in self._actors]
                    return _add(*(call.result() for call in calls))
                except Exception as exc:  # a lost worker: the tasks below recover its blocks
                    logger.warning("a worker's actor failed (%s: %s); passes continue as tasks",
                                   type(exc).__name__, exc)
                    self._stop_actors()
            parts = [client.submit(_sum_over_blocks, fn, group, *args, workers=workers,
                                   allow_other_workers=True, pure=False)
                     for workers, group in self._worker_groups()]
            return _add(*client.gather(parts))
        shipped = [client.scatter(a, broadcast=True, hash=False)
                   if isinstance(a, tuple | np.ndarray) else a for a in args]
        blocks = self.gram_blocks if gram_blocks and self.gram_blocks is not None else self.blocks
        import dask

        parts = client.compute([dask.delayed(fn, pure=False)(block, *shipped)
                                for block in blocks])
        while len(parts) > 1:
            parts = [client.submit(_add, *parts[i : i + _TREE_WIDTH], pure=False)
                     for i in range(0, len(parts), _TREE_WIDTH)]
        result = parts[0].result()
        for future in shipped:
            if hasattr(future, "release"):
                future.release()
        return result

    def _worker_groups(self) -> list[tuple[list[str] | None, list[Any]]]:
        """The persisted blocks grouped by the worker holding them (looked up once)."""
        if self._groups is None:
            who_has = self.client.who_has(self.blocks)
            groups: dict[str, list[Any]] = {}
            for future in self.blocks:
                holders = sorted(who_has.get(future.key, ()))
                groups.setdefault(holders[0] if holders else "", []).append(future)
            self._groups = [([address] if address else None, group)
                            for address, group in groups.items()]
        return self._groups

    def _start_actors(self) -> None:
        """One :class:`_WorkerBlocks` actor per worker, holding the blocks already there."""
        groups = self._worker_groups()
        self._actor_futures = []
        if any(workers is None for workers, _ in groups):
            return
        try:
            self._actor_futures = [
                self.client.submit(_WorkerBlocks, *group, workers=workers, actor=True,
                                   pure=False)
                for workers, group in groups
            ]
            self._actors = [future.result() for future in self._actor_futures]
        except Exception as exc:  # pragma: no cover (passes run as tasks instead)
            logger.warning("could not start the workers' actors (%s); passes run as tasks", exc)
            self._stop_actors()

    def _stop_actors(self) -> None:
        for future in self._actor_futures or ():
            future.release()
        self._actor_futures = []
        self._actors = []

    def loss_gradient(
        self, loss: Any, W: np.ndarray, b: np.ndarray, target: Any, sw: Any, dtype: np.dtype,
    ) -> tuple[float, np.ndarray, np.ndarray]:
        """Return ``(sum_n s_n loss_n, R^T X, sum_n R_n)`` over every block (one map-reduce)."""
        start = time.perf_counter()
        params = (np.asarray(W, dtype=np.float64), np.asarray(b, dtype=np.float64),
                  np.dtype(dtype).str)
        loss_sum, A, r_sum = self.map_reduce(_block_pass, params)
        self.n_passes += 1
        seconds = time.perf_counter() - start
        self.pass_seconds.append(seconds)
        if self.on_pass is not None:
            self.on_pass(self.n_passes, seconds)
        logger.debug("pass %d: %.3f s", self.n_passes, seconds)
        return float(loss_sum), A, r_sum

    def close(self) -> None:
        """Release the persisted blocks (and the actors holding them) from the workers."""
        self._stop_actors()
        if self.persisted:
            for future in self.blocks:
                future.release()
        self.blocks = []
        self._groups = None


class DistributedLinearModelLoss(LinearModelLoss):
    """:class:`LinearModelLoss` whose passes are map-reduces over blocks on a Dask cluster.

    ``value_and_grad``, the fold, the penalty, the solver's scale, ``with_C`` and
    ``increase_precision`` are inherited unchanged; only what reads rows is replaced.

    Parameters
    ----------
    loss : {BinaryCrossEntropy, MultinomialCrossEntropy}
    kernel : DaskPassKernel
    n_outputs : int
    weight_sum : float
        sum_n s_n over every row.
    C : float
    fit_intercept : bool
    mean, scale : ndarray of shape (n_features,) or None
        The folded standardization.
    """

    def __init__(
        self, loss: Any, kernel: DaskPassKernel, *, n_outputs: int, weight_sum: float,
        C: float, fit_intercept: bool, mean: np.ndarray | None, scale: np.ndarray | None,
    ) -> None:
        self.loss = loss
        self.X = None
        self.kernel = kernel  # type: ignore[assignment]
        self.n_threads = 1
        self.compute_dtype = (
            np.dtype(np.float64) if kernel.name == "csr" else compute_dtype_of(kernel.stored_dtype)
        )
        self.target = None  # type: ignore[assignment]
        self.sample_weight = None  # type: ignore[assignment]
        self.C = float(C)
        self.fit_intercept = bool(fit_intercept)
        self.n_samples = kernel.n_samples
        self.n_features = kernel.n_features
        self.n_outputs = n_outputs
        self.mean = None if mean is None else np.asarray(mean, dtype=np.float64)
        self.feature_scale = None if scale is None else np.asarray(scale, dtype=np.float64)
        self.weight_sum = float(weight_sum)
        self._cache = {}

    def with_C(self, C: float) -> DistributedLinearModelLoss:
        """Return the same objective for another ``C``, sharing the blocks and the cache."""
        other = object.__new__(DistributedLinearModelLoss)
        other.__dict__.update(self.__dict__)
        other.C = float(C)
        return other

    def raw_prediction(self, coef: np.ndarray, intercept: np.ndarray) -> np.ndarray:
        """Not available: the rows stay on the cluster."""
        raise NotImplementedError("raw predictions of every training row stay on the cluster")

    def gram(self) -> np.ndarray:
        """Return ``U~^T S U~ / sum_n s_n`` (the in-memory matrix) as one map-reduce, cached."""
        if "gram" not in self._cache:
            G, total = self.kernel.map_reduce(  # type: ignore[attr-defined]
                _block_gram, gram_blocks=True
            )
            self._cache["gram"] = G / max(total, np.finfo(np.float64).tiny)
        return self._cache["gram"]  # type: ignore[return-value]

    def curvature_blocks(self, w: np.ndarray, max_rows: int = 10_000) -> np.ndarray:
        """Per-output curvature blocks as one map-reduce (module docstring: each block picks
        its share ``max_rows * n_block / n_samples`` of rows of largest curvature)."""
        fraction = min(1.0, max_rows / max(1, self.n_samples))
        B = self.kernel.map_reduce(  # type: ignore[attr-defined]
            _block_curvature, np.asarray(w, dtype=np.float64), fraction
        )
        return B / self.weight_sum


# --------------------------------------------------------------------------------------------
# preparing the arrays


def _row_aligned(a: Any, chunks: tuple[int, ...], name: str, n: int) -> Any:
    """``a`` (Dask or NumPy, 1-D of length n) as a Dask array with row chunks ``chunks``."""
    import dask.array as da

    if not isinstance(a, da.Array):
        a = np.asarray(a)
        if a.ndim != 1 or a.shape[0] != n:
            raise InputError(
                f"{name} must be 1-D with one value per row of X ({n}). Got shape {a.shape}."
            )
        return da.from_array(a, chunks=(chunks,))
    if a.ndim != 1 or a.shape[0] != n:
        raise InputError(
            f"{name} must be 1-D with one value per row of X ({n}). Got shape {a.shape}."
        )
    return a.rechunk((chunks,))


def _merge_statistics(parts: list[dict[str, Any]], n_features: int
                      ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """StandardScaler's mean, scale and var from per-block (weight, mean, var), Chan's merge."""
    total = 0.0
    mean = np.zeros(n_features)
    m2 = np.zeros(n_features)
    for part in parts:
        w, m, v = part["stats"]
        if w <= 0:
            continue
        new_total = total + w
        delta = m - mean
        mean = mean + delta * (w / new_total)
        m2 = m2 + v * w + delta * delta * (total * w / new_total)
        total = new_total
    var = np.maximum(m2 / (total if total > 0 else 1.0), 0.0)
    scale = scale_from_variance(var, mean, total if total > 0 else 1.0)
    return mean, scale, var


def _choose_kernel(kernel: str, size: int, density: float, loss_name: str, n_outputs: int
                   ) -> str:
    """The in-memory rule of :func:`~._kernels.select_kernel`, applied to the whole array.

    ``density`` is the in-memory rule's estimate (the same sampled rows), not the exact
    density: deformed digits are 25.05% non-zero, 24.3% in the sample of 2,000,000 rows, and
    the exact figure once made the workers run the dense kernel (cast per block, float64
    after the solver's precision switch: ~2x the compiled CSR pass) while the in-memory fit
    of the same rows ran the CSR kernel.
    """
    if kernel != "auto":
        if kernel not in ("csr", "dense"):
            raise InputError(f"kernel must be 'auto', 'csr' or 'dense' on Dask. Got {kernel!r}.")
        return kernel
    if size >= _MIN_ENTRIES_FOR_THREADS and numba_available():
        from mnist_logreg.linear_model._numba_kernels import UNROLLED

        limit = _CSR_MAX_DENSITY if (loss_name, n_outputs) in UNROLLED else _CSR_LOOP_MAX_DENSITY
        return "csr" if density <= limit else "dense"
    return "dense"


def _gram_aligned_chunks(row_chunks: tuple[int, ...]) -> tuple[int, ...]:
    """Row chunks whose bounds fall on the in-memory Gram matrix's float32 accumulation unit.

    :meth:`LinearModelLoss.gram` accumulates groups of ``_GRAM_BLOCK_ROWS *
    _GRAM_CHUNK_BLOCKS`` (4,096) rows in float32 and adds the groups in float64. Blocks whose
    bounds are multiples of that unit give the same float32 groups, hence the in-memory matrix
    up to the order of float64 additions; other bounds change it in the 7th digit, enough for
    L-BFGS to take another path to the tolerance (measured on MNIST with chunks of 12,000
    rows: 99 passes instead of 88 and objectives 2.6e-4 apart at tol=5e-4). Chunks already
    aligned are kept; otherwise chunks of about the median size, rounded to the unit.
    """
    unit = _GRAM_BLOCK_ROWS * _GRAM_CHUNK_BLOCKS
    n = sum(row_chunks)
    bounds = np.cumsum(row_chunks)[:-1]
    if all(int(b) % unit == 0 for b in bounds):
        return row_chunks
    rows = max(unit, round(float(np.median(row_chunks)) / unit) * unit)
    out = [rows] * (n // rows)
    if n % rows:
        out.append(n % rows)
    return tuple(out)


def _client(client: Any) -> Any:
    if client is not None:
        return client
    try:
        from distributed import default_client

        return default_client()
    except (ImportError, ValueError) as exc:
        raise InputError(
            "Fitting a Dask array needs a running dask.distributed Client (create one with "
            "distributed.Client(...), or pass client=)."
        ) from exc


def _workers_memory(client: Any) -> float:
    workers = client.scheduler_info().get("workers", {})
    limits = [float(w.get("memory_limit") or 0) for w in workers.values()]
    return sum(limits) if limits and all(limits) else float("inf")


def dask_logistic_regression_path(
    X: Any,
    y: Any,
    Cs: Sequence[float] | np.ndarray,
    *,
    sample_weight: Any = None,
    class_weight: dict | str | None = None,
    multi_class: Literal["multinomial", "ovr"] = "multinomial",
    fit_intercept: bool = True,
    tol: float = 5e-4,
    max_iter: int = 1000,
    solver: str = "auto",
    coef_init: np.ndarray | None = None,
    intercept_init: np.ndarray | None = None,
    warn: bool = True,
    estimator_name: str = "logistic_regression_path",
    standardize: bool = False,
    kernel: str = "auto",
    client: Any = None,
    persist: bool | Literal["auto"] = "auto",
    on_pass: Callable[[int, float], None] | None = None,
) -> LogisticPath:
    """:func:`~._path.logistic_regression_path` for a Dask array ``X``, passes on the cluster.

    Same objective, solver, stopping rule and warm-started path of C values as the in-memory
    function (see it for the shared parameters); the rows never come to the client.

    Parameters
    ----------
    X : dask.array.Array of shape (n_samples, n_features)
        Chunked along rows (column chunks are joined); uint8, integers or floats.
    y : dask.array.Array or ndarray of shape (n_samples,)
    Cs : sequence of float
    sample_weight : dask.array.Array or ndarray of shape (n_samples,), default=None
    client : distributed.Client, default=None
        The cluster (the default client when None).
    persist : bool or "auto", default="auto"
        Keep the blocks in the workers' memory (True), rebuild them from their chunks in every
        pass (False, bounded memory), or persist when their estimated size is below half of
        the workers' memory limit ("auto").
    on_pass : callable, default=None
        Called as ``on_pass(pass_number, seconds)`` after each pass (progress).

    Returns
    -------
    path : LogisticPath
    """
    import dask
    import dask.array as da

    client = _client(client)
    if X.ndim != 2:
        raise InputError(f"X must be a 2-D Dask array. Got {X.ndim} dimensions.")
    coef_dtype = fitted_dtype(X.dtype)  # float32 in, float32 out; else float64 (as in memory)
    if X.dtype == np.float16 or X.dtype == np.bool_:
        X = X.astype(np.float32)
    elif X.dtype.kind not in "fuib":
        raise InputError(f"X must hold numbers. Got dtype {X.dtype}.")
    if len(X.chunks[1]) > 1:
        X = X.rechunk({1: -1})
    n_samples, n_features = (int(s) for s in X.shape)
    if any(math.isnan(c) for c in X.chunks[0]):
        raise InputError("X must have known chunk sizes (call X.compute_chunk_sizes()).")
    row_chunks = tuple(int(c) for c in X.chunks[0])
    y = _row_aligned(y, row_chunks, "y", n_samples)
    sw = None if sample_weight is None else _row_aligned(
        da.asarray(sample_weight, dtype=np.float64) if isinstance(sample_weight, da.Array)
        else np.asarray(sample_weight, dtype=np.float64), row_chunks, "sample_weight", n_samples)
    Cs_sorted = np.sort(np.asarray(Cs, dtype=np.float64).ravel())
    if Cs_sorted.size == 0 or not np.all(Cs_sorted > 0):
        raise ValueError(f"Every C must be a float > 0. Got {list(np.asarray(Cs))!r} instead.")

    # Unoptimized: the chunks' keys keep one definition across the several graphs sent below
    # (optimized separately, the statistics, the blocks and the Gram blocks each renamed the
    # store reads, and the scheduler warned of keys with different run_specs).
    x_chunks = X.to_delayed(optimize_graph=False).ravel().tolist()
    y_chunks = y.to_delayed(optimize_graph=False).ravel().tolist()
    sw_chunks = ([None] * len(x_chunks) if sw is None
                 else sw.to_delayed(optimize_graph=False).ravel().tolist())
    keep = [i for i, c in enumerate(row_chunks) if c > 0]

    # one pass: labels, counts, weights, non-zeros and (standardize) mean and variance
    offsets = np.concatenate([[0], np.cumsum(row_chunks)[:-1]]).astype(int)
    step = max(1, n_samples // _DENSITY_SAMPLE_ROWS)  # the in-memory kernel rule's sample
    describe = [dask.delayed(_describe_chunk, pure=True)(x_chunks[i], y_chunks[i], sw_chunks[i],
                                                          standardize, int(offsets[i]), step)
                for i in keep]
    parts = client.compute(describe, sync=True)
    labels = np.unique(np.concatenate([p["labels"] for p in parts]))
    counts = np.zeros(len(labels))
    for p in parts:
        counts[np.searchsorted(labels, p["labels"])] += p["counts"]
    classes = labels
    if len(classes) < 2:
        raise ValueError(
            f"{estimator_name} needs samples of at least 2 classes in the data, but the data "
            f"contains only one class: {classes[0]!r}."
        )
    mean = scale = var = None
    if standardize:
        mean, scale, var = _merge_statistics(parts, n_features)
    density = sum(p["nnz"] for p in parts) / max(1, n_samples * n_features)
    sampled_nnz = sum(p["sampled"][0] for p in parts)
    sampled_size = sum(p["sampled"][1] for p in parts)
    sampled_density = sampled_nnz / sampled_size if sampled_size else 1.0
    n_outputs = 1 if len(classes) == 2 else len(classes)
    loss = (MultinomialCrossEntropy if multi_class == "multinomial" and n_outputs > 1
            else BinaryCrossEntropy)
    kernel_name = _choose_kernel(kernel, n_samples * n_features, sampled_density, loss.name,
                                 n_outputs)
    logger.debug("pass kernel %s (density %.4f in the in-memory rule's sample, %.4f exact)",
                 kernel_name, sampled_density, density)
    cw = None
    if class_weight is not None:
        if class_weight == "balanced":
            if multi_class == "ovr" and n_outputs > 1:
                raise InputError("class_weight='balanced' with multi_class='ovr' is not "
                                 "supported on Dask arrays.")
            cw = n_samples / (len(classes) * counts)
        else:
            cw = np.array([float(class_weight.get(c, 1.0)) for c in classes])  # type: ignore
    spec = _BlockSpec(loss.name, classes, multi_class, cw, fit_intercept, mean, scale,
                      kernel_name)
    spec_future = client.scatter(spec, broadcast=True, hash=False)
    def make_build(j: int) -> Any:
        i = keep[j]
        return dask.delayed(_make_block, pure=False)(x_chunks[i], y_chunks[i], sw_chunks[i],
                                                     spec_future)

    if persist == "auto":
        per_entry = (1 + 2) * density if kernel_name == "csr" else X.dtype.itemsize
        estimate = n_samples * n_features * per_entry + n_samples * (n_outputs + 1) * 8
        persist = estimate <= _PERSIST_MEMORY_SHARE * _workers_memory(client)
    rows = [row_chunks[i] for i in keep]
    blocks = (_persist_balanced(client, make_build, rows) if persist
              else [make_build(j) for j in range(len(keep))])
    if persist:
        from distributed import wait

        wait(blocks)
        for future in blocks:
            if future.status == "error":
                future.result()  # raises the worker's error (e.g. a corrupted chunk)
    weight_sum = float(n_samples if sw is None and cw is None else 0.0)
    pass_kernel = DaskPassKernel(
        client, blocks, persisted=bool(persist), n_samples=n_samples, n_features=n_features,
        stored_dtype=X.dtype, name=kernel_name, on_pass=on_pass,
    )
    aligned = _gram_aligned_chunks(row_chunks)
    if aligned != row_chunks:
        gx = X.rechunk((aligned, n_features)).to_delayed(optimize_graph=False).ravel().tolist()
        gy = y.rechunk((aligned,)).to_delayed(optimize_graph=False).ravel().tolist()
        gs = [None] * len(gx) if sw is None else (
            sw.rechunk((aligned,)).to_delayed(optimize_graph=False).ravel())
        pass_kernel.gram_blocks = [
            dask.delayed(_make_block, pure=False)(gx[i], gy[i], gs[i], spec_future)
            for i in range(len(gx))
        ]
    try:
        if weight_sum == 0.0:
            weight_sum = float(pass_kernel.map_reduce(_block_weight_sum))
        base = DistributedLinearModelLoss(
            loss, pass_kernel, n_outputs=n_outputs, weight_sum=weight_sum, C=Cs_sorted[0],
            fit_intercept=fit_intercept, mean=mean, scale=scale,
        )
        solver_name = solver
        if solver == "auto":
            solver_name = "lbfgs" if n_features < 2048 else "lbfgs-plain"
        path = solve_warm_path(base, Cs_sorted, get_solver(solver_name), loss=loss, tol=tol,
                               max_iter=max_iter, coef_init=coef_init,
                               intercept_init=intercept_init, multi_class=multi_class,
                               warn=warn, estimator_name=estimator_name)
    finally:
        spec_future.release()
        pass_kernel.close()
    params = {"fit_intercept": fit_intercept, "tol": tol, "max_iter": max_iter,
              "solver": solver, "class_weight": class_weight}
    return assemble_path(
        Cs_sorted, path, classes=classes, multi_class=multi_class, params=params,
        standardize=standardize, mean=mean, scale=scale, var=var, coef_dtype=coef_dtype,
    )


def _persist_balanced(client: Any, make_build: Callable[[int], Any], rows: list[int]
                      ) -> list[Any]:
    """Compute the blocks into the workers' memory, spreading rows evenly over the workers.

    A pass takes as long as its busiest worker, so block ``i`` (``make_build(i)``, a delayed
    build of ``rows[i]`` rows) is annotated for the worker with the fewest rows so far, largest
    blocks first; all are computed in one graph (the scheduler may still move them, e.g. when
    a worker leaves).
    """
    import dask

    workers = sorted(client.scheduler_info().get("workers", {}))
    if len(workers) < 2:
        return client.compute([make_build(i) for i in range(len(rows))])
    load = dict.fromkeys(workers, 0)
    builds: list[Any] = [None] * len(rows)
    for i in sorted(range(len(rows)), key=lambda i: -rows[i]):
        address = min(workers, key=load.__getitem__)
        load[address] += rows[i]
        with dask.annotate(workers=[address], allow_other_workers=True):
            builds[i] = make_build(i)
    return client.compute(builds)


def _block_weight_sum(block: LinearModelLoss) -> float:
    return block.weight_sum


def fit_dask(estimator: Any, X: Any, y: Any, sample_weight: Any = None, *,
             client: Any = None, persist: bool | Literal["auto"] = "auto") -> Any:
    """Fit a :class:`~._logistic.LogisticRegression` on Dask arrays (its ``fit`` calls this).

    Sets the same fitted attributes as the in-memory fit.

    Parameters
    ----------
    estimator : LogisticRegression
    X : dask.array.Array of shape (n_samples, n_features)
    y : dask.array.Array or ndarray of shape (n_samples,)
    sample_weight : dask.array.Array or ndarray of shape (n_samples,), default=None
    client : distributed.Client, default=None
    persist : bool or "auto", default="auto"

    Returns
    -------
    estimator : LogisticRegression
    """
    est = estimator
    n_outputs_prev = getattr(est, "standardized_coef_" if est.standardize else "coef_", None)
    coef_init = intercept_init = None
    if est.warm_start and n_outputs_prev is not None and n_outputs_prev.shape[1] == X.shape[1]:
        coef_init = n_outputs_prev
        intercept_init = getattr(
            est, "standardized_intercept_" if est.standardize else "intercept_", None
        ) if est.fit_intercept else None
    path = dask_logistic_regression_path(
        X, y, [est.C], sample_weight=sample_weight, class_weight=est.class_weight,
        multi_class=est._multi_class, fit_intercept=est.fit_intercept, tol=est.tol,
        max_iter=est.max_iter, solver=est.solver, coef_init=coef_init,
        intercept_init=intercept_init, estimator_name=type(est).__name__,
        standardize=est.standardize, client=client, persist=persist,
    )
    dtype = path.coef_dtype
    est.classes_ = path.classes
    est.coef_ = path.coefs[0].astype(dtype)
    est.intercept_ = path.intercepts[0].astype(dtype)
    for name in ("mean_", "scale_", "var_", "standardized_coef_", "standardized_intercept_",
                 "feature_names_in_"):
        if hasattr(est, name):
            delattr(est, name)
    if est.standardize:
        est.mean_, est.scale_, est.var_ = path.mean, path.scale, path.var
        est.standardized_coef_ = path.standardized_coefs[0].astype(dtype)
        est.standardized_intercept_ = path.standardized_intercepts[0].astype(dtype)
    est.n_features_in_ = int(X.shape[1])
    est.n_iter_ = path.n_iter[:1].copy()
    est.n_evals_ = int(path.n_evals[0])
    est.objective_ = float(path.objectives[0])
    return est


def holdout_ranges(n_samples: int, fraction: float, period: int
                   ) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
    """Split rows into (fit, validation) ranges: the last ``fraction`` of every ``period`` rows.

    In a deformed-digit store row ``i`` deforms training digit ``i mod 60,000``; with
    ``period=60_000`` every validation row deforms a digit none of the fit rows deforms (the
    last ``fraction`` of MNIST's training digits), so validation measures generalization to
    new digits, not to new deformations of seen ones. Contiguous ranges keep the Dask chunks
    whole (slices, no shuffle).

    Parameters
    ----------
    n_samples : int
    fraction : float
        In (0, 1).
    period : int
        Rows per run (``min(n_samples, 60_000)`` for a deformed store; ``n_samples`` for
        rows that are all distinct images: the last rows are held out).

    Returns
    -------
    fit, validation : list of (start, stop)
    """
    if not 0 < fraction < 1:
        raise InputError(f"The 'fraction' parameter must be in (0, 1). Got {fraction!r}.")
    period = max(1, min(int(period), n_samples))
    n_val = round(period * fraction)
    if not 1 <= n_val < period:
        raise InputError(
            f"The 'fraction' parameter {fraction!r} leaves no rows to fit or none to validate "
            f"among {period} rows."
        )
    fit: list[tuple[int, int]] = []
    val: list[tuple[int, int]] = []
    for start in range(0, n_samples, period):
        stop = min(start + period, n_samples)
        cut = start + period - n_val
        if cut >= stop:
            fit.append((start, stop))
            continue
        fit.append((start, cut))
        val.append((cut, stop))
    return fit, val


def _correct_per_C(X_b: np.ndarray, y_b: np.ndarray, path: LogisticPath) -> np.ndarray:
    return np.sum(path.predict(X_b) == np.asarray(y_b)[None, :], axis=1)


def dask_path_accuracy(path: LogisticPath, X: Any, y: Any, *, client: Any = None) -> np.ndarray:
    """Return the accuracy of every C of ``path`` on Dask rows ``X``, ``y`` (one pass).

    Parameters
    ----------
    path : LogisticPath
    X : dask.array.Array of shape (n_samples, n_features)
    y : dask.array.Array or ndarray of shape (n_samples,)
    client : distributed.Client, default=None

    Returns
    -------
    accuracy : ndarray of shape (n_Cs,)
    """
    import dask

    client = _client(client)
    n_samples = int(X.shape[0])
    if n_samples == 0:
        raise InputError("X must have at least one row to score.")
    if len(X.chunks[1]) > 1:
        X = X.rechunk({1: -1})
    y = _row_aligned(y, tuple(int(c) for c in X.chunks[0]), "y", n_samples)
    shipped = client.scatter(path, broadcast=True, hash=False)
    parts = client.compute(
        [dask.delayed(_correct_per_C, pure=False)(xb, yb, shipped)
         for xb, yb in zip(X.to_delayed().ravel(), y.to_delayed().ravel(), strict=True)],
        sync=True,
    )
    shipped.release()
    return np.sum(parts, axis=0) / n_samples


def _quiet_distributed_logs() -> None:
    logging.getLogger("distributed").setLevel(logging.CRITICAL)


@contextlib.contextmanager
def local_cluster(n_workers: int) -> Iterator[Any]:
    """Yield a client of a new LocalCluster of single-threaded workers on 127.0.0.1.

    The client closes before the cluster, and the cluster's shutdown is quiet: on a loaded
    machine a worker may take more than the nanny's 4 s to exit, and the killed worker's
    failed heartbeats and the nanny's warning printed tracebacks (CommClosedError) after
    every result; they are silenced from the moment the caller is done, in the workers and
    here (errors during the work still reach the caller as exceptions). No dashboard, and
    the scheduler's HTTP endpoint on a free port (the default 8787 warned when taken).

    Parameters
    ----------
    n_workers : int
    """
    from distributed import Client, LocalCluster

    logger_ = logging.getLogger("distributed")
    level = logger_.level
    try:
        with (
            LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=True,
                         host="127.0.0.1", dashboard_address=None,
                         scheduler_kwargs={"dashboard_address": "127.0.0.1:0"}) as cluster,
            Client(cluster) as client,
        ):
            try:
                yield client
            finally:
                with contextlib.suppress(Exception):
                    client.run(_quiet_distributed_logs)
                _quiet_distributed_logs()
    finally:
        logger_.setLevel(level)


@contextlib.contextmanager
def connect_scheduler(scheduler: str, *, timeout: float = 10.0) -> Iterator[Any]:
    """Yield a ``distributed.Client`` for ``local:N`` (a new LocalCluster) or ``tcp://HOST:PORT``.

    A LocalCluster started here is closed on exit; a client of an existing scheduler is closed
    (the scheduler and its workers keep running).

    Parameters
    ----------
    scheduler : str
        ``local:N`` (N worker processes of one thread each, on 127.0.0.1) or the address of a
        running Dask scheduler.
    timeout : float, default=10.0
        Seconds to wait for the scheduler.

    Raises
    ------
    InputError
        A malformed value, or a scheduler that cannot be reached (one line naming it).
    """
    from distributed import Client

    if scheduler.startswith("local:"):
        text = scheduler.split(":", 1)[1]
        if not text.isdigit() or int(text) < 1:
            raise InputError(
                f"scheduler local:N needs a whole number of workers N >= 1. Got {scheduler!r}."
            )
        with local_cluster(int(text)) as client:
            yield client
        return
    if not scheduler.startswith(("tcp://", "tls://", "inproc://", "ws://", "wss://")):
        raise InputError(
            "scheduler must be tcp://HOST:PORT (a running Dask scheduler) or local:N. "
            f"Got {scheduler!r} instead."
        )
    try:
        client = Client(scheduler, timeout=f"{timeout}s")
    except (OSError, TimeoutError) as exc:
        reason = " ".join(str(exc).split()) or type(exc).__name__
        raise InputError(
            f"could not connect to the Dask scheduler at {scheduler} ({reason[:200]})"
        ) from exc
    with client:
        yield client
