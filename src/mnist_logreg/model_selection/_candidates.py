"""Candidate values of the regularization strength C for a randomized search.

The reference study drew C uniformly from [0.01, 10]. Under C ~ U(0.01, 10) the probability of a
draw above 1 is (10 - 1) / (10 - 0.01) = 0.90, so nine candidates in ten land in the last of the
three decades, and the region where MNIST's optimum lies (C around 0.01-0.1) is almost never
tried. Drawing log C uniformly, log C ~ U(log 0.01, log 10), gives every decade the same share
(1/3 each), which is what an honest search over a scale parameter needs.

Independent draws still leave gaps by chance: ten independent log-uniform draws over three
decades miss the lowest 0.3 decade (C in [0.01, 0.02), where MNIST's best log-loss lies) with
probability 0.9^10 = 0.35. The ``loguniform`` sampling is therefore stratified (Latin hypercube
sampling in one dimension, :class:`scipy.stats.qmc.LatinHypercube`): the interval of log C is cut
into ``n_candidates`` strata of equal width and one candidate is drawn uniformly inside each.
Every candidate is still log-uniformly distributed (a random stratum, a uniform point in it), the
sample's spread is guaranteed, and the seed still fixes every draw. ``uniform`` keeps the
reference study's independent uniform draws, to reproduce its bias.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from scipy import stats
from scipy.stats import qmc

from mnist_logreg.errors import InputError

Sampling = Literal["loguniform", "uniform"]
SAMPLINGS: tuple[str, ...] = ("loguniform", "uniform")


C_BOUNDS: tuple[float, float] = (1e-12, 1e12)
"""Smallest and largest C accepted. Beyond 1e12 the L2 term vanishes next to the data term in
double precision (the fit is unregularized) and the solver's scaling 1 / (C n) underflows."""


def validate_C(C: float, name: str = "C") -> None:
    """Raise :class:`InputError` unless ``C`` is a finite number within :data:`C_BOUNDS`.

    Parameters
    ----------
    C : float
        The regularization strength.
    name : str, default="C"
        The parameter's name in the message.
    """
    low, high = C_BOUNDS
    if isinstance(C, bool) or not isinstance(C, int | float) or not (
        np.isfinite(C) and low <= C <= high
    ):
        raise InputError(
            f"The {name!r} parameter must be a finite number in [{low:g}, {high:g}]. "
            f"Got {C!r} instead."
        )


def validate_c_range(c_min: float, c_max: float) -> None:
    """Raise :class:`InputError` unless ``c_min < c_max``, both finite and within C_BOUNDS."""
    validate_C(c_min, "c_min")
    validate_C(c_max, "c_max")
    if not c_min < c_max:
        raise InputError(
            f"the C range is empty or reversed: 'c_min' {c_min:g} must be smaller than "
            f"'c_max' {c_max:g}."
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
        ``loguniform`` draws log C uniformly, one candidate in each of ``n_candidates``
        equal-width strata of log C (the default, unbiased across decades, no gaps);
        ``uniform`` draws C uniformly and independently, reproducing the reference study's
        choice.
    random_state : int, Generator or None
        Seed; the same seed gives the same candidates.

    Returns
    -------
    candidates : ndarray of shape (n_candidates,)
        Sorted ascending, so a warm-started regularization path can visit them in order.
    """
    if n_candidates < 1:
        raise InputError(f"The 'n_candidates' parameter must be >= 1. Got {n_candidates} instead.")
    validate_c_range(c_min, c_max)
    rng = np.random.default_rng(random_state)
    if sampling == "loguniform":
        # u_i = (pi(i) + v_i) / n, v_i ~ U(0, 1): one point per stratum [i/n, (i+1)/n) of [0, 1),
        # mapped to log C = log c_min + u (log c_max - log c_min) by the log-uniform quantile
        u = qmc.LatinHypercube(d=1, rng=rng).random(n_candidates)[:, 0]
        draws = stats.loguniform(c_min, c_max).ppf(u)
    elif sampling == "uniform":
        draws = stats.uniform(loc=c_min, scale=c_max - c_min).rvs(
            size=n_candidates, random_state=rng
        )
    else:
        raise InputError(
            f"The 'sampling' parameter must be one of {', '.join(SAMPLINGS)}. "
            f"Got {sampling!r} instead."
        )
    return np.sort(np.clip(np.asarray(draws, dtype=np.float64), c_min, c_max))
