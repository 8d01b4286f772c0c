"""Several models on the same outer folds, each with its own inner search, and their final fits.

Protocol (:func:`run_model_comparison`):

1. One set of stratified, shuffled, seeded outer K-fold splits of the training set
   (:func:`~mnist_logreg.model_selection.outer_splits`), shared by every model.
2. In each outer fold, for each model: an inner search over the model's space on a seeded
   stratified subsample of the outer training rows of at most ``budget.search_rows`` rows (the same
   subsample for every model with the same budget), scored by inner stratified K-fold accuracy.
   Ties go to the earlier candidate.
3. The model's whole pipeline is refit with the chosen hyperparameters on *all* outer training rows
   and predicts the outer validation rows, which neither its search nor its refit has seen.
4. The final model: the same search on a subsample of the whole training set, a refit on all
   training rows, and predictions on the test set (identical rows for every model).

The tasks (one per inner split, one per refit) run on the one nested-CV scheduler
(:mod:`~mnist_logreg.model_selection._engine`), which the study shares. Results depend only on the
seed, never on the scheduling.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
from sklearn.model_selection import train_test_split
from threadpoolctl import threadpool_limits

from mnist_logreg.errors import InputError
from mnist_logreg.model_selection._compare_models import (
    MODEL_NAMES,
    ModelBudget,
    get_model,
    parse_models,
    predict_scores,
)
from mnist_logreg.model_selection._engine import (
    TASK_BLAS_THREADS,
    Call,
    SearchPlan,
    TaskDone,
    run_plans,
)
from mnist_logreg.model_selection._execution import SerialRunner, TaskRunner, resolve_shared
from mnist_logreg.model_selection._model_size import fitted_nbytes
from mnist_logreg.model_selection._nested import (
    FINAL,
    MAX_FOLDS,
    MAX_SEED,
    check_int,
    outer_splits,
)
from mnist_logreg.model_selection._search import inner_splits

logger = logging.getLogger(__name__)

Params = dict[str, Any]


@dataclass(frozen=True)
class CompareConfig:
    """The comparison protocol: which models, how many outer folds, which budgets, which seed.

    Parameters
    ----------
    models : tuple of str
        Model names among :data:`~mnist_logreg.model_selection.MODEL_NAMES`.
    outer : int
        Outer folds (>= 2). The default 3 keeps the three outer refits of the expensive models
        (SVM fit cost grows like n^1.5) at about 1.1 times the cost of the final fit, and gives
        three estimates of each procedure's accuracy.
    quick : bool
        Use each model's small ``quick_budget`` instead of its ``default_budget``.
    random_state : int
        Seed of every split, subsample and candidate draw.
    budgets : mapping of str to ModelBudget, optional
        Per-model budgets replacing the defaults (tests, resumed runs).
    """

    command: ClassVar[str] = "compare"
    """The command that runs this protocol (its run folders and messages name it)."""

    models: tuple[str, ...] = MODEL_NAMES
    outer: int = 3
    quick: bool = False
    random_state: int = 42
    budgets: Mapping[str, ModelBudget] = field(default_factory=dict)

    def budget(self, name: str) -> ModelBudget:
        """The budget of model ``name`` in this run."""
        if name in self.budgets:
            return self.budgets[name]
        spec = get_model(name)
        return spec.quick_budget if self.quick else spec.default_budget

    def validate(self) -> None:
        """Raise :class:`InputError` for settings that can never work, naming the option."""
        parse_models(list(self.models))
        check_int(self.outer, "outer", 2, MAX_FOLDS)
        check_int(self.random_state, "random_state", 0, MAX_SEED)
        for name in self.models:
            self.budget(name).validate(name)

    def validate_for(self, y: np.ndarray) -> None:
        """Check that the training labels ``y`` have enough rows for every fold and search."""
        _, counts = np.unique(y, return_counts=True)
        if len(counts) < 2:
            raise InputError("the training set has a single class; nothing to classify.")
        if counts.min() < self.outer:
            raise InputError(
                f"the smallest class has {counts.min()} training rows, too few for 'outer' "
                f"{self.outer}; lower 'outer' or raise 'max_train'."
            )
        n_outer_train = len(y) - int(np.ceil(len(y) / self.outer))
        smallest_outer = int(counts.min() * (self.outer - 1) // self.outer)
        for name in self.models:
            budget = self.budget(name)
            rows = (
                n_outer_train
                if budget.search_rows is None
                else min(budget.search_rows, n_outer_train)
            )
            share = rows / max(n_outer_train, 1)
            per_class = int(smallest_outer * share)
            needed_rows = int(
                np.ceil(get_model(name).min_train_rows * budget.inner / (budget.inner - 1))
            )
            if per_class < budget.inner or rows < needed_rows:
                raise InputError(
                    f"the {name} inner search would see {rows} rows ({per_class} of the smallest "
                    f"class), too few for its {budget.inner} inner folds (needs at least "
                    f"{budget.inner} rows per class and {needed_rows} rows); raise 'max_train' "
                    "or lower 'outer'."
                )

    def search_seed(self, search: int) -> int:
        """Seed of one search's subsample and inner splits (``search`` 1..outer, or 0 = final)."""
        return int(np.random.SeedSequence([self.random_state, search]).generate_state(1)[0])

    def candidate_seed(self, name: str, search: int) -> int:
        """Seed of one model's candidate draw in one search."""
        code = MODEL_NAMES.index(name) if name in MODEL_NAMES else len(MODEL_NAMES)
        state = np.random.SeedSequence([self.random_state, search, 1000 + code])
        return int(state.generate_state(1)[0])

    def candidates(self, name: str, search: int) -> list[Params]:
        """The candidates of model ``name`` in search ``search``."""
        return get_model(name).candidates(self.budget(name), self.candidate_seed(name, search))

    def search_rows(self, name: str, search: int, rows: np.ndarray, y: np.ndarray) -> np.ndarray:
        """The rows (a subset of ``rows``, sorted) that model ``name``'s search ``search`` sees."""
        budget = self.budget(name)
        if budget.search_rows is None or budget.search_rows >= len(rows):
            return np.asarray(rows)
        subset, _ = train_test_split(
            np.asarray(rows),
            train_size=budget.search_rows,
            stratify=y[rows],
            random_state=self.search_seed(search) % (2**32 - 1),
        )
        return np.sort(subset)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (part of the ``config`` block of metrics.json)."""
        return {
            "models": list(self.models),
            "outer": self.outer,
            "quick": self.quick,
            "seed": self.random_state,
            "budgets": {name: self.budget(name).to_dict() for name in self.models},
            "scoring": "accuracy",
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> CompareConfig:
        """Inverse of :meth:`to_dict`."""
        budgets = {str(k): ModelBudget.from_dict(v) for k, v in (data.get("budgets") or {}).items()}
        return cls(
            models=tuple(str(m) for m in data["models"]),
            outer=int(data["outer"]),
            quick=bool(data.get("quick", False)),
            random_state=int(data["seed"]),
            budgets=budgets,
        )


@dataclass(frozen=True)
class CompareOutcome:
    """One model's finished search and refit in one outer fold (``fold`` >= 1) or final (0).

    Attributes
    ----------
    model : str
    fold : int
    candidates : list of dict
        ``{"params", "mean_score", "std_score", "split_scores"}`` of each candidate.
    best_params : dict
    eval_rows : ndarray of shape (n_eval,) or None
        Outer validation rows (positions in the training set); ``None`` for the final model,
        evaluated on the test set.
    scores : ndarray of shape (n_eval, n_classes)
        Probabilities, or decision-function scores when ``scores_are_proba`` is False.
    scores_are_proba : bool
    classes : ndarray of shape (n_classes,)
    n_train, n_search : int
        Rows of the refit and of the inner search.
    search_seconds, fit_seconds, predict_seconds : float
        Wall time of the inner search (summed over its tasks), of the refit, and of predicting
        the ``n_eval`` rows.
    model_bytes : int
        Size of the fitted model's arrays (see ``fitted_nbytes``).
    details : dict
        Model-specific facts (support vectors, depth, ...).
    """

    model: str
    fold: int
    candidates: list[dict[str, Any]]
    best_params: Params
    eval_rows: np.ndarray | None
    scores: np.ndarray
    scores_are_proba: bool
    classes: np.ndarray
    n_train: int
    n_search: int
    search_seconds: float
    fit_seconds: float
    predict_seconds: float
    model_bytes: int
    details: dict[str, Any]

    @property
    def predictions(self) -> np.ndarray:
        """Predicted labels: ``classes[argmax(scores)]``."""
        return self.classes[np.argmax(self.scores, axis=1)]


# --- tasks (module-level so that worker processes and Dask can run them) ---------------------


def score_candidates(
    name: str,
    X_train: np.ndarray,
    y_train: np.ndarray,
    X_val: np.ndarray,
    y_val: np.ndarray,
    candidates: Sequence[Params],
    pixel_max: float,
    random_state: int,
) -> np.ndarray:
    """Validation accuracy of each candidate of model ``name`` fitted on ``X_train``.

    Parameters
    ----------
    X_train : ndarray of shape (n_train, n_features)
        Raw pixels of the inner training part.
    y_train : ndarray of shape (n_train,)
    X_val : ndarray of shape (n_val, n_features)
        Raw pixels of the inner held-out part.
    y_val : ndarray of shape (n_val,)
    candidates : sequence of dict

    Returns
    -------
    scores : ndarray of shape (n_candidates,)
    """
    spec = get_model(name)
    return spec.score_split(X_train, y_train, X_val, y_val, candidates, pixel_max, random_state)


def fit_and_predict(
    name: str,
    params: Params,
    X_train: np.ndarray,
    y_train: np.ndarray,
    X_eval: np.ndarray,
    pixel_max: float,
    random_state: int,
) -> dict[str, Any]:
    """Fit model ``name`` at ``params`` on ``X_train`` and score ``X_eval``.

    Returns
    -------
    result : dict
        ``scores`` (ndarray of shape (n_eval, n_classes)), ``classes``, ``fit_seconds``,
        ``predict_seconds``, ``model_bytes``, ``details``. The fitted model itself is not returned
        (an SVM or KNN model is tens of megabytes, and nothing downstream needs it).
    """
    spec = get_model(name)
    model = spec.build(params, pixel_max, random_state, len(X_train))
    start = time.perf_counter()
    model.fit(X_train, y_train)
    fit_seconds = time.perf_counter() - start
    start = time.perf_counter()
    scores = predict_scores(spec, model, X_eval)
    predict_seconds = time.perf_counter() - start
    return {
        "scores": scores,
        "classes": np.asarray(model.classes_),
        "fit_seconds": fit_seconds,
        "predict_seconds": predict_seconds,
        "model_bytes": fitted_nbytes(model),
        "details": spec.details(model),
    }


def _search_task(
    name: str,
    X: Any,
    y: np.ndarray,
    train_rows: np.ndarray,
    val_rows: np.ndarray,
    candidates: Sequence[Params],
    pixel_max: float,
    random_state: int,
    blas_threads: int | None,
) -> tuple[np.ndarray, float]:
    start = time.perf_counter()
    X = resolve_shared(X)
    with threadpool_limits(limits=blas_threads):
        scores = score_candidates(
            name,
            np.asarray(X[train_rows]),
            y[train_rows],
            np.asarray(X[val_rows]),
            y[val_rows],
            candidates,
            pixel_max,
            random_state,
        )
    return scores, time.perf_counter() - start


def _refit_task(
    name: str,
    params: Params,
    X: Any,
    y: np.ndarray,
    train_rows: np.ndarray,
    eval_X: Any,
    eval_rows: np.ndarray | None,
    pixel_max: float,
    random_state: int,
    blas_threads: int | None,
) -> dict[str, Any]:
    X = resolve_shared(X)
    source = resolve_shared(eval_X)
    X_eval = np.asarray(source) if eval_rows is None else np.asarray(source[eval_rows])
    with threadpool_limits(limits=blas_threads):
        return fit_and_predict(
            name, params, np.asarray(X[train_rows]), y[train_rows], X_eval, pixel_max, random_state
        )


# --- scheduling ----------------------------------------------------------------------------------


def plan_cost(
    config: CompareConfig,
    n_train: int,
    n_test: int,
    n_features: int,
    skip: Collection[tuple[str, int]] = (),
) -> float:
    """Estimated single-core seconds of every task :func:`run_model_comparison` will run."""
    total = 0.0
    n_val = n_train // config.outer
    for name in config.models:
        budget, cost = config.budget(name), get_model(name).cost
        for number in [*range(1, config.outer + 1), FINAL]:
            if (name, number) in skip:
                continue
            rows = n_train if number == FINAL else n_train - n_val
            n_search = rows if budget.search_rows is None else min(budget.search_rows, rows)
            cands = config.candidates(name, number)
            inner_val = n_search // budget.inner
            total += budget.inner * cost(n_search - inner_val, inner_val, n_features, cands)
            total += cost(rows, n_test if number == FINAL else n_val, n_features, [cands[0]])
    return total


def run_model_comparison(
    X: np.ndarray,
    y: np.ndarray,
    X_test: np.ndarray,
    config: CompareConfig,
    *,
    pixel_max: float,
    runner: TaskRunner | None = None,
    skip: Collection[tuple[str, int]] = (),
    on_outcome: Callable[[CompareOutcome], None] | None = None,
    on_task: Callable[[TaskDone], None] | None = None,
) -> list[CompareOutcome]:
    """Run every model's searches and refits on the shared outer folds and the final fits.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
        Raw training pixels; every fit preprocesses its own rows.
    y : ndarray of shape (n_samples,)
    X_test : ndarray of shape (n_test, n_features)
        Raw test pixels, predicted by the final models only.
    config : CompareConfig
    pixel_max : float
        The pixel value that maps to 1.0.
    runner : TaskRunner, optional
        Where tasks run (default: in this process).
    skip : collection of (model, fold)
        Searches already finished (a resumed run); fold 0 is the final model.
    on_outcome : callable, optional
        Called with each :class:`CompareOutcome` as soon as it is finished (to checkpoint it).
    on_task : callable, optional
        Called with a :class:`TaskDone` after every task (progress).

    Returns
    -------
    outcomes : list of CompareOutcome
        Ordered by model (in ``config.models`` order), then fold, the final model last.
    """
    config.validate()
    config.validate_for(y)
    runner = runner or SerialRunner()
    skip = set(skip)
    n_features = int(X.shape[1])
    splits = outer_splits(y, config.outer, config.random_state)
    folds: list[tuple[int, np.ndarray, np.ndarray | None]] = [
        (number, train, val) for number, (train, val) in enumerate(splits, start=1)
    ]
    folds.append((FINAL, np.arange(len(y)), None))

    X_shared = runner.share(X)
    X_test_shared = runner.share(X_test)
    classes = np.unique(y)
    shared = (pixel_max, config.random_state, TASK_BLAS_THREADS)

    def plan(name: str, number: int, rows: np.ndarray, eval_rows: np.ndarray | None) -> SearchPlan:
        budget, cost = config.budget(name), get_model(name).cost
        search_rows = config.search_rows(name, number, rows, y)
        inner = inner_splits(y[search_rows], budget.inner, config.search_seed(number))
        n_eval = len(X_test) if eval_rows is None else len(eval_rows)
        candidates = config.candidates(name, number)
        splits: list[Call] = []
        costs: list[float] = []
        for a, b in inner:
            train, val = search_rows[a], search_rows[b]
            splits.append((_search_task, (name, X_shared, y, train, val, candidates, *shared), {}))
            costs.append(cost(len(train), len(val), n_features, candidates))

        def refit(table: np.ndarray) -> Call:
            params = candidates[_best(table)]
            eval_X = X_test_shared if eval_rows is None else X_shared
            return (_refit_task, (name, params, X_shared, y, rows, eval_X, eval_rows, *shared), {})

        def finish(table: np.ndarray, seconds: float, result: Any) -> CompareOutcome:
            return _outcome(name, number, candidates, table, seconds, result, classes,
                            rows=rows, eval_rows=eval_rows, n_search=len(search_rows))

        refit_cost = cost(len(rows), n_eval, n_features, [candidates[0]])
        return SearchPlan(name, number, splits, costs, refit_cost, refit, finish)

    plans = [
        plan(name, number, rows, eval_rows)
        for name in config.models
        for number, rows, eval_rows in folds
        if (name, number) not in skip
    ]
    outcomes = run_plans(plans, runner, on_outcome=on_outcome, on_task=on_task)
    order = {name: i for i, name in enumerate(config.models)}
    return sorted(outcomes, key=lambda o: (order[o.model], o.fold == FINAL, o.fold))


def _best(table: np.ndarray) -> int:
    """The candidate with the best mean score over the splits (ties: the earlier one)."""
    means = table.mean(axis=0)
    return int(np.flatnonzero(means == means.max())[0])


def _outcome(
    name: str,
    number: int,
    params: list[Params],
    table: np.ndarray,
    seconds: float,
    result: dict[str, Any],
    classes: np.ndarray,
    *,
    rows: np.ndarray,
    eval_rows: np.ndarray | None,
    n_search: int,
) -> CompareOutcome:
    candidates = [
        {
            "params": dict(p),
            "mean_score": float(table[:, i].mean()),
            "std_score": float(table[:, i].std()),
            "split_scores": table[:, i].tolist(),
        }
        for i, p in enumerate(params)
    ]
    fitted_classes = np.asarray(result["classes"])
    scores = np.asarray(result["scores"], dtype=float)
    if not np.array_equal(fitted_classes, classes):
        # A class absent from the refit's rows (possible only for tiny data): its column gets
        # probability 0, or a decision score below every other.
        fill = 0.0 if get_model(name).gives_proba else float(scores.min()) - 1.0
        full = np.full((scores.shape[0], classes.size), fill)
        full[:, np.searchsorted(classes, fitted_classes)] = scores
        scores = full
    return CompareOutcome(
        model=name,
        fold=number,
        candidates=candidates,
        best_params=dict(params[_best(table)]),
        eval_rows=eval_rows,
        scores=scores,
        scores_are_proba=get_model(name).gives_proba,
        classes=classes,
        n_train=len(rows),
        n_search=n_search,
        search_seconds=seconds,
        fit_seconds=float(result["fit_seconds"]),
        predict_seconds=float(result["predict_seconds"]),
        model_bytes=int(result["model_bytes"]),
        details=dict(result["details"]),
    )


__all__ = [
    "CompareConfig",
    "CompareOutcome",
    "TaskDone",
    "fit_and_predict",
    "plan_cost",
    "run_model_comparison",
    "score_candidates",
]
