"""Tests of the boundary-aware C search: edge strata, range extension, its limits and seeds."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mnist_logreg.datasets import load_dataset
from mnist_logreg.model_selection import (
    EXPANSION_BOUNDS,
    FINAL,
    MAX_EXTRA_DECADES,
    MODELS,
    NestedCVConfig,
    SearchOutcome,
    Segment,
    edge_side,
    run_nested_cv,
)
from mnist_logreg.model_selection._range import next_segment, strata_per_decade

# Noisy labels, 20 features, 120 rows: the log-loss keeps improving as C shrinks far below 1, so
# the optimum lies outside the initial range [1, 10].
_rng = np.random.default_rng(0)
NOISY_X = _rng.normal(size=(120, 20))
NOISY_Y = (NOISY_X[:, 0] + 2.0 * _rng.normal(size=120) > 0).astype(int)
OUTSIDE = NestedCVConfig(outer=2, inner=2, n_candidates=2, c_min=1.0, c_max=10.0,
                         scoring="neg_log_loss", random_state=1)
# digits, 400 rows, accuracy over five decades: every search's optimum is interior
INSIDE = NestedCVConfig(outer=2, inner=2, n_candidates=5, c_min=1e-3, c_max=1e2, random_state=1)


def _noisy(config: NestedCVConfig) -> list[SearchOutcome]:
    return run_nested_cv(NOISY_X, NOISY_Y, NOISY_X[:5], config, pixel_max=1.0)


@pytest.fixture(scope="module")
def outside() -> list[SearchOutcome]:
    return _noisy(OUTSIDE)


def test_edge_strata_are_the_first_and_last_of_log_c() -> None:
    """Test that the edges are the lowest and highest of n equal-width strata of log C."""
    initial = [Segment(0.01, 10.0, 10)]  # strata 0.3 decades wide: [0.01, 0.01995), ...
    assert edge_side(0.015, initial) == "low"
    assert edge_side(0.0199, initial) == "low"
    assert edge_side(0.0201, initial) is None
    assert edge_side(1.0, initial) is None
    assert edge_side(5.0, initial) is None  # 10**0.7 = 5.012 starts the highest stratum
    assert edge_side(5.1, initial) == "high"
    assert edge_side(0.5, [Segment(0.1, 10.0, 1)]) == "both"  # one stratum: both edges
    # after extending below, the lowest stratum is the new decade's first
    extended = [Segment(1.0, 10.0, 3), Segment(0.1, 1.0, 3, "low")]
    assert edge_side(0.2, extended) == "low"
    assert edge_side(0.3, extended) is None
    assert edge_side(0.9, extended) is None


def test_an_extension_is_one_decade_at_the_initial_density() -> None:
    """Test that a decade is added with ceil(candidates per decade) strata, cut at the bounds."""
    assert strata_per_decade(10, 0.01, 10.0) == 4  # 10 / 3 decades = 3.33, rounded up
    assert strata_per_decade(3, 1.0, 10.0) == 3
    assert next_segment([Segment(0.01, 10.0, 10)], "low") == Segment(0.001, 0.01, 4, "low")
    assert next_segment([Segment(0.01, 10.0, 10)], "high") == Segment(10.0, 100.0, 4, "high")
    # cut at 1e-6: 0.30 decades of the 4-per-decade density -> 2 strata
    cut = next_segment([Segment(2e-6, 2e-3, 12)], "low")
    assert cut is not None and (cut.c_min, cut.c_max, cut.n_strata) == (1e-6, 2e-6, 2)
    assert next_segment([Segment(1e-6, 1.0, 6)], "low") is None
    assert next_segment([Segment(1.0, 1e4, 4)], "high") is None
    # at most three decades added
    segments = [Segment(1.0, 10.0, 2)]
    for _ in range(MAX_EXTRA_DECADES):
        segments.append(next_segment(segments, "low"))
    assert segments[-1] == Segment(0.001, 0.01, 2, "low")
    assert next_segment(segments, "low") is None


@settings(max_examples=200, deadline=None)
@given(log_min=st.floats(-8, 8), decades=st.floats(0.05, 6), n=st.integers(1, 40),
       sides=st.lists(st.sampled_from(["low", "high"]), max_size=6))
def test_fuzz_extensions_stay_within_their_limits(log_min, decades, n, sides) -> None:
    """Test that extensions never pass the bounds nor add more than three decades in all."""
    segments = [Segment(10.0**log_min, 10.0 ** (log_min + decades), n)]
    for side in sides:
        segment = next_segment(segments, side)
        if segment is None:
            continue
        assert EXPANSION_BOUNDS[0] <= segment.c_min < segment.c_max <= EXPANSION_BOUNDS[1]
        assert segment.n_strata >= 1
        segments.append(segment)
    added = sum(math.log10(s.c_max / s.c_min) for s in segments[1:])
    assert added <= MAX_EXTRA_DECADES + 1e-9


def test_an_optimum_below_the_range_is_found(outside) -> None:
    """Test that with the optimum below [1, 10] every search extends downwards and picks C < 1."""
    for outcome in outside:
        r = outcome.search.c_range
        assert r["initial"] == [1.0, 10.0] and r["initial_edge"] == "low"
        assert r["expanded"] and r["searched"][0] < 1.0 and r["searched"][1] == 10.0
        assert outcome.search.best_C < 1.0
        # two strata per decade: two new candidates per added decade, all in their decade
        for segment in r["segments"][1:]:
            assert segment["side"] == "low" and segment["candidates"] == 2
            assert math.isclose(segment["c_max"] / segment["c_min"], 10.0)
        Cs = [c.C for c in outcome.search.candidates]
        assert Cs == sorted(Cs) and len(Cs) == 2 * len(r["segments"])
        assert outcome.search.best_C == max(outcome.search.candidates,
                                            key=lambda c: (c.mean_score, -c.C)).C
    by_fold = {o.fold: o.search.c_range for o in outside}
    # fold 1 wants ever smaller C: three decades added, the limit, still on the edge
    assert by_fold[1]["searched"] == [0.001, 10.0]
    assert by_fold[1]["limit_reached"] and by_fold[1]["edge"] == "low"
    # the final search found an interior optimum in the second added decade
    assert by_fold[FINAL]["searched"] == [0.01, 10.0]
    assert by_fold[FINAL]["edge"] is None and not by_fold[FINAL]["limit_reached"]


def test_the_extension_continues_each_splits_warm_started_path(monkeypatch) -> None:
    """Test that each added decade is scored on the same inner splits, warm-started from the
    solution at the nearest C searched before on that split: the first decade below in the
    initial range's task itself, the next ones in tasks of their own."""
    calls = []
    original = MODELS["lr"].score_split

    def spy(X_train, y_train, X_val, y_val, candidates, *args, **kwargs):
        result = original(X_train, y_train, X_val, y_val, candidates, *args, **kwargs)
        spare = np.array([c["C"] for c in kwargs.get("spare", ())])
        calls.append((X_val[:, 0].tobytes(), np.array([c["C"] for c in candidates]),
                      kwargs.get("warm_start"), result[1], spare))
        return result

    monkeypatch.setitem(MODELS, "lr", dataclasses.replace(MODELS["lr"], score_split=spy))
    run_nested_cv(NOISY_X, NOISY_Y, NOISY_X[:5], OUTSIDE, pixel_max=1.0,
                  skip={("lr", 2), ("lr", FINAL)})
    # two inner splits: the initial range with the first decade below it, then two decades
    assert len(calls) == 2 * 3
    for split in {c[0] for c in calls}:
        rounds = [c for c in calls if c[0] == split]
        first = rounds[0]
        assert first[2] is None and len(first[4]) == 2 and first[4].max() <= first[1].min()
        assert len(first[3]["spare"]) == 2  # its own best was in the lowest stratum
        # the first decade's path, in the same task, continued from the lowest C's solution
        edges = [(first[1], first[3]), (first[4], first[3]["spare_edges"]),
                 *((c[1], c[3]) for c in rounds[1:])]
        for (before_Cs, before), (after_Cs, _), after in zip(
            edges[:-1], edges[1:], [None, *rounds[1:]], strict=True
        ):
            assert after_Cs.max() <= before_Cs.min()  # the decade below
            if after is not None:
                np.testing.assert_array_equal(after[2][0], before["low"][0])
                np.testing.assert_array_equal(after[2][1], before["low"][1])


