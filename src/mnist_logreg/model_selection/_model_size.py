"""The size of a fitted model: the bytes of the arrays it keeps (the comparison's model size)."""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.pipeline import Pipeline


def fitted_nbytes(estimator: Any) -> int:
    """Bytes of the arrays a fitted estimator (or pipeline) keeps: its model size.

    Counts every ndarray among the fitted attributes (names ending or starting with ``_``,
    hyperparameters excluded), inside nested estimators and decision trees, each array once
    (views of the same memory count once). For KNN this is the stored training set; for an SVM
    the support vectors and dual coefficients.
    """
    seen: set[int] = set()

    def array_bytes(arr: np.ndarray) -> int:
        base = arr
        while isinstance(base.base, np.ndarray):
            base = base.base
        if id(base) in seen:
            return 0
        seen.add(id(base))
        return int(base.nbytes)

    def walk(obj: Any, depth: int = 0) -> int:
        if depth > 6:
            return 0
        if isinstance(obj, np.ndarray):
            return (
                array_bytes(obj)
                if obj.dtype != object
                else sum(walk(item, depth + 1) for item in obj.ravel())
            )
        if isinstance(obj, Pipeline):
            return sum(walk(step, depth + 1) for _, step in obj.steps if step != "passthrough")
        if isinstance(obj, list | tuple):
            return sum(walk(item, depth + 1) for item in obj)
        if isinstance(obj, BaseEstimator):
            hyper = set(obj.get_params(deep=False))
            return sum(
                walk(value, depth + 1)
                for key, value in vars(obj).items()
                if key not in hyper and (key.endswith("_") or key.startswith("_"))
            )
        state = getattr(obj, "__getstate__", None)
        if type(obj).__name__ == "Tree" and state is not None:  # sklearn.tree._tree.Tree
            return sum(walk(v, depth + 1) for v in state().values() if isinstance(v, np.ndarray))
        return 0

    return walk(estimator)


__all__ = ["fitted_nbytes"]
