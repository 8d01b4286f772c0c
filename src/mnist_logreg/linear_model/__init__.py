"""The logistic regression engine: losses, the objective, solvers, estimators, paths.

Public names: :class:`LogisticRegression` (sigmoid / softmax, scikit-learn compatible),
:class:`OneVsRestLogisticRegression` (the study's one-vs-all, solved as one batched problem) and
:func:`logistic_regression_path` (many C values on the same rows, warm-started) with its result
:class:`LogisticPath`, and :func:`path_estimators` (one fitted estimator per C of a path).
"""

from mnist_logreg.linear_model._logistic import LogisticRegression
from mnist_logreg.linear_model._ovr import OneVsRestLogisticRegression
from mnist_logreg.linear_model._path import LogisticPath, logistic_regression_path
from mnist_logreg.linear_model._path_estimators import path_estimators

__all__ = [
    "LogisticPath",
    "LogisticRegression",
    "OneVsRestLogisticRegression",
    "logistic_regression_path",
    "path_estimators",
]
