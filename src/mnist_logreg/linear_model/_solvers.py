"""Solvers for smooth convex objectives, and the preconditioner they share.

A solver sees only an objective: ``value_and_grad(w)``, ``hessp(w)`` (for Newton methods),
``grad_norm_at_zero()`` (its stopping reference) and, to build a preconditioner, ``gram()`` and
``penalty_mask`` (see :class:`~mnist_logreg.linear_model._linear_loss.LinearModelLoss`). Solvers
are looked up by name in :data:`SOLVERS`.

Stopping rule (all solvers)
---------------------------
Stop at the first iterate with

    max |grad f(w)| <= tol * max |grad f(0)|,

the gradient measured in the original parameters (not the preconditioned ones), relative to its
size at W = 0, b = 0. The reference depends neither on the starting point nor, in the solvers'
mean-scaled form, on C, so a tolerance means the same thing for every C and every start: a warm
start from a neighbouring C is not declared converged merely because the new problem's gradient
happens to be small in absolute terms (the pitfall of an absolute tolerance on a mean-scaled
objective). Near the optimum, f(w) - f* ~ 1/2 g^T H^{-1} g, and since the Hessian H of the
scikit-learn objective is at least the identity on the coefficients, the objective's excess is
bounded by a constant times the squared gradient norm.

Preconditioning
---------------
The Hessian of the loss term is C X~^T D X~ per output (D: loss curvatures, X~ = [X, 1]), badly
conditioned when features are correlated (pixels are). With the curvature model

    M = h * G + P / (C sum_n s_n),   G = X~^T S X~ / sum_n s_n,   P = diag(1, ..., 1, 0),

(the solver-scale Hessian with every loss curvature replaced by the constant h) and its Cholesky
factor M = L L^T, the solvers work in variables V with [W | b] = V L^{-1}; there the Hessian is
L^{-1} H L^{-T}, close to the identity. G is computed once per data set (a few thousand rows
suffice; cached by the objective and shared along a path), L once per C (a 785 x 785 Cholesky,
milliseconds), and the change of variables costs two triangular solves of n_outputs vectors per
evaluation: negligible next to a pass over X.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import numpy as np
from scipy.linalg import cho_factor, solve_triangular

__all__ = ["SOLVERS", "Objective", "Preconditioner", "SolverResult", "get_solver"]

logger = logging.getLogger(__name__)


class Objective(Protocol):
    """What a solver may ask of the function it minimizes."""

    n_params: int
    n_outputs: int
    C: float
    weight_sum: float

    def value_and_grad(self, w: np.ndarray) -> tuple[float, np.ndarray]: ...

    def hessp(self, w: np.ndarray) -> Callable[[np.ndarray], np.ndarray]: ...

    def grad_norm_at_zero(self) -> float: ...

    def gram(self, max_rows: int | None = ...) -> np.ndarray: ...

    @property
    def penalty_mask(self) -> np.ndarray: ...


@dataclass(frozen=True)
class SolverResult:
    """Outcome of one solve.

    Attributes
    ----------
    w : ndarray of shape (n_params,)
        The solution, in the objective's parameters.
    value : float
        Objective (solver scale) at ``w``.
    n_iter : int
        Iterations (L-BFGS steps or Newton steps).
    n_evals : int
        Passes of value-and-gradient over the data.
    n_hessp : int
        Hessian-vector products (each also one pass over the data).
    converged : bool
        Whether the stopping rule was met within ``max_iter``.
    grad_ratio : float
        max |grad f(w)| / max |grad f(0)| at the solution.
    message : str
        Why the solver stopped.
    """

    w: np.ndarray
    value: float
    n_iter: int
    n_evals: int
    n_hessp: int
    converged: bool
    grad_ratio: float
    message: str


class Preconditioner:
    """Change of variables ``[W | b] = V L^{-1}`` with ``L L^T = h G + P / (C sum_n s_n)``.

    Parameters
    ----------
    objective : Objective
    curvature : float, default=0.05
        h, the typical loss curvature the model assumes (sigma(1 - sigma) for the sigmoid,
        p_k (1 - p_k) for the softmax, averaged over samples near the solution).
    max_rows : int or None, default=20000
        Rows used to estimate G.
    """

    def __init__(
        self, objective: Objective, curvature: float = 0.05, max_rows: int | None = 20_000
    ) -> None:
        G = objective.gram(max_rows)
        mask = objective.penalty_mask
        # M = h G + P / (C sum_n s_n): solver-scale Hessian with every loss curvature set to h
        M = curvature * G
        M[np.diag_indices_from(M)] += mask / (objective.C * objective.weight_sum)
        # A floor on the diagonal keeps M positive definite when columns are constant or
        # duplicated and the intercept column is the only unpenalized one.
        M[np.diag_indices_from(M)] += 1e-10 * max(float(np.max(np.diag(M))), 1e-300)
        self.L = cho_factor(M, lower=True, check_finite=False)[0]
        self.L[np.triu_indices_from(self.L, 1)] = 0.0
        self.n_outputs = objective.n_outputs
        self.p = M.shape[0]

    def to_w(self, v: np.ndarray) -> np.ndarray:
        """Return ``[W | b] = V L^{-1}`` (flat) from the solver's variables (flat)."""
        V = v.reshape(self.n_outputs, self.p)
        # rows of V L^{-1}: solve L^T x = v_k for each k
        return solve_triangular(self.L, V.T, lower=True, trans="T", check_finite=False).T.ravel()

    def from_w(self, w: np.ndarray) -> np.ndarray:
        """Return the solver's variables ``V = [W | b] L`` (flat) for parameters ``w``."""
        return (w.reshape(self.n_outputs, self.p) @ self.L).ravel()

    def grad_to_v(self, g: np.ndarray) -> np.ndarray:
        """Map a gradient in ``w`` to the gradient in ``v``: ``grad_V = grad_W L^{-T}``."""
        G = g.reshape(self.n_outputs, self.p)
        return solve_triangular(self.L, G.T, lower=True, check_finite=False).T.ravel()


