"""Tests of the model comparison: shared folds, leakage-free searches, fast scorers, budgets."""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import pytest

from mnist_logreg.datasets import load_dataset
from mnist_logreg.errors import InputError
from mnist_logreg.model_selection import (
    FINAL,
    MODEL_NAMES,
    MODELS,
    CompareConfig,
    ModelBudget,
    _protocol,
    fitted_nbytes,
    get_model,
    outer_splits,
    parse_models,
    run_nested_cv,
)

TEST_ID_OFFSET = 100_000

# Tiny budgets: every model, two inner folds, two candidates (grids searched whole).
TINY = {
    name: ModelBudget(search_rows=300, inner=2, n_candidates=2,
                      n_components=(40,) if name == "lr-rff" else ())
    for name in MODEL_NAMES
}
CONFIG = CompareConfig(outer=3, random_state=3, budgets=TINY)


@pytest.fixture(scope="module")
def digits():
    return load_dataset("digits")


@pytest.fixture(scope="module")
def with_ids(digits):
    """Pixels with a row id in column 0 (test rows offset), for the spies to read."""
    X = np.column_stack([np.arange(len(digits.y_train)), digits.X_train.astype(np.int64)])
    X_test = np.column_stack(
        [TEST_ID_OFFSET + np.arange(len(digits.y_test)), digits.X_test.astype(np.int64)]
    )
    return X, X_test


def _install_spies(monkeypatch) -> dict[str, list[tuple[str, set[int], set[int]]]]:
    """Record the row ids every search and refit receives; run them on the pixels only."""
    calls: dict[str, list[tuple[str, set[int], set[int]]]] = {"search": [], "refit": []}
    original_refit = _protocol.fit_and_predict

    def ids(X: np.ndarray) -> set[int]:
        return {int(v) for v in np.asarray(X)[:, 0]}

    def spy_search(name: str) -> Any:
        original = MODELS[name].score_split

        def spy(X_train, y_train, X_val, y_val, *args: Any, **kwargs: Any) -> np.ndarray:
            calls["search"].append((name, ids(X_train), ids(X_val)))
            return original(X_train[:, 1:], y_train, X_val[:, 1:], y_val, *args, **kwargs)

        return spy

    def spy_refit(name, params, X_train, y_train, X_eval, *args: Any,
                  **kwargs: Any) -> dict[str, Any]:
        calls["refit"].append((name, ids(X_train), ids(X_eval)))
        return original_refit(name, params, X_train[:, 1:], y_train, X_eval[:, 1:], *args,
                              **kwargs)

    for name, spec in list(MODELS.items()):
        monkeypatch.setitem(MODELS, name, dataclasses.replace(spec, score_split=spy_search(name)))
    monkeypatch.setattr(_protocol, "fit_and_predict", spy_refit)
    return calls


def _only(fold: int) -> set[tuple[str, int]]:
    """``skip`` that leaves only ``fold`` (0 = final) to run, for every model."""
    return {(m, k) for m in CONFIG.models for k in range(CONFIG.outer + 1) if k != fold}


def test_all_models_see_identical_outer_folds_and_test_rows(digits, with_ids, monkeypatch):
    """Test that every model's refits use the same outer training/validation rows and test rows."""
    X, X_test = with_ids
    calls = _install_spies(monkeypatch)
    outcomes = run_nested_cv(X, digits.y_train, X_test, CONFIG, pixel_max=16)
    assert len(outcomes) == len(MODEL_NAMES) * (CONFIG.outer + 1)

    splits = outer_splits(digits.y_train, CONFIG.outer, CONFIG.random_state)
    expected = [(set(train.tolist()), set(val.tolist())) for train, val in splits]
    expected.append((set(range(len(digits.y_train))), set(TEST_ID_OFFSET
                                                          + np.arange(len(digits.y_test)))))
    seen: dict[str, list[tuple[set[int], set[int]]]] = {}
    for name, train, evaluated in calls["refit"]:
        seen.setdefault(name, []).append((train, evaluated))
    assert set(seen) == set(MODEL_NAMES)
    for pairs in seen.values():
        assert sorted(pairs, key=lambda p: min(p[1])) == sorted(expected, key=lambda p: min(p[1]))
    # The outcomes carry the same validation rows for every model.
    for fold in range(1, CONFIG.outer + 1):
        rows = [o.eval_rows for o in outcomes if o.fold == fold]
        assert all(np.array_equal(r, splits[fold - 1][1]) for r in rows)
    finals = [o for o in outcomes if o.fold == FINAL]
    assert all(o.scores.shape == (len(digits.y_test), 10) for o in finals)


