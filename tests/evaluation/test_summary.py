"""Tests of the Jupyter summaries of a study's and a comparison's results (``_repr_html_``)."""

from __future__ import annotations

import re
from typing import Any

from mnist_logreg.evaluation import boundary_notes, comparison_summary_html, study_summary_html
from mnist_logreg.study import ComparisonResult, StudyResult

HOSTILE = '<script>alert("x")</script>'


def study_results() -> dict[str, Any]:
    """A minimal metrics.json of a three-fold study, with a hostile dataset name."""
    folds = [
        {"fold": k, "best_params": {"C": c}, "validation": {"accuracy": acc},
         "seconds": {"search": 1.0, "refit": 0.5}}
        for k, c, acc in ((1, 0.0103, 0.91), (2, 0.25, 0.92), (3, 7.5, 0.93))
    ]
    return {
        "dataset": {"name": HOSTILE},
        "folds": folds,
        "outer_summary": {"accuracy": {"mean": 0.92, "std": 0.0082}},
        "final": {"best_params": {"C": 0.0417}},
        "test": {"accuracy": {"value": 0.9243, "ci95": [0.919, 0.929]}},
    }


def comparison_results() -> dict[str, Any]:
    """A minimal metrics.json of a comparison of two models over two folds."""
    def model(label: str, accuracy: float, params: list[dict[str, Any]]) -> dict[str, Any]:
        return {
            "label": label,
            "best_params": params[-1],
            "folds": [{"fold": i + 1, "best_params": p} for i, p in enumerate(params[:-1])],
            "outer_summary": {"accuracy": {"mean": accuracy - 0.01, "std": 0.002}},
            "test": {"accuracy": {"value": accuracy, "ci95": [accuracy - 0.01, accuracy + 0.01]}},
        }
    return {
        "dataset": {"name": "digits"},
        "config": {"outer": 2},
        "models": {
            "lr": model("Logistic regression", 0.9711, [{"C": 0.43}, {"C": 0.97}, {"C": 0.49}]),
            "knn": model("k-NN <b>", 0.9822, [{"n_neighbors": 1}, {"n_neighbors": 3},
                                              {"n_neighbors": 1}]),
        },
    }


def rows(html: str) -> list[list[str]]:
    """The cells of every body row of the summary's tables."""
    body = "".join(re.findall(r"<tbody>(.*?)</tbody>", html, re.DOTALL))
    return [re.findall(r"<td>(.*?)</td>", row) for row in re.findall(r"<tr.*?</tr>", body)]


def test_study_summary_shows_headline_metrics_and_c_per_fold() -> None:
    """Test that the study summary shows the test accuracy with its interval, the outer CV mean,
    the final C and one row per fold with its chosen C and validation accuracy."""
    html = study_summary_html(study_results())
    assert "0.9243" in html and "95% CI [0.9190, 0.9290]" in html
    assert "0.9200" in html and "0.0417" in html
    assert [row[:3] for row in rows(html)] == [
        ["1", "0.0103", "0.9100"], ["2", "0.25", "0.9200"], ["3", "7.5", "0.9300"],
    ]


def test_study_summary_escapes_text_and_has_no_script() -> None:
    """Test that a dataset name holding markup is escaped and the fragment holds no script."""
    html = study_summary_html(study_results())
    assert "<script" not in html
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in html
    assert html.startswith('<div class="mnist-logreg-summary">')
    assert html.rstrip().endswith("</div>")


def test_comparison_summary_shows_each_model_and_its_choices_per_fold() -> None:
    """Test that the comparison summary has one row per model with its test accuracy, interval,
    final choice and the choice of each fold, the most accurate model highlighted."""
    html = comparison_summary_html(comparison_results())
    assert rows(html) == [
        ["Logistic regression (lr)", "0.9711", "[0.9611, 0.9811]", "0.9611 ± 0.0020",
         "C=0.49", "C=0.43; C=0.97"],
        ["k-NN &lt;b&gt; (knn)", "0.9822", "[0.9722, 0.9922]", "0.9722 ± 0.0020",
         "n_neighbors=1", "n_neighbors=1; n_neighbors=3"],
    ]
    assert re.search(r'<tr class="chosen"><td>k-NN', html)
    assert "Most accurate (knn)" in html


