"""scikit-learn 1.9's callback API (``sklearn.callback``) on our solver's iterations.

scikit-learn's own ``LogisticRegression`` (lbfgs) reports to its callbacks this way, and we
follow the same contract so that ``ProgressBar``, ``ScoringMonitor`` and any ``FitCallback``
work on our estimators as on scikit-learn's:

- ``fit`` runs inside :func:`sklearn.callback.with_callbacks` (teardown of every callback,
  whatever happens) and opens the root task with
  ``CallbackSupportMixin._init_callback_context(max_subtasks=max(max_iter, 1) + 1)``, then
  ``call_on_fit_task_begin`` / ``call_on_fit_task_end`` around the whole fit;
- each solver iteration is one subtask named ``"lbfgs-iter"``: the first one begins before the
  solver runs (with the starting model), and after every iteration the current subtask ends
  and the next begins, both with ``reconstruction_attributes`` ``coef_`` and ``intercept_``
  (the model a fit stopped there would have, so a ``ScoringMonitor`` can score it); the last
  subtask, which never ran, ends empty.

Stability: everything used is in ``sklearn.callback.__all__`` (``CallbackSupportMixin``,
``with_callbacks``, ``CallbackContext``) except ``_init_callback_context``, which the mixin's
own documentation names as the method an estimator calls, underscore notwithstanding. The
module is new in scikit-learn 1.9 (scikit-learn's lbfgs itself carries TODOs to extend it),
so treat it as experimental. ``tests/linear_model/test_callbacks.py``
pins the behaviour we rely on and fails loudly if it changes.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["IterationReporter"]

#: Name of the per-iteration subtask, as scikit-learn's lbfgs names it.
ITERATION_TASK = "lbfgs-iter"


class IterationReporter:
    """Forward each solver iteration to the callbacks of a fit's callback context.

    Parameters
    ----------
    context : sklearn.callback.CallbackContext
        The root context of the fit (from ``_init_callback_context``).
    estimator : estimator instance
        The estimator being fitted.
    X, y : arrays
        The training data, passed to the hooks (e.g. what ``ScoringMonitor`` scores).
    metadata : dict or None
        ``{"sample_weight": ...}`` when the fit has sample weights.
    static : dict
        Fitted attributes known before the solver runs (``classes_``), added to every
        iteration's reconstruction attributes.
    dtype : numpy dtype
        dtype of the reported ``coef_`` and ``intercept_`` (that of the fitted ones).
    coef0, intercept0 : ndarray
        The starting model, for the first iteration's ``on_fit_task_begin``.
    """

    def __init__(
        self,
        context: Any,
        estimator: Any,
        X: Any,
        y: np.ndarray,
        metadata: dict | None,
        static: dict,
        dtype: np.dtype,
        coef0: np.ndarray,
        intercept0: np.ndarray,
    ) -> None:
        self._context = context
        self._estimator = estimator
        self._X = X
        self._y = y
        self._metadata = metadata
        self._static = static
        self._dtype = dtype
        self._iteration = self._begin(coef0, intercept0)

    def _attributes(self, coef: np.ndarray, intercept: np.ndarray) -> dict:
        return {
            **self._static,
            "coef_": np.asarray(coef, dtype=self._dtype),
            "intercept_": np.asarray(intercept, dtype=self._dtype),
        }

    def _begin(self, coef: np.ndarray, intercept: np.ndarray) -> Any:
        iteration = self._context.subcontext(task_name=ITERATION_TASK)
        iteration.call_on_fit_task_begin(
            estimator=self._estimator, X=self._X, y=self._y, metadata=self._metadata,
            reconstruction_attributes=self._attributes(coef, intercept),
        )
        return iteration

    def __call__(self, coef: np.ndarray, intercept: np.ndarray) -> None:
        """End the iteration that just finished at ``(coef, intercept)``; begin the next."""
        self._iteration.call_on_fit_task_end(
            estimator=self._estimator, X=self._X, y=self._y, metadata=self._metadata,
            reconstruction_attributes=self._attributes(coef, intercept),
        )
        self._iteration = self._begin(coef, intercept)

    def close(self) -> None:
        """End the last subtask, begun for an iteration the solver did not run, empty."""
        self._iteration.call_on_fit_task_end(estimator=self._estimator)
