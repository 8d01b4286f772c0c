"""The study report: its content as a list of sections, the renderings of both reports, and the
study's plain-text classification report.

:func:`study_report` builds the content once from a ``metrics.json``-shaped dict (see
``DESIGN.md``) as a :class:`~mnist_logreg.evaluation._sections.Report`; :func:`render_html` and
:func:`render_markdown` hand it to the templates. Every block is optional: a missing or malformed
block (no folds, no final model, no test metrics) drops its section instead of failing. Renderers
return strings; writing them is the command-line layer's job.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from mnist_logreg.evaluation._compare_report import comparison_report
from mnist_logreg.evaluation._report_blocks import (
    as_float,
    as_mapping,
    build_report,
    dataset_name,
    default_caption,
    fmt_c,
    fmt_interval,
    fmt_number,
    fold_rows,
    interval_card,
    numbered_figures,
    range_section,
    search_ranges,
)
from mnist_logreg.evaluation._sections import (
    Card,
    Paragraph,
    Preformatted,
    Report,
    Table,
    figure_stem,
    section,
    to_html,
    to_markdown,
)

# --- what is shown, and how it is named -----------------------------------------------------------

METRIC_LABELS: dict[str, tuple[str, str]] = {
    "accuracy": ("Accuracy", "higher"),
    "precision_weighted": ("Precision (weighted)", "higher"),
    "recall_weighted": ("Recall (weighted)", "higher"),
    "f1_weighted": ("F1 (weighted)", "higher"),
    "precision_macro": ("Precision (macro)", "higher"),
    "recall_macro": ("Recall (macro)", "higher"),
    "f1_macro": ("F1 (macro)", "higher"),
    "roc_auc_ovr": ("ROC AUC (one-vs-rest, macro)", "higher"),
    "log_loss": ("Log-loss", "lower"),
    "brier": ("Brier score (multiclass, 0 to 2)", "lower"),
    "ece": ("Expected calibration error (15 bins)", "lower"),
}
"""Display name and better direction of each metric, in display order."""

FOLD_METRICS: tuple[str, ...] = ("accuracy", "f1_macro", "roc_auc_ovr", "log_loss")
"""Validation metrics shown in the per-fold table (those present)."""

FIGURE_CAPTIONS: dict[str, str] = {
    "confusion_matrix": (
        "Confusion matrix of the final model on the test set: counts (left) and row-normalized "
        "(right), where the diagonal is each class's recall."
    ),
    "roc_curves": (
        "One-vs-rest ROC curve of each class on the test set, with its area under the curve; the "
        "dotted diagonal is chance. The inset magnifies the top-left corner."
    ),
    "validation_curve": (
        "Mean inner cross-validation score against C (log scale), one line per outer fold with a "
        "band of plus or minus one standard deviation; stars mark the C each fold chose, the "
        "dashed line the C of the final model."
    ),
    "coefficients": (
        "Weights of the final model, one image per class, on one color scale symmetric around 0: "
        "red pixels raise the class's score, blue pixels lower it (weights apply to standardized "
        "pixels)."
    ),
    "misclassified": (
        "The test images the final model got wrong with the highest confidence, with their true "
        "and predicted labels and the predicted class's probability."
    ),
    "reliability_diagram": (
        "Reliability diagram of the final model on the test set: accuracy against top-label "
        "confidence in equal-width bins (the diagonal is perfect calibration), and below, the "
        "number of test images per bin."
    ),
}
"""Caption of each known figure; figures are shown in this order, unknown names last."""

PROTOCOL_SUMMARY = (
    "The outer scores estimate how well the whole tuning procedure (search and refit) "
    "generalizes to unseen data; they are not the score of any single model. The test score is "
    "that of the final model, tuned and refit on the whole training set and evaluated once on "
    "the untouched test set."
)


# --- content -------------------------------------------------------------------------------


def config_value(config: Mapping[str, Any], *names: str) -> Any:
    """The first of ``names`` present in ``config`` (option names vary: seed / random_state)."""
    for name in names:
        if config.get(name) is not None:
            return config[name]
    return None


def report_title(results: Mapping[str, Any]) -> str:
    """The report's title."""
    return f"Logistic regression on {dataset_name(results)}: nested cross-validation study"


