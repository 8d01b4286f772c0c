"""Nested cross-validation of one or several models: the study's and the comparison's protocol.

Protocol (:func:`run_nested_cv`, the same for the study and the comparison):

1. One set of stratified, shuffled, seeded outer K-fold splits of the training set
   (:func:`outer_splits`), shared by every model.
2. In each outer fold, for each model: an inner search on the outer training rows only (or on a
   seeded stratified subsample of at most ``budget.search_rows`` of them, the same for every model
   with the same budget), scored by inner stratified K-fold; the best candidate has the best mean
   inner score (ties: the earlier candidate, the smaller C of a C search).
3. The model's whole pipeline is refit with the chosen hyperparameters on *all* outer training
   rows and predicts the outer validation rows, which neither its search nor its refit has seen.
   The outer scores estimate how well the *whole tuning procedure* generalizes.
4. The final model: the same search on the whole training set, a refit on all training rows, and
   predictions on the untouched test set.

The study is this protocol run with the single model ``lr`` searched on its C path: candidates
drawn from ``[c_min, c_max]`` by ``sampling``, any scorer, both strategies, and a boundary-aware
range (:mod:`~mnist_logreg.model_selection._range`: with ``expand_range``, a search whose best C
lies in an edge stratum searches one more decade on that side, on the same inner splits,
continuing each split's warm-started path). The comparison searches each registry model's space
(:data:`~mnist_logreg.model_selection.MODELS`) within its budget. Every search draws its
candidates, subsample and inner splits from its own seeds, derived from ``random_state``, the
search number (and the model), so a run is reproducible and independent of scheduling, and a
resumed run equals an uninterrupted one. The tasks run on the one nested-CV scheduler
(:mod:`~mnist_logreg.model_selection._engine`).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, ClassVar, Self

import numpy as np
from sklearn.model_selection import train_test_split
from threadpoolctl import threadpool_limits

from mnist_logreg.errors import InputError
from mnist_logreg.model_selection._candidates import sample_candidates, validate_c_range
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
from mnist_logreg.model_selection._pipeline import validate_strategy
from mnist_logreg.model_selection._range import LOW, RangeSearch
from mnist_logreg.model_selection._search import SearchResult, inner_splits, summarize_search
from mnist_logreg.model_selection._search import validate_scoring as _validate_scoring

Params = dict[str, Any]

FINAL = 0
"""Search number of the final model (outer folds are numbered from 1)."""
MAX_FOLDS = 1000
"""Most outer or inner folds accepted (each fold refits the model)."""
MAX_CANDIDATES = 1000
"""Most C candidates per search (every candidate's fitted model is kept while it is scored)."""
MAX_SEED = 2**32 - 1
"""Largest seed: scikit-learn's and NumPy's legacy generators take seeds in [0, 2**32 - 1]."""
STUDY_MODELS: tuple[str, ...] = ("lr",)
"""The study's models: the logistic regression on its C path."""


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
    """The nested cross-validation protocol; defaults are the reference study's.

    One type for both commands: the study (``command`` "study") searches the single model ``lr``
    on its C path, described by ``inner`` to ``expand_range``; the comparison (the subclass
    :class:`CompareConfig`, ``command`` "compare") searches each of ``models`` in its registry
    space within its :class:`ModelBudget` (``budgets``, else the model's ``quick_budget`` with
    ``quick``, else its ``default_budget``).

    Parameters
    ----------
    outer : int
        Outer folds (>= 2).
    inner, n_candidates : int
        The C path's inner folds and candidates per search.
    c_min, c_max, sampling : float, float, str
        The C path's range and how its candidates are drawn (``loguniform``, ``uniform``).
    scoring : str
        The C path's scikit-learn scorer (the comparison scores accuracy).
    strategy : str
        ``multinomial`` or ``ovr``.
    random_state : int
        Seed of every split, subsample and candidate draw.
    solver_options : dict
        The C path's solver options.
    expand_range : bool
        Extend the C range by a decade where a search's best C lies in its edge stratum (see
        :mod:`~mnist_logreg.model_selection._range`); False reproduces the reference protocol.
    models : tuple of str
        Model names among :data:`~mnist_logreg.model_selection.MODEL_NAMES`.
    quick : bool
        Use each model's small ``quick_budget`` instead of its ``default_budget``.
    budgets : mapping of str to ModelBudget
        Per-model budgets replacing the defaults (tests, resumed runs).
    """

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
    models: tuple[str, ...] = STUDY_MODELS
    quick: bool = False
    budgets: Mapping[str, ModelBudget] = field(default_factory=dict)

    @property
    def c_path(self) -> bool:
        """Whether the searches are the study's C path rather than the registry's spaces."""
        return self.command == "study"

    def budget(self, name: str) -> ModelBudget:
        """The budget of model ``name`` in this run (the C path: every row, inner, n_candidates)."""
        if self.c_path:
            return ModelBudget(search_rows=None, inner=self.inner, n_candidates=self.n_candidates)
        if name in self.budgets:
            return self.budgets[name]
        spec = get_model(name)
        return spec.quick_budget if self.quick else spec.default_budget

    def validate(self) -> None:
        """Raise :class:`InputError` for settings that can never work, naming the parameter."""
        parse_models(list(self.models))
        check_int(self.outer, "outer", 2, MAX_FOLDS)
        check_int(self.inner, "inner", 2, MAX_FOLDS)
        check_int(self.n_candidates, "n_candidates", 1, MAX_CANDIDATES)
        validate_c_range(self.c_min, self.c_max)
        if self.sampling not in ("loguniform", "uniform"):
            raise InputError(
                f"The 'sampling' parameter must be loguniform or uniform. "
                f"Got {self.sampling!r} instead."
            )
        _validate_scoring(self.scoring)
        validate_strategy(self.strategy)
        check_int(self.random_state, "random_state", 0, MAX_SEED)
        if not isinstance(self.solver_options, dict):
            raise InputError("The 'solver_options' parameter must be a mapping.")
        if not isinstance(self.expand_range, bool):
            raise InputError(
                f"The 'expand_range' parameter must be True or False. "
                f"Got {self.expand_range!r} instead."
            )
        if self.c_path and tuple(self.models) != STUDY_MODELS:
            raise InputError(f"The study's 'models' must be {STUDY_MODELS}. Got {self.models!r}.")
        for name in self.models:
            self.budget(name).validate(name)

    def validate_for(self, y: np.ndarray) -> None:
        """Check that the training labels ``y`` have enough rows for every fold and search."""
        _, counts = np.unique(y, return_counts=True)
        if len(counts) < 2:
            raise InputError("the training set has a single class; nothing to classify.")
        # A search on all outer training rows sees about (outer - 1) / outer of each class.
        whole = [b.inner for b in map(self.budget, self.models) if b.search_rows is None]
        needed = max([self.outer] + [int(np.ceil(i * self.outer / (self.outer - 1)))
                                     for i in whole])
        if counts.min() < needed:
            inner = f" and 'inner' {max(whole)}" if whole else ""
            raise InputError(
                f"the smallest class has {counts.min()} training rows, too few for 'outer' "
                f"{self.outer}{inner} (needs at least {needed}); lower the fold counts or raise "
                "'max_train'."
            )
        n_outer_train = len(y) - int(np.ceil(len(y) / self.outer))
        smallest_outer = int(counts.min() * (self.outer - 1) // self.outer)
        for name in self.models:
            budget = self.budget(name)
            rows = (n_outer_train if budget.search_rows is None
                    else min(budget.search_rows, n_outer_train))
            per_class = int(smallest_outer * rows / max(n_outer_train, 1))
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

    def _seeds(self, search: int) -> tuple[int, int]:
        """Two seeds of one search (1..outer, or 0 = final): a C path's candidates and inner
        splits, or a registry search's subsample and inner splits (the first)."""
        state = np.random.SeedSequence([self.random_state, search]).generate_state(2)
        return int(state[0]), int(state[1])

    def split_seed(self, search: int) -> int:
        """Seed of one search's inner splits."""
        return self._seeds(search)[1 if self.c_path else 0]

    def candidate_seed(self, name: str, search: int) -> int:
        """Seed of one registry model's candidate draw in one search."""
        code = MODEL_NAMES.index(name) if name in MODEL_NAMES else len(MODEL_NAMES)
        state = np.random.SeedSequence([self.random_state, search, 1000 + code])
        return int(state.generate_state(1)[0])

    def candidates_for(self, search: int) -> np.ndarray:
        """The sorted initial C candidates of one C-path search."""
        return sample_candidates(
            self.n_candidates,
            self.c_min,
            self.c_max,
            sampling=self.sampling,  # type: ignore[arg-type]
            random_state=self._seeds(search)[0],
        )

    def range_search(self, search: int) -> RangeSearch | None:
        """A fresh boundary-aware state of one C-path search (None for a registry search)."""
        if not self.c_path:
            return None
        return RangeSearch(self.candidates_for(search), self.c_min, self.c_max,
                           self.expand_range, self.random_state, search)

    def candidates(self, name: str, search: int) -> list[Params]:
        """The (initial) candidates of model ``name`` in search ``search``."""
        if self.c_path:
            return [{"C": float(C)} for C in self.candidates_for(search)]
        return get_model(name).candidates(self.budget(name), self.candidate_seed(name, search))

    def model_options(self, name: str) -> dict[str, Any]:
        """Options of the model's builder (the C path's strategy and solver options)."""
        if not self.c_path:
            return {}
        return {"strategy": self.strategy, "solver_options": dict(self.solver_options)}

    def search_rows(self, name: str, search: int, rows: np.ndarray, y: np.ndarray) -> np.ndarray:
        """The rows (a subset of ``rows``, sorted) that model ``name``'s search ``search`` sees."""
        budget = self.budget(name)
        if budget.search_rows is None or budget.search_rows >= len(rows):
            return np.asarray(rows)
        subset, _ = train_test_split(
            np.asarray(rows),
            train_size=budget.search_rows,
            stratify=y[rows],
            random_state=self._seeds(search)[0] % (2**32 - 1),
        )
        return np.sort(subset)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (part of the ``config`` block of metrics.json)."""
        if not self.c_path:
            return {"models": list(self.models), "outer": self.outer, "quick": self.quick,
                    "seed": self.random_state,
                    "budgets": {name: self.budget(name).to_dict() for name in self.models},
                    "scoring": self.scoring}
        data = {key: getattr(self, name) for key, name in _STUDY_KEYS.items()}
        return data | {"solver_options": dict(self.solver_options)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Self:
        """Inverse of :meth:`to_dict`."""
        if cls.command != "study":
            budgets = {str(k): ModelBudget.from_dict(v)
                       for k, v in (data.get("budgets") or {}).items()}
            return cls(models=tuple(str(m) for m in data["models"]), outer=int(data["outer"]),
                       quick=bool(data.get("quick", False)), random_state=int(data["seed"]),
                       budgets=budgets)
        # each field as the type of its default; a configuration saved before the range
        # extension existed ran without it
        values = {name: type(getattr(cls, name))(data[key]) for key, name in _STUDY_KEYS.items()
                  if key not in ("solver_options", "expand_range")}
        return cls(**values, solver_options=dict(data.get("solver_options") or {}),
                   expand_range=bool(data.get("expand_range", False)))


_STUDY_KEYS = {"outer": "outer", "inner": "inner", "candidates": "n_candidates", "c_min": "c_min",
               "c_max": "c_max", "sampling": "sampling", "scoring": "scoring",
               "strategy": "strategy", "seed": "random_state", "solver_options": "solver_options",
               "expand_range": "expand_range"}
"""The study's ``config`` keys (metrics.json, in this order) and their fields."""


@dataclass(frozen=True)
class CompareConfig(NestedCVConfig):
    """The comparison's protocol: :class:`NestedCVConfig` over registry models and budgets.

    The default 3 outer folds keep the three outer refits of the expensive models (SVM fit cost
    grows like n^1.5) at about 1.1 times the cost of the final fit, and give three estimates of
    each procedure's accuracy.
    """

    command: ClassVar[str] = "compare"
    outer: int = 3
    models: tuple[str, ...] = MODEL_NAMES


@dataclass(frozen=True)
class SearchOutcome:
    """One model's finished search and refit in one outer fold (``fold`` >= 1) or final (0).

    Attributes
    ----------
    model : str
    fold : int
    search : SearchResult
        Every candidate's inner scores, the chosen ``best_params``, the C range (a C path).
    eval_rows : ndarray of shape (n_eval,) or None
        Outer validation rows (positions in the training set); ``None`` for the final model,
        evaluated on the test set.
    scores : ndarray of shape (n_eval, n_classes)
        Probabilities, or decision-function scores when ``scores_are_proba`` is False.
    scores_are_proba : bool
    classes : ndarray of shape (n_classes,)
    n_train, n_search : int
        Rows of the refit and of the inner search.
    fit_seconds, predict_seconds : float
        Wall time of the refit and of predicting the ``n_eval`` rows.
    model_bytes : int
        Size of the fitted model's arrays (see ``fitted_nbytes``).
    details : dict
        Model-specific facts (support vectors, depth, ...).
    fitted : Pipeline or None
        The fitted model in its model-file form, kept by the study (C path) only.
    """

    model: str
    fold: int
    search: SearchResult
    eval_rows: np.ndarray | None
    scores: np.ndarray
    scores_are_proba: bool
    classes: np.ndarray
    n_train: int
    n_search: int
    fit_seconds: float
    predict_seconds: float
    model_bytes: int
    details: dict[str, Any]
    fitted: Any = None

    @property
    def search_seconds(self) -> float:
        """Wall time of the inner search, summed over its tasks."""
        return self.search.seconds

    @property
    def best_params(self) -> Params:
        """The chosen hyperparameters."""
        return self.search.best_params

    @property
    def proba(self) -> np.ndarray:
        """The probabilities (``scores`` of a model that gives them)."""
        return self.scores

    @property
    def predictions(self) -> np.ndarray:
        """Predicted labels: ``classes[argmax(scores)]``."""
        return self.classes[np.argmax(self.scores, axis=1)]


outer_splits = inner_splits
"""Stratified, shuffled, seeded outer K-fold splits of the training labels (the inner splits'
function: ``outer_splits(y, n_splits, random_state)``)."""


# --- tasks (module-level so that worker processes and Dask can run them) ---------------------


def fit_and_predict(
    name: str,
    params: Params,
    X_train: np.ndarray,
    y_train: np.ndarray,
    X_eval: np.ndarray,
    pixel_max: float,
    random_state: int,
    keep_model: bool = False,
    **options: Any,
) -> dict[str, Any]:
    """Fit model ``name`` at ``params`` on ``X_train`` and score ``X_eval``.

    Returns
    -------
    result : dict
        ``scores`` (ndarray of shape (n_eval, n_classes)), ``classes``, ``fit_seconds``,
        ``predict_seconds``, ``model_bytes``, ``details``, and with ``keep_model`` the fitted
        ``model`` in its model-file form (else it is dropped: an SVM or KNN model is tens of
        megabytes, and nothing downstream needs it).
    """
    spec = get_model(name)
    start = time.perf_counter()
    model = spec.build(params, pixel_max, random_state, len(X_train), **options)
    model.fit(X_train, y_train)
    facts = {"model_bytes": fitted_nbytes(model), "details": spec.details(model)}
    if keep_model and spec.export is not None:
        model = spec.export(model, pixel_max)
    fit_seconds = time.perf_counter() - start
    start = time.perf_counter()
    scores = predict_scores(spec, model, X_eval)
    return {"scores": scores, "classes": np.asarray(model.classes_), "fit_seconds": fit_seconds,
            "predict_seconds": time.perf_counter() - start, **facts,
            **({"model": model} if keep_model else {})}


def _search_task(
    name: str, X: Any, y: np.ndarray, train_rows: np.ndarray, val_rows: np.ndarray,
    candidates: list[Params], pixel_max: float, random_state: int, blas_threads: int | None,
    **options: Any,
) -> tuple[Any, ...]:
    start = time.perf_counter()
    X = resolve_shared(X)
    with threadpool_limits(limits=blas_threads):
        out = get_model(name).score_split(
            np.asarray(X[train_rows]), y[train_rows], np.asarray(X[val_rows]), y[val_rows],
            candidates, pixel_max, random_state, **options,
        )
    if options.get("return_edges"):
        return out[0], time.perf_counter() - start, out[1]
    return out, time.perf_counter() - start


def _refit_task(
    name: str, params: Params, X: Any, y: np.ndarray, train_rows: np.ndarray, eval_X: Any,
    eval_rows: np.ndarray | None, pixel_max: float, random_state: int, blas_threads: int | None,
    **options: Any,
) -> dict[str, Any]:
    X = resolve_shared(X)
    source = resolve_shared(eval_X)
    X_eval = np.asarray(source) if eval_rows is None else np.asarray(source[eval_rows])
    with threadpool_limits(limits=blas_threads):
        return fit_and_predict(name, params, np.asarray(X[train_rows]), y[train_rows], X_eval,
                               pixel_max, random_state, **options)


# --- planning ------------------------------------------------------------------------------------


def _searches(y: np.ndarray, config: NestedCVConfig) -> list[tuple[int, np.ndarray, Any]]:
    """``(number, training rows, evaluation rows)`` of every outer fold, then the final model."""
    splits = outer_splits(y, config.outer, config.random_state)
    return [*((k, train, val) for k, (train, val) in enumerate(splits, start=1)),
            (FINAL, np.arange(len(y)), None)]


def plan_cost(
    config: NestedCVConfig,
    n_train: int,
    n_test: int,
    n_features: int,
    skip: Collection[tuple[str, int]] = (),
) -> float:
    """Estimated single-core seconds of every task :func:`run_nested_cv` will run (before any
    range extension)."""
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


def count_tasks(config: NestedCVConfig, n_folds: int, include_final: bool = True) -> int:
    """Tasks (inner splits plus refits) of ``n_folds`` outer folds (and the final model) of every
    model, before any range extension (each adds ``inner`` tasks; see ``TaskDone.added``)."""
    n_searches = n_folds + (1 if include_final else 0)
    return sum(n_searches * (config.budget(name).inner + 1) for name in config.models)


def run_nested_cv(
    X: np.ndarray,
    y: np.ndarray,
    X_test: np.ndarray,
    config: NestedCVConfig,
    *,
    pixel_max: float,
    runner: TaskRunner | None = None,
    skip: Collection[tuple[str, int]] = (),
    on_outcome: Callable[[SearchOutcome], None] | None = None,
    on_task: Callable[[TaskDone], None] | None = None,
) -> list[SearchOutcome]:
    """Run every model's searches and refits on the shared outer folds, and the final fits.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
        Raw training pixels (e.g. uint8); every fit preprocesses its own rows.
    y : ndarray of shape (n_samples,)
        Training labels.
    X_test : ndarray of shape (n_test, n_features)
        Raw test pixels, predicted by the final models only.
    config : NestedCVConfig
        The protocol (the study's or a :class:`CompareConfig`).
    pixel_max : float
        The pixel value that maps to 1.0.
    runner : TaskRunner, optional
        Where tasks run (default: in this process).
    skip : collection of (model, fold)
        Searches already finished (a resumed run); fold 0 is the final model.
    on_outcome : callable, optional
        Called with each :class:`SearchOutcome` as soon as it is finished (to checkpoint it).
    on_task : callable, optional
        Called with a :class:`TaskDone` after every task (progress).

    Returns
    -------
    outcomes : list of SearchOutcome
        Ordered by model (in ``config.models`` order), then fold, the final model last.
    """
    config.validate()
    config.validate_for(y)
    runner = runner or SerialRunner()
    skip = set(skip)
    n_features = int(X.shape[1])
    X_shared = runner.share(X)
    X_test_shared = runner.share(X_test)
    classes = np.unique(y)
    shared = (pixel_max, config.random_state, TASK_BLAS_THREADS)

    def plan(name: str, number: int, rows: np.ndarray, eval_rows: np.ndarray | None) -> SearchPlan:
        spec, budget = get_model(name), config.budget(name)
        search_rows = config.search_rows(name, number, rows, y)
        inner = [(search_rows[a], search_rows[b])
                 for a, b in inner_splits(y[search_rows], budget.inner, config.split_seed(number))]
        n_eval = len(X_test) if eval_rows is None else len(eval_rows)
        state = config.range_search(number)
        params = config.candidates(name, number)
        options: dict[str, Any] = {}
        if state is not None:  # the C path: its scorer, strategy and solver; its range's edges
            options = {"scoring": config.scoring, **config.model_options(name),
                       "return_edges": config.expand_range}

        # With range expansion, a split whose own best C lies in the range's lowest stratum
        # scores the first decade below it at once, in the same task (``spare``): the same
        # numbers as the extension round's task would give, without that task's copies of the
        # rows, statistics, compressed rows and round trip. Used only if the search extends
        # downwards (the same candidates, drawn by the same seed as the extension draws them).
        below = None if state is None else state.first_low_decade()
        spare = [] if below is None else [{"C": float(C)} for C in below]
        first_round: dict[str, Any] = {}
        if spare:
            assert state is not None
            lowest = state.segments[0]
            first_round = {"spare": spare,
                           "spare_below": lowest.c_min * 10 ** lowest.stratum_decades}

        def call(j: int, candidates: list[Params], warm: Any = None) -> Call:
            """Split ``j``'s task: the first round's (``warm`` None) or an extension's."""
            train, val = inner[j]
            extra = first_round if warm is None else {"warm_start": warm}
            return (_search_task, (name, X_shared, y, train, val, list(candidates), *shared),
                    {**options, **extra})

        # each split's solutions at the range's low and high ends, to continue its path
        ends: dict[int, dict[str, Any]] = {}

        def extend(table: np.ndarray, states: list[Any]) -> list[Call | np.ndarray]:
            assert state is not None
            side = state.segments[-1].side
            for j, edges in enumerate(states):
                if edges is not None:
                    ends.setdefault(j, {}).update({k: edges[k] for k in ("low", "high")}
                                                  if side == "initial" else {side: edges[side]})
            new = state.extend(table.mean(axis=0))
            if new is None:
                return []
            added = [{"C": float(C)} for C in new]
            params.extend(added)
            # the new decade's path starts from the solution at the nearest searched C
            warm = "low" if state.segments[-1].side == LOW else "high"
            first_below = len(state.segments) == 2 and warm == "low" and spare
            if first_below:
                assert [p["C"] for p in added] == [p["C"] for p in spare]
            out: list[Call | np.ndarray] = []
            for j, edges in enumerate(states):
                if first_below and edges is not None and "spare" in edges:
                    ends[j]["low"] = edges["spare_edges"]["low"]
                    out.append(np.asarray(edges["spare"], dtype=float))
                else:
                    out.append(call(j, added, ends[j][warm]))
            return out

        def summary(table: np.ndarray, seconds: float = 0.0) -> SearchResult:
            if state is None:
                return summarize_search(params, table, config.scoring, seconds)
            order = state.order()
            result = summarize_search([params[i] for i in order], table[:, order],
                                      config.scoring, seconds)
            return replace(result, c_range=state.record(result.best_C))

        def refit(table: np.ndarray) -> Call:
            eval_X = X_test_shared if eval_rows is None else X_shared
            return (_refit_task, (name, summary(table).best_params, X_shared, y, rows, eval_X,
                                  eval_rows, *shared),
                    {"keep_model": state is not None, **config.model_options(name)})

        def finish(table: np.ndarray, seconds: float, result: dict[str, Any]) -> SearchOutcome:
            return SearchOutcome(
                model=name, fold=number, search=summary(table, seconds), eval_rows=eval_rows,
                scores=_all_classes(result, classes, spec.gives_proba),
                scores_are_proba=spec.gives_proba, classes=classes, n_train=len(rows),
                n_search=len(search_rows), fit_seconds=float(result["fit_seconds"]),
                predict_seconds=float(result["predict_seconds"]),
                model_bytes=int(result["model_bytes"]), details=dict(result["details"]),
                fitted=result.get("model"),
            )

        costs = [spec.cost(len(train), len(val), n_features, params) for train, val in inner]
        refit_cost = spec.cost(len(rows), n_eval, n_features, [params[0]])
        return SearchPlan(name, number, [call(j, params) for j in range(len(inner))], costs,
                          refit_cost, refit, finish, extend=None if state is None else extend)

    plans = [
        plan(name, number, rows, eval_rows)
        for name in config.models
        for number, rows, eval_rows in _searches(y, config)
        if (name, number) not in skip
    ]
    outcomes = run_plans(plans, runner, on_outcome=on_outcome, on_task=on_task)
    order = {name: i for i, name in enumerate(config.models)}
    return sorted(outcomes, key=lambda o: (order[o.model], o.fold == FINAL, o.fold))


def _all_classes(result: dict[str, Any], classes: np.ndarray, proba: bool) -> np.ndarray:
    """The refit's scores with one column per class of the training labels.

    A class absent from the refit's rows (possible only for tiny data) gets probability 0, or a
    decision score below every other.
    """
    fitted = np.asarray(result["classes"])
    scores = np.asarray(result["scores"], dtype=float)
    if np.array_equal(fitted, classes):
        return scores
    full = np.full((scores.shape[0], classes.size), 0.0 if proba else float(scores.min()) - 1.0)
    full[:, np.searchsorted(classes, fitted)] = scores
    return full


__all__ = [
    "FINAL",
    "MAX_CANDIDATES",
    "MAX_FOLDS",
    "MAX_SEED",
    "STUDY_MODELS",
    "CompareConfig",
    "NestedCVConfig",
    "SearchOutcome",
    "check_int",
    "count_tasks",
    "fit_and_predict",
    "outer_splits",
    "plan_cost",
    "run_nested_cv",
]