def test_an_optimum_inside_the_range_is_left_alone() -> None:
    """Test that searches with an interior best C get no extra candidate, and equal the fixed
    range's searches."""
    digits = load_dataset("digits")
    X, y = digits.X_train[:400], digits.y_train[:400]

    def run(config):
        return run_nested_cv(X, y, digits.X_test[:20], config, pixel_max=16.0)

    expanded = run(INSIDE)
    fixed = run(NestedCVConfig(**{**INSIDE.__dict__, "expand_range": False}))
    for a, b in zip(expanded, fixed, strict=True):
        assert a.search.c_range["initial_edge"] is None and a.search.c_range["edge"] is None
        assert not a.search.c_range["expanded"]
        assert [c.C for c in a.search.candidates] == list(INSIDE.candidates_for(a.fold))
        assert a.search.to_dict() == b.search.to_dict()
        np.testing.assert_array_equal(a.proba, b.proba)


def test_same_seed_same_extended_search_other_seed_differs(outside) -> None:
    """Test that a rerun with the seed repeats every extension; another seed draws others."""
    again = _noisy(OUTSIDE)
    assert [o.search.to_dict() for o in again] == [o.search.to_dict() for o in outside]
    for a, b in zip(again, outside, strict=True):
        np.testing.assert_array_equal(a.proba, b.proba)
    other = _noisy(NestedCVConfig(**{**OUTSIDE.__dict__, "random_state": 2}))
    assert [c.C for c in other[0].search.candidates] != [c.C for c in outside[0].search.candidates]


