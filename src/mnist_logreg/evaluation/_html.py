"""The study report as one self-contained HTML page.

Self-contained means the page makes no network request at all: figures are embedded as
``data:image/png;base64`` URIs, the CSS is inline (no ``@import``, no ``url(...)``, no web fonts),
there is no script, and the only links are in-page anchors (``#metrics``). Every piece of text from
the results is escaped with :func:`html.escape`; in addition the sequences ``://``, ``url(`` and
``@import`` in text are written with character references, so that even a URL quoted in the results
(a dataset's source) leaves no URL-shaped string in the page's source.
"""

from __future__ import annotations

import base64
import html
from collections.abc import Mapping, Sequence
from typing import Any

from mnist_logreg.evaluation._report import (
    PROTOCOL_SUMMARY,
    Table,
    bootstrap_note,
    candidates_table,
    dataset_name,
    figure_stem,
    final_c,
    fmt_c,
    fmt_interval,
    fmt_number,
    folds_table,
    kv_table,
    metrics_table,
    ordered_figures,
    outer_summary,
    per_class_table,
    protocol_paragraphs,
    report_text,
    report_title,
)

_CSS = """
:root { --fg: #1f2328; --muted: #5c6670; --line: #d9dee3; --panel: #f6f8fa;
        --accent: #0072B2; --accent-soft: #e6f1f8; }
* { box-sizing: border-box; }
html { -webkit-text-size-adjust: 100%; }
body { margin: 0; background: #ffffff; color: var(--fg);
       font: 15px/1.55 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial,
             sans-serif; }
main { max-width: 1100px; margin: 0 auto; padding: 36px 28px 64px; }
h1 { font-size: 1.85rem; line-height: 1.25; margin: 0 0 6px; letter-spacing: -0.01em; }
h2 { font-size: 1.28rem; margin: 44px 0 12px; padding-bottom: 6px;
     border-bottom: 1px solid var(--line); }
h3 { font-size: 1.02rem; margin: 22px 0 8px; }
p { margin: 8px 0; max-width: 78ch; }
.sub { color: var(--muted); margin: 0; }
code, pre { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, "Liberation Mono",
            monospace; font-size: 0.86em; }
code { background: var(--panel); padding: 1px 5px; border-radius: 4px; }
pre { background: var(--panel); border: 1px solid var(--line); padding: 14px 16px;
      border-radius: 8px; overflow-x: auto; line-height: 1.45; }
nav.toc { margin: 18px 0 8px; display: flex; flex-wrap: wrap; gap: 6px 16px; font-size: 0.9rem; }
nav.toc a { color: var(--accent); text-decoration: none; }
nav.toc a:hover { text-decoration: underline; }
.cards { display: grid; grid-template-columns: repeat(auto-fit, minmax(190px, 1fr)); gap: 12px;
         margin: 22px 0 6px; }
.card { background: var(--panel); border: 1px solid var(--line); border-radius: 10px;
        padding: 14px 16px; }
.card .label { color: var(--muted); font-size: 0.76rem; text-transform: uppercase;
               letter-spacing: 0.05em; }
.card .value { font-size: 1.65rem; font-weight: 650; font-variant-numeric: tabular-nums;
               margin-top: 2px; }
.card .detail { color: var(--muted); font-size: 0.82rem; font-variant-numeric: tabular-nums; }
.callout { background: var(--accent-soft); border-left: 4px solid var(--accent);
           padding: 10px 14px; border-radius: 0 8px 8px 0; margin: 14px 0; max-width: 78ch; }
table { border-collapse: collapse; width: 100%; margin: 8px 0 6px;
        font-variant-numeric: tabular-nums; font-size: 0.93rem; }
th, td { padding: 6px 10px; border-bottom: 1px solid var(--line); text-align: right;
         vertical-align: top; }
th:first-child, td:first-child { text-align: left; }
thead th { font-weight: 600; color: var(--muted); font-size: 0.82rem;
           border-bottom: 2px solid var(--line); }
tbody tr:nth-child(even) { background: #fafbfc; }
tr.chosen td { background: var(--accent-soft); font-weight: 600; }
tfoot td { font-weight: 600; border-top: 2px solid var(--line); border-bottom: none; }
table.kv th, table.kv td { text-align: left; word-break: break-word; }
table.kv td:first-child { color: var(--muted); width: 34%; }
.note { color: var(--muted); font-size: 0.88rem; }
.grid2 { display: grid; grid-template-columns: repeat(auto-fit, minmax(330px, 1fr));
         gap: 8px 28px; }
figure { margin: 22px 0; padding: 16px; border: 1px solid var(--line); border-radius: 10px; }
figure img { display: block; max-width: 100%; height: auto; margin: 0 auto; }
figcaption { color: var(--muted); font-size: 0.9rem; margin-top: 10px; }
footer { margin-top: 52px; padding-top: 12px; border-top: 1px solid var(--line);
         color: var(--muted); font-size: 0.84rem; }
@media print { main { max-width: none; padding: 0; } figure { break-inside: avoid; }
               nav.toc { display: none; } }
"""


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


