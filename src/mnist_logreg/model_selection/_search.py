"""Search results, scorers, and the logistic regression's search: one warm-started path per split.

For each inner split the preprocessing is fitted on the inner training rows only, the sorted
candidates are fitted as one path (each C starts from the previous solution), and every candidate
is scored on the inner held-out rows. The best C maximizes the mean inner score; ties go to the
smaller C (the simpler, more regularized model). :func:`score_lr_path` is the registry's ``lr``
scorer, so the study and the comparison score a logistic regression the same way.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sklearn.metrics import get_scorer, get_scorer_names
from sklearn.model_selection import StratifiedKFold

from mnist_logreg.errors import InputError
from mnist_logreg.model_selection import _pipeline


@dataclass(frozen=True)
class CandidateScore:
    """Inner cross-validation score of one candidate (its hyperparameters ``params``)."""

    params: dict[str, Any]
    mean_score: float
    std_score: float
    split_scores: tuple[float, ...]

    @property
    def C(self) -> float:
        """The candidate's C (a logistic regression's search)."""
        return float(self.params["C"])

    def to_dict(self, flat: bool = False) -> dict[str, Any]:
        """JSON-ready form: ``{"params": ..., "mean_score", ...}``, or the params inlined
        (``flat``: the study's ``{"C": ..., "mean_score", ...}``)."""
        head = dict(self.params) if flat else {"params": dict(self.params)}
        return {**head, "mean_score": self.mean_score, "std_score": self.std_score,
                "split_scores": list(self.split_scores)}


@dataclass(frozen=True)
class SearchResult:
    """Outcome of one search: every candidate's inner scores and the chosen one."""

    candidates: tuple[CandidateScore, ...]
    best_params: dict[str, Any]
    scoring: str
    seconds: float = field(default=0.0, compare=False)
    c_range: dict[str, Any] | None = None
    """The C range searched and its edge flags (:meth:`~._range.RangeSearch.record`), if any."""

    @property
    def best_C(self) -> float:
        """The chosen C (a logistic regression's search)."""
        return float(self.best_params["C"])

    def to_dict(self, flat: bool = False) -> dict[str, Any]:
        """JSON-ready form (``best_params``, ``scoring``, ``candidates`` and ``range``)."""
        data: dict[str, Any] = {
            "best_params": dict(self.best_params),
            "scoring": self.scoring,
            "candidates": [c.to_dict(flat) for c in self.candidates],
        }
        if self.c_range is not None:
            data["range"] = self.c_range
        return data


CLASSIFICATION_SCORERS: tuple[str, ...] = (
    "accuracy",
    "balanced_accuracy",
    "average_precision",
    "d2_brier_score",
    "d2_log_loss_score",
    "f1_macro",
    "f1_micro",
    "f1_weighted",
    "jaccard_macro",
    "jaccard_micro",
    "jaccard_weighted",
    "matthews_corrcoef",
    "neg_brier_score",
    "neg_log_loss",
    "precision_macro",
    "precision_micro",
    "precision_weighted",
    "recall_macro",
    "recall_micro",
    "recall_weighted",
    "roc_auc_ovo",
    "roc_auc_ovo_weighted",
    "roc_auc_ovr",
    "roc_auc_ovr_weighted",
)
"""scikit-learn scorers that rank a multiclass (and a binary) probabilistic classifier.

Not the binary-only ones (``f1``, ``roc_auc``...), regression ones (``r2``...), clustering ones
(``rand_score``...), or ``top_k_accuracy`` (constant with two classes).
"""


def validate_scoring(scoring: str) -> None:
    """Raise :class:`InputError` unless ``scoring`` is one of :data:`CLASSIFICATION_SCORERS`."""
    if scoring not in CLASSIFICATION_SCORERS or scoring not in get_scorer_names():
        raise InputError(
            f"The 'scoring' parameter must be a scorer for a multiclass classifier, one of "
            f"{', '.join(CLASSIFICATION_SCORERS)}. Got {scoring!r} instead."
        )


def inner_splits(
    y: np.ndarray, n_splits: int, random_state: int
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Stratified, shuffled, seeded K-fold splits of ``y`` (positions into ``y``)."""
    splitter = StratifiedKFold(n_splits=n_splits, shuffle=True, random_state=random_state)
    return list(splitter.split(np.zeros((len(y), 1)), y))


def path_scores(
    estimators: Sequence[Any], order: np.ndarray, X_val: Any, y_val: np.ndarray, scoring: str
) -> np.ndarray:
    """The scorer's value of each estimator of a path fitted in ``order`` (back in input order)."""
    scorer = get_scorer(scoring)
    scores = np.empty(len(order))
    for position, estimator in zip(order, estimators, strict=True):
        scores[position] = scorer(estimator, X_val, y_val)
    return scores


def score_lr_path(
    X_train: Any,
    y_train: np.ndarray,
    X_val: Any,
    y_val: np.ndarray,
    candidates: Sequence[dict[str, Any]],
    pixel_max: float = 1.0,
    random_state: int = 0,
    *,
    scoring: str = "accuracy",
    strategy: str = "multinomial",
    solver_options: dict[str, Any] | None = None,
    warm_start: tuple[np.ndarray, np.ndarray] | None = None,
    return_edges: bool = False,
    spare: Sequence[dict[str, Any]] = (),
    spare_below: float = 0.0,
) -> Any:
    """Fit every candidate C as one warm-started path on raw rows and score each one.

    The logistic regression's inner-split scorer, for the study and the comparison alike: the
    standardization (fitted on the training rows only) is folded into the classifiers, whose
    ``predict*`` read raw rows.

    Parameters
    ----------
    X_train, X_val : ndarray of shape (n_train, n_features), (n_val, n_features)
        Raw pixels of the inner training and held-out parts.
    y_train, y_val : ndarray
    candidates : sequence of dict
        ``{"C": ...}`` each, in any order (fitted in ascending C).
    pixel_max, random_state
        Unused (the registry's scorer signature).
    scoring : str
        A scikit-learn scorer name.
    strategy : {"multinomial", "ovr"}
    solver_options : dict, optional
    warm_start : (coef, intercept), optional
        Standardized coefficients and intercepts to start the path from (the solution at the
        nearest C of an earlier path on the same split: a range extension continues the path).
    return_edges : bool
        Also return the solutions at the smallest and largest C.
    spare : sequence of dict, optional
        The candidates of the decade below ``candidates`` that a range extension would score
        next (with ``return_edges``). When this split's best candidate is below
        ``spare_below`` (in the range's lowest stratum), they are scored now, exactly as the
        extension's own call would score them (the same rows, a path warm-started from the
        solution at the smallest C), reusing this call's standardization and pass kernel.
    spare_below : float, optional
        See ``spare``.

    Returns
    -------
    scores : ndarray of shape (n_candidates,)
    edges : dict, only with ``return_edges``
        ``{"low": (coef, intercept), "high": (coef, intercept)}``: the standardized solutions
        at the smallest and largest C (``warm_start`` of a further extension); with the spare
        decade scored, also ``"spare"`` (its scores) and ``"spare_edges"`` (its path's edges).
    """
    Cs = np.asarray([float(p["C"]) for p in candidates])
    order = np.argsort(Cs, kind="stable")
    options = dict(solver_options or {})
    reuse: dict[str, Any] | None = options.pop("reuse", None)
    if spare and reuse is None:
        reuse = {}
    if warm_start is not None:
        options["coef_init"], options["intercept_init"] = warm_start
    estimators = _pipeline.fit_path(X_train, y_train, Cs[order], strategy=strategy,
                                    **options, **({} if reuse is None else {"reuse": reuse}))
    scores = path_scores(estimators, order, X_val, y_val, scoring)
    if not return_edges:
        return scores
    edges: dict[str, Any] = {
        side: (np.asarray(est.standardized_coef_), np.asarray(est.standardized_intercept_))
        for side, est in (("low", estimators[0]), ("high", estimators[-1]))
    }
    sorted_scores = scores[order]
    best = Cs[order][int(np.flatnonzero(sorted_scores == sorted_scores.max())[0])]
    if spare and best < spare_below:
        edges["spare"], edges["spare_edges"] = score_lr_path(
            X_train, y_train, X_val, y_val, spare, scoring=scoring, strategy=strategy,
            solver_options={**(solver_options or {}), "reuse": reuse},
            warm_start=edges["low"], return_edges=True,
        )
    return scores, edges


def summarize_search(
    candidates: Sequence[dict[str, Any]],
    split_scores: np.ndarray,
    scoring: str,
    seconds: float = 0.0,
    c_range: dict[str, Any] | None = None,
) -> SearchResult:
    """Combine per-split scores (n_splits, n_candidates) into a :class:`SearchResult`.

    The best candidate has the largest mean score; ties go to the earlier one (candidates of a
    C search sorted ascending: the smaller C, the simpler model). ``c_range`` is recorded as is.
    """
    split_scores = np.asarray(split_scores, dtype=np.float64)
    means = split_scores.mean(axis=0)
    stds = split_scores.std(axis=0)
    best = int(np.flatnonzero(means == means.max())[0])
    scores = tuple(
        CandidateScore(
            params=dict(params),
            mean_score=float(means[i]),
            std_score=float(stds[i]),
            split_scores=tuple(float(s) for s in split_scores[:, i]),
        )
        for i, params in enumerate(candidates)
    )
    return SearchResult(candidates=scores, best_params=dict(candidates[best]), scoring=scoring,
                        seconds=seconds, c_range=c_range)
