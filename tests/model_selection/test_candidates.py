"""Tests of the C candidate sampler."""

from __future__ import annotations

import numpy as np
import pytest

from mnist_logreg.errors import InputError
from mnist_logreg.model_selection import sample_candidates


def test_candidates_are_sorted_within_range_and_seeded() -> None:
    """Test that candidates are sorted, inside [c_min, c_max], and fixed by the seed."""
    a = sample_candidates(10, 0.01, 10, random_state=3)
    b = sample_candidates(10, 0.01, 10, random_state=3)
    c = sample_candidates(10, 0.01, 10, random_state=4)
    assert np.array_equal(a, b)
    assert not np.array_equal(a, c)
    assert np.all(np.diff(a) >= 0)
    assert a.min() >= 0.01 and a.max() <= 10


def test_loguniform_covers_decades_evenly_and_uniform_is_biased() -> None:
    """Test that log-uniform draws give each decade a third while uniform draws favour C > 1."""
    log = sample_candidates(30000, 0.01, 10, sampling="loguniform", random_state=0)
    uni = sample_candidates(30000, 0.01, 10, sampling="uniform", random_state=0)
    decades = np.histogram(np.log10(log), bins=[-2, -1, 0, 1])[0] / len(log)
    assert np.allclose(decades, 1 / 3, atol=0.015)
    assert np.mean(uni > 1) == pytest.approx(9 / 9.99, abs=0.01)


@pytest.mark.parametrize("n", [1, 3, 10, 37])
def test_loguniform_puts_one_candidate_in_each_stratum_of_log_c(n: int) -> None:
    """Test that the n candidates fall one in each of n equal-width strata of log C."""
    for seed in range(20):
        Cs = sample_candidates(n, 0.01, 10, random_state=seed)
        u = (np.log(Cs) - np.log(0.01)) / (np.log(10) - np.log(0.01))
        assert np.array_equal(np.floor(u * n).astype(int), np.arange(n))


def test_loguniform_draws_are_each_log_uniform() -> None:
    """Test that stratification keeps each candidate's marginal law log-uniform.

    Pooled over many seeds, the smallest of 2 candidates is uniform on the lower half of
    log C, and a randomly chosen candidate is uniform on all of it.
    """
    draws = np.array([sample_candidates(2, 1e-2, 1e2, random_state=s) for s in range(1000)])
    u = (np.log10(draws) + 2) / 4
    assert np.all(u[:, 0] < 0.5) and np.all(u[:, 1] >= 0.5)
    pooled = np.histogram(u.ravel(), bins=4, range=(0, 1))[0] / u.size
    assert np.allclose(pooled, 0.25, atol=0.04)


@pytest.mark.parametrize(
    ("c_min", "c_max", "message"),
    [(10, 0.01, "reversed"), (0, 1, "'c_min'"), (1, float("inf"), "'c_max'"), (1, 1, "reversed"),
     (1, 1e308, "'c_max'")],
)
def test_bad_ranges_are_rejected(c_min: float, c_max: float, message: str) -> None:
    """Test that empty, reversed or non-positive C ranges raise an InputError naming the option."""
    with pytest.raises(InputError, match=message):
        sample_candidates(5, c_min, c_max)


def test_unknown_sampling_is_rejected() -> None:
    """Test that an unknown sampling name raises an InputError."""
    with pytest.raises(InputError, match="'sampling'"):
        sample_candidates(5, 0.1, 1, sampling="normal")  # type: ignore[arg-type]
