"""LogisticRegression: L2-regularized logistic regression with scikit-learn's contract.

Two classes give the sigmoid model of the study's derivation (``coef_`` of shape
(1, n_features)); more give the multinomial (softmax) model. The objective is scikit-learn's,

    1/2 ||W||^2 + C * sum_n s_n loss(t_n, W x_n + b),   s_n = sample_weight_n * class_weight[y_n],

so a given C means the same model as in ``sklearn.linear_model.LogisticRegression``. Fitting is
:func:`~mnist_logreg.linear_model._path.logistic_regression_path` with one C.

``standardize=True`` makes the estimator the pipeline ``StandardScaler -> LogisticRegression``
without building the standardized matrix. With m and s the (sample-weighted) mean and scale of
the training rows, exactly as StandardScaler computes them (scale 1 for constant columns), the
objective is

    1/2 ||V||^2 + C * sum_n s_n loss(t_n, V (x_n - m) / s + c)

(penalty on the standardized weights V), and the passes read raw rows through the fold
W = V / s, b = c - W m: V (x - m) / s + c = W x + b (derivation and gradient in
:mod:`._linear_loss`). ``coef_`` and ``intercept_`` are W and b, applied to raw rows; V and c are
``standardized_coef_`` and ``standardized_intercept_``; :meth:`LogisticRegression.unfold` returns
the equivalent fitted ``StandardScaler`` and standardized-space ``LogisticRegression``.
"""

from __future__ import annotations

from typing import Any, cast

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.callback import CallbackSupportMixin, with_callbacks
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from mnist_logreg.linear_model._callbacks import IterationReporter
from mnist_logreg.linear_model._distributed import fit_dask, is_dask_array
from mnist_logreg.linear_model._kernels import linear_predict
from mnist_logreg.linear_model._params import check_sample_weight, validate_logistic_params
from mnist_logreg.linear_model._path import (
    fitted_dtype,
    logistic_regression_path,
    proba_from_raw,
)
from mnist_logreg.linear_model._solvers import SOLVERS

__all__ = ["LogisticRegression"]


