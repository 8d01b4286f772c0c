"""Tests of scikit-learn 1.9's callback API (``sklearn.callback``) on our estimators."""

from __future__ import annotations

import inspect

import numpy as np
import pytest
import sklearn
from sklearn.base import clone
from sklearn.callback import CallbackSupportMixin, ProgressBar, ScoringMonitor, with_callbacks
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression as SklearnLogisticRegression

from mnist_logreg.linear_model import LogisticRegression, OneVsRestLogisticRegression

X_DIGITS, Y_DIGITS = load_digits(return_X_y=True)
X, Y = X_DIGITS[:400], Y_DIGITS[:400]


class _Recorder:
    """A FitCallback that records every hook call: (hook, task name, task id, coef_ dtype)."""

    def __init__(self) -> None:
        self.calls: list[tuple] = []

    def setup(self, estimator, context) -> None:
        self.calls.append(("setup", context.task_name, context.task_id, None))

    def on_fit_task_begin(self, estimator, context, *, fitted_estimator=None) -> None:
        coef = getattr(fitted_estimator, "coef_", None)
        self.calls.append(("begin", context.task_name, context.task_id,
                           None if coef is None else coef.dtype))

    def on_fit_task_end(self, estimator, context, *, fitted_estimator=None) -> None:
        coef = getattr(fitted_estimator, "coef_", None)
        self.calls.append(("end", context.task_name, context.task_id,
                           None if coef is None else coef.dtype))

    def teardown(self, estimator, context) -> None:
        self.calls.append(("teardown", context.task_name, context.task_id, None))


@pytest.mark.parametrize("standardize", [False, True])
def test_scoring_monitor_scores_every_iteration_as_on_scikit_learn(standardize) -> None:
    """Test that ScoringMonitor logs the fit and each solver iteration, the last one the model's."""
    monitor = ScoringMonitor(scoring="accuracy")
    model = LogisticRegression(C=0.1, standardize=standardize).set_callbacks(monitor)
    model.fit(X, Y)
    rows = monitor.get_logs().data
    iterations = [r for r in rows if r["task_name"] == "lbfgs-iter"]
    assert [r["task_name"] for r in rows if r["task_id_path"] == (0,)] == ["fit"]
    assert len(iterations) == model.n_iter_[0] > 5
    assert [r["task_id"] for r in iterations] == list(range(model.n_iter_[0]))
    assert {r["estimator_name"] for r in rows} == {"LogisticRegression"}
    final = model.score(X, Y)
    assert iterations[-1]["accuracy"] == pytest.approx(final)
    assert [r["accuracy"] for r in rows if r["task_name"] == "fit"] == [pytest.approx(final)]
    assert iterations[0]["accuracy"] < final  # the first iterate is not yet the model
    # scikit-learn's own estimator reports the same shape of log
    theirs = ScoringMonitor(scoring="accuracy")
    reference = SklearnLogisticRegression(C=0.1, max_iter=20).set_callbacks(theirs)
    with pytest.warns(Warning):
        reference.fit(X, Y)
    their_rows = theirs.get_logs().data
    assert set(their_rows[0]) == set(rows[0])
    assert {r["task_name"] for r in their_rows} == {r["task_name"] for r in rows}


def test_progress_bar_and_hooks_are_called_in_order(capsys) -> None:
    """Test that ProgressBar runs and hooks pair up: setup, begin, n_iter+1 subtasks, teardown."""
    recorder = _Recorder()
    model = OneVsRestLogisticRegression(C=0.1, max_iter=7).set_callbacks(recorder, ProgressBar())
    with pytest.warns(Warning):  # stops at max_iter
        model.fit(X.astype(np.float32), Y)
    calls = recorder.calls
    assert calls[0][:2] == ("setup", "fit") and calls[-1][:2] == ("teardown", "fit")
    assert calls[1][:2] == ("begin", "fit") and calls[-2][:2] == ("end", "fit")
    inner = calls[2:-2]
    begins = [c for c in inner if c[0] == "begin"]
    ends = [c for c in inner if c[0] == "end"]
    assert len(begins) == len(ends) == model.n_iter_[0] + 1 == 8
    assert [c[2] for c in begins] == list(range(8))
    assert {c[3] for c in begins} == {np.dtype(np.float32)}  # float32 in, float32 models
    assert ends[-1][3] is None  # the subtask the solver never ran ends empty, as in sklearn
    assert not hasattr(model, "_callback_fit_ctx")  # cleaned up after fit
    captured = capsys.readouterr()
    assert "OneVsRestLogisticRegression - fit" in captured.out + captured.err


def test_callbacks_survive_clone_and_do_not_change_the_model() -> None:
    """Test that clone keeps the callbacks and a fit with callbacks equals one without."""
    recorder = _Recorder()
    model = LogisticRegression(C=0.1, standardize=True).set_callbacks(recorder)
    twin = clone(model)
    assert twin._skl_callbacks == [recorder]
    plain = LogisticRegression(C=0.1, standardize=True).fit(X, Y)
    model.fit(X, Y)
    assert np.array_equal(model.coef_, plain.coef_)
    assert model.n_iter_[0] == plain.n_iter_[0]
    model.set_callbacks()
    assert not hasattr(model, "_skl_callbacks")


def test_the_sklearn_callback_api_we_rely_on_is_unchanged() -> None:
    """Test (pin) the experimental sklearn.callback API that _callbacks.py relies on."""
    assert sklearn.__version__.startswith("1.9"), (
        f"scikit-learn {sklearn.__version__}: re-check linear_model/_callbacks.py against "
        "sklearn.callback (new and evolving in 1.9) and update this pin"
    )
    assert issubclass(LogisticRegression, CallbackSupportMixin)
    init = inspect.signature(CallbackSupportMixin._init_callback_context)
    assert list(init.parameters) == [
        "self", "task_name", "task_id", "max_subtasks", "sequential_subtasks"
    ]
    assert callable(with_callbacks)
    context = LogisticRegression()._init_callback_context(max_subtasks=2)
    for method in ("subcontext", "call_on_fit_task_begin", "call_on_fit_task_end"):
        assert callable(getattr(context, method)), method
    begin = inspect.signature(context.call_on_fit_task_begin)
    assert {"estimator", "X", "y", "metadata", "reconstruction_attributes"} <= set(
        begin.parameters
    )
