"""Model selection: C candidates, warm-started path search, one nested-CV engine for every model.

The study is that engine run with the ``lr`` model on its C path; the comparison runs it with the
registry's models. Tasks run in-process, in local worker processes, or on a Dask cluster (see
``_execution``).
"""

from mnist_logreg.model_selection._candidates import (
    C_BOUNDS,
    SAMPLINGS,
    sample_candidates,
    validate_C,
    validate_c_range,
)
from mnist_logreg.model_selection._compare_models import (
    MODEL_NAMES,
    MODELS,
    ModelBudget,
    ModelSpec,
    get_model,
    parse_models,
)
from mnist_logreg.model_selection._engine import TaskDone
from mnist_logreg.model_selection._execution import (
    DaskRunner,
    ProcessRunner,
    SerialRunner,
    TaskRunner,
    make_runner,
    validate_scheduler,
)
from mnist_logreg.model_selection._model_size import fitted_nbytes
from mnist_logreg.model_selection._pipeline import (
    STRATEGIES,
    build_classifier,
    build_model,
    fit_model,
    validate_strategy,
)
from mnist_logreg.model_selection._protocol import (
    FINAL,
    MAX_CANDIDATES,
    MAX_FOLDS,
    MAX_SEED,
    STUDY_MODELS,
    CompareConfig,
    NestedCVConfig,
    SearchOutcome,
    check_int,
    count_tasks,
    fit_and_predict,
    outer_splits,
    plan_cost,
    run_nested_cv,
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
    score_lr_path,
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
    "MODELS",
    "MODEL_NAMES",
    "SAMPLINGS",
    "STRATEGIES",
    "STUDY_MODELS",
    "CandidateScore",
    "CompareConfig",
    "DaskRunner",
    "ModelBudget",
    "ModelSpec",
    "NestedCVConfig",
    "ProcessRunner",
    "RangeSearch",
    "SearchOutcome",
    "SearchResult",
    "Segment",
    "SerialRunner",
    "TaskDone",
    "TaskRunner",
    "build_classifier",
    "build_model",
    "check_int",
    "count_tasks",
    "edge_side",
    "fit_and_predict",
    "fit_model",
    "fitted_nbytes",
    "get_model",
    "inner_splits",
    "make_runner",
    "outer_splits",
    "parse_models",
    "plan_cost",
    "replay_range",
    "run_nested_cv",
    "sample_candidates",
    "score_lr_path",
    "summarize_search",
    "validate_C",
    "validate_c_range",
    "validate_scheduler",
    "validate_scoring",
    "validate_strategy",
]
