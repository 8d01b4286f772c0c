"""Tests of the nested cross-validation runner: leakage, reproducibility, backends."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.base import BaseEstimator, TransformerMixin

from mnist_logreg.datasets import load_dataset
from mnist_logreg.errors import InputError
from mnist_logreg.model_selection import (
    FINAL,
    NestedCVConfig,
    SerialRunner,
    _pipeline,
    make_runner,
    outer_splits,
    run_nested_cv,
)

SMALL = NestedCVConfig(outer=3, inner=2, n_candidates=3, c_min=0.01, c_max=1.0, random_state=7)


@pytest.fixture(scope="module")
def digits():
    return load_dataset("digits")


class RowRecorder(BaseEstimator, TransformerMixin):
    """A preprocessor that records which row ids (column 0) it is fitted on and passes data on."""

    fitted_ids: list[set[int]] = []  # noqa: RUF012 - shared on purpose across clones

    def fit(self, X, y=None):
        RowRecorder.fitted_ids.append({int(v) for v in np.asarray(X)[:, 0]})
        self.n_features_in_ = np.asarray(X).shape[1]
        return self

    def transform(self, X):
        X = np.asarray(X, dtype=np.float64).copy()
        X[:, 1:] /= 16.0
        X[:, 0] = 0.0  # the id must not help the classifier
        return X


def test_no_outer_validation_row_reaches_a_fit_of_its_fold(digits, monkeypatch) -> None:
    """Test that no outer validation row reaches a scaler or model fitted in that outer fold."""
    from sklearn.pipeline import Pipeline

    n = len(digits.y_train)
    X = np.column_stack([np.arange(n), digits.X_train.astype(np.int64)])
    monkeypatch.setattr(
        _pipeline, "build_preprocessor", lambda pixel_max: Pipeline([("record", RowRecorder())])
    )
    classifier_ids: list[set[int]] = []
    original_path = _pipeline.fit_classifier_path

    def spy_path(X_train, y, Cs, **kw):
        classifier_ids.append(len(X_train))
        return original_path(X_train, y, Cs, **kw)

    monkeypatch.setattr(_pipeline, "fit_classifier_path", spy_path)
    splits = outer_splits(digits.y_train, SMALL.outer, SMALL.random_state)
    for fold, (train_rows, val_rows) in enumerate(splits, start=1):
        RowRecorder.fitted_ids = []
        classifier_ids.clear()
        run_nested_cv(
            X, digits.y_train, X[:5], SMALL, pixel_max=16, folds=[fold], include_final=False
        )
        # inner paths + one refit, each fitting its own preprocessor
        assert len(RowRecorder.fitted_ids) == SMALL.inner + 1
        validation = set(val_rows.tolist())
        for ids in RowRecorder.fitted_ids:
            assert ids.isdisjoint(validation)
            assert ids <= set(train_rows.tolist())
        # the refit used exactly the outer training rows
        assert RowRecorder.fitted_ids[-1] == set(train_rows.tolist())
        assert len(classifier_ids) == SMALL.inner
        assert all(size < len(train_rows) for size in classifier_ids)


def test_same_seed_gives_same_results_and_other_seed_differs(digits) -> None:
    """Test that the same seed reproduces every chosen C and score; another seed changes them."""

    def summary(config):
        outcomes = run_nested_cv(
            digits.X_train, digits.y_train, digits.X_test, config, pixel_max=16
        )
        return [(o.fold, o.search.to_dict(), np.round(o.proba, 10).tolist()) for o in outcomes]

    first, second = summary(SMALL), summary(SMALL)
    assert first == second
    other = NestedCVConfig(**{**SMALL.__dict__, "random_state": 8})
    assert summary(other) != first


def test_outcomes_cover_every_fold_and_final(digits) -> None:
    """Test that outcomes come back ordered by fold with the final model last, with sane shapes."""
    outcomes = run_nested_cv(digits.X_train, digits.y_train, digits.X_test, SMALL, pixel_max=16)
    assert [o.fold for o in outcomes] == [1, 2, 3, FINAL]
    final = outcomes[-1]
    assert final.proba.shape == (len(digits.y_test), 10)
    assert np.allclose(final.proba.sum(axis=1), 1)
    accuracy = np.mean(final.classes[final.proba.argmax(axis=1)] == digits.y_test)
    assert accuracy > 0.9
    for o in outcomes[:-1]:
        assert o.proba.shape[0] == len(o.eval_rows)
        assert o.search.best_C in [c.C for c in o.search.candidates]
        assert len(o.search.candidates[0].split_scores) == SMALL.inner


def test_process_runner_matches_serial(digits) -> None:
    """Test that two local worker processes give exactly the in-process results."""
    serial = run_nested_cv(
        digits.X_train, digits.y_train, digits.X_test, SMALL, pixel_max=16, runner=SerialRunner()
    )
    runner = make_runner(n_jobs=2)
    try:
        parallel = run_nested_cv(
            digits.X_train, digits.y_train, digits.X_test, SMALL, pixel_max=16, runner=runner
        )
    finally:
        runner.close()
    for a, b in zip(serial, parallel, strict=True):
        assert a.fold == b.fold
        assert a.search.to_dict() == b.search.to_dict()
        np.testing.assert_allclose(a.proba, b.proba, rtol=0, atol=1e-10)


def test_impossible_protocols_are_rejected(digits) -> None:
    """Test that too few rows per class or fewer than 2 folds give one-line InputErrors."""
    with pytest.raises(InputError, match="'outer'"):
        NestedCVConfig(outer=1).validate()
    with pytest.raises(InputError, match="'scoring'"):
        NestedCVConfig(scoring="no_such_scorer").validate()
    with pytest.raises(InputError, match="'scoring'"):
        NestedCVConfig(scoring="r2").validate()  # a regression scorer, not for a classifier
    with pytest.raises(InputError, match="'random_state'"):
        NestedCVConfig(random_state=-1).validate()
    tiny_y = np.repeat(np.arange(3), 4)
    with pytest.raises(InputError, match="smallest class"):
        NestedCVConfig(outer=6, inner=5).validate_for(tiny_y)


def test_refits_run_as_soon_as_their_search_is_complete(digits) -> None:
    """Test that outer folds finish one by one, not all after every inner path."""
    events: list[str] = []
    # In-process tasks finish in submission order, so the order of events is the scheduler's
    # alone (with worker processes it also depended on which process finished first).
    run_nested_cv(
        digits.X_train,
        digits.y_train,
        digits.X_test,
        SMALL,
        pixel_max=16,
        runner=SerialRunner(),
        on_task=lambda done: events.append(done.kind),
    )
    assert events.count("refit") == SMALL.outer + 1
    assert events.count("search") == (SMALL.outer + 1) * SMALL.inner
    last_path = len(events) - 1 - events[::-1].index("search")
    assert events.index("refit") < last_path
