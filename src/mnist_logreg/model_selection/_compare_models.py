"""The models of the comparison: pipelines, search spaces, budgets, fast inner-split scoring.

Every model is a scikit-learn Pipeline that starts from raw pixels, so every fit (inner split,
outer refit, final model) learns its own preprocessing from its own training rows:

==========  ==============================================================================
``lr``      LogisticRegression(standardize=True): StandardScaler -> LR folded (ours; C)
``svm``     PixelScaler -> SVC (kernel rbf or poly of degree 3, C, gamma="scale")
``knn``     PixelScaler -> KNeighborsClassifier (n_neighbors, weights; brute-force euclidean)
``tree``    PixelScaler -> DecisionTreeClassifier (max_depth)
``lr-rff``  PixelScaler -> Nystroem (RBF kernel: gamma, n_components) -> StandardScaler
            -> LogisticRegression (ours; C)
==========  ==============================================================================

Standardization "where it matters": the linear models get a StandardScaler (their L2 penalty and
solver conditioning depend on feature scales). The distance-based models (SVM with an RBF or
polynomial kernel, KNN, the RBF kernel of lr-rff) see pixels scaled to [0, 1] and no
standardization: dividing MNIST's nearly constant border pixels by their tiny standard deviations
turns a rare stray stroke into a huge coordinate that dominates every distance. Trees are
invariant to monotone feature scaling.

Each model has a search space and a :class:`ModelBudget`: how many rows of the outer training set
its inner search sees (a seeded stratified subsample for the expensive models), how many inner
folds, how many candidates. Scores of an inner split are computed by a model-specific function
that shares work between candidates where the maths allows it (one neighbour query for every k of
KNN, one warm-started regularization path over C for the logistic regressions, one kernel map per
gamma for lr-rff); each gives the same accuracies as fitting each candidate's pipeline separately.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.kernel_approximation import Nystroem
from sklearn.neighbors import KNeighborsClassifier, NearestNeighbors
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC
from sklearn.tree import DecisionTreeClassifier

from mnist_logreg.errors import InputError
from mnist_logreg.linear_model import LogisticRegression
from mnist_logreg.model_selection import _pipeline
from mnist_logreg.model_selection._candidates import sample_candidates
from mnist_logreg.preprocessing import PixelScaler

Params = dict[str, Any]

MODEL_NAMES: tuple[str, ...] = ("lr", "svm", "knn", "tree", "lr-rff")
"""Every model of the comparison, in display order."""

KNN_NEIGHBORS: tuple[int, ...] = (1, 3, 5, 7, 9, 11)
KNN_WEIGHTS: tuple[str, ...] = ("uniform", "distance")
TREE_DEPTHS: tuple[int | None, ...] = (5, 8, 10, 12, 14, 16, 20, None)
LR_C_RANGE = (1e-4, 1.0)
SVM_C_RANGE = (1.0, 100.0)
SVM_KERNELS: tuple[str, ...] = ("rbf", "poly")
RFF_GAMMA_RANGE = (0.005, 0.1)
RFF_C_RANGE = (1e-3, 3.0)
SVM_CACHE_MB = 1000
"""libsvm's kernel cache per fit (MB): large enough to hold most of the kernel columns of the
support vectors of a 60,000-row MNIST fit's binary sub-problems."""


