"""The report model, and its two renderings: a self-contained HTML page and Markdown.

A report is computed once as a :class:`Report`: a title, headline :class:`Card` s and a list of
:class:`Section` s, each holding items (:class:`Table`, :class:`Paragraph`, :class:`FigureRef`,
:class:`Preformatted`, :class:`Subsection`) of display strings. :func:`to_html` and
:func:`to_markdown` walk the same list with the Jinja2 templates of ``evaluation/templates``; no
markup is built in Python.

Escaping is on by default in both formats: every ``{{ value }}`` goes through :func:`html_escape`
in HTML (autoescaping) and :func:`md_escape` in Markdown; only values the renderer builds itself
(data URIs, quoted paths) are marked safe. The HTML page makes no network request: figures are
``data:image/png;base64`` URIs, the CSS is inline, there is no script, the only links are in-page
anchors, and the sequences ``://``, ``url(`` and ``@import`` in text are written with character
references, so that even a URL quoted in the results leaves no URL-shaped string in the page.
"""

from __future__ import annotations

import base64
import html
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any, ClassVar
from urllib.parse import quote

import jinja2
from markupsafe import Markup


@dataclass(frozen=True)
class Table:
    """A table of display strings.

    Attributes
    ----------
    headers : tuple of str
    rows : tuple of tuple of str
        Each of ``len(headers)`` cells.
    highlight : frozenset of int
        Indices of rows to emphasize (a chosen candidate, the best model).
    footer : tuple of str or None
        A summary row (mean and spread over folds).
    numeric : bool
        Right-align the columns after the first (False: a key/value table, left-aligned).
    """

    kind: ClassVar[str] = "table"
    headers: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    highlight: frozenset[int] = frozenset()
    footer: tuple[str, ...] | None = None
    numeric: bool = True


@dataclass(frozen=True)
class Paragraph:
    """A paragraph of text; ``style`` is ``""``, ``"note"`` (muted) or ``"callout"`` (framed)."""

    kind: ClassVar[str] = "paragraph"
    text: str
    style: str = ""


@dataclass(frozen=True)
class FigureRef:
    """A numbered figure: its file name (a key of the figures mapping), number and caption."""

    kind: ClassVar[str] = "figure"
    name: str
    number: int
    caption: str

    @property
    def stem(self) -> str:
        """The name without its image extension (``roc_curves.png`` -> ``roc_curves``)."""
        return figure_stem(self.name)


@dataclass(frozen=True)
class Preformatted:
    """Text shown verbatim in a monospaced block (scikit-learn's classification report)."""

    kind: ClassVar[str] = "preformatted"
    text: str


@dataclass(frozen=True)
class Subsection:
    """A titled group of items inside a section."""

    kind: ClassVar[str] = "subsection"
    title: str
    items: tuple[Table | Paragraph | FigureRef | Preformatted, ...]


@dataclass(frozen=True)
class Section:
    """A section of the report: anchor id, title, items; ``grid`` lays items out in two columns."""

    id: str
    title: str
    items: tuple[Table | Paragraph | FigureRef | Preformatted | Subsection, ...]
    grid: bool = False


@dataclass(frozen=True)
class Card:
    """A headline number: label, value, and an optional detail (a confidence interval)."""

    label: str
    value: str
    detail: str = ""


@dataclass(frozen=True)
class Report:
    """A whole report, computed once and rendered by :func:`to_html` and :func:`to_markdown`.

    Attributes
    ----------
    title : str
    command : str or None
        The command that made the run, shown as code.
    dataset : str
        The dataset's display name (the HTML subtitle).
    cards : tuple of Card
        Headline numbers, shown above the sections.
    sections : tuple of Section
        In order; the HTML contents link to their ids.
    generator : str
        What made the report, for the HTML footer (``mnist-logreg compare``).
    schema : object
        The results' ``metrics.json`` schema version, or None.
    """

    title: str
    command: str | None
    dataset: str
    cards: tuple[Card, ...]
    sections: tuple[Section, ...]
    generator: str = "mnist-logreg"
    schema: Any = None