@pytest.mark.parametrize("fold", [1, 2, 3, FINAL])
def test_inner_search_never_sees_outer_validation_rows(digits, with_ids, monkeypatch, fold):
    """Test that each model's inner search sees only (a budgeted subsample of) training rows."""
    X, X_test = with_ids
    calls = _install_spies(monkeypatch)
    run_nested_cv(X, digits.y_train, X_test, CONFIG, pixel_max=16, skip=_only(fold))
    if fold == FINAL:
        allowed, forbidden = set(range(len(digits.y_train))), set()
    else:
        train, val = outer_splits(digits.y_train, CONFIG.outer, CONFIG.random_state)[fold - 1]
        allowed, forbidden = set(train.tolist()), set(val.tolist())
    searched: dict[str, set[int]] = {}
    for name, train_ids, val_ids in calls["search"]:
        assert train_ids.isdisjoint(val_ids)
        seen = train_ids | val_ids
        assert seen <= allowed
        assert seen.isdisjoint(forbidden)
        assert max(seen) < TEST_ID_OFFSET
        searched.setdefault(name, set()).update(seen)
    assert set(searched) == set(MODEL_NAMES)
    # Each search used its budget's subsample: the same rows for every model (same budget).
    assert all(len(rows) == TINY[name].search_rows for name, rows in searched.items())
    assert len({frozenset(rows) for rows in searched.values()}) == 1
    assert len(calls["search"]) == sum(TINY[name].inner for name in MODEL_NAMES)
    # ... and its refit used all of the allowed rows.
    for name, train_ids, _ in calls["refit"]:
        assert train_ids == allowed, name


def test_same_seed_gives_the_same_outcomes(digits):
    """Test that two runs with one seed choose the same hyperparameters and predict the same."""
    config = CompareConfig(models=("knn", "tree", "lr"), outer=2, random_state=5, budgets=TINY)
    first = run_nested_cv(digits.X_train, digits.y_train, digits.X_test, config, pixel_max=16)
    second = run_nested_cv(digits.X_train, digits.y_train, digits.X_test, config, pixel_max=16)
    for a, b in zip(first, second, strict=True):
        assert (a.model, a.fold, a.best_params) == (b.model, b.fold, b.best_params)
        assert a.search == b.search
        np.testing.assert_array_equal(a.scores, b.scores)


@pytest.mark.parametrize("weights", ["uniform", "distance"])
def test_fast_knn_scores_equal_separate_pipeline_fits(digits, weights):
    """Test that the one-query KNN scorer equals fitting each (k, weights) pipeline on its own."""
    spec = get_model("knn")
    X_tr, y_tr = digits.X_train[:600], digits.y_train[:600]
    X_val, y_val = digits.X_train[600:900], digits.y_train[600:900]
    candidates = [{"n_neighbors": k, "weights": weights} for k in (1, 4, 7, 11)]
    fast = spec.score_split(X_tr, y_tr, X_val, y_val, candidates, 16.0, 0)
    slow = [spec.build(p, 16.0, 0).fit(X_tr, y_tr).score(X_val, y_val) for p in candidates]
    np.testing.assert_allclose(fast, slow)