@dataclass(frozen=True)
class ModelBudget:
    """How much work a model's inner search may do.

    Parameters
    ----------
    search_rows : int or None
        Size of the seeded stratified subsample of the outer training rows that the inner search
        sees; ``None`` uses all of them. Refits always use all outer training rows (and the final
        model all training rows).
    inner : int
        Inner cross-validation folds (>= 2).
    n_candidates : int
        Candidates drawn from a random search space (SVM, lr, lr-rff); grids (KNN neighbours and
        weights, tree depths) are always searched whole.
    n_components : tuple of int
        lr-rff only: the kernel map sizes searched (more components are never less accurate, so the
        budget, not the search, decides how large the model may be).
    """

    search_rows: int | None
    inner: int = 3
    n_candidates: int = 6
    n_components: tuple[int, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        data = asdict(self)
        data["n_components"] = list(self.n_components)
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ModelBudget:
        """Inverse of :meth:`to_dict`."""
        rows = data.get("search_rows")
        return cls(
            search_rows=None if rows is None else int(rows),
            inner=int(data["inner"]),
            n_candidates=int(data["n_candidates"]),
            n_components=tuple(int(n) for n in data.get("n_components") or ()),
        )

    def validate(self, name: str) -> None:
        """Raise :class:`InputError` for a budget that can never work."""
        if self.inner < 2:
            raise InputError(f"the {name} budget needs >= 2 inner folds. Got {self.inner} instead.")
        if self.n_candidates < 1:
            raise InputError(
                f"the {name} budget needs >= 1 candidate. Got {self.n_candidates} instead."
            )
        if self.search_rows is not None and self.search_rows < 2 * self.inner:
            raise InputError(
                f"the {name} budget's search rows ({self.search_rows}) are fewer than "
                f"2 x its inner folds ({self.inner})."
            )


@dataclass(frozen=True)
class ModelSpec:
    """One model of the comparison.

    Attributes
    ----------
    name : str
        Command-line name (``svm``).
    label : str
        Display name.
    pipeline : str
        The pipeline's steps, for the report.
    space : str
        The search space, for the report.
    gives_proba : bool
        Whether the model predicts probabilities (else its scores are a decision function).
    default_budget, quick_budget : ModelBudget
        Budgets of the default run and of ``--quick``.
    build : callable
        ``build(params, pixel_max, random_state, n_rows=None) -> Pipeline`` (unfitted). ``n_rows``
        caps sizes that cannot exceed the training rows (Nystroem's components).
    candidates : callable
        ``candidates(budget, seed) -> list of params dicts``.
    score_split : callable
        ``score_split(X_train, y_train, X_val, y_val, candidates, pixel_max, random_state)`` ->
        ndarray of shape (n_candidates,): the validation accuracy of each candidate, fitted on the
        training part only (raw pixels in, as for :attr:`build`).
    min_train_rows : int
        Fewest training rows an inner split needs (KNN needs its largest ``n_neighbors``).
    """

    name: str
    label: str
    pipeline: str
    space: str
    gives_proba: bool
    default_budget: ModelBudget
    quick_budget: ModelBudget
    build: Callable[..., Pipeline]
    candidates: Callable[[ModelBudget, int], list[Params]]
    score_split: Callable[..., np.ndarray]
    min_train_rows: int = 2
    notes: str = field(default="")


# --- pipelines -----------------------------------------------------------------------------------


def _scale(pixel_max: float) -> tuple[str, PixelScaler]:
    return ("scale", PixelScaler(pixel_max=pixel_max))


def _build_lr(
    params: Params, pixel_max: float, random_state: int, n_rows: int | None = None
) -> Pipeline:
    # StandardScaler -> LogisticRegression folded into one fit on raw pixels (no float copy)
    return Pipeline([("classifier", _pipeline.build_classifier(float(params["C"]),
                                                               standardize=True))])


def _build_svm(
    params: Params, pixel_max: float, random_state: int, n_rows: int | None = None
) -> Pipeline:
    # break_ties=True: predict() is the argmax of the one-vs-rest decision function, the same
    # rule as every other model (argmax of its scores), so the evaluated labels are predict()'s.
    svc = SVC(
        kernel=str(params["kernel"]),
        C=float(params["C"]),
        gamma="scale",
        degree=3,
        cache_size=SVM_CACHE_MB,
        decision_function_shape="ovr",
        break_ties=True,
    )
    return Pipeline([_scale(pixel_max), ("classifier", svc)])


def _build_knn(
    params: Params, pixel_max: float, random_state: int, n_rows: int | None = None
) -> Pipeline:
    knn = KNeighborsClassifier(
        n_neighbors=int(params["n_neighbors"]), weights=str(params["weights"]), algorithm="brute"
    )
    return Pipeline([_scale(pixel_max), ("classifier", knn)])


def _build_tree(
    params: Params, pixel_max: float, random_state: int, n_rows: int | None = None
) -> Pipeline:
    depth = params["max_depth"]
    tree = DecisionTreeClassifier(
        max_depth=None if depth is None else int(depth), random_state=random_state
    )
    return Pipeline([_scale(pixel_max), ("classifier", tree)])


def _kernel_map(
    gamma: float, n_components: int, random_state: int, n_rows: int | None = None
) -> Nystroem:
    """lr-rff's RBF kernel map, the same in its pipeline and in its inner-split scorer.

    Parameters
    ----------
    gamma : float
        The RBF kernel's ``gamma``.
    n_components : int
        Components asked for.
    random_state : int
        Seed of the choice of components.
    n_rows : int or None, default=None
        Training rows of the fit: the components are capped at this number.

    Returns
    -------
    Nystroem
        Unfitted.
    """
    if n_rows is not None:
        n_components = min(n_components, int(n_rows))
    return Nystroem(kernel="rbf", gamma=gamma, n_components=n_components, random_state=random_state)


def _build_rff(
    params: Params, pixel_max: float, random_state: int, n_rows: int | None = None
) -> Pipeline:
    features = _kernel_map(
        float(params["gamma"]), int(params["n_components"]), random_state, n_rows=n_rows
    )
    return Pipeline(
        [
            _scale(pixel_max),
            ("features", features),
            ("standardize", StandardScaler()),
            ("classifier", LogisticRegression(C=float(params["C"]))),
        ]
    )


# --- search spaces -------------------------------------------------------------------------------


def _seeds(seed: int, n: int) -> list[int]:
    return [int(s) for s in np.random.SeedSequence(seed).generate_state(n)]


def _candidates_lr(budget: ModelBudget, seed: int) -> list[Params]:
    Cs = sample_candidates(budget.n_candidates, *LR_C_RANGE, random_state=seed)
    return [{"C": float(C)} for C in Cs]


def _candidates_svm(budget: ModelBudget, seed: int) -> list[Params]:
    # Half the candidates per kernel (rbf gets the odd one), C log-uniform within each.
    out: list[Params] = []
    n_rbf = math.ceil(budget.n_candidates / 2)
    counts = {"rbf": n_rbf, "poly": budget.n_candidates - n_rbf}
    for kernel, kernel_seed in zip(SVM_KERNELS, _seeds(seed, len(SVM_KERNELS)), strict=True):
        if counts[kernel]:
            Cs = sample_candidates(counts[kernel], *SVM_C_RANGE, random_state=kernel_seed)
            out += [{"kernel": kernel, "C": float(C)} for C in Cs]
    return out


def _candidates_knn(budget: ModelBudget, seed: int) -> list[Params]:
    return [{"n_neighbors": k, "weights": w} for w in KNN_WEIGHTS for k in KNN_NEIGHBORS]


def _candidates_tree(budget: ModelBudget, seed: int) -> list[Params]:
    return [{"max_depth": d} for d in TREE_DEPTHS]


def _candidates_rff(budget: ModelBudget, seed: int) -> list[Params]:
    # A grid of n_gamma gammas x n_C values of C (about sqrt(n_candidates) each), so each gamma's
    # kernel map is computed once and its Cs form one warm-started path.
    n_gamma = max(1, round(math.sqrt(budget.n_candidates)))
    n_C = max(1, math.ceil(budget.n_candidates / n_gamma))
    gamma_seed, c_seed = _seeds(seed, 2)
    gammas = sample_candidates(n_gamma, *RFF_GAMMA_RANGE, random_state=gamma_seed)
    Cs = sample_candidates(n_C, *RFF_C_RANGE, random_state=c_seed)
    sizes = budget.n_components or (1000,)
    return [
        {"n_components": int(d), "gamma": float(g), "C": float(C)}
        for d in sizes
        for g in gammas
        for C in Cs
    ]


# --- scoring the candidates of one inner split ------------------------------------------------


def _accuracy(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    return float(np.mean(np.asarray(y_true) == np.asarray(y_pred)))


def _score_each(build: Callable[..., Pipeline]) -> Callable[..., np.ndarray]:
    """Scorer that fits every candidate's pipeline on its own (SVM, tree)."""

    def score(
        X_train: np.ndarray,
        y_train: np.ndarray,
        X_val: np.ndarray,
        y_val: np.ndarray,
        candidates: Sequence[Params],
        pixel_max: float,
        random_state: int,
    ) -> np.ndarray:
        scores = []
        for params in candidates:
            model = build(params, pixel_max, random_state, len(X_train)).fit(X_train, y_train)
            scores.append(_accuracy(y_val, model.predict(X_val)))
        return np.array(scores)

    return score


def _score_lr(
    X_train: np.ndarray,
    y_train: np.ndarray,
    X_val: np.ndarray,
    y_val: np.ndarray,
    candidates: Sequence[Params],
    pixel_max: float,
    random_state: int,
) -> np.ndarray:
    """All Cs as one warm-started path on the standardized pixels (standardization folded)."""
    Cs_arr = np.asarray([p["C"] for p in candidates], dtype=float)
    order = np.argsort(Cs_arr, kind="stable")
    estimators = _pipeline.fit_folded_path(X_train, y_train, Cs_arr[order])
    scores = np.empty(Cs_arr.size)
    for position, estimator in zip(order, estimators, strict=True):
        scores[position] = _accuracy(y_val, estimator.predict(X_val))
    return scores


def _score_c_path(
    Z_train: np.ndarray,
    y_train: np.ndarray,
    Z_val: np.ndarray,
    y_val: np.ndarray,
    Cs: Sequence[float],
) -> np.ndarray:
    """Accuracy of our LogisticRegression at each C (any order), fitted as one ascending path."""
    Cs_arr = np.asarray(Cs, dtype=float)
    order = np.argsort(Cs_arr, kind="stable")
    estimators = _pipeline.fit_classifier_path(Z_train, y_train, Cs_arr[order])
    scores = np.empty(Cs_arr.size)
    for position, estimator in zip(order, estimators, strict=True):
        scores[position] = _accuracy(y_val, estimator.predict(Z_val))
    return scores


def _score_knn(
    X_train: np.ndarray,
    y_train: np.ndarray,
    X_val: np.ndarray,
    y_val: np.ndarray,
    candidates: Sequence[Params],
    pixel_max: float,
    random_state: int,
) -> np.ndarray:
    """One neighbour query with the largest k; every (k, weights) votes from its prefix.

    Votes follow KNeighborsClassifier: weight 1 per neighbour (``uniform``) or ``1 / distance``
    (``distance``; where a query has neighbours at distance 0, those get weight 1 and the others
    0); the prediction is the class with the largest total weight (ties: the smallest label).
    """
    scaler = PixelScaler(pixel_max=pixel_max).fit(X_train)
    A, B = scaler.transform(X_train), scaler.transform(X_val)
    k_max = max(int(p["n_neighbors"]) for p in candidates)
    neighbours = NearestNeighbors(n_neighbors=min(k_max, len(A)), algorithm="brute").fit(A)
    distances, indices = neighbours.kneighbors(B)
    classes, y_index = np.unique(y_train, return_inverse=True)
    labels = y_index[indices]  # (n_val, k_max)
    rows = np.arange(len(B))
    scores = []
    for params in candidates:
        k = min(int(params["n_neighbors"]), labels.shape[1])
        if params["weights"] == "distance":
            d = distances[:, :k]
            exact = d == 0
            with np.errstate(divide="ignore"):
                weights = np.where(exact.any(axis=1, keepdims=True), exact.astype(float), 1.0 / d)
        else:
            weights = np.ones((len(B), k))
        votes = np.zeros((len(B), classes.size))
        for j in range(k):
            votes[rows, labels[:, j]] += weights[:, j]
        scores.append(_accuracy(y_val, classes[votes.argmax(axis=1)]))
    return np.array(scores)


def _score_rff(
    X_train: np.ndarray,
    y_train: np.ndarray,
    X_val: np.ndarray,
    y_val: np.ndarray,
    candidates: Sequence[Params],
    pixel_max: float,
    random_state: int,
) -> np.ndarray:
    """One Nystroem map per (n_components, gamma); its Cs as one warm-started path."""
    scaler = PixelScaler(pixel_max=pixel_max).fit(X_train)
    A, B = scaler.transform(X_train), scaler.transform(X_val)
    groups: dict[tuple[int, float], list[int]] = {}
    for i, params in enumerate(candidates):
        groups.setdefault((int(params["n_components"]), float(params["gamma"])), []).append(i)
    scores = np.empty(len(candidates))
    for (n_components, gamma), members in groups.items():
        features = _kernel_map(gamma, n_components, random_state, n_rows=len(A)).fit(A)
        standardize = StandardScaler()
        Z_train = standardize.fit_transform(features.transform(A))
        Z_val = standardize.transform(features.transform(B))
        scores[members] = _score_c_path(
            Z_train, y_train, Z_val, y_val, [candidates[i]["C"] for i in members]
        )
    return scores


# --- the registry ------------------------------------------------------------------------------

MODELS: dict[str, ModelSpec] = {
    "lr": ModelSpec(
        name="lr",
        label="Logistic regression",
        pipeline="PixelScaler -> StandardScaler -> LogisticRegression (ours, multinomial)",
        space=f"C log-uniform on [{LR_C_RANGE[0]:g}, {LR_C_RANGE[1]:g}]",
        gives_proba=True,
        default_budget=ModelBudget(search_rows=20_000, inner=3, n_candidates=6),
        quick_budget=ModelBudget(search_rows=2_000, inner=2, n_candidates=4),
        build=_build_lr,
        candidates=_candidates_lr,
        score_split=_score_lr,
    ),
    "svm": ModelSpec(
        name="svm",
        label="Support vector machine",
        pipeline="PixelScaler -> SVC (one-vs-one, gamma='scale', argmax of the one-vs-rest "
        "decision function)",
        space=(
            f"kernel in {{rbf, poly (degree 3)}}, half the candidates each; C log-uniform on "
            f"[{SVM_C_RANGE[0]:g}, {SVM_C_RANGE[1]:g}]; gamma = 1 / (n_features * var(X))"
        ),
        gives_proba=False,
        default_budget=ModelBudget(search_rows=5_000, inner=3, n_candidates=6),
        quick_budget=ModelBudget(search_rows=1_000, inner=2, n_candidates=4),
        build=_build_svm,
        candidates=_candidates_svm,
        score_split=_score_each(_build_svm),
        notes="SVC gives no probabilities (probability=False: Platt scaling would cost five more "
        "fits), so its ROC AUC uses the decision function and it has no log-loss.",
    ),
    "knn": ModelSpec(
        name="knn",
        label="k-nearest neighbours",
        pipeline="PixelScaler -> KNeighborsClassifier (euclidean, brute force)",
        space=(
            f"n_neighbors in {{{', '.join(map(str, KNN_NEIGHBORS))}}} x weights in "
            "{uniform, distance} (grid)"
        ),
        gives_proba=True,
        default_budget=ModelBudget(search_rows=20_000, inner=3, n_candidates=12),
        quick_budget=ModelBudget(search_rows=2_000, inner=2, n_candidates=12),
        build=_build_knn,
        candidates=_candidates_knn,
        score_split=_score_knn,
        min_train_rows=max(KNN_NEIGHBORS),
        notes="KNN's probabilities are (weighted) neighbour votes: often exactly 0 or 1, so its "
        "log-loss is dominated by confident mistakes.",
    ),
    "tree": ModelSpec(
        name="tree",
        label="Decision tree",
        pipeline="PixelScaler -> DecisionTreeClassifier (gini)",
        space="max_depth in {"
        + ", ".join("none" if d is None else str(d) for d in TREE_DEPTHS)
        + "} (grid)",
        gives_proba=True,
        default_budget=ModelBudget(search_rows=20_000, inner=3, n_candidates=len(TREE_DEPTHS)),
        quick_budget=ModelBudget(search_rows=2_000, inner=2, n_candidates=len(TREE_DEPTHS)),
        build=_build_tree,
        candidates=_candidates_tree,
        score_split=_score_each(_build_tree),
        notes="A tree's probabilities are leaf class fractions, mostly 0 or 1 for deep trees, so "
        "its log-loss is dominated by confident mistakes.",
    ),
    "lr-rff": ModelSpec(
        name="lr-rff",
        label="LR on an RBF kernel map",
        pipeline="PixelScaler -> Nystroem (RBF) -> StandardScaler -> LogisticRegression (ours)",
        space=(
            f"gamma log-uniform on [{RFF_GAMMA_RANGE[0]:g}, {RFF_GAMMA_RANGE[1]:g}] x C "
            f"log-uniform on [{RFF_C_RANGE[0]:g}, {RFF_C_RANGE[1]:g}] (grid of the draws); "
            "n_components from the budget"
        ),
        gives_proba=True,
        default_budget=ModelBudget(
            search_rows=6_000, inner=2, n_candidates=6, n_components=(4000,)
        ),
        quick_budget=ModelBudget(search_rows=1_500, inner=2, n_candidates=4, n_components=(800,)),
        build=_build_rff,
        candidates=_candidates_rff,
        score_split=_score_rff,
        notes="Nystroem's components are capped at the number of training rows of a fit, so an "
        "inner search on a small subsample uses an exact kernel map of its rows.",
    ),
}
"""Every model by name (see :data:`MODEL_NAMES`)."""


def get_model(name: str) -> ModelSpec:
    """The :class:`ModelSpec` of ``name``, or a one-line :class:`InputError`."""
    try:
        return MODELS[name]
    except KeyError:
        raise InputError(
            f"--models: unknown model {name!r}; choose from {', '.join(MODEL_NAMES)}."
        ) from None


def parse_models(text: str | Sequence[str]) -> tuple[str, ...]:
    """``"lr,svm"`` (or a sequence of names) -> ``("lr", "svm")``; duplicates dropped, order kept.

    Raises :class:`InputError` for an unknown name or an empty list.
    """
    items = text.split(",") if isinstance(text, str) else list(text)
    names: list[str] = []
    for item in items:
        name = str(item).strip().lower()
        if not name:
            continue
        get_model(name)
        if name not in names:
            names.append(name)
    if not names:
        raise InputError(f"--models: no model given; choose from {', '.join(MODEL_NAMES)}.")
    return tuple(names)


# --- predictions, sizes and costs of fitted models ---------------------------------------------


def predict_scores(spec: ModelSpec, model: Pipeline, X: np.ndarray) -> np.ndarray:
    """Probabilities (rows summing to 1, float64) or decision-function scores of ``model``.

    Returns
    -------
    scores : ndarray of shape (n_samples, n_classes)
        Columns in the order of ``model.classes_``; the predicted label of each row is
        ``classes_[argmax]``.
    """
    if spec.gives_proba:
        proba = np.asarray(model.predict_proba(X), dtype=np.float64)
        return proba / proba.sum(axis=1, keepdims=True)
    scores = np.asarray(model.decision_function(X), dtype=np.float64)
    if scores.ndim == 1:  # two classes: one column, positive for classes_[1]
        scores = np.column_stack([-scores, scores])
    return scores


def fitted_nbytes(estimator: Any) -> int:
    """Bytes of the arrays a fitted estimator (or pipeline) keeps: its model size.

    Counts every ndarray among the fitted attributes (names ending or starting with ``_``,
    hyperparameters excluded), inside nested estimators and decision trees, each array once
    (views of the same memory count once). For KNN this is the stored training set; for an SVM
    the support vectors and dual coefficients.
    """
    seen: set[int] = set()

    def array_bytes(arr: np.ndarray) -> int:
        base = arr
        while isinstance(base.base, np.ndarray):
            base = base.base
        if id(base) in seen:
            return 0
        seen.add(id(base))
        return int(base.nbytes)

    def walk(obj: Any, depth: int = 0) -> int:
        if depth > 6:
            return 0
        if isinstance(obj, np.ndarray):
            return (
                array_bytes(obj)
                if obj.dtype != object
                else sum(walk(item, depth + 1) for item in obj.ravel())
            )
        if isinstance(obj, Pipeline):
            return sum(walk(step, depth + 1) for _, step in obj.steps if step != "passthrough")
        if isinstance(obj, list | tuple):
            return sum(walk(item, depth + 1) for item in obj)
        if isinstance(obj, BaseEstimator):
            hyper = set(obj.get_params(deep=False))
            return sum(
                walk(value, depth + 1)
                for key, value in vars(obj).items()
                if key not in hyper and (key.endswith("_") or key.startswith("_"))
            )
        state = getattr(obj, "__getstate__", None)
        if type(obj).__name__ == "Tree" and state is not None:  # sklearn.tree._tree.Tree
            return sum(walk(v, depth + 1) for v in state().values() if isinstance(v, np.ndarray))
        return 0

    return walk(estimator)


def model_details(spec: ModelSpec, model: Pipeline) -> dict[str, Any]:
    """A few facts about a fitted model for the report (support vectors, tree depth, ...)."""
    final = model[-1]
    if spec.name == "svm":
        return {"n_support_vectors": int(np.sum(final.n_support_))}
    if spec.name == "tree":
        return {"depth": int(final.get_depth()), "n_leaves": int(final.get_n_leaves())}
    if spec.name == "knn":
        return {"n_stored_rows": int(final.n_samples_fit_)}
    details: dict[str, Any] = {"n_iter": np.asarray(getattr(final, "n_iter_", [0])).tolist()}
    if spec.name == "lr-rff":
        details["n_components"] = int(model.named_steps["features"].components_.shape[0])
    return details


def estimate_seconds(
    name: str, n_fit: int, n_eval: int, n_features: int, params: Sequence[Params] = ()
) -> float:
    """Rough single-core seconds of fitting on ``n_fit`` rows and predicting ``n_eval`` rows.

    A cost model fitted to timings of each model on MNIST subsamples (one core of a shared 2-core
    machine); it orders the tasks (longest first) and weighs the progress bar so that its
    remaining-time estimate is meaningful. It is never reported as a measurement.

    ``params`` are the candidates when estimating an inner split (all fitted on ``n_fit`` rows).
    """
    d = n_features / 784.0
    n_cand = max(1, len(params))
    n_fit = max(n_fit, 1)
    if name == "svm":
        fit = 60.0 * (n_fit / 20_000) ** (1.6 if n_fit < 20_000 else 1.8) * d
        n_support = min(n_fit, 5_900 * (n_fit / 20_000) ** 0.67)
        return n_cand * (fit + 1.0e-6 * n_eval * n_support * d)
    if name == "knn":
        return 5.5e-8 * n_eval * n_fit * d
    if name == "tree":
        return n_cand * 9.0 * (n_fit / 30_000) ** 1.2 * d
    if name == "lr":
        return 2.2e-4 * n_fit * d * n_cand * 0.8 + 1.0e-5 * n_eval
    if name == "lr-rff":
        sizes = [int(p.get("n_components", 4000)) for p in params] or [4000]
        size = min(max(sizes), n_fit)
        n_maps = len({(p.get("n_components"), p.get("gamma")) for p in params}) or 1
        transform = 1.3e-3 * (size / 4000) ** 1.6 * (n_fit + n_eval) * max(d, 0.3)
        # As many components as rows (an exact kernel map of a small search subsample) makes an
        # ill-conditioned problem that takes about three times the solver iterations.
        conditioning = 3.0 if size >= 0.5 * n_fit else 1.0
        fit = 1.0e-3 * n_fit * (size / 4000) * n_cand * 0.8 * conditioning
        return n_maps * transform + fit
    return 1.0e-4 * (n_fit + n_eval) * n_cand


__all__ = [
    "MODELS",
    "MODEL_NAMES",
    "ModelBudget",
    "ModelSpec",
    "estimate_seconds",
    "fitted_nbytes",
    "get_model",
    "model_details",
    "parse_models",
    "predict_scores",
]