def _stop_reference(objective: Objective) -> float:
    ref = objective.grad_norm_at_zero()
    # grad f(0) = 0 means W = 0, b = 0 is optimal (e.g. every label balanced and X = 0): any
    # gradient below machine precision then counts as converged.
    return ref if ref > 0 else np.finfo(np.float64).eps


def lbfgs(
    objective: Objective,
    w0: np.ndarray,
    *,
    tol: float = 1e-4,
    max_iter: int = 1000,
    preconditioner: Preconditioner | None = None,
    memory: int = 20,
) -> SolverResult:
    """Minimize with limited-memory BFGS in preconditioned variables.

    Two-loop recursion on the last ``memory`` pairs (s, y), initial inverse Hessian
    gamma I with gamma = s^T y / y^T y; backtracking line search (Armijo, c1 = 1e-4) from the
    unit step, safeguarded quadratic interpolation. The objective is strictly convex in the
    coefficients, so s^T y > 0 along every accepted step (pairs that fail it numerically are
    skipped).

    Parameters
    ----------
    objective : Objective
    w0 : ndarray of shape (n_params,)
        Starting point.
    tol : float, default=1e-4
        Relative gradient tolerance (module docstring).
    max_iter : int, default=1000
        Maximum number of iterations.
    preconditioner : Preconditioner or None, default=None
    memory : int, default=20
        Number of (s, y) pairs kept.

    Returns
    -------
    result : SolverResult
    """
    P = preconditioner
    to_w = P.to_w if P else (lambda v: v)
    grad_v = P.grad_to_v if P else (lambda g: g)
    v = P.from_w(w0) if P else np.array(w0, dtype=np.float64)
    reference = _stop_reference(objective)
    n_evals = 0

    def evaluate(v: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
        nonlocal n_evals
        n_evals += 1
        f, g_w = objective.value_and_grad(to_w(v))
        return f, g_w, grad_v(g_w)

    f, g_w, g = evaluate(v)
    s_list: list[np.ndarray] = []
    y_list: list[np.ndarray] = []
    rho_list: list[float] = []
    message = "maximum number of iterations reached"
    converged = False
    n_iter = 0
    for n_iter in range(max_iter + 1):
        ratio = float(np.max(np.abs(g_w))) / reference
        if ratio <= tol:
            converged, message = True, "gradient below tolerance"
            break
        if n_iter == max_iter:
            break
        # two-loop recursion: d = -H_k g
        q = g.copy()
        alphas = []
        for s_i, y_i, rho_i in zip(reversed(s_list), reversed(y_list), reversed(rho_list),
                                   strict=True):
            a = rho_i * float(s_i @ q)
            alphas.append(a)
            q -= a * y_i
        if s_list:
            gamma = float(s_list[-1] @ y_list[-1]) / float(y_list[-1] @ y_list[-1])
            q *= gamma
        for s_i, y_i, rho_i, a in zip(s_list, y_list, rho_list, reversed(alphas), strict=True):
            b = rho_i * float(y_i @ q)
            q += (a - b) * s_i
        d = -q
        gd = float(g @ d)
        if not gd < 0:  # not a descent direction (numerical trouble): restart from -g
            s_list, y_list, rho_list = [], [], []
            d = -g
            gd = -float(g @ g)
        # backtracking Armijo line search from the unit step
        step = 1.0
        if not s_list:
            # first step (or restart): the preconditioned Hessian is roughly the identity,
            # but cap the step so that it moves at most 10 in norm.
            step = min(1.0, 10.0 / max(math.sqrt(-gd), 1e-300))
        noise = 64 * np.finfo(np.float64).eps * abs(f)
        for _ in range(40):
            v_new = v + step * d
            f_new, g_w_new, g_new = evaluate(v_new)
            if f_new <= f + 1e-4 * step * gd + noise:
                break
            # minimizer of the quadratic through f, f'(0) = gd and f(step), kept in [0.1, 0.5] step
            denom = 2 * (f_new - f - step * gd)
            trial = -gd * step * step / denom if denom > 0 else 0.5 * step
            step = min(max(trial, 0.1 * step), 0.5 * step)
        else:
            message = "line search failed (the objective's precision is exhausted)"
            break
        s_k = v_new - v
        y_k = g_new - g
        sy = float(s_k @ y_k)
        if sy > 1e-12 * float(np.sqrt((s_k @ s_k) * (y_k @ y_k))):
            s_list.append(s_k)
            y_list.append(y_k)
            rho_list.append(1.0 / sy)
            if len(s_list) > memory:
                del s_list[0], y_list[0], rho_list[0]
        relative_decrease = (f - f_new) / max(abs(f), abs(f_new), 1e-300)
        v, f, g_w, g = v_new, f_new, g_w_new, g_new
        if 0 <= relative_decrease < 1e-15 and float(np.max(np.abs(s_k))) < 1e-12:
            message = "no progress (the objective's precision is exhausted)"
            break
    w = to_w(v)
    return SolverResult(
        w=w, value=f, n_iter=n_iter, n_evals=n_evals, n_hessp=0, converged=converged,
        grad_ratio=float(np.max(np.abs(g_w))) / reference, message=message,
    )


SolverFunction = Callable[..., SolverResult]

SOLVERS: dict[str, SolverFunction] = {
    "lbfgs": lbfgs,
}


def get_solver(name: str) -> SolverFunction:
    """Return the solver registered under ``name``."""
    try:
        return SOLVERS[name]
    except KeyError:
        raise ValueError(
            f"Unknown solver {name!r}; known solvers: {', '.join(sorted(SOLVERS))}."
        ) from None
