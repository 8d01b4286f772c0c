"""Every figure of a report in one call: the study's from plain arrays, the comparison's from its
metrics.json data."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from matplotlib.figure import Figure
from numpy.typing import ArrayLike
from sklearn.metrics import confusion_matrix

from mnist_logreg.evaluation._compare_report import (
    ACCURACY_FIGURE,
    CONFUSION_PREFIX,
    accuracy_entry,
    model_entries,
    model_label,
)
from mnist_logreg.evaluation._metrics import check_proba, encode_labels
from mnist_logreg.evaluation._plots import (
    plot_accuracy_comparison,
    plot_confusion_matrices,
    plot_confusion_matrix,
    plot_reliability_diagram,
    plot_roc_curves,
)
from mnist_logreg.evaluation._plots_model import (
    fold_curves,
    plot_coefficients,
    plot_misclassified,
    plot_validation_curve,
)
from mnist_logreg.evaluation._report_blocks import as_float, as_mapping
from mnist_logreg.evaluation._style import new_figure, root_figure, styled


def study_figures(
    y_true: ArrayLike,
    proba: ArrayLike,
    classes: ArrayLike,
    *,
    folds: Sequence[Mapping[str, Any]] | None = None,
    chosen_C: float | None = None,
    coef: ArrayLike | None = None,
    images: ArrayLike | None = None,
    image_shape: tuple[int, int] | None = None,
    class_names: Sequence[str] | None = None,
    n_misclassified: int = 25,
    scoring: str = "accuracy",
) -> dict[str, Figure]:
    """Draw the report's figures; those whose inputs are missing are left out.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        Test labels.
    proba : array-like of shape (n_samples, n_classes)
        The final model's test probabilities, columns in the order of ``classes``.
    classes : array-like of shape (n_classes,)
    folds : sequence of dict, default=None
        ``metrics.json``'s ``"folds"`` (for the validation curve).
    chosen_C : float, default=None
        The final model's C (marked on the validation curve).
    coef : array-like of shape (n_classes, n_features) or (1, n_features), default=None
        The final model's weights (for the coefficient images; needs ``image_shape``).
    images : array-like of shape (n_samples, n_features), default=None
        Test images in display form, e.g. raw pixels (for the mistakes gallery; needs
        ``image_shape``).
    image_shape : tuple of int (height, width), default=None
    class_names : sequence of str, default=None
        Display names; ``str`` of each class by default.
    n_misclassified : int, default=25
    scoring : str, default="accuracy"

    Returns
    -------
    figures : dict of str to Figure
        Keys among ``confusion_matrix``, ``roc_curves``, ``validation_curve``, ``coefficients``,
        ``misclassified``, ``reliability_diagram`` (the PNG file stems of the run folder).
    """
    classes = np.asarray(classes)
    names = [str(c) for c in classes] if class_names is None else [str(n) for n in class_names]
    y_index = encode_labels(y_true, classes)
    proba_arr = check_proba(proba, y_index.size, classes.size)
    pred_index = proba_arr.argmax(axis=1)
    cm = confusion_matrix(y_index, pred_index, labels=np.arange(classes.size))

    figures: dict[str, Figure] = {"confusion_matrix": plot_confusion_matrices(cm, names)}
    figures["roc_curves"] = root_figure(
        plot_roc_curves(y_index, proba_arr, np.arange(classes.size), class_names=names)
    )
    if folds:
        curves = fold_curves(folds)
        if curves:
            figures["validation_curve"] = root_figure(
                plot_validation_curve(curves, chosen_C, scoring=scoring)
            )
    if coef is not None and image_shape is not None:
        figures["coefficients"] = plot_coefficients(coef, image_shape, names)
    if images is not None and image_shape is not None:
        figures["misclassified"] = plot_misclassified(
            images, y_index, pred_index, proba_arr, names, image_shape, n=n_misclassified
        )
    figures["reliability_diagram"] = root_figure(plot_reliability_diagram(y_index, proba_arr))
    return figures


@styled
def comparison_figures(
    results: Mapping[str, Any], class_names: Sequence[str] | None = None
) -> dict[str, Figure]:
    """The comparison's figures from its metrics.json data.

    Parameters
    ----------
    results : dict
        metrics.json-shaped, with ``"models"``: ``{name: {"label", "test": {"accuracy":
        {"value", "ci95"}, "confusion_matrix"}}}``.
    class_names : sequence of str, optional
        Display names of the classes (default ``0 .. n_classes - 1``).

    Returns
    -------
    figures : dict of str to Figure
        ``accuracy`` (bars with intervals) and ``confusion_matrix_<model>`` for each model.
    """
    models = model_entries(results)
    figures: dict[str, Figure] = {}
    labels, values, intervals = [], [], []
    for name, entry in models.items():
        accuracy = accuracy_entry(entry)
        value = as_float(accuracy)
        if value is None:
            continue
        labels.append(name)
        values.append(value)
        ci = accuracy.get("ci95")
        intervals.append(ci if isinstance(ci, Sequence) and len(ci) == 2 else None)
    if values:
        figures[ACCURACY_FIGURE] = root_figure(plot_accuracy_comparison(labels, values, intervals))
    for name, entry in models.items():
        cm = as_mapping(entry.get("test")).get("confusion_matrix")
        if not isinstance(cm, Sequence) or not cm:
            continue
        names = list(class_names) if class_names and len(class_names) == len(cm) else [
            str(i) for i in range(len(cm))]
        fig = new_figure((6.0, 5.2))
        ax = plot_confusion_matrix(cm, names, ax=fig.add_subplot())
        ax.set_title(f"{model_label(name, entry)}: test set (counts)")
        figures[f"{CONFUSION_PREFIX}{name}"] = fig
    return figures
