"""Tests of the solvers: same optimum, stopping rule independent of C and start."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.datasets import load_digits
from sklearn.preprocessing import StandardScaler

from mnist_logreg.linear_model._linear_loss import LinearModelLoss
from mnist_logreg.linear_model._loss import MultinomialCrossEntropy
from mnist_logreg.linear_model._solvers import SOLVERS, Preconditioner, get_solver


def _digits_objective(C: float = 1.0, n: int = 500) -> LinearModelLoss:
    X, y = load_digits(return_X_y=True)
    X = StandardScaler().fit_transform(X[:n])
    return LinearModelLoss(MultinomialCrossEntropy, X, np.eye(10)[y[:n]], C=C)


def test_preconditioner_change_of_variables_round_trip() -> None:
    """Test that to_w inverts from_w and grad_to_v is the chain rule of to_w."""
    obj = _digits_objective()
    P = Preconditioner(obj, curvature=0.1)
    rng = np.random.default_rng(0)
    w = rng.normal(size=obj.n_params)
    np.testing.assert_allclose(P.to_w(P.from_w(w)), w, atol=1e-10)
    v, dv = P.from_w(w), rng.normal(size=obj.n_params)
    eps = 1e-6
    fd = (obj.value_and_grad(P.to_w(v + eps * dv))[0] - obj.value_and_grad(P.to_w(v - eps * dv))[0])
    assert fd / (2 * eps) == pytest.approx(P.grad_to_v(obj.value_and_grad(w)[1]) @ dv, rel=1e-5)


@pytest.mark.parametrize("name", sorted(SOLVERS))
def test_solvers_reach_the_same_optimum(name: str) -> None:
    """Test that every registered solver reaches the optimum found by scipy's L-BFGS-B."""
    from scipy.optimize import minimize

    obj = _digits_objective(C=0.5)
    ref = minimize(obj.value_and_grad, np.zeros(obj.n_params), jac=True, method="L-BFGS-B",
                   options={"gtol": 1e-12, "ftol": 1e-15, "maxiter": 5000})
    result = get_solver(name)(obj, np.zeros(obj.n_params), tol=1e-8, max_iter=2000)
    assert result.converged
    assert result.grad_ratio <= 1e-8
    assert result.value == pytest.approx(ref.fun, rel=1e-9)


def test_stopping_rule_is_relative_to_the_gradient_at_zero() -> None:
    """Test that a warm start at a larger C is not declared converged at iteration 0."""
    small, large = _digits_objective(C=0.01), _digits_objective(C=1.0)
    solve = get_solver("lbfgs")
    w_small = solve(small, np.zeros(small.n_params), tol=1e-6, max_iter=1000).w
    # In the mean-scaled form, the gradient at the previous solution is small in absolute
    # terms; the relative rule still asks for progress.
    warm = solve(large, w_small, tol=1e-4, max_iter=1000)
    cold = solve(large, np.zeros(large.n_params), tol=1e-4, max_iter=1000)
    assert warm.n_iter > 0
    assert warm.converged and cold.converged
    assert warm.value == pytest.approx(cold.value, rel=1e-4)
    # the reference does not depend on C in the solver's scale
    assert small.grad_norm_at_zero() == pytest.approx(large.grad_norm_at_zero(), rel=1e-12)


def test_unknown_solver_is_named_in_the_error() -> None:
    """Test that asking for an unknown solver lists the known ones."""
    with pytest.raises(ValueError, match="Unknown solver 'nope'; known solvers: "):
        get_solver("nope")