def test_result_objects_render_their_summaries() -> None:
    """Test that StudyResult and ComparisonResult show these summaries in Jupyter."""
    study = StudyResult(results=study_results(), figures={}, model=None, report_html="",
                        report_markdown="", classification_report="")
    comparison = ComparisonResult(results=comparison_results(), figures={}, report_html="",
                                  report_markdown="", predictions_csv="")
    assert study._repr_html_() == study_summary_html(study.results)
    assert comparison._repr_html_() == comparison_summary_html(comparison.results)
    assert "0.0417" in study._repr_html_() and "k-NN" in comparison._repr_html_()


def test_empty_results_give_a_bare_summary() -> None:
    """Test that results without folds, test metrics or models still render, without tables."""
    assert "<table" not in study_summary_html({})
    assert "<table" not in comparison_summary_html({})


def _range(initial_edge, edge, searched, *, expanded=False, limit_reached=False):
    return {"initial": [0.01, 10.0], "searched": searched, "initial_edge": initial_edge,
            "edge": edge, "expanded": expanded, "limit_reached": limit_reached,
            "segments": [{"side": "initial", "candidates": 3}]
            + ([{"side": initial_edge, "candidates": 1}] if expanded else [])}


def test_study_summary_flags_edge_strata_as_the_console_does() -> None:
    """Test that the Jupyter summary shows the console's boundary lines (an extended range, a
    best C still at an edge) and the table of ranges, and nothing of it when every search was
    interior."""
    results = study_results()
    results["folds"][0]["range"] = _range("low", "low", [0.01, 10.0])
    results["folds"][1]["range"] = _range(None, None, [0.01, 10.0])
    results["final"]["range"] = _range("high", None, [0.01, 100.0], expanded=True)
    notes = boundary_notes(results)
    assert notes == [
        "WARNING fold 1: best C in the low edge stratum of [0.01, 10]; the optimum may lie "
        "beyond (expand_range=True searches further).",
        "Note: final search: best C was in the high edge stratum of [0.01, 10]; range extended "
        "to [0.01, 100], best now interior.",
    ]
    html = study_summary_html(results)
    for note in notes:
        assert f'<p class="callout">{note}</p>' in html
    assert "<caption>C range: searches whose best C was at an edge</caption>" in html
    assert rows(html)[:3] == [
        ["Fold 1", "[0.01, 10]", "low edge", "[0.01, 10]", "0", "low edge"],
        ["Fold 2", "[0.01, 10]", "interior", "[0.01, 10]", "0", "interior"],
        ["Final", "[0.01, 10]", "high edge", "[0.01, 100]", "1", "interior"],
    ]
    assert boundary_notes(results, expand_option="--expand-range")[0].endswith(
        "(--expand-range searches further).")
    results["folds"][0]["range"] = _range(None, None, [0.01, 10.0])
    results["final"]["range"] = _range(None, None, [0.01, 10.0])
    assert boundary_notes(results) == []
    assert "C range" not in study_summary_html(results)
    assert "callout" not in study_summary_html(results).split("</style>")[1]


def test_boundary_notes_warn_when_the_extension_limit_is_reached() -> None:
    """Test that a search still at an edge after extending says the limit was reached."""
    results = {"final": {"range": _range("high", "high", [0.01, 1e4], expanded=True,
                                         limit_reached=True)}}
    assert boundary_notes(results) == [
        "WARNING final search: best C still in the high edge stratum of the searched "
        "[0.01, 1e+04] (the extension limit was reached); the optimum may lie beyond."
    ]
