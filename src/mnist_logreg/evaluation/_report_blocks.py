"""What the study report and the comparison report share: value formats and section builders.

Values are read leniently from ``metrics.json``-shaped results: :func:`as_mapping` and
:func:`as_float` turn a missing or malformed block into an empty one, and every ``fmt_*`` shows
``—`` where a value is missing. The builders make the parts both reports have: a headline card
with its 95% interval, numbered figures, the C range block of a list of searches, the run
details (dataset, configuration, versions, timings) and the report's frame (:func:`build_report`).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from mnist_logreg.evaluation._sections import (
    Card,
    FigureRef,
    Paragraph,
    Report,
    Section,
    Subsection,
    Table,
    figure_stem,
    section,
)

# --- values --------------------------------------------------------------------------------------


def as_mapping(value: Any) -> Mapping[str, Any]:
    """``value`` if it is a mapping (a block of the results), else ``{}`` (a missing or odd one)."""
    return value if isinstance(value, Mapping) else {}


def as_float(value: Any) -> float | None:
    """``value`` as a finite float, else None (accepts ``{"value": v}`` entries).

    Parameters
    ----------
    value : object
        A number, a ``{"value": v}`` metric entry, or anything else.

    Returns
    -------
    float or None
        None for booleans, None, non-numbers, NaN and infinities.
    """
    if isinstance(value, Mapping):
        value = value.get("value")
    if isinstance(value, bool) or value is None:
        return None
    try:
        x = float(value)
    except (TypeError, ValueError):
        return None
    return x if math.isfinite(x) else None


def fmt_number(value: Any, digits: int = 4) -> str:
    """A metric for display: ``0.9243``; ``—`` where missing or not a number."""
    x = as_float(value)
    return "—" if x is None else f"{x:.{digits}f}"


def fmt_c(value: Any) -> str:
    """A value of C for display, 4 significant digits."""
    x = as_float(value)
    return "—" if x is None else f"{x:.4g}"


def fmt_seconds(value: Any) -> str:
    """Seconds for display: ``12.3 s``, ``4 min 05 s``, ``1 h 02 min``."""
    x = as_float(value)
    if x is None:
        return "—"
    if x < 60:
        return f"{x:.1f} s"
    minutes, seconds = divmod(round(x), 60)
    if minutes < 60:
        return f"{minutes} min {seconds:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def fmt_duration(value: Any) -> str:
    """Seconds for display, with milliseconds below one second (``35 ms``, ``12.3 s``)."""
    x = as_float(value)
    if x is not None and x < 1.0:
        return f"{x * 1000:.0f} ms" if x >= 0.0005 else "< 1 ms"
    return fmt_seconds(value)


def fmt_bytes(value: Any) -> str:
    """A size for display: ``812 B``, ``31.4 kB``, ``75.2 MB`` (powers of 1000)."""
    x = as_float(value)
    if x is None:
        return "—"
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if x >= scale:
            return f"{x / scale:.1f} {unit}"
    return f"{int(x)} B"


def fmt_p(value: Any) -> str:
    """A p-value for display: 4 decimals, ``< 0.0001`` below."""
    x = as_float(value)
    return "—" if x is None else "< 0.0001" if x < 1e-4 else f"{x:.4f}"


def fmt_params(params: Any) -> str:
    """Hyperparameters for display: ``kernel=rbf, C=5.23``."""
    return ", ".join(f"{key}={value:.4g}" if isinstance(value, float)
                     else f"{key}={'none' if value is None else value}"
                     for key, value in as_mapping(params).items()) or "—"


def fmt_value(value: Any) -> str:
    """Any JSON value for a key-value table: scalars as text, containers as compact JSON."""
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, Mapping | list | tuple):
        return json.dumps(value, sort_keys=True, default=str)
    return "—" if value is None else str(value)


def fmt_interval(entry: Any, digits: int = 4) -> str:
    """``[lo, hi]`` of a ``{"value", "ci95"}`` entry, or ``—``."""
    ci = entry.get("ci95") if isinstance(entry, Mapping) else None
    if not isinstance(ci, Sequence) or len(ci) != 2:
        return "—"
    lo, hi = as_float(ci[0]), as_float(ci[1])
    if lo is None or hi is None:
        return "—"
    return f"[{lo:.{digits}f}, {hi:.{digits}f}]"


def fmt_mean_std(summary: Any) -> str:
    """``0.9636 ± 0.0010`` of a ``{"mean", "std"}`` block, or ``—``."""
    mean, std = as_float(as_mapping(summary).get("mean")), as_float(as_mapping(summary).get("std"))
    return "—" if mean is None or std is None else f"{mean:.4f} ± {std:.4f}"


def fold_seconds(fold: Mapping[str, Any]) -> str:
    """A fold's time for display: its ``seconds``, summed over stages when it is a mapping."""
    seconds = fold.get("seconds")
    if isinstance(seconds, Mapping):
        values = [v for v in map(as_float, seconds.values()) if v is not None]
        seconds = sum(values) if seconds else None
    return fmt_seconds(seconds)


