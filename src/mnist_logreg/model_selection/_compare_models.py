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

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.kernel_approximation import Nystroem
from sklearn.neighbors import KNeighborsClassifier, NearestNeighbors
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC
from sklearn.tree import DecisionTreeClassifier

from mnist_logreg.errors import InputError
from mnist_logreg.linear_model import LogisticRegression
from mnist_logreg.model_selection import _pipeline
from mnist_logreg.model_selection._cost_model import (
    knn_seconds,
    lr_seconds,
    rff_seconds,
    svm_seconds,
    tree_seconds,
)
from mnist_logreg.model_selection._search import path_scores, score_lr_path
from mnist_logreg.model_selection._search_spaces import (
    KNN_NEIGHBORS,
    LR_C_RANGE,
    RFF_C_RANGE,
    RFF_GAMMA_RANGE,
    SVM_C_RANGE,
    TREE_DEPTHS,
    ModelBudget,
    candidates_knn,
    candidates_lr,
    candidates_rff,
    candidates_svm,
    candidates_tree,
)
from mnist_logreg.preprocessing import PixelScaler

Params = dict[str, Any]

MODEL_NAMES: tuple[str, ...] = ("lr", "svm", "knn", "tree", "lr-rff")
"""Every model of the comparison, in display order."""

SVM_CACHE_MB = 1000
"""libsvm's kernel cache per fit (MB): large enough to hold most of the kernel columns of the
support vectors of a 60,000-row MNIST fit's binary sub-problems."""


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
    details : callable
        ``details(model) -> dict``: a few facts about a fitted model for the report (support
        vectors, tree depth, ...).
    cost : callable
        ``cost(n_fit, n_eval, n_features, params) -> float``: estimated single-core seconds of
        fitting ``len(params)`` candidates on ``n_fit`` rows and predicting ``n_eval`` rows (see
        :mod:`~mnist_logreg.model_selection._cost_model`).
    min_train_rows : int
        Fewest training rows an inner split needs (KNN needs its largest ``n_neighbors``).
    export : callable or None
        ``export(model, pixel_max) -> Pipeline``: a fitted model in the form the model files
        save (``scale -> standardize -> classifier``), for a run that keeps its model.
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
    details: Callable[[Pipeline], dict[str, Any]]
    cost: Callable[..., float]
    min_train_rows: int = 2
    notes: str = ""
    export: Callable[[Pipeline, float], Pipeline] | None = None


# --- pipelines -----------------------------------------------------------------------------------


def _scale(pixel_max: float) -> tuple[str, PixelScaler]:
    return ("scale", PixelScaler(pixel_max=pixel_max))


def _build_lr(
    params: Params, pixel_max: float, random_state: int, n_rows: int | None = None, *,
    strategy: str = "multinomial", solver_options: dict[str, Any] | None = None,
) -> Pipeline:
    # StandardScaler -> LogisticRegression folded into one fit on raw pixels (no float copy)
    classifier = _pipeline.build_classifier(float(params["C"]), strategy, standardize=True,
                                            **(solver_options or {}))
    return Pipeline([("classifier", classifier)])


def _export_lr(model: Pipeline, pixel_max: float) -> Pipeline:
    # the model file's form: scale -> standardize -> classifier (see unfolded_pipeline)
    return _pipeline.unfolded_pipeline(model[-1], pixel_max)


def _build_svm(params: Params, pixel_max: float, *_: Any) -> Pipeline:
    # break_ties=True: predict() is the argmax of the one-vs-rest decision function, the same
    # rule as every other model (argmax of its scores), so the evaluated labels are predict()'s.
    svc = SVC(kernel=str(params["kernel"]), C=float(params["C"]), gamma="scale", degree=3,
              cache_size=SVM_CACHE_MB, decision_function_shape="ovr", break_ties=True)
    return Pipeline([_scale(pixel_max), ("classifier", svc)])


def _build_knn(params: Params, pixel_max: float, *_: Any) -> Pipeline:
    knn = KNeighborsClassifier(n_neighbors=int(params["n_neighbors"]),
                               weights=str(params["weights"]), algorithm="brute")
    return Pipeline([_scale(pixel_max), ("classifier", knn)])


