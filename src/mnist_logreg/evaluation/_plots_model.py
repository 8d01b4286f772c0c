"""Figures of the model and its tuning: validation curve, coefficient images, confident mistakes."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from numpy.typing import ArrayLike

from mnist_logreg.evaluation._metrics import check_proba, encode_labels
from mnist_logreg.evaluation._style import (
    DIVERGING_CMAP,
    ERROR_COLOR,
    IMAGE_CMAP,
    axes_or_new,
    new_figure,
    series_style,
    styled,
)


class FoldCurve(NamedTuple):
    """Inner-search scores of one outer fold.

    Attributes
    ----------
    C : array-like of shape (n_candidates,)
    mean_score : array-like of shape (n_candidates,)
        Mean inner cross-validation score of each candidate.
    std_score : array-like of shape (n_candidates,)
        Its standard deviation over the inner folds.
    best_C : float
        The candidate the fold chose.
    """

    C: Any
    mean_score: Any
    std_score: Any
    best_C: float


def fold_curves(folds: Sequence[Mapping[str, Any]]) -> list[FoldCurve]:
    """Turn the ``"folds"`` list of ``metrics.json`` into the input of the validation curve.

    Parameters
    ----------
    folds : sequence of dict
        Each with ``"candidates"`` (a list of ``{"C", "mean_score", "std_score"}``) and
        ``"best_params": {"C": ...}``. Folds without candidates are skipped.

    Returns
    -------
    curves : list of FoldCurve
    """
    curves = []
    for fold in folds:
        candidates = fold.get("candidates") or []
        if not candidates:
            continue
        best = (fold.get("best_params") or {}).get("C")
        curves.append(
            FoldCurve(
                C=[float(c["C"]) for c in candidates],
                mean_score=[float(c["mean_score"]) for c in candidates],
                std_score=[float(c.get("std_score") or 0.0) for c in candidates],
                best_C=float(best) if best is not None else math.nan,
            )
        )
    return curves


@styled
def plot_validation_curve(
    fold_results: Sequence[FoldCurve | tuple[Any, Any, Any, float]],
    chosen_C: float | None,
    ax: Axes | None = None,
    *,
    scoring: str = "accuracy",
) -> Axes:
    """Draw the mean inner-CV score against C (log axis), one line per outer fold.

    Each fold's line has a band of plus or minus one standard deviation over the inner folds and a
    star at the C it chose; a dashed vertical line marks ``chosen_C`` (the final model's C).

    Parameters
    ----------
    fold_results : sequence of (C values, mean scores, std scores, best C)
        One entry per outer fold; the three arrays have shape (n_candidates,) (any order).
        :func:`fold_curves` builds it from ``metrics.json``.
    chosen_C : float or None
        C of the final model; ``None`` draws no marker.
    ax : Axes, default=None
    scoring : str, default="accuracy"
        Name of the inner score, for the y label.

    Returns
    -------
    ax : Axes
        One line per fold in ``ax.lines`` (in fold order), then the star markers and the chosen-C
        line.
    """
    ax = axes_or_new(ax, (7.0, 4.6))
    stars = []
    for i, curve in enumerate(fold_results):
        c_values, mean, std, best = (np.asarray(a, dtype=float) for a in curve)
        if not (c_values.shape == mean.shape == std.shape and c_values.ndim == 1):
            raise ValueError(
                f"Fold {i + 1}: expected C, mean and std scores of the same shape "
                f"(n_candidates,). Got {c_values.shape}, {mean.shape}, {std.shape} instead."
            )
        order = np.argsort(c_values)
        c_values, mean, std = c_values[order], mean[order], std[order]
        style = series_style(i)
        ax.plot(c_values, mean, marker="o", markersize=3.5, label=f"fold {i + 1}", **style)
        ax.fill_between(c_values, mean - std, mean + std, color=style["color"], alpha=0.12,
                        linewidth=0)
        if np.isfinite(best) and c_values.size:
            at = int(np.argmin(np.abs(np.log(c_values) - np.log(best))))
            stars.append((best, mean[at], style["color"]))
    for best, score, color in stars:
        ax.plot([best], [score], marker="*", markersize=12, color=color,
                markeredgecolor="black", markeredgewidth=0.6, linestyle="none")
    if chosen_C is not None and np.isfinite(chosen_C):
        ax.axvline(chosen_C, color="black", linestyle="--", linewidth=1.1,
                   label=f"final C = {chosen_C:.3g}")
    ax.set_xscale("log")
    ax.set_xlabel("C (inverse regularization strength, log scale)")
    ax.set_ylabel(f"mean inner-CV {scoring}")
    ax.set_title("Validation curve: inner cross-validation score vs C")
    if fold_results or chosen_C is not None:
        ax.legend(loc="best", ncols=2 if len(fold_results) > 4 else 1)
    return ax


def _grid(n: int, max_cols: int) -> tuple[int, int]:
    ncols = max(1, min(n, max_cols))
    return max(1, math.ceil(n / ncols)), ncols


@styled
def plot_coefficients(
    coef: ArrayLike,
    image_shape: tuple[int, int],
    class_names: Sequence[str],
    *,
    max_cols: int = 5,
) -> Figure:
    """Draw each class's weight vector as an image, on one color scale symmetric around 0.

    Parameters
    ----------
    coef : array-like of shape (n_classes, n_features) or (1, n_features)
        ``n_features == prod(image_shape)``. One row for a binary model: the weights of
        ``class_names[1]`` against ``class_names[0]``.
    image_shape : tuple of int (height, width)
    class_names : sequence of str, length n_classes (or 2 for one row)
    max_cols : int, default=5

    Returns
    -------
    fig : Figure
        One image panel per row of ``coef`` and a shared color bar.
    """
    coef_arr = np.asarray(coef, dtype=float)
    if coef_arr.ndim == 1:
        coef_arr = coef_arr[None, :]
    height, width = (int(s) for s in image_shape)
    names = [str(n) for n in class_names]
    if coef_arr.ndim != 2 or coef_arr.shape[1] != height * width:
        raise ValueError(
            f"Expected coef of shape (n_classes, {height * width}) for images of shape "
            f"{(height, width)}. Got shape {coef_arr.shape} instead."
        )
    if coef_arr.shape[0] == 1 and len(names) == 2:
        titles = [f"{names[1]} vs {names[0]}"]
    elif coef_arr.shape[0] == len(names):
        titles = names
    else:
        raise ValueError(
            f"Expected {coef_arr.shape[0]} class names for coef of shape {coef_arr.shape}. "
            f"Got {len(names)} instead."
        )
    limit = float(np.abs(coef_arr).max()) or 1.0
    nrows, ncols = _grid(coef_arr.shape[0], max_cols)
    fig = new_figure((1.9 * ncols + 1.0, 2.0 * nrows + 0.7))
    axes = np.atleast_1d(fig.subplots(nrows, ncols, squeeze=False)).ravel()
    image = None
    for ax, row, title in zip(axes, coef_arr, titles, strict=False):
        image = ax.imshow(row.reshape(height, width), cmap=DIVERGING_CMAP, vmin=-limit,
                          vmax=limit)
        ax.set_title(title)
        ax.set_axis_off()
    for ax in axes[coef_arr.shape[0]:]:
        ax.set_axis_off()
    assert image is not None  # coef has at least one row
    colorbar = fig.colorbar(image, ax=list(axes), shrink=0.85, aspect=30)
    colorbar.set_label("weight (red: for the class, blue: against)")
    colorbar.outline.set_visible(False)
    fig.suptitle("Coefficients of each class, as images", fontweight="bold")
    return fig


@styled
def plot_misclassified(
    images: ArrayLike,
    y_true: ArrayLike,
    y_pred: ArrayLike,
    proba: ArrayLike,
    class_names: Sequence[str],
    image_shape: tuple[int, int],
    n: int = 25,
    *,
    classes: ArrayLike | None = None,
    max_cols: int = 5,
) -> Figure:
    """Gallery of the most confident mistakes: true and predicted labels, predicted probability.

    Mistakes (``y_true != y_pred``) are sorted by the probability of the predicted class, highest
    first, and the first ``n`` are shown.

    Parameters
    ----------
    images : array-like of shape (n_samples, n_features) or (n_samples, height, width)
    y_true, y_pred : array-like of shape (n_samples,)
    proba : array-like of shape (n_samples, n_classes)
    class_names : sequence of str, length n_classes
        Display names of the columns of ``proba``.
    image_shape : tuple of int (height, width)
    n : int, default=25
        Most mistakes to show.
    classes : array-like of shape (n_classes,), default=None
        Labels of the columns; ``None`` means ``0 .. n_classes - 1``.
    max_cols : int, default=5

    Returns
    -------
    fig : Figure
        One panel per mistake shown (titled ``"true A → pred B"`` and the probability), or one
        panel saying there are none.
    """
    names = [str(c) for c in class_names]
    classes_arr = np.arange(len(names)) if classes is None else np.asarray(classes)
    if classes_arr.size != len(names):
        raise ValueError(
            f"Expected {classes_arr.size} class names, one per class. Got {len(names)} instead."
        )
    true_index = encode_labels(y_true, classes_arr)
    pred_index = encode_labels(y_pred, classes_arr)
    proba_arr = check_proba(proba, true_index.size, classes_arr.size)
    height, width = (int(s) for s in image_shape)
    pixels = np.asarray(images, dtype=float).reshape(true_index.size, -1)
    if pixels.shape[1] != height * width:
        raise ValueError(
            f"Expected images of shape (n_samples, {height * width}) or (n_samples, {height}, "
            f"{width}). Got shape {np.shape(images)} instead."
        )
    wrong = np.flatnonzero(true_index != pred_index)
    confidence = proba_arr[wrong, pred_index[wrong]]
    shown = wrong[np.argsort(-confidence, kind="stable")][: max(n, 0)]
    if shown.size == 0:
        fig = new_figure((4.0, 1.6))
        ax = fig.add_subplot()
        ax.set_axis_off()
        ax.text(0.5, 0.5, "No misclassified samples.", ha="center", va="center")
        return fig
    nrows, ncols = _grid(shown.size, max_cols)
    fig = new_figure((1.75 * ncols + 0.3, 2.05 * nrows + 0.6))
    axes = fig.subplots(nrows, ncols, squeeze=False).ravel()
    for ax, i in zip(axes, shown, strict=False):
        ax.imshow(pixels[i].reshape(height, width), cmap=IMAGE_CMAP)
        t, p = true_index[i], pred_index[i]
        prob = proba_arr[i, p]
        prob_text = "p > 0.9999" if prob > 0.9999 else f"p = {prob:.4f}"
        ax.set_title(f"true {names[t]} \u2192 pred {names[p]}\n{prob_text}",
                     fontsize=8.5, color=ERROR_COLOR, fontweight="normal")
        ax.set_axis_off()
    for ax in axes[shown.size:]:
        ax.set_axis_off()
    fig.suptitle(f"Most confident mistakes: {shown.size} of {wrong.size} errors",
                 fontweight="bold")
    return fig
