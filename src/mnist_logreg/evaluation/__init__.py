"""Evaluation: metrics with confidence intervals, figures, and report rendering.

This layer computes data and draws; it never writes files, prints or parses arguments (the ``cli``
layer does). Metrics wrap :mod:`sklearn.metrics` and work from plain arrays; figure functions return
matplotlib Axes (``plot_x(..., ax=None)``) or Figures (multi-panel ones), and
:func:`figure_to_png` turns a figure into PNG bytes; renderers return strings.
"""

from mnist_logreg.evaluation._bootstrap import (
    HEADLINE_METRICS,
    bootstrap_metrics,
    evaluate_predictions,
    percentile_interval,
)
from mnist_logreg.evaluation._figures import comparison_figures, study_figures
from mnist_logreg.evaluation._mcnemar import (
    EXACT_BELOW,
    McNemarResult,
    holm_adjust,
    mcnemar_from_counts,
    mcnemar_test,
    pairwise_mcnemar,
)
from mnist_logreg.evaluation._metrics import (
    CalibrationBins,
    calibration_bins,
    classification_metrics,
    encode_labels,
    expected_calibration_error,
    multiclass_brier_score,
    per_class_auc,
)
from mnist_logreg.evaluation._plots import (
    plot_accuracy_comparison,
    plot_confusion_matrices,
    plot_confusion_matrix,
    plot_reliability_diagram,
    plot_roc_curves,
)
from mnist_logreg.evaluation._plots_model import (
    FoldCurve,
    fold_curves,
    plot_coefficients,
    plot_misclassified,
    plot_validation_curve,
)
from mnist_logreg.evaluation._report import (
    FIGURE_CAPTIONS,
    METRIC_LABELS,
    PROTOCOL_SUMMARY,
    render_classification_report,
    render_comparison_html,
    render_comparison_markdown,
    render_html,
    render_markdown,
)
from mnist_logreg.evaluation._report_blocks import fmt_interval, fmt_number
from mnist_logreg.evaluation._style import PALETTE, STYLE, figure_to_png, plot_style
from mnist_logreg.evaluation._summary import (
    boundary_notes,
    comparison_summary_html,
    render_summary_html,
    study_summary_html,
)

__all__ = [
    "EXACT_BELOW",
    "FIGURE_CAPTIONS",
    "HEADLINE_METRICS",
    "METRIC_LABELS",
    "PALETTE",
    "PROTOCOL_SUMMARY",
    "STYLE",
    "CalibrationBins",
    "FoldCurve",
    "McNemarResult",
    "bootstrap_metrics",
    "boundary_notes",
    "calibration_bins",
    "classification_metrics",
    "comparison_figures",
    "comparison_summary_html",
    "encode_labels",
    "evaluate_predictions",
    "expected_calibration_error",
    "figure_to_png",
    "fmt_interval",
    "fmt_number",
    "fold_curves",
    "holm_adjust",
    "mcnemar_from_counts",
    "mcnemar_test",
    "multiclass_brier_score",
    "pairwise_mcnemar",
    "per_class_auc",
    "percentile_interval",
    "plot_accuracy_comparison",
    "plot_coefficients",
    "plot_confusion_matrices",
    "plot_confusion_matrix",
    "plot_misclassified",
    "plot_reliability_diagram",
    "plot_roc_curves",
    "plot_style",
    "plot_validation_curve",
    "render_classification_report",
    "render_comparison_html",
    "render_comparison_markdown",
    "render_html",
    "render_markdown",
    "render_summary_html",
    "study_figures",
    "study_summary_html",
]
