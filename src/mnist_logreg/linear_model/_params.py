"""Checks of LogisticRegression's constructor parameters, in scikit-learn's words.

Our own short code instead of scikit-learn's private ``sklearn.utils._param_validation``: the
messages keep scikit-learn's form ("The 'C' parameter of LogisticRegression must be a float
> 0. Got -1 instead.") and the error is, like scikit-learn's ``InvalidParameterError``, both a
``ValueError`` and a ``TypeError``.
"""

from __future__ import annotations

from collections.abc import Collection
from numbers import Integral, Real
from typing import Any

import numpy as np
from sklearn.utils import check_array

__all__ = ["InvalidParameterError", "check_sample_weight", "validate_logistic_params"]


class InvalidParameterError(ValueError, TypeError):
    """A constructor parameter of the wrong type or value (as scikit-learn's)."""


def _is_bool(value: Any) -> bool:
    return isinstance(value, bool | np.bool_)


def _is_real(value: Any) -> bool:
    return isinstance(value, Real) and not _is_bool(value)


def _is_int(value: Any) -> bool:
    return isinstance(value, Integral) and not _is_bool(value)


def validate_logistic_params(estimator: Any, solvers: Collection[str]) -> None:
    """Raise :class:`InvalidParameterError` naming the first invalid parameter of ``estimator``.

    Parameters
    ----------
    estimator : LogisticRegression or OneVsRestLogisticRegression
    solvers : collection of str
        The solver names besides "auto".
    """
    name = type(estimator).__name__
    params = estimator.get_params(deep=False)
    solver_names = "{" + ", ".join(repr(s) for s in sorted({"auto", *solvers})) + "}"
    rules = {
        "C": (lambda v: _is_real(v) and v > 0, "a float > 0"),
        "fit_intercept": (_is_bool, "a bool"),
        "tol": (lambda v: _is_real(v) and v >= 0, "a float in the range [0, inf)"),
        "max_iter": (lambda v: _is_int(v) and v >= 0, "an int in the range [0, inf)"),
        "solver": (lambda v: isinstance(v, str) and v in {"auto", *solvers},
                   f"a str among {solver_names}"),
        "warm_start": (_is_bool, "a bool"),
        "class_weight": (lambda v: v is None or isinstance(v, dict) or v == "balanced",
                         "an instance of 'dict', a str among {'balanced'} or None"),
        "verbose": (lambda v: _is_int(v) or _is_bool(v), "an int or a bool"),
        "standardize": (_is_bool, "a bool"),
    }
    for param, (is_valid, expected) in rules.items():
        value = params[param]
        if not is_valid(value):
            raise InvalidParameterError(
                f"The {param!r} parameter of {name} must be {expected}. Got {value!r} instead."
            )


def check_sample_weight(sample_weight: Any, n_samples: int) -> np.ndarray:
    """Return ``sample_weight`` as a float64 array of shape (n_samples,).

    A scalar gives that weight to every sample; an array must be 1-D, finite and of length
    ``n_samples``; not every weight may be zero (scikit-learn's rules and messages).
    """
    if _is_real(sample_weight):
        weights = np.full(n_samples, float(sample_weight))
    else:
        weights = check_array(
            sample_weight, ensure_2d=False, dtype=np.float64, input_name="sample_weight"
        )
        if weights.ndim != 1:
            raise ValueError(
                f"Sample weights must be 1D array or scalar, got {weights.ndim}D array. "
                f"Expected either a scalar value or a 1D array of length {n_samples}."
            )
        if weights.shape != (n_samples,):
            raise ValueError(
                f"sample_weight.shape == {weights.shape}, expected {(n_samples,)}!"
            )
    if not np.any(weights):
        raise ValueError("Sample weights must contain at least one non-zero number.")
    return weights
