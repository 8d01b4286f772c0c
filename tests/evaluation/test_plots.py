"""Tests of the figures: return types, expected artists, PNG export."""

from __future__ import annotations

import numpy as np
import pytest
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.image import AxesImage

from mnist_logreg.evaluation import (
    figure_to_png,
    fold_curves,
    plot_coefficients,
    plot_confusion_matrices,
    plot_confusion_matrix,
    plot_misclassified,
    plot_reliability_diagram,
    plot_roc_curves,
    plot_validation_curve,
    study_figures,
)

from .conftest import make_predictions

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _curves(n_folds: int = 3) -> list[tuple[list[float], list[float], list[float], float]]:
    c_values = [0.01, 0.1, 1.0, 10.0]
    return [(c_values, [0.90, 0.92 + 0.001 * f, 0.91, 0.89], [0.01] * 4, 0.1)
            for f in range(n_folds)]


def test_confusion_matrix_counts_and_normalized() -> None:
    """Test that the heat map annotates each cell and the normalized variant shows row fractions."""
    cm = np.array([[8, 2, 0], [1, 9, 0], [0, 0, 0]])
    ax = plot_confusion_matrix(cm, ["a", "b", "c"])
    assert isinstance(ax, Axes)
    assert [t.get_text() for t in ax.texts][:3] == ["8", "2", "0"]
    assert "counts" in ax.get_title()
    ax = plot_confusion_matrix(cm, ["a", "b", "c"], normalize=True)
    assert [t.get_text() for t in ax.texts][:3] == ["0.80", "0.20", "0"]
    np.testing.assert_allclose(ax.images[0].get_array()[2], 0.0)  # empty row stays 0
    assert "row-normalized" in ax.get_title()


def test_confusion_matrices_figure_has_two_panels() -> None:
    """Test that the two-panel helper draws counts and row-normalized matrices side by side."""
    fig = plot_confusion_matrices(np.eye(3, dtype=int) * 5, ["0", "1", "2"])
    assert isinstance(fig, Figure)
    titles = [ax.get_title() for ax in fig.axes if ax.images]
    assert len(titles) == 2 and "counts" in titles[0] and "row-normalized" in titles[1]


def test_confusion_matrix_rejects_wrong_shape() -> None:
    """Test that a matrix not matching the class names raises with both shapes."""
    with pytest.raises(ValueError, match=r"\(2, 2\).*\(3, 3\)"):
        plot_confusion_matrix(np.eye(3), ["a", "b"])


def test_roc_curves_one_line_per_class(predictions) -> None:
    """Test that there is one ROC line per class with its AUC, plus the chance diagonal."""
    ax = plot_roc_curves(predictions.y_true, predictions.proba, predictions.classes)
    labels = [line.get_label() for line in ax.lines]
    assert len(labels) == predictions.classes.size + 1
    assert all("AUC" in label for label in labels[:-1]) and labels[-1] == "chance"
    assert ax.get_title() and ax.get_xlabel() == "False positive rate"
    assert len(ax.child_axes) == 1  # the zoom inset


def test_roc_curves_binary_draws_one_curve_into_given_axes() -> None:
    """Test that two classes give a single curve, drawn into the axes passed in."""
    p = make_predictions(80, 2, seed=4, classes=["neg", "pos"])
    ax = Figure().add_subplot()
    assert plot_roc_curves(p.y_true, p.proba, p.classes, ax=ax, zoom=False) is ax
    assert [line.get_label().split("  ")[0] for line in ax.lines] == ["pos vs neg", "chance"]


def test_validation_curve_lines_bands_and_chosen_c() -> None:
    """Test one line and band per fold, a star per fold, the chosen C and a log x axis."""
    ax = plot_validation_curve(_curves(3), chosen_C=0.1)
    fold_lines = [ln for ln in ax.lines if ln.get_label().startswith("fold")]
    stars = [ln for ln in ax.lines if ln.get_marker() == "*"]
    assert len(fold_lines) == 3 and len(stars) == 3
    assert len(ax.collections) == 3  # the std bands
    assert any(ln.get_label().startswith("final C") for ln in ax.lines)
    assert ax.get_xscale() == "log" and "accuracy" in ax.get_ylabel()


def test_fold_curves_reads_metrics_json_folds() -> None:
    """Test that the metrics.json folds turn into (C, mean, std, best C) per fold."""
    folds = [{"best_params": {"C": 1.0}, "candidates": [
        {"C": 1.0, "mean_score": 0.9, "std_score": 0.01},
        {"C": 0.1, "mean_score": 0.8, "std_score": 0.02}]}, {"best_params": {"C": 2.0}}]
    curves = fold_curves(folds)
    assert len(curves) == 1
    assert curves[0].C == [1.0, 0.1] and curves[0].best_C == 1.0