class LogisticRegression(CallbackSupportMixin, ClassifierMixin, BaseEstimator):
    """L2-regularized logistic regression (sigmoid for two classes, softmax for more).

    Minimizes ``1/2 ||W||^2 + C * sum_n s_n loss(t_n, W x_n + b)`` (intercept not penalized),
    scikit-learn's objective; with ``standardize=True`` the same objective on the rows
    standardized as by StandardScaler (module docstring), without building them. ``X`` may be
    dense (float32 is computed in float32; integer pixels are read as they are, never converted
    whole) or scipy.sparse (CSR, CSC).

    Parameters
    ----------
    C : float, default=1.0
        Inverse regularization strength, > 0. Smaller values regularize more.
    fit_intercept : bool, default=True
        Whether to fit the intercept ``b`` (never penalized).
    tol : float, default=5e-4
        Stop when ``max |grad| <= tol * max |grad at W = 0, b = 0|`` and the objective fell by
        less than ``tol`` (relative) over the last five iterations: a tolerance that means the
        same for every C and every starting point (see ``_solvers``). The default ends within
        ~1.5e-3 (relative) of the optimal objective on standardized MNIST, where scikit-learn's
        default stops within 2.6e-3. Tolerances below ~1e-5 ask for more than float32 resolves;
        the solver then switches to float64 arithmetic by itself (X is not copied).
    max_iter : int, default=1000
        Maximum number of solver iterations.
    solver : str, default="auto"
        Solver name (see ``mnist_logreg.linear_model._solvers.SOLVERS``) or "auto".
    warm_start : bool, default=False
        Start from the previous fit's ``coef_`` and ``intercept_`` (if shapes match).
    class_weight : dict or "balanced", default=None
        Weight of each class, multiplied into ``sample_weight``; "balanced" uses
        ``n_samples / (n_classes * np.bincount(y))``.
    verbose : int, default=0
        Unused; kept for scikit-learn compatibility of signatures.
    standardize : bool, default=False
        Fit ``StandardScaler -> LogisticRegression`` in one: learn the (sample-weighted) mean
        and scale of the training rows and minimize the objective on standardized rows, folded
        into raw-space weights. ``predict*`` and ``decision_function`` take raw rows.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
    coef_ : ndarray of shape (1, n_features) or (n_classes, n_features)
        Weights applied to raw rows (W = V / scale_ when ``standardize``).
    intercept_ : ndarray of shape (1,) or (n_classes,)
        Offset applied to raw rows (b = c - W mean_ when ``standardize``; then non-zero even
        with ``fit_intercept=False``).
    mean_, scale_, var_ : ndarray of shape (n_features,)
        Only with ``standardize``: StandardScaler's ``mean_``, ``scale_`` and ``var_`` of the
        training rows.
    standardized_coef_ : ndarray of shape (1, n_features) or (n_classes, n_features)
        Only with ``standardize``: V, the weights of the standardized rows (penalized).
    standardized_intercept_ : ndarray of shape (1,) or (n_classes,)
        Only with ``standardize``: c.
    n_iter_ : ndarray of shape (1,)
        Solver iterations.
    n_features_in_ : int
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Only when ``X`` had string column names.
    objective_ : float
        Final value of the objective (scikit-learn's scale).
    n_evals_ : int
        Passes the solver made over the data (loss-and-gradient evaluations).
    """

    _multi_class = "multinomial"
    # fitted attributes (declared for type checkers; set by fit)
    coef_: np.ndarray
    intercept_: np.ndarray
    mean_: np.ndarray
    scale_: np.ndarray
    var_: np.ndarray

    def _validate_params(self) -> None:
        """Raise ``InvalidParameterError`` (a ValueError) naming an invalid parameter."""
        validate_logistic_params(self, SOLVERS)

    def __init__(
        self,
        C: float = 1.0,
        *,
        fit_intercept: bool = True,
        tol: float = 5e-4,
        max_iter: int = 1000,
        solver: str = "auto",
        warm_start: bool = False,
        class_weight: dict | str | None = None,
        verbose: int = 0,
        standardize: bool = False,
    ) -> None:
        self.C = C
        self.fit_intercept = fit_intercept
        self.tol = tol
        self.max_iter = max_iter
        self.solver = solver
        self.warm_start = warm_start
        self.class_weight = class_weight
        self.verbose = verbose
        self.standardize = standardize

    @with_callbacks
    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> LogisticRegression:
        """Fit the model.

        Parameters
        ----------
        X : array-like or scipy.sparse matrix of shape (n_samples, n_features)
            Training data. float32 is computed in float32; integers (uint8 pixels) are kept as
            they are and cast block by block; other dtypes become float64. As in
            scikit-learn, the fitted arrays (``coef_``, ``intercept_``, ``standardized_*``)
            and predictions are float32 for float32 input and float64 for any other dtype
            (integer pixels included); ``mean_``, ``scale_``, ``var_`` are float64 as
            StandardScaler's. Sparse CSR and CSC
            matrices are read as compressed rows.
            A Dask array is fitted on the cluster of the default ``distributed.Client``, each
            pass a map-reduce over its chunks (:mod:`._distributed`); ``y`` and
            ``sample_weight`` may then be Dask arrays too.
        y : array-like of shape (n_samples,)
            Labels, at least two distinct ones.
        sample_weight : array-like of shape (n_samples,), default=None
            Weights s_n of the samples (multiplied by ``class_weight``).

        Returns
        -------
        self : LogisticRegression

        Notes
        -----
        Callbacks set with ``set_callbacks`` (scikit-learn 1.9's ``sklearn.callback``, e.g.
        ``ProgressBar()``, ``ScoringMonitor(scoring=...)``) see the fit as one task and each
        solver iteration as a subtask, as with scikit-learn's lbfgs (see ``_callbacks``).
        """
        self._validate_params()
        if is_dask_array(X):  # rows on a Dask cluster: passes as map-reduces over chunks
            return fit_dask(self, X, y, sample_weight)
        X, y = validate_data(
            self, X, y, accept_sparse=("csr", "csc"), dtype="numeric", y_numeric=False
        )
        coef_dtype = fitted_dtype(X.dtype)  # float32 in, float32 out; else float64
        X = _as_supported_dtype(X)
        check_classification_targets(y)
        classes = np.unique(y)
        if len(classes) < 2:
            raise ValueError(
                f"{type(self).__name__} needs samples of at least 2 classes in the data, but "
                f"the data contains only one class: {classes[0]!r}."
            )
        if sample_weight is not None:
            sample_weight = check_sample_weight(sample_weight, X.shape[0])
        callback_context = self._init_callback_context(max_subtasks=max(self.max_iter, 1) + 1)
        callback_metadata = None if sample_weight is None else {"sample_weight": sample_weight}
        callback_context.call_on_fit_task_begin(
            estimator=self, X=X, y=y, metadata=callback_metadata
        )
        coef_init = intercept_init = None
        n_outputs = 1 if len(classes) == 2 else len(classes)
        previous_coef = getattr(
            self, "standardized_coef_" if self.standardize else "coef_", None
        )
        if (
            self.warm_start
            and previous_coef is not None
            and previous_coef.shape == (n_outputs, X.shape[1])
        ):
            coef_init = previous_coef
            intercept_init = getattr(
                self, "standardized_intercept_" if self.standardize else "intercept_", None
            ) if self.fit_intercept else None
        reporter = None
        if getattr(self, "_skl_callbacks", None):
            if coef_init is not None:  # warm start: the previous raw-space model
                coef0, intercept0 = self.coef_, self.intercept_
            else:
                coef0 = np.zeros((n_outputs, X.shape[1]))
                intercept0 = np.zeros(n_outputs)
            reporter = IterationReporter(
                callback_context, self, X, y, callback_metadata, {"classes_": classes},
                coef_dtype, coef0, intercept0,
            )
        path = logistic_regression_path(
            X,
            y,
            [self.C],
            sample_weight=sample_weight,
            class_weight=self.class_weight,
            multi_class=self._multi_class,  # type: ignore[arg-type]
            fit_intercept=self.fit_intercept,
            tol=self.tol,
            max_iter=self.max_iter,
            solver=self.solver,
            coef_init=coef_init,
            intercept_init=intercept_init,
            classes=classes,
            estimator_name=type(self).__name__,
            standardize=self.standardize,
            callback=reporter,
        )
        if reporter is not None:
            reporter.close()
        self.classes_ = classes
        self.coef_ = path.coefs[0].astype(coef_dtype)
        self.intercept_ = path.intercepts[0].astype(coef_dtype)
        for name in ("mean_", "scale_", "var_", "standardized_coef_", "standardized_intercept_"):
            if hasattr(self, name):
                delattr(self, name)
        if self.standardize:
            # a standardized path carries its statistics and standardized weights
            self.mean_ = cast(np.ndarray, path.mean)
            self.scale_ = cast(np.ndarray, path.scale)
            self.var_ = cast(np.ndarray, path.var)
            self.standardized_coef_ = cast(np.ndarray, path.standardized_coefs)[0].astype(
                coef_dtype
            )
            self.standardized_intercept_ = cast(
                np.ndarray, path.standardized_intercepts
            )[0].astype(coef_dtype)
        self.n_iter_ = path.n_iter[:1].copy()
        self.n_evals_ = int(path.n_evals[0])
        self.objective_ = float(path.objectives[0])
        callback_context.call_on_fit_task_end(
            estimator=self, X=X, y=y, metadata=callback_metadata, reconstruction_attributes={}
        )
        return self

    def decision_function(self, X: Any) -> np.ndarray:
        """Return raw predictions ``X @ coef_.T + intercept_`` of raw rows.

        Parameters
        ----------
        X : array-like or scipy.sparse matrix of shape (n_samples, n_features)
            Integer rows are cast block by block (no float copy of the whole matrix).

        Returns
        -------
        raw_prediction : ndarray of shape (n_samples,) for two classes, else (n_samples, n_classes)
        """
        check_is_fitted(self)
        X = validate_data(self, X, accept_sparse=("csr", "csc"), dtype="numeric", reset=False)
        # scikit-learn's dtype: float32 rows and a float32 model give float32, else float64
        dtype = np.result_type(fitted_dtype(X.dtype), self.coef_.dtype)
        X = _as_supported_dtype(X)
        coef = self.coef_.astype(dtype, copy=False)
        scores = linear_predict(X, coef, self.intercept_.astype(dtype, copy=False))
        scores = scores.astype(dtype, copy=False)
        return scores.ravel() if scores.shape[1] == 1 else scores

    def predict(self, X: Any) -> np.ndarray:
        """Return the predicted class of each row: ``classes_[argmax raw_prediction]``.

        Two classes: ``classes_[1]`` where the raw prediction is positive, else ``classes_[0]``.

        Parameters
        ----------
        X : array-like or scipy.sparse matrix of shape (n_samples, n_features)

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)
        """
        scores = self.decision_function(X)
        if scores.ndim == 1:
            return self.classes_[(scores > 0).astype(np.intp)]
        return self.classes_[scores.argmax(axis=1)]

    def unfold(self) -> tuple[Any, LogisticRegression]:
        """Return the fitted pair ``(StandardScaler, LogisticRegression)`` this model equals.

        Only for a model fitted with ``standardize=True``: the scaler carries ``mean_`` and
        ``scale_``, the classifier (``standardize=False``) the standardized weights
        ``standardized_coef_`` and ``standardized_intercept_``, so that
        ``classifier.decision_function(scaler.transform(X))`` equals
        ``self.decision_function(X)`` (to rounding). For model files and exports that store a
        scaler and a linear step.

        Returns
        -------
        scaler : sklearn.preprocessing.StandardScaler
        classifier : LogisticRegression
        """
        from sklearn.preprocessing import StandardScaler

        check_is_fitted(self)
        if not self.standardize or not hasattr(self, "mean_"):
            raise ValueError(
                f"unfold() needs a {type(self).__name__} fitted with standardize=True."
            )
        scaler = StandardScaler()
        scaler.mean_ = self.mean_.copy()
        scaler.scale_ = self.scale_.copy()
        scaler.var_ = self.var_.copy()
        scaler.n_features_in_ = self.n_features_in_
        scaler.n_samples_seen_ = 0
        if hasattr(self, "feature_names_in_"):
            scaler.feature_names_in_ = self.feature_names_in_
        params = {**self.get_params(), "standardize": False}
        classifier = type(self)(**params)
        classifier.classes_ = self.classes_
        classifier.coef_ = self.standardized_coef_.copy()
        classifier.intercept_ = self.standardized_intercept_.copy()
        classifier.n_iter_ = self.n_iter_.copy()
        classifier.n_features_in_ = self.n_features_in_
        for name in ("objective_", "n_evals_"):  # the same objective, the same passes
            if hasattr(self, name):
                setattr(classifier, name, getattr(self, name))
        return scaler, classifier

    def predict_proba(self, X: Any) -> np.ndarray:
        """Return class probabilities.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Columns in the order of ``classes_``; rows sum to one.
        """
        check_is_fitted(self)
        raw_prediction = self.decision_function(X)
        if raw_prediction.ndim == 1:
            raw_prediction = raw_prediction[:, None]
        return proba_from_raw(raw_prediction, self._multi_class)

    def predict_log_proba(self, X: Any) -> np.ndarray:
        """Return the logarithm of the class probabilities, shape (n_samples, n_classes)."""
        check_is_fitted(self)
        raw_prediction = self.decision_function(X)
        if raw_prediction.ndim == 1:
            z = raw_prediction[:, None]
            # log sigma(z) = -log(1 + exp(-z)) and log(1 - sigma(z)) = -log(1 + exp(z)),
            # computed as -logaddexp(0, -+z): stable for every z
            return -np.logaddexp(0, np.hstack([z, -z]))
        if self._multi_class == "ovr":
            return np.log(self.predict_proba(X))
        # log softmax(z) = z - logsumexp(z)
        m = raw_prediction.max(axis=1, keepdims=True)
        lse = m + np.log(np.exp(raw_prediction - m).sum(axis=1, keepdims=True))
        return raw_prediction - lse

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags


def _as_supported_dtype(X: Any) -> Any:
    """Keep float32, float64 and integer storage; widen float16 and bool to float32."""
    if X.dtype == np.float16 or X.dtype == np.bool_:
        return X.astype(np.float32)
    if sp.issparse(X):
        return X.tocsr()
    return X