def html_table(table: Table) -> str:
    """Render a report table as an HTML ``<table>``.

    Parameters
    ----------
    table : Table
        Headers, rows, optional footer; rows in ``table.highlight`` get ``class="chosen"``, a
        non-numeric table ``class="kv"``.

    Returns
    -------
    str
        The table's HTML, every cell escaped with :func:`html_escape`.
    """
    class_attr = "" if table.numeric else ' class="kv"'
    head = "".join(f"<th>{html_escape(h)}</th>" for h in table.headers)
    body = []
    for i, row in enumerate(table.rows):
        cells = [f"<td>{html_escape(cell)}</td>" for cell in row]
        row_class = ' class="chosen"' if i in table.highlight else ""
        body.append(f"<tr{row_class}>{''.join(cells)}</tr>")
    foot = ""
    if table.footer is not None:
        footer_cells = "".join(f"<td>{html_escape(c)}</td>" for c in table.footer)
        foot = f"<tfoot><tr>{footer_cells}</tr></tfoot>"
    return (f"<table{class_attr}><thead><tr>{head}</tr></thead>"
            f"<tbody>{''.join(body)}</tbody>{foot}</table>")


def html_card(label: str, value: str, detail: str = "") -> str:
    """Render one headline card (a label, a large value, an optional detail line).

    Parameters
    ----------
    label : str
        What the value is (``Test accuracy``).
    value : str
        The value, already formatted.
    detail : str, default=""
        A smaller line under the value (a confidence interval); none if empty.

    Returns
    -------
    str
        A ``<div class="card">``, every text escaped.
    """
    detail_html = f'<div class="detail">{html_escape(detail)}</div>' if detail else ""
    return (f'<div class="card"><div class="label">{html_escape(label)}</div>'
            f'<div class="value">{html_escape(value)}</div>{detail_html}</div>')


def _cards(results: Mapping[str, Any]) -> str:
    block = results.get("test")
    test: Mapping[str, Any] = block if isinstance(block, Mapping) else {}
    cards = []
    for key, label in (("accuracy", "Test accuracy"), ("roc_auc_ovr", "Macro ROC AUC"),
                       ("log_loss", "Log-loss")):
        if key in test:
            interval = fmt_interval(test[key])
            cards.append(html_card(label, fmt_number(test[key]),
                                   f"95% CI {interval}" if interval != "—" else ""))
    summary = outer_summary(results)
    if summary is not None:
        cards.append(html_card("Outer CV accuracy", f"{summary[0]:.4f}",
                               f"± {summary[1]:.4f} (std) over {summary[2]} folds"))
    if final_c(results) is not None:
        cards.append(html_card("Final model C", fmt_c(final_c(results)),
                               "chosen by the final search"))
    return f'<div class="cards">{"".join(cards)}</div>' if cards else ""


def html_figure(number: int, name: str, caption: str, png: bytes) -> str:
    """Render a numbered figure with its PNG embedded as a ``data:`` URI.

    Parameters
    ----------
    number : int
        The figure's number in the page (``Figure 3.``).
    name : str
        The figure's file name; its stem makes the anchor ``fig-<stem>``.
    caption : str
        Caption, also the image's ``alt`` text.
    png : bytes
        The image.

    Returns
    -------
    str
        A self-contained ``<figure>`` element.
    """
    data = base64.b64encode(bytes(png)).decode("ascii")
    return (f'<figure id="fig-{html_escape(figure_stem(name))}">'
            f'<img alt="{html_escape(caption)}" src="data:image/png;base64,{data}">'
            f"<figcaption><strong>Figure {number}.</strong> {html_escape(caption)}</figcaption>"
            "</figure>")


