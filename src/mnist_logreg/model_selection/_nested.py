"""Nested cross-validation of the C search, and the final model.

Protocol (the reference study's, done without leakage):

1. Outer stratified K-fold over the training set (K=6 gives validation folds of 10,000 rows on
   MNIST, the size of the test set).
2. In each outer fold, a randomized search over C on the outer training rows only: inner
   stratified K-fold, one warm-started path of the sorted candidates per inner split; best C by
   mean inner score.
3. Refit the whole pipeline at the best C on the outer training rows; predict the outer validation
   rows. The outer scores estimate how well the *whole tuning procedure* generalizes.
4. The final model: the same search on the whole training set, refit, and predictions on the
   untouched test set.

Each search is boundary-aware (:mod:`~mnist_logreg.model_selection._range`): it records whether
its best C lies in the lowest or highest stratum of log C, and with ``expand_range`` it searches
one more decade on that side, on the same inner splits, continuing each split's warm-started path,
until the best is interior or a limit is reached; only that search's inner scores decide.

Every search draws its candidates and inner splits from its own seed, derived from the run's
``random_state`` and the fold number, so a run is reproducible and independent of scheduling, and a
resumed run equals an uninterrupted one. The tasks run on the one nested-CV scheduler
(:mod:`~mnist_logreg.model_selection._engine`), which the comparison shares.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
from sklearn.model_selection import StratifiedKFold

from mnist_logreg.errors import InputError
from mnist_logreg.model_selection._candidates import sample_candidates, validate_c_range
from mnist_logreg.model_selection._engine import (
    TASK_BLAS_THREADS,
    Call,
    SearchPlan,
    TaskDone,
    run_plans,
)
from mnist_logreg.model_selection._execution import SerialRunner, TaskRunner
from mnist_logreg.model_selection._pipeline import validate_strategy
from mnist_logreg.model_selection._range import LOW, RangeSearch
from mnist_logreg.model_selection._search import (
    SearchResult,
    inner_splits,
    refit_and_predict,
    score_path_on_split,
    summarize_search,
    validate_scoring,
)

FINAL = 0
"""Search number of the final model (outer folds are numbered from 1)."""

MAX_FOLDS = 1000
"""Most outer or inner folds accepted (each fold refits the model)."""
MAX_CANDIDATES = 1000
"""Most C candidates per search (every candidate's fitted model is kept while it is scored)."""
MAX_SEED = 2**32 - 1
"""Largest seed: scikit-learn's and NumPy's legacy generators take seeds in [0, 2**32 - 1]."""


def check_int(value: Any, name: str, low: int, high: int) -> None:
    """Raise :class:`InputError` unless ``value`` is an integer in ``[low, high]``.

    Parameters
    ----------
    value : object
        The parameter's value.
    name : str
        The parameter's name, for the message.
    low, high : int
        The accepted range.
    """
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or not (
        low <= value <= high
    ):
        raise InputError(
            f"The {name!r} parameter must be an integer in [{low}, {high}]. Got {value!r} instead."
        )


@dataclass(frozen=True)
class NestedCVConfig:
    """The protocol's settings; defaults are the reference study's."""

    command: ClassVar[str] = "study"
    """The command that runs this protocol (its run folders and messages name it)."""

    outer: int = 6
    inner: int = 5
    n_candidates: int = 10
    c_min: float = 0.01
    c_max: float = 10.0
    sampling: str = "loguniform"
    scoring: str = "accuracy"
    strategy: str = "multinomial"
    random_state: int = 42
    solver_options: dict[str, Any] = field(default_factory=dict)
    expand_range: bool = True
    """Extend the C range by a decade where a search's best C lies in its edge stratum (see
    :mod:`~mnist_logreg.model_selection._range`); False reproduces the reference protocol."""

    def validate(self) -> None:
        """Raise :class:`InputError` for settings that can never work, naming the parameter."""
        check_int(self.outer, "outer", 2, MAX_FOLDS)
        check_int(self.inner, "inner", 2, MAX_FOLDS)
        check_int(self.n_candidates, "n_candidates", 1, MAX_CANDIDATES)
        validate_c_range(self.c_min, self.c_max)
        if self.sampling not in ("loguniform", "uniform"):
            raise InputError(
                f"The 'sampling' parameter must be loguniform or uniform. "
                f"Got {self.sampling!r} instead."
            )
        validate_scoring(self.scoring)
        validate_strategy(self.strategy)
        check_int(self.random_state, "random_state", 0, MAX_SEED)
        if not isinstance(self.solver_options, dict):
            raise InputError("The 'solver_options' parameter must be a mapping.")
        if not isinstance(self.expand_range, bool):
            raise InputError(
                f"The 'expand_range' parameter must be True or False. "
                f"Got {self.expand_range!r} instead."
            )

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (part of the ``config`` block of metrics.json)."""
        return {
            "outer": self.outer,
            "inner": self.inner,
            "candidates": self.n_candidates,
            "c_min": self.c_min,
            "c_max": self.c_max,
            "sampling": self.sampling,
            "scoring": self.scoring,
            "strategy": self.strategy,
            "seed": self.random_state,
            "solver_options": dict(self.solver_options),
            "expand_range": self.expand_range,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> NestedCVConfig:
        """Inverse of :meth:`to_dict`."""
        return cls(
            outer=int(data["outer"]),
            inner=int(data["inner"]),
            n_candidates=int(data["candidates"]),
            c_min=float(data["c_min"]),
            c_max=float(data["c_max"]),
            sampling=str(data["sampling"]),
            scoring=str(data["scoring"]),
            strategy=str(data["strategy"]),
            random_state=int(data["seed"]),
            solver_options=dict(data.get("solver_options") or {}),
            # a configuration saved before the range extension existed ran without it
            expand_range=bool(data.get("expand_range", False)),
        )

    def validate_for(self, y: np.ndarray) -> None:
        """Check that every class has enough training rows for the outer and inner splits."""
        _, counts = np.unique(y, return_counts=True)
        if len(counts) < 2:
            raise InputError("the training set has a single class; nothing to classify.")
        # An inner split sees about (outer - 1) / outer of each class.
        needed = max(self.outer, int(np.ceil(self.inner * self.outer / (self.outer - 1))))
        if counts.min() < needed:
            raise InputError(
                f"the smallest class has {counts.min()} training rows, too few for "
                f"'outer' {self.outer} and 'inner' {self.inner} (needs at least {needed}); "
                "lower the fold counts or raise 'max_train'."
            )

    def search_seeds(self, search: int) -> tuple[int, int]:
        """Seeds (candidates, inner splits) of one search: ``search`` 1..outer, or 0 = final."""
        state = np.random.SeedSequence([self.random_state, search]).generate_state(2)
        return int(state[0]), int(state[1])

    def candidates_for(self, search: int) -> np.ndarray:
        """The sorted C candidates of one search."""
        seed, _ = self.search_seeds(search)
        return sample_candidates(
            self.n_candidates,
            self.c_min,
            self.c_max,
            sampling=self.sampling,  # type: ignore[arg-type]
            random_state=seed,
        )

    def range_search(self, search: int) -> RangeSearch:
        """A fresh boundary-aware search state of one search (its initial candidates)."""
        return RangeSearch(self.candidates_for(search), self.c_min, self.c_max,
                           self.expand_range, self.random_state, search)


@dataclass(frozen=True)
class FoldOutcome:
    """One finished search with its refit: an outer fold (``fold`` >= 1) or the final model (0).

    ``eval_rows`` are the outer validation rows of the training set for an outer fold, and
    ``None`` for the final model (evaluated on the test set).
    """

    fold: int
    search: SearchResult
    model: Any
    eval_rows: np.ndarray | None
    proba: np.ndarray
    classes: np.ndarray
    search_seconds: float
    refit_seconds: float


def outer_splits(
    y: np.ndarray, n_splits: int, random_state: int
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Stratified, shuffled, seeded outer K-fold splits of the training labels."""
    splitter = StratifiedKFold(n_splits=n_splits, shuffle=True, random_state=random_state)
    return list(splitter.split(np.zeros((len(y), 1)), y))


def run_nested_cv(
    X: np.ndarray,
    y: np.ndarray,
    X_test: np.ndarray,
    config: NestedCVConfig,
    *,
    pixel_max: float,
    runner: TaskRunner | None = None,
    folds: Collection[int] | None = None,
    include_final: bool = True,
    on_outcome: Callable[[FoldOutcome], None] | None = None,
    on_task: Callable[[TaskDone], None] | None = None,
) -> list[FoldOutcome]:
    """Run the searches and refits of the selected outer folds and of the final model.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
        Raw training pixels (e.g. uint8); every fit scales and standardizes its own rows.
    y : ndarray of shape (n_samples,)
        Training labels.
    X_test : ndarray of shape (n_test, n_features)
        Raw test pixels, predicted by the final model only.
    config : NestedCVConfig
        The protocol.
    pixel_max : float
        The pixel value that maps to 1.0.
    runner : TaskRunner, optional
        Where tasks run (default: in this process).
    folds : collection of int, optional
        Outer folds (1-based) to run; default all. A resumed run passes the unfinished ones.
    include_final : bool
        Whether to run the final search and refit too.
    on_outcome : callable, optional
        Called with each :class:`FoldOutcome` as soon as it is finished (to save it).
    on_task : callable, optional
        Called with a :class:`TaskDone` after each finished task (progress).

    Returns
    -------
    outcomes : list of FoldOutcome
        Ordered by fold number, the final model (fold 0) last.
    """
    config.validate()
    config.validate_for(y)
    runner = runner or SerialRunner()
    selected = set(range(1, config.outer + 1)) if folds is None else set(folds)
    classes = np.unique(y)
    fold_splits = outer_splits(y, config.outer, config.random_state)

    X_shared = runner.share(X)
    X_test_shared = runner.share(X_test) if include_final else None
    task_options = {
        "strategy": config.strategy,
        "pixel_max": pixel_max,
        "solver_options": dict(config.solver_options),
        "blas_threads": TASK_BLAS_THREADS,
    }

    def plan(number: int, rows: np.ndarray, eval_rows: np.ndarray | None) -> SearchPlan:
        state = config.range_search(number)
        _, split_seed = config.search_seeds(number)
        split_pairs = inner_splits(y[rows], config.inner, split_seed)
        score_options = {"scoring": config.scoring, **task_options}
        if config.expand_range:
            score_options["return_edges"] = True
        splits: list[Call] = [
            (score_path_on_split, (X_shared, y, rows, train, test, state.Cs), score_options)
            for train, test in split_pairs
        ]
        # each split's solutions at the range's low and high ends, to continue its path
        ends: dict[int, dict[str, Any]] = {}

        def extend(table: np.ndarray, states: list[Any]) -> list[Call]:
            for j, edges in enumerate(states):
                if edges is not None:
                    merged = ends.setdefault(j, {})
                    side = state.segments[-1].side
                    merged.update(edges if side == "initial" else {side: edges[side]})
            new = state.extend(table.mean(axis=0))
            if new is None:
                return []
            side = state.segments[-1].side
            # the new decade's path starts from the solution at the nearest searched C
            warm = "low" if side == LOW else "high"
            return [
                (score_path_on_split, (X_shared, y, rows, train, test, new),
                 {**score_options, "warm_start": ends[j][warm]})
                for j, (train, test) in enumerate(split_pairs)
            ]

        def summary(table: np.ndarray, seconds: float = 0.0) -> SearchResult:
            order = state.order()
            Cs = state.Cs[order]
            result = summarize_search(Cs, table[:, order], config.scoring, seconds=seconds)
            return summarize_search(Cs, table[:, order], config.scoring, seconds=seconds,
                                    c_range=state.record(result.best_C))

        def refit(table: np.ndarray) -> Call:
            best_C = summary(table).best_C
            eval_X = X_test_shared if eval_rows is None else X_shared
            return (_refit_task, (X_shared, y, rows, eval_X, eval_rows, best_C), task_options)

        def finish(table: np.ndarray, seconds: float, result: Any) -> FoldOutcome:
            model, proba, refit_seconds = result
            return FoldOutcome(
                fold=number,
                search=summary(table, seconds),
                model=model,
                eval_rows=eval_rows,
                proba=proba,
                classes=classes,
                search_seconds=seconds,
                refit_seconds=refit_seconds,
            )

        return SearchPlan("lr", number, splits, [0.0] * len(splits), 0.0, refit, finish,
                          extend=extend)

    plans = [
        plan(number, train_rows, val_rows)
        for number, (train_rows, val_rows) in enumerate(fold_splits, start=1)
        if number in selected
    ]
    if include_final:
        plans.append(plan(FINAL, np.arange(len(y)), None))
    outcomes = run_plans(plans, runner, on_outcome=on_outcome, on_task=on_task)
    return sorted(outcomes, key=lambda o: (o.fold == FINAL, o.fold))


def _refit_task(
    X: Any,
    y: np.ndarray,
    train_rows: np.ndarray,
    eval_X: Any,
    eval_rows: np.ndarray | None,
    C: float,
    **options: Any,
) -> tuple[Any, np.ndarray, float]:
    """Refit at the chosen C and predict the outer validation rows (or the test set)."""
    from mnist_logreg.model_selection._execution import resolve_shared

    source = resolve_shared(eval_X)
    rows = source if eval_rows is None else np.asarray(source[eval_rows])
    return refit_and_predict(X, y, train_rows, rows, C, **options)


def count_tasks(config: NestedCVConfig, n_folds: int, include_final: bool = True) -> int:
    """Number of tasks (inner paths plus refits) that :func:`run_nested_cv` runs before any
    range extension (each extension adds ``config.inner`` tasks; see ``TaskDone.added``)."""
    n_searches = n_folds + (1 if include_final else 0)
    return n_searches * (config.inner + 1)


__all__ = [
    "FINAL",
    "MAX_CANDIDATES",
    "MAX_FOLDS",
    "MAX_SEED",
    "FoldOutcome",
    "NestedCVConfig",
    "check_int",
    "count_tasks",
    "outer_splits",
    "run_nested_cv",
]
