"""Short HTML summaries of a study's and a comparison's results, for Jupyter (``_repr_html_``).

A summary is a :class:`~mnist_logreg.evaluation._sections.Report` holding only the headline cards
and one table of the full report's model, rendered by ``templates/summary.html.j2`` with the same
escaping as the report: a few kilobytes, no figure, no script.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mnist_logreg.evaluation._compare_report import (
    _cards as _comparison_cards,
)
from mnist_logreg.evaluation._compare_report import (
    _headline,
    _label,
    _models,
    fmt_params,
)
from mnist_logreg.evaluation._compare_report import (
    report_title as comparison_title,
)
from mnist_logreg.evaluation._report import (
    _cards as _study_cards,
)
from mnist_logreg.evaluation._report import (
    as_float,
    as_mapping,
    dataset_name,
    fmt_interval,
    fmt_number,
    folds_table,
    report_title,
)
from mnist_logreg.evaluation._sections import Report, Table, _environment, section


def render_summary_html(report: Report) -> str:
    """Render a report's cards and tables as an HTML fragment (``templates/summary.html.j2``).

    Parameters
    ----------
    report : Report
        Only its title, cards and the tables of its sections are shown.

    Returns
    -------
    html : str
        One ``<div>`` with a scoped ``<style>``; every value escaped.
    """
    return _environment("html").get_template("summary.html.j2").render(report=report)


def study_summary_html(results: Mapping[str, Any]) -> str:
    """The study's summary: test accuracy, AUC, log-loss, outer CV accuracy, final C; C per fold.

    Parameters
    ----------
    results : mapping
        The study's ``metrics.json`` content (:attr:`StudyResult.results
        <mnist_logreg.study.StudyResult.results>`).

    Returns
    -------
    html : str
    """
    report = Report(report_title(results), None, dataset_name(results), _study_cards(results),
                    tuple(section("folds", "Outer folds: chosen C and validation metrics",
                                  folds_table(results))))
    return render_summary_html(report)


def comparison_models_table(results: Mapping[str, Any]) -> Table | None:
    """One row per model: test accuracy with its interval, outer CV accuracy, chosen values.

    Parameters
    ----------
    results : mapping
        The comparison's ``metrics.json`` content.

    Returns
    -------
    table : Table or None
        None when the results hold no model.
    """
    models = _models(results)
    if not models:
        return None
    rows = []
    for name, entry in models.items():
        accuracy = as_mapping(entry.get("test")).get("accuracy")
        summary = as_mapping(as_mapping(entry.get("outer_summary")).get("accuracy"))
        mean, std = as_float(summary.get("mean")), as_float(summary.get("std"))
        per_fold = [fmt_params(as_mapping(fold).get("best_params"))
                    for fold in entry.get("folds") or ()]
        rows.append((
            _label(name, entry),
            fmt_number(accuracy),
            fmt_interval(accuracy),
            "—" if mean is None or std is None else f"{mean:.4f} ± {std:.4f}",
            fmt_params(entry.get("best_params")),
            "; ".join(per_fold) or "—",
        ))
    best = _headline(results)
    highlight = frozenset() if best is None else frozenset({list(models).index(best[0])})
    headers = ("Model", "Test accuracy", "95% CI", "Outer CV accuracy", "Final choice",
               "Chosen per outer fold")
    return Table(headers, tuple(rows), highlight=highlight)


def comparison_summary_html(results: Mapping[str, Any]) -> str:
    """The comparison's summary: the most accurate model, then one row per model.

    Parameters
    ----------
    results : mapping
        The comparison's ``metrics.json`` content (:attr:`ComparisonResult.results
        <mnist_logreg.study.ComparisonResult.results>`).

    Returns
    -------
    html : str
    """
    report = Report(comparison_title(results), None, dataset_name(results),
                    _comparison_cards(results),
                    tuple(section("models", "Models", comparison_models_table(results))))
    return render_summary_html(report)
