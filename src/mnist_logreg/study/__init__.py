"""The study and the comparison: nested CV, final models, test metrics, figures and reports.

This layer sits between ``evaluation`` and ``cli``: it orchestrates the layers above it and returns
data; the ``study`` and ``compare`` commands write it to a run folder.
"""

from mnist_logreg.study._checkpoints import (
    Expectations,
    config_digest,
    parse_checkpoint,
    read_checkpoints,
    write_checkpoint,
)
from mnist_logreg.study._compare import (
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
from mnist_logreg.study._study import (
    FIGURE_FILES,
    SCHEMA_VERSION,
    StudyResult,
    fold_record,
    outcome_record,
    run_study,
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
