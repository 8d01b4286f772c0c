"""The study: nested cross-validation of C, the final model, test metrics, figures and reports.

This layer sits between ``evaluation`` and ``cli``: it orchestrates the layers above it and returns
data; the ``study`` command writes it to a run folder.
"""

from mnist_logreg.study._config import (
    MAX_BOOTSTRAP,
    ComparisonConfig,
    RunConfig,
    StudyConfig,
    validate_run_sizes,
)
from mnist_logreg.study._study import (
    FIGURE_FILES,
    SCHEMA_VERSION,
    StudyResult,
    fold_record,
    run_study,
    subsample_rows,
    training_rows,
    versions,
)

__all__ = [
    "FIGURE_FILES",
    "MAX_BOOTSTRAP",
    "SCHEMA_VERSION",
    "ComparisonConfig",
    "RunConfig",
    "StudyConfig",
    "StudyResult",
    "fold_record",
    "run_study",
    "subsample_rows",
    "training_rows",
    "validate_run_sizes",
    "versions",
]
from mnist_logreg.study._checkpoints import (
    Expectations,
    config_digest,
    parse_compare_checkpoint,
    parse_study_checkpoint,
    read_checkpoints,
    write_checkpoint,
)
from mnist_logreg.study._compare import (
    QUICK_MAX_TRAIN,
    ComparisonResult,
    outcome_record,
    run_comparison,
    score_metrics,
)

__all__ += [
    "QUICK_MAX_TRAIN",
    "ComparisonResult",
    "outcome_record",
    "run_comparison",
    "score_metrics",
]

__all__ += [
    "Expectations",
    "config_digest",
    "parse_compare_checkpoint",
    "parse_study_checkpoint",
    "read_checkpoints",
    "write_checkpoint",
]