def html_page(
    title: str,
    subtitle_html: str,
    cards_html: str,
    sections: Sequence[tuple[str, str, str]],
    generator: str,
    schema: Any = None,
) -> str:
    """Assemble a report page: head with the inline CSS, header, cards, contents, sections, footer.

    Parameters
    ----------
    title : str
        The page's title (escaped here).
    subtitle_html : str
        The line under the title, already HTML.
    cards_html : str
        The headline cards (see :func:`html_card`), already HTML; may be empty.
    sections : sequence of (str, str, str)
        ``(id, title, body_html)`` of each section, in order; the contents link to the ids.
    generator : str
        What made the page, for the footer (``mnist-logreg compare``).
    schema : object, optional
        The results' ``metrics.json`` schema version, named in the footer when given.

    Returns
    -------
    str
        The whole HTML5 document.
    """
    toc = "".join(f'<a href="#{sid}">{html_escape(stitle)}</a>' for sid, stitle, _ in sections)
    body_html = "".join(f'<section id="{sid}"><h2>{html_escape(stitle)}</h2>{sbody}</section>'
                        for sid, stitle, sbody in sections)
    footer = f"Generated by {html_escape(generator)}" + (
        f" · metrics.json schema {html_escape(schema)}" if schema is not None else "")
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{html_escape(title)}</title>\n<style>{_CSS}</style>\n</head>\n<body>\n<main>\n"
        f'<header><h1>{html_escape(title)}</h1><p class="sub">{subtitle_html}</p></header>\n'
        f'{cards_html}\n<nav class="toc">{toc}</nav>\n{body_html}\n'
        f"<footer>{footer}</footer>\n</main>\n</body>\n</html>\n"
    )


def render_html(results: Mapping[str, Any], figures: Mapping[str, bytes]) -> str:
    """Render the study report as one self-contained HTML page.

    Parameters
    ----------
    results : dict
        ``metrics.json``-shaped (``schema``, ``command``, ``dataset``, ``config``, ``versions``,
        ``folds``, ``final``, ``test``, ``timings``); every block is optional and a missing one
        drops its section.
    figures : mapping of str to bytes
        Figure name (``"confusion_matrix"``, ``"roc_curves"``, ``"validation_curve"``,
        ``"coefficients"``, ``"misclassified"``, ``"reliability_diagram"``, or any other) to PNG
        bytes, embedded as ``data:`` URIs.

    Returns
    -------
    page : str
        HTML5 with inline CSS, no script and no external reference.
    """
    sections: list[tuple[str, str, str]] = []  # (id, title, body)

    table = metrics_table(results)
    if table is not None:
        note = bootstrap_note(results)
        body = html_table(table) + (f'<p class="note">{html_escape(note)}</p>' if note else "")
        sections.append(("metrics", "Test-set metrics", body))

    paragraphs = protocol_paragraphs(results)
    body = "".join(
        f'<p class="callout">{html_escape(p)}</p>' if p == PROTOCOL_SUMMARY else
        f"<p>{html_escape(p)}</p>" for p in paragraphs
    )
    sections.append(("protocol", "Protocol", body))

    table = folds_table(results)
    if table is not None:
        sections.append(("folds", "Outer folds", html_table(table) + '<p class="note">'
                         + html_escape("Each fold's C was chosen by its own inner search; the "
                                       "validation scores are of the model refit at that C, on "
                                       "rows the fold's search never saw.") + "</p>"))
    table = candidates_table(results)
    if table is not None:
        sections.append(("final", "Final model: C candidates", html_table(table)))

    if figures:
        body = "".join(html_figure(i, name, caption, figures[name]) for i, (name, caption)
                       in enumerate(ordered_figures(list(figures)), start=1))
        sections.append(("figures", "Figures", body))

    table = per_class_table(results)
    if table is not None:
        sections.append(("per-class", "Per-class metrics (test set)", html_table(table)))
    text = report_text(results)
    if text:
        sections.append(("report", "Classification report (test set)",
                         f"<pre>{html_escape(text.rstrip())}</pre>"))

    details = []
    for title, key, seconds in (("Dataset", "dataset", False), ("Configuration", "config", False),
                                ("Versions", "versions", False), ("Timings", "timings", True)):
        table = kv_table(results.get(key), seconds=seconds)
        if table is not None:
            details.append(f"<div><h3>{html_escape(title)}</h3>{html_table(table)}</div>")
    if details:
        sections.append(("run", "Run details", f'<div class="grid2">{"".join(details)}</div>'))

    title = report_title(results)
    subtitle = []
    command = results.get("command")
    if command:
        subtitle.append(f"<code>{html_escape(' '.join(str(command).split()))}</code>")
    subtitle.append(html_escape(dataset_name(results)))
    return html_page(title, " · ".join(subtitle), _cards(results), sections,
                     generator="mnist-logreg", schema=results.get("schema"))
