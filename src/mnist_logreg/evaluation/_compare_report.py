"""The model comparison's report, from its metrics.json data.

:func:`comparison_report` builds the content once as a list of sections (see
:mod:`mnist_logreg.evaluation._sections`); the HTML and Markdown renderings walk that list with the
same templates, stylesheet and escaping as the study report.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from mnist_logreg.evaluation._report_blocks import (
    as_float,
    as_mapping,
    build_report,
    dataset_name,
    default_caption,
    fmt_bytes,
    fmt_duration,
    fmt_interval,
    fmt_mean_std,
    fmt_number,
    fmt_p,
    fmt_params,
    fmt_seconds,
    fold_rows,
    interval_card,
    numbered_figures,
    range_section,
    search_ranges,
)
from mnist_logreg.evaluation._sections import (
    Card,
    Paragraph,
    Report,
    Subsection,
    Table,
    figure_stem,
    section,
)

ACCURACY_FIGURE = "accuracy"
"""Stem of the bar chart's file name."""

CONFUSION_PREFIX = "confusion_matrix_"
"""Stem prefix of each model's confusion matrix (``confusion_matrix_svm``)."""


# --- data access --------------------------------------------------------------------------------


def model_entries(results: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    """Each model's block of a comparison's results, by name (``{}`` without models)."""
    return {str(k): as_mapping(v) for k, v in as_mapping(results.get("models")).items()}


def accuracy_entry(entry: Mapping[str, Any]) -> Mapping[str, Any]:
    """A model's test accuracy entry (``{"value", "ci95"}``), or ``{}``."""
    return as_mapping(as_mapping(entry.get("test")).get("accuracy"))


def model_rows(results: Mapping[str, Any],
                row: Callable[[str, Mapping[str, Any]], tuple[str, ...]]) -> tuple | None:
    """``row(name, entry)`` of each model, or None without models."""
    return tuple(row(name, entry) for name, entry in model_entries(results).items()) or None


def model_label(name: str, entry: Mapping[str, Any]) -> str:
    """``Label (name)`` of a model entry, or its name without a label."""
    label = entry.get("label")
    return f"{label} ({name})" if label else name


def figure_caption(name: str, results: Mapping[str, Any]) -> str:
    """Caption of a comparison figure (by file name or stem)."""
    stem = figure_stem(name)
    if stem == ACCURACY_FIGURE:
        return ("Test accuracy of each model's final fit, with its 95% percentile-bootstrap "
                "interval over the test images. Overlapping intervals do not settle whether two "
                "models differ: the paired McNemar tests below do.")
    if stem.startswith(CONFUSION_PREFIX):
        model = stem[len(CONFUSION_PREFIX):]
        entry = model_entries(results).get(model, {})
        return (f"Confusion matrix of {model_label(model, entry)} on the test set: rows are the "
                "true class, columns the predicted class, the diagonal the correct predictions.")
    return default_caption(name)


# --- tables and sentences ---------------------------------------------------------------------


def comparison_table(results: Mapping[str, Any]) -> Table | None:
    """One row per model: test metrics with the accuracy interval, tuning, cost and size."""
    def row(name: str, entry: Mapping[str, Any]) -> tuple[str, ...]:
        test = as_mapping(entry.get("test"))
        return (model_label(name, entry), fmt_number(test.get("accuracy")),
                fmt_interval(test.get("accuracy")),
                *(fmt_number(test.get(m)) for m in ("f1_macro", "roc_auc_ovr", "log_loss")),
                fmt_mean_std(as_mapping(entry.get("outer_summary")).get("accuracy")),
                fmt_params(entry.get("best_params")), fmt_duration(entry.get("fit_seconds")),
                fmt_duration(entry.get("predict_seconds_per_10k")),
                fmt_bytes(entry.get("model_bytes")))

    if (rows := model_rows(results, row)) is None:
        return None
    headers = ("Model", "Test accuracy", "95% CI", "Macro F1", "ROC AUC (OvR, macro)",
               "Log-loss", "Outer CV accuracy", "Chosen hyperparameters", "Fit time",
               "Predict / 10k images", "Model size")
    return Table(headers, rows, highlight=best_row(results))


def budget_table(results: Mapping[str, Any]) -> Table | None:
    """One row per model: pipeline, search space and the rows each stage sees."""
    def row(name: str, entry: Mapping[str, Any]) -> tuple[str, ...]:
        budget, final = as_mapping(entry.get("budget")), as_mapping(entry.get("final"))
        search_rows = budget.get("search_rows")
        return (name, str(entry.get("pipeline") or "—"), str(entry.get("search_space") or "—"),
                "all" if search_rows is None else f"{int(search_rows):,}",
                str(budget.get("inner", "—")), str(len(final.get("candidates") or ())),
                *(f"{final[k]:,}" if isinstance(final.get(k), int) else "—"
                  for k in ("n_search", "n_train")))

    if (rows := model_rows(results, row)) is None:
        return None
    headers = ("Model", "Pipeline", "Search space", "Search budget (rows)", "Inner folds",
               "Candidates", "Final search rows", "Final fit rows")
    return Table(headers, rows, numeric=False)


def mcnemar_table(results: Mapping[str, Any]) -> Table | None:
    """Pairwise McNemar tests: discordant counts, test form, statistic, raw and Holm p-values."""
    pairs = as_mapping(results.get("mcnemar")).get("pairs")
    if not isinstance(pairs, Sequence) or not pairs:
        return None
    rows, highlight = [], set()
    for i, pair in enumerate(p for p in pairs if isinstance(p, Mapping)):
        a, b = str(pair.get("model_a")), str(pair.get("model_b"))
        if pair.get("significant"):
            highlight.add(i)
            verdict = f"{pair.get('better')} is more accurate"
        else:
            verdict = "no significant difference"
        method = "exact binomial" if pair.get("method") == "exact" else "chi-square (corrected)"
        statistic = as_float(pair.get("statistic"))
        rows.append((
            f"{a} vs {b}",
            str(pair.get("b", "—")),
            str(pair.get("c", "—")),
            method,
            "—" if statistic is None else f"{statistic:.2f}",
            fmt_p(pair.get("p_value")),
            fmt_p(pair.get("p_value_holm")),
            verdict,
        ))
    headers = ("Pair (A vs B)", "Only A right", "Only B right", "Test", "Statistic", "p-value",
               "Holm p-value", "At 5%")
    return Table(headers, tuple(rows), highlight=frozenset(highlight))


def folds_table(results: Mapping[str, Any]) -> Table | None:
    """One row per model and outer fold: chosen hyperparameters and validation metrics."""
    rows = [row for name, entry in model_entries(results).items()
            for row in fold_rows(entry.get("folds") or (), ("accuracy", "f1_macro", "roc_auc_ovr"),
                                 fmt_params, (name,))]
    if not rows:
        return None
    headers = ("Model", "Fold", "Chosen hyperparameters", "Validation accuracy",
               "Validation F1 (macro)", "Validation ROC AUC", "Seconds")
    return Table(headers, tuple(rows))


def protocol_paragraphs(results: Mapping[str, Any]) -> list[str]:
    """Sentences describing the comparison protocol, filled with the run's settings."""
    config = as_mapping(results.get("config"))
    dataset = as_mapping(results.get("dataset"))
    outer = config.get("outer", "K")
    n_used = dataset.get("n_train_used")
    rows_text = f"the {n_used:,} training images" if isinstance(n_used, int) else "the training set"
    mcnemar = as_mapping(results.get("mcnemar"))
    paragraphs = [
        f"Every model is tuned and evaluated on the same {outer} stratified outer folds of "
        f"{rows_text} and the same test images. In each outer fold, each model's inner search "
        "scores its candidates by inner stratified cross-validation accuracy on the outer "
        "training rows only; for the expensive models the search sees a seeded stratified "
        "subsample of at most its budget's rows (the same subsample for models with the same "
        "budget). The chosen hyperparameters are then refit on all outer training rows and scored "
        "on the outer validation fold, which neither the search nor the refit has seen.",
        "Final models: the same search on (a subsample of) the whole training set, a refit on "
        "every training row, and one evaluation on the untouched test set. Test intervals are 95% "
        "percentile-bootstrap intervals over the test images.",
        "Every pipeline starts from raw pixels, so each fit learns its own scaling from its own "
        "training rows. The linear models standardize their features; the distance-based models "
        "(SVM, KNN, the RBF kernel map) see pixels scaled to [0, 1], because standardizing nearly "
        "constant border pixels would let them dominate every distance.",
    ]
    if mcnemar:
        paragraphs.append(
            f"Pairwise differences: {mcnemar.get('test', 'McNemar tests')}; "
            f"{mcnemar.get('method', '')}. p-values are adjusted with "
            f"{mcnemar.get('correction', 'Holm')} at a family-wise level of "
            f"{mcnemar.get('alpha', 0.05)}."
        )
    notes = [str(e.get("notes")) for e in model_entries(results).values() if e.get("notes")]
    paragraphs += notes
    seed = config.get("seed")
    if seed is not None:
        paragraphs.append(f"Seed: {seed} (the same seed reproduces every split, subsample and "
                          "candidate; timings aside, a rerun gives the same numbers).")
    if config.get("quick"):
        paragraphs.append("This is a --quick run: tiny budgets and a small training subsample, "
                          "for a smoke test; its accuracies are not the models' best.")
    return paragraphs


def report_title(results: Mapping[str, Any]) -> str:
    """The comparison report's title."""
    return f"Model comparison on {dataset_name(results)}"


def most_accurate(results: Mapping[str, Any]) -> tuple[str, float, Any] | None:
    """The most accurate model on the test set: name, accuracy, accuracy entry (first if tied)."""
    best = None
    for name, entry in model_entries(results).items():
        accuracy = accuracy_entry(entry)
        value = as_float(accuracy)
        if value is not None and (best is None or value > best[1]):
            best = (name, value, accuracy)
    return best


COMPARISON_NOTE = (
    "Test metrics of each final model (95% bootstrap interval of the accuracy); outer CV accuracy "
    "is the mean ± std over the outer validation folds. Fit time is the final fit on all training "
    "rows; predict time is per 10,000 test images; model size counts the fitted arrays (for KNN, "
    "the stored training images). The highlighted row is the most accurate model.")

MCNEMAR_NOTE = (
    "Only the test images on which exactly one of the two models is right carry evidence; "
    "highlighted rows differ at the 5% family-wise level (Holm).")


def best_row(results: Mapping[str, Any]) -> frozenset[int]:
    """The row of the most accurate model in a table of one row per model (none without one)."""
    best = most_accurate(results)
    return frozenset() if best is None else frozenset({list(model_entries(results)).index(best[0])})


def comparison_cards(results: Mapping[str, Any]) -> tuple[Card, ...]:
    """Headline numbers: the most accurate model, how many were compared, the run time."""
    best = most_accurate(results)
    cards = [] if best is None else [interval_card(f"Most accurate ({best[0]})", best[2],
                                                   "test accuracy, ")]
    n_models = len(model_entries(results))
    if n_models:
        cards.append(Card("Models compared", str(n_models),
                          f"on {as_mapping(results.get('config')).get('outer', '?')} shared "
                          "outer folds"))
    total = as_mapping(results.get("timings")).get("total_seconds")
    if as_float(total) is not None:
        cards.append(Card("Run time", fmt_seconds(total), "search, fits, evaluation"))
    return tuple(cards)


def comparison_report(results: Mapping[str, Any], figure_names: Sequence[str]) -> Report:
    """The comparison report's content, computed once for every rendering.

    Parameters
    ----------
    results : dict
        metrics.json-shaped (``dataset``, ``config``, ``models``, ``mcnemar``, ``versions``,
        ``timings``); a missing block drops its section.
    figure_names : sequence of str
        Figure file names (``accuracy.png``, ``confusion_matrix_svm.png``): the bar chart first,
        then the confusion matrices in their given order.

    Returns
    -------
    Report
    """
    names = sorted(figure_names, key=lambda n: figure_stem(n) != ACCURACY_FIGURE)
    figures = numbered_figures(names, lambda name: figure_caption(name, results))
    config = dict(as_mapping(results.get("config")))
    budgets = config.pop("budgets", None)
    table = comparison_table(results)
    pairs = mcnemar_table(results)
    budget = budget_table(results)
    searches = [search for name, entry in model_entries(results).items()
                for search in search_ranges(entry.get("folds") or (), entry.get("final"),
                                            prefix=f"{name}: ")]
    sections = [
        *section("comparison", "Comparison", table,
                 Paragraph(COMPARISON_NOTE, "note") if table else None),
        *section("accuracy", "Test accuracy",
                 *(f for f in figures if f.stem == ACCURACY_FIGURE)),
        *section("mcnemar", "Which differences are real (McNemar)", pairs,
                 Paragraph(MCNEMAR_NOTE, "note") if pairs else None),
        *section("protocol", "Protocol", *(Paragraph(p) for p in protocol_paragraphs(results)),
                 Subsection("Pipelines and budgets", (budget,)) if budget else None),
        *range_section(searches),
        *section("folds", "Outer folds", folds_table(results)),
        *section("confusion", "Confusion matrices",
                 *(f for f in figures if f.stem != ACCURACY_FIGURE), grid=True),
    ]
    return build_report(results, report_title(results), "mnist-logreg compare",
                        comparison_cards(results),
                        sections, config=config, extra=[("Budgets", budgets)],
                        generator="mnist-logreg compare")

