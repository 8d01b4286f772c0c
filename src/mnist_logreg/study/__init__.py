"""The study and the comparison: nested CV, final models, test metrics, figures and reports.

This layer sits between ``evaluation`` and ``cli``: it orchestrates the layers above it, returns
result objects and writes them as run folders (the ``study`` and ``compare`` commands call it).
"""

from mnist_logreg.study._checkpoints import (
    Expectations,
    config_digest,
    parse_checkpoint,
    read_checkpoints,
    write_checkpoint,
)
from mnist_logreg.study._compare import (
    COMPARE_LAYOUT,
    QUICK_MAX_TRAIN,
    ComparisonResult,
    run_comparison,
    score_metrics,
)
from mnist_logreg.study._config import (
    MAX_BOOTSTRAP,
    ComparisonConfig,
    RunConfig,
    StudyConfig,
)
from mnist_logreg.study._run_files import finish_run_folder, write_outputs
from mnist_logreg.study._run_folder import (
    CHECKPOINTS,
    COMPLETE_MARKER,
    CONFIG_FILE,
    OptionNames,
    RunLayout,
    WritesRunFolder,
    check_out,
    new_run_folder,
    read_json,
)
from mnist_logreg.study._study import (
    FIGURE_FILES,
    SCHEMA_VERSION,
    STUDY_LAYOUT,
    StudyResult,
    fold_record,
    outcome_record,
    run_study,
    study_model_extra,
    subsample_rows,
    training_rows,
    versions,
)

__all__ = [
    "FIGURE_FILES",
    "MAX_BOOTSTRAP",
    "QUICK_MAX_TRAIN",
    "SCHEMA_VERSION",
    "ComparisonConfig",
    "ComparisonResult",
    "Expectations",
    "RunConfig",
    "StudyConfig",
    "StudyResult",
    "config_digest",
    "fold_record",
    "outcome_record",
    "parse_checkpoint",
    "read_checkpoints",
    "run_comparison",
    "run_study",
    "score_metrics",
    "subsample_rows",
    "training_rows",
    "versions",
    "write_checkpoint",
]
__all__ += [
    "CHECKPOINTS",
    "COMPARE_LAYOUT",
    "COMPLETE_MARKER",
    "CONFIG_FILE",
    "STUDY_LAYOUT",
    "OptionNames",
    "RunLayout",
    "WritesRunFolder",
    "check_out",
    "finish_run_folder",
    "new_run_folder",
    "read_json",
    "study_model_extra",
    "write_outputs",
]