def fold_rows(folds: Sequence[Any], metrics: Sequence[str], params: Callable[[Any], str],
              first: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """One row per outer fold: ``*first``, the fold's number, ``params(best_params)``, each of the
    validation ``metrics`` and the fold's time."""
    return [(*first, str(f.get("fold", i + 1)), params(f.get("best_params")),
             *(fmt_number(as_mapping(f.get("validation")).get(m)) for m in metrics),
             fold_seconds(f)) for i, f in enumerate(map(as_mapping, folds))]


def dataset_name(results: Mapping[str, Any]) -> str:
    """The dataset's display name."""
    dataset = results.get("dataset")
    if isinstance(dataset, Mapping):
        return str(dataset.get("name") or dataset.get("dataset") or "dataset")
    return str(dataset) if dataset else "dataset"


# --- section builders ----------------------------------------------------------------------------


def interval_card(label: str, entry: Any, detail: str = "") -> Card:
    """A headline metric: its value, and ``{detail}95% CI [lo, hi]`` when it has an interval."""
    interval = fmt_interval(entry)
    return Card(label, fmt_number(entry), f"{detail}95% CI {interval}" if interval != "—" else "")


def numbered_figures(names: Sequence[str], caption: Callable[[str], str]) -> list[FigureRef]:
    """Figures numbered from 1 in the given order, captioned by ``caption(name)``."""
    return [FigureRef(name, number, caption(name)) for number, name in enumerate(names, start=1)]


def default_caption(name: str) -> str:
    """The caption of a figure nobody described: its stem as a sentence."""
    return figure_stem(name).replace("_", " ").capitalize() + "."


def kv_table(block: Any, seconds: bool = False) -> Table | None:
    """A two-column key/value table of a JSON object.

    With ``seconds``, numbers under keys that name seconds (``total_seconds``, ``search_s``) are
    shown as durations.
    """
    rows = []
    for key, value in as_mapping(block).items():
        is_time = seconds and (str(key).endswith(("seconds", "_s")) or str(key) == "seconds")
        shown = fmt_seconds(value) if is_time and as_float(value) is not None else fmt_value(value)
        rows.append((str(key), shown))
    return Table(("Key", "Value"), tuple(rows), numeric=False) if rows else None


def build_report(results: Mapping[str, Any], title: str, command: str | None,
                 cards: Sequence[Card], sections: Sequence[Section], *,
                 config: Any, extra: Sequence[tuple[str, Any]] = (),
                 generator: str = "mnist-logreg") -> Report:
    """A report: the title and headline cards, ``sections``, then the "Run details" section.

    The run details hold one key/value table each for the dataset, ``config``, the versions, the
    timings, then each ``(title, block)`` of ``extra``; missing blocks are left out.
    """
    blocks = [("Dataset", results.get("dataset"), False), ("Configuration", config, False),
              ("Versions", results.get("versions"), False),
              ("Timings", results.get("timings"), True), *((t, b, False) for t, b in extra)]
    tables = ((title, kv_table(block, seconds=seconds)) for title, block, seconds in blocks)
    details = section("run", "Run details", *(Subsection(title, (table,))
                                              for title, table in tables if table is not None),
                      grid=True)
    return Report(title, command, dataset_name(results), tuple(cards),
                  (*sections, *details), generator=generator, schema=results.get("schema"))


# --- the C range of a list of searches ----------------------------------------------------------

RANGE_NOTE = (
    "Edge strata: a search's range is cut into as many equal-width strata of log C as it has "
    "candidates; a best C in the lowest or highest stratum cannot tell whether the optimum lies "
    "beyond the range. With --expand-range each such search (inside every outer fold too, "
    "deciding from its own inner scores only) searched one more decade on that side, at the "
    "same density, until its best was interior or 3 decades were added (never beyond "
    "[1e-6, 1e4])."
)


def _range_text(value: Any) -> str:
    """``[lo, hi]`` of a two-number list, or ``—``."""
    if isinstance(value, Sequence) and not isinstance(value, str) and len(value) == 2:
        return f"[{fmt_c(value[0])}, {fmt_c(value[1])}]"
    return "—"


def range_table(searches: Sequence[tuple[str, Mapping[str, Any]]]) -> Table | None:
    """One row per ``(name, range block)``: initial range and edge, searched range, edge."""
    rows, highlight = [], set()
    for i, (name, r) in enumerate(searches):
        segments = r.get("segments")
        extra = sum(int(as_float(as_mapping(s).get("candidates")) or 0)
                    for s in (segments if isinstance(segments, Sequence) else [])[1:])
        edge = r.get("edge")
        if edge:
            highlight.add(i)
        first = r.get("initial_edge")
        rows.append((name, _range_text(r.get("initial")), f"{first} edge" if first else "interior",
                     _range_text(r.get("searched")), str(extra),
                     f"{edge} edge" + (" (limit reached)" if r.get("limit_reached") else "")
                     if edge else "interior"))
    if not rows:
        return None
    return Table(("Search", "Initial range", "Best C there", "Searched range",
                  "Added candidates", "Best C there"), tuple(rows),
                 highlight=frozenset(highlight))


def range_callout(searches: Sequence[tuple[str, Mapping[str, Any]]]) -> str:
    """The callout on the searches' edges ('' when every initial best was interior)."""
    at_edge = [name for name, r in searches if r.get("initial_edge")]
    still = [name for name, r in searches if r.get("edge")]
    if not at_edge and not still:
        return ""
    sides = sorted({str(r.get("initial_edge") or r.get("edge")) for _, r in searches
                    if r.get("initial_edge") or r.get("edge")})
    initial = _range_text(searches[0][1].get("initial"))
    text = (f"Boundary: the best C of {len(at_edge)} of {len(searches)} searches "
            f"({', '.join(at_edge)}) lay in the {' / '.join(sides)} edge stratum of the initial "
            f"range {initial}.")
    if still:
        text += (f" In {', '.join(still)} it is still in an edge stratum of the range searched: "
                 "the optimum may lie beyond it, and the chosen C is a bound, not an optimum.")
    else:
        text += " Every search extended its range until its best C was interior."
    return text


def search_ranges(folds: Sequence[Any], final: Any, prefix: str = "") -> list[tuple[str, Any]]:
    """``(name, range block)`` of each search that recorded one: the outer folds, then final."""
    out = [(f"{prefix}Fold {f.get('fold', i + 1)}", as_mapping(f.get("range")))
           for i, f in enumerate(map(as_mapping, folds))]
    out.append((f"{prefix}Final", as_mapping(as_mapping(final).get("range"))))
    return [(name, r) for name, r in out if r]


def range_section(searches: Sequence[tuple[str, Mapping[str, Any]]]) -> list[Section]:
    """The "C range and its edges" section of the searches' range blocks (``[]`` without any)."""
    callout = range_callout(searches)
    return section("range", "C range and its edges",
                   Paragraph(callout, "callout") if callout else None, range_table(searches),
                   Paragraph(RANGE_NOTE, "note") if searches else None)
