"""Short summaries of a study's and a comparison's results: Jupyter's HTML and the console's lines.

A summary is a :class:`~mnist_logreg.evaluation._sections.Report` holding only the headline cards,
one table of the full report's model and, for a study whose searches met an edge of their C range,
the same flags as the ``study`` command's console summary (:func:`boundary_notes`) with the
report's table of ranges; rendered by ``templates/summary.html.j2`` with the same escaping as the
report: a few kilobytes, no figure, no script.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mnist_logreg.evaluation._compare_report import (
    best_row,
    comparison_cards,
    model_label,
    model_rows,
)
from mnist_logreg.evaluation._compare_report import report_title as comparison_title
from mnist_logreg.evaluation._report import folds_list, folds_table, report_title, study_cards
from mnist_logreg.evaluation._report_blocks import (
    as_mapping,
    dataset_name,
    fmt_interval,
    fmt_mean_std,
    fmt_number,
    fmt_params,
    range_table,
    search_ranges,
)
from mnist_logreg.evaluation._sections import Paragraph, Report, Table, _environment, section


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
    notes = boundary_notes(results)
    flags = (*[Paragraph(note, "callout") for note in notes],
             range_table(search_ranges(folds_list(results), results.get("final")))) if notes else ()
    report = Report(report_title(results), None, dataset_name(results), study_cards(results),
                    (*section("range", "C range: searches whose best C was at an edge", *flags),
                     *section("folds", "Outer folds: chosen C and validation metrics",
                              folds_table(results))))
    return render_summary_html(report)


def boundary_notes(
    results: Mapping[str, Any], *, expand_option: str = "expand_range=True"
) -> list[str]:
    """One line per search whose best C was in an edge stratum of its range (else none).

    A search that extended its range until its best C was interior gets a ``Note``; one whose
    best C is still in an edge stratum (range fixed, or the extension limit reached) a
    ``WARNING``: the optimum may lie beyond the searched range.

    Parameters
    ----------
    results : mapping
        The study's ``metrics.json`` content; each fold's and the final search's ``"range"``.
    expand_option : str, optional
        How the option that extends ranges is named (``--expand-range`` on the command line).

    Returns
    -------
    list of str
        Lines such as ``"WARNING final search: best C in the high edge stratum of [0.01, 10];
        the optimum may lie beyond (expand_range=True searches further)."``
    """
    searches = [(f"fold {as_mapping(f).get('fold')}", as_mapping(f).get("range"))
                for f in results.get("folds") or ()]
    searches.append(("final search", as_mapping(results.get("final")).get("range")))
    lines = []
    for name, r in searches:
        if not isinstance(r, Mapping) or not (r.get("initial_edge") or r.get("edge")):
            continue
        lo, hi = r["searched"]
        initial = f"[{r['initial'][0]:.3g}, {r['initial'][1]:.3g}]"
        if not r.get("edge"):
            lines.append(f"Note: {name}: best C was in the {r['initial_edge']} edge stratum of "
                         f"{initial}; range extended to [{lo:.3g}, {hi:.3g}], best now interior.")
            continue
        if r.get("expanded") or r.get("limit_reached"):
            why = "the extension limit was reached" if r.get("limit_reached") else "no extension"
            lines.append(f"WARNING {name}: best C still in the {r['edge']} edge stratum of the "
                         f"searched [{lo:.3g}, {hi:.3g}] ({why}); the optimum may lie beyond.")
        else:
            lines.append(f"WARNING {name}: best C in the {r['edge']} edge stratum of {initial}; "
                         f"the optimum may lie beyond ({expand_option} searches further).")
    return lines


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
    def row(name: str, entry: Mapping[str, Any]) -> tuple[str, ...]:
        accuracy = as_mapping(entry.get("test")).get("accuracy")
        per_fold = [fmt_params(as_mapping(fold).get("best_params"))
                    for fold in entry.get("folds") or ()]
        return (model_label(name, entry), fmt_number(accuracy), fmt_interval(accuracy),
                fmt_mean_std(as_mapping(entry.get("outer_summary")).get("accuracy")),
                fmt_params(entry.get("best_params")), "; ".join(per_fold) or "—")

    if (rows := model_rows(results, row)) is None:
        return None
    headers = ("Model", "Test accuracy", "95% CI", "Outer CV accuracy", "Final choice",
               "Chosen per outer fold")
    return Table(headers, rows, highlight=best_row(results))


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
                    comparison_cards(results),
                    tuple(section("models", "Models", comparison_models_table(results))))
    return render_summary_html(report)
