"""Tests of the nested cross-validation runner: leakage, reproducibility, backends."""

from __future__ import annotations

import numpy as np
import pytest

from mnist_logreg.datasets import load_dataset
from mnist_logreg.errors import InputError
from mnist_logreg.model_selection import (
    FINAL,
    NestedCVConfig,
    SerialRunner,
    _pipeline,
    _protocol,
    make_runner,
    outer_splits,
    run_nested_cv,
)

SMALL = NestedCVConfig(outer=3, inner=2, n_candidates=3, c_min=0.01, c_max=1.0, random_state=7)


@pytest.fixture(scope="module")
def digits():
    return load_dataset("digits")


def test_no_outer_validation_row_reaches_a_fit_of_its_fold(digits, monkeypatch) -> None:
    """Test that no outer validation row reaches a standardization or model fitted in its fold."""
    n = len(digits.y_train)
    X = np.column_stack([np.arange(n), digits.X_train.astype(np.int64)])
    # every fit standardizes with the statistics of exactly the rows it is given (folded)
    path_ids: list[set[int]] = []
    refit_ids: list[set[int]] = []
    original_path, original_fit = _pipeline.fit_path, _protocol.fit_and_predict

    def spy_path(X_train, y, Cs, **kw):
        path_ids.append({int(v) for v in np.asarray(X_train)[:, 0]})
        return original_path(X_train, y, Cs, **kw)

    def spy_fit(name, params, X_train, *args, **kw):
        refit_ids.append({int(v) for v in np.asarray(X_train)[:, 0]})
        return original_fit(name, params, X_train, *args, **kw)

    monkeypatch.setattr(_pipeline, "fit_path", spy_path)
    monkeypatch.setattr(_protocol, "fit_and_predict", spy_fit)
    splits = outer_splits(digits.y_train, SMALL.outer, SMALL.random_state)
    for fold, (train_rows, val_rows) in enumerate(splits, start=1):
        path_ids.clear()
        refit_ids.clear()
        others = {("lr", k) for k in range(SMALL.outer + 1) if k != fold}
        run_nested_cv(X, digits.y_train, X[:5], SMALL, pixel_max=16, skip=others)
        # inner paths (one per split and round of the range extension) + one refit
        assert len(path_ids) % SMALL.inner == 0 and len(path_ids) >= SMALL.inner
        assert len(refit_ids) == 1
        validation = set(val_rows.tolist())
        for ids in [*path_ids, *refit_ids]:
            assert ids.isdisjoint(validation)
            assert ids <= set(train_rows.tolist())
        # the refit used exactly the outer training rows
        assert refit_ids[0] == set(train_rows.tolist())
        # each inner path fitted on all training rows but one inner fold's (stratified K-fold:
        # fold sizes differ by at most one row)
        n, k = len(train_rows), SMALL.inner
        fold_sizes = [n // k + (1 if i < n % k else 0) for i in range(k)]
        rounds = len(path_ids) // k
        assert sorted(len(ids) for ids in path_ids) == sorted(
            n - size for size in fold_sizes * rounds
        )


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
    added: list[int] = []
    # In-process tasks finish in submission order, so the order of events is the scheduler's
    # alone (with worker processes it also depended on which process finished first).
    run_nested_cv(
        digits.X_train,
        digits.y_train,
        digits.X_test,
        SMALL,
        pixel_max=16,
        runner=SerialRunner(),
        on_task=lambda done: (events.append(done.kind), added.append(done.added)),
    )
    assert events.count("refit") == SMALL.outer + 1
    # the range extensions' tasks are announced by the task whose completion queued them
    assert events.count("search") == (SMALL.outer + 1) * SMALL.inner + sum(added)
    last_path = len(events) - 1 - events[::-1].index("search")
    assert events.index("refit") < last_path
