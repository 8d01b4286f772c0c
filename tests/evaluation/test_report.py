"""Tests of the report renderers: HTML self-containment and escaping, Markdown, text report."""

from __future__ import annotations

import base64
import re
from typing import Any

import numpy as np
import pytest

from mnist_logreg.evaluation import (
    PROTOCOL_SUMMARY,
    evaluate_predictions,
    figure_to_png,
    plot_confusion_matrices,
    render_classification_report,
    render_html,
    render_markdown,
)

from .conftest import make_predictions

EVIL = "<script>alert('x')</script>"


@pytest.fixture(scope="module")
def results() -> dict[str, Any]:
    """A metrics.json-shaped result with a malicious class name and a URL in the dataset block."""
    p = make_predictions(200, 3, seed=9, classes=np.array(["cat", "dog", EVIL]))
    test = evaluate_predictions(p.y_true, p.proba, p.classes, n_bootstrap=50, random_state=0)
    folds = [
        {"fold": k, "best_params": {"C": 0.1 * k},
         "candidates": [{"C": c, "mean_score": 0.9, "std_score": 0.01} for c in (0.01, 0.1, 1.0)],
         "validation": {"accuracy": 0.90 + 0.01 * k, "f1_macro": 0.89, "log_loss": 0.3},
         "seconds": {"search": 1.5, "refit": 0.5}}
        for k in (1, 2, 3)
    ]
    return {
        "schema": 1,
        "command": "study --dataset digits",
        "dataset": {"name": "digits", "source": "https://example.org/data.gz", "n_test": 200},
        "config": {"outer": 3, "inner": 2, "candidates": 3, "c_min": 0.01, "c_max": 1.0,
                   "sampling": "loguniform", "scoring": "accuracy", "seed": 42,
                   "note": "url(http://evil.example/x.css) @import"},
        "versions": {"numpy": np.__version__},
        "folds": folds,
        "final": {"best_params": {"C": 0.1}, "scoring": "accuracy",
                  "candidates": folds[0]["candidates"]},
        "test": test,
        "timings": {"total_seconds": 75.0, "tasks": 12},
    }


@pytest.fixture(scope="module")
def pngs() -> dict[str, bytes]:
    """Two real (tiny) PNG figures."""
    return {name: figure_to_png(plot_confusion_matrices(np.eye(2, dtype=int), ["a", "b"]), dpi=20)
            for name in ("confusion_matrix", "roc_curves")}


def test_html_has_no_external_references(results, pngs) -> None:
    """Test that the page has no URL, protocol-relative source, import, url() or script."""
    page = render_html(results, pngs)
    for needle in ("http://", "https://", 'src="//', "@import", "url(", "<script", "<link"):
        assert needle not in page, needle
    assert re.findall(r'src="([^"]*)"', page) and all(
        s.startswith("data:image/png;base64,") for s in re.findall(r'src="([^"]*)"', page))
    assert all(h.startswith("#") for h in re.findall(r'href="([^"]*)"', page))


def test_html_embeds_every_figure(results, pngs) -> None:
    """Test that each figure is embedded as a base64 data URI with its caption."""
    page = render_html(results, pngs)
    for png in pngs.values():
        assert base64.b64encode(png).decode() in page
    assert page.count("<figure") == 2 and page.count("<figcaption>") == 2
    assert "Confusion matrix of the final model" in page


def test_html_escapes_text(results, pngs) -> None:
    """Test that a malicious class name appears escaped, never as markup."""
    page = render_html(results, pngs)
    assert EVIL not in page and "<script" not in page
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in page


def test_html_content_sections(results, pngs) -> None:
    """Test the headline table with CIs, per-fold and per-class tables, protocol and config."""
    page = render_html(results, pngs)
    acc = results["test"]["accuracy"]
    assert f"{acc['value']:.4f}" in page
    assert f"[{acc['ci95'][0]:.4f}, {acc['ci95'][1]:.4f}]" in page
    assert "Validation accuracy" in page and "Chosen C" in page
    assert "Per-class metrics" in page and "cat" in page
    assert PROTOCOL_SUMMARY in page
    assert "loguniform" in page and "1 min 15 s" in page and ">12<" in page  # tasks not a time
    assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")


def test_renderers_accept_missing_blocks() -> None:
    """Test that empty or partial results render without the missing sections."""
    for results in ({}, {"test": {}}, {"folds": None, "final": {}}, {"dataset": "mnist"}):
        page = render_html(results, {})
        assert "</html>" in page and 'id="folds"' not in page and "<figure" not in page
        text = render_markdown(results, {})
        assert "## Outer folds" not in text and "## Figures" not in text
        assert render_classification_report(results)


def test_figure_names_may_carry_file_extensions(results, pngs) -> None:
    """Test that "roc_curves.png" keys get the captions and order of "roc_curves"."""
    page = render_html(results, {f"{k}.png": v for k, v in pngs.items()})
    assert "One-vs-rest ROC curve" in page and 'id="fig-roc_curves"' in page


def test_markdown_has_metrics_table_and_figure_paths(results) -> None:
    """Test that the Markdown report has the metrics table, escaped names and relative paths."""
    text = render_markdown(results, {"roc_curves": "roc_curves.png",
                                     "confusion_matrix": "confusion_matrix.png"})
    assert "| Metric | Test value | 95% CI | Better |" in text
    assert "| Accuracy | " in text
    assert "![confusion_matrix](confusion_matrix.png)" in text
    assert text.index("confusion_matrix.png") < text.index("roc_curves.png")
    outside_code = re.sub(r"```.*?```", "", text, flags=re.S)  # code blocks show text verbatim
    assert EVIL not in outside_code and "&lt;script&gt;" in outside_code
    assert "| **Mean ± std** |" in text


