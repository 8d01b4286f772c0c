"""One fitted estimator per C of a regularization path.

Kept apart from :mod:`._path` so that imports run one way: ``_path`` (the engine) knows
nothing of the estimator classes, ``_logistic`` and ``_ovr`` build on ``_path``, and this
module builds on all three.
"""

from __future__ import annotations

import numpy as np

from mnist_logreg.linear_model._logistic import LogisticRegression
from mnist_logreg.linear_model._ovr import OneVsRestLogisticRegression
from mnist_logreg.linear_model._path import LogisticPath

__all__ = ["path_estimators"]


def path_estimators(path: LogisticPath) -> list[LogisticRegression]:
    """Return one fitted estimator per C of ``path``, in the order of ``path.Cs``.

    Parameters
    ----------
    path : LogisticPath
        From :func:`~mnist_logreg.linear_model.logistic_regression_path`.

    Returns
    -------
    estimators : list of LogisticRegression or OneVsRestLogisticRegression
        ``OneVsRestLogisticRegression`` for ``multi_class="ovr"``; fitted attributes in
        ``path.coef_dtype`` (float32 for float32 input, as scikit-learn), ``predict*`` equal to
        ``path.predict*`` at that C; with ``standardize`` also ``mean_``, ``scale_``, ``var_``
        and the standardized weights.
    """
    cls = OneVsRestLogisticRegression if path.multi_class == "ovr" else LogisticRegression
    dtype = path.coef_dtype
    out: list[LogisticRegression] = []
    for i, C in enumerate(path.Cs):
        est = cls(C=float(C), **path.params)
        est.classes_ = path.classes
        est.coef_ = path.coefs[i].astype(dtype)
        est.intercept_ = path.intercepts[i].astype(dtype)
        est.n_iter_ = np.array([path.n_iter[i]], dtype=np.int32)
        est.n_features_in_ = path.coefs.shape[2]
        if (
            path.mean is not None
            and path.scale is not None
            and path.var is not None
            and path.standardized_coefs is not None
            and path.standardized_intercepts is not None
        ):
            est.mean_ = path.mean.copy()
            est.scale_ = path.scale.copy()
            est.var_ = path.var.copy()
            est.standardized_coef_ = path.standardized_coefs[i].astype(dtype)
            est.standardized_intercept_ = path.standardized_intercepts[i].astype(dtype)
        out.append(est)
    return out