def _build_tree(params: Params, pixel_max: float, random_state: int, *_: Any) -> Pipeline:
    depth = params["max_depth"]
    tree = DecisionTreeClassifier(max_depth=None if depth is None else int(depth),
                                  random_state=random_state)
    return Pipeline([_scale(pixel_max), ("classifier", tree)])


def _kernel_map(
    gamma: float, n_components: int, random_state: int, n_rows: int | None = None
) -> Nystroem:
    """lr-rff's RBF kernel map (unfitted), the same in its pipeline and in its inner-split
    scorer; its components are capped at the fit's training rows ``n_rows``."""
    if n_rows is not None:
        n_components = min(n_components, int(n_rows))
    return Nystroem(kernel="rbf", gamma=gamma, n_components=n_components, random_state=random_state)


def _build_rff(
    params: Params, pixel_max: float, random_state: int, n_rows: int | None = None
) -> Pipeline:
    features = _kernel_map(float(params["gamma"]), int(params["n_components"]), random_state,
                           n_rows=n_rows)
    return Pipeline([_scale(pixel_max), ("features", features), ("standardize", StandardScaler()),
                     ("classifier", LogisticRegression(C=float(params["C"])))])


# --- facts about fitted models (the report's "details") -----------------------------------------


def _details_lr(model: Pipeline) -> dict[str, Any]:
    return {"n_iter": np.asarray(getattr(model[-1], "n_iter_", [0])).tolist()}


def _details_rff(model: Pipeline) -> dict[str, Any]:
    n_components = int(model.named_steps["features"].components_.shape[0])
    return {**_details_lr(model), "n_components": n_components}


# --- scoring the candidates of one inner split ------------------------------------------------


def _accuracy(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    return float(np.mean(np.asarray(y_true) == np.asarray(y_pred)))


def _score_each(build: Callable[..., Pipeline]) -> Callable[..., np.ndarray]:
    """Scorer that fits every candidate's pipeline on its own (SVM, tree)."""

    def score(X_train: np.ndarray, y_train: np.ndarray, X_val: np.ndarray,

              y_val: np.ndarray, candidates: Sequence[Params], pixel_max: float,

              random_state: int) -> np.ndarray:
        scores = []
        for params in candidates:
            model = build(params, pixel_max, random_state, len(X_train)).fit(X_train, y_train)
            scores.append(_accuracy(y_val, model.predict(X_val)))
        return np.array(scores)

    return score


def _score_knn(X_train: np.ndarray, y_train: np.ndarray, X_val: np.ndarray, y_val: np.ndarray,
               candidates: Sequence[Params], pixel_max: float, random_state: int) -> np.ndarray:
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


def _score_rff(X_train: np.ndarray, y_train: np.ndarray, X_val: np.ndarray, y_val: np.ndarray,
               candidates: Sequence[Params], pixel_max: float, random_state: int) -> np.ndarray:
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
        Cs = np.asarray([float(candidates[i]["C"]) for i in members])
        order = np.argsort(Cs, kind="stable")
        path = _pipeline.fit_path(Z_train, y_train, Cs[order], standardize=False)
        scores[members] = path_scores(path, order, Z_val, y_val, "accuracy")
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
        candidates=candidates_lr,
        score_split=score_lr_path,
        details=_details_lr,
        cost=lr_seconds,
        export=_export_lr,
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
        candidates=candidates_svm,
        score_split=_score_each(_build_svm),
        details=lambda model: {"n_support_vectors": int(np.sum(model[-1].n_support_))},
        cost=svm_seconds,
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
        candidates=candidates_knn,
        score_split=_score_knn,
        details=lambda model: {"n_stored_rows": int(model[-1].n_samples_fit_)},
        cost=knn_seconds,
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
        candidates=candidates_tree,
        score_split=_score_each(_build_tree),
        details=lambda model: {"depth": int(model[-1].get_depth()),
                               "n_leaves": int(model[-1].get_n_leaves())},
        cost=tree_seconds,
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
        candidates=candidates_rff,
        score_split=_score_rff,
        details=_details_rff,
        cost=rff_seconds,
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


# --- predictions of fitted models -----------------------------------------------------------------


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


__all__ = [
    "MODELS",
    "MODEL_NAMES",
    "ModelBudget",
    "ModelSpec",
    "get_model",
    "parse_models",
    "predict_scores",
]
