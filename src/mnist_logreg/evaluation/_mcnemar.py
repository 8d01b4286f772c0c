"""McNemar's test: do two classifiers, scored on the same test rows, differ in accuracy?

Only the rows where exactly one of the two models is right carry information. With

    b = #{rows that model A gets right and model B gets wrong}
    c = #{rows that model A gets wrong and model B gets right}

the null hypothesis "both models have the same error rate" says that a discordant row is equally
likely to fall on either side: ``b ~ Binomial(b + c, 1/2)`` given ``n = b + c``.

Two forms of the test are used, chosen by the number of discordant rows ``n = b + c``:

``exact`` (``n < 25``)
    the two-sided binomial test, ``p = min(1, 2 * P(X <= min(b, c)))`` with
    ``X ~ Binomial(n, 1/2)``; the reported statistic is ``min(b, c)``.
``chi2`` (``n >= 25``)
    the chi-square approximation with Edwards' continuity correction,
    ``statistic = (|b - c| - 1)^2 / (b + c)``, ``p = P(chi2_1 >= statistic)``.

The threshold of 25 is the usual rule (and statsmodels' advice): below it the chi-square
approximation of the binomial is poor. ``n = 0`` (the models agree on every row) gives
``statistic = 0`` and ``p = 1``.

Several pairwise tests on the same data are corrected for multiplicity with Holm's step-down
method, which controls the family-wise error rate without assuming independence.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from itertools import combinations
from typing import Any, Literal

import numpy as np
from numpy.typing import ArrayLike
from scipy import stats

Method = Literal["auto", "exact", "chi2"]

EXACT_BELOW = 25
"""Discordant-pair count below which the exact binomial form is used (``method="auto"``)."""


@dataclass(frozen=True)
class McNemarResult:
    """Outcome of one McNemar test.

    Attributes
    ----------
    statistic : float
        ``min(b, c)`` for the exact test; ``(|b - c| - 1)^2 / (b + c)`` for the chi-square form.
    p_value : float
        Two-sided p-value.
    b : int
        Rows model A gets right and model B wrong.
    c : int
        Rows model A gets wrong and model B right.
    method : {"exact", "chi2"}
        Which form was used.
    """

    statistic: float
    p_value: float
    b: int
    c: int
    method: str

    @property
    def n_discordant(self) -> int:
        """``b + c``, the rows on which exactly one model is right."""
        return self.b + self.c

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {**asdict(self), "n_discordant": self.n_discordant}


def mcnemar_from_counts(b: int, c: int, *, method: Method = "auto") -> McNemarResult:
    """McNemar's test from the two discordant counts.

    Parameters
    ----------
    b : int
        Rows model A gets right and model B gets wrong (>= 0).
    c : int
        Rows model A gets wrong and model B gets right (>= 0).
    method : {"auto", "exact", "chi2"}, default="auto"
        ``auto`` uses the exact binomial test when ``b + c < 25`` and the continuity-corrected
        chi-square test otherwise.

    Returns
    -------
    McNemarResult
    """
    b, c = int(b), int(c)
    if b < 0 or c < 0:
        raise ValueError(f"The discordant counts must be >= 0. Got b={b}, c={c} instead.")
    if method not in ("auto", "exact", "chi2"):
        raise ValueError(
            f"The 'method' parameter must be 'auto', 'exact' or 'chi2'. Got {method!r} instead."
        )
    n = b + c
    chosen = ("exact" if n < EXACT_BELOW else "chi2") if method == "auto" else method
    if n == 0:
        return McNemarResult(statistic=0.0, p_value=1.0, b=b, c=c, method=chosen)
    if chosen == "exact":
        # p = min(1, 2 P(X <= min(b, c))), X ~ Binomial(n, 1/2); binomtest's two-sided p-value
        # equals this for p = 1/2 (the distribution is symmetric).
        p_value = float(stats.binomtest(min(b, c), n, 0.5, alternative="two-sided").pvalue)
        return McNemarResult(float(min(b, c)), min(1.0, p_value), b, c, "exact")
    # statistic = (|b - c| - 1)^2 / (b + c), compared with a chi-square of 1 degree of freedom.
    statistic = (max(abs(b - c) - 1, 0)) ** 2 / n
    p_value = float(stats.chi2.sf(statistic, df=1))
    return McNemarResult(float(statistic), p_value, b, c, "chi2")


def mcnemar_test(
    y_true: ArrayLike,
    y_pred_a: ArrayLike,
    y_pred_b: ArrayLike,
    *,
    method: Method = "auto",
) -> McNemarResult:
    """McNemar's test on paired predictions of two models on the same rows.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
    y_pred_a, y_pred_b : array-like of shape (n_samples,)
        Predicted labels of models A and B, row for row.
    method : {"auto", "exact", "chi2"}, default="auto"

    Returns
    -------
    McNemarResult
        ``b`` counts rows where only A is right, ``c`` rows where only B is right.
    """
    y_true, y_pred_a, y_pred_b = np.asarray(y_true), np.asarray(y_pred_a), np.asarray(y_pred_b)
    if not (y_true.ndim == 1 and y_pred_a.shape == y_pred_b.shape == y_true.shape):
        raise ValueError(
            "Expected y_true, y_pred_a and y_pred_b of the same shape (n_samples,). Got shapes "
            f"{y_true.shape}, {y_pred_a.shape} and {y_pred_b.shape} instead."
        )
    a_right = y_pred_a == y_true
    b_right = y_pred_b == y_true
    b = int(np.count_nonzero(a_right & ~b_right))
    c = int(np.count_nonzero(~a_right & b_right))
    return mcnemar_from_counts(b, c, method=method)


def holm_adjust(p_values: Sequence[float]) -> list[float]:
    """Holm's step-down adjusted p-values.

    With the ``m`` p-values sorted ascending, ``p_(1) <= ... <= p_(m)``, the adjusted value of
    ``p_(i)`` is ``max_{j <= i} min(1, (m - j + 1) p_(j))``; reject where it is below alpha.

    Parameters
    ----------
    p_values : sequence of float, length m

    Returns
    -------
    adjusted : list of float, length m, in the input order
    """
    p = np.asarray(p_values, dtype=float)
    m = p.size
    order = np.argsort(p, kind="stable")
    scaled = np.minimum(1.0, (m - np.arange(m)) * p[order])
    adjusted = np.empty(m)
    adjusted[order] = np.maximum.accumulate(scaled)
    return adjusted.tolist()


def pairwise_mcnemar(
    y_true: ArrayLike,
    predictions: Mapping[str, ArrayLike],
    *,
    alpha: float = 0.05,
    method: Method = "auto",
) -> list[dict[str, Any]]:
    """McNemar's test for every pair of models, with Holm-adjusted p-values.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
    predictions : mapping of str to array-like of shape (n_samples,)
        Each model's predicted labels on the same rows, in display order.
    alpha : float, default=0.05
        Family-wise significance level for the ``significant`` flag.
    method : {"auto", "exact", "chi2"}, default="auto"

    Returns
    -------
    pairs : list of dict
        One per pair ``(a, b)`` in the order of ``predictions``: ``model_a``, ``model_b``,
        ``b`` (only A right), ``c`` (only B right), ``n_discordant``, ``method``, ``statistic``,
        ``p_value``, ``p_value_holm``, ``significant`` (Holm-adjusted p < alpha) and ``better``
        (the model with fewer errors when significant, else ``None``).
    """
    names = list(predictions)
    results = [
        (a, b, mcnemar_test(y_true, predictions[a], predictions[b], method=method))
        for a, b in combinations(names, 2)
    ]
    adjusted = holm_adjust([r.p_value for _, _, r in results])
    pairs = []
    for (a, b, result), p_holm in zip(results, adjusted, strict=True):
        significant = bool(p_holm < alpha)
        better = (a if result.b > result.c else b) if significant else None
        pairs.append({
            "model_a": a,
            "model_b": b,
            **result.to_dict(),
            "p_value_holm": float(p_holm),
            "significant": significant,
            "better": better,
        })
    return pairs

