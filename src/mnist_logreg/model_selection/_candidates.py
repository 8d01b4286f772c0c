"""Candidate values of the regularization strength C for a randomized search.

The reference study drew C uniformly from [0.01, 10]. Under C ~ U(0.01, 10) the probability of a
draw above 1 is (10 - 1) / (10 - 0.01) = 0.90, so nine candidates in ten land in the last of the
three decades, and the region where MNIST's optimum lies (C around 0.01-0.1) is almost never
tried. Drawing log C uniformly, log C ~ U(log 0.01, log 10), gives every decade the same share
(1/3 each), which is what an honest search over a scale parameter needs.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from scipy import stats

from mnist_logreg.errors import InputError

Sampling = Literal["loguniform", "uniform"]
SAMPLINGS: tuple[str, ...] = ("loguniform", "uniform")


def validate_c_range(c_min: float, c_max: float) -> None:
    """Raise :class:`InputError` unless ``0 < c_min < c_max`` and both are finite."""
    if not (np.isfinite(c_min) and c_min > 0):
        raise InputError(f"--c-min must be a finite number > 0. Got {c_min!r} instead.")
    if not (np.isfinite(c_max) and c_max > 0):
        raise InputError(f"--c-max must be a finite number > 0. Got {c_max!r} instead.")
    if not c_min < c_max:
        raise InputError(
            f"the C range is empty or reversed: --c-min {c_min:g} must be smaller than "
            f"--c-max {c_max:g}."
        )


def sample_candidates(
    n_candidates: int,
    c_min: float = 0.01,
    c_max: float = 10.0,
    *,
    sampling: Sampling = "loguniform",
    random_state: int | np.random.Generator | None = None,
) -> np.ndarray:
    """Draw ``n_candidates`` values of C from ``[c_min, c_max]``, sorted ascending.

    Parameters
    ----------
    n_candidates : int
        Number of draws (>= 1).
    c_min, c_max : float
        The closed search interval, ``0 < c_min < c_max``.
    sampling : {"loguniform", "uniform"}
        ``loguniform`` draws log C uniformly (the default, unbiased across decades);
        ``uniform`` draws C uniformly, reproducing the reference study's choice.
    random_state : int, Generator or None
        Seed; the same seed gives the same candidates.

    Returns
    -------
    candidates : ndarray of shape (n_candidates,)
        Sorted ascending, so a warm-started regularization path can visit them in order.
    """
    if n_candidates < 1:
        raise InputError(f"--candidates must be >= 1. Got {n_candidates} instead.")
    validate_c_range(c_min, c_max)
    if sampling == "loguniform":
        distribution = stats.loguniform(c_min, c_max)
    elif sampling == "uniform":
        distribution = stats.uniform(loc=c_min, scale=c_max - c_min)
    else:
        raise InputError(
            f"--sampling must be one of {', '.join(SAMPLINGS)}. Got {sampling!r} instead."
        )
    rng = np.random.default_rng(random_state)
    draws = distribution.rvs(size=n_candidates, random_state=rng)
    return np.sort(np.clip(np.asarray(draws, dtype=np.float64), c_min, c_max))
