"""Figures of test-set predictions: confusion matrix, ROC curves, reliability diagram, and the
comparison's accuracy bars.

Each ``plot_x(..., ax=None)`` draws into ``ax`` (or a new figure's axes) and returns the axes;
multi-panel helpers return the :class:`~matplotlib.figure.Figure`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import NullFormatter
from mpl_toolkits.axes_grid1 import make_axes_locatable
from numpy.typing import ArrayLike
from sklearn import metrics as skm

from mnist_logreg.evaluation._metrics import (
    DEFAULT_N_BINS,
    calibration_bins,
    check_proba,
    encode_labels,
)
from mnist_logreg.evaluation._style import (
    PALETTE,
    SEQUENTIAL_CMAP,
    axes_or_new,
    new_figure,
    series_style,
    styled,
)


def _square_matrix(cm: ArrayLike, n_names: int) -> np.ndarray:
    cm = np.asarray(cm, dtype=float)
    if cm.ndim != 2 or cm.shape[0] != cm.shape[1] or cm.shape[0] != n_names:
        raise ValueError(
            f"Expected a confusion matrix of shape ({n_names}, {n_names}) for {n_names} class "
            f"names. Got shape {cm.shape} instead."
        )
    return cm


@styled
def plot_confusion_matrix(
    cm: ArrayLike,
    class_names: Sequence[str],
    normalize: bool = False,
    ax: Axes | None = None,
) -> Axes:
    """Draw a confusion matrix as an annotated heat map.

    Parameters
    ----------
    cm : array-like of shape (n_classes, n_classes)
        Counts; rows are true classes, columns predicted classes.
    class_names : sequence of str, length n_classes
    normalize : bool, default=False
        Divide each row by its total: cell ``(i, j)`` becomes the fraction of class ``i`` predicted
        as ``j``, and the diagonal is each class's recall. Empty rows stay 0.
    ax : Axes, default=None
        Where to draw; ``None`` makes a new figure.

    Returns
    -------
    ax : Axes
    """
    names = [str(n) for n in class_names]
    counts = _square_matrix(cm, len(names))
    n_classes = len(names)
    if normalize:
        totals = counts.sum(axis=1, keepdims=True)
        values = np.divide(counts, totals, out=np.zeros_like(counts), where=totals > 0)
        vmax = 1.0
    else:
        values = counts
        vmax = max(float(values.max()), 1.0)
    ax = axes_or_new(ax, (6.0, 5.2))
    image = ax.imshow(values, cmap=SEQUENTIAL_CMAP, vmin=0.0, vmax=vmax)
    ax.grid(False)
    fontsize = float(np.clip(80.0 / n_classes, 5.0, 10.0))
    for (i, j), v in np.ndenumerate(values):
        if normalize:
            text = f"{v:.2f}" if v > 0 else "0"
        else:
            text = f"{round(v)}"
        ax.text(j, i, text, ha="center", va="center", fontsize=fontsize,
                color="white" if v > 0.55 * vmax else "#222222")
    ax.set_xticks(range(n_classes), names)
    ax.set_yticks(range(n_classes), names)
    if max((len(n) for n in names), default=0) > 3:
        ax.tick_params(axis="x", labelrotation=45)
    ax.set_xlabel("Predicted label")
    ax.set_ylabel("True label")
    ax.set_title("Confusion matrix, row-normalized (recall)" if normalize
                 else "Confusion matrix (counts)")
    for side in ("top", "right", "bottom", "left"):
        ax.spines[side].set_visible(False)
    colorbar = ax.figure.colorbar(image, ax=ax, fraction=0.046, pad=0.03)
    colorbar.set_label("fraction of the true class" if normalize else "images")
    colorbar.outline.set_visible(False)
    return ax


@styled
def plot_confusion_matrices(cm: ArrayLike, class_names: Sequence[str]) -> Figure:
    """Two panels side by side: counts and the row-normalized matrix.

    Parameters
    ----------
    cm : array-like of shape (n_classes, n_classes)
    class_names : sequence of str, length n_classes

    Returns
    -------
    fig : Figure
    """
    fig = new_figure((12.0, 5.2))
    left, right = fig.subplots(1, 2)
    plot_confusion_matrix(cm, class_names, normalize=False, ax=left)
    plot_confusion_matrix(cm, class_names, normalize=True, ax=right)
    return fig


@styled
def plot_roc_curves(
    y_true: ArrayLike,
    proba: ArrayLike,
    classes: ArrayLike,
    ax: Axes | None = None,
    *,
    class_names: Sequence[str] | None = None,
    zoom: bool = True,
) -> Axes:
    """Draw one-vs-rest ROC curves, one per class, with each AUC in the legend.

    For two classes a single curve is drawn: the positive class ``classes[1]`` against the other.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
    proba : array-like of shape (n_samples, n_classes)
        Columns in the order of ``classes``.
    classes : array-like of shape (n_classes,)
    ax : Axes, default=None
    class_names : sequence of str, default=None
        Display names of the classes; ``str`` of each class by default.
    zoom : bool, default=True
        Add an inset magnifying the top-left corner (FPR <= 0.2, TPR >= 0.8), where good
        classifiers' curves crowd together.

    Returns
    -------
    ax : Axes
        Its ``lines`` are the class curves (in class order) followed by the chance diagonal.
    """
    classes = np.asarray(classes)
    y_index = encode_labels(y_true, classes)
    proba_arr = check_proba(proba, y_index.size, classes.size)
    names = [str(c) for c in classes] if class_names is None else [str(n) for n in class_names]
    if len(names) != classes.size:
        raise ValueError(f"Expected {classes.size} class names. Got {len(names)} instead.")
    ax = axes_or_new(ax, (6.4, 5.8))
    shown = [1] if classes.size == 2 else list(range(classes.size))
    curves = []
    for position, k in enumerate(shown):
        positive = y_index == k
        if positive.all() or not positive.any():
            continue  # undefined: this class (or its complement) is absent
        fpr, tpr, _ = skm.roc_curve(positive, proba_arr[:, k])
        auc = skm.auc(fpr, tpr)
        label = f"{names[k]}  (AUC {auc:.4f})"
        if classes.size == 2:
            label = f"{names[1]} vs {names[0]}  (AUC {auc:.4f})"
        ax.plot(fpr, tpr, label=label, linewidth=1.4, **series_style(position))
        curves.append((fpr, tpr, series_style(position)))
    ax.plot([0, 1], [0, 1], color="#888888", linestyle=":", linewidth=1.0, label="chance")
    ax.set_xlim(-0.01, 1.0)
    ax.set_ylim(0.0, 1.01)
    ax.set_aspect("equal")
    ax.set_xlabel("False positive rate")
    ax.set_ylabel("True positive rate")
    ax.set_title("ROC curves, one class vs the rest")
    ax.legend(loc="lower right", title="class", title_fontsize=8.5, frameon=True,
              framealpha=0.92, edgecolor="#dddddd")
    if zoom and curves:
        inset = ax.inset_axes((0.2, 0.3, 0.42, 0.42))
        for fpr, tpr, style in curves:
            inset.plot(fpr, tpr, linewidth=1.2, **style)
        inset.set_xlim(0.0, 0.2)
        inset.set_ylim(0.8, 1.0)
        inset.tick_params(labelsize=7)
        inset.set_title("zoom", fontsize=8, fontweight="normal")
        for side in ("top", "right"):
            inset.spines[side].set_visible(True)
        ax.indicate_inset_zoom(inset, edgecolor="#555555")
    return ax


@styled
def plot_reliability_diagram(
    y_true: ArrayLike,
    proba: ArrayLike,
    n_bins: int = DEFAULT_N_BINS,
    ax: Axes | None = None,
    *,
    classes: ArrayLike | None = None,
) -> Axes:
    """Draw a reliability diagram: accuracy against top-label confidence, with bin counts below.

    Bars show the accuracy in each equal-width confidence bin, dots the bin's mean confidence;
    a calibrated model has both on the diagonal. A lower panel shows how
    many samples fall in each bin, on a log scale. The title gives the expected calibration error.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
    proba : array-like of shape (n_samples, n_classes)
    n_bins : int, default=15
    ax : Axes, default=None
    classes : array-like of shape (n_classes,), default=None
        Labels of the columns of ``proba``; ``None`` means ``0 .. n_classes - 1``.

    Returns
    -------
    ax : Axes
        The upper panel. The counts panel shares its x axis and is the figure's next axes: a
        second row of the new figure (``ax=None``), or carved out of the bottom of ``ax``.
    """
    table = calibration_bins(y_true, proba, classes, n_bins=n_bins)
    if ax is None:
        fig = new_figure((6.0, 6.6))
        ax, counts_ax = fig.subplots(2, 1, sharex=True, height_ratios=(3.2, 1.0))
    else:  # carve the counts panel out of the caller's axes
        counts_ax = make_axes_locatable(ax).append_axes("bottom", size="30%", pad=0.12,
                                                        sharex=ax)
    width = 1.0 / n_bins
    centers = table.edges[:-1] + width / 2
    filled = table.counts > 0
    ax.bar(centers[filled], table.accuracy[filled], width=width * 0.92, color=PALETTE[0],
           alpha=0.85, label="accuracy in bin")
    ax.bar(centers[filled], (table.mean_confidence - table.accuracy)[filled],
           bottom=table.accuracy[filled], width=width * 0.92, color="none",
           edgecolor=PALETTE[3], hatch="///", linewidth=0.8, label="gap to confidence")
    ax.plot(table.mean_confidence[filled], table.accuracy[filled], "o", color=PALETTE[1],
            markersize=4, markeredgecolor="black", markeredgewidth=0.5,
            label="(mean confidence, accuracy)")
    ax.plot([0, 1], [0, 1], color="#555555", linestyle="--", linewidth=1.0,
            label="perfect calibration")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.02)
    ax.set_ylabel("Accuracy")
    ax.tick_params(labelbottom=False)
    ax.set_xlabel("")
    ax.set_title(f"Reliability diagram (ECE = {table.ece:.4f}, {n_bins} bins)")
    ax.legend(loc="upper left")
    counts_ax.bar(centers, np.maximum(table.counts, 0), width=width * 0.92, color="#888888")
    if table.counts.max() > 0:
        counts_ax.set_yscale("log")
        counts_ax.yaxis.set_minor_formatter(NullFormatter())
    counts_ax.set_xlabel("Confidence (top-label probability)")
    counts_ax.set_ylabel("samples")
    counts_ax.spines["top"].set_visible(False)
    counts_ax.spines["right"].set_visible(False)
    return ax


@styled
def plot_accuracy_comparison(
    labels: Sequence[str],
    accuracy: Sequence[float],
    intervals: Sequence[Sequence[float] | None],
    ax: Axes | None = None,
) -> Axes:
    """Horizontal bars of test accuracy with 95% confidence-interval error bars, best on top.

    Parameters
    ----------
    labels : sequence of str, length n_models
    accuracy : sequence of float, length n_models
    intervals : sequence of [low, high] or None, length n_models
    ax : Axes, default=None

    Returns
    -------
    ax : Axes
        The x axis starts at a round value below the lowest interval (stated in its label), so
        that differences of a fraction of a percent stay visible.
    """
    values = np.asarray(accuracy, dtype=float)
    order = np.argsort(-values, kind="stable")
    lows = np.array([values[i] if iv is None or iv[0] is None else float(iv[0])
                     for i, iv in enumerate(intervals)])
    highs = np.array([values[i] if iv is None or iv[1] is None else float(iv[1])
                      for i, iv in enumerate(intervals)])
    ax = axes_or_new(ax, (7.5, 0.6 * len(values) + 1.6))
    positions = np.arange(len(values))[::-1]
    start = max(0.0, math.floor((float(lows.min()) - 0.02) * 20) / 20) if values.size else 0.0
    for pos, i in zip(positions, order, strict=True):
        ax.barh(pos, values[i] - start, left=start, color=PALETTE[i % len(PALETTE)], height=0.6,
                alpha=0.85)
        ax.errorbar(values[i], pos, xerr=[[values[i] - lows[i]], [highs[i] - values[i]]],
                    fmt="none", ecolor="#222222", capsize=4, linewidth=1.2)
        ax.text(highs[i] + 0.002, pos, f"{values[i]:.4f}", va="center", fontsize=9)
    ax.set_yticks(positions, [labels[i] for i in order])
    ax.set_xlim(start, min(1.0, float(highs.max()) + 0.02) if values.size else 1.0)
    ax.set_xlabel(f"Test accuracy with 95% bootstrap interval (axis starts at {start:.2f})")
    ax.set_title("Test accuracy by model")
    ax.grid(axis="y", visible=False)
    return ax
