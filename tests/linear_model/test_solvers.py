"""Tests of the solvers: same optimum, stopping rule independent of C and start."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.datasets import load_digits
from sklearn.preprocessing import StandardScaler

from mnist_logreg.linear_model._linear_loss import LinearModelLoss
from mnist_logreg.linear_model._loss import BinaryCrossEntropy
from mnist_logreg.linear_model._solvers import (
    SOLVERS,
    BlockPreconditioner,
    SharedPreconditioner,
    get_solver,
    shift_pairs,
)

from .conftest import digits_objective


def test_shared_preconditioner_inverts_its_curvature_model() -> None:
    """Test that SharedPreconditioner.apply is M^{-1} for M = h G + P / (C sum s)."""
    obj = digits_objective(C=0.3)
    P = SharedPreconditioner(obj, curvature=0.1)
    M = 0.1 * obj.gram()
    M[np.diag_indices_from(M)] += obj.penalty_mask / (obj.C * obj.weight_sum)
    r = np.random.default_rng(0).normal(size=obj.n_params)
    MR = (M @ P.apply(r).reshape(10, -1).T).T.ravel()
    np.testing.assert_allclose(MR, r, rtol=1e-6, atol=1e-8)


def test_block_preconditioner_is_the_exact_inverse_for_one_vs_rest() -> None:
    """Test that with every row summed, the block model inverts the one-vs-rest Hessian."""
    X, y = load_digits(return_X_y=True)
    X = StandardScaler().fit_transform(X[:300])
    obj = LinearModelLoss(BinaryCrossEntropy, X, np.eye(10)[y[:300]], C=2.0)
    rng = np.random.default_rng(1)
    w = 0.05 * rng.normal(size=obj.n_params)
    P = BlockPreconditioner(obj, w, center=False, max_rows=300)
    r = rng.normal(size=obj.n_params)
    # H v by central differences of the gradient (the objective is smooth)
    v, eps = P.apply(r), 1e-6
    hv = (obj.value_and_grad(w + eps * v)[1] - obj.value_and_grad(w - eps * v)[1]) / (2 * eps)
    np.testing.assert_allclose(hv, r, rtol=1e-4, atol=1e-6)


def test_block_preconditioner_keeps_softmax_iterates_centred() -> None:
    """Test that the softmax block model returns directions of zero class mean."""
    obj = digits_objective()
    P = BlockPreconditioner(obj, np.zeros(obj.n_params), center=True, max_rows=100)
    out = P.apply(np.random.default_rng(2).normal(size=obj.n_params)).reshape(10, -1)
    np.testing.assert_allclose(out.mean(axis=0), 0, atol=1e-10)


@pytest.mark.parametrize("name", sorted(SOLVERS))
def test_solvers_reach_the_same_optimum(name: str) -> None:
    """Test that every registered solver reaches the optimum found by scipy's L-BFGS-B."""
    from scipy.optimize import minimize

    obj = digits_objective(C=0.5)
    ref = minimize(obj.value_and_grad, np.zeros(obj.n_params), jac=True, method="L-BFGS-B",
                   options={"gtol": 1e-12, "ftol": 1e-15, "maxiter": 5000})
    result = get_solver(name)(obj, np.zeros(obj.n_params), tol=1e-8, max_iter=2000, center=True)
    assert result.converged
    assert result.grad_ratio <= 1e-8
    assert result.value == pytest.approx(ref.fun, rel=1e-9)


def test_stopping_rule_is_relative_to_the_gradient_at_zero() -> None:
    """Test that a warm start at a larger C is not declared converged at iteration 0."""
    small, large = digits_objective(C=0.01), digits_objective(C=1.0)
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


def test_shift_pairs_matches_the_new_objective() -> None:
    """Test that pairs carried to another C equal the new objective's gradient differences."""
    old, new = digits_objective(C=0.1), digits_objective(C=0.7)
    rng = np.random.default_rng(3)
    w1, w2 = rng.normal(size=old.n_params), rng.normal(size=old.n_params)
    s, y = w2 - w1, old.value_and_grad(w2)[1] - old.value_and_grad(w1)[1]
    (s_new, y_new, rho), = shift_pairs([(s, y, 1.0 / (s @ y))], new, C_old=0.1)
    expected = new.value_and_grad(w2)[1] - new.value_and_grad(w1)[1]
    np.testing.assert_allclose(y_new, expected, rtol=1e-10, atol=1e-14)
    assert rho == pytest.approx(1.0 / (s_new @ expected))