def final_c(results: Mapping[str, Any]) -> float | None:
    """C of the final model, or None."""
    return as_float(as_mapping(as_mapping(results.get("final")).get("best_params")).get("C"))


def folds_list(results: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The per-fold records (mappings only)."""
    folds = results.get("folds")
    if not isinstance(folds, Sequence) or isinstance(folds, str):
        return []
    return [f for f in folds if isinstance(f, Mapping)]


def outer_summary(results: Mapping[str, Any], metric: str = "accuracy") -> tuple[float, float,
                                                                                   int] | None:
    """Mean, standard deviation and count over the outer folds of a validation metric.

    Taken from the results' ``"outer_summary"`` block (``{metric: {"mean", "std"}}``) when it has
    one, so the report shows the numbers of ``metrics.json``; otherwise computed from the folds
    (standard deviation with ddof=0, as ``numpy.std``).
    """
    values = [as_float(as_mapping(f.get("validation")).get(metric)) for f in folds_list(results)]
    present = [v for v in values if v is not None]
    stored = as_mapping(as_mapping(results.get("outer_summary")).get(metric))
    mean, std = as_float(stored.get("mean")), as_float(stored.get("std"))
    if mean is not None and std is not None:
        return mean, std, len(present) or len(folds_list(results))
    if not present:
        return None
    mean = sum(present) / len(present)
    std = math.sqrt(sum((v - mean) ** 2 for v in present) / len(present))
    return mean, std, len(present)


def metrics_table(results: Mapping[str, Any]) -> Table | None:
    """Headline test metrics: metric, value, 95% interval, better direction."""
    test = as_mapping(results.get("test"))
    rows = []
    for key, (label, better) in METRIC_LABELS.items():
        if key not in test:
            continue
        rows.append((label, fmt_number(test[key]), fmt_interval(test[key]), better))
    for key in test:  # unknown {"value", "ci95"} metrics, after the known ones
        if key not in METRIC_LABELS and isinstance(test[key], Mapping) and "value" in test[key]:
            rows.append((key, fmt_number(test[key]), fmt_interval(test[key]), ""))
    if not rows:
        return None
    return Table(("Metric", "Test value", "95% CI", "Better"), tuple(rows))


def bootstrap_note(results: Mapping[str, Any]) -> str:
    """How the intervals were computed (empty without a bootstrap record)."""
    test = as_mapping(results.get("test"))
    boot = as_mapping(test.get("bootstrap"))
    n = boot.get("n_resamples")
    n_samples = test.get("n_samples")
    if not n:
        return ""
    rows = f" of the {n_samples} test images" if n_samples else " of the test set"
    seed = boot.get("random_state")
    seed_text = f", seed {seed}" if seed is not None else ""
    return (f"95% confidence intervals: percentile bootstrap over {n} resamples{rows} "
            f"(rows drawn with replacement{seed_text}).")


def protocol_paragraphs(results: Mapping[str, Any]) -> list[str]:
    """Sentences describing the protocol, filled with the run's settings where known."""
    config = as_mapping(results.get("config"))
    outer = config_value(config, "outer", "n_outer", "outer_folds")
    inner = config_value(config, "inner", "n_inner", "inner_folds")
    n_cand = config_value(config, "n_candidates", "candidates")
    c_min = config_value(config, "c_min")
    c_max = config_value(config, "c_max")
    sampling = config_value(config, "sampling")
    scoring = config_value(config, "scoring") or "score"
    strategy = config_value(config, "strategy")
    seed = config_value(config, "random_state", "seed")

    outer_text = f"{outer}-fold" if outer else "K-fold"
    search = "a randomized search over C"
    details = []
    if n_cand:
        details.append(f"{n_cand} candidates")
    if sampling and c_min is not None and c_max is not None:
        details.append(f"sampled {sampling} on [{fmt_c(c_min)}, {fmt_c(c_max)}]")
    if inner:
        details.append(f"{inner} inner folds")
    if details:
        search += f" ({', '.join(details)})"
    model = "logistic regression"
    if strategy == "ovr":
        model = "one-vs-rest logistic regression"
    elif strategy:
        model = f"{strategy} logistic regression"
    paragraphs = [
        f"Model: {model} in a pipeline that scales pixels to [0, 1] and standardizes them, so "
        "every fit learns its scaler from its own training rows only.",
        f"Nested cross-validation: {outer_text} stratified outer cross-validation over the "
        f"training set. In each outer fold, {search} picks the C with the best mean inner "
        f"{scoring}; the pipeline is refit at that C on the outer training rows and scored on the "
        "outer validation fold, which neither the search nor the refit has seen.",
        "Final model: the same search on the whole training set, a refit at its chosen C, and one "
        "evaluation on the untouched test set.",
        PROTOCOL_SUMMARY,
    ]
    expand = config.get("expand_range")
    if expand is not None:
        paragraphs.append(
            "C range: extended by a decade at a time where a search's best C lay in an edge "
            "stratum (--expand-range)." if expand else
            "C range: fixed, as in the reference protocol (--no-expand-range); searches whose "
            "best C lies in an edge stratum are flagged.")
    if seed is not None:
        paragraphs.append(f"Seed: {seed} (the same seed reproduces every split and candidate).")
    return paragraphs


def _lower_first(label: str) -> str:
    """``Accuracy`` -> ``accuracy``, but ``F1 (macro)`` and ``ROC AUC`` keep their capitals."""
    first = label.split(" ", 1)[0]
    if sum(ch.isupper() or ch.isdigit() for ch in first) > 1:
        return label
    return label[:1].lower() + label[1:]


def folds_table(results: Mapping[str, Any]) -> Table | None:
    """One row per outer fold: chosen C, validation metrics, time; a mean ± std footer."""
    folds = folds_list(results)
    if not folds:
        return None
    shown = [m for m in FOLD_METRICS
             if any(m in as_mapping(f.get("validation")) for f in folds)]
    headers = ("Fold", "Chosen C", *(f"Validation {_lower_first(METRIC_LABELS[m][0])}"
                                     for m in shown), "Seconds")
    rows = fold_rows(folds, shown, lambda params: fmt_c(as_mapping(params).get("C")))
    summaries = (outer_summary(results, m) for m in shown)
    footer = ("Mean ± std", "", *("—" if s is None else f"{s[0]:.4f} ± {s[1]:.4f}"
                                  for s in summaries), "")
    return Table(headers, tuple(rows), footer=footer if shown else None)


def candidates_table(results: Mapping[str, Any]) -> Table | None:
    """The final search's candidates: C, mean and std of the inner score; the chosen one marked."""
    candidates = as_mapping(results.get("final")).get("candidates")
    if not isinstance(candidates, Sequence) or not candidates:
        return None
    chosen = final_c(results)
    rows, highlight = [], set()
    for i, cand in enumerate(c for c in candidates if isinstance(c, Mapping)):
        c = as_float(cand.get("C"))
        is_chosen = c is not None and chosen is not None and math.isclose(c, chosen, rel_tol=1e-9)
        if is_chosen:
            highlight.add(i)
        rows.append((fmt_c(c), fmt_number(cand.get("mean_score")),
                     fmt_number(cand.get("std_score")), "chosen" if is_chosen else ""))
    if not rows:
        return None
    scoring = (as_mapping(results.get("final")).get("scoring")
               or as_mapping(results.get("config")).get("scoring") or "score")
    return Table(("C", f"Mean inner {scoring}", "Std", ""), tuple(rows),
                 highlight=frozenset(highlight))


def per_class_table(results: Mapping[str, Any]) -> Table | None:
    """Precision, recall, F1, support (and one-vs-rest AUC when present) per class."""
    per_class = as_mapping(as_mapping(results.get("test")).get("per_class"))
    if not per_class:
        return None
    with_auc = any("roc_auc" in as_mapping(v) for v in per_class.values())
    headers = ("Class", "Precision", "Recall", "F1", "Support", *(("ROC AUC",) if with_auc else ()))
    rows = []
    for name, entry in per_class.items():
        entry = as_mapping(entry)
        support = as_float(entry.get("support"))
        rows.append((
            str(name),
            fmt_number(entry.get("precision")),
            fmt_number(entry.get("recall")),
            fmt_number(entry.get("f1")),
            "—" if support is None else str(int(support)),
            *((fmt_number(entry.get("roc_auc")),) if with_auc else ()),
        ))
    return Table(headers, tuple(rows))


def ordered_figures(names: Sequence[str]) -> list[str]:
    """The figure names, known ones in :data:`FIGURE_CAPTIONS` order first, then by name.

    Names may carry a file extension (``"roc_curves.png"``); they are ranked by stem.
    """
    known = list(FIGURE_CAPTIONS)
    ranks = {stem: i for i, stem in enumerate(known)}
    return sorted(names, key=lambda n: (ranks.get(figure_stem(n), len(known)), figure_stem(n)))


def figure_caption(name: str) -> str:
    """Caption of a study figure (by file name or stem)."""
    return FIGURE_CAPTIONS.get(figure_stem(name)) or default_caption(name)


def report_text(results: Mapping[str, Any]) -> str:
    """The scikit-learn classification report text of the test set ('' when absent)."""
    text = as_mapping(results.get("test")).get("classification_report")
    return text if isinstance(text, str) else ""


# --- the report -----------------------------------------------------------------------------------

FOLDS_NOTE = ("Each fold's C was chosen by its own inner search; the validation scores are of the "
              "model refit at that C, on rows the fold's search never saw.")


def study_cards(results: Mapping[str, Any]) -> tuple[Card, ...]:
    """Headline numbers: test accuracy, AUC and log-loss, outer CV accuracy, the final C."""
    test = as_mapping(results.get("test"))
    cards = [interval_card(label, test[key]) for key, label in (
        ("accuracy", "Test accuracy"), ("roc_auc_ovr", "Macro ROC AUC"), ("log_loss", "Log-loss"))
        if key in test]
    summary = outer_summary(results)
    if summary is not None:
        cards.append(Card("Outer CV accuracy", f"{summary[0]:.4f}",
                          f"± {summary[1]:.4f} (std) over {summary[2]} folds"))
    if final_c(results) is not None:
        edge = as_mapping(as_mapping(results.get("final")).get("range")).get("edge")
        detail = (f"in the {edge} edge stratum of its range" if edge
                  else "chosen by the final search")
        cards.append(Card("Final model C", fmt_c(final_c(results)), detail))
    return tuple(cards)


def study_report(results: Mapping[str, Any], figure_names: Sequence[str]) -> Report:
    """The study report's content, computed once for every rendering.

    Parameters
    ----------
    results : dict
        ``metrics.json``-shaped (``schema``, ``command``, ``dataset``, ``config``, ``versions``,
        ``folds``, ``final``, ``test``, ``timings``); every block is optional and a missing one
        drops its section.
    figure_names : sequence of str
        Names of the figures (``"confusion_matrix"``, ``"roc_curves.png"``, ...), shown in
        :data:`FIGURE_CAPTIONS` order.

    Returns
    -------
    Report
    """
    note = bootstrap_note(results)
    text = report_text(results)
    table = metrics_table(results)
    sections = [
        *section("metrics", "Test-set metrics", table,
                 Paragraph(note, "note") if note and table else None),
        *section("protocol", "Protocol", *(
            Paragraph(p, "callout" if p == PROTOCOL_SUMMARY else "")
            for p in protocol_paragraphs(results))),
        *range_section(search_ranges(folds_list(results), results.get("final"))),
        *section("folds", "Outer folds", table := folds_table(results),
                 Paragraph(FOLDS_NOTE, "note") if table else None),
        *section("final", "Final model: C candidates", candidates_table(results)),
        *section("figures", "Figures",
                 *numbered_figures(ordered_figures(list(figure_names)), figure_caption)),
        *section("per-class", "Per-class metrics (test set)", per_class_table(results)),
        *section("report", "Classification report (test set)",
                 Preformatted(text) if text else None),
    ]
    command = results.get("command")
    return build_report(results, report_title(results),
                        " ".join(str(command).split()) if command else None,
                        study_cards(results),
                        sections, config=results.get("config"))


def render_html(results: Mapping[str, Any], figures: Mapping[str, bytes]) -> str:
    """Render the study report as one self-contained HTML page.

    Parameters
    ----------
    results : dict
        ``metrics.json``-shaped; see :func:`study_report`.
    figures : mapping of str to bytes
        Figure name (``"confusion_matrix"``, ``"roc_curves"``, ``"validation_curve"``,
        ``"coefficients"``, ``"misclassified"``, ``"reliability_diagram"``, or any other) to PNG
        bytes, embedded as ``data:`` URIs.

    Returns
    -------
    page : str
        HTML5 with inline CSS, no script and no external reference.
    """
    return to_html(study_report(results, list(figures)), figures)


def render_markdown(results: Mapping[str, Any], figures: Mapping[str, str]) -> str:
    """Render the study report as Markdown, as :func:`render_html` does as HTML.

    ``figures`` maps each figure name to the PNG's path relative to the report, e.g.
    ``"confusion_matrix.png"``.
    """
    return to_markdown(study_report(results, list(figures)), figures)


def render_comparison_html(results: Mapping[str, Any], figures: Mapping[str, bytes]) -> str:
    """Render the comparison report (see :func:`.comparison_report`) as :func:`render_html` does
    the study's; ``figures`` maps each file name (``accuracy.png``, ``confusion_matrix_svm.png``)
    to its PNG bytes."""
    return to_html(comparison_report(results, list(figures)), figures)


def render_comparison_markdown(results: Mapping[str, Any], figures: Mapping[str, str]) -> str:
    """Render the comparison report as Markdown; ``figures`` maps each figure name to the PNG's
    path relative to the report (``"accuracy.png"``)."""
    return to_markdown(comparison_report(results, list(figures)), figures)


# --- plain text ----------------------------------------------------------------------------------


def _text_report(table: Table) -> str:
    """A classification-report-like text of the per-class table (without scikit-learn's text)."""
    width = max([len(row[0]) for row in table.rows] + [12])
    lines = [f"{'':>{width}}" + "".join(f" {h:>9}" for h in ("precision", "recall", "f1-score",
                                                           "support")), ""]
    lines += [f"{row[0]:>{width}}" + "".join(f" {cell:>9}" for cell in row[1:5])
              for row in table.rows]
    return "\n".join(lines) + "\n"


def render_classification_report(results: Mapping[str, Any]) -> str:
    """Render ``classification_report.txt``: the per-class report of the test set, with context.

    Parameters
    ----------
    results : dict
        ``metrics.json``-shaped; uses ``dataset``, ``final``, ``test``.

    Returns
    -------
    text : str
        A header (dataset, final C, test size), scikit-learn's classification report (or an
        equivalent table built from ``per_class``), the headline metrics with their 95%
        intervals, and the confusion matrix.
    """
    test = as_mapping(results.get("test"))
    lines = [f"Classification report of the final model on the test set of {dataset_name(results)}"]
    if final_c(results) is not None:
        lines.append(f"Final model: C = {fmt_c(final_c(results))}")
    if test.get("n_samples"):
        lines.append(f"Test images: {test['n_samples']}")
    lines.append("")
    text = report_text(results)
    if not text and (per_class := per_class_table(results)) is not None:
        text = _text_report(per_class)
    if text:
        lines += [text.rstrip("\n"), ""]
    table = metrics_table(results)
    if table is not None:
        width = max(len(row[0]) for row in table.rows)
        lines.append("Headline metrics (95% bootstrap confidence intervals):")
        lines += [f"  {row[0]:<{width}}  {row[1]:>8}  {row[2]}" for row in table.rows]
        lines.append("")
    cm = test.get("confusion_matrix")
    names = list(as_mapping(test.get("per_class")))
    if isinstance(cm, Sequence) and cm and all(isinstance(r, Sequence) for r in cm):
        if len(names) != len(cm):
            names = [str(i) for i in range(len(cm))]
        width = max([len(str(v)) for r in cm for v in r] + [len(n) for n in names] + [3])
        lines.append("Confusion matrix (rows: true class, columns: predicted class):")
        lines.append(" " * (width + 2) + " ".join(f"{n:>{width}}" for n in names))
        for name, row in zip(names, cm, strict=False):
            lines.append(f"{name:>{width}}  " + " ".join(f"{v!s:>{width}}" for v in row))
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"
