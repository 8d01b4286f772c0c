"""Model selection: randomized search over C on warm-started paths, nested cross-validation.

Tasks run in-process, in local worker processes, or on a Dask cluster (see ``_execution``).
"""

from mnist_logreg.model_selection._candidates import (
    C_BOUNDS,
    SAMPLINGS,
    sample_candidates,
    validate_C,
    validate_c_range,
)
from mnist_logreg.model_selection._execution import (
    DaskRunner,
    ProcessRunner,
    SerialRunner,
    TaskRunner,
    make_runner,
    validate_scheduler,
)
from mnist_logreg.model_selection._nested import (
    FINAL,
    MAX_CANDIDATES,
    MAX_FOLDS,
    MAX_SEED,
    FoldOutcome,
    NestedCVConfig,
    check_int,
    count_tasks,
    outer_splits,
    run_nested_cv,
)
from mnist_logreg.model_selection._pipeline import (
    STRATEGIES,
    build_classifier,
    build_model,
    build_preprocessor,
    fit_model,
    validate_strategy,
)
from mnist_logreg.model_selection._range import (
    EXPANSION_BOUNDS,
    MAX_EXTRA_DECADES,
    RangeSearch,
    Segment,
    edge_side,
    replay_range,
)
from mnist_logreg.model_selection._search import (
    CLASSIFICATION_SCORERS,
    CandidateScore,
    SearchResult,
    inner_splits,
    summarize_search,
    validate_scoring,
)

__all__ = [
    "CLASSIFICATION_SCORERS",
    "C_BOUNDS",
    "EXPANSION_BOUNDS",
    "FINAL",
    "MAX_CANDIDATES",
    "MAX_EXTRA_DECADES",
    "MAX_FOLDS",
    "MAX_SEED",
    "SAMPLINGS",
    "STRATEGIES",
    "CandidateScore",
    "DaskRunner",
    "FoldOutcome",
    "NestedCVConfig",
    "ProcessRunner",
    "RangeSearch",
    "SearchResult",
    "Segment",
    "SerialRunner",
    "TaskRunner",
    "build_classifier",
    "build_model",
    "build_preprocessor",
    "check_int",
    "count_tasks",
    "edge_side",
    "fit_model",
    "inner_splits",
    "make_runner",
    "outer_splits",
    "replay_range",
    "run_nested_cv",
    "sample_candidates",
    "summarize_search",
    "validate_C",
    "validate_c_range",
    "validate_scheduler",
    "validate_scoring",
    "validate_strategy",
]
from mnist_logreg.model_selection._compare import (
    CompareConfig,
    CompareOutcome,
    TaskDone,
    fit_and_predict,
    plan_cost,
    run_model_comparison,
    score_candidates,
)
from mnist_logreg.model_selection._compare_models import (
    MODEL_NAMES,
    MODELS,
    ModelBudget,
    ModelSpec,
    get_model,
    parse_models,
)
from mnist_logreg.model_selection._model_size import fitted_nbytes

__all__ += [
    "MODELS",
    "MODEL_NAMES",
    "CompareConfig",
    "CompareOutcome",
    "ModelBudget",
    "ModelSpec",
    "TaskDone",
    "fit_and_predict",
    "fitted_nbytes",
    "get_model",
    "parse_models",
    "plan_cost",
    "run_model_comparison",
    "score_candidates",
]