def figure_stem(name: str) -> str:
    """A figure's name without a file extension: ``"roc_curves.png"`` -> ``"roc_curves"``."""
    stem, dot, ext = str(name).rpartition(".")
    return stem if dot and ext.lower() in {"png", "svg", "jpg", "jpeg"} else str(name)


def section(sid: str, title: str, *items: Any, grid: bool = False) -> list[Section]:
    """A one-element list with the section of the items that are not None, or ``[]`` if none is.

    Builders use it as ``sections += section("folds", "Outer folds", folds_table(results))`` so
    that a missing block of the results drops its section.
    """
    kept = tuple(item for item in items if item is not None)
    return [Section(sid, title, kept, grid=grid)] if kept else []


# --- escaping ------------------------------------------------------------------------------------


def html_escape(value: Any) -> str:
    """Escape text for HTML content or a quoted attribute, leaving no URL-shaped sequence.

    Parameters
    ----------
    value : object
        Anything; its ``str()`` is escaped.

    Returns
    -------
    str
        ``html.escape(str(value), quote=True)`` with ``://``, ``url(`` and ``@import`` written
        with character references.
    """
    return (
        html.escape(str(value), quote=True)
        .replace("://", "&#58;//")
        .replace("url(", "url&#40;")
        .replace("@import", "&#64;import")
    )


_MD_SPECIAL = str.maketrans({c: "\\" + c for c in "\\`*|"})


def md_escape(text: Any) -> str:
    """Text safe in Markdown: on one line, HTML-escaped (Markdown passes HTML through), with
    backslashes, backticks, asterisks and pipes escaped, and brackets too where they could form a
    link. Underscores stay: CommonMark ignores them inside words (``n_train``)."""
    one_line = " ".join(str(text).split())
    escaped = html.escape(one_line, quote=False).translate(_MD_SPECIAL)
    if "](" in escaped or "]:" in escaped or "![" in escaped:
        escaped = escaped.replace("[", "\\[").replace("]", "\\]")
    return escaped


def _finalizer(escape: Any) -> Any:
    """A Jinja ``finalize`` that escapes every output value not already marked safe."""
    return lambda value: value if isinstance(value, Markup) else Markup(escape(value))


@cache
def _environment(fmt: str) -> jinja2.Environment:
    """The Jinja2 environment of ``fmt`` (``html``: autoescaped; ``md``: Markdown-escaped)."""
    return jinja2.Environment(
        loader=jinja2.PackageLoader("mnist_logreg.evaluation", "templates"),
        autoescape=fmt == "html",
        finalize=_finalizer(html_escape if fmt == "html" else md_escape),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


# --- rendering -----------------------------------------------------------------------------------


def to_html(report: Report, figures: Mapping[str, bytes]) -> str:
    """Render a report as one self-contained HTML5 page (``templates/report.html.j2``).

    Parameters
    ----------
    report : Report
    figures : mapping of str to bytes
        Each :class:`FigureRef`'s name to its PNG bytes, embedded as a ``data:`` URI.

    Returns
    -------
    page : str
        HTML5 with inline CSS, no script and no external reference.
    """
    sources = {name: Markup("data:image/png;base64,") + base64.b64encode(bytes(png)).decode()
               for name, png in figures.items()}
    return _environment("html").get_template("report.html.j2").render(report=report,
                                                                      sources=sources)


def to_markdown(report: Report, paths: Mapping[str, str]) -> str:
    """Render a report as Markdown (``templates/report.md.j2``).

    Parameters
    ----------
    report : Report
    paths : mapping of str to str
        Each :class:`FigureRef`'s name to the PNG's path relative to the report.

    Returns
    -------
    markdown : str
    """
    links = {name: Markup(quote(str(path), safe="/._-")) for name, path in paths.items()}
    text = _environment("md").get_template("report.md.j2").render(report=report, paths=links)
    return text.rstrip() + "\n"
