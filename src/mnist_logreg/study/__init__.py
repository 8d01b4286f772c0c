"""The study: nested cross-validation of C, the final model, test metrics, figures and reports.

This layer sits between ``evaluation`` and ``cli``: it orchestrates the layers above it and returns
data; the ``study`` command writes it to a run folder.
"""

from mnist_logreg.study._config import StudyConfig
from mnist_logreg.study._study import (
    FIGURE_FILES,
    SCHEMA_VERSION,
    StudyResult,
    fold_record,
    run_study,
    training_rows,
    versions,
)

__all__ = [
    "FIGURE_FILES",
    "SCHEMA_VERSION",
    "StudyConfig",
    "StudyResult",
    "fold_record",
    "run_study",
    "training_rows",
    "versions",
]
from mnist_logreg.study._compare import (
    QUICK_MAX_TRAIN,
    ComparisonConfig,
    ComparisonResult,
    outcome_record,
    run_comparison,
    score_metrics,
)

__all__ += [
    "QUICK_MAX_TRAIN",
    "ComparisonConfig",
    "ComparisonResult",
    "outcome_record",
    "run_comparison",
    "score_metrics",
]