def test_coefficients_grid_symmetric_colormap() -> None:
    """Test one image per class on a color scale symmetric around zero."""
    coef = np.random.default_rng(0).normal(size=(4, 12))
    fig = plot_coefficients(coef, (3, 4), ["a", "b", "c", "d"])
    images = [im for ax in fig.axes for im in ax.images]
    assert isinstance(fig, Figure) and len(images) == 4
    vmin, vmax = images[0].get_clim()
    assert vmin == -vmax == -np.abs(coef).max()
    assert [ax.get_title() for ax in fig.axes if ax.images] == ["a", "b", "c", "d"]
    with pytest.raises(ValueError, match=r"coef of shape \(n_classes, 9\)"):
        plot_coefficients(coef, (3, 3), ["a", "b", "c", "d"])


def test_misclassified_gallery_most_confident_first() -> None:
    """Test that the gallery shows the n most confident mistakes, with labels and probability."""
    p = make_predictions(200, 3, seed=6, signal=0.5)
    images = np.random.default_rng(0).random((200, 16))
    fig = plot_misclassified(images, p.y_true, p.y_pred, p.proba, ["x", "y", "z"], (4, 4), n=6)
    titles = [ax.get_title() for ax in fig.axes if ax.images]
    assert len(titles) == 6 and all(t.startswith("true ") and "pred" in t for t in titles)
    wrong = p.y_true != p.y_pred
    top = np.sort(p.proba.max(axis=1)[wrong])[::-1][0]
    assert titles[0].endswith(f"p = {top:.4f}")


def test_misclassified_without_mistakes() -> None:
    """Test that a perfect classifier gives a figure saying there is nothing to show."""
    proba = np.eye(3)
    fig = plot_misclassified(np.zeros((3, 4)), [0, 1, 2], [0, 1, 2], proba, ["a", "b", "c"],
                             (2, 2))
    assert "No misclassified" in fig.axes[0].texts[0].get_text()


def test_reliability_diagram_has_bins_counts_and_ece(predictions) -> None:
    """Test the accuracy bars, the counts panel, the diagonal and the ECE in the title."""
    ax = plot_reliability_diagram(predictions.y_true, predictions.proba, n_bins=10)
    assert isinstance(ax, Axes)
    assert "ECE" in ax.get_title()
    assert len(ax.figure.axes) == 2  # reliability + counts
    assert any(line.get_label() == "perfect calibration" for line in ax.lines)
    counts_ax = ax.figure.axes[1]
    assert sum(p.get_height() for p in counts_ax.patches) == predictions.y_true.size


def test_reliability_diagram_into_given_axes(predictions) -> None:
    """Test that drawing into a caller's axes returns them and adds the counts panel."""
    fig = Figure()
    ax = fig.add_subplot()
    assert plot_reliability_diagram(predictions.y_true, predictions.proba, ax=ax) is ax
    assert len(fig.axes) == 2


def test_figure_to_png_returns_png_bytes() -> None:
    """Test that figure_to_png returns bytes starting with the PNG signature."""
    fig = plot_confusion_matrices(np.eye(2, dtype=int), ["a", "b"])
    png = figure_to_png(fig, dpi=40)
    assert isinstance(png, bytes) and png.startswith(PNG_SIGNATURE)


def test_study_figures_draws_every_figure(predictions) -> None:
    """Test that the one-call helper returns each report figure whose inputs are given."""
    folds = [{"best_params": {"C": 0.1}, "candidates": [
        {"C": c, "mean_score": s, "std_score": 0.01} for c, s in [(0.01, 0.8), (0.1, 0.9)]]}]
    images = np.zeros((predictions.y_true.size, 4))
    figures = study_figures(predictions.y_true, predictions.proba, predictions.classes,
                            folds=folds, chosen_C=0.1, coef=np.ones((4, 4)), images=images,
                            image_shape=(2, 2))
    assert set(figures) == {"confusion_matrix", "roc_curves", "validation_curve", "coefficients",
                            "misclassified", "reliability_diagram"}
    assert all(isinstance(f, Figure) for f in figures.values())
    assert any(isinstance(a, AxesImage) for ax in figures["coefficients"].axes for a in ax.images)
    minimal = study_figures(predictions.y_true, predictions.proba, predictions.classes)
    assert set(minimal) == {"confusion_matrix", "roc_curves", "reliability_diagram"}
