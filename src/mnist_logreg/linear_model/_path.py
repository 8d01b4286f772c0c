"""Regularization path: one data set, a sorted list of C values, each fit warm-started.

:func:`logistic_regression_path` is the engine behind every fit of this package:
:class:`~mnist_logreg.linear_model.LogisticRegression` is a path of one C, the one-vs-rest model a
path of one C with ``multi_class="ovr"``. Work that depends only on the rows (the target
matrix, the weights, the stopping reference, the preconditioner's Gram matrix) is done once per
path, and each C starts from the previous solution: C values are visited in ascending order
(small C, strong regularization, is the easiest problem and its solution is a good start for the
next, slightly weaker regularization).

Two things make the warm start cheap (measured on MNIST, 10 C values from 0.01 to 10: 383
evaluations from the previous solution alone, 206 with both):

* a predictor: from the third C on, the start is the linear extrapolation in log C of the last
  two solutions (the solution path is smooth in log C);
* the L-BFGS curvature pairs carry over: only the penalty's share of the objective depends on C,
  and :func:`~mnist_logreg.linear_model._solvers.shift_pairs` corrects the pairs for it exactly.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import scipy.sparse as sp
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils.class_weight import compute_class_weight
from threadpoolctl import ThreadpoolController

from mnist_logreg.linear_model._kernels import compute_dtype_of, linear_predict
from mnist_logreg.linear_model._linear_loss import LinearModelLoss
from mnist_logreg.linear_model._loss import BinaryCrossEntropy, MultinomialCrossEntropy
from mnist_logreg.linear_model._solvers import get_solver, shift_pairs
from mnist_logreg.linear_model._standardize import standardization

__all__ = ["LogisticPath", "logistic_regression_path", "proba_from_raw"]

_controller: ThreadpoolController | None = None


def _blas_controller() -> ThreadpoolController:
    global _controller
    if _controller is None:
        _controller = ThreadpoolController()
    return _controller


def _available_threads() -> int:
    """Threads a fit may use: the BLAS libraries' current limit, within the CPUs we may run on.

    Respects limits set by the caller (``threadpoolctl.threadpool_limits``, joblib workers).
    """
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover (not Linux)
        cpus = os.cpu_count() or 1
    blas = _blas_controller().select(user_api="blas")
    limits = [lib.num_threads for lib in blas.lib_controllers]
    return max(1, min([cpus, *limits]) if limits else cpus)


@dataclass(frozen=True)
class LogisticPath:
    """Solutions of a regularization path.

    Attributes
    ----------
    Cs : ndarray of shape (n_Cs,)
        The C values, ascending.
    coefs : ndarray of shape (n_Cs, n_outputs, n_features)
        ``coef_`` at each C, applied to raw rows. n_outputs is 1 for two classes, n_classes
        otherwise.
    intercepts : ndarray of shape (n_Cs, n_outputs)
        ``intercept_`` at each C (zeros without an intercept unless standardized).
    n_iter : ndarray of shape (n_Cs,)
        Solver iterations at each C.
    n_evals : ndarray of shape (n_Cs,)
        Passes over the data at each C (loss-and-gradient evaluations).
    objectives : ndarray of shape (n_Cs,)
        ``1/2 ||W||^2 + C sum_n s_n loss_n`` at each solution (scikit-learn's scale).
    converged : ndarray of shape (n_Cs,), bool
    classes : ndarray of shape (n_classes,)
    multi_class : {"multinomial", "ovr"}
    mean, scale, var : ndarray of shape (n_features,) or None
        The standardization folded into the fit (``standardize=True``; StandardScaler's
        ``mean_``, ``scale_``, ``var_``), else None.
    standardized_coefs : ndarray of shape (n_Cs, n_outputs, n_features)
        The weights V of the standardized rows (the penalized ones): ``coefs * scale``; equal
        to ``coefs`` without standardization.
    standardized_intercepts : ndarray of shape (n_Cs, n_outputs)
        c, with ``intercepts = c - coefs @ mean``.
    coef_dtype : numpy dtype
        The dtype of the fitted attributes of ``path_estimators`` (scikit-learn's rule: float32
        for float32 input, float64 for everything else); the arrays here stay float64.
    """

    Cs: np.ndarray
    coefs: np.ndarray
    intercepts: np.ndarray
    n_iter: np.ndarray
    n_evals: np.ndarray
    objectives: np.ndarray
    converged: np.ndarray
    classes: np.ndarray
    multi_class: str
    params: dict[str, Any] = field(default_factory=dict, repr=False)
    mean: np.ndarray | None = None
    scale: np.ndarray | None = None
    var: np.ndarray | None = None
    standardized_coefs: np.ndarray | None = field(default=None, repr=False)
    standardized_intercepts: np.ndarray | None = field(default=None, repr=False)
    coef_dtype: np.dtype = field(default_factory=lambda: np.dtype(np.float64), repr=False)

    def decision_function(self, X: np.ndarray) -> np.ndarray:
        """Return the raw predictions of every C at once: one GEMM for the whole path.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        raw_prediction : ndarray of shape (n_Cs, n_samples, n_outputs)
        """
        if not sp.issparse(X):
            X = np.asarray(X)
        n_Cs, n_outputs, n_features = self.coefs.shape
        # X @ [W_1; ...; W_m]^T: (n_samples, n_Cs * n_outputs), raw rows
        dtype = X.dtype if X.dtype.kind == "f" else compute_dtype_of(X.dtype)
        stacked = self.coefs.reshape(n_Cs * n_outputs, n_features).astype(dtype, copy=False)
        Z = linear_predict(X, stacked, self.intercepts.reshape(-1).astype(dtype, copy=False))
        return Z.reshape(X.shape[0], n_Cs, n_outputs).transpose(1, 0, 2)

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        """Return class probabilities of every C, shape (n_Cs, n_samples, n_classes)."""
        Z = self.decision_function(X)
        return np.stack([proba_from_raw(z, self.multi_class) for z in Z])

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Return predicted labels of every C, shape (n_Cs, n_samples)."""
        Z = self.decision_function(X)
        if Z.shape[2] == 1:
            return self.classes[(Z[:, :, 0] > 0).astype(int)]
        return self.classes[Z.argmax(axis=2)]


def proba_from_raw(raw_prediction: np.ndarray, multi_class: str) -> np.ndarray:
    """Class probabilities from raw predictions of shape (n_samples, n_outputs).

    Parameters
    ----------
    raw_prediction : ndarray of shape (n_samples, n_outputs)
        ``X @ coef_.T + intercept_``; one output for a binary model.
    multi_class : {"multinomial", "ovr"}
        How several outputs become probabilities: softmax, or one sigmoid per class normalized
        to sum to one (as scikit-learn's OneVsRestClassifier does).

    Returns
    -------
    proba : ndarray of shape (n_samples, n_classes)
        Rows sum to one; a binary model gives two columns ``[1 - p, p]``.
    """
    if raw_prediction.shape[1] == 1:
        p = BinaryCrossEntropy.predict_proba(raw_prediction[:, 0])
        return np.column_stack([1 - p, p])
    if multi_class == "ovr":
        # K sigmoid outputs, normalized to sum to one (as OneVsRestClassifier does)
        p = BinaryCrossEntropy.predict_proba(raw_prediction)
        total = p.sum(axis=1, keepdims=True)
        with np.errstate(invalid="ignore", divide="ignore"):
            p = np.where(total > 0, p / total, 1.0 / p.shape[1])
        return p
    return MultinomialCrossEntropy.predict_proba(raw_prediction)


def _encode_targets(
    y: np.ndarray, classes: np.ndarray, multi_class: str, dtype: np.dtype
) -> tuple[type[BinaryCrossEntropy] | type[MultinomialCrossEntropy], np.ndarray, np.ndarray]:
    """Return the loss, the target matrix (n_samples, n_outputs) and the label indices."""
    y_index = np.searchsorted(classes, y)
    n_classes = len(classes)
    if n_classes == 2:
        # sigmoid model: t_n = 1 for classes[1] (scikit-learn's positive class), else 0
        return BinaryCrossEntropy, (y_index == 1).astype(dtype)[:, None], y_index
    target = np.zeros((len(y), n_classes), dtype=dtype)
    target[np.arange(len(y)), y_index] = 1
    loss = BinaryCrossEntropy if multi_class == "ovr" else MultinomialCrossEntropy
    return loss, target, y_index


def _weights(
    sample_weight: np.ndarray | None,
    class_weight: dict | str | None,
    y: np.ndarray,
    y_index: np.ndarray,
    classes: np.ndarray,
    multi_class: str,
    dtype: np.dtype,
) -> np.ndarray:
    """Return s_n = sample_weight_n * class_weight[y_n], shape (n_samples,) or (n, n_classes).

    With ``multi_class="ovr"`` and ``class_weight="balanced"`` every binary problem is balanced
    on its own labels (as ``OneVsRestClassifier(LogisticRegression(class_weight="balanced"))``
    does), giving one weight per sample and class. A dict weights each sample by its own class
    in every problem.
    """
    n_samples = len(y)
    s = np.ones(n_samples, dtype=np.float64) if sample_weight is None else np.asarray(
        sample_weight, dtype=np.float64
    )
    if class_weight is None:
        return s.astype(dtype)
    if multi_class == "ovr" and len(classes) > 2 and class_weight == "balanced":
        S = np.empty((n_samples, len(classes)))
        for k in range(len(classes)):
            positive = y_index == k
            cw = compute_class_weight("balanced", classes=np.array([False, True]), y=positive)
            S[:, k] = s * np.where(positive, cw[1], cw[0])
        return S.astype(dtype)
    cw = compute_class_weight(class_weight, classes=classes, y=y)
    return (s * cw[y_index]).astype(dtype)


def logistic_regression_path(
    X: np.ndarray,
    y: np.ndarray,
    Cs: Sequence[float] | np.ndarray,
    *,
    sample_weight: np.ndarray | None = None,
    class_weight: dict | str | None = None,
    multi_class: Literal["multinomial", "ovr"] = "multinomial",
    fit_intercept: bool = True,
    tol: float = 5e-4,
    max_iter: int = 1000,
    solver: str = "auto",
    coef_init: np.ndarray | None = None,
    intercept_init: np.ndarray | None = None,
    classes: np.ndarray | None = None,
    warn: bool = True,
    estimator_name: str = "logistic_regression_path",
    standardize: bool = False,
    kernel: str = "auto",
    callback: Callable[[np.ndarray, np.ndarray], None] | None = None,
    reuse: dict[str, Any] | None = None,
) -> LogisticPath:
    """Fit logistic regression for each C in ``Cs``, warm-starting each from the previous one.

    Minimizes, for each C, ``1/2 ||W||^2 + C sum_n s_n loss(t_n, W x_n + b)`` (scikit-learn's
    objective; intercept not penalized) with the sigmoid loss for two classes, the softmax loss
    (``multi_class="multinomial"``) or K independent sigmoid problems solved as one batched
    problem (``multi_class="ovr"``) for more.

    With ``standardize=True`` the rows are standardized as StandardScaler would (mean and scale
    of these rows, weighted by ``sample_weight``) without building the standardized matrix:
    the objective is that of ``StandardScaler -> LogisticRegression`` (penalty on the
    standardized weights), folded into raw-space weights (:mod:`._linear_loss`).

    Parameters
    ----------
    X : ndarray or scipy.sparse matrix of shape (n_samples, n_features)
        Float32, float64 or integer (uint8 pixels); never copied into another dtype whole.
        Products run in float32 for float32 and integers of up to 16 bits, else float64.
    y : ndarray of shape (n_samples,)
        Labels.
    Cs : sequence of float
        Inverse regularization strengths, all > 0. Fitted in ascending order; the result is
        sorted ascending.
    sample_weight : ndarray of shape (n_samples,), default=None
    class_weight : dict, "balanced" or None, default=None
        Multiplies ``sample_weight`` by the weight of each sample's class.
    multi_class : {"multinomial", "ovr"}, default="multinomial"
        Model for more than two classes.
    fit_intercept : bool, default=True
    tol : float, default=5e-4
        Stopping tolerance: small gradient relative to its size at W = 0 and small objective
        decrease over the last five iterations (see ``_solvers``); same meaning for every C
        and every start.
    max_iter : int, default=1000
        Iterations per C.
    solver : str, default="auto"
        A name of :data:`~mnist_logreg.linear_model._solvers.SOLVERS`, or "auto".
    coef_init : ndarray of shape (n_outputs, n_features), default=None
        Starting coefficients for the first C (zeros otherwise), of the standardized rows when
        ``standardize``.
    intercept_init : ndarray of shape (n_outputs,), default=None
    classes : ndarray of shape (n_classes,), default=None
        Sorted labels (``np.unique(y)`` if None); at least two.
    warn : bool, default=True
        Emit a ``ConvergenceWarning`` for each C that stops before meeting ``tol``.
    callback : callable or None, default=None
        Called as ``callback(coef, intercept)`` after each solver iteration with the current
        raw-space model (the ``coef_`` and ``intercept_`` a fit stopped there would have;
        float64 arrays of shapes (n_outputs, n_features) and (n_outputs,)).
    estimator_name : str, default="logistic_regression_path"
        Name used in warnings.
    standardize : bool, default=False
        Fold StandardScaler's standardization of ``X`` into the fit (see above).
    kernel : str, default="auto"
        Pass kernel (:data:`~mnist_logreg.linear_model._kernels.KERNELS`); "auto" chooses from
        the input's storage.
    reuse : dict or None, default=None
        A dict shared by several calls on the same ``X``, ``y``, ``sample_weight``,
        ``class_weight``, ``multi_class``, ``standardize`` and ``kernel`` (the study continues a
        split's path in a second call): the first call stores its standardization and pass
        kernel in it, the later ones use them instead of computing the same numbers again
        (not the Gram matrix: a path's first C gets a fresh, unrounded one).

    Returns
    -------
    path : LogisticPath
    """
    if not sp.issparse(X):
        X = np.asarray(X)
    coef_dtype = fitted_dtype(X.dtype)
    if sp.issparse(X):
        X = sp.csr_matrix(X)
    else:
        if X.dtype.kind not in "fuib":
            X = X.astype(np.float64)
        elif X.dtype == np.float16 or X.dtype == np.bool_:
            X = X.astype(np.float32)
    y = np.asarray(y)
    if classes is None:
        classes = np.unique(y)
    if len(classes) < 2:
        raise ValueError(
            f"{estimator_name} needs samples of at least 2 classes in the data, but the data "
            f"contains only one class: {classes[0]!r}."
        )
    Cs_sorted = np.sort(np.asarray(Cs, dtype=np.float64).ravel())
    if Cs_sorted.size == 0 or not np.all(Cs_sorted > 0):
        raise ValueError(f"Every C must be a float > 0. Got {list(np.asarray(Cs))!r} instead.")
    dtype = compute_dtype_of(X.dtype)
    loss, target, y_index = _encode_targets(y, classes, multi_class, dtype)
    mean = scale = var = None
    if standardize:
        if reuse is not None and "standardization" in reuse:
            mean, scale, var = reuse["standardization"]
        else:
            mean, scale, var = standardization(X, sample_weight)
    weights = _weights(sample_weight, class_weight, y, y_index, classes, multi_class, dtype)
    n_threads = _available_threads()
    n_outputs = target.shape[1]

    # auto: the preconditioned L-BFGS, unless the (n_features + 1)^2 Gram matrix and its
    # Cholesky factor would cost more than they save
    solver_name = solver
    if solver == "auto":
        solver_name = "lbfgs" if X.shape[1] < 2048 else "lbfgs-plain"
    solve = get_solver(solver_name)
    # The fit parallelizes over row blocks itself; the BLAS libraries (numpy's and scipy's
    # OpenBLAS) run single-threaded meanwhile, so that no two thread pools compete for cores.
    with _blas_controller().limit(limits=1, user_api="blas"):
        base = LinearModelLoss(
            loss, X, target, weights, C=Cs_sorted[0], fit_intercept=fit_intercept,
            n_threads=n_threads, mean=mean, scale=scale,
            kernel=kernel if reuse is None else reuse.get("kernel", kernel),
        )
        center = multi_class == "multinomial" and n_outputs > 1 and fit_intercept
        make_callback = None if callback is None else (
            lambda objective: _iteration_reporter(callback, objective, center=center, mean=mean,
                                                  scale=scale))
        solutions = solve_warm_path(
            base, Cs_sorted, solve, loss=loss, tol=tol, max_iter=max_iter, coef_init=coef_init,
            intercept_init=intercept_init, multi_class=multi_class, warn=warn,
            estimator_name=estimator_name, make_callback=make_callback,
            hint=", or standardize the features (e.g. with sklearn.preprocessing.StandardScaler)",
        )
    if reuse is not None:
        reuse.update({"standardization": (mean, scale, var), "kernel": base.kernel})
    params = {"fit_intercept": fit_intercept, "tol": tol, "max_iter": max_iter,
              "solver": solver, "class_weight": class_weight}
    return assemble_path(
        Cs_sorted, solutions,
        classes=classes, multi_class=multi_class, params=params, standardize=standardize,
        mean=mean, scale=scale, var=var, coef_dtype=coef_dtype,
    )


def solve_warm_path(
    base: LinearModelLoss, Cs_sorted: np.ndarray, solve: Callable[..., Any], *, loss: Any,
    tol: float, max_iter: int, coef_init: np.ndarray | None,
    intercept_init: np.ndarray | None, multi_class: str, warn: bool, estimator_name: str,
    make_callback: Callable[[Any], Callable[[np.ndarray], None] | None] | None = None,
    hint: str = "", stacklevel: int = 3,
) -> tuple[np.ndarray, ...]:
    """Solve for each C in increasing order, each solve warm-started from the path so far.

    One loop for the in-memory and the Dask fit: ``base`` is any loss object with this module's
    ``LinearModelLoss`` interface (``with_C``, ``pack``, ``unpack``, ``n_params``, ...).

    With two solutions :math:`w_a, w_b` at :math:`C_a < C_b < C`, the start is the linear
    predictor in log C, :math:`w_b + t (w_b - w_a)`, :math:`t = \\min(\\log(C/C_b) /
    \\log(C_b/C_a), 2)`; the L-BFGS pairs are carried over (``shift_pairs``: the penalty's
    part of each gradient difference rescaled to the new C).

    Parameters
    ----------
    base : LinearModelLoss
        The loss at ``Cs_sorted[0]``.
    Cs_sorted : ndarray of shape (n_Cs,)
        Increasing C values.
    solve : callable
        The solver (:func:`~._solvers.get_solver`).
    loss, tol, max_iter, coef_init, intercept_init, multi_class, warn, estimator_name
        As in :func:`logistic_regression_path`.
    make_callback : callable, optional
        ``make_callback(objective)`` returns the per-iteration callback of one solve (or None).
    hint : str, optional
        Appended to the advice of the non-convergence warning.
    stacklevel : int, optional
        Of the warning.

    Returns
    -------
    tuple of ndarray
        ``coefs`` (n_Cs, n_outputs, n_features), ``intercepts`` (n_Cs, n_outputs), ``n_iter``,
        ``n_evals``, ``objectives`` (per sample weight unit, as the loss reports) and
        ``converged``, each of length n_Cs.
    """
    n_outputs, n_features = base.n_outputs, base.n_features
    n_C = len(Cs_sorted)
    coefs = np.empty((n_C, n_outputs, n_features))  # V, standardized rows
    intercepts = np.zeros((n_C, n_outputs))
    n_iter = np.zeros(n_C, dtype=np.int32)
    n_evals = np.zeros(n_C, dtype=np.int64)
    objectives = np.zeros(n_C)
    converged = np.zeros(n_C, dtype=bool)
    if coef_init is not None:
        coef0 = np.asarray(coef_init, dtype=np.float64)
        b0 = None if intercept_init is None else np.asarray(intercept_init, dtype=np.float64)
        if loss is MultinomialCrossEntropy:
            # softmax is unchanged by a vector added to every class's coefficients (or a
            # constant to every intercept), while ||W||^2 is smallest with zero class mean:
            # centring the start lowers the objective and keeps the iterates in the
            # subspace where the optimum lies.
            coef0 = coef0 - coef0.mean(axis=0)
            b0 = None if b0 is None else b0 - b0.mean()
        w = base.pack(coef0, b0)
    else:
        w = np.zeros(base.n_params)
    pairs: list = []
    solutions: list[tuple[float, np.ndarray]] = []  # (C, w) of the solves so far
    for i, C in enumerate(Cs_sorted):
        objective = base.with_C(C)
        w_start = w
        if len(solutions) >= 2 and solutions[-2][0] < solutions[-1][0] < C:
            # Predictor: the solution moves smoothly with log C; extrapolate linearly
            # from the last two solutions, and let the solver correct.
            (C_a, w_a), (C_b, w_b) = solutions[-2], solutions[-1]
            t = min(np.log(C / C_b) / np.log(C_b / C_a), 2.0)
            w_start = w_b + t * (w_b - w_a)
        if solutions:
            pairs = shift_pairs(pairs, objective, solutions[-1][0])
        on_iteration = None if make_callback is None else make_callback(objective)
        result = solve(objective, w_start, tol=tol, max_iter=max_iter,
                       center=loss is MultinomialCrossEntropy, pairs=pairs,
                       callback=on_iteration)
        pairs = result.pairs
        w = result.w
        solutions.append((C, w))
        coef, intercept = objective.unpack(w)
        if multi_class == "multinomial" and n_outputs > 1 and base.fit_intercept:
            # softmax is unchanged by a constant added to every intercept: report the
            # centred ones (the coefficients' class mean is already zero at the optimum)
            intercept = intercept - intercept.mean()
        coefs[i] = coef
        intercepts[i] = intercept
        n_iter[i] = result.n_iter
        n_evals[i] = result.n_evals
        objectives[i] = result.value / objective.scale
        converged[i] = result.converged
        if warn and not result.converged:
            warnings.warn(
                f"{estimator_name} did not converge at C={C:g} after {result.n_iter} "
                f"iterations ({result.message}; the gradient is {result.grad_ratio:.2g} "
                f"times its size at zero, tol={tol:g}). Increase max_iter (now "
                f"{max_iter}), loosen tol{hint}.",
                ConvergenceWarning,
                stacklevel=stacklevel,
            )
    return coefs, intercepts, n_iter, n_evals, objectives, converged


def assemble_path(
    Cs_sorted: np.ndarray,
    solutions: tuple[np.ndarray, ...],
    *,
    classes: Any,
    multi_class: str,
    params: dict[str, Any],
    standardize: bool,
    mean: np.ndarray | None,
    scale: np.ndarray | None,
    var: np.ndarray | None,
    coef_dtype: np.dtype | None = None,
) -> LogisticPath:
    """Build a :class:`LogisticPath` from the solver's standardized solutions (in memory or Dask).

    ``solutions`` is ``(coefs, intercepts, n_iter, n_evals, objectives, converged)``, the
    coefficients in the space the solver worked in. With ``standardize`` the raw-space model is
    the fold of ``_linear_loss``: W = V / s, b = c - W m.
    """
    coefs, intercepts, n_iter, n_evals, objectives, converged = solutions
    raw_coefs, raw_intercepts = coefs, intercepts
    if standardize:
        raw_coefs = coefs / scale
        raw_intercepts = intercepts - raw_coefs @ mean
        params = {**params, "standardize": True}
    extra = {} if coef_dtype is None else {"coef_dtype": coef_dtype}
    return LogisticPath(
        Cs=Cs_sorted, coefs=raw_coefs, intercepts=raw_intercepts, n_iter=n_iter,
        n_evals=n_evals, objectives=objectives, converged=converged,
        classes=np.asarray(classes), multi_class=multi_class, params=params,
        mean=mean, scale=scale, var=var, standardized_coefs=coefs,
        standardized_intercepts=intercepts, **extra,
    )


def _iteration_reporter(
    callback: Callable[[np.ndarray, np.ndarray], None],
    objective: LinearModelLoss,
    *,
    center: bool,
    mean: np.ndarray | None,
    scale: np.ndarray | None,
) -> Callable[[np.ndarray], None]:
    """Return ``report(w)``: the solver's iterate as the raw-space ``(coef, intercept)``.

    The same conversion as the path's result: softmax intercepts centred, and with
    standardization the fold W = V / s, b = c - W m.
    """

    def report(w: np.ndarray) -> None:
        coef, intercept = objective.unpack(w)
        coef = np.array(coef, dtype=np.float64)  # copies: the caller may keep them
        intercept = np.array(intercept, dtype=np.float64)
        if center:
            intercept = intercept - intercept.mean()
        if mean is not None and scale is not None:
            coef = coef / scale
            intercept = intercept - coef @ mean
        callback(coef, intercept)

    return report


def fitted_dtype(input_dtype: Any) -> np.dtype:
    """Return the dtype of fitted attributes and predictions for input of ``input_dtype``.

    scikit-learn's rule (``validate_data(dtype=[np.float64, np.float32])``): float32 stays
    float32, every other dtype (float64, float16, integers such as uint8 pixels, bool) gives
    float64. The computation itself may use another dtype (uint8 pixels are read as they are).
    """
    return np.dtype(np.float32) if np.dtype(input_dtype) == np.float32 else np.dtype(np.float64)