def test_no_expand_range_searches_only_the_configured_range(outside) -> None:
    """Test that --no-expand-range scores the configured candidates only, and flags the edge."""
    fixed = _noisy(NestedCVConfig(**{**OUTSIDE.__dict__, "expand_range": False}))
    for outcome, extended in zip(fixed, outside, strict=True):
        r = outcome.search.c_range
        assert [c.C for c in outcome.search.candidates] == list(OUTSIDE.candidates_for(
            outcome.fold))
        assert r["searched"] == [1.0, 10.0] and not r["expanded"] and not r["limit_reached"]
        assert r["initial_edge"] == "low" and r["edge"] == "low"
        # the configured candidates' scores are the same with or without the extension
        scores = {c.C: c.split_scores for c in extended.search.candidates}
        assert all(scores[c.C] == c.split_scores for c in outcome.search.candidates)


def test_the_first_decade_below_is_the_one_the_low_extension_draws() -> None:
    """Test that first_low_decade gives exactly the candidates a first extension downwards adds,
    and None where no such extension can come."""
    config = NestedCVConfig(n_candidates=10, c_min=0.01, c_max=10.0, random_state=7)
    for search in (0, 1, 5):
        state = config.range_search(search)
        below = state.first_low_decade()
        means = np.zeros(len(state.Cs))
        means[np.argmin(state.Cs)] = 1.0  # best at the lowest candidate: extend downwards
        added = state.extend(means)
        assert below is not None and len(below) == 4
        np.testing.assert_array_equal(below, added)
        assert np.all((0.001 <= below) & (below <= 0.01))
        assert state.first_low_decade() is None  # already extended
    assert NestedCVConfig(expand_range=False).range_search(1).first_low_decade() is None
    assert NestedCVConfig(n_candidates=1).range_search(1).first_low_decade() is None
    at_bound = NestedCVConfig(c_min=EXPANSION_BOUNDS[0], c_max=1.0).range_search(1)
    assert at_bound.first_low_decade() is None
    other_seed = NestedCVConfig(n_candidates=10, random_state=8).range_search(1)
    assert not np.array_equal(other_seed.first_low_decade(),
                              config.range_search(1).first_low_decade())


def test_scoring_the_first_decade_in_advance_changes_no_number(outside, monkeypatch) -> None:
    """Test that searches whose first decade below was scored inside the initial tasks equal,
    bit for bit, searches that score it in an extension round of its own."""
    from mnist_logreg.model_selection._range import RangeSearch

    monkeypatch.setattr(RangeSearch, "first_low_decade", lambda self: None)
    separate = _noisy(OUTSIDE)
    for a, b in zip(outside, separate, strict=True):
        assert a.search.c_range["segments"][1]["side"] == "low"
        assert a.search.to_dict() == b.search.to_dict()
        np.testing.assert_array_equal(a.proba, b.proba)


@pytest.mark.parametrize(("name", "n_train"), [("digits", 200), ("mnist", 3000)])
def test_a_spare_decade_is_scored_only_when_the_splits_best_is_lowest(name, n_train) -> None:
    """Test that the spare decade is scored when the split's best C lies in the lowest stratum,
    equal to scoring it apart from the split's path (dense and, for MNIST's 2.4 million raw
    pixels, compressed-row passes), and skipped otherwise."""
    from mnist_logreg.model_selection._search import score_lr_path

    data = load_dataset(name)
    X, y = data.X_train[: n_train + 100], data.y_train[: n_train + 100]
    args = (X[:n_train], y[:n_train], X[n_train:], y[n_train:])
    low = [{"C": 0.002}, {"C": 0.004}]
    candidates = [{"C": 0.02}, {"C": 0.2}, {"C": 2.0}]
    scores, edges = score_lr_path(*args, candidates, return_edges=True, spare=low,
                                  spare_below=1e3)
    apart, apart_edges = score_lr_path(*args, low, return_edges=True,
                                       warm_start=edges["low"])
    np.testing.assert_array_equal(edges["spare"], apart)
    for side in ("low", "high"):
        for got, expected in zip(edges["spare_edges"][side], apart_edges[side], strict=True):
            np.testing.assert_array_equal(got, expected)
    plain, plain_edges = score_lr_path(*args, candidates, return_edges=True)
    np.testing.assert_array_equal(scores, plain)
    assert set(plain_edges) == {"low", "high"}
    _, none_below = score_lr_path(*args, candidates, return_edges=True, spare=low,
                                  spare_below=0.01)  # best C (>= 0.02) not below 0.01
    assert set(none_below) == {"low", "high"}