@pytest.mark.parametrize("name", ["lr", "lr-rff"])
def test_path_scores_agree_with_separate_pipeline_fits(digits, name):
    """Test that warm-started path scores match fitting each candidate's pipeline alone."""
    spec = get_model(name)
    X_tr, y_tr = digits.X_train[:600], digits.y_train[:600]
    X_val, y_val = digits.X_train[600:900], digits.y_train[600:900]
    budget = ModelBudget(search_rows=None, inner=2, n_candidates=4, n_components=(60,))
    candidates = spec.candidates(budget, 11)
    fast = spec.score_split(X_tr, y_tr, X_val, y_val, candidates, 16.0, 0)
    slow = [spec.build(p, 16.0, 0, len(X_tr)).fit(X_tr, y_tr).score(X_val, y_val)
            for p in candidates]
    # Both are solutions to the solver's tolerance: at most a couple of borderline rows differ.
    np.testing.assert_allclose(fast, slow, atol=2 / len(y_val))


def test_candidates_follow_the_search_spaces():
    """Test that the SVM splits its candidates between kernels and lr-rff forms a gamma x C grid."""
    svm = get_model("svm").candidates(ModelBudget(search_rows=None, n_candidates=5), 1)
    assert [c["kernel"] for c in svm].count("rbf") == 3
    assert all(1.0 <= c["C"] <= 100 for c in svm)
    rff = get_model("lr-rff").candidates(
        ModelBudget(search_rows=None, n_candidates=6, n_components=(100, 200)), 1)
    assert len(rff) == 2 * 2 * 3
    assert len({c["gamma"] for c in rff}) == 2 and len({c["C"] for c in rff}) == 3


def test_parse_models_refuses_unknown_names_and_drops_duplicates():
    """Test that model lists are parsed, deduplicated and checked with a one-line error."""
    assert parse_models("svm, lr,svm") == ("svm", "lr")
    with pytest.raises(InputError, match=r"unknown model 'forest'.*lr, svm, knn, tree, lr-rff"):
        parse_models("lr,forest")
    with pytest.raises(InputError, match="no model"):
        parse_models(" , ")


def test_impossible_budgets_are_refused(digits):
    """Test that too few rows for the folds or the inner searches raise InputError."""
    with pytest.raises(InputError, match=r"The 'outer' parameter must be an integer in \[2, "):
        CompareConfig(outer=1).validate()
    with pytest.raises(InputError, match="too few for 'outer' 3"):
        CompareConfig(outer=3).validate_for(digits.y_train[:20])
    with pytest.raises(InputError, match="knn inner search"):
        # 4 rows per class: 20 outer training rows, fewer than 2 folds x 11 neighbours need.
        CompareConfig(models=("knn",), outer=2, quick=True).validate_for(np.repeat(range(10), 4))
    with pytest.raises(InputError, match="inner folds"):
        ModelBudget(search_rows=100, inner=1).validate("svm")


def test_fitted_nbytes_counts_the_fitted_arrays(digits):
    """Test that a KNN model's size is its stored rows and an SVM's includes its support vectors."""
    X, y = digits.X_train[:400], digits.y_train[:400]
    knn = get_model("knn").build({"n_neighbors": 3, "weights": "uniform"}, 16.0, 0).fit(X, y)
    size = fitted_nbytes(knn)
    assert X.shape[0] * X.shape[1] * 4 <= size < X.shape[0] * X.shape[1] * 4 + 20_000
    svm = get_model("svm").build({"kernel": "rbf", "C": 1.0}, 16.0, 0).fit(X, y)
    assert fitted_nbytes(svm) >= svm[-1].support_vectors_.nbytes
    tree = get_model("tree").build({"max_depth": 4}, 16.0, 0).fit(X, y)
    assert 0 < fitted_nbytes(tree) < 50_000


def test_config_round_trips_through_json():
    """Test that a configuration saved for --resume comes back equal."""
    config = CompareConfig(models=("svm", "lr"), outer=4, quick=True, random_state=9)
    again = CompareConfig.from_dict(config.to_dict())
    assert again.to_dict() == config.to_dict()
    assert again.budget("svm") == get_model("svm").quick_budget