def test_classification_report_text(results) -> None:
    """Test the text report: scikit-learn's table, the intervals and the confusion matrix."""
    text = render_classification_report(results)
    assert "precision" in text and "macro avg" in text
    assert "Final model: C = 0.1" in text
    assert "Confusion matrix (rows: true class" in text
    assert "95% bootstrap" in text


def test_dataset_name_with_markup_is_escaped(results) -> None:
    """Test that a dataset name with markup is escaped in the study's HTML and Markdown."""
    name = '<img src=x onerror="alert(1)">'
    evil = {**results, "dataset": {**results["dataset"], "name": name}}
    page = render_html(evil, {})
    assert "<img" not in page
    # <title>, <h1>, the subtitle and the Dataset table
    assert page.count("&lt;img src=x onerror=&quot;alert(1)&quot;&gt;") == 4
    text = render_markdown(evil, {})
    assert "<img" not in text
    assert text.startswith('# Logistic regression on &lt;img src=x onerror="alert(1)"&gt;:')


def _range(initial_edge, edge, segments, limit=False):
    searched = [min(s[1] for s in segments), max(s[2] for s in segments)]
    return {"initial": [0.01, 10.0], "searched": searched, "initial_edge": initial_edge,
            "edge": edge, "expanded": len(segments) > 1, "limit_reached": limit,
            "segments": [{"side": s[0], "c_min": s[1], "c_max": s[2], "candidates": s[3]}
                         for s in segments]}


def test_range_section_flags_edges_and_is_absent_without_range_blocks() -> None:
    """Test that the C-range section shows a callout and a row per search, or nothing at all."""
    from mnist_logreg.evaluation._report import study_report

    initial = ("initial", 0.01, 10.0, 10)
    results = {
        "folds": [{"fold": 1, "best_params": {"C": 0.5}, "range": _range(None, None, [initial])},
                  {"fold": 2, "best_params": {"C": 0.004},
                   "range": _range("low", None, [initial, ("low", 0.001, 0.01, 4)])}],
        "final": {"best_params": {"C": 0.0002},
                  "range": _range("low", "low", [initial, ("low", 0.001, 0.01, 4),
                                                 ("low", 1e-4, 0.001, 4)], limit=True)},
    }
    report = study_report(results, [])
    section = next(s for s in report.sections if s.id == "range")
    callout, table = section.items[0], section.items[1]
    assert callout.style == "callout"
    assert callout.text.startswith("Boundary: the best C of 2 of 3 searches (Fold 2, Final) lay "
                                   "in the low edge stratum of the initial range [0.01, 10].")
    assert "In Final it is still in an edge stratum" in callout.text
    assert table.rows == (
        ("Fold 1", "[0.01, 10]", "interior", "[0.01, 10]", "0", "interior"),
        ("Fold 2", "[0.01, 10]", "low edge", "[0.001, 10]", "4", "interior"),
        ("Final", "[0.01, 10]", "low edge", "[0.0001, 10]", "8", "low edge (limit reached)"),
    )
    assert table.highlight == frozenset({2})
    assert next(c for c in report.cards if c.label == "Final model C").detail == (
        "in the low edge stratum of its range")
    # every search interior: the table stays, the callout goes; no range blocks: no section
    calm = {"folds": [results["folds"][0]]}
    calm_section = next(s for s in study_report(calm, []).sections if s.id == "range")
    assert [item.kind for item in calm_section.items] == ["table", "paragraph"]
    assert calm_section.items[1].style == "note"
    bare = {"folds": [{"fold": 1, "best_params": {"C": 0.5}}]}
    assert all(s.id != "range" for s in study_report(bare, []).sections)


def test_comparison_shows_the_range_block_of_models_that_record_one() -> None:
    """Test that the comparison report's C-range section names each model's searches."""
    from mnist_logreg.evaluation._compare_report import comparison_report

    initial = ("initial", 0.01, 10.0, 10)
    results = {"models": {
        "lr": {"folds": [{"fold": 1, "range": _range("high", None,
                                                     [initial, ("high", 10.0, 100.0, 4)])}],
               "final": {"range": _range(None, None, [initial])}},
        "knn": {"folds": [{"fold": 1, "best_params": {"n_neighbors": 3}}], "final": {}},
    }}
    section = next(s for s in comparison_report(results, []).sections if s.id == "range")
    assert section.items[0].text.startswith("Boundary: the best C of 1 of 2 searches (lr: Fold 1)")
    assert [row[:3] for row in section.items[1].rows] == [
        ("lr: Fold 1", "[0.01, 10]", "high edge"), ("lr: Final", "[0.01, 10]", "interior")]
    del results["models"]["lr"]
    assert all(s.id != "range" for s in comparison_report(results, []).sections)


def test_classification_report_text_from_per_class_without_sklearn_text() -> None:
    """Test that without scikit-learn's text the report tabulates per_class, support or a dash."""
    results = {"dataset": "toy", "test": {"n_samples": 5, "per_class": {
        "a": {"precision": 0.5, "recall": 1, "f1": 2 / 3, "support": 2, "roc_auc": 0.9},
        "b": {"precision": 1.0, "recall": 0.25, "f1": 0.4}}}}
    assert render_classification_report(results).splitlines()[3:] == [
        "             precision    recall  f1-score   support", "",
        "           a    0.5000    1.0000    0.6667         2",
        "           b    1.0000    0.2500    0.4000         —"]
