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
from collections.abc import Mapping
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


def _text(value: Any) -> str:
    """Escape text for HTML content or a quoted attribute, leaving no URL-shaped sequence."""
    return (
        html.escape(str(value), quote=True)
        .replace("://", "&#58;//")
        .replace("url(", "url&#40;")
        .replace("@import", "&#64;import")
    )


def _table(table: Table) -> str:
    class_attr = "" if table.numeric else ' class="kv"'
    head = "".join(f"<th>{_text(h)}</th>" for h in table.headers)
    body = []
    for i, row in enumerate(table.rows):
        cells = [f"<td>{_text(cell)}</td>" for cell in row]
        row_class = ' class="chosen"' if i in table.highlight else ""
        body.append(f"<tr{row_class}>{''.join(cells)}</tr>")
    foot = ""
    if table.footer is not None:
        footer_cells = "".join(f"<td>{_text(c)}</td>" for c in table.footer)
        foot = f"<tfoot><tr>{footer_cells}</tr></tfoot>"
    return (f"<table{class_attr}><thead><tr>{head}</tr></thead>"
            f"<tbody>{''.join(body)}</tbody>{foot}</table>")


def _card(label: str, value: str, detail: str = "") -> str:
    detail_html = f'<div class="detail">{_text(detail)}</div>' if detail else ""
    return (f'<div class="card"><div class="label">{_text(label)}</div>'
            f'<div class="value">{_text(value)}</div>{detail_html}</div>')


def _cards(results: Mapping[str, Any]) -> str:
    block = results.get("test")
    test: Mapping[str, Any] = block if isinstance(block, Mapping) else {}
    cards = []
    for key, label in (("accuracy", "Test accuracy"), ("roc_auc_ovr", "Macro ROC AUC"),
                       ("log_loss", "Log-loss")):
        if key in test:
            interval = fmt_interval(test[key])
            cards.append(_card(label, fmt_number(test[key]),
                               f"95% CI {interval}" if interval != "—" else ""))
    summary = outer_summary(results)
    if summary is not None:
        cards.append(_card("Outer CV accuracy", f"{summary[0]:.4f}",
                           f"± {summary[1]:.4f} (std) over {summary[2]} folds"))
    if final_c(results) is not None:
        cards.append(_card("Final model C", fmt_c(final_c(results)), "chosen by the final search"))
    return f'<div class="cards">{"".join(cards)}</div>' if cards else ""


def _figure(number: int, name: str, caption: str, png: bytes) -> str:
    data = base64.b64encode(bytes(png)).decode("ascii")
    return (f'<figure id="fig-{_text(figure_stem(name))}"><img alt="{_text(caption)}" '
            f'src="data:image/png;base64,{data}">'
            f"<figcaption><strong>Figure {number}.</strong> {_text(caption)}</figcaption></figure>")


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
        body = _table(table) + (f'<p class="note">{_text(note)}</p>' if note else "")
        sections.append(("metrics", "Test-set metrics", body))

    paragraphs = protocol_paragraphs(results)
    body = "".join(
        f'<p class="callout">{_text(p)}</p>' if p == PROTOCOL_SUMMARY else
        f"<p>{_text(p)}</p>" for p in paragraphs
    )
    sections.append(("protocol", "Protocol", body))

    table = folds_table(results)
    if table is not None:
        sections.append(("folds", "Outer folds", _table(table) + '<p class="note">'
                         + _text("Each fold's C was chosen by its own inner search; the validation "
                                 "scores are of the model refit at that C, on rows the fold's "
                                 "search never saw.") + "</p>"))
    table = candidates_table(results)
    if table is not None:
        sections.append(("final", "Final model: C candidates", _table(table)))

    if figures:
        body = "".join(_figure(i, name, caption, figures[name]) for i, (name, caption)
                       in enumerate(ordered_figures(list(figures)), start=1))
        sections.append(("figures", "Figures", body))

    table = per_class_table(results)
    if table is not None:
        sections.append(("per-class", "Per-class metrics (test set)", _table(table)))
    text = report_text(results)
    if text:
        sections.append(("report", "Classification report (test set)",
                         f"<pre>{_text(text.rstrip())}</pre>"))

    details = []
    for title, key, seconds in (("Dataset", "dataset", False), ("Configuration", "config", False),
                                ("Versions", "versions", False), ("Timings", "timings", True)):
        table = kv_table(results.get(key), seconds=seconds)
        if table is not None:
            details.append(f"<div><h3>{_text(title)}</h3>{_table(table)}</div>")
    if details:
        sections.append(("run", "Run details", f'<div class="grid2">{"".join(details)}</div>'))

    title = report_title(results)
    subtitle = []
    command = results.get("command")
    if command:
        subtitle.append(f"<code>{_text(' '.join(str(command).split()))}</code>")
    subtitle.append(_text(dataset_name(results)))
    toc = "".join(f'<a href="#{sid}">{_text(stitle)}</a>' for sid, stitle, _ in sections)
    body_html = "".join(f'<section id="{sid}"><h2>{_text(stitle)}</h2>{sbody}</section>'
                        for sid, stitle, sbody in sections)
    schema = results.get("schema")
    footer = "Generated by mnist-logreg" + (f" · metrics.json schema {_text(schema)}"
                                            if schema is not None else "")
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{_text(title)}</title>\n<style>{_CSS}</style>\n</head>\n<body>\n<main>\n"
        f"<header><h1>{_text(title)}</h1><p class=\"sub\">{' · '.join(subtitle)}</p></header>\n"
        f"{_cards(results)}\n<nav class=\"toc\">{toc}</nav>\n{body_html}\n"
        f"<footer>{footer}</footer>\n</main>\n</body>\n</html>\n"
    )
