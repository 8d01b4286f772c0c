"""Tests of McNemar's test and Holm's adjustment against values computed by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest

from mnist_logreg.evaluation import (
    holm_adjust,
    mcnemar_from_counts,
    mcnemar_test,
    pairwise_mcnemar,
)


def test_exact_form_matches_hand_computed_binomial_tail() -> None:
    """Test that b=10, c=2 gives p = 2 * (C(12,0) + C(12,1) + C(12,2)) / 2^12 exactly."""
    result = mcnemar_from_counts(10, 2)  # 12 discordant rows < 25: exact
    assert result.method == "exact"
    assert result.statistic == 2.0
    assert result.p_value == pytest.approx(2 * (1 + 12 + 66) / 4096, rel=1e-12)  # 0.0385742...
    assert (result.b, result.c, result.n_discordant) == (10, 2, 12)


def test_chi_square_form_matches_hand_computed_value() -> None:
    """Test that b=10, c=2 gives (|10-2|-1)^2/12 = 49/12 and p = erfc(sqrt(49/24))."""
    result = mcnemar_from_counts(10, 2, method="chi2")
    assert result.statistic == pytest.approx(49 / 12, rel=1e-12)
    # A chi-square with 1 degree of freedom is Z^2: P(Z^2 >= x) = erfc(sqrt(x / 2)).
    assert result.p_value == pytest.approx(math.erfc(math.sqrt(49 / 24)), rel=1e-10)
    assert result.p_value == pytest.approx(0.04331, abs=1e-5)


def test_auto_switches_to_chi_square_at_25_discordant_rows() -> None:
    """Test that 24 discordant rows use the exact form and 25 the corrected chi-square."""
    assert mcnemar_from_counts(20, 4).method == "exact"
    result = mcnemar_from_counts(20, 5)
    assert result.method == "chi2"
    assert result.statistic == pytest.approx((15 - 1) ** 2 / 25)
    assert result.p_value == pytest.approx(math.erfc(math.sqrt(7.84 / 2)), rel=1e-10)


def test_no_discordant_rows_gives_p_one() -> None:
    """Test that two models right and wrong on the same rows are not different (p = 1)."""
    result = mcnemar_from_counts(0, 0)
    assert (result.statistic, result.p_value) == (0.0, 1.0)


def test_counts_come_from_paired_predictions_and_swap_symmetrically() -> None:
    """Test that b counts rows only A gets right, c rows only B gets right; swapping swaps them."""
    y = np.array([0, 1, 2, 0, 1, 2, 0, 1])
    a = np.array([0, 1, 2, 0, 0, 0, 0, 2])  # right on rows 0-3 and 6
    b = np.array([0, 0, 2, 1, 1, 2, 0, 2])  # right on rows 0, 2, 4, 5, 6
    result = mcnemar_test(y, a, b)
    assert (result.b, result.c) == (2, 2)  # only A: rows 1, 3; only B: rows 4, 5
    swapped = mcnemar_test(y, b, a)
    assert (swapped.b, swapped.c) == (result.c, result.b)
    assert swapped.p_value == result.p_value


def test_mismatched_shapes_are_refused() -> None:
    """Test that predictions of another length raise a ValueError quoting the shapes."""
    with pytest.raises(ValueError, match="same shape"):
        mcnemar_test([0, 1, 1], [0, 1], [0, 1, 1])


def test_holm_adjustment_matches_hand_computed_values() -> None:
    """Test that p = (0.01, 0.04, 0.03) adjusts to (0.03, 0.06, 0.06)."""
    assert holm_adjust([0.01, 0.04, 0.03]) == pytest.approx([0.03, 0.06, 0.06])
    assert holm_adjust([0.5, 0.9]) == pytest.approx([1.0, 1.0])


def test_pairwise_names_the_better_model_only_when_significant() -> None:
    """Test every pair is tested once, and 'better' is set only for a significant difference."""
    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, size=400)
    good = y.copy()
    good[:10] = (y[:10] + 1) % 3
    bad = y.copy()
    bad[:120] = (y[:120] + 1) % 3
    also_good = y.copy()
    also_good[5:16] = (y[5:16] + 1) % 3
    pairs = pairwise_mcnemar(y, {"good": good, "bad": bad, "also_good": also_good})
    assert [(p["model_a"], p["model_b"]) for p in pairs] == [
        ("good", "bad"), ("good", "also_good"), ("bad", "also_good")]
    by_pair = {(p["model_a"], p["model_b"]): p for p in pairs}
    assert by_pair[("good", "bad")]["better"] == "good"
    assert by_pair[("bad", "also_good")]["better"] == "also_good"
    assert by_pair[("good", "also_good")]["better"] is None
    assert all(p["p_value_holm"] >= p["p_value"] for p in pairs)
