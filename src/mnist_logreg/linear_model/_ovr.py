"""One-vs-rest logistic regression: the study's "one-vs-all", solved as one batched problem.

For K classes, K binary sigmoid models (class k against the rest) are fitted: the objective of
problem k is ``1/2 ||w_k||^2 + C sum_n s_n loss(t_nk, w_k . x_n + b_k)`` with t_nk = 1 when sample n
belongs to class k. The K problems share ``X``, so they are solved together as one problem whose
parameters are the K rows of ``coef_`` (their objectives add up and do not interact): one pass
over ``X`` evaluates all K losses and gradients with one pair of matrix products, so the K models
cost about as much as one multinomial model. The result equals
``sklearn.multiclass.OneVsRestClassifier(LogisticRegression(C=C))`` (to the solvers' tolerance),
including ``predict_proba``: the K sigmoid outputs normalized to sum to one.
"""

from __future__ import annotations

from mnist_logreg.linear_model._logistic import LogisticRegression

__all__ = ["OneVsRestLogisticRegression"]


class OneVsRestLogisticRegression(LogisticRegression):
    """K binary logistic regressions (one per class against the rest), fitted as one problem.

    Parameters
    ----------
    C : float, default=1.0
        Inverse regularization strength of every binary problem, > 0.
    fit_intercept : bool, default=True
    tol : float, default=5e-4
        Relative gradient tolerance of the joint problem (see ``LogisticRegression``).
    max_iter : int, default=1000
    solver : str, default="auto"
    warm_start : bool, default=False
    class_weight : dict, "balanced" or None, default=None
        "balanced" balances each binary problem on its own labels (class k against the rest),
        as ``OneVsRestClassifier(LogisticRegression(class_weight="balanced"))`` does. A dict
        ``{label: weight}`` multiplies the weight of every sample of that class, in every
        binary problem.
    verbose : int, default=0
    standardize : bool, default=False
        Fold StandardScaler's standardization of the training rows into the fit (see
        ``LogisticRegression``); ``predict*`` take raw rows.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
    coef_ : ndarray of shape (n_classes, n_features), or (1, n_features) for two classes
        Row k: the binary model of class k against the rest.
    intercept_ : ndarray of shape (n_classes,) or (1,)
    n_iter_ : ndarray of shape (1,)
    n_features_in_ : int
    objective_ : float
        Sum of the K binary objectives at the solution.
    """

    _multi_class = "ovr"
